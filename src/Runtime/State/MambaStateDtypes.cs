using static TorchSharp.torch;

namespace MambaGen;

/// <summary>The resolved dtypes of a layer's conv state and SSM (temporal) state.</summary>
public readonly record struct MambaStateDtypes(ScalarType Conv, ScalarType Ssm);

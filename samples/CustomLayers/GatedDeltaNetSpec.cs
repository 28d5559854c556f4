using MambaGen;

namespace CustomLayers;

/// <summary>Qwen3-Next's gated DeltaNet state, declared only: conv state and an fp32 recurrent state.</summary>
[MambaLayer("gdn_attention")]
public sealed partial class GatedDeltaNetSpec : MambaBase
{
    public GatedDeltaNetSpec(string name, EngineConfig config)
        : base(name, config)
    {
    }

    private int Tp => Config.Parallel.TensorParallelSize;

    [StateTensor]
    public long[] ConvState => MambaStateShapeCalculator.GatedDeltaNet(Tp, numKHeads: 16, numVHeads: 32, headKDim: 128, headVDim: 128, convKernelSize: 4).Conv;

    [StateTensor(Dtype = StateDtype.Float32)]
    public long[] RecurrentState => MambaStateShapeCalculator.GatedDeltaNet(Tp, 16, 32, 128, 128, 4).Ssm;
}

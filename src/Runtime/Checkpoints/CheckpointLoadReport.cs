using System.Collections.Generic;

namespace MambaGen.Checkpoints;

/// <summary>What <see cref="CheckpointLoader"/> wrote into a model.</summary>
/// <param name="Loaded">Model tensors filled from the checkpoint tensor of the same name.</param>
/// <param name="Tied">Model tensors filled from the input embedding because the checkpoint ties them (e.g. lm_head.weight).</param>
/// <param name="SkippedTied">Checkpoint tensors not loaded because the model shares them with the input embedding.</param>
public sealed record CheckpointLoadReport(IReadOnlyList<string> Loaded, IReadOnlyList<string> Tied, IReadOnlyList<string> SkippedTied);

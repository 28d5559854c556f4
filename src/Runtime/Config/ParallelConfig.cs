namespace MambaGen;

/// <summary>Tensor parallelism: conv dims and heads are split over <see cref="TensorParallelSize"/> ranks.</summary>
public sealed record ParallelConfig(int TensorParallelSize = 1);

using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>
/// The first-order linear recurrence h_t = a_t · h_{t-1} + b_t along dim 0 as a Hillis-Steele parallel scan:
/// ceil(log2(longest run)) rounds of batched tensor ops, no loop over steps. A step with a_t = 0 starts a fresh run
/// (its b_t must already hold a_t·h_init), so one scan serves many packed sequences.
/// </summary>
internal static class LinearScan
{
    /// <param name="a">Decays, broadcastable against <paramref name="b"/> beyond dim 0: [steps, ...].</param>
    /// <param name="b">Inputs: [steps, ...].</param>
    /// <param name="longestRun">Longest stretch of steps without a reset; rounds stop once they span it.</param>
    /// <returns>h for every step, shaped like <paramref name="b"/>; <paramref name="b"/> itself when no round is needed.</returns>
    public static Tensor Inclusive(Tensor a, Tensor b, long longestRun)
    {
        long n = b.size(0);
        long span = System.Math.Min(longestRun, n);
        Tensor curA = a, curB = b;
        for (long k = 1; k < span; k <<= 1)
        {
            // Compose each step with the one k earlier: (a, b) ∘ (a', b') = (a·a', a·b' + b).
            var nextB = curB.clone();
            nextB.narrow(0, k, n - k).addcmul_(curA.narrow(0, k, n - k), curB.narrow(0, 0, n - k), 1);
            Tensor? nextA = null;
            if (2 * k < span)
            {
                nextA = curA.clone();
                nextA.narrow(0, k, n - k).mul_(curA.narrow(0, 0, n - k));
            }

            if (!ReferenceEquals(curA, a))
            {
                curA.Dispose();
            }

            if (!ReferenceEquals(curB, b))
            {
                curB.Dispose();
            }

            curA = nextA ?? a;
            curB = nextB;
        }

        return curB;
    }
}

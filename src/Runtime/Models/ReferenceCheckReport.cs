namespace MambaGen.Models;

/// <summary>How a model's outputs compare with references computed elsewhere (expected.safetensors).</summary>
/// <param name="MaxLogitDiff">Largest |logit - reference| of the full forward (every position of every row).</param>
/// <param name="MaxStepLogitDiff">Largest |logit - reference| of the decode steps through the recurrent state.</param>
/// <param name="TokenMismatches">Generated tokens that differ from the reference's greedy tokens, over every engine run.</param>
/// <param name="TokensCompared">Generated tokens compared, over every engine run.</param>
/// <param name="Tolerance">The largest logit difference that passes.</param>
public sealed record ReferenceCheckReport(double MaxLogitDiff, double MaxStepLogitDiff, int TokenMismatches, int TokensCompared, double Tolerance)
{
    public bool LogitsPass => MaxLogitDiff <= Tolerance;

    public bool StepLogitsPass => MaxStepLogitDiff <= Tolerance;

    public bool TokensPass => TokenMismatches == 0;

    public bool Pass => LogitsPass && StepLogitsPass && TokensPass;
}

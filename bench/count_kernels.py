# Counts the CUDA kernels one step of the MambaGen Mamba2 layer launches, with Nsight Compute on the GPU machine:
# runs `MambaGen.Bench steps` with 1 and with 3 steps of a kind; set-up kernels cancel out in the difference.
# Usage: python3 count_kernels.py APP_DLL   (prints kernels per prefill step and per decode step at batch 1 and 32)
import csv, io, subprocess, sys, collections

app = sys.argv[1]

def kernels(*step_args):
    out = subprocess.run(["ncu", "--csv", "--page", "details", "--metrics", "gpu__time_duration.sum",
                          "dotnet", app, "steps", "--device", "cuda", "--dtype", "bfloat16", *step_args],
                         capture_output=True, text=True)
    rows = [r for r in csv.reader(io.StringIO(out.stdout)) if len(r) > 5]
    if not rows:
        sys.exit("ncu gave no kernel rows:\n" + out.stdout[-2000:] + out.stderr[-2000:])
    header, body = rows[0], rows[1:]
    name = header.index("Kernel Name")
    return [r[name] for r in body]

for label, args in [("prefill 1 x 2048", ["--prefill"]), ("decode batch 1", ["--decode", "--batch", "1"]),
                    ("decode batch 32", ["--decode", "--batch", "32"])]:
    one = kernels(args[0], "1", *args[1:])
    three = kernels(args[0], "3", *args[1:])
    per_step = (len(three) - len(one)) / 2
    print(f"{label}: {per_step:g} kernels per step ({len(one)} with 1 step, {len(three)} with 3)")
    counts = collections.Counter(k.split("(")[0].split("<")[0][:60] for k in three[len(one):len(one) + int(per_step)])
    for k, n in counts.most_common():
        print(f"    {n:3d}  {k}")

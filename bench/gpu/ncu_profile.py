# Kernel time by kernel name for one `MambaGen.Bench model` run, with Nsight Compute on the GPU machine (kernels inside
# CUDA graphs are profiled node by node). Usage: python3 ncu_profile.py APP_DLL [bench model args...]
# Not named profile.py: a script's folder comes first on sys.path, so that name shadowed the standard library's profile module
# (cProfile imports it) in every script beside it: torch's import then ran this file.
import collections, csv, io, subprocess, sys

app, args = sys.argv[1], sys.argv[2:]
# Real clocks and warm caches (ncu's defaults lock the clocks at base and flush the caches before every kernel, which
# inflates short kernels several times over); kernels still run one at a time.
out = subprocess.run(["ncu", "--csv", "--page", "details", "--metrics", "gpu__time_duration.sum", "--clock-control", "none", "--cache-control", "none",
                      "dotnet", app, "model", *args],
                     capture_output=True, text=True)
rows = [r for r in csv.reader(io.StringIO(out.stdout)) if len(r) > 5]
at = next((i for i, r in enumerate(rows) if "Kernel Name" in r and "Metric Value" in r), None)
if at is None:
    sys.exit("ncu gave no kernel rows:\n" + out.stdout[:2000] + "\n...\n" + out.stdout[-2000:] + out.stderr[-3000:])
header, body = rows[at], [r for r in rows[at + 1:] if len(r) == len(rows[at])]
name, value, unit = header.index("Kernel Name"), header.index("Metric Value"), header.index("Metric Unit")
total, count = collections.Counter(), collections.Counter()
# Newer ncu writes ns/us/ms; the 2026-12-05 profiles were read with only the long names, so their "ms" are µs.
scale = {"nsecond": 1e-3, "usecond": 1.0, "msecond": 1e3, "second": 1e6, "ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
units = set()
for r in body:
    k = r[name].split("(")[0][:70]
    units.add(r[unit])
    if r[unit] not in scale:
        sys.exit(f"ncu gave the unit '{r[unit]}', which this script does not know")
    total[k] += float(r[value].replace(",", "")) * scale[r[unit]]
    count[k] += 1
print(f"{sum(count.values())} kernels, {sum(total.values()) / 1e3:.1f} ms of kernel time (ncu's units: {', '.join(sorted(units))})")
for k, t in total.most_common(30):
    print(f"{t / 1e3:10.2f} ms {count[k]:7d} x {t / count[k]:9.2f} us  {k}")
print("\n".join(l for l in out.stdout.splitlines() if l.startswith('{"system"')))

"""EM scaling benchmark: time and peak memory of the EDS and HRTEM steps as the data grow.

    python benchmarks/em_scaling.py [--sizes 0.25,1,4] [--steps eds,hrtem] [--work DIR]

For each size (GiB of raw microscopy data) the synthetic instrument writes the step's
files (EDS: a spectrum image of 2048 channels, square, uint16; HRTEM: a series of
4096 x 4096 uint16 frames, 32 MiB each), then the step runs as the build runs it
(paperbuild.runner: input hashing, lazy loading, Dask on this machine's cores, outputs)
in a fresh process, whose wall time and peak resident memory (the kernel's ru_maxrss
for that process) are measured.  The table ends with how cost grows with size: the line
time = fixed + slope x size fitted to the sizes (with how far the worst size lies off
it) and the memory ratio largest/smallest (1 is flat).  The files are read from the page cache, as a second build would read them.

Writes several GB under --work (default: a temporary folder, removed afterwards).
Not a test: times depend on the machine.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from paperbuild import progress  # noqa: E402  (the benchmark runs as a script)
from paperbuild.errors import BuildError  # noqa: E402

GiB = 2**30
EDS_CHANNELS = 2048
HRTEM_FRAME = 4096                               # pixels a side
HRTEM_FRAME_BYTES = HRTEM_FRAME * HRTEM_FRAME * 2


def eds_truth(size_gib: float) -> dict:
    """Truth keys for a square EDS spectrum image of ``size_gib`` GiB (sides a multiple of 8)."""
    side = max(8, int(round(math.sqrt(size_gib * GiB / (EDS_CHANNELS * 2)) / 8)) * 8)
    return {"eds": {"map_shape": [side, side], "map_channels": EDS_CHANNELS, "map_compression": None}}


def hrtem_truth(size_gib: float) -> dict:
    """Truth keys for a series of full HRTEM frames holding about ``size_gib`` GiB."""
    frames = max(1, int(round(size_gib * GiB / HRTEM_FRAME_BYTES)))
    return {"hrtem": {"regions": frames, "rows": HRTEM_FRAME, "columns": HRTEM_FRAME}}


# step -> the truth keys of a size (each step's data is the synthetic section of its name)
TRUTH_AT_SIZE = {"eds": eds_truth, "hrtem": hrtem_truth}
STEPS = tuple(TRUTH_AT_SIZE)
QUOTED = {"eds": "eds.interphase_width_nm", "hrtem": "hrtem.interphase_nm"}   # the number each row shows


def write_raw(step: str, size_gib: float, out: Path) -> int:
    """The step's raw files at ``size_gib``; returns the bytes of microscopy data written."""
    from data.synth.tree import write_tree
    from data.synth.truth import load_truth, merge

    write_tree(merge(load_truth(), TRUTH_AT_SIZE[step](size_gib)), out, log=lambda _: None, sections=[step])
    pattern = "eds/spectrum_image.hspy" if step == "eds" else "hrtem/region_*.tif"
    return sum(p.stat().st_size for p in out.glob(pattern))


def run_child(step: str, raw: Path, build: Path) -> int:
    """In the measured process: run one step as the build does."""
    from analysis.registry import STEPS as REGISTERED
    from paperbuild.paths import Roots
    from paperbuild.runner import run_step

    run_step(next(s for s in REGISTERED if s.name == step), Roots(raw=raw, build=build))
    return 0


def measured(step: str, raw: Path, build: Path) -> tuple[float, float, str]:
    """Wall time (s), peak resident memory (GiB) and output of the step in a fresh process."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, __file__, "--child", step, str(raw), str(build)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise BuildError(f"{step} failed on {raw}:\n{output}")
    return seconds, usage.ru_maxrss * 1024 / GiB, output


def line_fit(sizes: list[float], values: list[float]) -> tuple[float, float, float]:
    """Least-squares ``values = fixed + slope * sizes``, and the largest relative miss of that line.

    A step's time is a fixed part (starting Python, importing HyperSpy, the small inputs)
    plus a part that grows with the data: linear growth shows as a line that every size
    lies on, whatever the fixed part.
    """
    n = len(sizes)
    mx, my = sum(sizes) / n, sum(values) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(sizes, values)) / sum((x - mx) ** 2 for x in sizes)
    fixed = my - slope * mx
    miss = max(abs(fixed + slope * x - y) / y for x, y in zip(sizes, values))
    return fixed, slope, miss


def measure(args: argparse.Namespace) -> int:
    try:
        sizes = sorted(float(s) for s in args.sizes.split(","))
    except ValueError:
        raise BuildError(f"--sizes {args.sizes}: give sizes in GiB separated by commas, e.g. 0.25,1,4") from None
    steps = [s.strip() for s in args.steps.split(",")]
    unknown = [s for s in steps if s not in STEPS]
    if unknown or not steps:
        raise BuildError(f"--steps {args.steps}: choose among {', '.join(STEPS)}")
    if len(sizes) < 2 or sizes[0] <= 0:
        raise BuildError(f"--sizes {args.sizes}: give at least two positive sizes")
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="em-scaling-"))
    rows = []
    total = len(steps) * len(sizes)
    try:
        for step in steps:
            for size in sizes:
                raw, build = work / f"{step}-{size:g}" / "raw", work / f"{step}-{size:g}" / "build"
                shutil.rmtree(raw.parent, ignore_errors=True)
                progress.show("em-scaling", len(rows) + 1, total, f"{step} at {size:g} GiB: writing the data")
                written = write_raw(step, size, raw)
                seconds, peak, output = measured(step, raw, build)
                numbers = json.loads((build / "numbers" / f"{step}.json").read_text(encoding="utf-8"))
                key = QUOTED[step]
                rows.append((step, size, written / GiB, seconds, peak, f"{key} = {numbers[key]['value']:g}"))
                progress.show("em-scaling", len(rows), total, f"{step} at {size:g} GiB: {seconds:.1f} s, "
                                                               f"peak {peak:.2f} GiB")
                if not args.keep:
                    shutil.rmtree(raw.parent)
    finally:
        if not args.work and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'step':<6} {'data GiB':>9} {'seconds':>8} {'s/GiB':>6} {'peak RSS GiB':>13}  number")
    for step, _, gib, seconds, peak, number in rows:
        print(f"{step:<6} {gib:>9.2f} {seconds:>8.1f} {seconds / gib:>6.1f} {peak:>13.2f}  {number}")
    for step in steps:
        mine = [r for r in rows if r[0] == step]
        gibs, times, peaks = [r[2] for r in mine], [r[3] for r in mine], [r[4] for r in mine]
        fixed, slope, miss = line_fit(gibs, times)
        print(f"{step}: time = {fixed:.1f} s + {slope:.1f} s/GiB x size (every size within {miss:.0%} of that "
              f"line); peak memory x{peaks[-1] / peaks[0]:.2f} from {gibs[0]:.2f} to {gibs[-1]:.2f} GiB of data")
    return 0


def main(argv: list[str] | None = None) -> int:
    from paperbuild.cli import Parser, run

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return run_child(argv[1], Path(argv[2]), Path(argv[3]))
    parser = Parser("python benchmarks/em_scaling.py",
                    __doc__.split("\n\n")[0] + "\n\n" + __doc__.split("\n\n", 2)[2].strip(),
                    ["python benchmarks/em_scaling.py                          # 0.25, 1, 4 GiB; ~30 min on 2 cores",
                     "python benchmarks/em_scaling.py --sizes 0.05,0.1 --steps eds   # a quick look"])
    parser.add_argument("--sizes", default="0.25,1,4", metavar="GIB",
                        help="sizes of raw data in GiB, comma-separated (default 0.25,1,4)")
    parser.add_argument("--steps", default=",".join(STEPS), metavar="STEPS",
                        help="steps to measure, comma-separated (default eds,hrtem)")
    parser.add_argument("--work", metavar="DIR", help="folder for the data (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the data written (under --work)")
    return run(parser, measure, argv)


if __name__ == "__main__":
    sys.exit(main())

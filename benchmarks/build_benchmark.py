"""Build benchmark: full-build time (serial and doit -n 2), no-op time, and what reruns after single edits.

    python benchmarks/build_benchmark.py [--repeat N]

The no-op time is compared with a bare doit project holding as many tasks (each with a
file dependency and a target, on the same sqlite3 backend): the ratio is what this
project's dodo.py costs beyond doit itself, independent of how fast the machine is.

Works on a copy of the project in a temporary folder (the checkout is never touched),
renders with the pandoc fallback unless PAPERBUILD_RENDERER says otherwise, and prints
a table for the notes.  Not a test: times depend on the machine.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from paperbuild import progress  # noqa: E402  (the benchmark runs as a script)
from paperbuild.errors import BuildError  # noqa: E402
from paperbuild.paths import NOT_SOURCES  # noqa: E402

IGNORE = shutil.ignore_patterns(*NOT_SOURCES)


BARE_DODO = """
from pathlib import Path
DOIT_CONFIG = {"backend": "sqlite3", "verbosity": 2, "dep_file": ".doit.db"}
HERE = Path(__file__).parent
N = %d
def _copy(src, dst):
    Path(dst).write_text(Path(src).read_text())
def task_copy():
    for i in range(N):
        source = HERE / f"in{i}.txt"
        if not source.exists():
            source.write_text(str(i))
        yield {"name": str(i), "actions": [(_copy, [source, HERE / f"out{i}.txt"])],
               "file_dep": [source], "targets": [HERE / f"out{i}.txt"]}
"""


def task_count(project: Path) -> int:
    """Tasks and sub-tasks of the project's dodo.py (``doit list --all``)."""
    done = subprocess.run([sys.executable, "-m", "doit", "list", "--all", "--quiet"], cwd=project,
                          capture_output=True, text=True, check=True)
    return len([line for line in done.stdout.splitlines() if line.strip()])


def bare_noop(folder: Path, tasks: int, repeat: int) -> float:
    """Median no-op time of a bare doit project with ``tasks`` tasks."""
    folder.mkdir()
    (folder / "dodo.py").write_text(BARE_DODO % tasks)
    doit(folder)
    return statistics.median(doit(folder)[0] for _ in range(repeat))


def doit(project: Path, *options: str) -> tuple[float, list[str]]:
    env = dict(os.environ)
    env.setdefault("PAPERBUILD_RENDERER", "pandoc")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "doit", *options], cwd=project, capture_output=True, text=True,
                            env=env)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise BuildError(f"doit failed in {project}:\n{result.stdout}{result.stderr}")
    ran = [m.group(1).rstrip(":") for m in re.finditer(r"^\.  (\S+)", result.stdout, re.M)]
    return elapsed, ran


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


EDITS = [
    ("edit paper/article.qmd", "paper/article.qmd", "\nA benchmark sentence.\n"),
    ("edit analysis/electrochemistry.py", "analysis/electrochemistry.py", "\n# benchmark edit\n"),
    ("restyle analysis/paper.mplstyle", "analysis/paper.mplstyle", "\naxes.grid: True\n"),
    ("edit a parameter in analysis/registry.py", "analysis/registry.py", None),
]


def main(argv: list[str] | None = None) -> int:
    from paperbuild.cli import Parser, run

    parser = Parser("python benchmarks/build_benchmark.py",
                    __doc__.split("\n\n")[0] + "\n\n" + __doc__.split("\n\n", 2)[2].strip(),
                    ["python benchmarks/build_benchmark.py              # about 4 minutes on 2 cores",
                     "python benchmarks/build_benchmark.py --repeat 9   # a steadier no-op median"])
    parser.add_argument("--repeat", type=int, default=5, metavar="N", help="no-op runs to time (median reported; default 5)")
    return run(parser, measure, argv)


def measure(args: argparse.Namespace) -> int:
    if args.repeat < 1:
        raise BuildError(f"--repeat {args.repeat}: give at least 1")
    total = 4 + len(EDITS)

    def show(done: int, what: str) -> None:
        progress.show("benchmark", done, total, what)

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        shutil.copytree(ROOT, project, ignore=IGNORE)
        rows = []
        show(1, "full build (clean), about a minute")
        seconds, ran = doit(project)
        rows.append(("full build (clean)", seconds, ran))
        show(2, "full build (clean) with doit -n 2")
        numbers = (project / "build" / "numbers.json").read_bytes()
        shutil.rmtree(project / "build")
        seconds, ran = doit(project, "-n", "2")
        if (project / "build" / "numbers.json").read_bytes() != numbers:
            raise BuildError("doit -n 2 wrote other numbers than the serial build")
        rows.append(("full build (clean), doit -n 2", seconds, ran))
        parallel_speedup = rows[0][1] / seconds
        show(3, f"no-op build, {args.repeat} times")
        noop = [doit(project) for _ in range(args.repeat)]
        noop_median = statistics.median(s for s, _ in noop)
        rows.append((f"no-op (median of {args.repeat})", noop_median, sorted({t for _, r in noop for t in r})))
        tasks = task_count(project)
        show(4, f"bare doit with {tasks} tasks, no-op, {args.repeat} times")
        bare = bare_noop(Path(tmp) / "bare", tasks, args.repeat)
        rows.append((f"bare doit, {tasks} tasks, no-op", bare, []))
        for done, (label, rel, text) in enumerate(EDITS, start=5):
            show(done, label)
            if text is None:  # a method parameter whose change leaves the numbers as they are
                registry = project / rel
                registry.write_text(registry.read_text(encoding="utf-8").replace(
                    '"steady_rate_tolerance_pct": Param(20,', '"steady_rate_tolerance_pct": Param(25,'), encoding="utf-8")
            else:
                append(project / rel, text)
            seconds, ran = doit(project)
            rows.append((label, seconds, ran))
    print(f"{'change':<36} {'seconds':>8}  tasks that ran")
    for label, seconds, ran in rows:
        print(f"{label:<36} {seconds:>8.2f}  {', '.join(ran) or '(none)'}")
    print(f"no-op / bare doit with as many tasks: {noop_median / bare:.2f}x")
    print(f"doit -n 2 speed-up of the full build: {parallel_speedup:.2f}x (same numbers.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

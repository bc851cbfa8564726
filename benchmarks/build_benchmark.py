"""Build benchmark: full-build time, no-op time, and what reruns after single edits.

    python benchmarks/build_benchmark.py [--repeat N]

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
IGNORE = shutil.ignore_patterns("build", ".git", "__pycache__", ".pytest_cache", "*.egg-info", ".doit.db*")


def doit(project: Path) -> tuple[float, list[str]]:
    env = dict(os.environ)
    env.setdefault("PAPERBUILD_RENDERER", "pandoc")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "doit"], cwd=project, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"doit failed in {project}:\n{result.stdout}{result.stderr}")
    ran = [m.group(1).rstrip(":") for m in re.finditer(r"^\.  (\S+)", result.stdout, re.M)]
    return elapsed, ran


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="no-op runs to time (median reported)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        shutil.copytree(ROOT, project, ignore=IGNORE)
        rows = []
        seconds, ran = doit(project)
        rows.append(("full build (clean)", seconds, ran))
        noop = [doit(project) for _ in range(args.repeat)]
        rows.append((f"no-op (median of {args.repeat})", statistics.median(s for s, _ in noop),
                     sorted({t for _, r in noop for t in r})))
        edits = [
            ("edit paper/article.qmd", "paper/article.qmd", "\nA benchmark sentence.\n"),
            ("edit analysis/electrochemistry.py", "analysis/electrochemistry.py", "\n# benchmark edit\n"),
            ("restyle analysis/paper.mplstyle", "analysis/paper.mplstyle", "\naxes.grid: True\n"),
        ]
        for label, rel, text in edits:
            append(project / rel, text)
            seconds, ran = doit(project)
            rows.append((label, seconds, ran))
    print(f"{'change':<36} {'seconds':>8}  tasks that ran")
    for label, seconds, ran in rows:
        print(f"{label:<36} {seconds:>8.2f}  {', '.join(ran) or '(none)'}")


if __name__ == "__main__":
    main()

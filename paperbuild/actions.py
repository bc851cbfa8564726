"""The doit actions behind every task, each turning a BuildError into one clean message.

doit shows a returned ``TaskFailed`` as its message alone; anything else that goes
wrong is a bug and keeps its traceback.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

from doit.exceptions import TaskFailed

from paperbuild.errors import BuildError


def reported(func):
    """Return TaskFailed(message) for errors a user can cause."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            result = func(*args, **kwargs)
        except BuildError as err:
            return TaskFailed(str(err))
        return None if result is None else result

    return wrapper


@reported
def verify_raw(raw: Path, stamp: Path) -> None:
    from paperbuild import atomic, manifest

    verified = manifest.verify_manifest(raw)
    atomic.write_text(stamp, json.dumps({"raw": str(raw), "files": verified}, indent=2) + "\n")
    print(f"  {raw}: {len(verified)} files match {manifest.MANIFEST_NAME}")


@reported
def run_step(step, raw: Path, build: Path) -> None:
    from paperbuild.runner import run_step as run

    run(step, raw, build)


@reported
def merge_numbers(parts: list[Path], target: Path) -> None:
    from paperbuild import numbers

    merged = numbers.merge(parts)
    numbers.write_merged(target, merged)
    print(f"  {len(merged)} numbers -> {target}")


@reported
def check_drift(numbers_file: Path, ledger: Path) -> None:
    from paperbuild import ledger as ledger_mod
    from paperbuild import numbers

    checked = ledger_mod.check_drift(numbers.load(numbers_file), ledger)
    print(f"  {checked} numbers match their locks in {ledger}")


@reported
def accept(numbers_file: Path, ledger: Path) -> None:
    from paperbuild import ledger as ledger_mod
    from paperbuild import numbers

    changes = ledger_mod.accept(numbers.load(numbers_file), ledger)
    print("\n".join(f"  {c}" for c in changes) or "  ledger already matches the numbers")
    print(f"  wrote {ledger}; review with `git diff {ledger}`")


@reported
def lint(sources: list[Path], numbers_file: Path) -> None:
    from paperbuild import lint as lint_mod
    from paperbuild import numbers

    lint_mod.check(sources, numbers.load(numbers_file))
    print(f"  {len(sources)} documents quote numbers only through the shortcode")


@reported
def render(document: Path, paper: Path, build: Path, targets: list[str]) -> None:
    import time

    from paperbuild import atomic
    from paperbuild import render as render_mod

    started = time.perf_counter()
    render_mod.render(document, paper, build, [Path(t) for t in targets])
    record = {"step": f"render:{document}", "outputs": [str(Path(t).relative_to(build)) for t in targets],
              "seconds": round(time.perf_counter() - started, 3)}
    atomic.write_text(Path(build) / "steps" / f"render_{document}.json", json.dumps(record, indent=2) + "\n")


@reported
def report(build: Path, raw: Path, project: Path, ledger: Path) -> None:
    from analysis.registry import STEPS
    from paperbuild import report as report_mod

    libraries = sorted({lib for step in STEPS for lib in step.libraries} | {"doit", "pypandoc_binary", "typst"})
    md, html = report_mod.write_report(build, raw, project, ledger, STEPS, libraries)
    print(f"  reproduction report -> {html} (and {md.name})")

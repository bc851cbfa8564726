"""Method validation: run the analyses on many synthetic realizations and measure their accuracy.

A reproduced number says the build is repeatable; it does not say how close the method
comes to the truth.  A synthetic instrument knows that truth, so the validation draws
N truths from its priors, writes a raw tree for each, runs the same steps the build
runs (through :func:`paperbuild.runner.run_step`, without doit and without rendering),
and compares every raw-derived number with the value its truth implies.

This module knows nothing of the paper: the caller hands it an :class:`Instrument`
(module-level functions, so worker processes can import them) and the steps.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from paperbuild import atomic, progress
from paperbuild.paths import Roots
from paperbuild.step import Step

VALIDATION_JSON = "validation.json"
VALIDATION_MD = "validation.md"
INSTRUMENT = "synthetic instrument"  # the failure key when a truth could not be drawn or written


@dataclass(frozen=True)
class Instrument:
    """What the validation needs of a synthetic instrument (all picklable by reference).

    draw_truth(seed) -> truth; write_tree(truth, out, log=..., sections=None);
    expected_numbers(truth) -> {number key: value}; load_goals() -> {number key:
    {goal, unit, why}}; dump_truth(truth, path) writes the truth so a realization can
    be rerun with ``python -m data.synth --truth FILE``.
    """

    draw_truth: Callable[[int], dict[str, Any]]
    write_tree: Callable[..., Any]
    expected_numbers: Callable[[Mapping[str, Any]], dict[str, Any]]
    load_goals: Callable[[], dict[str, dict[str, Any]]]
    dump_truth: Callable[[Mapping[str, Any], Path], None]
    sections: tuple[str, ...] | None = None


@dataclass
class Realization:
    """One realization's outcome: the numbers it computed and the steps that failed."""

    seed: int
    truth_file: str
    values: dict[str, Any] = field(default_factory=dict)
    raw_derived: list[str] = field(default_factory=list)
    expected: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # step -> message
    seconds: float = 0.0


def _quiet(_: str) -> None:
    return None


def _failure_message(err: BaseException) -> str:
    """The error's own line, with where in the analysis code it was raised."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "/analysis/" in f.filename
              or "/synth/" in f.filename]
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}{where}"[:400]


def realize(seed: int, steps: Sequence[Step], instrument: Instrument, workdir: Path, keep: bool = False) -> Realization:
    """Draw one truth, write its raw tree, run the steps on it and collect their numbers.

    A step that raises is recorded as a failure with its message; the steps after it still
    run (those that need its outputs then fail too, naming the missing file).  The steps'
    output goes to ``seed-S/log.txt``, so parallel realizations do not interleave.

    Parameters
    ----------
    seed
        The realization's seed (the truth's draw and its noise).
    steps
        The steps to run, producers first.
    instrument
        The synthetic instrument.
    workdir
        Parent of the realization's folder ``seed-S``.
    keep
        Keep the raw tree and the build (for debugging); else only truth and log stay.

    Returns
    -------
    Realization
    """
    from paperbuild import numbers as numbers_mod
    from paperbuild.runner import run_step

    started = time.perf_counter()
    here = Path(workdir) / f"seed-{seed}"
    if here.exists():
        shutil.rmtree(here)
    here.mkdir(parents=True)
    truth_file = here / "truth.yaml"
    result = Realization(seed=seed, truth_file=str(truth_file))
    roots = Roots(raw=here / "raw", build=here / "build")
    try:
        truth = instrument.draw_truth(seed)
        instrument.dump_truth(truth, truth_file)
        result.expected = instrument.expected_numbers(truth)
        instrument.write_tree(truth, roots.raw, log=_quiet, sections=instrument.sections)
    except Exception as err:  # the instrument itself failed: no step can run on this truth
        result.failures[INSTRUMENT] = _failure_message(err)
        result.seconds = round(time.perf_counter() - started, 1)
        return result
    with open(here / "log.txt", "w", encoding="utf-8") as log, redirect_stdout(log), redirect_stderr(log):
        for step in steps:
            try:
                run_step(step, roots)
            except Exception as err:  # any crash or refusal is a finding, reported per step
                result.failures[step.name] = _failure_message(err)
                traceback.print_exc(file=log)
                continue
            print(f"{step.name}: done")
    for step in steps:
        if step.name in result.failures:
            continue
        record = json.loads(roots.step_record(step.name).read_text(encoding="utf-8"))
        input_roots = record.get("input_roots", {})
        if step.numbers_file:
            for key, number in numbers_mod.load(roots.build / step.numbers_file).items():
                result.values[key] = number["value"]
                if any(input_roots.get(path) == "raw" for path in number.get("inputs", {})):
                    result.raw_derived.append(key)
    if not keep:
        shutil.rmtree(roots.raw, ignore_errors=True)
        shutil.rmtree(roots.build, ignore_errors=True)
    result.seconds = round(time.perf_counter() - started, 1)
    return result


# ------------------------------------------------------------------ pure: comparison
def errors(computed: Any, expected: Any) -> list[float]:
    """Signed errors (computed - expected), element by element for lists.

    Parameters
    ----------
    computed
        The number's value as a step computed it.
    expected
        The value the truth implies.

    Returns
    -------
    list of float
        One error per element; booleans compare as 0/1; a list of strings gives one
        error, the number of items in one list and not the other.

    Raises
    ------
    ValueError
        The shapes differ (another list length, a list for a scalar).
    """
    if isinstance(expected, list) and expected and all(isinstance(v, str) for v in expected):
        if not isinstance(computed, list):
            raise ValueError(f"expected a list, got {computed!r}")
        return [float(len(set(computed) ^ set(expected)))]
    if isinstance(expected, list):
        if not isinstance(computed, list) or len(computed) != len(expected):
            raise ValueError(f"expected {len(expected)} values, got {computed!r}")
        return [e for c, x in zip(computed, expected) for e in errors(c, x)]
    if isinstance(expected, str):
        return [0.0 if computed == expected else 1.0]
    return [float(computed) - float(expected)]


@dataclass
class Accuracy:
    """One number's accuracy over the realizations, against its declared goal."""

    key: str
    unit: str
    goal: float | None
    why: str
    n: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)  # {seed, step, message}
    bias: float | None = None
    rms: float | None = None
    worst: float | None = None
    worst_seed: int | None = None

    @property
    def verdict(self) -> str:
        if self.failures:
            return "FAILED"
        if self.goal is None:
            return "no goal"
        if self.n == 0:
            return "not computed"
        return "meets goal" if (self.worst or 0.0) <= self.goal + 1e-12 else "MISSES GOAL"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "unit": self.unit, "n": self.n, "failures": self.failures, "bias": self.bias,
                "rms": self.rms, "worst": self.worst, "worst_seed": self.worst_seed, "goal": self.goal,
                "why": self.why, "verdict": self.verdict}


def _round(value: float) -> float:
    return float(f"{value:.4g}")


def summarize(realizations: Iterable[Realization], goals: Mapping[str, Mapping[str, Any]],
              step_of: Mapping[str, str]) -> list[Accuracy]:
    """Per raw-derived number: n, failures, bias, RMS and worst error with its seed.

    Parameters
    ----------
    realizations
        Their outcomes.
    goals
        Number key -> ``{goal, unit, why}`` (optionally ``relative``).
    step_of
        Number key -> the step that computes it.

    Returns
    -------
    list of Accuracy
        Sorted by key.  A number counts as raw-derived when any realization derived it
        from a raw file, or when the priors declare a goal for it; a failing step (or
        instrument) fails each of its numbers in that realization.
    """
    realizations = list(realizations)
    keys = set(goals)
    for r in realizations:
        keys.update(r.raw_derived)
    table = []
    for key in sorted(keys):
        goal = goals.get(key, {})
        relative = bool(goal.get("relative", False))
        acc = Accuracy(key=key, unit=str(goal.get("unit", "")),
                       goal=float(goal["goal"]) if "goal" in goal else None, why=str(goal.get("why", "")))
        errs: list[tuple[float, int]] = []
        for r in realizations:
            step = step_of.get(key, "")
            failed = next((name for name in (INSTRUMENT, step) if name in r.failures), None)
            if failed:
                acc.failures.append({"seed": r.seed, "step": failed, "message": r.failures[failed]})
                continue
            if key not in r.values:
                acc.failures.append({"seed": r.seed, "step": step, "message": "the step did not compute it"})
                continue
            if key not in r.expected:
                acc.failures.append({"seed": r.seed, "step": step, "message": "the instrument gives no expected value"})
                continue
            try:
                found = errors(r.values[key], r.expected[key])
                if relative:  # a ratio whose scale spans decades: its error as a fraction of the value
                    found = [e / abs(float(r.expected[key])) for e in found]
                errs.extend((e, r.seed) for e in found)
            except (TypeError, ValueError) as err:
                acc.failures.append({"seed": r.seed, "step": step, "message": f"{err} (expected {r.expected[key]!r})"})
                continue
            acc.n += 1
        if errs:
            values = [e for e, _ in errs]
            acc.bias = _round(sum(values) / len(values))
            acc.rms = _round(math.sqrt(sum(v * v for v in values) / len(values)))
            worst, acc.worst_seed = max(errs, key=lambda pair: abs(pair[0]))
            acc.worst = _round(abs(worst))
        table.append(acc)
    return table


# ------------------------------------------------------------------ I/O: the run and its files
def _limit_threads() -> None:
    """One BLAS/OpenMP thread per worker: the realizations are the parallelism."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[name] = "1"


def run_validation(steps: Sequence[Step], instrument: Instrument, out: Path, realizations: int, seed: int,
                   workers: int | None = None, log: Callable[[str], None] = print,
                   keep: bool = False, sources: Sequence[Path] = (), project: Path | None = None) -> dict[str, Any]:
    """Run ``realizations`` realizations (seeds ``seed`` .. ``seed + N - 1``) in parallel.

    Parameters
    ----------
    steps
        The steps to run on every tree, producers first.
    instrument
        The synthetic instrument.
    out
        Receives ``validation.json`` and ``validation.md`` (atomically, once all are
        done) and ``runs/seed-S/`` (truth and log; raw tree and build too if ``keep``).
    realizations, seed
        How many, and the first seed.
    workers
        Processes; default the machine's cores.
    log
        Progress lines (one per finished realization).
    keep
        Keep every raw tree and build.
    sources, project
        The files whose content the result depends on (analysis code, forward models,
        priors); their hashes, by path relative to ``project``, are recorded so that a
        later reader can tell whether the table still describes the code.

    Returns
    -------
    dict
        The content of ``validation.json``.
    """
    out = Path(out)
    runs = out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    seeds = list(range(seed, seed + realizations))
    workers = max(1, min(workers or os.cpu_count() or 1, len(seeds)))
    log(f"{progress.UNDER_TASK}validate: {len(seeds)} realizations (seeds {seeds[0]}..{seeds[-1]}) on {workers} worker(s)")
    started = time.perf_counter()
    _limit_threads()
    results: list[Realization] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(realize, s, steps, instrument, runs, keep): s for s in seeds}
        for future in as_completed(futures):
            r = future.result()
            results.append(r)
            failed = f", failed: {', '.join(sorted(r.failures))}" if r.failures else ""
            log(progress.line("validate", len(results), len(seeds), f"seed {r.seed} in {r.seconds:.0f} s{failed}",
                              progress.UNDER_TASK))
    results.sort(key=lambda r: r.seed)
    step_of = {key: step.name for step in steps for key in step.numbers}
    table = summarize(results, instrument.load_goals(), step_of)
    elapsed = round(time.perf_counter() - started, 1)
    summary = {
        "realizations": len(seeds), "seed": seed, "seeds": seeds, "workers": workers, "seconds": elapsed,
        "sources": source_hashes(sources, project),
        "numbers": {acc.key: acc.as_dict() for acc in table},
        "runs": [{"seed": r.seed, "truth": Path(r.truth_file).relative_to(out).as_posix(), "seconds": r.seconds,
                  "failures": r.failures, "values": {k: r.values[k] for k in sorted(r.values)},
                  "expected": {k: r.expected[k] for k in sorted(r.expected)}} for r in results],
    }
    atomic.write_text(out / VALIDATION_JSON, json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    atomic.write_text(out / VALIDATION_MD, markdown(summary))
    misses = [a.key for a in table if a.verdict not in ("meets goal",)]
    log(f"{progress.UNDER_TASK}validate: {len(table)} numbers in {elapsed:.0f} s; "
        + (f"not meeting their goal: {', '.join(misses)}" if misses else "all meet their accuracy goals"))
    return summary


def source_hashes(sources: Iterable[Path], project: Path | None) -> dict[str, str]:
    """SHA-256 of each file, keyed by its path relative to ``project`` (absolute without one).

    Parameters
    ----------
    sources
        The files.
    project
        The folder the keys are relative to.

    Returns
    -------
    dict
        Path -> hex digest, sorted by path.
    """
    from paperbuild.manifest import sha256_file

    hashes = {}
    for path in sources:
        path = Path(path)
        key = path.relative_to(project).as_posix() if project is not None else str(path)
        hashes[key] = sha256_file(path)
    return dict(sorted(hashes.items()))


def changed_sources(recorded: Mapping[str, str], project: Path) -> list[str]:
    """The recorded files that are now missing or hold other content.

    Parameters
    ----------
    recorded
        Path (relative to ``project``) -> digest, as :func:`source_hashes` wrote them.
    project
        The project root.

    Returns
    -------
    list of str
        The paths that changed, sorted.
    """
    from paperbuild.manifest import sha256_file

    return sorted(rel for rel, digest in recorded.items()
                  if not (project / rel).is_file() or sha256_file(project / rel) != digest)


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.3g}"


def markdown(summary: Mapping[str, Any]) -> str:
    """The validation table as Markdown, with the failures and each goal's reason.

    Parameters
    ----------
    summary
        The content of ``validation.json``.

    Returns
    -------
    str
        The Markdown document.
    """
    lines = [
        "# Method validation",
        "",
        f"{summary['realizations']} synthetic realizations (seeds {summary['seeds'][0]}–{summary['seeds'][-1]}), "
        f"{summary['seconds']:.0f} s on {summary['workers']} worker(s). Error = computed − value the truth implies; "
        "for a list, every element counts. Rerun a realization: `python -m data.synth --truth "
        "build/validation/runs/seed-S/truth.yaml --out DIR`, then `doit raw=DIR build=OTHER_DIR`.",
        "",
        "| number | n | failures | bias | RMS | worst | worst seed | goal | unit | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, acc in summary["numbers"].items():
        lines.append(f"| `{key}` | {acc['n']} | {len(acc['failures'])} | {_fmt(acc['bias'])} | {_fmt(acc['rms'])} | "
                     f"{_fmt(acc['worst'])} | {acc['worst_seed'] if acc['worst_seed'] is not None else '–'} | "
                     f"{_fmt(acc['goal'])} | {acc['unit']} | {acc['verdict']} |")
    failures = [(key, f) for key, acc in summary["numbers"].items() for f in acc["failures"]]
    if failures:
        lines += ["", "## Failures", ""]
        lines += [f"- `{key}`, seed {f['seed']} ({f['step']}): {f['message']}" for key, f in failures]
    lines += ["", "## Why each goal has its value", ""]
    lines += [f"- `{key}` ({_fmt(acc['goal'])} {acc['unit']}): {acc['why']}" for key, acc in summary["numbers"].items()
              if acc["why"]]
    return "\n".join(lines) + "\n"

"""The doit actions behind every task, each turning a BuildError into one clean message.

doit shows a returned ``TaskFailed`` as its message alone; anything else that goes
wrong is a bug and keeps its traceback.  Each action imports its work lazily, so
loading ``dodo.py`` stays instant.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doit.exceptions import TaskFailed

from paperbuild.errors import BuildError
from paperbuild.paths import Roots

if TYPE_CHECKING:  # annotations only: the actions import their work lazily
    from paperbuild.step import Step


def reported(func: Callable[..., Any]) -> Callable[..., Any]:
    """Let a user's mistake stop doit with one readable sentence, while bugs keep their traceback.

    Parameters
    ----------
    func
        A doit action that raises a :class:`~paperbuild.errors.BuildError` for anything
        a user can cause (missing file, drifted number, bad ledger).

    Returns
    -------
    callable
        The action, returning ``TaskFailed(str(error))`` instead of raising a
        BuildError; any other exception propagates unchanged.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from paperbuild.atomic import FULL, OutputError

        try:
            result = func(*args, **kwargs)
        except BuildError as err:
            return TaskFailed(str(err))
        except OSError as err:
            if err.errno not in FULL:
                raise
            # a full disk while copying into the render stage or writing thumbnails
            return TaskFailed(str(OutputError(err.filename or "the build folder", err)))
        return None if result is None else result

    return wrapper


@reported
def verify_raw(roots: Roots) -> None:
    """Refuse to analyse a raw tree that differs from its manifest; stamp the verified hashes.

    The stamp (``roots.raw_verified``) is what the report lists as the raw files; a
    :class:`~paperbuild.errors.ManifestError` reaches doit as ``TaskFailed``.

    Parameters
    ----------
    roots
        The build's roots: the raw tree to verify and the build folder for the stamp.
    """
    from paperbuild import atomic, manifest

    verified = manifest.verify_manifest(roots.raw)
    atomic.write_text(roots.raw_verified, json.dumps({"raw": str(roots.raw), "files": verified}, indent=2) + "\n")
    print(f"  {roots.raw}: {len(verified)} files match {manifest.MANIFEST_NAME}")


@reported
def run_step(step: Step, roots: Roots, scheduler_address: str | None = None) -> None:
    """doit's entry to one analysis or figure step, with user errors as one-line failures.

    The work, staging and provenance are :func:`paperbuild.runner.run_step`'s.

    Parameters
    ----------
    step
        The step's declaration from the registry.
    roots
        Raw tree, build folder and project the step's declared paths resolve against.
    scheduler_address
        The Dask cluster of ``doit scheduler=...`` for a chunked step, or None.
    """
    from paperbuild.runner import run_step as run

    run(step, roots, scheduler_address)


@reported
def write_params(steps: Iterable[Step], target: Path) -> None:
    """Publish the registry's method parameters so the paper quotes them instead of retyping them.

    Parameters
    ----------
    steps
        Every registered step; each parameter is keyed ``step.name``.
    target
        The build's ``params.json``, read by the ``param`` shortcode and the lint.
    """
    from paperbuild import atomic

    records = {f"{step.name}.{name}": param.record(step.name) for step in steps for name, param in step.params.items()}
    atomic.write_text(target, json.dumps(records, indent=2, ensure_ascii=False) + "\n")
    print(f"  {len(records)} method parameters -> {target}")


@reported
def merge_numbers(parts: list[Path], target: Path) -> None:
    """Give the article, drift check and report one numbers file instead of one per step.

    A key computed by two steps reaches doit as ``TaskFailed``.

    Parameters
    ----------
    parts
        The per-step ``numbers/<step>.json`` files.
    target
        The merged ``numbers.json``.
    """
    from paperbuild import numbers

    merged = numbers.merge(parts)
    numbers.write_merged(target, merged)
    print(f"  {len(merged)} numbers -> {target}")


@reported
def check_drift(roots: Roots) -> None:
    """Stop the build before rendering when a quoted number moved outside its ledger tolerance.

    The failure message is the drift table (see :func:`paperbuild.ledger.check_drift`),
    then the commands that accept the change or report the build anyway, spelled with
    this build's ``raw=`` and ``build=``.

    Parameters
    ----------
    roots
        The build: its merged ``numbers.json`` and the project's ledger.
    """
    from paperbuild import commands
    from paperbuild import ledger as ledger_mod
    from paperbuild import numbers

    remedy = (f"If the change is intended, review it and run `{commands.doit('accept', roots=roots)}` "
              f"to lock the new values. To see it first: `{commands.module('paperbuild.numdiff', roots.ledger, roots.build)}` "
              f"(the table), `{commands.module('paperbuild.report', '--build', roots.build)}` (the report, "
              "drifted numbers marked).")
    checked = ledger_mod.check_drift(numbers.load(roots.numbers), roots.ledger, remedy)
    print(f"  {checked} numbers match their locks in {roots.ledger}")


@reported
def accept(roots: Roots) -> None:
    """``doit accept``: lock the current numbers (and the last validation) deliberately, as reviewable diffs.

    The build's ``numbers.json`` becomes the ledger's locks (only its locks change); when
    the build holds a ``validation/validation.json``, its table becomes the accepted
    method accuracy (``paper/accuracy.json``).

    Parameters
    ----------
    roots
        The build whose numbers and validation are accepted, and the project whose ledger
        and accuracy file are rewritten.
    """
    from paperbuild import accuracy as accuracy_mod
    from paperbuild import commands
    from paperbuild import ledger as ledger_mod
    from paperbuild import numbers

    ledger, accuracy, validation = roots.ledger, roots.accuracy, roots.validation / "validation.json"
    changes = ledger_mod.accept(numbers.load(roots.numbers), ledger)
    print("\n".join(f"  {c}" for c in changes) or "  ledger already matches the numbers")
    print(f"  wrote {ledger}; review with `git diff {ledger}`")
    if validation.is_file():
        record = accuracy_mod.write_accepted(validation, accuracy)
        print(f"  wrote {accuracy} from {validation} ({record['realizations']} realizations); "
              f"review with `git diff {accuracy}`")
    else:
        print(f"  {accuracy} kept: no validation in this build "
              f"(run `{commands.doit('validate', roots=roots)}` to measure it anew)")


@reported
def validate(steps: list[Step], roots: Roots, realizations: int, seed: int,
             instrument: Callable[[], Any], sources: list[Path]) -> None:
    """``doit validate``: measure every raw-derived number's accuracy over synthetic realizations.

    Parameters
    ----------
    steps
        The steps that compute numbers, with the steps whose outputs they read.
    roots
        The build whose ``validation/`` folder receives ``validation.json`` and ``.md``.
    realizations, seed
        How many truths to draw, and the first seed (seeds ``seed .. seed + N - 1``).
    instrument
        Returns the synthetic instrument (:class:`paperbuild.validate.Instrument`);
        called here so that a plain ``doit`` never imports it.
    sources
        The files the result depends on (recorded with their hashes).
    """
    from paperbuild import commands
    from paperbuild.validate import run_validation

    run_validation(steps, instrument(), roots.validation, realizations, seed, sources=sources,
                   project=roots.project)
    print(f"  wrote {roots.validation / 'validation.md'} and validation.json; "
          f"`{commands.doit('accept', roots=roots)}` makes it the accuracy the paper quotes")


@reported
def lint(sources: list[Path], numbers_file: Path, params_file: Path, accuracy_file: Path | None = None) -> None:
    """Keep results out of the prose: fail on unknown keys and hand-typed numbers or parameters.

    Parameters
    ----------
    sources
        The paper's Markdown sources.
    numbers_file
        The merged ``numbers.json`` (the keys ``num`` may quote).
    params_file
        The build's ``params.json`` (the keys ``param`` may quote).
    accuracy_file
        The accepted ``paper/accuracy.json`` (the keys ``accuracy`` may quote).
    """
    from paperbuild import accuracy
    from paperbuild import lint as lint_mod
    from paperbuild import numbers

    accepted = accuracy.load(accuracy_file)["numbers"] if accuracy_file is not None else None
    lint_mod.check(sources, numbers.load(numbers_file), lint_mod.load_params(params_file), accepted)
    print(f"  {len(sources)} documents quote numbers and parameters only through shortcodes")


@reported
def render(document: str, roots: Roots, targets: list[Path]) -> None:
    """Render one document and leave a step record, so the report can time rendering and name the renderer.

    The record names the back end and where the PDF's date came from.

    Parameters
    ----------
    document
        ``"article"`` or ``"supplement"``.
    roots
        The build's roots (sources, numbers, figures, and where the record goes).
    targets
        The HTML and PDF files to write.
    """
    import time

    from paperbuild import atomic
    from paperbuild import render as render_mod

    started = time.perf_counter()
    used = render_mod.render(document, roots, [Path(t) for t in targets])
    record = {"step": f"render:{document}", "outputs": [str(Path(t).relative_to(roots.build)) for t in targets],
              "renderer": used, "seconds": round(time.perf_counter() - started, 3)}
    atomic.write_text(roots.step_record(f"render_{document}"), json.dumps(record, indent=2) + "\n")


@reported
def report(roots: Roots) -> TaskFailed | None:
    """Certify the build for a reviewer: write the reproduction report, fail if it cannot certify.

    The report (Markdown and HTML) is written either way; when anything in it is stale
    or the raw tree does not match its manifest, the task fails with the reasons.

    Parameters
    ----------
    roots
        The build whose files the report reads and where it lands.

    Returns
    -------
    TaskFailed or None
        ``TaskFailed`` naming what is stale when the build is not certified.
    """
    from paperbuild import report as report_mod

    certificate = report_mod.write_report(roots)
    if not certificate.certified:
        return TaskFailed(certificate.message())
    print(f"  {certificate.message()}")
    return None

"""Run one pipeline step: resolve its declaration, stage its outputs, record provenance.

The module never builds a path: it receives its declared inputs and outputs by role and
its parameters by name, ``run(inputs, outputs, **params)``.  Asking for an undeclared
role is an error, and so is leaving an undeclared file in the staging folder, so every
file a step touches is one doit hashes.
"""
from __future__ import annotations

import contextlib
import importlib
import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Union

from paperbuild import numbers as numbers_mod
from paperbuild import scheduler
from paperbuild.atomic import staged_tree, write_text
from paperbuild.errors import DeclarationError, InputError, NumberKeyError
from paperbuild.manifest import sha256_file
from paperbuild.numbers import Number
from paperbuild.paths import Roots
from paperbuild.step import Step, code_hash, library_versions

Resolved = Union[Path, tuple[Path, ...]]


class Declared(Mapping):
    """A step's inputs or outputs by role; an undeclared role names the registry.

    Parameters
    ----------
    step
        The step's name, for messages.
    kind
        ``"input"`` or ``"output"``.
    paths
        Role -> resolved path (or tuple of paths for a glob input).
    """

    def __init__(self, step: str, kind: str, paths: Mapping[str, Resolved]):
        self._step, self._kind, self._paths = step, kind, dict(paths)

    def __getitem__(self, role: str) -> Resolved:
        try:
            return self._paths[role]
        except KeyError:
            raise DeclarationError(
                f"step {self._step} asked for {self._kind} {role!r}, which the registry does not declare "
                f"(declared: {', '.join(sorted(self._paths)) or 'none'})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __repr__(self) -> str:
        return f"Declared({self._step!r}, {self._kind!r}, {self._paths!r})"


def input_labels(step: Step, roots: Roots) -> dict[Path, tuple[str, str]]:
    """Name each input as provenance shows it, independent of where the roots are on disk.

    Raw and build inputs are named relative to their root, project files relative to
    the project, as ``numbers.json`` and the report show them.

    Parameters
    ----------
    step
        The declaration whose inputs to name (glob patterns expanded).
    roots
        The roots the inputs resolve against.

    Returns
    -------
    dict
        Resolved input file -> (its provenance name, its root kind: ``"raw"``,
        ``"build"`` or ``"project"``).
    """
    labels = {}
    for item in step.inputs.values():
        resolved = item.resolve(roots)
        base = roots.root(item.root)
        for path in resolved if isinstance(resolved, tuple) else (resolved,):
            labels[path] = (path.relative_to(base).as_posix(), item.root)
    return labels


def _check_present(step: Step, roots: Roots, resolved: Mapping[str, Resolved]) -> None:
    for role, found in resolved.items():
        item = step.inputs[role]
        if isinstance(found, tuple) and not found:
            raise InputError(roots.root(item.root) / item.path,
                             f"step {step.name} needs files matching this pattern and none exist")
        for path in found if isinstance(found, tuple) else (found,):
            if not path.is_file():
                raise InputError(path, f"step {step.name} needs this file and it is missing")


def derived_inputs(number: Number, hashes: Mapping[str, str], labels: Mapping[Path, tuple[str, str]],
                   step: str) -> dict[str, str]:
    """The inputs a number records, so its provenance lists only the files it depends on.

    Parameters
    ----------
    number
        A number the step returned; ``derived_from`` empty means all of the step's inputs.
    hashes
        Provenance name -> SHA-256 of every input of the step.
    labels
        Resolved input file -> (provenance name, root kind) (:func:`input_labels`).
    step
        The step's name, for messages.

    Returns
    -------
    dict of str to str
        Provenance name -> SHA-256 of the inputs the number was derived from.

    Raises
    ------
    DeclarationError
        When the number names a file that is not one of the step's inputs.
    """
    if not number.derived_from:
        return dict(hashes)
    chosen = {}
    for path in number.derived_from:
        if path not in labels:
            raise DeclarationError(f"step {step}: {number.key} is derived from {path}, which is not one of "
                                   "the step's declared inputs")
        label = labels[path][0]
        chosen[label] = hashes[label]
    return chosen


def write_step_record(roots: Roots, step: Step, inputs: Mapping[str, str], input_roots: Mapping[str, str],
                      code: str, seconds: float) -> Path:
    """Record in ``build/steps/<step>.json`` what the step read (with hashes), wrote, and its time.

    The report and the figure captions read it; it is written after the outputs so it
    never describes outputs that did not land.

    Parameters
    ----------
    roots
        The build's roots (the record goes to ``roots.step_record(step.name)``).
    step
        The declaration (module, source file, outputs, libraries).
    inputs
        Provenance name -> SHA-256 of every input read.
    input_roots
        Provenance name -> root kind (``"raw"``, ``"build"``, ``"project"``).
    code
        Hash of the step's source files.
    seconds
        Wall time of the step.

    Returns
    -------
    Path
        The record's path.
    """
    record = {"step": step.name, "module": step.module, "source": step.module.replace(".", "/") + ".py",
              "inputs": dict(inputs), "input_roots": dict(input_roots), "outputs": list(step.targets),
              "libraries": library_versions(step.libraries),
              "params": {name: list(v) if isinstance(v, tuple) else v for name, v in step.param_values().items()},
              "code": code, "seconds": round(seconds, 3)}
    path = roots.step_record(step.name)
    write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return path


def run_step(step: Step, roots: Roots, scheduler_address: str | None = None) -> None:
    """Run ``step`` so that its outputs land in the build folder only if it all succeeds.

    The module receives only what the registry declares and must return exactly the
    numbers it promises; the numbers file and the step record carry the provenance.

    Parameters
    ----------
    step
        The declaration from the registry.
    roots
        Raw tree, build folder and project.
    scheduler_address
        A ``dask.distributed`` scheduler for a ``chunked`` step's Dask work; None runs
        it on this machine's cores (:mod:`paperbuild.scheduler`).

    Raises
    ------
    InputError
        A declared input is missing or malformed (raised by the module for the latter).
    DeclarationError
        The module asked for, or wrote, something the registry does not declare, left a
        declared output unwritten, or returned a number derived from an undeclared file.
    NumberKeyError
        The module returned other numbers than the registry promises.
    BuildError
        No Dask scheduler answers at ``scheduler_address``.
    """
    started = time.perf_counter()
    resolved = step.resolve_inputs(roots)
    _check_present(step, roots, resolved)
    labels = input_labels(step, roots)
    hashes = {label: sha256_file(path) for path, (label, _) in labels.items()}
    code = code_hash(step.code_files())
    module = importlib.import_module(step.module)
    with staged_tree(roots.build, expected=list(step.targets), step=step.name) as stage:
        outputs = {role: stage / rel for role, rel in step.outputs.items()}
        for path in outputs.values():
            path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as dask_context:
            if step.chunked:
                where = dask_context.enter_context(scheduler.connected(scheduler_address, step.name))
                print(f"  {step.name}: chunked work on {where}", flush=True)
            returned = module.run(Declared(step.name, "input", resolved), Declared(step.name, "output", outputs),
                                  **step.param_values()) or []
        keys = [n.key for n in returned]
        if sorted(keys) != sorted(step.numbers):
            extra = sorted(set(keys) - set(step.numbers))
            lost = sorted(set(step.numbers) - set(keys))
            raise NumberKeyError(
                f"step {step.name} promised numbers {sorted(step.numbers)} in the registry "
                f"but returned {sorted(keys)} (unregistered: {extra}, not returned: {lost})"
            )
        if step.numbers_file:
            provenance = {n.key: derived_inputs(n, hashes, labels, step.name) for n in returned}
            numbers_mod.write_step_numbers(stage / step.numbers_file, step.name, returned, provenance, code)
    elapsed = time.perf_counter() - started
    write_step_record(roots, step, hashes, {label: kind for label, kind in labels.values()}, code, elapsed)
    print(f"  {step.name}: {_counted(len(hashes), 'input')} -> {_counted(len(step.targets), 'output')}, "
          f"{_counted(len(step.numbers), 'number')} in {elapsed:.1f} s")


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")

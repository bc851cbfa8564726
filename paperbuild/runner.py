"""Run one pipeline step: check its inputs, stage its outputs, record provenance."""
from __future__ import annotations

import importlib
import time
from pathlib import Path

from paperbuild import numbers as numbers_mod
from paperbuild.atomic import staged_tree
from paperbuild.errors import InputError, NumberKeyError
from paperbuild.manifest import sha256_file
from paperbuild.step import PROJECT_ROOT, Step, code_hash


def write_step_record(build: Path, step: Step, inputs: dict[str, str], code: str, seconds: float) -> Path:
    """``build/steps/<step>.json``: what the step read (with hashes), wrote, and how long it took.

    The report and the figure captions read it; it is written after the outputs so it
    never describes outputs that did not land.
    """
    import json

    from paperbuild.atomic import write_text

    module_file = _module_file(step.module)
    record = {"step": step.name, "module": step.module, "source": module_file, "source_root": step.source_root,
              "inputs": inputs, "outputs": list(step.targets), "code": code, "seconds": round(seconds, 3)}
    path = build / "steps" / f"{step.name}.json"
    write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return path


def _module_file(dotted: str) -> str:
    path = PROJECT_ROOT / (dotted.replace(".", "/") + ".py")
    return path.relative_to(PROJECT_ROOT).as_posix() if path.is_file() else dotted


def run_step(step: Step, raw: Path, build: Path) -> None:
    """Run ``step`` reading from ``raw`` or ``build``, writing into ``build``.

    Outputs appear in ``build`` only if the whole step succeeds (see
    :func:`paperbuild.atomic.staged_tree`); the step's numbers file records the hash
    of every input and of the code, so each number can say where it came from.
    """
    started = time.perf_counter()
    source = Path(raw if step.source_root == "raw" else build)
    files = step.input_files(source)
    missing = [rel for rel in files if not (source / rel).is_file()]
    if missing:
        raise InputError(source / missing[0], f"step {step.name} needs this file and it is missing")
    inputs = {rel: sha256_file(source / rel) for rel in files}
    inputs.update({rel: sha256_file(PROJECT_ROOT / rel) for rel in step.external})
    code = code_hash(step.code_files())
    module = importlib.import_module(step.module)
    with staged_tree(Path(build), expected=list(step.targets)) as stage:
        returned = module.run(source, stage, **dict(step.params)) or []
        keys = [n.key for n in returned]
        if sorted(keys) != sorted(step.numbers):
            extra = sorted(set(keys) - set(step.numbers))
            lost = sorted(set(step.numbers) - set(keys))
            raise NumberKeyError(
                f"step {step.name} promised numbers {sorted(step.numbers)} in the registry "
                f"but returned {sorted(keys)} (unregistered: {extra}, not returned: {lost})"
            )
        if step.numbers_file:
            numbers_mod.write_step_numbers(stage / step.numbers_file, step.name, returned, inputs, code)
    elapsed = time.perf_counter() - started
    write_step_record(Path(build), step, inputs, code, elapsed)
    print(f"  {step.name}: {len(inputs)} inputs -> {len(step.targets)} outputs, "
          f"{len(step.numbers)} numbers in {elapsed:.1f} s")

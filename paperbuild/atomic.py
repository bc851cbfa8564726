"""Write outputs so that a failure never leaves a half-written or corrupted file.

Every output goes to a temporary name in the same folder and is renamed into place
(``os.replace`` is atomic on POSIX), so the last good output survives any error or
interruption.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` with UTF-8 ``text`` atomically."""
    write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def staged_tree(dest: Path, expected: list[str] | None = None) -> Iterator[Path]:
    """Yield an empty staging folder; on success move its files into ``dest``.

    A step writes all of its outputs into the staging folder.  Only when the step
    returns without error are the files renamed into ``dest`` one by one, so an error
    mid-step leaves every previous output untouched.  ``expected`` (paths relative to
    the staging root) makes a step that forgot an output fail loudly.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=dest, prefix=".stage-"))
    try:
        yield stage
        produced = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
        if expected is not None:
            missing = sorted(set(expected) - set(produced))
            if missing:
                raise RuntimeError(f"step did not write its declared outputs: {', '.join(missing)}")
        for rel in produced:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / rel, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)

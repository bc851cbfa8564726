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
    """Replace ``path`` with ``data`` so that readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same folder, which is renamed over
    ``path``; on any error (or interruption) the temporary file is removed and the
    previous ``path`` survives.  Parent folders are created.

    Parameters
    ----------
    path
        The file to (re)write.
    data
        Its complete new content.
    """
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
    """Replace ``path`` with ``text`` all at once (:func:`write_bytes`), in UTF-8 whatever the locale.

    Parameters
    ----------
    path
        The file to (re)write.
    text
        Its complete new content.
    """
    write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def staged_tree(dest: Path, expected: list[str] | None = None, step: str = "step") -> Iterator[Path]:
    """Let a step land all of its declared outputs or none of them.

    A step writes all of its outputs into the staging folder.  Only when the step
    returns without error are the files renamed into ``dest`` one by one, so an error
    mid-step leaves every previous output untouched.  ``expected`` (paths relative to
    the staging root) is the complete list of outputs: a step that forgot one, or wrote
    one more, fails naming the file, and nothing moves into ``dest``.  The staging
    folder is removed in every case.

    Parameters
    ----------
    dest
        The build folder the outputs land in (created if missing).
    expected
        Every output, relative to the staging root; None skips the check.
    step
        The step's name, for messages.

    Yields
    ------
    Path
        An empty staging folder inside ``dest``.

    Raises
    ------
    DeclarationError
        The step left a declared output unwritten, or wrote an undeclared file.
    """
    from paperbuild.errors import DeclarationError

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=dest, prefix=".stage-"))
    try:
        yield stage
        produced = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
        if expected is not None:
            missing = sorted(set(expected) - set(produced))
            if missing:
                raise DeclarationError(f"{step} did not write its declared outputs: {', '.join(missing)}")
            undeclared = sorted(set(produced) - set(expected))
            if undeclared:
                raise DeclarationError(f"{step} wrote {', '.join(undeclared)}, which the registry does not "
                                       "declare as outputs; declare them or stop writing them")
        for rel in produced:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / rel, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)

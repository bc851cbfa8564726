"""Write outputs so that a failure never leaves a half-written or corrupted file.

Every output goes to a temporary name in the same folder and is renamed into place
(``os.replace`` is atomic on POSIX), so the last good output survives any error or
interruption.  A folder that refuses the write (read-only, not a folder, full) ends in
one :class:`OutputError` naming the file, never a traceback.
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from paperbuild.errors import BuildError

READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)
FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def write_hint(err: OSError, elsewhere: str = "choose another folder") -> str:
    """What a user can do about a failed write, from the error's kind.

    Parameters
    ----------
    err
        The error the file system raised.
    elsewhere
        The way out that names another place (``"build elsewhere with build=DIR"``).

    Returns
    -------
    str
        A short remedy, or ``""`` for errors that have none to suggest.
    """
    if err.errno in FULL:
        return f"the file system is full: free some space, or {elsewhere}"
    if err.errno in READ_ONLY:
        return f"the folder is read-only: make it writable, or {elsewhere}"
    if err.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        return f"a file stands where a folder is needed, or a folder where a file is: move it, or {elsewhere}"
    return ""


class OutputError(BuildError):
    """An output cannot be written: its folder is read-only, not a folder, or full.

    Parameters
    ----------
    path
        The file (or folder) that could not be written.
    err
        The file system's error.
    """

    def __init__(self, path: str | Path, err: OSError):
        self.path = Path(path)
        self.errno = err.errno
        hint = write_hint(err)
        super().__init__(f"{self.path}: cannot write ({err.strerror or err})" + (f"; {hint}" if hint else ""))


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

    Raises
    ------
    OutputError
        The folder cannot be created or written, or the file system is full.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise OutputError(path, err) from err
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are meant to be shared
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise OutputError(path, err) from err
        raise


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` all at once (:func:`write_bytes`), in UTF-8 whatever the locale.

    Parameters
    ----------
    path
        The file to (re)write.
    text
        Its complete new content.

    Raises
    ------
    OutputError
        The folder cannot be created or written, or the file system is full.
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
    OutputError
        The build folder cannot be written, or the file system filled up (also when
        the step's own write into the staging folder fails so).
    """
    from paperbuild.errors import DeclarationError

    dest = Path(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(dir=dest, prefix=".stage-"))
    except OSError as err:
        raise OutputError(dest, err) from err
    try:
        try:
            yield stage
        except OSError as err:
            blamed = _build_folder_failure(err, stage, dest)
            if blamed is None:
                raise
            raise OutputError(blamed, err) from err
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
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(stage / rel, target)
            except OSError as err:
                raise OutputError(target, err) from err
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _build_folder_failure(err: OSError, stage: Path, dest: Path) -> Path | None:
    """The path to blame when a step's own write failed because of the build folder, else None.

    A full file system can only come from writing (into the stage): blame the file, or
    the build folder when the error names none.  A refused write is the build folder's
    only when it names a file in the stage; elsewhere (an unreadable input, say) it is
    not this folder's problem and keeps its own error.
    """
    named = Path(os.fsdecode(err.filename)) if err.filename else None
    inside = named is not None and (named == stage or stage in named.parents)
    if err.errno in FULL:
        return dest / named.relative_to(stage) if inside else dest
    if err.errno in READ_ONLY and inside:
        return dest / named.relative_to(stage)
    return None

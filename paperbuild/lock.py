"""One build at a time per build folder.

doit keeps its state in ``BUILD/.doit.db`` and the steps write into ``BUILD``; two
builds running on the same folder would race on both.  The first build holds an
exclusive ``flock`` on ``BUILD/.build.lock`` for its lifetime (the kernel releases it
when the process ends, even on a crash); a second build refuses at once, naming the
folder and the process that holds it.  Commands that only read (list, info, help) skip
the lock.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only
    from paperbuild.paths import Roots

READ_ONLY_COMMANDS = {"list", "info", "help", "dumpdb", "tabcompletion"}
_held = []  # keeps the locked file open for the life of the process


# doit's options that take a separate value (doit 0.37: global, run and list options)
_OPTIONS_WITH_VALUE = frozenset({"-f", "--file", "-d", "--dir", "--db-file", "--backend", "--check_file_uptodate",
                                 "-n", "--process", "-P", "--parallel-type", "-r", "--reporter", "-o",
                                 "--output-file", "-v", "--verbosity", "--failure-verbosity", "--codec-cls"})


def doit_command(argv: list[str]) -> str:
    """Tell which doit sub-command runs, so read-only commands can skip the build lock.

    Parameters
    ----------
    argv
        The command line, program name first (as ``sys.argv``).

    Returns
    -------
    str
        The first word that is neither an option nor a ``name=value`` setting;
        ``"run"`` (doit's default) when there is none.
    """
    words = iter(argv[1:])
    for word in words:
        if word in _OPTIONS_WITH_VALUE:
            next(words, None)  # `-f dodo.py`, `-n 2`: the value is not the command
        elif not word.startswith("-") and "=" not in word:
            return word
    return "run"


def acquire(build: Path, argv: list[str] | None = None, roots: Roots | None = None) -> None:
    """Keep two builds from racing on one build folder; the lock lasts until this process ends.

    Read-only commands return at once without the lock.  Once the lock is held,
    staging folders left by a killed build are removed and SIGTERM is turned into
    KeyboardInterrupt, so a stopped build cleans up like Ctrl-C.

    Parameters
    ----------
    build
        The build folder (its ``.build.lock`` is created if missing).
    argv
        The doit command line; None means ``sys.argv``.
    roots
        The build's roots, so a refusal suggests building elsewhere with the same ``raw=``.

    Raises
    ------
    SystemExit
        Another build holds the lock (the message names the folder and the holder),
        or the folder cannot be written (read-only, full; the message names it).
    """
    import fcntl

    if doit_command(sys.argv if argv is None else argv) in READ_ONLY_COMMANDS:
        return
    path = Path(build) / ".build.lock"
    try:
        handle = open(path, "a+", encoding="utf-8")
    except OSError as err:
        _unwritable(build, err, roots)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        from paperbuild.commands import build_elsewhere  # only when refused: not at every dodo load

        sys.exit(f"error: another build is running on {build} ({holder}); wait for it to finish, "
                 f"or {build_elsewhere(roots)}")
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
    except OSError as err:
        handle.close()
        _unwritable(build, err, roots)
    _held.append(handle)
    _sweep_stale_stages(Path(build))
    _terminate_cleanly()


def _unwritable(build: Path, err: OSError, roots: Roots | None) -> None:
    """End the build with one line when the build folder refuses the lock file (read-only, full)."""
    from paperbuild.atomic import write_hint
    from paperbuild.commands import build_elsewhere

    hint = write_hint(err, build_elsewhere(roots))
    sys.exit(f"error: cannot write to the build folder {build} ({err.strerror or err})" + (f"; {hint}" if hint else ""))


def _sweep_stale_stages(build: Path) -> None:
    """Staging folders left by a build that was killed outright (SIGKILL, power loss);
    with the lock held no other build can own them."""
    import shutil

    for stage in build.glob(".stage-*"):
        shutil.rmtree(stage, ignore_errors=True)


def _terminate_cleanly() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so a stopped build unwinds like Ctrl-C:
    the running step's staging folder is removed and no output is half-written."""
    import signal

    def interrupt(signum, _frame):
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)

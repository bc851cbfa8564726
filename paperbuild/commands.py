"""Commands the build suggests, spelled so that they work when pasted.

A message that says "run `doit accept`" is wrong twice for a user who typed
``.venv/bin/python -m doit raw=/data/mine build=/tmp/b``: ``doit`` may not be on their
PATH, and without the same ``raw=`` and ``build=`` the suggested command would accept
(or rebuild) another tree.  Every suggestion is therefore made here, from how this
process was started and from the build's roots.
"""
from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Protocol


class Roots(Protocol):
    """What a suggestion needs of :class:`paperbuild.paths.Roots`.

    A protocol, not an import: paths.py imports this module (for the advice when a
    build folder cannot be made), and the project keeps its imports free of cycles.
    """

    raw: Path
    build: Path
    default_raw: Path
    default_build: Path


def _as_typed(path: str, name: str) -> str:
    """``name`` when PATH finds this very file under it, else its absolute path.

    Not a relative path: doit changes into the folder of ``dodo.py`` (``doit -f``), so
    this process's working folder need not be the user's.
    """
    found = shutil.which(name)
    if found and os.path.abspath(found) == os.path.abspath(path):
        return name
    return shlex.quote(os.path.abspath(path))


def python_program() -> str:
    """This interpreter as the user would type it.

    Returns
    -------
    str
        ``python`` when that name on PATH is this interpreter, else its absolute path
        (``/home/me/lipon/.venv/bin/python``), quoted for a shell.
    """
    return _as_typed(sys.executable, "python")


def doit_program(argv: list[str] | None = None) -> str:
    """How this user starts doit: ``doit``, ``.venv/bin/doit`` or ``.venv/bin/python -m doit``.

    Parameters
    ----------
    argv
        The process's command line; None means ``sys.argv``.

    Returns
    -------
    str
        The program words; plain ``doit`` outside doit (a test, a library call).
    """
    argv = sys.argv if argv is None else argv
    first = Path(argv[0]) if argv and argv[0] else None
    if first is not None and first.name == "__main__.py" and first.parent.name == "doit":
        return f"{python_program()} -m doit"
    if first is not None and first.name == "doit" and first.is_file():
        return _as_typed(str(first), "doit")
    return "doit"


def doit(*words: str, roots: Roots | None = None, build: str | None = None) -> str:
    """A doit command line for this build: the task words, then ``raw=`` and ``build=``
    wherever they differ from the project's defaults.

    Parameters
    ----------
    words
        The task and its variables (``"accept"``, ``"validate"``).
    roots
        The build's roots; None for a command about the default build.
    build
        A build folder to show instead of the roots' (``"OTHER_DIR"`` to suggest
        building elsewhere).

    Returns
    -------
    str
        For example ``/home/me/lipon/.venv/bin/python -m doit accept raw=/data/mine build=/tmp/b``.
    """
    parts = [doit_program(), *words]
    if roots is not None and roots.raw != roots.default_raw:
        parts.append("raw=" + shlex.quote(str(roots.raw)))
    if build is not None:
        parts.append(f"build={build}")
    elif roots is not None and roots.build != roots.default_build:
        parts.append("build=" + shlex.quote(str(roots.build)))
    return " ".join(parts)


def build_elsewhere(roots: Roots | None) -> str:
    """The advice to build into another folder, with the command spelled as the user runs doit.

    Parameters
    ----------
    roots
        The refused build's roots (their ``raw=`` is kept); None for the default build.

    Returns
    -------
    str
        ``"build elsewhere with `... -m doit build=OTHER_DIR`"``.
    """
    return f"build elsewhere with `{doit(roots=roots, build='OTHER_DIR')}`"


def module(name: str, *args: str | Path) -> str:
    """A ``python -m`` command line with this interpreter, e.g. the report of one build folder.

    Parameters
    ----------
    name
        The module (``"paperbuild.report"``).
    args
        Its arguments, each quoted for a shell.

    Returns
    -------
    str
        The command line.
    """
    return " ".join([python_program(), "-m", name, *(shlex.quote(str(a)) for a in args)])

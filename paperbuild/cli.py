"""One shape for every command-line entry point: real ``--help``, one-line errors.

A user's mistake at a command line (a missing argument, a folder that is not there, a
malformed file) ends in one line naming the program and the file, never in a traceback
or a two-line argparse usage dump; ``--help`` names the program as it is typed and ends
with examples.  Bugs still raise with their traceback.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from paperbuild.errors import BuildError


class Parser(argparse.ArgumentParser):
    """An argument parser whose help shows how the program is typed and examples of its use.

    Parameters
    ----------
    prog
        The command as typed, e.g. ``"python -m paperbuild.numdiff"``.
    description
        What the program does, with what its arguments may be (kept as written).
    examples
        Command lines shown at the end of ``--help``, each optionally followed by
        ``"   # what it does"``.
    """

    def __init__(self, prog: str, description: str, examples: Sequence[str]) -> None:
        super().__init__(prog=prog, description=description,
                         epilog="examples:\n" + "\n".join(f"  {e}" for e in examples),
                         formatter_class=argparse.RawDescriptionHelpFormatter)

    @property
    def name(self) -> str:
        """The name messages start with: the module as typed (``paperbuild.numdiff``), or the script."""
        return self.prog.split()[-1]

    def error(self, message: str) -> None:  # argparse's hook for bad arguments
        self.exit(2, f"{self.name}: error: {message} (`{self.prog} --help` lists the arguments)\n")


def run(parser: Parser, work: Callable[[argparse.Namespace], int], argv: Sequence[str] | None = None,
        refused: int = 1) -> int:
    """Parse the arguments and do the work, turning a user's mistake into one line on stderr.

    Parameters
    ----------
    parser
        The program's parser.
    work
        Does the program's job with the parsed arguments; returns the exit status.
    argv
        The arguments after the program name; None means ``sys.argv[1:]``.
    refused
        The status for a refused input (a :class:`~paperbuild.errors.BuildError`, or a
        file that cannot be read or written), where a program gives 1 another meaning.

    Returns
    -------
    int
        ``work``'s status; ``refused`` for a refused input; 2 for bad arguments (from
        argparse); 130 when interrupted.
    """
    args = parser.parse_args(argv)
    try:
        return work(args)
    except BuildError as err:
        message = str(err)
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        message = f"{where}{err.strerror or err}"
    except KeyboardInterrupt:
        print(f"{parser.name}: interrupted", file=sys.stderr)
        return 130
    print(f"{parser.name}: error: {message}", file=sys.stderr)
    return refused

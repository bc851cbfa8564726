"""One style of progress line for every long step, command and benchmark.

    hrtem: [ 3/10] region_03.tif
    validate: [ 5/12] seed 5 in 41 s
    benchmark: [2/8] no-op (median of 5)

A line per unit of work, numbered against the total, plain text so it reads the same in
a terminal, a CI log and a redirected file.  Lines printed under a doit task are indented
two spaces like the task's other lines.
"""
from __future__ import annotations

UNDER_TASK = "  "  # the indent of every line a doit task prints


def line(label: str, done: int, total: int, what: str, indent: str = "") -> str:
    """One progress line, the count right-aligned so a column of lines lines up.

    Parameters
    ----------
    label
        Who is working (``"hrtem"``, ``"validate"``).
    done, total
        This unit's number, from 1, and how many there are.
    what
        The unit (a file name, a seed and its time).
    indent
        :data:`UNDER_TASK` for a line printed under a doit task.

    Returns
    -------
    str
        ``"label: [ 3/10] what"``.
    """
    return f"{indent}{label}: [{done:>{len(str(total))}}/{total}] {what}"


def show(label: str, done: int, total: int, what: str, indent: str = "") -> None:
    """Print one progress line at once (flushed, so it shows while the work goes on).

    Parameters
    ----------
    label, done, total, what, indent
        As for :func:`line`.
    """
    print(line(label, done, total, what, indent), flush=True)

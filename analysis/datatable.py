"""The CSV tables analysis steps hand to figure steps: one writer, one reader.

A table is a header line of column names (units in the names, ``ce_pct``,
``depth_nm``) followed by comma-separated rows.  Writing through one function keeps
every table in the same dialect, and reading through one keeps figure steps from
guessing it.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np


def write_array(path: Path, columns: Sequence[str] | str, table: np.ndarray, fmt: str | Sequence[str] = "%.9g") -> None:
    """Write a numeric table in the one CSV dialect :func:`read` parses back.

    Parameters
    ----------
    path
        Output file (a declared output of the step).
    columns
        Column names, or one comma-separated header string.
    table
        2-D array (rows x columns), or 1-D for a single column.
    fmt
        ``numpy.savetxt`` format: one for all columns, or one per column.  Choose the
        digits from the precision the figure needs, so unchanged results stay
        byte-identical.
    """
    header = columns if isinstance(columns, str) else ",".join(columns)
    np.savetxt(path, np.asarray(table), delimiter=",", header=header, comments="", fmt=fmt)


def write_rows(path: Path, columns: Sequence[str] | str, rows: Iterable[Sequence[object]], row_format: str) -> None:
    """Write a table whose columns mix text and numbers, in the same dialect as :func:`write_array`.

    Parameters
    ----------
    path
        Output file (a declared output of the step).
    columns
        Column names, or one comma-separated header string.
    rows
        The rows, each a sequence of values.
    row_format
        A ``str.format`` pattern for one row, e.g. ``"{},{:.4f}"``.
    """
    header = columns if isinstance(columns, str) else ",".join(columns)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(header + "\n")
        handle.writelines(row_format.format(*row) + "\n" for row in rows)


def read(path: Path) -> np.ndarray:
    """Read a table of :func:`write_array` or :func:`write_rows`, columns addressed by name.

    Parameters
    ----------
    path
        The table (a declared input of the step).

    Returns
    -------
    numpy.ndarray
        Structured array with one field per column name.
    """
    return np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding="utf-8")

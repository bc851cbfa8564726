"""Which quoted numbers changed between two builds or two git revisions.

    python -m paperbuild.numdiff BEFORE AFTER [--markdown] [--all]

BEFORE and AFTER are each a ``numbers.json``, a build folder holding one, a ledger
file, or ``git:REV`` (the numbers accepted in ``paper/ledger.yaml`` at that revision).
Prints one table (key, before, after, difference, tolerance, status) and exits 1 when a
number moved outside its tolerance, changed its unit or its printed text (by the drift
check's rule), or disappeared, so CI can use it on pull requests.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paperbuild.errors import BuildError
from paperbuild.paths import PROJECT_ROOT as PROJECT


def load_side(spec: str, project: Path = PROJECT) -> dict[str, dict[str, Any]]:
    """Bring any side of a comparison to one shape, whether a build, a ledger or a past revision.

    Parameters
    ----------
    spec
        A ``numbers.json``, a build folder holding one, a ledger (``.yaml``/``.yml``,
        whose locks are read), or ``git:REV`` (``paper/ledger.yaml`` at that revision).
    project
        The git checkout ``git:REV`` is read from.

    Returns
    -------
    dict
        Key -> ``{"value": ..., "text": ..., "unit": ...}``.

    Raises
    ------
    BuildError
        The revision or file cannot be read, or is not a numbers file or ledger
        (a malformed ledger raises :class:`~paperbuild.errors.LedgerError`, a
        revision that is not a commit, or starts with ``-``, is refused before git
        reads anything).
    """
    from paperbuild.ledger import load_ledger, lock_of, parse_ledger

    def locks(ledger: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        return {key: lock_of(entry) for key, entry in ledger.items()}

    if spec.startswith("git:"):
        commit = verify_revision(spec[4:], project)
        source = f"{spec}:paper/ledger.yaml"
        shown = _git(project, "show", "--end-of-options", f"{commit}:paper/ledger.yaml")
        if shown.returncode != 0:
            raise BuildError(f"{source}: cannot read it at that revision ({shown.stderr.strip()})")
        return locks(parse_ledger(shown.stdout, source))
    path = Path(spec)
    if path.is_dir():
        path = path / "numbers.json"
    if not path.is_file():
        raise BuildError(f"{path}: no such numbers file, build folder or ledger")
    if path.suffix in (".yaml", ".yml"):
        return locks(load_ledger(path))
    return _numbers_side(path)


def _numbers_side(path: Path) -> dict[str, dict[str, Any]]:
    import json

    try:
        numbers = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BuildError(f"{path}: not a numbers file ({err})") from None
    if not isinstance(numbers, dict):
        raise BuildError(f"{path}: not a numbers file (expected a mapping of number keys)")
    side = {}
    for key, record in numbers.items():
        missing = [f for f in ("value", "unit", "text") if not isinstance(record, dict) or f not in record]
        if missing:
            raise BuildError(f"{path}: {key} lacks {', '.join(missing)}")
        side[key] = {"value": record["value"], "text": record["text"], "unit": record["unit"]}
    return side


def _git(project: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True)
    except OSError as err:
        raise BuildError(f"cannot run git in {project} ({err.strerror or err})") from None


def verify_revision(revision: str, project: Path = PROJECT) -> str:
    """The commit a ``git:REV`` names, checked before git is asked for any file.

    A revision starting with ``-`` is refused outright (git would read it as an
    option); otherwise ``git rev-parse --verify --quiet --end-of-options REV^{commit}``
    must name a commit.  (``rev-parse --verify`` does not accept ``--`` before the
    revision; ``--end-of-options`` is its way of saying the same.)

    Parameters
    ----------
    revision
        What followed ``git:`` on the command line.
    project
        The git checkout.

    Returns
    -------
    str
        The commit's full hash.

    Raises
    ------
    BuildError
        The revision is empty, starts with ``-``, or is not a commit of ``project``.
    """
    spec = f"git:{revision}"
    if not revision:
        raise BuildError(f"{spec}: no revision given (write e.g. git:HEAD or git:main)")
    if revision.startswith("-"):
        raise BuildError(f"{spec}: not a git revision (it starts with '-')")
    done = _git(project, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}")
    commit = done.stdout.strip()
    if done.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40,64}", commit):
        reason = done.stderr.strip().splitlines()[-1:] if done.stderr.strip() else []
        raise BuildError(f"{spec}: not a commit in {project}" + (f" ({reason[0]})" if reason else ""))
    return commit


def diff_rows(before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]],
              tolerances: Mapping[str, float], show_all: bool = False) -> list[dict[str, str]]:
    """Classify each key's change, so a reviewer sees which quoted numbers moved and how far.

    Value, unit and printed text are compared by the drift check's own rule
    (:func:`paperbuild.ledger.compare`), with ``before`` as the reference.

    Parameters
    ----------
    before, after
        The two sides (:func:`load_side`).
    tolerances
        Key -> ledger tolerance; a key without one must agree exactly.
    show_all
        List unchanged keys too.

    Returns
    -------
    list of dict
        One row per key whose printed text changed, that moved outside its tolerance,
        changed its unit, or was added or removed (every key with ``show_all``):
        ``key``, ``before``, ``after``, ``difference``, ``tolerance`` and ``status``
        (``same``, ``within tolerance``, ``OUTSIDE tolerance``, ``unit changed``,
        ``text changed``, ``added``, ``removed``) as text, sorted by key.
    """
    from paperbuild.ledger import compare

    rows = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        tolerance = tolerances.get(key)
        if old is None or new is None:
            state, difference = ("added" if old is None else "removed"), "-"
        else:
            result = compare(new, old, tolerance or 0)
            difference = result.describe()
            if not result.agrees:
                state = "OUTSIDE tolerance"
            elif result.unit:
                state = "unit changed"
            elif result.text:
                state = "text changed"
            elif str(old["text"]) == str(new["text"]):
                state = "same"  # equal as printed (locks keep a few more digits than the text)
            else:
                state = "within tolerance"
        if state == "same" and not show_all:
            continue
        rows.append({"key": key, "before": str(old["text"]) if old else "-", "after": str(new["text"]) if new else "-",
                     "difference": difference or "-", "tolerance": "-" if tolerance is None else str(tolerance),
                     "status": state})
    return rows


FAILING = ("OUTSIDE tolerance", "unit changed", "text changed", "removed")


def render(rows: list[dict[str, str]], markdown: bool) -> str:
    """Lay out the change rows for where they are read: a terminal or a CI job summary.

    Parameters
    ----------
    rows
        Rows of :func:`diff_rows`.
    markdown
        A Markdown table (``|`` in cells escaped) instead of fixed-width columns.

    Returns
    -------
    str
        The table with its header.
    """
    columns = ["key", "before", "after", "difference", "tolerance", "status"]
    if markdown:
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(r[c].replace("|", "\\|") for c in columns) + " |" for r in rows]
        return "\n".join(lines)
    widths = {c: max([len(c)] + [len(r[c]) for r in rows]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns), "  ".join("-" * widths[c] for c in columns)]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m paperbuild.numdiff BEFORE AFTER``: an exit status CI can gate pull requests on.

    Parameters
    ----------
    argv
        The arguments after the program name; None means ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 when every number stayed within tolerance, 1 when one moved
        outside it, changed unit or printed text, or disappeared, 2 when a side or the
        ledger cannot be read.
    """
    from paperbuild.cli import Parser, run

    parser = Parser("python -m paperbuild.numdiff", DESCRIPTION, EXAMPLES)
    side = ("a build folder (its numbers.json), a numbers.json file, a ledger (.yaml: its locked values) "
            "or git:REV (paper/ledger.yaml at that git revision)")
    parser.add_argument("before", metavar="BEFORE", help=f"the reference: {side}")
    parser.add_argument("after", metavar="AFTER", help="the same kinds as BEFORE")
    parser.add_argument("--ledger", type=Path, default=PROJECT / "paper" / "ledger.yaml", metavar="FILE",
                        help="where the tolerances come from (default: paper/ledger.yaml of this checkout)")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table (for a CI job summary)")
    parser.add_argument("--all", action="store_true", help="list unchanged numbers too")
    return run(parser, compare, argv, refused=2)


DESCRIPTION = """\
Which quoted numbers changed between two builds, ledgers or git revisions, and by how much.

Prints one table (key, before, after, difference, tolerance, status). Exit status: 0 when
every number stayed within its tolerance, 1 when one moved outside it, changed its unit or
printed text, or disappeared (so CI can gate on it), 2 when a side cannot be read."""

EXAMPLES = [
    "python -m paperbuild.numdiff paper/ledger.yaml build          # this build against the accepted locks",
    "python -m paperbuild.numdiff build /tmp/other-build            # two builds",
    "python -m paperbuild.numdiff git:HEAD~3 git:HEAD               # what was accepted in three commits",
    "python -m paperbuild.numdiff git:origin/main build --markdown  # a pull request's job summary",
]


def compare(args: argparse.Namespace) -> int:
    """Print the table for two parsed sides and give the exit status CI gates on.

    Parameters
    ----------
    args
        ``before``, ``after``, ``ledger``, ``markdown`` and ``all`` from the command line.

    Returns
    -------
    int
        0 when every number stayed within tolerance, 1 otherwise.
    """
    from paperbuild.ledger import load_ledger

    before, after = load_side(args.before), load_side(args.after)
    tolerances = {k: v["tolerance"] for k, v in load_ledger(args.ledger).items()}
    rows = diff_rows(before, after, tolerances, args.all)
    title = f"Numbers changed from {args.before} to {args.after}"
    if args.markdown:
        print(f"### {title}\n")
    print(render(rows, args.markdown) if rows else "No quoted number changed.")
    outside = sum(r["status"] in FAILING for r in rows)
    if outside:
        print(f"\n{outside} number(s) moved outside tolerance, changed unit or printed text, or disappeared.",
              file=sys.stderr)
    return 1 if outside else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Which quoted numbers changed between two builds or two git revisions.

    python -m paperbuild.numdiff BEFORE AFTER [--markdown] [--all]

BEFORE and AFTER are each a ``numbers.json``, a build folder holding one, a ledger
file, or ``git:REV`` (the numbers accepted in ``paper/ledger.yaml`` at that revision).
Prints one table (key, before, after, difference, tolerance, status) and exits 1 when a
number moved outside its tolerance, so CI can use it on pull requests.
"""
from __future__ import annotations

import argparse
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
        Key -> ``{"value": ..., "text": ...}``.

    Raises
    ------
    BuildError
        The revision or file cannot be read, or is not a numbers file or ledger
        (a malformed ledger raises :class:`~paperbuild.errors.LedgerError`).
    """
    import json

    import yaml

    from paperbuild.ledger import load_ledger

    def locks(ledger: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        return {k: {"value": v["locked"], "text": v.get("text", v["locked"])} for k, v in ledger.items()}

    if spec.startswith("git:"):
        revision = spec[4:]
        done = subprocess.run(["git", "show", f"{revision}:paper/ledger.yaml"], cwd=project, capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise BuildError(f"{spec}: cannot read paper/ledger.yaml at that revision ({done.stderr.strip()})")
        return locks(yaml.safe_load(done.stdout) or {})
    path = Path(spec)
    if path.is_dir():
        path = path / "numbers.json"
    if not path.is_file():
        raise BuildError(f"{path}: no such numbers file, build folder or ledger")
    if path.suffix in (".yaml", ".yml"):
        return locks(load_ledger(path))
    try:
        numbers = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise BuildError(f"{path}: not a numbers file ({err})") from None
    return {k: {"value": v["value"], "text": v["text"]} for k, v in numbers.items()}


def diff_rows(before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]],
              tolerances: Mapping[str, float], show_all: bool = False) -> list[dict[str, str]]:
    """Classify each key's change, so a reviewer sees which quoted numbers moved and how far.

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
        or was added or removed (every key with ``show_all``): ``key``, ``before``,
        ``after``, ``difference``, ``tolerance`` and ``status`` as text, sorted by key.
    """
    from paperbuild.numbers import agree

    rows = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        tolerance = tolerances.get(key)
        if old is None or new is None:
            state, difference = ("added" if old is None else "removed"), "-"
        else:
            agrees, difference = agree(new["value"], old["value"], float(tolerance or 0.0))
            drifted = not agrees
            if not drifted and str(old["text"]) == str(new["text"]):
                state = "same"  # equal as printed (locks keep a few more digits than the text)
            else:
                state = "OUTSIDE tolerance" if drifted else "within tolerance"
        if state == "same" and not show_all:
            continue
        rows.append({"key": key, "before": str(old["text"]) if old else "-", "after": str(new["text"]) if new else "-",
                     "difference": difference or "-", "tolerance": "-" if tolerance is None else str(tolerance),
                     "status": state})
    return rows


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
        outside it or disappeared, 2 when a side or the ledger cannot be read.
    """
    from paperbuild.ledger import load_ledger

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--ledger", type=Path, default=PROJECT / "paper" / "ledger.yaml",
                        help="where the tolerances come from (default: the working tree's ledger)")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table (for a CI job summary)")
    parser.add_argument("--all", action="store_true", help="list unchanged numbers too")
    args = parser.parse_args(argv)
    try:
        before, after = load_side(args.before), load_side(args.after)
        tolerances = {k: v["tolerance"] for k, v in load_ledger(args.ledger).items()}
    except BuildError as err:
        print(f"numdiff: {err}", file=sys.stderr)
        return 2
    rows = diff_rows(before, after, tolerances, args.all)
    title = f"Numbers changed from {args.before} to {args.after}"
    if args.markdown:
        print(f"### {title}\n")
    print(render(rows, args.markdown) if rows else "No quoted number changed.")
    outside = sum(r["status"] in ("OUTSIDE tolerance", "removed") for r in rows)
    if outside:
        print(f"\n{outside} number(s) moved outside tolerance or disappeared.", file=sys.stderr)
    return 1 if outside else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The reproduction report: a CODECHECK-style certificate of one build.

``python -m paperbuild.report --build DIR`` (or the ``report`` task of ``doit``) writes
``DIR/reproduction/report.md`` and a self-contained ``report.html``: the environment,
the git state, every raw file with its verified hash, every quoted number against the
paper and the ledger, every figure with the step and inputs that made it, and the time
each step took.  It reads only files the build wrote, so it can be regenerated offline.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from paperbuild import atomic
from paperbuild.errors import BuildError
from paperbuild.paths import PROJECT_ROOT, Roots
from paperbuild.numbers import agree

REPRODUCED = "reproduced"
WITHIN_ROUNDING = "differs, within rounding of inputs"
DIFFERS = "differs"
NEW = "new (not in the paper)"
RENDERER_LIBRARIES = ("doit", "pypandoc_binary", "typst")


# ------------------------------------------------------------------ pure
def status(computed: Any, entry: Mapping[str, Any], numbers: Mapping[str, Mapping[str, Any]]) -> str:
    """Judge a computed value against the published one, the report's verdict on reproduction.

    Parameters
    ----------
    computed
        The value this build computed.
    entry
        The number's ledger entry (``published``, ``tolerance``, ``inputs_range``).
    numbers
        All of the build's numbers, for the range number ``inputs_range`` names.

    Returns
    -------
    str
        ``REPRODUCED`` within the tolerance of the published value;
        ``WITHIN_ROUNDING`` when the published value lies in the range the rounding
        of the inputs allows; ``NEW`` when the paper gives no value; else ``DIFFERS``.
    """
    published = entry.get("published")
    if published is None:
        return NEW
    if agree(computed, published, entry.get("tolerance", 0))[0]:
        return REPRODUCED
    range_key = entry.get("inputs_range")
    if range_key and range_key in numbers:
        low, high = numbers[range_key]["value"]
        if low <= float(published) <= high:
            return WITHIN_ROUNDING
    return DIFFERS


def locked_status(computed: Any, entry: Mapping[str, Any]) -> str:
    """Show in the report whether a number still matches its lock, even after a drift stop.

    Parameters
    ----------
    computed
        The value this build computed.
    entry
        The number's ledger entry (``locked``, ``tolerance``).

    Returns
    -------
    str
        ``"matches lock"`` or ``"DRIFTED"``.
    """
    return "matches lock" if agree(computed, entry["locked"], entry.get("tolerance", 0))[0] else "DRIFTED"


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    return str(value).replace("|", "\\|")


def number_rows(numbers: Mapping[str, Mapping[str, Any]], ledger: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    """Account for every quoted number, computed or only in the ledger, in the report's tables.

    Parameters
    ----------
    numbers
        The build's numbers (``numbers.json`` records).
    ledger
        The ledger's entries.

    Returns
    -------
    list of dict
        One row per key of either, sorted: ``key``, ``published``, ``reproduced``,
        ``locked``, ``tolerance``, ``status`` (:func:`status`, or ``"missing"``),
        ``lock`` (:func:`locked_status`, or ``"not locked"``), ``step`` and
        ``derived from``, all as Markdown-ready text.
    """
    rows = []
    for key in sorted(set(numbers) | set(ledger)):
        num, entry = numbers.get(key), ledger.get(key, {})
        rows.append({
            "key": key,
            "published": _cell(entry.get("published")),
            "reproduced": num["text"] if num else "(not computed)",
            "locked": _cell(entry.get("text", entry.get("locked"))),
            "tolerance": _cell(entry.get("tolerance")),
            "status": status(num["value"], entry, numbers) if num else "missing",
            "lock": locked_status(num["value"], entry) if num and entry else "not locked",
            "step": num["step"] if num else "–",
            "derived from": ", ".join(f"`{name}`" for name in num.get("inputs", {})) if num else "–",
        })
    return rows


def table(rows: Iterable[Mapping[str, str]], columns: list[str]) -> list[str]:
    """Lay out report rows as a Markdown table, choosing which columns a section shows.

    Parameters
    ----------
    rows
        Rows holding at least ``columns``; cells are used as they are (escape ``|``
        beforehand).
    columns
        The columns, in order.

    Returns
    -------
    list of str
        The table's lines: header, rule, one line per row.
    """
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    return lines


# ------------------------------------------------------------------ gathering
def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def environment(libraries: Iterable[str]) -> list[dict[str, str]]:
    """Record the software the results depend on, so a version effect can be told from a bug.

    Parameters
    ----------
    libraries
        Distribution names to list.

    Returns
    -------
    list of dict
        Rows with ``item`` and ``version``: Python, the platform, then each library
        by name (``"absent"`` when not installed).
    """
    from paperbuild.step import library_versions

    rows = [{"item": "Python", "version": sys.version.split()[0]},
            {"item": "platform", "version": platform.platform()}]
    rows += [{"item": name, "version": version} for name, version in sorted(library_versions(tuple(libraries)).items())]
    return rows


def _thumbnail(figure: Path, folder: Path) -> Path:
    """SVGs are small and stay as they are; PNGs are shrunk so the report stays light."""
    if figure.suffix != ".png":
        return figure
    from PIL import Image

    target = folder / figure.name
    with Image.open(figure) as picture:
        picture.thumbnail((picture.width // 4, picture.height // 4))
        picture.save(target)
    return target


def write_report(roots: Roots, renderer_libraries: Iterable[str] = RENDERER_LIBRARIES) -> tuple[Path, Path]:
    """Certify one build for a reviewer in a single self-contained file (plus its Markdown source).

    Everything comes from files the build wrote (numbers, step records, the raw-tree
    stamp) and the ledger, so the report needs no registry and can be rewritten offline.

    Parameters
    ----------
    roots
        The build's raw tree, build folder and project.
    renderer_libraries
        Distributions used outside the steps (listed in the environment table besides
        the libraries each step record names).

    Returns
    -------
    tuple of Path
        The Markdown and HTML reports.

    Raises
    ------
    BuildError
        A file the report needs is missing or malformed.
    """
    from paperbuild.ledger import load_ledger
    from paperbuild.numbers import load

    build, project, out = roots.build, roots.project, roots.reproduction
    numbers = load(roots.numbers)
    ledger = load_ledger(roots.ledger)
    if not roots.raw_verified.is_file():
        raise BuildError(f"{roots.raw_verified}: missing; run the build (doit) before the report")
    verified = json.loads(roots.raw_verified.read_text(encoding="utf-8"))
    records = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted((build / "steps").glob("*.json"))}
    libraries = sorted({lib for r in records.values() for lib in r.get("libraries", {})} | set(renderer_libraries))
    commit = _git(project, "rev-parse", "HEAD")
    dirty = _git(project, "status", "--porcelain")
    rows = number_rows(numbers, ledger)
    counts = {s: sum(r["status"] == s for r in rows) for s in (REPRODUCED, WITHIN_ROUNDING, DIFFERS, NEW, "missing")}
    drifted = sum(r["lock"] == "DRIFTED" for r in rows)

    thumbs = out / "thumbnails"
    thumbs.mkdir(parents=True, exist_ok=True)
    figure_rows = []
    for record in records.values():
        for rel in record.get("outputs", []):
            if not rel.startswith("figures/") or not (build / rel).is_file():
                continue
            inputs = ", ".join(f"`{name}` ({digest[:10]})" for name, digest in record.get("inputs", {}).items())
            thumb = _thumbnail(build / rel, thumbs)
            figure_rows.append({"figure": f"![]({Path('..') / thumb.relative_to(build)}){{width=220px}}",
                                "file": f"`{rel}`", "step": f"{record['step']} (`{record['source']}`)",
                                "inputs": inputs or "–"})
    timing_rows = [{"task": r["step"], "seconds": f"{r['seconds']:.2f}"} for r in records.values()]
    raw_rows = [{"file": f"`{name}`", "sha256": f"`{digest}`"} for name, digest in sorted(verified["files"].items())]

    lines = [
        "---", "title: Reproduction report", "---", "",
        "> **The raw data is a synthetic stand-in.** The original authors released no data. Every raw file was "
        "written by the synthetic instrument in `data/synth/` of this repository from the ground truth in "
        "`data/synth/truth.yaml`; the analyses never read that truth. This report certifies that the analysis "
        "reproduces the paper's numbers from such files, not that the experiment was repeated.", "",
        "## Summary", "",
        f"- Commit: `{commit or 'not a git checkout'}`"
        + ("" if commit is None else (" (working tree clean)" if not dirty else " (**working tree has uncommitted changes**)")),
        f"- Raw tree: `{verified['raw']}`, {len(verified['files'])} files, all matching `MANIFEST.sha256`",
        f"- Numbers: {len(rows)} keys; {counts[REPRODUCED]} {REPRODUCED}, {counts[WITHIN_ROUNDING]} {WITHIN_ROUNDING}, "
        f"{counts[DIFFERS]} {DIFFERS}, {counts[NEW]} {NEW}, {counts['missing']} missing; "
        f"{drifted} outside their lock in `paper/ledger.yaml`",
        f"- Figures: {len(figure_rows)}", "",
        "## Numbers", "",
        "Published: the value in the original article; reproduced: this build; locked: the accepted value in the "
        "ledger. A value is reproduced when it lies within the tolerance of the published one.", "",
        *table(rows, ["key", "published", "reproduced", "locked", "tolerance", "status", "lock", "step"]), "",
        "## Where each number comes from", "",
        "The inputs each number was derived from (a subset of its step's inputs), as recorded in `numbers.json`.", "",
        *table(rows, ["key", "step", "derived from"]), "",
        "## Figures", "",
        *table(figure_rows, ["figure", "file", "step", "inputs"]), "",
        "## Environment", "",
        *table(environment(libraries), ["item", "version"]), "",
        "## Time per task (last run)", "",
        *table(timing_rows, ["task", "seconds"]), "",
        "## Raw files (verified)", "",
        *table(raw_rows, ["file", "sha256"]), "",
    ]
    md = out / "report.md"
    atomic.write_text(md, "\n".join(lines))
    html = out / "report.html"
    _to_html(md, html)
    return md, html


def _to_html(md: Path, html: Path) -> None:
    """Self-contained HTML (figures embedded) by pandoc, so the report travels as one file."""
    import pypandoc

    staged = html.with_suffix(".tmp.html")
    pypandoc.convert_file(str(md), "html", format="markdown", outputfile=str(staged),
                          extra_args=["--standalone", "--embed-resources", f"--resource-path={md.parent}",
                                      "--metadata=lang:en"])
    staged.replace(html)


def main(argv: list[str] | None = None) -> int:
    """``python -m paperbuild.report``: rewrite the report of a build folder, e.g. after a drift stop.

    Parameters
    ----------
    argv
        The arguments after the program name; None means ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 when the report was written, 1 when a file it needs is
        missing or malformed (the message goes to stderr).
    """
    parser = argparse.ArgumentParser(prog="python -m paperbuild.report", description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=PROJECT_ROOT / "build", help="build folder (default: build/)")
    parser.add_argument("--raw", type=Path, default=PROJECT_ROOT / "data" / "raw",
                        help="raw tree the build read (default: data/raw)")
    args = parser.parse_args(argv)
    try:
        md, html = write_report(Roots(raw=args.raw, build=args.build))
    except BuildError as err:
        print(f"report: {err}", file=sys.stderr)
        return 1
    print(f"reproduction report -> {html} (and {md.name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

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

REPRODUCED = "reproduced"
WITHIN_ROUNDING = "differs, within rounding of inputs"
DIFFERS = "differs"
NEW = "new (not in the paper)"


# ------------------------------------------------------------------ pure
def _close(computed: Any, published: Any, tolerance: float) -> bool:
    if isinstance(published, list) or isinstance(computed, list):
        return (isinstance(published, list) and isinstance(computed, list) and len(published) == len(computed)
                and all(_close(c, p, tolerance) for c, p in zip(computed, published)))
    if isinstance(published, (bool, str)) or isinstance(computed, (bool, str)):
        return computed == published
    return math.isclose(float(computed), float(published), abs_tol=float(tolerance) + 1e-9)


def status(computed: Any, entry: Mapping[str, Any], numbers: Mapping[str, Mapping[str, Any]]) -> str:
    """How a computed value compares with the paper's: reproduced, within the rounding of
    the inputs (when the ledger names a range number), differs, or new."""
    published = entry.get("published")
    if published is None:
        return NEW
    if _close(computed, published, entry.get("tolerance", 0)):
        return REPRODUCED
    range_key = entry.get("inputs_range")
    if range_key and range_key in numbers:
        low, high = numbers[range_key]["value"]
        if low <= float(published) <= high:
            return WITHIN_ROUNDING
    return DIFFERS


def locked_status(computed: Any, entry: Mapping[str, Any]) -> str:
    return "matches lock" if _close(computed, entry["locked"], entry.get("tolerance", 0)) else "DRIFTED"


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    return str(value).replace("|", "\\|")


def number_rows(numbers: Mapping[str, Mapping[str, Any]], ledger: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
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
        })
    return rows


def table(rows: Iterable[Mapping[str, str]], columns: list[str]) -> list[str]:
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


def write_report(build: Path, raw: Path, project: Path, ledger_path: Path, steps: Iterable[Any],
                 libraries: Iterable[str]) -> tuple[Path, Path]:
    """Write report.md and report.html into ``build/reproduction``; return their paths."""
    from paperbuild.ledger import load_ledger
    from paperbuild.numbers import load

    build, out = Path(build), Path(build) / "reproduction"
    numbers = load(build / "numbers.json")
    ledger = load_ledger(ledger_path)
    verified = json.loads((build / "raw_verified.json").read_text(encoding="utf-8"))
    records = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted((build / "steps").glob("*.json"))}
    commit = _git(project, "rev-parse", "HEAD")
    dirty = _git(project, "status", "--porcelain")
    rows = number_rows(numbers, ledger)
    counts = {s: sum(r["status"] == s for r in rows) for s in (REPRODUCED, WITHIN_ROUNDING, DIFFERS, NEW, "missing")}
    drifted = sum(r["lock"] == "DRIFTED" for r in rows)

    thumbs = out / "thumbnails"
    thumbs.mkdir(parents=True, exist_ok=True)
    figure_rows = []
    for step in steps:
        for rel in step.writes:
            if not rel.startswith("figures/") or not (build / rel).is_file():
                continue
            record = records.get(step.name, {})
            inputs = ", ".join(f"`{name}` ({digest[:10]})" for name, digest in record.get("inputs", {}).items())
            thumb = _thumbnail(build / rel, thumbs)
            figure_rows.append({"figure": f"![]({Path('..') / thumb.relative_to(build)}){{width=220px}}",
                                "file": f"`{rel}`", "step": f"{step.name} (`{record.get('source', step.module)}`)",
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
    from paperbuild.actions import report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--build", type=Path, default=root / "build")
    parser.add_argument("--raw", type=Path, default=root / "data" / "raw")
    args = parser.parse_args(argv)
    failed = report(args.build.resolve(), args.raw.resolve(), root, root / "paper" / "ledger.yaml")
    if failed is not None:
        print(failed.message if hasattr(failed, "message") else failed, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

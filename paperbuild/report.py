"""The reproduction report: a CODECHECK-style certificate of one build.

``python -m paperbuild.report --build DIR`` (or the ``report`` task of ``doit``) writes
``DIR/reproduction/report.md`` and a self-contained ``report.html``: the environment,
the git state, every raw file with its verified hash, every quoted number against the
paper and the ledger, every figure with the step and inputs that made it, and the time
each step took.  It reads the files the build wrote and certifies only what it verifies
when it runs: it re-verifies the raw tree against its ``MANIFEST.sha256`` and compares
every number's (and figure's) recorded input hashes and code hash with the files and
code as they are now.  Anything that no longer matches is marked stale, the summary
says the build is NOT certified and why, and the command (or the doit task) fails.

Everything taken from files, paths or metadata is escaped before it enters the
Markdown (:func:`md_text`, :func:`md_code`), and pandoc reads that Markdown with raw
HTML switched off, so a file name can never become markup in ``report.html``.
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import shlex
import subprocess
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from paperbuild import atomic
from paperbuild.errors import BuildError, ManifestError
from paperbuild.numbers import agree
from paperbuild.paths import PROJECT_ROOT, Roots, default_build, default_raw

REPRODUCED = "reproduced"
WITHIN_ROUNDING = "within rounding of inputs"
DIFFERS = "differs"
INPUT = "input as published"
STATED = "stated in words"
NEW = "new (not in the paper)"
# every verdict :func:`status` gives, in the order the report's summary counts them
STATUSES = (REPRODUCED, WITHIN_ROUNDING, INPUT, DIFFERS, STATED, NEW)
RENDERER_LIBRARIES = ("doit", "pypandoc_binary", "typst")
CURRENT = "current"
STALE = "STALE"
# The Markdown dialect the report is written in: pandoc's, without raw HTML/TeX (a name
# that slipped past the escaping would still be text) and without smart punctuation
# (file names keep their quotes, dashes and dots exactly).
MARKDOWN_FORMAT = "markdown-raw_html-raw_tex-raw_attribute-smart"


# ------------------------------------------------------------------ escaping
_MARKDOWN_SPECIALS = set("\\`*{}[]<>|~^$@&")


def _visible(text: str) -> str:
    """Control and format characters (a newline in a file name) as ``\\uXXXX``, so a table row stays one line."""
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c
                   for c in str(text))


def md_text(text: Any) -> str:
    """Escape text from files or metadata so that pandoc prints it literally, never as markup.

    Every character with a meaning in pandoc's Markdown is backslash-escaped:
    backslash, backtick, ``*``, braces, brackets, angle brackets, ``|``, ``~``, ``^``,
    ``$``, ``@``, ``&``, and ``_`` except between letters or digits (where it cannot
    start emphasis, so keys like ``echem.ce_floor`` stay readable).  Read the result
    with :data:`MARKDOWN_FORMAT`.

    Parameters
    ----------
    text
        Any value; converted with ``str``.

    Returns
    -------
    str
        Markdown that renders as exactly ``text`` (control characters shown as
        ``\\uXXXX``), safe inside a pipe-table cell.
    """
    text = _visible(text)
    out = []
    for index, char in enumerate(text):
        if char == "_":
            before = text[index - 1] if index else ""
            after = text[index + 1] if index + 1 < len(text) else ""
            out.append("_" if before.isalnum() and after.isalnum() else "\\_")
        elif char in _MARKDOWN_SPECIALS:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def md_code(text: Any) -> str:
    """Wrap text from files or metadata in a code span that no backtick in it can close.

    The fence is one backtick longer than the longest run of backticks in the text,
    padded with a space where the text begins or ends with a backtick (CommonMark
    and pandoc strip that space).  Inside a code span nothing else is special, ``|``
    included (pandoc splits table cells around code spans).

    Parameters
    ----------
    text
        Any value; converted with ``str``.

    Returns
    -------
    str
        The code span, or ``"–"`` for empty text.
    """
    text = _visible(text)
    if not text:
        return "–"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# ------------------------------------------------------------------ pure
def status(computed: Any, entry: Mapping[str, Any], numbers: Mapping[str, Mapping[str, Any]],
           accuracy: float | None = None) -> str:
    """Judge a computed value against the published one, the report's verdict on reproduction.

    Parameters
    ----------
    computed
        The value this build computed.
    entry
        The number's ledger entry (``published``, ``published_text``, ``input``,
        ``tolerance``, ``inputs_range``).
    numbers
        All of the build's numbers, for the range number ``inputs_range`` names.
    accuracy
        The method's validated accuracy for this number (:func:`paperbuild.accuracy.bound`):
        how far a computed value may lie from the truth.  None for a number that is not
        derived from raw data (or not validated): then the ledger's drift tolerance
        stands in for it (zero for a deterministic computation from stated inputs).

    Returns
    -------
    str
        ``REPRODUCED`` when the published value lies within the accuracy (or, without
        one, the drift tolerance), plus half a unit of the published value's last printed
        digit (it was rounded), of the computed one; ``INPUT`` instead for a method input
        the rebuild takes from the paper (``input: true``); ``WITHIN_ROUNDING`` when the
        published value lies in the range the rounding of the inputs allows; ``STATED``
        when the paper states the quantity only in words (no ``published``, a
        ``published_text``); ``NEW`` when the paper does not state it; else ``DIFFERS``.
    """
    published = entry.get("published")
    if published is None:
        return STATED if entry.get("published_text") else NEW
    # the published value is itself rounded: "5 nm" stands for 4.5 to 5.5 nm
    spread = accuracy if accuracy is not None else entry.get("tolerance", 0)
    if agree(computed, published, spread + published_half_unit(entry))[0]:
        return INPUT if entry.get("input") else REPRODUCED
    range_key = entry.get("inputs_range")
    if range_key and range_key in numbers:
        low, high = numbers[range_key]["value"]
        if low <= float(published) <= high:
            return WITHIN_ROUNDING
    return DIFFERS


def published_half_unit(entry: Mapping[str, Any]) -> float:
    """Half a unit of the last digit the paper printed, from its printed text where the ledger has it.

    Parameters
    ----------
    entry
        The number's ledger entry: ``published`` and, optionally, ``published_text``
        (``"99.70 %"`` keeps the digit that the value 99.7 loses).

    Returns
    -------
    float
        As :func:`rounding_half_unit`, of the printed numerals when there are any.
    """
    from decimal import Decimal

    from paperbuild.ledger import published_numerals

    text = entry.get("published_text")
    numerals = published_numerals(text, entry.get("published")) if isinstance(text, str) else None
    if numerals:
        return max(0.5 * 10.0 ** min(int(Decimal(n).as_tuple().exponent), 0) for n in numerals)
    return rounding_half_unit(entry.get("published"))


def rounding_half_unit(published: Any) -> float:
    """Half a unit of the last digit the paper printed (the largest over a list).

    Parameters
    ----------
    published
        The published value as the ledger records it (an int, a float or a list).

    Returns
    -------
    float
        0.5 for an integer, 0.05 for one decimal, ...; 0 for a value that is not a number.
    """
    from decimal import Decimal

    if isinstance(published, list):
        return max((rounding_half_unit(v) for v in published), default=0.0)
    if isinstance(published, bool) or not isinstance(published, (int, float)):
        return 0.0
    exponent = Decimal(str(published)).normalize().as_tuple().exponent  # 76.4 -> -1; 5 and 500 -> 0 or above
    return 0.5 * 10.0 ** min(int(exponent), 0)


def judge(key: str, numbers: Mapping[str, Mapping[str, Any]], ledger: Mapping[str, Mapping[str, Any]],
          accuracy: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """The reproduction verdict on one number, as the report and the paper's comparison table give it.

    Parameters
    ----------
    key
        The number's key.
    numbers
        All of the build's numbers.
    ledger
        The ledger's entries.
    accuracy
        Number key -> its validated accuracy entry (``paper/accuracy.json``), or None.

    Returns
    -------
    str
        :func:`status` with the number's validated accuracy bound, or ``"missing"`` when
        the build did not compute it.
    """
    from paperbuild.accuracy import bound

    number = numbers.get(key)
    if number is None:
        return "missing"
    return status(number["value"], ledger.get(key, {}), numbers, bound((accuracy or {}).get(key)))


def locked_status(number: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
    """Show in the report whether a number still matches its lock, by the drift check's own rule.

    Parameters
    ----------
    number
        The number's record in ``numbers.json`` (``value``, ``unit``, ``text``).
    entry
        The number's ledger entry (``locked``, ``unit``, ``text``, ``tolerance``).

    Returns
    -------
    str
        ``"matches lock"`` or ``"DRIFTED"`` (value, unit or printed text).
    """
    from paperbuild.ledger import compare, lock_of

    return "matches lock" if compare(number, lock_of(entry), entry["tolerance"]).ok else "DRIFTED"


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    return md_text(value)


def number_rows(numbers: Mapping[str, Mapping[str, Any]], ledger: Mapping[str, Mapping[str, Any]],
                stale: Mapping[str, list[str]] | None = None,
                accuracy: Mapping[str, Mapping[str, Any]] | None = None) -> list[dict[str, str]]:
    """Account for every quoted number, computed or only in the ledger, in the report's tables.

    Parameters
    ----------
    numbers
        The build's numbers (``numbers.json`` records).
    ledger
        The ledger's entries.
    stale
        Number key -> why it is stale (:meth:`Verifier.number_problems`); a key with an
        empty or no entry is current.  None: provenance not checked.
    accuracy
        Number key -> its validated accuracy entry (``paper/accuracy.json``); the
        reproduction status of a validated number uses it instead of the tolerance.

    Returns
    -------
    list of dict
        One row per key of either, sorted: ``key``, ``published`` (in the form of the
        reproduced text, with its unit: :func:`paperbuild.printed.published`, as the
        paper's table prints it), ``reproduced``, ``locked``, ``tolerance`` and
        ``accuracy`` (with the number's unit where its text shows one), ``status``
        (:func:`status`, or ``"missing"``),
        ``lock`` (:func:`locked_status`, or ``"not locked"``), ``provenance``
        (``CURRENT``, ``STALE``, or ``"–"`` when not computed or not checked),
        ``step`` and ``derived from``, all as Markdown-ready (escaped) text.
    """
    from paperbuild.accuracy import bound, significant
    from paperbuild.printed import published as as_printed

    rows = []
    for key in sorted(set(numbers) | set(ledger)):
        num, entry = numbers.get(key), ledger.get(key, {})
        method = bound((accuracy or {}).get(key))
        if num is None or stale is None:
            provenance = "–"
        else:
            provenance = STALE if stale.get(key) else CURRENT
        shown = as_printed(num["text"], num["value"], entry.get("published"), num.get("unit", ""),
                           entry.get("published_text")) if num else None
        if shown is not None:
            published = md_text(shown.text)
        elif entry.get("published_text"):
            published = md_text(entry["published_text"])
        else:
            published = _cell(entry.get("published"))
        unit = (num or entry).get("unit") or ""
        # a spread in the number's own unit, as its text shows it ("0.1 nm"; not "a.u.", not "C" of "C/10")
        per = f" {unit}" if unit and unit != "a.u." and unit in str((num or entry).get("text", "")) else ""
        rows.append({
            "key": md_text(key),
            "published": published,
            "reproduced": md_text(num["text"]) if num else "(not computed)",
            "locked": _cell(entry.get("text", entry.get("locked"))),
            "tolerance": md_text(f"{entry['tolerance']}{per}") if "tolerance" in entry else "–",
            "accuracy": md_text(significant(method) + per) if method is not None else "–",
            "status": judge(key, numbers, ledger, accuracy),
            "lock": locked_status(num, entry) if num and entry else "not locked",
            "provenance": provenance,
            "step": md_text(num["step"]) if num else "–",
            "derived from": ", ".join(md_code(name) for name in num.get("inputs", {})) if num else "–",
        })
    return rows


def table(rows: Iterable[Mapping[str, str]], columns: list[str]) -> list[str]:
    """Lay out report rows as a Markdown table, choosing which columns a section shows.

    Parameters
    ----------
    rows
        Rows holding at least ``columns``; cells are used as they are (escape text
        from files with :func:`md_text` or :func:`md_code` beforehand).
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


THUMBNAIL_PX = 240  # shown width of a figure's thumbnail in report.html; a click opens the figure


def _thumbnail(figure: Path, target: Path) -> Path:
    """SVGs are small and stay as they are; PNGs are shrunk (to twice the shown width, for sharp
    thumbnails on high-density screens) so the report stays light."""
    if figure.suffix != ".png":
        return figure
    from PIL import Image

    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(figure) as picture:
        picture.thumbnail((2 * THUMBNAIL_PX, 4 * THUMBNAIL_PX))
        picture.save(target)
    return target


# ------------------------------------------------------------------ verification
@dataclass(frozen=True)
class RawCheck:
    """The raw tree as verified now against its manifest.

    Attributes
    ----------
    root
        The raw tree.
    listed
        Relative path -> digest, as ``MANIFEST.sha256`` lists it (empty if unreadable).
    verified
        Relative path -> digest of every listed file whose content matches now.
    problems
        Why the tree does not match its manifest (empty when it does).
    """

    root: Path
    listed: dict[str, str]
    verified: dict[str, str]
    problems: tuple[str, ...] = ()


def check_raw(root: Path) -> RawCheck:
    """Re-verify a raw tree against its ``MANIFEST.sha256`` now, trusting no earlier stamp.

    Parameters
    ----------
    root
        The raw tree.

    Returns
    -------
    RawCheck
        What the manifest lists, which of those files match it now, and the problems
        (the manifest missing or malformed; files missing, extra or changed).
    """
    from paperbuild import manifest

    root = Path(root)
    try:
        listed, matching, problems = manifest.compare_tree(root)
    except ManifestError as err:
        return RawCheck(root, {}, {}, (str(err),))
    lower = lambda files: {rel: digest.lower() for rel, digest in files.items()}
    if not problems:
        return RawCheck(root, lower(listed), lower(matching))
    detail = "\n  ".join(problems)
    return RawCheck(root, lower(listed), lower(matching),
                    (f"raw tree {root} does not match {manifest.MANIFEST_NAME}:\n  {detail}",))


def _short(digest: Any) -> str:
    return str(digest)[:10]


@dataclass
class Verifier:
    """Compare what the build recorded with the files and code as they are now.

    A number is current when every input it records has the recorded hash now (raw
    files as verified against the manifest now, build and project files as read
    now), the code hash of its step's module is the hash of that code now, the
    library versions its step recorded are installed, and no build file it read
    comes from a stale step.  Anything else makes it stale, with the reasons.

    Parameters
    ----------
    roots
        The build's raw tree, build folder and project.
    raw
        The raw tree as verified now (:func:`check_raw`).
    records
        Step name -> step record (``build/steps/<step>.json``) of the analysis and
        figure steps.
    params
        Step name -> parameter name -> value as declared now (``build/params.json``);
        a step whose record used other values is stale.
    """

    roots: Roots
    raw: RawCheck
    records: dict[str, dict[str, Any]]
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    _hashes: dict[tuple[str, str], str | None] = field(default_factory=dict)
    _codes: dict[str, str | None] = field(default_factory=dict)
    _steps: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._producer = {out: name for name, record in self.records.items() for out in record.get("outputs", [])}

    def _current(self, kind: str, name: str) -> str | None:
        from paperbuild.manifest import sha256_file

        if (kind, name) not in self._hashes:
            path = self.roots.root(kind) / name
            self._hashes[kind, name] = sha256_file(path) if path.is_file() else None
        return self._hashes[kind, name]

    def _code(self, module: str) -> str | None:
        from paperbuild.step import code_hash, module_sources

        if module not in self._codes:
            try:
                self._codes[module] = code_hash(list(module_sources(module)))
            except (ModuleNotFoundError, OSError, ValueError):
                self._codes[module] = None
        return self._codes[module]

    def _input_problem(self, name: str, digest: str, kind: str | None, step: str) -> str | None:
        if kind == "raw":
            if name not in self.raw.verified:
                where = "does not match" if name in self.raw.listed else "is not listed in"
                return f"raw file {name} {where} MANIFEST.sha256 now"
            now = self.raw.verified[name]
        elif kind in ("build", "project"):
            now = self._current(kind, name)
            if now is None:
                return f"{kind} file {name} is missing now"
        else:
            return f"input {name}: build/steps/{step}.json does not say which root it is relative to"
        if now != str(digest).lower():
            return f"{kind} file {name} is not the file it was computed from (recorded {_short(digest)}, now {_short(now)})"
        return None

    def _problems(self, step: str, inputs: Mapping[str, str], code: str | None) -> list[str]:
        record = self.records.get(step)
        if record is None:
            return [f"no record of step {step} (build/steps/{step}.json)"]
        roots = record.get("input_roots", {})
        problems = [p for name, digest in inputs.items()
                    if (p := self._input_problem(name, digest, roots.get(name), step)) is not None]
        upstream: dict[str, list[str]] = {}  # stale producer step -> the build files of it that were read
        for name in inputs:
            producer = self._producer.get(name)
            if roots.get(name) == "build" and producer not in (None, step) and self.step_problems(producer):
                upstream.setdefault(producer, []).append(name)
        problems += [f"it read {', '.join(names)} made by step {producer}, which is stale"
                     for producer, names in sorted(upstream.items())]
        module = record.get("module")
        now = self._code(module) if module else None
        if now is None:
            problems.append(f"the code of step {step} ({module or 'module not recorded'}) cannot be found now")
        elif now != code:
            problems.append(f"the code of {module} changed since (recorded {_short(code)}, now {_short(now)})")
        from paperbuild.step import library_versions

        declared = self.params.get(step, {})
        used = record.get("params", {})
        problems += [f"parameter {step}.{name} was {used.get(name)!r}, the registry now says {value!r}"
                     for name, value in sorted(declared.items()) if used.get(name) != value]
        recorded = record.get("libraries", {})
        installed = library_versions(tuple(recorded))
        problems += [f"{name} {version} was used, {installed[name]} is installed now"
                     for name, version in recorded.items() if installed[name] != version]
        return problems

    def step_problems(self, step: str) -> list[str]:
        """Why a step's outputs (its figures, its build files) are stale; empty when current.

        Parameters
        ----------
        step
            A step with a record in ``build/steps``.

        Returns
        -------
        list of str
            One sentence per mismatch, naming the file, code or library.
        """
        if step not in self._steps:
            self._steps[step] = ["(checking)"]  # a cycle of records counts as stale
            record = self.records.get(step, {})
            self._steps[step] = self._problems(step, record.get("inputs", {}), record.get("code"))
        return self._steps[step]

    def number_problems(self, number: Mapping[str, Any]) -> list[str]:
        """Why a number is stale; empty when it is current.

        Parameters
        ----------
        number
            Its ``numbers.json`` record (``step``, ``inputs``, ``code``).

        Returns
        -------
        list of str
            One sentence per mismatch, naming the file, code or library.
        """
        return self._problems(number["step"], number.get("inputs", {}), number.get("code"))


def _grouped(stale: Mapping[str, list[str]], steps: Mapping[str, str], noun: str) -> list[str]:
    """One sentence per step and reason set: ``step s: 3 numbers stale (a, b, c): why``."""
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for item, reasons in stale.items():
        if reasons:
            groups.setdefault((steps[item], tuple(reasons)), []).append(item)
    sentences = []
    for (step, reasons), items in sorted(groups.items()):
        shown = ", ".join(sorted(items)[:8]) + (f" and {len(items) - 8} more" if len(items) > 8 else "")
        plural = noun if len(items) == 1 else noun + "s"
        sentences.append(f"step {step}: {len(items)} {plural} stale ({shown}): {'; '.join(reasons)}")
    return sentences


@dataclass(frozen=True)
class Certificate:
    """The written report and whether it certifies the build.

    Attributes
    ----------
    md, html
        The Markdown and HTML reports.
    problems
        Why the build is not certified (one sentence each); empty when it is.
    """

    md: Path
    html: Path
    problems: tuple[str, ...] = ()

    @property
    def certified(self) -> bool:
        """True when every number and figure was verified against the current files and code."""
        return not self.problems

    def message(self) -> str:
        """The verdict in words, for the command line and the doit task."""
        if self.certified:
            return f"reproduction report -> {self.html} (and {self.md.name}): build certified"
        reasons = "\n".join(f"  - {p}" for p in self.problems)
        return (f"build NOT certified (report written to {self.html}): what the build recorded no longer "
                f"matches the files and code it was made from:\n{reasons}\nRerun the build (doit) to recompute them.")


def _records(build: Path) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Step records of the analysis and figure steps, and the render records."""
    steps, renders = {}, []
    for path in sorted((build / "steps").glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise BuildError(f"{path}: not a readable step record ({err}); rerun the build (doit)") from None
        if not isinstance(record, dict) or "step" not in record:
            raise BuildError(f"{path}: not a step record (no 'step'); rerun the build (doit)")
        if "module" in record:
            steps[record["step"]] = record
        else:
            renders.append(record)
    return steps, renders


def write_report(roots: Roots, renderer_libraries: Iterable[str] = RENDERER_LIBRARIES) -> Certificate:
    """Certify one build for a reviewer in a single self-contained file (plus its Markdown source).

    The numbers, step records and ledger come from files; the raw tree, the build's
    and project's input files and the code are checked as they are now, so the
    report certifies only what it verified.  The report is written either way; the
    returned certificate says whether it certifies the build.

    Parameters
    ----------
    roots
        The build's raw tree, build folder and project.
    renderer_libraries
        Distributions used outside the steps (listed in the environment table besides
        the libraries each step record names).

    Returns
    -------
    Certificate
        The Markdown and HTML reports, and why the build is not certified (if so).

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
    records, renders = _records(build)
    raw_check = check_raw(roots.raw)
    declared: dict[str, dict[str, Any]] = {}
    if roots.params.is_file():  # the registry's parameters, as the params task wrote them
        for key, record in json.loads(roots.params.read_text(encoding="utf-8")).items():
            declared.setdefault(record["step"], {})[key.split(".", 1)[1]] = record["value"]
    verifier = Verifier(roots, raw_check, records, declared)
    stale_numbers = {key: verifier.number_problems(num) for key, num in numbers.items()}
    libraries = sorted({lib for r in records.values() for lib in r.get("libraries", {})} | set(renderer_libraries))
    commit = _git(project, "rev-parse", "HEAD")
    dirty = _git(project, "status", "--porcelain")
    accuracy, accuracy_source = last_accuracy(roots)
    rows = number_rows(numbers, ledger, stale_numbers, (accuracy or {}).get("numbers"))
    counts = {s: sum(r["status"] == s for r in rows) for s in (*STATUSES, "missing")}
    drifted = sum(r["lock"] == "DRIFTED" for r in rows)

    thumbs = out / "thumbnails"
    thumbs.mkdir(parents=True, exist_ok=True)
    figure_rows, stale_figures, figure_steps = [], {}, {}
    for name, record in records.items():
        for rel in record.get("outputs", []):
            if not rel.startswith("figures/") or ".." in Path(rel).parts or not (build / rel).is_file():
                continue
            stale_figures[rel], figure_steps[rel] = verifier.step_problems(name), name
            inputs = ", ".join(f"{md_code(n)} ({md_text(_short(d))})" for n, d in record.get("inputs", {}).items())
            thumb = _thumbnail(build / rel, thumbs / Path(rel).relative_to("figures"))
            link = quote((Path("..") / thumb.relative_to(build)).as_posix(), safe="/")
            full = quote((Path("..") / rel).as_posix(), safe="/")  # the figure itself, opened by a click
            figure_rows.append({"figure": f"[![{md_text(rel)}]({link}){{width={THUMBNAIL_PX}px}}]({full})",
                                "file": md_code(rel),
                                "step": f"{md_text(name)} ({md_code(record.get('source', ''))})",
                                "inputs": inputs or "–", "provenance": STALE if stale_figures[rel] else CURRENT})
    timed = [*records.values(), *renders]
    timing_rows = [{"task": md_text(r["step"]), "seconds": f"{float(r.get('seconds', 0)):.2f}"} for r in timed]
    timing_rows.append({"task": f"**total ({len(timed)} tasks)**",
                        "seconds": f"**{sum(float(r.get('seconds', 0)) for r in timed):.2f}**"})
    raw_rows = [{"file": md_code(name), "sha256": md_code(digest),
                 "now": "verified" if name in raw_check.verified else "**does not match**"}
                for name, digest in sorted(raw_check.listed.items())]

    problems = [*raw_check.problems,
                *_grouped(stale_numbers, {k: n["step"] for k, n in numbers.items()}, "number"),
                *_grouped(stale_figures, figure_steps, "figure")]
    n_stale = sum(bool(v) for v in stale_numbers.values())
    if problems:
        verdict = [f"- **NOT certified**: {n_stale} of {len(numbers)} numbers and "
                   f"{sum(bool(v) for v in stale_figures.values())} of {len(figure_rows)} figures are stale or "
                   "unverified: what the build recorded no longer matches the files and code as they are now. "
                   "Rerun the build (`doit`) to recompute them.",
                   *[f"    - {md_text(p)}" for p in problems]]
    else:
        verdict = ["- **Certified**: the raw tree matches its `MANIFEST.sha256` as verified when this report was "
                   "written, and every number and figure records the current hashes of the raw, build and project "
                   "files it was derived from and of the code that computed it."]
    raw_line = (f"- Raw tree: {md_code(raw_check.root)}, {len(raw_check.verified)} files verified now against "
                "`MANIFEST.sha256`" + ("" if not raw_check.problems else ", **which it does not match**"))
    render_lines = [f"- Rendered ({md_text(r['step'])}): {md_text(r['renderer'])}" for r in renders if r.get("renderer")]

    lines = [
        "---", "title: Reproduction report", "---", "",
        "> **The raw data is a synthetic stand-in.** The original authors released no data. Every raw file was "
        "written by the synthetic instrument in `data/synth/` of this repository from the ground truth in "
        "`data/synth/truth.yaml`; the analyses never read that truth. This report certifies that the analysis "
        "reproduces the paper's numbers from such files, not that the experiment was repeated.", "",
        "## Summary", "",
        *verdict,
        f"- Commit: {md_code(commit or 'not a git checkout')}"
        + ("" if commit is None else (" (working tree clean)" if not dirty else " (**working tree has uncommitted changes**)")),
        raw_line,
        summary_line(counts, len(rows), drifted, n_stale),
        f"- Figures: {len(figure_rows)}",
        *render_lines, "",
        "## Numbers", "",
        "Published: the value in the original article; reproduced: this build; locked: the accepted value in the "
        "ledger. A value derived from raw data is reproduced when the published value lies within the method's "
        "validated accuracy of it (see Method accuracy), widened by half a unit of the published value's last "
        "digit; any other value, within its ledger tolerance (which only bounds drift between builds: zero for "
        "a deterministic computation from stated inputs) widened the same way. A method input the rebuild takes "
        "from the paper is marked as such; a quantity the paper states without a number, as stated in words. "
        "Provenance: "
        f"{CURRENT} when the files the number was derived from and its step's code still have the hashes it "
        f"records, {STALE} otherwise.", "",
        *table(rows, ["key", "published", "reproduced", "accuracy", "locked", "tolerance", "status", "lock",
                      "provenance", "step"]),
        "",
        *(["## Stale numbers and figures", "",
           *table([{"item": md_text(k), "why": md_text("; ".join(v))}
                   for k, v in [*stale_numbers.items(), *stale_figures.items()] if v], ["item", "why"]), ""]
          if problems and (n_stale or any(stale_figures.values())) else []),
        *accuracy_section(accuracy, accuracy_source, project),
        "## Where each number comes from", "",
        "The inputs each number was derived from (a subset of its step's inputs), as recorded in `numbers.json`.", "",
        *table(rows, ["key", "step", "derived from"]), "",
        "## Figures", "",
        *table(figure_rows, ["figure", "file", "step", "inputs", "provenance"]), "",
        "## Environment", "",
        *table([{k: md_text(v) for k, v in row.items()} for row in environment(libraries)], ["item", "version"]), "",
        "## Time per task (last run)", "",
        *table(timing_rows, ["task", "seconds"]), "",
        "## Raw files (verified when this report was written)", "",
        *table(raw_rows, ["file", "sha256", "now"]), "",
    ]
    md = out / "report.md"
    atomic.write_text(md, "\n".join(lines))
    html = out / "report.html"
    _to_html(md, html)
    return Certificate(md, html, tuple(problems))


def summary_line(counts: Mapping[str, int], keys: int, drifted: int, stale: int) -> str:
    """The report's line on the numbers, as a sentence a reviewer can quote.

    Parameters
    ----------
    counts
        How many numbers got each verdict (:data:`STATUSES` and ``"missing"``).
    keys
        How many keys the ledger and the build hold together.
    drifted, stale
        How many numbers are outside their lock, and how many are stale.

    Returns
    -------
    str
        A Markdown list item, e.g. ``"- **Numbers:** 44 of 48 published numbers
        reproduced (1 within rounding of its inputs, ...); 19 further numbers computed
        (...); 0 outside their lock; 0 stale."``.  Every count is there, a zero too,
        so the sentence can be quoted whole.
    """
    def n(status: str) -> int:
        return counts.get(status, 0)

    printed = sum(n(s) for s in (REPRODUCED, WITHIN_ROUNDING, INPUT, DIFFERS))
    further = n(STATED) + n(NEW)
    missing = f"; {n('missing')} missing" if n("missing") else ""
    return (f"- **Numbers:** {n(REPRODUCED)} of {printed} published numbers reproduced "
            f"({n(WITHIN_ROUNDING)} more within rounding of its inputs, {n(INPUT)} taken from the paper as method "
            f"inputs, {n(DIFFERS)} differ); {further} further numbers computed ({n(STATED)} the paper states only "
            f"in words, {n(NEW)} it does not state){missing}; {drifted} outside their lock in `paper/ledger.yaml`; "
            f"{stale} stale ({keys} keys in all).")


def last_accuracy(roots: Roots) -> tuple[dict[str, Any] | None, Path | None]:
    """The last validation's table: the build's own run if there is one, else the accepted one.

    Parameters
    ----------
    roots
        The build (its ``validation/``) and the project (``paper/accuracy.json``).

    Returns
    -------
    tuple
        The table in the accepted form (:func:`paperbuild.accuracy.accepted`) and the
        file it came from; ``(None, None)`` when no validation exists.
    """
    from paperbuild import accuracy as accuracy_mod

    fresh = roots.validation / "validation.json"
    if fresh.is_file():
        return accuracy_mod.accepted(json.loads(fresh.read_text(encoding="utf-8"))), fresh
    if roots.accuracy.is_file():
        return accuracy_mod.load(roots.accuracy), roots.accuracy
    return None, None


def accuracy_section(accuracy: Mapping[str, Any] | None, source: Path | None, project: Path) -> list[str]:
    """The report's "Method accuracy" section: how far each raw-derived number can be trusted.

    Parameters
    ----------
    accuracy
        The table (:func:`last_accuracy`), or None.
    source
        The file it came from, shown relative to ``project``.
    project
        The project root.

    Returns
    -------
    list of str
        Markdown lines: the heading, a summary sentence and the table.
    """
    head = ["## Method accuracy", ""]
    if accuracy is None or source is None:
        return [*head, "No validation has been run: `doit validate` measures it, `doit accept` keeps it.", ""]
    try:
        shown = source.relative_to(project)
    except ValueError:
        shown = source
    entries = accuracy["numbers"]
    misses = [k for k, e in entries.items() if e["verdict"] != "meets goal"]
    rows = [{"key": md_text(k), "n": str(e["n"]), "failures": str(e["failures"]),
             "bias": md_text(e["text"].get("bias", "–")), "RMS": md_text(e["text"].get("rms", "–")),
             "worst": md_text(e["text"].get("worst", "–")),
             "worst seed": str(e["worst_seed"]) if e.get("worst_seed") is not None else "–",
             "goal": md_text(e["text"].get("goal", "–")), "verdict": md_text(e["verdict"])}
            for k, e in entries.items()]
    from paperbuild.validate import changed_sources

    changed = changed_sources(accuracy.get("sources", {}), project)
    stale = ([f"**Measured with other code or priors than the current:** {', '.join(md_code(c) for c in changed[:8])}"
              + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
              + ". Rerun `doit validate` (and `doit accept`) to measure the method as it is now.", ""]
             if changed else [])
    summary = (f"every one of the {len(entries)} raw-derived numbers met its accuracy goal"
               if not misses else f"{len(misses)} of {len(entries)} numbers did not meet their goal: "
               + ", ".join(md_code(k) for k in misses))
    return [
        *head,
        f"From {md_code(shown)}: {accuracy['realizations']} synthetic realizations (seeds {accuracy['seeds'][0]}–"
        f"{accuracy['seeds'][1]}), each a truth drawn from the priors in `data/synth/priors/`, written as a raw "
        "tree and analysed by the same steps. Error = computed value − the value the truth implies; bias is its "
        f"mean, RMS its root mean square, worst its largest magnitude. Over these realizations {summary}. "
        "The goals and their reasons are declared beside the priors.", "",
        *stale,
        *table(rows, ["key", "n", "failures", "bias", "RMS", "worst", "worst seed", "goal", "verdict"]), "",
    ]


# The report's page: wide enough for its tables, whose cells wrap (long file names and
# hashes break anywhere) and which scroll inside the page rather than being clipped.
REPORT_CSS = """
body { max-width: 80em; margin: 0 auto; padding: 1.5em 1.5em 4em; color: #1b1b1b; line-height: 1.45;
  font-family: "DejaVu Sans", "Helvetica Neue", Helvetica, Arial, sans-serif; font-size: 15px; }
h1 { font-size: 1.8em; } h2 { font-size: 1.35em; margin-top: 1.8em; border-top: 1px solid #ccc; padding-top: 0.5em; }
blockquote { margin: 1em 0; padding: 0.4em 1em; border-left: 4px solid #1b4f72; background: #f3f5f7; }
table { display: block; max-width: 100%; overflow-x: auto; border-collapse: collapse; font-size: 0.86em; margin: 1em 0; }
th, td { padding: 0.3em 0.6em; border-bottom: 1px solid #ddd; vertical-align: top; text-align: left; }
th { border-bottom: 2px solid #333; white-space: nowrap; }
td code, li code { overflow-wrap: anywhere; word-break: break-word; }
code { font-size: 0.92em; }
td img { display: block; max-width: none; height: auto; border: 1px solid #ddd; background: #fff; }
td a:hover img { border-color: #1b4f72; }
"""


def _to_html(md: Path, html: Path) -> None:
    """Self-contained HTML (figures embedded) by pandoc, so the report travels as one file."""
    import tempfile

    import pypandoc

    staged = html.with_suffix(".tmp.html")
    with tempfile.TemporaryDirectory() as folder:
        css = Path(folder) / "report.css"
        css.write_text(REPORT_CSS, encoding="utf-8")
        pypandoc.convert_file(str(md), "html", format=MARKDOWN_FORMAT, outputfile=str(staged),
                              extra_args=["--standalone", "--embed-resources", f"--resource-path={md.parent}",
                                          f"--css={css}", "--metadata=lang:en"])
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
        Exit status: 0 when the report was written and certifies the build; 1 when it
        does not (something is stale or the raw tree does not match its manifest; the
        reasons go to stderr) or when a file it needs is missing or malformed.
    """
    from paperbuild.cli import Parser, run

    parser = Parser("python -m paperbuild.report", REPORT_HELP, REPORT_EXAMPLES)
    parser.add_argument("--build", type=Path, default=default_build(), metavar="DIR",
                        help="the build folder to report on (default: build/ of this checkout)")
    parser.add_argument("--raw", type=Path, default=None, metavar="DIR",
                        help="raw tree to verify (default: the one the build verified, else data/raw)")
    parser.add_argument("--project", type=Path, default=PROJECT_ROOT, metavar="DIR",
                        help="project checkout holding paper/ledger.yaml and the cited files (default: this one)")

    def work(args: argparse.Namespace) -> int:
        if not args.build.is_dir():
            from paperbuild.commands import doit

            raise BuildError(f"{args.build}: no such build folder; build into it first with "
                             f"`{doit(build=shlex.quote(str(args.build)))}`")
        raw = args.raw if args.raw is not None else stamped_raw(args.build)
        certificate = write_report(Roots(raw=raw, build=args.build, project=args.project))
        if not certificate.certified:
            print(f"{parser.name}: {certificate.message()}", file=sys.stderr)
            return 1
        print(certificate.message())
        return 0

    return run(parser, work, argv)


REPORT_HELP = """\
Write the reproduction report of a build folder, DIR/reproduction/report.html and
report.md: environment, raw files with verified hashes, every quoted number published
vs reproduced vs locked, every figure with its inputs, and the time each step took.

It verifies the raw tree again and compares every recorded hash with the files and code
as they are now; anything stale is marked, and the exit status is 1 when the build is
not certified (the reasons go to stderr). The build's `report` task runs the same; this
command is for a build that stopped early, e.g. at the drift check."""

REPORT_EXAMPLES = [
    "python -m paperbuild.report                          # the default build/",
    "python -m paperbuild.report --build /tmp/other-build  # after `doit raw=... build=/tmp/other-build`",
]


def stamped_raw(build: Path) -> Path:
    """The raw tree a build verified (its ``raw_verified.json``), so ``--build`` alone checks the right tree.

    Parameters
    ----------
    build
        The build folder.

    Returns
    -------
    Path
        The raw tree named in the stamp; ``data/raw`` of the project when the build
        has no stamp.

    Raises
    ------
    BuildError
        The stamp exists but cannot be read.
    """
    stamp = Roots(raw=default_raw(), build=build).raw_verified
    if not stamp.is_file():
        return default_raw()
    try:
        return Path(json.loads(stamp.read_text(encoding="utf-8"))["raw"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise BuildError(f"{stamp}: not a readable raw-tree stamp ({err}); pass --raw or rerun the build") from None


if __name__ == "__main__":
    raise SystemExit(main())

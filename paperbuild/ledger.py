"""The ledger of quoted numbers, the drift check, and accepting new values.

The ledger (``paper/ledger.yaml``) holds for each key the *locked* value, text and
unit, the tolerance, the published value (null for quantities the paper only described
in words) and where the paper quotes it.  It is validated on load: every problem is
reported at once, named by file and key.  Accepting new values is a deliberate command
that rewrites only the locks, so the change is one reviewable diff.

The drift check compares every computed number with its lock in three parts
(:func:`compare`, shared with ``numdiff``):

- value: within the tolerance (:func:`paperbuild.numbers.agree`), both sides rounded
  as locks are stored (6 significant digits), so a tolerance of 0 means "equal to the
  stored lock";
- unit: equal;
- printed text: equal to the locked text while the value equals the lock; once the
  value moved (within tolerance), equal to the locked text with each numeral reprinted
  from the new value at the same number of decimals (``"76.4 nm"`` may become
  ``"76.5 nm"``, never ``"76.46 nm"`` or ``"76,5 nm"``).  A locked text that is not the
  locked value's own formatting (``"C/10"``) must stay as it is (:func:`expected_text`).
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paperbuild import atomic
from paperbuild.errors import LedgerError
from paperbuild.numbers import agree, rounded_as_locked

HEADER = """\
# The ledger of quoted numbers.  Each key is a number in build/numbers.json.
#   locked / text: the accepted value and its printed form (rewritten by `doit accept`)
#   tolerance:     the largest |computed - locked| that is not drift: reproducibility of a build of the
#                  same raw data (platform and library differences), not the method's error against the
#                  truth, which `doit validate` measures (paper/accuracy.json)
#   published:     the value printed in Cheng et al., Joule 2020 (null: not quoted as a number)
#   published_text: the published value as the paper prints it, where the value loses that ('99.70 %':
#                  YAML keeps 99.7), or the paper's words where it states the quantity without a
#                  number ('below 99 %'; status "stated in words")
#   input:         true for a method input the rebuild takes from the paper rather than computing it
#                  (status "input as published")
#   name:          the quantity in a few words, for the supplement's table of published and rebuilt values
#   claim:         what the paper says in words, where it gives no number
#   quoted:        where the paper quotes it
#   renamed_from:  the key's name in the project's fact sheet, where the build renamed it
# Edit every field but locked/text/unit by hand; change locks only with `doit accept`.
"""


def _strict_loader():
    import yaml

    class StrictLoader(yaml.SafeLoader):
        """SafeLoader that refuses duplicated keys instead of keeping the last one."""

    def construct_mapping(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise LedgerError(f"line {key_node.start_mark.line + 1}: key {key!r} appears twice")
            seen.add(key)
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return StrictLoader


def load_ledger(path: Path) -> dict[str, dict[str, Any]]:
    """Read the ledger strictly, so a hand-edit mistake is reported, never silently used.

    Every problem names the file (and the line, where YAML knows it); a key written
    twice is an error rather than "the last one wins".  Each entry is validated
    (:func:`entry_problems`) and every problem of every entry is listed at once, named
    by key.

    Parameters
    ----------
    path
        The ledger (``paper/ledger.yaml``).

    Returns
    -------
    dict
        Number key -> entry (``locked``, ``text``, ``unit``, ``tolerance`` and the
        optional fields); empty for an empty file.

    Raises
    ------
    LedgerError
        The file is missing or unreadable, not YAML, not a mapping, repeats a key, or
        has an entry that is incomplete or ill-typed.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LedgerError(f"{path}: ledger is missing") from None
    except (OSError, UnicodeDecodeError) as err:
        raise LedgerError(f"{path}: cannot read the ledger ({getattr(err, 'strerror', None) or err})") from None
    return parse_ledger(text, str(path))


def parse_ledger(text: str, source: str) -> dict[str, dict[str, Any]]:
    """Parse and validate a ledger's text (:func:`load_ledger`), wherever it came from.

    Parameters
    ----------
    text
        The ledger's YAML.
    source
        What to call it in messages (a path, or ``git:REV:paper/ledger.yaml``).

    Returns
    -------
    dict
        Number key -> entry; empty for an empty document.

    Raises
    ------
    LedgerError
        Not YAML, not a mapping, a repeated key, or invalid entries (all of them
        listed, each named by key).
    """
    import yaml

    try:
        data = yaml.load(text, Loader=_strict_loader())
    except LedgerError as err:
        raise LedgerError(f"{source}: {err}") from None
    except yaml.YAMLError as err:
        raise LedgerError(f"{source}: not valid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LedgerError(f"{source}: expected a mapping of number keys")
    problems = []
    for key, entry in data.items():
        if not isinstance(key, str):
            problems.append(f"{_show(key)}: a number key must be text")
        elif not isinstance(entry, dict):
            problems.append(f"{key}: expected a mapping with locked, text, unit and tolerance, got {_show(entry)}")
        else:
            problems += [f"{key}: {problem}" for problem in entry_problems(entry)]
    if len(problems) == 1:
        raise LedgerError(f"{source}: {problems[0]}")
    if problems:
        raise LedgerError(f"{source}: {len(problems)} problem(s) in the ledger:\n" + "\n".join(f"  {p}" for p in problems))
    return data


# Fields of a ledger entry, in the order they are written.  ``inputs_range`` names the
# number that gives the range a result can take given the rounding of its inputs;
# ``published_text``, ``input`` and ``name`` are read by the report and the paper's table
# of published and rebuilt values (see HEADER).
LEDGER_FIELDS = ("locked", "text", "unit", "tolerance", "published", "published_text", "inputs_range", "input",
                 "name", "claim", "quoted", "renamed_from")
REQUIRED_FIELDS = ("locked", "text", "unit", "tolerance")


def entry_problems(entry: Mapping[str, Any]) -> list[str]:
    """What is wrong with one ledger entry, each problem as one phrase (empty: valid).

    ``locked`` is a number (finite), text, a boolean or a list of those; ``text`` is
    non-empty text; ``unit`` is text (may be empty); ``tolerance`` is a finite number
    >= 0 (not a boolean, not text: YAML reads ``1e-3`` as text); ``published`` is null
    or a value like ``locked``; ``inputs_range``, ``name``, ``claim`` and ``quoted`` are
    text; ``input`` is a boolean; ``published_text`` is text, and where ``published`` is
    a number (or a list of numbers) it prints exactly those numbers, one numeral each
    (``99.70 %`` for 99.7).  Other fields are refused, since ``doit accept`` would
    silently drop them.

    Parameters
    ----------
    entry
        The entry's mapping as YAML loaded it.

    Returns
    -------
    list of str
        Problems such as ``"tolerance .nan is not a finite number >= 0"``.
    """
    problems = [f"{name!r} is missing" for name in REQUIRED_FIELDS if name not in entry]
    problems += [f"unknown field {name!r} (expected {', '.join(LEDGER_FIELDS)})"
                 for name in entry if name not in LEDGER_FIELDS]
    if "locked" in entry and not _is_value(entry["locked"]):
        problems.append(f"locked {_show(entry['locked'])} is not a number, text, boolean or a list of those")
    if "published" in entry and entry["published"] is not None and not _is_value(entry["published"]):
        problems.append(f"published {_show(entry['published'])} is not a number, text, boolean or a list of "
                        "those (or null)")
    if "text" in entry:
        if not isinstance(entry["text"], str):
            problems.append(f"text {_show(entry['text'])} is not text (quote it)")
        elif not entry["text"].strip():
            problems.append("text is empty")
    for name in ("unit", "inputs_range", "name", "claim", "quoted", "renamed_from", "published_text"):
        if name in entry and not isinstance(entry[name], str):
            problems.append(f"{name} {_show(entry[name])} is not text" + (" (quote it)" if name == "unit" else ""))
    if "input" in entry and not isinstance(entry["input"], bool):
        problems.append(f"input {_show(entry['input'])} is not true or false")
    if isinstance(entry.get("published_text"), str) and entry.get("published") is not None:
        if published_numerals(entry["published_text"], entry["published"]) is None:
            problems.append(f"published_text {entry['published_text']!r} does not print published "
                            f"{_show(entry['published'])} (one numeral per value, equal to it)")
    if "tolerance" in entry:
        tolerance = entry["tolerance"]
        if isinstance(tolerance, str):
            problems.append(f"tolerance {tolerance!r} is text, not a number (write a plain decimal such as 0.001)")
        elif not _is_number(tolerance) or tolerance < 0:
            problems.append(f"tolerance {_show(tolerance)} is not a finite number >= 0")
    return problems


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_value(value: Any) -> bool:
    if isinstance(value, list):
        return all(_is_value(v) for v in value)
    return isinstance(value, (str, bool)) or _is_number(value)


def _show(value: Any) -> str:
    """A value as the ledger's YAML spells it, so a message quotes what the user wrote."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, str):
        return repr(value)
    return str(value)


# ------------------------------------------------------------------ comparing a number with its lock
# A numeral in a printed text.  A minus (ASCII or U+2212) counts as its sign only where it
# cannot be a hyphen or a range dash (not after a letter, digit or point).
_NUMERAL = re.compile(r"(?:(?<![\w.])(?P<sign>[-\u2212]))?(?<![0-9.])(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?")


def _retext(text: str, value: Any) -> str | None:
    """``text`` with each numeral replaced by the matching element of ``value``, printed with
    the numeral's own number of decimals; None when the numerals and values do not pair up."""
    values = value if isinstance(value, list) else [value]
    if not all(_is_number(v) for v in values):
        return None
    numerals = list(_NUMERAL.finditer(text))
    if len(numerals) != len(values):
        return None
    pieces, end = [], 0
    for match, number in zip(numerals, values):
        printed = f"{number:.{len(match['frac'] or '')}f}"
        if printed.startswith("-") and match["sign"] == "\u2212":
            printed = "\u2212" + printed[1:]
        pieces += [text[end:match.start()], printed]
        end = match.end()
    return "".join(pieces) + text[end:]


def published_numerals(published_text: str, published: Any) -> list[str] | None:
    """The numerals of a ``published_text``, when they print exactly the ``published`` value(s).

    Parameters
    ----------
    published_text
        The published value as the paper prints it (``"99.70 %"``, ``"138 and 141 eV"``).
    published
        The ledger's ``published``: a number or a list of numbers.

    Returns
    -------
    list of str or None
        The numerals as printed (``["99.70"]``, a minus as ``-``), one per value and each
        equal to it; None when they do not pair up or ``published`` is not numeric.
    """
    from decimal import Decimal

    values = published if isinstance(published, list) else [published]
    if not values or not all(_is_number(v) for v in values):
        return None
    numerals = [m.group(0).replace("\u2212", "-") for m in _NUMERAL.finditer(published_text)]
    if len(numerals) != len(values):
        return None
    if any(Decimal(n) != Decimal(repr(float(v))) for n, v in zip(numerals, values)):
        return None
    return numerals


def expected_text(reference_text: str, reference_value: Any, value: Any) -> str:
    """The printed text a number may have next to a reference (its lock): the rule on text.

    - When the value equals the reference at lock precision, the text must not change
      at all: ``reference_text``.
    - When the value moved (within tolerance, or the value check fails anyway), the
      text may change only as the value's own rounding forces it: every numeral of the
      reference text is reprinted from the new value with the same number of decimals
      (``"76.4 nm"`` -> ``"76.5 nm"``; ``"Li2.88PO3.44N0.31"`` element by element).
    - This applies only when the reference text is the reference value's own
      formatting (reprinting the reference value gives the reference text back);
      other texts (``"C/10"``, ``"amorphous"``) cannot follow a value and must stay
      exactly as locked.

    Parameters
    ----------
    reference_text
        The locked (or earlier) printed text.
    reference_value
        The locked (or earlier) value.
    value
        The new value.

    Returns
    -------
    str
        The only text the new value may be printed as.
    """
    if rounded_as_locked(value) == rounded_as_locked(reference_value):
        return reference_text
    if _retext(reference_text, reference_value) != reference_text:
        return reference_text
    return _retext(reference_text, value) or reference_text


@dataclass(frozen=True)
class Comparison:
    """How a number compares with a reference (its lock, or the other side of a diff).

    Attributes
    ----------
    agrees
        The values agree within the tolerance (:func:`paperbuild.numbers.agree`).
    moved
        The values differ at lock precision (so the text may follow the value).
    difference
        The difference as :func:`~paperbuild.numbers.agree` prints it.
    unit
        What is wrong with the unit (``"unit eV -> meV"``), or ``""``.
    text
        What is wrong with the printed text, or ``""``; judged only when the values agree.
    """

    agrees: bool
    moved: bool
    difference: str
    unit: str
    text: str

    @property
    def ok(self) -> bool:
        """Value, unit and text all pass."""
        return self.agrees and not self.unit and not self.text

    def describe(self) -> str:
        """Every failed part in one cell (the value's difference first)."""
        parts = [] if self.agrees else [self.difference or "changed"]
        return "; ".join(parts + [p for p in (self.unit, self.text) if p]) or self.difference


def compare(number: Mapping[str, Any], reference: Mapping[str, Any], tolerance: float) -> Comparison:
    """Compare value, unit and printed text of a number with a reference: the drift rule.

    The value must agree within ``tolerance`` (:func:`paperbuild.numbers.agree`, at lock
    precision); the unit must be equal; the text must be :func:`expected_text`.  The
    drift check compares with the lock, ``numdiff`` compares the two sides of a diff,
    both through this one function.

    Parameters
    ----------
    number
        The new record: ``value``, ``unit`` and ``text``.
    reference
        The reference record (a lock as ``value``/``unit``/``text``).
    tolerance
        The ledger tolerance (finite, >= 0).

    Returns
    -------
    Comparison
        Each part's verdict.
    """
    agrees, difference = agree(number["value"], reference["value"], tolerance)
    moved = rounded_as_locked(number["value"]) != rounded_as_locked(reference["value"])
    unit = "" if number["unit"] == reference["unit"] else f"unit {reference['unit'] or '(none)'} -> " \
                                                           f"{number['unit'] or '(none)'}"
    text = ""
    if agrees:
        wanted = expected_text(str(reference["text"]), reference["value"], number["value"])
        if str(number["text"]) != wanted:
            text = "text changed" + (f" (value prints as {wanted!r})" if wanted != reference["text"] else "")
    return Comparison(agrees, moved, difference, unit, text)


def lock_of(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A ledger entry as a reference record (``value``, ``unit``, ``text``) for :func:`compare`.

    Parameters
    ----------
    entry
        A validated ledger entry.

    Returns
    -------
    dict
        The lock's value, unit and text.
    """
    return {"value": entry["locked"], "unit": entry["unit"], "text": entry["text"]}


def drift_rows(numbers: Mapping[str, Mapping[str, Any]], ledger: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    """List what stops the build: every key that is new, no longer computed, or differs from its lock.

    Parameters
    ----------
    numbers
        The build's numbers (``numbers.json`` records).
    ledger
        The ledger's entries (:func:`load_ledger`).

    Returns
    -------
    list of dict
        Rows with ``key``, ``locked``, ``computed``, ``difference``, ``tolerance`` and
        ``step`` as text, sorted by key; empty when every number matches its lock in
        value, unit and printed text (:func:`compare`).
    """
    rows = []
    for key in sorted(set(numbers) | set(ledger)):
        num, lock = numbers.get(key), ledger.get(key)
        if lock is None:
            rows.append(_row(key, "(not in ledger)", num["text"], "new key", "-", num["step"]))
        elif num is None:
            rows.append(_row(key, lock["text"], "(not computed)", "missing", lock["tolerance"], "-"))
        else:
            result = compare(num, lock_of(lock), lock["tolerance"])
            if not result.ok:
                rows.append(_row(key, _with_unit(lock["text"], lock["unit"], num["unit"]),
                                 _with_unit(num["text"], num["unit"], lock["unit"]), result.describe(),
                                 lock["tolerance"], num["step"]))
    return rows


def _with_unit(text: str, unit: str, other: str) -> str:
    """The printed text, with its unit added where the units differ and the text does not show it."""
    return text if unit == other or (unit and unit in text) else f"{text} [{unit or 'no unit'}]"


def _row(key, locked, computed, difference, tolerance, step) -> dict[str, str]:
    return {"key": key, "locked": str(locked), "computed": str(computed),
            "difference": str(difference), "tolerance": str(tolerance), "step": str(step)}


def format_table(rows: list[dict[str, str]]) -> str:
    """Show drift rows as a plain fixed-width table, readable in a terminal and in CI logs.

    Parameters
    ----------
    rows
        Rows sharing the same keys (the first row's keys are the columns).

    Returns
    -------
    str
        A header, a rule and one line per row; empty when there are no rows.
    """
    if not rows:
        return ""
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    line = lambda r: "  ".join(r[c].ljust(widths[c]) for c in columns).rstrip()
    return "\n".join([line({c: c for c in columns}), line({c: "-" * widths[c] for c in columns})] + [line(r) for r in rows])


ACCEPT_REMEDY = "If the change is intended, review it and run `doit accept` to lock the new values."


def check_drift(numbers: Mapping[str, Any], ledger_path: Path, remedy: str = ACCEPT_REMEDY) -> int:
    """Guarantee that the paper quotes only accepted values: any drift fails with one table.

    Parameters
    ----------
    numbers
        The build's numbers (``numbers.json`` records).
    ledger_path
        The ledger of locked values.
    remedy
        The sentence after the table: what to run next, spelled for this build.

    Returns
    -------
    int
        How many numbers were checked (all matched their locks).

    Raises
    ------
    LedgerError
        The ledger is malformed, or a number is new, missing, outside its tolerance,
        or changed its unit or printed text (the message holds the table of every such key).
    """
    ledger = load_ledger(ledger_path)
    rows = drift_rows(numbers, ledger)
    if rows:
        raise LedgerError(
            f"{len(rows)} number(s) differ from the ledger {ledger_path}:\n{format_table(rows)}\n{remedy}"
        )
    return len(numbers)


def default_tolerance(text: str) -> float:
    """A new key's tolerance: half a unit in the last printed digit, so its text cannot change.

    Parameters
    ----------
    text
        The number's printed form (``"99.70 %"``, ``"535 cycles"``, ``"C/10"``).

    Returns
    -------
    float
        ``0.005`` for two decimals, ``0.5`` for an integer, ``0`` for text that is
        not a plain number (it must stay equal).
    """
    head = text.split()[0] if text.split() else text
    if "." in head and head.replace(".", "", 1).lstrip("-").isdigit():
        return 0.5 * 10 ** -len(head.split(".")[1])
    return 0.5 if head.lstrip("-").isdigit() else 0


def _lock_value(value: Any) -> Any:
    """Locks keep 6 significant digits: enough for any tolerance, short in a diff."""
    return rounded_as_locked(value)


def accept(numbers: Mapping[str, Mapping[str, Any]], ledger_path: Path) -> list[str]:
    """Lock new values deliberately: rewrite only the locks, so the change is one reviewable diff.

    Lock, text and unit are rewritten; tolerance, published value, claim and quotation
    stay as the ledger has them; a new key gets the default tolerance; a key no longer
    computed is dropped.

    Parameters
    ----------
    numbers
        The build's numbers (``numbers.json`` records) to lock.
    ledger_path
        The ledger to rewrite (created when missing).

    Returns
    -------
    list of str
        One line per new, changed or dropped key; empty when the locks already match.

    Raises
    ------
    LedgerError
        The existing ledger is malformed.
    """
    import yaml

    ledger_path = Path(ledger_path)
    ledger = load_ledger(ledger_path) if ledger_path.exists() else {}
    changes, updated = [], {}
    for key, num in sorted(numbers.items()):
        entry = dict(ledger.get(key, {}))
        if not entry:
            entry = {"tolerance": default_tolerance(num["text"]), "published": None, "quoted": ""}
            changes.append(f"new      {key} = {num['text']}")
        elif (entry["locked"], entry["text"], entry["unit"]) != (_lock_value(num["value"]), num["text"], num["unit"]):
            changes.append(f"changed  {key}: {entry.get('text', entry['locked'])} -> {num['text']}")
        entry.update(locked=_lock_value(num["value"]), text=num["text"], unit=num["unit"])
        updated[key] = {f: entry[f] for f in LEDGER_FIELDS if f in entry}
    changes += [f"dropped  {key} (no longer computed)" for key in sorted(set(ledger) - set(numbers))]
    body = yaml.safe_dump(updated, sort_keys=False, allow_unicode=True, width=100)
    atomic.write_text(ledger_path, HEADER + body)
    return changes

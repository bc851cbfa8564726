"""The ledger of quoted numbers, the drift check, and accepting new values.

The ledger (``paper/ledger.yaml``) holds for each key the *locked* value and text,
the tolerance, the published value (null for quantities the paper only described in
words) and where the paper quotes it.  The drift check compares every computed
number with its lock.  Accepting new values is a deliberate command that rewrites
only the locks, so the change is one reviewable diff.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paperbuild import atomic
from paperbuild.errors import LedgerError
from paperbuild.numbers import agree

HEADER = """\
# The ledger of quoted numbers.  Each key is a number in build/numbers.json.
#   locked / text: the accepted value and its printed form (rewritten by `doit accept`)
#   tolerance:     the largest |computed - locked| that is not drift
#   published:     the value printed in Cheng et al., Joule 2020 (null: not quoted as a number)
#   claim:         what the paper says in words, where it gives no number
#   quoted:        where the paper quotes it
# Edit tolerance/published/claim/quoted by hand; change locks only with `doit accept`.
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
    twice is an error rather than "the last one wins".

    Parameters
    ----------
    path
        The ledger (``paper/ledger.yaml``).

    Returns
    -------
    dict
        Number key -> entry (at least ``locked`` and ``tolerance``); empty for an
        empty file.

    Raises
    ------
    LedgerError
        The file is missing, not YAML, not a mapping, repeats a key, or has an entry
        without ``locked`` or ``tolerance``.
    """
    import yaml

    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_strict_loader())
    except FileNotFoundError:
        raise LedgerError(f"{path}: ledger is missing") from None
    except LedgerError as err:
        raise LedgerError(f"{path}: {err}") from None
    except yaml.YAMLError as err:
        raise LedgerError(f"{path}: not valid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LedgerError(f"{path}: expected a mapping of number keys")
    for key, entry in data.items():
        if not isinstance(entry, dict) or "locked" not in entry or "tolerance" not in entry:
            raise LedgerError(f"{path}: entry {key!r} needs at least 'locked' and 'tolerance'")
    return data


def drift_rows(numbers: Mapping[str, Mapping[str, Any]], ledger: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    """List what stops the build: every key that is new, no longer computed, or outside its lock.

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
        ``step`` as text, sorted by key; empty when every number matches its lock.
    """
    rows = []
    for key in sorted(set(numbers) | set(ledger)):
        num, lock = numbers.get(key), ledger.get(key)
        if lock is None:
            rows.append(_row(key, "(not in ledger)", num["text"], "new key", "-", num["step"]))
        elif num is None:
            rows.append(_row(key, lock.get("text", lock["locked"]), "(not computed)", "missing", lock["tolerance"], "-"))
        else:
            agrees, diff = agree(num["value"], lock["locked"], float(lock["tolerance"]))
            if not agrees:
                rows.append(_row(key, lock.get("text", lock["locked"]), num["text"], diff, lock["tolerance"], num["step"]))
    return rows


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


def check_drift(numbers: Mapping[str, Any], ledger_path: Path) -> int:
    """Guarantee that the paper quotes only accepted values: any drift fails with one table.

    Parameters
    ----------
    numbers
        The build's numbers (``numbers.json`` records).
    ledger_path
        The ledger of locked values.

    Returns
    -------
    int
        How many numbers were checked (all matched their locks).

    Raises
    ------
    LedgerError
        The ledger is malformed, or a number is new, missing or outside its
        tolerance (the message holds the table of every such key).
    """
    ledger = load_ledger(ledger_path)
    rows = drift_rows(numbers, ledger)
    if rows:
        raise LedgerError(
            f"{len(rows)} number(s) differ from the ledger {ledger_path}:\n{format_table(rows)}\n"
            "If the change is intended, review it and run `doit accept` to lock the new values."
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
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, list):
        return [_lock_value(v) for v in value]
    return value


# Fields of a ledger entry, in the order they are written.  ``inputs_range`` names the
# number that gives the range a result can take given the rounding of its inputs.
LEDGER_FIELDS = ("locked", "text", "unit", "tolerance", "published", "inputs_range", "claim", "quoted")


def accept(numbers: Mapping[str, Mapping[str, Any]], ledger_path: Path) -> list[str]:
    """Lock new values deliberately: rewrite only the locks, so the change is one reviewable diff.

    Tolerance, published value, claim and quotation stay as the ledger has them; a
    new key gets the default tolerance; a key no longer computed is dropped.

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
        elif entry["locked"] != _lock_value(num["value"]):
            changes.append(f"changed  {key}: {entry.get('text', entry['locked'])} -> {num['text']}")
        entry.update(locked=_lock_value(num["value"]), text=num["text"], unit=num["unit"])
        updated[key] = {f: entry[f] for f in LEDGER_FIELDS if f in entry}
    changes += [f"dropped  {key} (no longer computed)" for key in sorted(set(ledger) - set(numbers))]
    body = yaml.safe_dump(updated, sort_keys=False, allow_unicode=True, width=100)
    atomic.write_text(ledger_path, HEADER + body)
    return changes

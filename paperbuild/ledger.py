"""The ledger of quoted numbers, the drift check, and accepting new values.

The ledger (``paper/ledger.yaml``) holds for each key the *locked* value and text,
the tolerance, the published value (null for quantities the paper only described in
words) and where the paper quotes it.  The drift check compares every computed
number with its lock.  Accepting new values is a deliberate command that rewrites
only the locks, so the change is one reviewable diff.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paperbuild import atomic
from paperbuild.errors import LedgerError

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
    """Read the ledger; every problem names the file (and line where YAML knows it)."""
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


def _differs(computed: Any, locked: Any, tolerance: float) -> tuple[bool, str]:
    """Whether computed drifted from locked, and the difference as text."""
    if isinstance(computed, bool) or isinstance(locked, bool) or isinstance(computed, str) or isinstance(locked, str):
        return computed != locked, "" if computed == locked else "changed"
    if isinstance(computed, list) or isinstance(locked, list):
        if not (isinstance(computed, list) and isinstance(locked, list)) or len(computed) != len(locked):
            return True, "shape changed"
        diffs = [_differs(c, l, tolerance) for c, l in zip(computed, locked)]
        return any(d for d, _ in diffs), ", ".join(t for _, t in diffs)
    difference = float(computed) - float(locked)
    if not math.isfinite(difference):
        return True, "not finite"
    return abs(difference) > tolerance + 1e-12, f"{difference:+.4g}"


def drift_rows(numbers: Mapping[str, Mapping[str, Any]], ledger: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    """One row per key that is unlocked, missing, or outside its tolerance."""
    rows = []
    for key in sorted(set(numbers) | set(ledger)):
        num, lock = numbers.get(key), ledger.get(key)
        if lock is None:
            rows.append(_row(key, "(not in ledger)", num["text"], "new key", "-", num["step"]))
        elif num is None:
            rows.append(_row(key, lock.get("text", lock["locked"]), "(not computed)", "missing", lock["tolerance"], "-"))
        else:
            drifted, diff = _differs(num["value"], lock["locked"], float(lock["tolerance"]))
            if drifted:
                rows.append(_row(key, lock.get("text", lock["locked"]), num["text"], diff, lock["tolerance"], num["step"]))
    return rows


def _row(key, locked, computed, difference, tolerance, step) -> dict[str, str]:
    return {"key": key, "locked": str(locked), "computed": str(computed),
            "difference": str(difference), "tolerance": str(tolerance), "step": str(step)}


def format_table(rows: list[dict[str, str]]) -> str:
    """A plain fixed-width table, readable in a terminal and in CI logs."""
    if not rows:
        return ""
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    line = lambda r: "  ".join(r[c].ljust(widths[c]) for c in columns).rstrip()
    return "\n".join([line({c: c for c in columns}), line({c: "-" * widths[c] for c in columns})] + [line(r) for r in rows])


def check_drift(numbers: Mapping[str, Any], ledger_path: Path) -> int:
    """Raise LedgerError with the drift table when any number moved; else return the count checked."""
    ledger = load_ledger(ledger_path)
    rows = drift_rows(numbers, ledger)
    if rows:
        raise LedgerError(
            f"{len(rows)} number(s) differ from the ledger {ledger_path}:\n{format_table(rows)}\n"
            "If the change is intended, review it and run `doit accept` to lock the new values."
        )
    return len(numbers)


def default_tolerance(text: str) -> float:
    """Half a unit in the last printed digit: the printed text may not change."""
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
    """Rewrite the ledger's locks from ``numbers``; return a line per change.

    Tolerance, published value, claim and quotation stay as the ledger has them; a
    new key gets the default tolerance; a key no longer computed is dropped.
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

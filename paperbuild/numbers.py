"""The number record: what every quoted number carries from analysis to article.

An analysis step returns :class:`Number` objects (key, value, unit, printed text).
The runner adds provenance (step, raw inputs with their hashes, hash of the code) and
writes one ``numbers/<step>.json`` per step; :func:`merge` joins them into
``numbers.json``, the single source the article, the drift check and the report read.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Union

from paperbuild import atomic
from paperbuild.errors import NumberKeyError

Value = Union[int, float, str, bool, list]

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+$")
RECORD_FIELDS = ("value", "unit", "text", "step", "inputs", "code")


@dataclass(frozen=True)
class Number:
    """One quoted number as an analysis computed it.

    ``text`` is the form printed in the paper (for example ``"76.4 nm"``); it is what
    the article shows, so its rounding is part of the result.  ``derived_from`` names
    the input files (among those the runner handed the step) that the value depends on;
    empty means all of the step's inputs.
    """

    key: str
    value: Value
    unit: str
    text: str
    derived_from: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        if not KEY_PATTERN.match(self.key):
            raise NumberKeyError(f"number key {self.key!r} is not of the form 'technique.name'")
        object.__setattr__(self, "value", _plain(self.value, self.key))
        object.__setattr__(self, "derived_from", tuple(Path(p) for p in self.derived_from))

    def from_inputs(self, *paths: Path | tuple[Path, ...]) -> "Number":
        """The same number, recorded as derived from only ``paths`` (files or tuples of files).

        Parameters
        ----------
        *paths
            Input paths exactly as the runner handed them to the step.

        Returns
        -------
        Number
            A copy whose provenance lists only those inputs.
        """
        flat: list[Path] = []
        for item in paths:
            flat.extend(item if isinstance(item, tuple) else (item,))
        return replace(self, derived_from=tuple(flat))


def quantity(key: str, value: float, unit: str, decimals: int) -> Number:
    """A measured number whose printed rounding is fixed here, once, not in the prose.

    Parameters
    ----------
    key
        The number's key, ``technique.name``.
    value
        The computed value (numpy scalars are fine).
    unit
        Its unit; printed after the value with a space (SI spacing), or nothing if empty.
    decimals
        Digits after the decimal point in the printed text.  The stored value keeps
        four more, so locks and tolerances see more than the text.

    Returns
    -------
    Number
        The value, its unit and its printed text (``"76.4 nm"``).

    Raises
    ------
    ValueError
        The value is not finite.
    NumberKeyError
        The key is not of the form ``technique.name``.
    """
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{key}: computed value is {value}")
    shown = f"{value:.{decimals}f}"
    return Number(key, round(value, decimals + 4), unit, f"{shown} {unit}".strip() if unit else shown)


def count(key: str, value: int, unit: str = "") -> Number:
    """A counted number (cycles, points, regions), stored and printed as an exact integer.

    Parameters
    ----------
    key
        The number's key, ``technique.name``.
    value
        The count (truncated to an integer).
    unit
        What is counted (``"cycles"``); kept in the record, not printed.

    Returns
    -------
    Number
        The count, with its decimal digits as the printed text.

    Raises
    ------
    NumberKeyError
        The key is not of the form ``technique.name``.
    """
    return Number(key, int(value), unit, str(int(value)))


def _plain(value: Any, key: str) -> Value:
    """Convert numpy scalars and tuples to JSON-native values."""
    if isinstance(value, bool) or value is None:
        if value is None:
            raise ValueError(f"{key}: value is None")
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, key) for v in value]
    if isinstance(value, str):
        return value
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, int):
        return value
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{key}: computed value is {value}")
    return value


def record(number: Number, step: str, inputs: Mapping[str, str], code: str) -> dict[str, Any]:
    """The one record shape every reader of ``numbers.json`` relies on: value plus provenance.

    Parameters
    ----------
    number
        The number as the step returned it.
    step
        The step that computed it.
    inputs
        Input name -> SHA-256 of the files it was derived from.
    code
        Hash of the step's source files.

    Returns
    -------
    dict
        The fields of ``RECORD_FIELDS``, inputs sorted by name.
    """
    return {
        "value": number.value,
        "unit": number.unit,
        "text": number.text,
        "step": step,
        "inputs": dict(sorted(inputs.items())),
        "code": code,
    }


def write_step_numbers(path: Path, step: str, numbers: Iterable[Number],
                       inputs: Mapping[str, Mapping[str, str]], code: str) -> None:
    """Write one step's numbers with provenance, sorted so an unchanged result is byte-identical.

    Parameters
    ----------
    path
        ``numbers/<step>.json`` in the staging folder.
    step
        The step's name.
    numbers
        What the step returned.
    inputs
        Number key -> the inputs (name -> SHA-256) that number was derived from.
    code
        Hash of the step's source files.

    Raises
    ------
    NumberKeyError
        A key is returned twice.
    """
    records: dict[str, Any] = {}
    for number in numbers:
        if number.key in records:
            raise NumberKeyError(f"step {step} returned {number.key} twice")
        records[number.key] = record(number, step, inputs[number.key], code)
    atomic.write_text(path, json.dumps(dict(sorted(records.items())), indent=2, ensure_ascii=False) + "\n")


def merge(paths: Iterable[Path]) -> dict[str, dict[str, Any]]:
    """Join per-step numbers files so each key has exactly one source step.

    Parameters
    ----------
    paths
        The per-step ``numbers/<step>.json`` files.

    Returns
    -------
    dict
        Key -> record, sorted by key.

    Raises
    ------
    NumberKeyError
        A file is missing or malformed (see :func:`load`), or two steps compute
        the same key.
    """
    merged: dict[str, dict[str, Any]] = {}
    for path in paths:
        for key, rec in load(path).items():
            if key in merged:
                raise NumberKeyError(f"{key} is computed by both {merged[key]['step']} and {rec['step']}")
            merged[key] = rec
    return dict(sorted(merged.items()))


def load(path: Path) -> dict[str, dict[str, Any]]:
    """Read a numbers file, refusing records that lack the contract's fields.

    Parameters
    ----------
    path
        A ``numbers.json`` or ``numbers/<step>.json``.

    Returns
    -------
    dict
        Key -> record with at least the fields of ``RECORD_FIELDS``.

    Raises
    ------
    NumberKeyError
        The file is missing, not JSON, or a record lacks a field.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NumberKeyError(f"{path}: numbers file is missing (has the build run?)") from None
    except json.JSONDecodeError as err:
        raise NumberKeyError(f"{path}: not valid JSON ({err})") from None
    for key, rec in data.items():
        missing = [f for f in RECORD_FIELDS if f not in rec]
        if missing:
            raise NumberKeyError(f"{path}: {key} lacks {', '.join(missing)}")
    return data


def write_merged(path: Path, merged: Mapping[str, Any]) -> None:
    """Write ``numbers.json`` atomically, so the article and report never read half a file.

    Parameters
    ----------
    path
        The merged ``numbers.json``.
    merged
        Key -> record (:func:`merge`).
    """
    atomic.write_text(path, json.dumps(merged, indent=2, ensure_ascii=False) + "\n")


LOCK_DIGITS = 6  # significant digits a ledger lock keeps: enough for any tolerance, short in a diff


def rounded_as_locked(value: Any) -> Any:
    """A value as the ledger stores it: floats to :data:`LOCK_DIGITS` significant digits.

    Integers, strings and booleans are returned unchanged, lists element by element.
    Rounding is idempotent, so a stored lock rounds to itself.

    Parameters
    ----------
    value
        A value as JSON holds it (number, string, boolean or list of those).

    Returns
    -------
    Any
        The value at lock precision.
    """
    if isinstance(value, float):
        return float(f"{value:.{LOCK_DIGITS}g}")
    if isinstance(value, list):
        return [rounded_as_locked(v) for v in value]
    return value


def agree(computed: Any, reference: Any, tolerance: float) -> tuple[bool, str]:
    """Whether two values of a number agree within ``tolerance``: the one test every check shares.

    The one comparison the drift check, the reproduction report and ``numdiff`` share,
    so a number cannot pass one and fail another.  Both values are first rounded as the
    ledger stores locks (:func:`rounded_as_locked`), so a tolerance of 0 means "equal to
    the stored lock" rather than "equal to digits the lock never kept".  Strings and
    booleans must be equal; lists must have the same length and agree element by
    element.  A relative epsilon of 1e-9 absorbs the binary rounding of values and
    locks, nothing more.

    Parameters
    ----------
    computed, reference
        Values as JSON holds them (number, string, boolean or list of those).
    tolerance
        The largest absolute difference that still agrees: a finite number >= 0.

    Returns
    -------
    tuple of (bool, str)
        Agreement, and the difference as text (``"+0.012"``, ``"changed"``, ``""``).

    Raises
    ------
    ValueError
        The tolerance is not a finite number >= 0 (the ledger refuses such tolerances
        on load, so this is a bug in the caller).
    """
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not math.isfinite(tolerance) \
            or tolerance < 0:
        raise ValueError(f"tolerance {tolerance!r} is not a finite number >= 0")
    return _agree(rounded_as_locked(computed), rounded_as_locked(reference), float(tolerance))


def _agree(computed: Any, reference: Any, tolerance: float) -> tuple[bool, str]:
    if any(isinstance(v, (bool, str)) for v in (computed, reference)):
        return computed == reference, "" if computed == reference else "changed"
    if isinstance(computed, list) or isinstance(reference, list):
        if not (isinstance(computed, list) and isinstance(reference, list)) or len(computed) != len(reference):
            return False, "shape changed"
        parts = [_agree(c, r, tolerance) for c, r in zip(computed, reference)]
        return all(ok for ok, _ in parts), ", ".join(text for _, text in parts)
    difference = float(computed) - float(reference)
    if not math.isfinite(difference):
        return False, "not finite"
    epsilon = 1e-9 * max(1.0, abs(float(computed)), abs(float(reference)))
    return abs(difference) <= tolerance + epsilon, f"{difference:+.4g}"

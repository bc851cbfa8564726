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
from dataclasses import dataclass
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
    the article shows, so its rounding is part of the result.
    """

    key: str
    value: Value
    unit: str
    text: str

    def __post_init__(self) -> None:
        if not KEY_PATTERN.match(self.key):
            raise NumberKeyError(f"number key {self.key!r} is not of the form 'technique.name'")
        object.__setattr__(self, "value", _plain(self.value, self.key))


def quantity(key: str, value: float, unit: str, decimals: int) -> Number:
    """A number printed with a fixed count of decimals and its unit (SI spacing)."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{key}: computed value is {value}")
    shown = f"{value:.{decimals}f}"
    return Number(key, round(value, decimals + 4), unit, f"{shown} {unit}".strip() if unit else shown)


def count(key: str, value: int, unit: str = "") -> Number:
    """An integer count (cycles, points, regions)."""
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
    """The JSON record of one number with its provenance."""
    return {
        "value": number.value,
        "unit": number.unit,
        "text": number.text,
        "step": step,
        "inputs": dict(sorted(inputs.items())),
        "code": code,
    }


def write_step_numbers(path: Path, step: str, numbers: Iterable[Number], inputs: Mapping[str, str], code: str) -> None:
    """Write one step's numbers file; a key given twice is an error."""
    records: dict[str, Any] = {}
    for number in numbers:
        if number.key in records:
            raise NumberKeyError(f"step {step} returned {number.key} twice")
        records[number.key] = record(number, step, inputs, code)
    atomic.write_text(path, json.dumps(dict(sorted(records.items())), indent=2, ensure_ascii=False) + "\n")


def merge(paths: Iterable[Path]) -> dict[str, dict[str, Any]]:
    """Join per-step numbers files; a key computed by two steps is an error."""
    merged: dict[str, dict[str, Any]] = {}
    for path in paths:
        for key, rec in load(path).items():
            if key in merged:
                raise NumberKeyError(f"{key} is computed by both {merged[key]['step']} and {rec['step']}")
            merged[key] = rec
    return dict(sorted(merged.items()))


def load(path: Path) -> dict[str, dict[str, Any]]:
    """Read a numbers file and check that every record has the contract's fields."""
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
    atomic.write_text(path, json.dumps(merged, indent=2, ensure_ascii=False) + "\n")

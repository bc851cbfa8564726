"""The accepted method accuracy: what the paper and the report quote from a validation.

``doit validate`` writes ``build/validation/validation.json`` (every realization, every
number).  ``doit accept`` keeps its per-number table as ``paper/accuracy.json``, beside
the ledger: the paper's ``{{< accuracy KEY >}}`` shortcode prints from it (so a fresh
clone renders without rerunning the validation), and the report judges a number
"reproduced" when the published value lies within the method's validated accuracy of
the computed one.  Two tolerances stay apart: the ledger's bounds drift between builds;
this file bounds the method's error against the truth.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paperbuild.errors import InputError

STATISTICS = ("rms", "worst", "bias", "goal")


def significant(value: float, digits: int = 2, signed: bool = False) -> str:
    """``value`` to ``digits`` significant digits in plain decimal notation (never 4.3e-05).

    A reader compares an accuracy with the number it qualifies, so it is printed as a
    plain decimal, not in scientific notation.

    Parameters
    ----------
    value
        The statistic.
    digits
        Significant digits kept.
    signed
        Prefix a positive value with "+" (a bias has a direction).

    Returns
    -------
    str
        The printed value.
    """
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:.{decimals}f}"
    return ("+" + text if value > 0 else text) if signed else text


def _with_unit(text: str, unit: str) -> str:
    return f"{text} {unit}".strip() if unit and unit not in ("", "a.u.") else text


def accepted(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a validation the paper quotes: per number its statistics and their printed forms.

    Parameters
    ----------
    summary
        The content of ``validation.json`` (:func:`paperbuild.validate.run_validation`).

    Returns
    -------
    dict
        ``realizations``, ``seeds`` (first and last), ``seconds``, ``sources`` (the
        hashes of the code and priors it was measured with) and per number ``n``,
        ``bias``, ``rms``, ``worst``, ``worst_seed``, ``goal``, ``unit``, ``verdict``,
        ``failures`` (a count) and ``text`` (each statistic printed with its unit).
    """
    numbers = {}
    for key, acc in summary["numbers"].items():
        unit = acc["unit"]
        texts = {stat: _with_unit(significant(acc[stat], signed=(stat == "bias")), unit)
                 for stat in STATISTICS if acc.get(stat) is not None}
        numbers[key] = {k: acc[k] for k in ("n", "bias", "rms", "worst", "worst_seed", "goal", "unit", "verdict")}
        numbers[key]["failures"] = len(acc["failures"])
        numbers[key]["text"] = texts
    return {"realizations": summary["realizations"], "seeds": [summary["seeds"][0], summary["seeds"][-1]],
            "seconds": summary["seconds"], "sources": summary.get("sources", {}), "numbers": numbers}


def write_accepted(validation_json: Path, target: Path) -> dict[str, Any]:
    """Keep the last validation's table as the accepted accuracy (``doit accept``).

    Parameters
    ----------
    validation_json
        The build's ``validation/validation.json``.
    target
        The accepted table, ``paper/accuracy.json`` (written atomically).

    Returns
    -------
    dict
        What was written (:func:`accepted`).
    """
    from paperbuild import atomic

    record = accepted(json.loads(Path(validation_json).read_text(encoding="utf-8")))
    atomic.write_text(target, json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return record


def load(path: Path) -> dict[str, Any]:
    """Read an accepted accuracy table, or fail with an error naming the file.

    Parameters
    ----------
    path
        ``paper/accuracy.json``.

    Returns
    -------
    dict
        Its content, with a ``numbers`` mapping.

    Raises
    ------
    InputError
        The file is missing (with the commands that make it), not JSON, or has no
        ``numbers`` mapping.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        from paperbuild.commands import doit

        raise InputError(path, f"no method accuracy yet: run `{doit('validate')}`, then `{doit('accept')}`") from None
    except json.JSONDecodeError as err:
        raise InputError(path, f"not valid JSON ({err})") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("numbers"), Mapping):
        raise InputError(path, "not an accuracy table (no 'numbers' mapping)")
    return dict(data)


def bound(entry: Mapping[str, Any] | None) -> float | None:
    """How far the computed value may lie from the truth, by the validation.

    Parameters
    ----------
    entry
        The number's row of the accepted table, or None.

    Returns
    -------
    float or None
        The declared goal when every realization met it, else the worst error measured
        (never less than was seen); None when the number was not validated, or any
        realization failed.
    """
    if not entry or entry.get("failures") or entry.get("n", 0) == 0 or entry.get("worst") is None:
        return None
    goal = entry.get("goal")
    if goal is not None and entry["worst"] <= goal:
        return float(goal)
    return float(entry["worst"])

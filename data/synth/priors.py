"""Plausible ground truths: draw a truth from the priors, and say what each quoted number should be.

The validation (``doit validate``) measures how far each analysis lands from the truth
over many synthetic realizations.  For that the synthetic instrument declares, per
technique, in ``data/synth/priors/<technique>.yaml``:

``ranges``
    truth key (a dotted path into ``truth.yaml``) -> how to draw it.  One of
    ``{uniform: [lo, hi]}`` (a float; for a list key, one ``[lo, hi]`` per element or
    one pair for all), ``{integers: [lo, hi]}`` (both ends included), ``{choice: [...]}``
    (one of the values), ``{shift: [lo, hi]}`` (a uniform offset added to truth.yaml's
    value, independently per element of a list), each optionally with
    ``above: other.key`` (the draw is added to the drawn value of that key, which is
    drawn first).  Keys not named keep truth.yaml's value.
``goals``
    quoted number key -> ``{goal: G, unit: U, why: "..."}``: the largest
    |computed - expected| the method claims for that number (``goal: 0`` for counts
    and exact facts), and the reason it has that value.  With ``relative: true`` the
    error is taken as a fraction of the expected value (for a ratio whose scale spans
    decades); its unit is then ``of the value``.

Each technique's forward-model module gives ``expected_numbers(truth)``: the value every
quoted number should take for that truth (:func:`expected_numbers` gathers them).
Nothing under ``analysis/`` may import this module or read these files.
"""
from __future__ import annotations

import copy
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from data.synth.truth import load_truth
from paperbuild.errors import InputError

PRIORS_DIR = Path(__file__).with_name("priors")
_KINDS = ("uniform", "integers", "choice", "shift")


def prior_files(folder: Path = PRIORS_DIR) -> list[Path]:
    """The technique files of the priors, in name order (the order keys are drawn in)."""
    return sorted(folder.glob("*.yaml"))


def load_priors(folder: Path = PRIORS_DIR) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """All ranges and all accuracy goals, each key declared once over the technique files.

    Raises
    ------
    InputError
        A file is not a mapping of ``ranges``/``goals``, a key is declared twice, a range
        has no known kind, or a goal lacks ``goal``, ``unit`` or ``why``; the message
        names the file and key.
    """
    ranges: dict[str, dict[str, Any]] = {}
    goals: dict[str, dict[str, Any]] = {}
    for path in prior_files(folder):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, Mapping) or set(data) - {"ranges", "goals"}:
            raise InputError(path, "a priors file holds two mappings, ranges and goals")
        for key, spec in (data.get("ranges") or {}).items():
            kinds = [k for k in _KINDS if k in spec] if isinstance(spec, Mapping) else []
            if len(kinds) != 1 or set(spec) - {*_KINDS, "above"}:
                raise InputError(path, f"range of {key}: give exactly one of {', '.join(_KINDS)} (and optionally above)")
            if key in ranges:
                raise InputError(path, f"range of {key} is declared in two priors files")
            ranges[key] = dict(spec, _file=path.name)
        for key, spec in (data.get("goals") or {}).items():
            if not isinstance(spec, Mapping) or {"goal", "unit", "why"} - set(spec) or \
                    set(spec) - {"goal", "unit", "why", "relative"}:
                raise InputError(path, f"goal of {key}: give goal, unit and why (and optionally relative: true)")
            if key in goals:
                raise InputError(path, f"goal of {key} is declared in two priors files")
            goals[key] = dict(spec, file=path.name)
    return ranges, goals


def _get(truth: Mapping[str, Any], key: str) -> Any:
    node: Any = truth
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(f"priors name truth key {key}, which truth.yaml does not have")
        node = node[part]
    return node


def _set(truth: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    node = truth
    for part in parents:
        node = node[part]
    node[last] = value


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays as plain Python values (YAML- and JSON-friendly)."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _draw_one(spec: Mapping[str, Any], current: Any, rng: np.random.Generator) -> Any:
    """One key's value: a list key is drawn element by element."""
    if "choice" in spec:
        options = spec["choice"]
        return copy.deepcopy(options[int(rng.integers(len(options)))])
    if "integers" in spec:
        lo, hi = spec["integers"]
        return int(rng.integers(int(lo), int(hi) + 1))
    if "uniform" in spec:
        bounds = spec["uniform"]
        if isinstance(current, list):
            pairs = bounds if isinstance(bounds[0], list) else [bounds] * len(current)
            return [float(rng.uniform(lo, hi)) for lo, hi in pairs]
        return float(rng.uniform(*bounds))
    lo, hi = spec["shift"]
    if isinstance(current, list):
        return [float(v + rng.uniform(lo, hi)) for v in current]
    return float(current + rng.uniform(lo, hi))


def draw_truth(seed: int, folder: Path = PRIORS_DIR, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A truth drawn from the priors; the same ``seed`` always gives the same truth.

    Parameters
    ----------
    seed
        The draw's seed (also the realization's name in the validation).
    folder
        The priors folder.
    base
        The truth whose keys the priors replace; truth.yaml when None.

    Returns
    -------
    dict
        A complete truth, ready for :func:`data.synth.tree.write_tree`.
    """
    ranges, _ = load_priors(folder)
    truth = copy.deepcopy(dict(base) if base is not None else load_truth())
    truth["seed"] = int(seed)  # the forward models' noise follows the realization's seed
    # keys that others are drawn above come first; otherwise the files' order
    order = sorted(ranges, key=lambda k: 0 if any(s.get("above") == k for s in ranges.values()) else 1)
    for key in order:
        spec = ranges[key]
        # one stream per key: adding or editing one prior leaves every other key's draw as it was
        rng = np.random.default_rng([20201001, int(seed), zlib.crc32(key.encode("utf-8"))])
        value = _draw_one(spec, _get(truth, key), rng)
        if spec.get("above"):
            anchor = _get(truth, spec["above"])
            value = [a + v for a, v in zip(anchor, value)] if isinstance(anchor, list) else anchor + value
        _set(truth, key, _plain(value))
    return truth


def _technique_expectations() -> list[Callable[[Mapping[str, Any]], dict[str, Any]]]:
    from data.synth import dft, hrtem, microscope, potentiostat, xps, xrd

    modules = [potentiostat, microscope, hrtem, dft, xps, xrd]
    return [m.expected_numbers for m in modules if hasattr(m, "expected_numbers")]


def expected_numbers(truth: Mapping[str, Any]) -> dict[str, Any]:
    """Every quoted number the truth determines, as the analysis should find it."""
    expected: dict[str, Any] = {}
    for technique in _technique_expectations():
        for key, value in technique(truth).items():
            if key in expected:
                raise ValueError(f"two forward models give the expected value of {key}")
            expected[key] = _plain(value)
    return expected


def load_goals(folder: Path = PRIORS_DIR) -> dict[str, dict[str, Any]]:
    """The accuracy goal of every quoted number the priors cover (see :func:`load_priors`)."""
    return load_priors(folder)[1]


def dump_truth(truth: Mapping[str, Any], path: Path) -> None:
    """Write a drawn truth as YAML, so ``python -m data.synth --truth FILE`` writes its tree again."""
    header = "# A truth drawn from data/synth/priors (python -m data.synth --truth THIS_FILE --out DIR)\n"
    Path(path).write_text(header + yaml.safe_dump(dict(truth), sort_keys=False, allow_unicode=True),
                          encoding="utf-8")


def instrument(sections: tuple[str, ...] | None = None):
    """The synthetic instrument as :mod:`paperbuild.validate` needs it."""
    from data.synth.tree import write_tree
    from paperbuild.validate import Instrument

    return Instrument(draw_truth=draw_truth, write_tree=write_tree, expected_numbers=expected_numbers,
                      load_goals=load_goals, dump_truth=dump_truth, sections=sections)

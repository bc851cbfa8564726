"""Forward model of galvanostatic cycling of an LNMO cathode against lithium.

Per cycle it fixes the charge and discharge capacities from a Coulombic-efficiency
series and a slow fade, then draws each half cycle's voltage along LNMO's profile
(the small Mn3+/4+ step near 4.0 V and the long Ni plateau near 4.7 V) so that it ends
exactly at the cut-off voltage, as a potentiostat's limit would stop it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.interpolate import PchipInterpolator

# Normalized state of the half cycle -> voltage (V): LNMO vs Li, near equilibrium.
_CHARGE = PchipInterpolator(
    [0.00, 0.01, 0.05, 0.08, 0.11, 0.14, 0.50, 0.53, 0.90, 0.96, 1.00],
    [3.62, 3.90, 4.00, 4.06, 4.55, 4.68, 4.71, 4.74, 4.77, 4.86, 5.10],
)
_DISCHARGE = PchipInterpolator(
    [0.00, 0.03, 0.08, 0.45, 0.48, 0.85, 0.88, 0.91, 0.95, 0.98, 1.00],
    [4.95, 4.76, 4.71, 4.68, 4.65, 4.61, 4.30, 4.03, 3.96, 3.82, 3.50],
)


# The CE windows whose floors the truth gives: (first cycle, truth key), in cycle order.
FLOOR_WINDOWS = ((100, "ce_floor_after_100"), (400, "ce_floor_after_400"))
# The random stream of each cell (data.synth.tree.write_echem draws with [seed, stream]).
RNG_STREAM = {"echem": 0, "liquid": 1}


@dataclass(frozen=True)
class Protocol:
    """Which cycles run slow, at what rates, within which window."""

    cycles: int
    slow_cycles: tuple[int, ...]
    slow_rate_C: float
    fast_rate_C: float
    voltage_min_V: float
    voltage_max_V: float
    nominal_capacity_mAh: float


def ce_series(cfg: dict[str, Any], slow: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Coulombic efficiency (%) per cycle: low formation cycles, an early rise, noise.

    The floors of the truth (lowest CE from cycle 100 on, from cycle 400 on) are
    imposed exactly, each reached by one fast cycle, so the measured floor is the truth.
    The cycle that reaches a floor lies before the next window starts: from there on the
    next (higher) floor lifts every cycle, and would lift that one too.

    Raises
    ------
    ValueError
        The truth's floor from cycle 400 on lies below the one from cycle 100 on, which
        no cell can show (the later window is part of the earlier one).
    """
    n = np.arange(1, len(slow) + 1)
    fast = ~slow
    ce = cfg["ce_plateau_pct"] - (cfg["ce_plateau_pct"] - cfg["ce_fast_start_pct"]) * np.exp(
        -(n - 3) / cfg["ce_rise_cycles"]
    )
    ce = ce + rng.normal(0.0, cfg["ce_noise_pct"], size=n.size)
    floors = [(start, key) for start, key in FLOOR_WINDOWS if key in cfg]
    levels = [cfg[key] for _, key in floors]
    if levels != sorted(levels):
        raise ValueError(f"CE floors {dict(zip((k for _, k in floors), levels))} fall with the cycle number; "
                         "a later window's floor cannot lie below an earlier one's")
    for index, (window_start, key) in enumerate(floors):
        window = fast & (n >= window_start)
        if not window.any():
            continue
        floor = cfg[key]
        ce[window] = np.maximum(ce[window], floor + 0.004)
        next_start = floors[index + 1][0] if index + 1 < len(floors) else n.size + 1
        own = np.flatnonzero(window & (n < next_start))
        # drawn over the whole window first (as data/raw was written); a cycle the next
        # window would lift is drawn again among the window's own cycles, which keeps the
        # draw uniform over them
        pick = rng.choice(np.flatnonzero(window))
        if own.size and pick not in own:
            pick = rng.choice(own)
        ce[pick] = floor
    if "ce_ceiling_pct" in cfg:
        ce = np.minimum(ce, cfg["ce_ceiling_pct"])
    first = cfg["ce_first_cycles_pct"]
    ce[: len(first)] = first
    if "ce_last_slow_pct" in cfg and slow[-1]:
        ce[-1] = cfg["ce_last_slow_pct"]
    return np.minimum(ce, 99.995)


def capacities(cfg: dict[str, Any], slow: np.ndarray, ce: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Charge and discharge capacity (mAh) per cycle."""
    n = np.arange(1, len(slow) + 1)
    fraction = np.where(slow, cfg["slow_capacity_fraction"], cfg["slow_capacity_fraction"] * cfg["fast_capacity_fraction"])
    discharge = cfg["nominal_capacity_mAh"] * fraction * (1 - cfg["fade_pct_per_cycle"] / 100) ** (n - 1)
    return discharge / (ce / 100), discharge


def half_cycle_voltage(s: np.ndarray, charging: bool, rate_C: float, proto: Protocol, cfg: dict[str, Any],
                       rng: np.random.Generator) -> np.ndarray:
    """Voltage along one half cycle (s from 0 to 1), ending on the cut-off."""
    lo, hi = proto.voltage_min_V, proto.voltage_max_V
    eta = cfg["overpotential_V_per_C"] * rate_C
    if charging:
        shape = _CHARGE(s)
        v = lo + (shape - 3.5) * (hi - lo) / (5.10 - 3.5) + eta * (1 - s**8)
    else:
        shape = _DISCHARGE(s)
        v = lo + (shape - 3.5) * (hi - lo) / (5.10 - 3.5) - eta * (1 - s**8)
    v = v + rng.normal(0.0, cfg["voltage_noise_V"], size=s.size)
    v = np.clip(v, lo, hi)
    v[-1] = hi if charging else lo
    return v


def protocol_from(cfg: dict[str, Any]) -> Protocol:
    """The thin-film protocol: C/10 at 1, 2 and the last cycle; the liquid one: formation, then steady."""
    cycles = int(cfg["cycles"])
    if "formation_cycles" in cfg:
        slow = tuple(range(1, int(cfg["formation_cycles"]) + 1))
        return Protocol(cycles, slow, cfg["formation_rate_C"], cfg["rate_C"], cfg["voltage_min_V"],
                        cfg["voltage_max_V"], cfg["nominal_capacity_mAh"])
    return Protocol(cycles, (1, 2, cycles), cfg["slow_rate_C"], cfg["fast_rate_C"], cfg["voltage_min_V"],
                    cfg["voltage_max_V"], cfg["nominal_capacity_mAh"])


def simulate(cfg: dict[str, Any], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """All recorded points of a GCPL run, as EC-Lab columns (see :mod:`data.synth.eclab`).

    Among them EC-Lab's ``Efficiency/%`` (Q discharge / Q charge of the cycle so far),
    which an export carries only when the experimenter ticked it (the writer decides).
    """
    proto = protocol_from(cfg)
    slow = np.isin(np.arange(1, proto.cycles + 1), proto.slow_cycles)
    ce = ce_series(cfg, slow, rng)
    q_charge, q_discharge = capacities(cfg, slow, ce)
    columns: dict[str, list[np.ndarray]] = {k: [] for k in (
        "mode", "ox/red", "control changes", "Ns changes", "Ns", "time/s", "control/mA", "Ewe/V", "I/mA",
        "dq/mA.h", "(Q-Qo)/mA.h", "Q charge/discharge/mA.h", "Efficiency/%", "half cycle", "cycle number")}
    t0, q_total, half = 0.0, 0.0, 0
    for index in range(proto.cycles):
        rate = proto.slow_rate_C if slow[index] else proto.fast_rate_C
        points = cfg["points_per_slow_half_cycle"] if slow[index] else cfg["points_per_fast_half_cycle"]
        current = rate * proto.nominal_capacity_mAh  # mA
        for charging, capacity in ((True, q_charge[index]), (False, q_discharge[index])):
            s = np.linspace(0.0, 1.0, points)
            q = s * capacity
            seconds = q / current * 3600.0
            sign = 1.0 if charging else -1.0
            measured = sign * current * (1 + rng.normal(0.0, cfg["current_noise_rel"], size=points))
            dq = np.diff(q, prepend=0.0) * sign
            changes = np.zeros(points, dtype=int)
            changes[0] = 1
            columns["mode"].append(np.ones(points, dtype=int))
            columns["ox/red"].append(np.full(points, int(charging)))
            columns["control changes"].append(changes)
            columns["Ns changes"].append(changes)
            columns["Ns"].append(np.full(points, 0 if charging else 1))
            columns["time/s"].append(t0 + seconds)
            columns["control/mA"].append(np.full(points, sign * current))
            columns["Ewe/V"].append(half_cycle_voltage(s, charging, rate, proto, cfg, rng))
            columns["I/mA"].append(measured)
            columns["dq/mA.h"].append(dq)
            columns["(Q-Qo)/mA.h"].append(q_total + sign * q)
            columns["Q charge/discharge/mA.h"].append(sign * q)
            # EC-Lab's running Q discharge / Q charge of the cycle: 0 while charging, the
            # cycle's CE at its last point (the last non-zero value of the cycle)
            columns["Efficiency/%"].append(np.zeros(points) if charging else 100.0 * q / q_charge[index])
            columns["half cycle"].append(np.full(points, half))
            columns["cycle number"].append(np.full(points, index))
            t0 += seconds[-1] + 1.0
            q_total += sign * capacity
            half += 1
    return {k: np.concatenate(v) for k, v in columns.items()}


def cell_ce(cfg: dict[str, Any], seed: int, section: str) -> tuple[np.ndarray, np.ndarray]:
    """The CE series (%) a cell's export holds, and which of its cycles are slow.

    The same draw :func:`simulate` makes first from the cell's stream ``[seed,
    RNG_STREAM[section]]``, so it is the series the instrument recorded.
    """
    proto = protocol_from(cfg)
    slow = np.isin(np.arange(1, proto.cycles + 1), proto.slow_cycles)
    rng = np.random.default_rng([int(seed), RNG_STREAM[section]])
    return ce_series(cfg, slow, rng), slow


def expected_numbers(truth: dict[str, Any]) -> dict[str, Any]:
    """The values the quoted electrochemistry numbers take for ``truth``.

    Rates, window and floors are the truth's own; the retention is the noise-free
    discharge capacity of the closing slow cycle over that of the second slow cycle
    (:func:`capacities`, whose discharge capacities carry no noise); the liquid cell's
    best CE is the highest steady-cycle CE of the series the instrument recorded.
    """
    cell = truth["echem"]
    proto = protocol_from(cell)
    slow = np.isin(np.arange(1, proto.cycles + 1), proto.slow_cycles)
    _, discharge = capacities(cell, slow, np.full(proto.cycles, 100.0))
    check_ups = sorted(proto.slow_cycles)
    expected: dict[str, Any] = {
        "echem.cycles": proto.cycles,
        "echem.fast_rate_C": float(cell["fast_rate_C"]),
        "echem.slow_rate_C": float(cell["slow_rate_C"]),
        "echem.voltage_min_V": float(cell["voltage_min_V"]),
        "echem.voltage_max_V": float(cell["voltage_max_V"]),
        "echem.capacity_retention_pct": float(100.0 * discharge[check_ups[-1] - 1] / discharge[check_ups[1] - 1]),
    }
    for _, key in FLOOR_WINDOWS:
        if key in cell:
            expected[f"echem.{key}"] = float(cell[key])
    ce, liquid_slow = cell_ce(truth["liquid"], truth["seed"], "liquid")
    expected["liquid.ce_max"] = float(np.max(ce[~liquid_slow]))
    return expected

"""Galvanostatic cycling: Coulombic efficiency, rates and voltage window (Fig 1A, 1B, S1).

Reads EC-Lab text exports with galvani's maintained ``MPTfile`` reader.  The pure
functions work on the per-point columns; :func:`run` is the only file I/O.

Definitions (stated in the supplement's methods):

* a *cycle* is one charge followed by one discharge (EC-Lab's "cycle number"); only
  complete cycles count;
* Coulombic efficiency (CE) = discharge capacity / charge capacity of the same cycle
  (the cells are cathode-limited and start charged-first);
* a cycle's C-rate = median |I| over the cycle / the nominal capacity the experimenter
  entered in EC-Lab ("Battery capacity"), which is how EC-Lab sets C/N currents;
* the *steady* cycles run at the rate most cycles use; the others (formation and
  check-up cycles) are the slow ones;
* the voltage window = median over half cycles of the end-of-charge maximum and the
  end-of-discharge minimum, so a single overshoot does not move it.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paperbuild.errors import InputError
from paperbuild.numbers import Number, count, quantity

THIN_FILM = "echem/thin_film_cell.mpt"
LIQUID = "echem/liquid_cell.mpt"
REQUIRED_COLUMNS = ("mode", "ox/red", "time/s", "Ewe/V", "I/mA", "Q charge/discharge/mA.h", "half cycle", "cycle number")
_CAPACITY_LINE = re.compile(rb"^Battery capacity : ([-+0-9.eE]+) (A\.h|mA\.h|\xb5A\.h|uA\.h)\s*$")
_CAPACITY_SCALE_TO_MAH = {b"A.h": 1e3, b"mA.h": 1.0, b"\xb5A.h": 1e-3, b"uA.h": 1e-3}


@dataclass(frozen=True)
class Cycles:
    """Per-cycle results of one cell; arrays share the cycle axis."""

    cycle: np.ndarray         # 1-based cycle number
    q_charge_mAh: np.ndarray
    q_discharge_mAh: np.ndarray
    rate_C: np.ndarray
    v_charge_end_V: np.ndarray
    v_discharge_end_V: np.ndarray

    @property
    def ce_pct(self) -> np.ndarray:
        return 100.0 * self.q_discharge_mAh / self.q_charge_mAh

    @property
    def steady(self) -> np.ndarray:
        """Cycles at the rate most cycles use (within 20 %)."""
        typical = np.median(self.rate_C)
        return np.abs(self.rate_C / typical - 1.0) < 0.2


# --------------------------------------------------------------------------- reading
def read_mpt(path: Path) -> tuple[np.ndarray, float]:
    """Points of an EC-Lab ``.mpt`` export and its nominal capacity (mAh).

    Every problem a user's file can have ends in an InputError naming the file.
    """
    from galvani import BioLogic

    path = Path(path)
    try:
        # galvani leaves a path it opened unclosed; hand it a file we close ourselves
        with open(path, "rb") as handle, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns on empty data; reported below
            data, comments = BioLogic.MPTfile(handle, encoding="windows-1252")
    except FileNotFoundError:
        raise InputError(path, "file is missing") from None
    except (ValueError, StopIteration, AttributeError, UnicodeDecodeError) as err:
        raise InputError(path, f"not a readable EC-Lab text export ({err or 'file ends early'})") from None
    if not _ends_with_newline(path):
        raise InputError(path, "ends in the middle of a row: the export is truncated")
    names = data.dtype.names or ()
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}")
    if data.size == 0:
        raise InputError(path, "has a header but no data rows")
    for column in ("time/s", "Ewe/V", "I/mA", "Q charge/discharge/mA.h"):
        if not np.all(np.isfinite(data[column])):
            raise InputError(path, f"column {column} holds non-finite values")
    return data, nominal_capacity_mAh(comments, path)


def _ends_with_newline(path: Path) -> bool:
    """EC-Lab ends every row with CRLF; a file that does not was cut short."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        if handle.tell() == 0:
            return False
        handle.seek(-1, 2)
        return handle.read(1) == b"\n"


def nominal_capacity_mAh(header: list[bytes], path: Path) -> float:
    """The 'Battery capacity' EC-Lab records in the header, in mAh."""
    for line in header:
        match = _CAPACITY_LINE.match(line.rstrip(b"\r\n"))
        if match:
            value = float(match.group(1)) * _CAPACITY_SCALE_TO_MAH[match.group(2)]
            if value <= 0:
                raise InputError(path, f"header 'Battery capacity' is {value} mAh; C-rates need a positive capacity")
            return value
    raise InputError(path, "header has no 'Battery capacity' line; C-rates cannot be computed")


# --------------------------------------------------------------------------- computing
def per_cycle(data: np.ndarray, capacity_mAh: float) -> Cycles:
    """Reduce points to complete cycles (one charge then one discharge)."""
    active = data[data["mode"] == 1]  # galvanostatic points; rests carry no capacity
    half = active["half cycle"]
    starts = np.flatnonzero(np.r_[True, half[1:] != half[:-1]])
    ends = np.r_[starts[1:], half.size]
    charge: dict[int, tuple[float, float, float]] = {}
    discharge: dict[int, tuple[float, float, float]] = {}
    for a, b in zip(starts, ends):
        seg = active[a:b]
        cycle = int(seg["cycle number"][0])
        q = float(np.max(np.abs(seg["Q charge/discharge/mA.h"])))
        amps = float(np.median(np.abs(seg["I/mA"])))
        if seg["ox/red"][0]:
            charge[cycle] = (q, amps, float(np.max(seg["Ewe/V"])))
        else:
            discharge[cycle] = (q, amps, float(np.min(seg["Ewe/V"])))
    complete = sorted(set(charge) & set(discharge))
    if not complete:
        raise ValueError("no complete charge/discharge cycle")
    qc, ic, vc = (np.array(v) for v in zip(*(charge[c] for c in complete)))
    qd, idis, vd = (np.array(v) for v in zip(*(discharge[c] for c in complete)))
    cycle = np.array(complete) - min(complete) + 1
    return Cycles(cycle, qc, qd, (ic + idis) / 2 / capacity_mAh, vc, vd)


def ce_floor(cycles: Cycles, from_cycle: int) -> float:
    """Lowest CE among steady cycles numbered ``from_cycle`` or later."""
    window = cycles.steady & (cycles.cycle >= from_cycle)
    if not window.any():
        raise ValueError(f"no steady cycle at or after cycle {from_cycle}")
    return float(np.min(cycles.ce_pct[window]))


def capacity_retention_pct(cycles: Cycles) -> float:
    """Discharge capacity of the last slow cycle over the second slow cycle."""
    slow = np.flatnonzero(~cycles.steady)
    if slow.size < 3:
        raise ValueError("retention needs at least three slow (check-up) cycles")
    return float(100.0 * cycles.q_discharge_mAh[slow[-1]] / cycles.q_discharge_mAh[slow[1]])


def rate_text(rate_C: float) -> str:
    """C-rates as cyclers print them: '5C', 'C/10'."""
    return f"{rate_C:.0f}C" if rate_C >= 1 else f"C/{1 / rate_C:.0f}"


def thin_film_numbers(cycles: Cycles, ce_floor_cycles: tuple[int, int]) -> list[Number]:
    steady = cycles.steady
    fast = float(np.median(cycles.rate_C[steady]))
    slow = float(np.median(cycles.rate_C[~steady]))
    first, second = ce_floor_cycles
    return [
        count("echem.cycles", cycles.cycle.size, "cycles"),
        Number("echem.fast_rate_C", round(fast, 4), "C", rate_text(fast)),
        Number("echem.slow_rate_C", round(slow, 5), "C", rate_text(slow)),
        quantity("echem.voltage_min_V", np.median(cycles.v_discharge_end_V), "V", 2),
        quantity("echem.voltage_max_V", np.median(cycles.v_charge_end_V), "V", 2),
        quantity(f"echem.ce_floor_after_{first}", ce_floor(cycles, first), "%", 2),
        quantity(f"echem.ce_floor_after_{second}", ce_floor(cycles, second), "%", 2),
        quantity("echem.capacity_retention_535", capacity_retention_pct(cycles), "%", 1),
    ]


def liquid_numbers(cycles: Cycles) -> list[Number]:
    steady = cycles.steady
    return [quantity("liquid.ce_max", np.max(cycles.ce_pct[steady]), "%", 2)]


# --------------------------------------------------------------------------- tables
CYCLE_COLUMNS = "cycle,rate_C,steady,q_charge_uAh,q_discharge_uAh,ce_pct"


def cycle_table(cycles: Cycles) -> np.ndarray:
    return np.column_stack([cycles.cycle, cycles.rate_C, cycles.steady.astype(int),
                            cycles.q_charge_mAh * 1e3, cycles.q_discharge_mAh * 1e3, cycles.ce_pct])


def profile_table(data: np.ndarray, cycles: Cycles) -> np.ndarray:
    """Voltage vs capacity of the slow cycles (Fig 1A): cycle, half (1 = charge), µAh, V."""
    first = int(np.min(data["cycle number"]))
    rows = []
    for number in cycles.cycle[~cycles.steady]:
        seg = data[(data["cycle number"] == number - 1 + first) & (data["mode"] == 1)]
        q = np.abs(seg["Q charge/discharge/mA.h"]) * 1e3
        rows.append(np.column_stack([np.full(q.size, number), seg["ox/red"], q, seg["Ewe/V"]]))
    return np.vstack(rows)


def _save_csv(path: Path, table: np.ndarray, columns: str, fmt: str = "%.9g") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, table, delimiter=",", header=columns, comments="", fmt=fmt)


def _cycles_of(path: Path) -> tuple[np.ndarray, Cycles]:
    data, capacity = read_mpt(path)
    try:
        return data, per_cycle(data, capacity)
    except ValueError as err:
        raise InputError(path, str(err)) from None


# --------------------------------------------------------------------------- edge
def run(raw: Path, out: Path, ce_floor_cycles: tuple[int, int] = (100, 400)) -> list[Number]:
    """Both cells: per-cycle tables and voltage profiles for the figures, and the numbers."""
    data, thin = _cycles_of(raw / THIN_FILM)
    _, liquid = _cycles_of(raw / LIQUID)
    numbers = []
    for path, compute in ((THIN_FILM, lambda: thin_film_numbers(thin, tuple(ce_floor_cycles))),
                          (LIQUID, lambda: liquid_numbers(liquid))):
        try:
            numbers += compute()
        except ValueError as err:
            raise InputError(raw / path, str(err)) from None
    _save_csv(out / "data/echem_thin_film_cycles.csv", cycle_table(thin), CYCLE_COLUMNS)
    _save_csv(out / "data/echem_liquid_cycles.csv", cycle_table(liquid), CYCLE_COLUMNS)
    _save_csv(out / "data/echem_thin_film_profiles.csv", profile_table(data, thin), "cycle,charge,capacity_uAh,voltage_V")
    return numbers

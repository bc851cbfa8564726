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
* the *steady* cycles run at the current most cycles use; the others (formation and
  check-up cycles) are the slow ones (the capacity cancels, so this needs none);
* the voltage window = median over half cycles of the end-of-charge maximum and the
  end-of-discharge minimum, so a single overshoot does not move it.

Exports are accepted as they arrive: CRLF (as EC-Lab writes them) or LF (after a git
checkout that normalises line endings), with or without a "Battery capacity" header line
(without one, CE and everything else is computed; only C-rates are refused).  Before any
number is computed the points must be physically possible: finite, voltages within the
range a potentiostat records, and a non-zero current whose sign agrees with EC-Lab's
ox/red flag, so swapped or mislabelled columns are named instead of yielding NaN rates.
"""
from __future__ import annotations

import io
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis import datatable
from paperbuild.errors import InputError
from paperbuild.numbers import Number, count, quantity

REQUIRED_COLUMNS = ("mode", "ox/red", "time/s", "Ewe/V", "I/mA", "Q charge/discharge/mA.h", "half cycle", "cycle number")
_MAGIC = (b"EC-Lab ASCII FILE", b"BT-Lab ASCII FILE")
_CAPACITY_LINE = re.compile(rb"^Battery capacity :\s*(\S*)\s*(\S*)\s*$")
_CAPACITY_SCALE_TO_MAH = {b"A.h": 1e3, b"mA.h": 1.0, b"\xb5A.h": 1e-3, b"uA.h": 1e-3}
# BioLogic potentiostats control and record Ewe within +-10 V: a value beyond it is not a
# cell voltage (another quantity sits in the Ewe/V column).
RECORDABLE_VOLTAGE_V = 10.0
NO_CAPACITY = ("header lacks the cell's capacity (no 'Battery capacity' line, or 0 as EC-Lab writes when none "
               "was entered), so the C-rates the paper quotes (echem.fast_rate_C, echem.slow_rate_C) cannot be "
               "computed; Coulombic efficiency does not need it (enter the capacity in EC-Lab and export again)")


class NoCapacityError(ValueError):
    """A C-rate was asked of an export whose header gives no nominal capacity."""

    def __init__(self) -> None:
        super().__init__(NO_CAPACITY)


@dataclass(frozen=True)
class Cycles:
    """Per-cycle results of one cell; arrays share the cycle axis.

    ``capacity_mAh`` is the nominal capacity from the export's header, or None when the
    header gives none; only :attr:`rate_C` needs it.
    """

    cycle: np.ndarray         # 1-based cycle number
    q_charge_mAh: np.ndarray
    q_discharge_mAh: np.ndarray
    current_mA: np.ndarray    # mean of the charge and discharge half cycles' median |I|
    v_charge_end_V: np.ndarray
    v_discharge_end_V: np.ndarray
    steady_rate_tolerance: float
    capacity_mAh: float | None = None

    @property
    def ce_pct(self) -> np.ndarray:
        return 100.0 * self.q_discharge_mAh / self.q_charge_mAh

    @property
    def rate_C(self) -> np.ndarray:
        """C-rate per cycle: current over the nominal capacity.

        Raises
        ------
        NoCapacityError
            The export's header gives no capacity.
        """
        if self.capacity_mAh is None:
            raise NoCapacityError()
        return self.current_mA / self.capacity_mAh

    @property
    def steady(self) -> np.ndarray:
        """Cycles at the current most cycles use (within ``steady_rate_tolerance``, relative).

        The same cycles as at the rate most cycles use: the capacity cancels.
        """
        typical = np.median(self.current_mA)
        return np.abs(self.current_mA / typical - 1.0) < self.steady_rate_tolerance


# --------------------------------------------------------------------------- reading
def read_mpt(path: Path) -> tuple[np.ndarray, float | None]:
    """Read an EC-Lab ``.mpt`` export, refusing anything the cycle analysis could not trust.

    CRLF and LF line endings (and a mix) are read alike: galvani's reader insists on
    CRLF, so the text is normalised in memory before it is handed over.  Every problem a
    user's file can have ends in an InputError naming the file.

    Parameters
    ----------
    path
        The EC-Lab text export.

    Returns
    -------
    data : numpy.ndarray
        Structured array of the points, with at least ``REQUIRED_COLUMNS``.
    capacity_mAh : float or None
        The nominal capacity the experimenter entered (:func:`nominal_capacity_mAh`);
        None when the header gives none (then only C-rates cannot be computed).

    Raises
    ------
    InputError
        The file is missing or unreadable, not an EC-Lab text export, truncated, lacks a
        required column or data rows, holds non-finite or physically impossible values
        (:func:`check_physical`), or has a malformed 'Battery capacity' line.
    """
    from galvani import BioLogic

    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file is missing") from None
    except OSError as err:
        raise InputError(path, f"cannot be read ({err.strerror or err})") from None
    if not raw:
        raise InputError(path, "is empty")
    # EC-Lab writes CRLF; a git checkout may leave LF (or an editor a mix): make it CRLF
    text = raw if raw.count(b"\n") == raw.count(b"\r\n") else re.sub(rb"\r*\n", b"\r\n", raw)
    end = text.find(b"\r\n")
    first = text[:end] if end >= 0 else text[:80]
    if first not in _MAGIC:
        shown = first[:40].decode("windows-1252", errors="replace")
        raise InputError(path, f"not an EC-Lab text export (first line is {shown!r}, not 'EC-Lab ASCII FILE')")
    if not text.endswith(b"\n"):
        raise InputError(path, "ends in the middle of a row: the export is truncated")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns on empty data; reported below
            data, comments = BioLogic.MPTfile(io.BytesIO(text), encoding="windows-1252")
    except (ValueError, StopIteration, AttributeError, UnicodeDecodeError) as err:
        raise InputError(path, f"not a readable EC-Lab text export ({err or 'file ends early'})") from None
    names = data.dtype.names or ()
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}")
    if data.size == 0:
        raise InputError(path, "has a header but no data rows")
    check_physical(data, path)
    return data, nominal_capacity_mAh(comments, path)


def check_physical(data: np.ndarray, path: Path) -> None:
    """Refuse points no cell and no potentiostat can produce, naming the column.

    Swapped or mislabelled columns (current and voltage exchanged, time in the voltage
    column) would otherwise flow on into NaN or absurd rates.  EC-Lab sets ``ox/red``
    from the sign of the current (1 for a positive, oxidation current), so in every
    galvanostatic half cycle the current must be non-zero and carry that sign.

    Parameters
    ----------
    data
        Points of one export, with ``REQUIRED_COLUMNS``.
    path
        The export, for messages.

    Raises
    ------
    InputError
        A column holds non-finite values, Ewe/V lies outside the range a potentiostat
        records (±``RECORDABLE_VOLTAGE_V``), or the current of a galvanostatic half cycle
        is zero or has the sign opposite to ``ox/red``.
    """
    for column in ("time/s", "Ewe/V", "I/mA", "Q charge/discharge/mA.h"):
        if not np.all(np.isfinite(data[column])):
            raise InputError(path, f"column {column} holds non-finite values")
    outside = np.flatnonzero(np.abs(data["Ewe/V"]) > RECORDABLE_VOLTAGE_V)
    if outside.size:
        row = int(outside[0])
        raise InputError(path, f"column Ewe/V holds {data['Ewe/V'][row]:g} V (row {row + 1}), outside the "
                               f"±{RECORDABLE_VOLTAGE_V:g} V a potentiostat records: another quantity is in this "
                               "column (swapped or mislabelled columns?)")
    active = data[data["mode"] == 1]
    half = active["half cycle"]
    starts = np.flatnonzero(np.r_[True, half[1:] != half[:-1]])
    contradicted = []
    for a, b in zip(starts, np.r_[starts[1:], half.size]):
        current = float(np.median(active["I/mA"][a:b]))
        if current == 0.0:
            raise InputError(path, f"column I/mA is zero throughout galvanostatic half cycle {int(half[a])}: "
                                   "no current flowed, or another quantity is in this column")
        if (current > 0) != bool(active["ox/red"][a]):
            contradicted.append(int(half[a]))
    if contradicted:
        raise InputError(path, f"column I/mA: the current's sign contradicts ox/red in {len(contradicted)} of "
                               f"{starts.size} galvanostatic half cycles (first: half cycle {contradicted[0]}); EC-Lab "
                               "sets ox/red = 1 for a positive current, so this column is not the current "
                               "(swapped or mislabelled columns?)")


def nominal_capacity_mAh(header: list[bytes], path: Path) -> float | None:
    """The capacity C-rates are defined against, as the experimenter entered it in EC-Lab.

    Parameters
    ----------
    header
        The export's header lines, as bytes.
    path
        The export, for messages.

    Returns
    -------
    float or None
        The 'Battery capacity' header value, converted to mAh (a decimal comma, as
        EC-Lab writes it on some Windows locales, is read as a point); None when the
        header has no such line or gives 0 (EC-Lab's value when none was entered).

    Raises
    ------
    InputError
        The line's value is not a number, is negative, or has an unknown unit.
    """
    for line in header:
        match = _CAPACITY_LINE.match(line.rstrip(b"\r\n"))
        if not match:
            continue
        number, unit = match.groups()
        try:
            value = float(number.replace(b",", b"."))
        except ValueError:
            raise InputError(path, f"header 'Battery capacity' value {number.decode('windows-1252')!r} "
                                   "is not a number") from None
        if unit not in _CAPACITY_SCALE_TO_MAH:
            raise InputError(path, f"header 'Battery capacity' has unit {unit.decode('windows-1252')!r}; "
                                   "EC-Lab writes A.h, mA.h or µA.h")
        value *= _CAPACITY_SCALE_TO_MAH[unit]
        if not np.isfinite(value) or value < 0:
            raise InputError(path, f"header 'Battery capacity' is {value:g} mAh: a capacity must be positive")
        return value or None
    return None


# --------------------------------------------------------------------------- computing
def per_cycle(data: np.ndarray, capacity_mAh: float | None, steady_rate_tolerance: float) -> Cycles:
    """Reduce points to complete cycles, the unit CE and C-rate are defined on.

    A cycle is one charge then one discharge; an incomplete cycle is dropped.

    Parameters
    ----------
    data
        Points of one export (:func:`read_mpt`).
    capacity_mAh
        The nominal capacity that defines the C-rate; None when the export gives none
        (everything but the C-rate is still computed).
    steady_rate_tolerance
        Relative distance from the median C-rate within which a cycle is steady.

    Returns
    -------
    Cycles
        One entry per complete cycle, numbered from 1.

    Raises
    ------
    ValueError
        No complete cycle.
    """
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
    return Cycles(cycle, qc, qd, (ic + idis) / 2, vc, vd, steady_rate_tolerance, capacity_mAh)


def ce_floor(cycles: Cycles, from_cycle: int) -> float:
    """The CE the cell never falls below from ``from_cycle`` on, over steady cycles only.

    Slow (formation and check-up) cycles are left out.

    Parameters
    ----------
    cycles
        Per-cycle results (:func:`per_cycle`).
    from_cycle
        The first cycle number of the window.

    Returns
    -------
    float
        The lowest Coulombic efficiency in the window, in %.

    Raises
    ------
    ValueError
        No steady cycle at or after ``from_cycle``.
    """
    window = cycles.steady & (cycles.cycle >= from_cycle)
    if not window.any():
        steady = cycles.cycle[cycles.steady]
        last = f", the last steady one is cycle {int(steady[-1])}" if steady.size else ", none of them steady"
        raise ValueError(f"no steady cycle at or after cycle {from_cycle}: the export holds "
                         f"{cycles.cycle.size} complete cycles{last}")
    return float(np.min(cycles.ce_pct[window]))


def capacity_retention_pct(cycles: Cycles) -> float:
    """Capacity retained over the test, compared at the slow rate so rate effects cancel.

    The second slow cycle is the reference and the last slow cycle the end point.

    Parameters
    ----------
    cycles
        Per-cycle results (:func:`per_cycle`).

    Returns
    -------
    float
        Discharge capacity of the last slow cycle over that of the second, in %.

    Raises
    ------
    ValueError
        Fewer than three slow (check-up) cycles.
    """
    slow = np.flatnonzero(~cycles.steady)
    if slow.size < 3:
        raise ValueError(f"the capacity retention needs at least three slow (check-up) cycles; the export has "
                         f"{slow.size}")
    return float(100.0 * cycles.q_discharge_mAh[slow[-1]] / cycles.q_discharge_mAh[slow[1]])


def rate_text(rate_C: float) -> str:
    """Print a C-rate as the paper and cyclers do ('5C', 'C/10'), so the quoted text matches.

    Parameters
    ----------
    rate_C
        The rate, in multiples of the nominal capacity per hour (positive).

    Returns
    -------
    str
        ``"<n>C"`` for rates of 1C or more, else ``"C/<n>"``, ``n`` rounded to an integer.
    """
    return f"{rate_C:.0f}C" if rate_C >= 1 else f"C/{1 / rate_C:.0f}"


def thin_film_numbers(cycles: Cycles, ce_floor_first_cycle: int, ce_floor_second_cycle: int) -> list[Number]:
    """The numbers the paper quotes for the LiPON thin-film cell (Fig 1B and its text).

    Parameters
    ----------
    cycles
        Per-cycle results of the thin-film cell (:func:`per_cycle`).
    ce_floor_first_cycle, ce_floor_second_cycle
        The cycles from which on the lowest steady CE is reported (each names its number).

    Returns
    -------
    list of Number
        ``echem.cycles``, the fast and slow rates, the voltage window, the two CE
        floors (``echem.ce_floor_after_<n>``) and the capacity retention.

    Raises
    ------
    NoCapacityError
        The export gives no nominal capacity, so the rates the paper quotes cannot be
        computed (a ValueError).
    ValueError
        No steady cycle in a CE window, or fewer than three slow cycles.
    """
    steady = cycles.steady
    fast = float(np.median(cycles.rate_C[steady]))
    slow = float(np.median(cycles.rate_C[~steady]))
    first, second = ce_floor_first_cycle, ce_floor_second_cycle
    floors = {}
    for name, start in (("ce_floor_first_cycle", first), ("ce_floor_second_cycle", second)):
        try:
            floors[start] = ce_floor(cycles, start)
        except ValueError as err:
            raise ValueError(f"echem.ce_floor_after_{start} (the lowest steady CE from cycle {start} on, "
                             f"parameter {name}) cannot be computed: {err}; a cell quoted this way must have "
                             f"cycled past cycle {start}") from None
    return [
        count("echem.cycles", cycles.cycle.size, "cycles"),
        Number("echem.fast_rate_C", round(fast, 4), "C", rate_text(fast)),
        Number("echem.slow_rate_C", round(slow, 5), "C", rate_text(slow)),
        quantity("echem.voltage_min_V", np.median(cycles.v_discharge_end_V), "V", 2),
        quantity("echem.voltage_max_V", np.median(cycles.v_charge_end_V), "V", 2),
        quantity(f"echem.ce_floor_after_{first}", floors[first], "%", 2),
        quantity(f"echem.ce_floor_after_{second}", floors[second], "%", 2),
        quantity("echem.capacity_retention_pct", capacity_retention_pct(cycles), "%", 1),
    ]


def liquid_numbers(cycles: Cycles) -> list[Number]:
    """The liquid-electrolyte cell's best CE, the paper's reference point for LiPON (Fig S1).

    Parameters
    ----------
    cycles
        Per-cycle results of the liquid-electrolyte coin cell (:func:`per_cycle`).

    Returns
    -------
    list of Number
        ``liquid.ce_max``: the highest CE among steady cycles, in %.

    Raises
    ------
    ValueError
        The cell has no steady cycle.
    """
    steady = cycles.steady
    return [quantity("liquid.ce_max", np.max(cycles.ce_pct[steady]), "%", 2)]


# --------------------------------------------------------------------------- tables
CYCLE_COLUMNS = "cycle,rate_C,steady,q_charge_uAh,q_discharge_uAh,ce_pct"


def cycle_table(cycles: Cycles) -> np.ndarray:
    """Per-cycle results as the table the figure step reads, so a restyle never reruns analysis.

    Parameters
    ----------
    cycles
        Per-cycle results (:func:`per_cycle`).

    Returns
    -------
    numpy.ndarray
        One row per cycle, columns as ``CYCLE_COLUMNS`` (capacities in µAh, ``steady``
        as 0/1, the rate NaN when the export gives no capacity).
    """
    rate = cycles.rate_C if cycles.capacity_mAh is not None else np.full(cycles.cycle.size, np.nan)
    return np.column_stack([cycles.cycle, rate, cycles.steady.astype(int),
                            cycles.q_charge_mAh * 1e3, cycles.q_discharge_mAh * 1e3, cycles.ce_pct])


def profile_table(data: np.ndarray, cycles: Cycles) -> np.ndarray:
    """The slow cycles' voltage vs capacity, as the table Fig 1A is drawn from.

    Parameters
    ----------
    data
        Points of the export (:func:`read_mpt`).
    cycles
        Its per-cycle results (:func:`per_cycle`), which say which cycles are slow.

    Returns
    -------
    numpy.ndarray
        Galvanostatic points of the slow cycles; columns: cycle (numbered as in
        ``cycles``), half (1 = charge), capacity in µAh, voltage in V.

    Raises
    ------
    ValueError
        The cell has no slow cycle.
    """
    first = int(np.min(data["cycle number"]))
    rows = []
    for number in cycles.cycle[~cycles.steady]:
        seg = data[(data["cycle number"] == number - 1 + first) & (data["mode"] == 1)]
        q = np.abs(seg["Q charge/discharge/mA.h"]) * 1e3
        rows.append(np.column_stack([np.full(q.size, number), seg["ox/red"], q, seg["Ewe/V"]]))
    return np.vstack(rows)


def _cycles_of(path: Path, steady_rate_tolerance: float) -> tuple[np.ndarray, Cycles]:
    data, capacity = read_mpt(path)
    try:
        return data, per_cycle(data, capacity, steady_rate_tolerance)
    except ValueError as err:
        raise InputError(path, str(err)) from None


# --------------------------------------------------------------------------- edge
def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path], *, ce_floor_first_cycle: int,
        ce_floor_second_cycle: int, steady_rate_tolerance_pct: float) -> list[Number]:
    """The electrochemistry step, and its only file I/O, so the functions above stay pure.

    Both cells give per-cycle tables and voltage profiles for the figure step, and
    the numbers the paper quotes.

    Parameters
    ----------
    inputs
        ``thin_film`` and ``liquid``: EC-Lab ``.mpt`` exports of the two cells.
    outputs
        ``thin_film_cycles``, ``liquid_cycles`` (per-cycle tables) and
        ``thin_film_profiles`` (voltage vs capacity of the slow cycles).
    ce_floor_first_cycle, ce_floor_second_cycle
        The cycles from which on the lowest steady CE is reported.
    steady_rate_tolerance_pct
        Distance from the median C-rate (percent of it) within which a cycle is steady.

    Returns
    -------
    list of Number
        The thin-film cell's numbers (``echem.*``) and the liquid cell's (``liquid.ce_max``),
        each derived from its own export.

    Raises
    ------
    InputError
        An export is unreadable, truncated, lacks columns or complete cycles, holds
        impossible values, or (the thin-film cell, whose rates the paper quotes) gives
        no nominal capacity.
    """
    tolerance = steady_rate_tolerance_pct / 100.0
    data, thin = _cycles_of(inputs["thin_film"], tolerance)
    _, liquid = _cycles_of(inputs["liquid"], tolerance)
    numbers = []
    for path, compute in ((inputs["thin_film"], lambda: thin_film_numbers(thin, ce_floor_first_cycle, ce_floor_second_cycle)),
                          (inputs["liquid"], lambda: liquid_numbers(liquid))):
        try:
            numbers += [number.from_inputs(path) for number in compute()]
        except ValueError as err:
            raise InputError(path, str(err)) from None
    datatable.write_array(outputs["thin_film_cycles"], CYCLE_COLUMNS, cycle_table(thin))
    datatable.write_array(outputs["liquid_cycles"], CYCLE_COLUMNS, cycle_table(liquid))
    datatable.write_array(outputs["thin_film_profiles"], "cycle,charge,capacity_uAh,voltage_V", profile_table(data, thin))
    return numbers

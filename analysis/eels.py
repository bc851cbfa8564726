"""STEM-EELS across the interphase: edges, peak positions, Li2O share (Fig 3).

Definitions (stated in the supplement's methods):

* each edge's background is a power law fitted in a window just below the edge
  (HyperSpy ``remove_background``), and subtracted;
* spectra are smoothed (Savitzky-Golay, 1.5 eV window, cubic) before peaks are read;
  peak positions are refined by a parabola through the three highest channels;
* Li K peak I (LiPON-like) is the Li K maximum at the point deepest in LiPON, peak II
  (Li2O-like) the maximum at the point deepest in the interphase; the P L2,3 peaks are
  the two most prominent maxima of the spectra summed over all points;
* the Li2O share of a point is ``a / (a + b)`` for the non-negative least-squares fit
  ``a * Li2O + b * LiPON`` of its Li K edge with the simulated (FEFF) references;
* points are ordered as numbered in their files; their spacing is the median distance
  between consecutive beam positions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis import em_io
from paperbuild.errors import InputError
from paperbuild.numbers import Number, count, quantity

POINTS = "eels/point_*.msa"
REFERENCES = ("Li2O", "Li3PO4", "Li3P", "LiPON")
REFERENCE_FILE = "eels/feff/{phase}/eels.dat"
_POSITION = re.compile(r"^([XY])POSITION(?:-(\w+))?$")


@dataclass(frozen=True)
class Point:
    """One spectrum with where it was taken (nm, in the dark-field image's frame)."""

    path: Path
    x_nm: float
    y_nm: float
    energy_eV: np.ndarray
    spectrum: object  # the EELSSpectrum as loaded


# ------------------------------------------------------------------ pure functions
def power_law_subtracted(spectrum, window: tuple[float, float]) -> np.ndarray:
    """Counts minus a power law fitted in ``window`` (HyperSpy's ``remove_background``)."""
    energy = spectrum.axes_manager.signal_axes[0].axis
    if ((energy >= window[0]) & (energy <= window[1])).sum() < 5:
        raise ValueError(f"background window {window} eV holds fewer than 5 channels")
    subtracted = spectrum.remove_background(signal_range=window, background_type="PowerLaw", fast=True,
                                            show_progressbar=False)
    return np.asarray(subtracted.data, dtype=float)


def smooth(values: np.ndarray, dispersion_eV: float, window_eV: float = 1.5) -> np.ndarray:
    from scipy.signal import savgol_filter

    length = max(5, int(round(window_eV / dispersion_eV)) | 1)
    return savgol_filter(values, length, 3)


def refined_max(energy: np.ndarray, values: np.ndarray, window: tuple[float, float]) -> float:
    """Energy of the maximum inside ``window``, refined by a parabola through 3 channels."""
    inside = np.flatnonzero((energy >= window[0]) & (energy <= window[1]))
    i = inside[np.argmax(values[inside])]
    if i in (inside[0], inside[-1]):
        raise ValueError(f"the maximum sits on the edge of the search window {window} eV")
    a, b, c = values[i - 1: i + 2]
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return float(energy[i] + offset * (energy[1] - energy[0]))


def two_strongest_peaks(energy: np.ndarray, values: np.ndarray, window: tuple[float, float]) -> list[float]:
    """The two most prominent maxima inside ``window``, in increasing energy."""
    from scipy.signal import find_peaks

    inside = np.flatnonzero((energy >= window[0]) & (energy <= window[1]))
    segment = values[inside]
    peaks, props = find_peaks(segment, prominence=0.02 * (segment.max() - segment.min()))
    if peaks.size < 2:
        raise ValueError(f"found {peaks.size} peak(s) in {window} eV, expected two")
    best = np.sort(peaks[np.argsort(props["prominences"])[-2:]])
    return [refined_max(energy, values, (energy[inside[p] - 3], energy[inside[p] + 3])) for p in best]


def li2o_share(energy: np.ndarray, edge: np.ndarray, li2o: np.ndarray, lipon: np.ndarray,
               window: tuple[float, float]) -> tuple[float, np.ndarray]:
    """Li2O share of a Li K edge by non-negative least squares; also the fitted curve."""
    from scipy.optimize import nnls

    inside = (energy >= window[0]) & (energy <= window[1])
    basis = np.column_stack([li2o, lipon])
    (a, b), _ = nnls(basis[inside], edge[inside])
    if a + b <= 0:
        raise ValueError("the Li K edge does not resemble either reference")
    return float(a / (a + b)), basis @ np.array([a, b])


# ------------------------------------------------------------------ reading
def _position_nm(metadata, path: Path) -> tuple[float, float]:
    found = {}
    for key, value in metadata.as_dictionary().items():
        match = _POSITION.match(str(key))
        if match:
            axis, unit = match.group(1), match.group(2) or "mm"  # EMSA's default unit for positions
            if unit not in em_io.LENGTH_UNITS_TO_NM:
                raise InputError(path, f"beam position {key} has an unknown unit {unit!r}")
            found[axis] = float(value) * em_io.LENGTH_UNITS_TO_NM[unit]
    if set(found) != {"X", "Y"}:
        raise InputError(path, "no beam position (#XPOSITION and #YPOSITION) in the EMSA header")
    return found["X"], found["Y"]


def read_point(path: Path) -> Point:
    spectrum = em_io.load(path)
    if spectrum.metadata.Signal.signal_type != "EELS":
        raise InputError(path, f"not an EELS spectrum (signal type {spectrum.metadata.Signal.signal_type!r})")
    energy = em_io.energy_axis(spectrum, path, "eV")
    declared = spectrum.original_metadata.get_item("NPOINTS", default=None)
    if declared is not None and int(declared) != spectrum.data.size:
        raise InputError(path, f"header declares {int(declared)} channels but the file holds {spectrum.data.size}")
    x, y = _position_nm(spectrum.original_metadata, path)
    spectrum.data = spectrum.data.astype(float)
    return Point(path, x, y, energy, spectrum)


def read_reference(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Energy and total intensity of a FEFF ``eels.dat`` (comment lines start with #).

    No maintained Python reader covers FEFF9's eels.dat, so this two-column read is ours.
    """
    try:
        table = np.loadtxt(path, comments="#", ndmin=2)
    except (OSError, ValueError) as err:
        raise InputError(path, f"not a FEFF eels.dat table ({err})") from None
    if table.shape[1] < 2 or table.shape[0] < 10:
        raise InputError(path, f"expected >= 10 rows of energy and intensity, found shape {table.shape}")
    if np.any(np.diff(table[:, 0]) <= 0):
        raise InputError(path, "energies are not increasing")
    return table[:, 0], table[:, 1]


def _points_in_order(raw: Path) -> list[Point]:
    paths = sorted(raw.glob(POINTS), key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
    if len(paths) < 2:
        raise InputError(raw / POINTS, f"found {len(paths)} EELS point file(s); a line needs at least two")
    points = [read_point(p) for p in paths]
    first = points[0]
    for point in points[1:]:
        if point.energy_eV.size != first.energy_eV.size:
            raise InputError(point.path, f"has {point.energy_eV.size} channels, {first.path.name} has "
                                         f"{first.energy_eV.size}: spectra of one line must share an energy axis")
        if not np.allclose(point.energy_eV, first.energy_eV):
            raise InputError(point.path, f"energy calibration differs from {first.path.name}")
    return points


# ------------------------------------------------------------------ edge
def run(raw: Path, out: Path, li_background_eV=(47.0, 54.0), p_background_eV=(120.0, 130.0),
        o_background_eV=(505.0, 528.0), li_window_eV=(55.0, 72.0), li_peak_search_eV=(57.0, 66.0),
        p_peak_search_eV=(134.0, 146.0)) -> list[Number]:
    """Background-subtracted edges, peak positions and the Li2O share per point."""
    points = _points_in_order(raw)
    energy = points[0].energy_eV
    dispersion = float(energy[1] - energy[0])
    references = {}
    for phase in REFERENCES:
        ref_energy, intensity = read_reference(raw / REFERENCE_FILE.format(phase=phase))
        references[phase] = np.interp(energy, ref_energy, intensity, left=np.nan, right=np.nan)

    edges = {"li": [], "p": [], "o": []}
    for point in points:
        try:
            edges["li"].append(power_law_subtracted(point.spectrum, li_background_eV))
            edges["p"].append(power_law_subtracted(point.spectrum, p_background_eV))
            edges["o"].append(power_law_subtracted(point.spectrum, o_background_eV))
        except ValueError as err:
            raise InputError(point.path, str(err)) from None

    li2o_ref = np.nan_to_num(references["Li2O"])
    lipon_ref = np.nan_to_num(references["LiPON"])
    shares, fits = [], []
    for point, edge in zip(points, edges["li"]):
        try:
            share, fit = li2o_share(energy, edge, li2o_ref, lipon_ref, li_window_eV)
        except ValueError as err:
            raise InputError(point.path, str(err)) from None
        shares.append(share)
        fits.append(fit)
    try:
        peak1 = refined_max(energy, smooth(edges["li"][-1], dispersion), li_peak_search_eV)
        peak2 = refined_max(energy, smooth(edges["li"][0], dispersion), li_peak_search_eV)
        p_peaks = two_strongest_peaks(energy, smooth(np.sum(edges["p"], axis=0), dispersion), p_peak_search_eV)
    except ValueError as err:
        raise InputError(raw / POINTS, f"cannot read peak positions: {err}") from None
    xy = np.array([[p.x_nm, p.y_nm] for p in points])
    step = float(np.median(np.hypot(*np.diff(xy, axis=0).T)))

    (out / "data").mkdir(parents=True, exist_ok=True)
    save = lambda name, columns, header: np.savetxt(out / "data" / name, np.column_stack(columns), delimiter=",",
                                                    comments="", fmt="%.6g", header=header)
    n = len(points)
    names = ",".join(f"point_{i + 1}" for i in range(n))
    for key, lo, hi in (("li", 50.0, 80.0), ("p", 125.0, 165.0), ("o", 520.0, 575.0)):
        keep = (energy >= lo) & (energy <= hi)
        save(f"eels_{key}_edges.csv", [energy[keep]] + [e[keep] for e in edges[key]], f"energy_eV,{names}")
    keep = (energy >= li_window_eV[0]) & (energy <= li_window_eV[1])
    save("eels_li_fits.csv", [energy[keep]] + [f[keep] for f in fits], f"energy_eV,{names}")
    save("eels_points.csv", [np.arange(1, n + 1), xy[:, 0], xy[:, 1], shares], "point,x_nm,y_nm,li2o_fraction")
    ref_grid = np.round(np.arange(50.0, 80.0, 0.05), 3)
    ref_columns = [np.interp(ref_grid, *read_reference(raw / REFERENCE_FILE.format(phase=ph))) for ph in REFERENCES]
    save("eels_references.csv", [ref_grid] + ref_columns, "energy_eV," + ",".join(REFERENCES))

    shares_rounded = [round(s, 2) for s in shares]
    return [
        count("eels.points", n),
        quantity("eels.step_nm", step, "nm", 1),
        quantity("eels.li_k_peak1_eV", peak1, "eV", 1),
        quantity("eels.li_k_peak2_eV", peak2, "eV", 1),
        Number("eels.p_l_peaks_eV", [round(v, 2) for v in p_peaks], "eV",
               f"{p_peaks[0]:.1f} and {p_peaks[1]:.1f} eV"),
        Number("eels.li2o_fraction", shares_rounded, "", ", ".join(f"{s:.2f}" for s in shares_rounded)),
    ]

"""STEM-EELS across the interphase: edges, peak positions, Li2O share (Fig 3).

Definitions (stated in the supplement's methods; every value named here is a registry
parameter of the ``eels`` step):

* the P L2,3 and O K backgrounds are power laws fitted in a window just below the edge
  (HyperSpy ``remove_background``; ``p_background_eV``, ``o_background_eV``), and
  subtracted;
* the Li K edge is fitted as a whole, from the start of ``li_background_eV`` (below the
  onset) to the end of ``li_fit_window_eV``: a power law plus the Li2O and LiPON
  (FEFF) references blurred by a Gaussian whose width (the spectrometer's resolution)
  is fitted too; the Li K edge shown and read for peaks is the spectrum minus that
  power law.  A pre-edge power law fitted alone would absorb the edges' own tails, and
  unblurred references would be matched by the wrong mixture: both bias the share;
* spectra are smoothed (Savitzky-Golay, ``smoothing_window_eV`` wide, polynomial order
  ``smoothing_order``) before peaks are read; peak positions are refined by a parabola
  through the three highest channels;
* Li K peak I (LiPON-like) is the Li K maximum in ``li_peak_search_eV`` at the point
  deepest in LiPON, peak II (Li2O-like) the maximum at the point deepest in the
  interphase; the P L2,3 peaks are the two most prominent maxima in ``p_peak_search_eV``
  of the spectra summed over all points (peaks lower than ``p_peak_prominence`` of the
  summed edge's range do not count);
* the Li2O share of a point is ``a / (a + b)`` for the non-negative weights of the
  blurred ``a * Li2O + b * LiPON`` in that fit;
* points are ordered as numbered in their files; their spacing is the median distance
  between consecutive beam positions.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis import datatable, em_io
from paperbuild.errors import InputError
from paperbuild.numbers import Number, count, quantity

PHASES = ("Li2O", "Li3PO4", "Li3P", "LiPON")  # the FEFF references, in the order Fig 3C stacks them
# The phases whose P L2,3 and O K edges were simulated (those holding P, those holding O),
# in the same order; their inputs are ``ref_p_<phase>`` and ``ref_o_<phase>``.
P_L23_PHASES = ("Li3PO4", "Li3P", "LiPON")
O_K_PHASES = ("Li2O", "Li3PO4", "LiPON")
_POSITION = re.compile(r"^([XY])POSITION(?:-(\w+))?$")  # EMSA beam-position keywords
_EMSA_POSITION_UNIT = "mm"  # EMSA's unit for positions when the keyword names none
_PEAK_REFINE_CHANNELS = 3  # around a peak find_peaks located: room for the 3-channel parabola
EMSA_ENERGY_KEYS = ("XPERCHAN", "OFFSET")  # EMSA/MAS keywords of the energy axis (per channel, first channel)


@dataclass(frozen=True)
class Point:
    """One spectrum with where it was taken (nm, in the dark-field image's frame)."""

    path: Path
    x_nm: float
    y_nm: float
    energy_eV: np.ndarray
    spectrum: object  # the EELSSpectrum as loaded


@dataclass(frozen=True)
class Edges:
    """Background-subtracted edges of every point (one array per point, in point order)."""

    li: tuple[np.ndarray, ...]
    p: tuple[np.ndarray, ...]
    o: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Peaks:
    """Near-edge peak positions (eV) the paper quotes."""

    li_k_lipon_eV: float          # peak I, at the point deepest in LiPON
    li_k_oxide_eV: float          # peak II, at the point deepest in the interphase
    p_l_eV: tuple[float, float]   # the two P L2,3 peaks, increasing


@dataclass(frozen=True)
class Shares:
    """Li2O share of every point's Li K edge and the fitted two-reference curves."""

    li2o: tuple[float, ...]
    fits: tuple[np.ndarray, ...]          # fitted edge (blurred references) per point
    backgrounds: tuple[np.ndarray, ...]   # fitted power law per point


# ------------------------------------------------------------------ pure functions
def power_law_subtracted(spectrum, window: tuple[float, float]) -> np.ndarray:
    """Counts minus a power law fitted in ``window`` (HyperSpy's ``remove_background``).

    Parameters
    ----------
    spectrum
        One EELS spectrum.
    window
        Background window (eV), just below the edge.

    Returns
    -------
    numpy.ndarray
        The subtracted counts on the spectrum's energy axis.

    Raises
    ------
    ValueError
        The window holds fewer than 5 channels, too few to fit a power law.
    """
    energy = spectrum.axes_manager.signal_axes[0].axis
    if ((energy >= window[0]) & (energy <= window[1])).sum() < 5:
        raise ValueError(f"background window {window} eV holds fewer than 5 channels")
    subtracted = spectrum.remove_background(signal_range=tuple(window), background_type="PowerLaw", fast=True,
                                            show_progressbar=False)
    return np.asarray(subtracted.data, dtype=float)


def smooth(values: np.ndarray, dispersion_eV: float, *, window_eV: float, order: int) -> np.ndarray:
    """Savitzky-Golay smoothing over a window given in eV, so noise does not pick peaks.

    Parameters
    ----------
    values
        A spectrum.
    dispersion_eV
        Energy per channel.
    window_eV
        Window width; rounded to an odd count of channels, at least ``order + 2``.
    order
        Polynomial order of the filter.

    Returns
    -------
    numpy.ndarray
        The smoothed spectrum.
    """
    from scipy.signal import savgol_filter

    length = max((order + 2) | 1, int(round(window_eV / dispersion_eV)) | 1)
    return savgol_filter(values, length, order)


def refined_max(energy: np.ndarray, values: np.ndarray, window: tuple[float, float]) -> float:
    """Energy of the maximum inside ``window``, refined by a parabola through 3 channels.

    Parameters
    ----------
    energy
        Channel energies (eV), evenly spaced.
    values
        The (smoothed) spectrum.
    window
        Where to search (eV).

    Returns
    -------
    float
        The peak energy (eV), to a fraction of a channel.

    Raises
    ------
    ValueError
        The maximum sits on the window's edge, so it is no peak of the window.
    """
    inside = np.flatnonzero((energy >= window[0]) & (energy <= window[1]))
    i = inside[np.argmax(values[inside])]
    if i in (inside[0], inside[-1]):
        raise ValueError(f"the maximum sits on the edge of the search window {tuple(window)} eV")
    a, b, c = values[i - 1: i + 2]
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return float(energy[i] + offset * (energy[1] - energy[0]))


def two_strongest_peaks(energy: np.ndarray, values: np.ndarray, window: tuple[float, float], *,
                        prominence: float) -> list[float]:
    """The two most prominent maxima inside ``window``, in increasing energy.

    Parameters
    ----------
    energy
        Channel energies (eV).
    values
        The (smoothed) spectrum.
    window
        Where to search (eV).
    prominence
        Smallest prominence of a peak, as a fraction of the spectrum's range in the window.

    Returns
    -------
    list of float
        Two refined peak energies (eV).

    Raises
    ------
    ValueError
        Fewer than two peaks in the window.
    """
    from scipy.signal import find_peaks

    inside = np.flatnonzero((energy >= window[0]) & (energy <= window[1]))
    segment = values[inside]
    peaks, props = find_peaks(segment, prominence=prominence * (segment.max() - segment.min()))
    if peaks.size < 2:
        raise ValueError(f"found {peaks.size} peak(s) in {tuple(window)} eV, expected two")
    best = np.sort(peaks[np.argsort(props["prominences"])[-2:]])
    return [refined_max(energy, values, (energy[inside[p] - _PEAK_REFINE_CHANNELS],
                                         energy[inside[p] + _PEAK_REFINE_CHANNELS])) for p in best]


def blurred(energy: np.ndarray, values: np.ndarray, sigma_eV: float) -> np.ndarray:
    """A curve on an even grid blurred by a Gaussian of ``sigma_eV`` (the spectrometer's resolution).

    Parameters
    ----------
    energy
        The curve's energies (eV), evenly spaced.
    values
        The curve.
    sigma_eV
        Gaussian standard deviation (eV); 0 leaves the curve as it is.

    Returns
    -------
    numpy.ndarray
        The blurred curve; beyond its ends the curve is continued by its end values.
    """
    if sigma_eV <= 0:
        return np.asarray(values, dtype=float)
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(np.asarray(values, dtype=float), sigma_eV / (energy[1] - energy[0]), mode="nearest")


def even_grid(energy: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A tabulated curve on an even grid of its median spacing (a blur needs even spacing).

    Parameters
    ----------
    energy
        Increasing energies (eV), perhaps unevenly spaced.
    values
        The curve.

    Returns
    -------
    tuple of numpy.ndarray
        The even grid from the first energy to the last and the curve interpolated on it.
    """
    spacing = float(np.median(np.diff(energy)))
    grid = energy[0] + spacing * np.arange(int(np.floor((energy[-1] - energy[0]) / spacing + 1e-9)) + 1)
    return grid, np.interp(grid, energy, values)


@dataclass(frozen=True)
class LiKFit:
    """The joint fit of a Li K edge: power-law background plus blurred Li2O and LiPON references."""

    share: float                 # Li2O weight over the sum of both weights
    edge: np.ndarray             # fitted edge (weighted, blurred references) on every energy
    background: np.ndarray       # fitted power law on every energy
    resolution_eV: float         # Gaussian sigma of the blur that best matches the references to the data
    exponent: float              # of the power law


# starting points of the two non-linear parameters (the optimizer refines them; not method choices)
_START_RESOLUTIONS_EV = (0.2, 0.6, 1.2)
_EXPONENT_BOUNDS = (0.5, 8.0)
_RESOLUTION_BOUNDS_EV = (0.0, 3.0)


def fit_li_k(energy: np.ndarray, counts: np.ndarray, li2o: tuple[np.ndarray, np.ndarray],
             lipon: tuple[np.ndarray, np.ndarray], window: tuple[float, float]) -> LiKFit:
    """Li2O share of a Li K edge: counts = A E^-r + blur(a * Li2O + b * LiPON), fitted over ``window``.

    The background is fitted together with the edge rather than in a pre-edge window and
    subtracted, because the edges' tails reach into any pre-edge window (the references
    hold those tails, so the joint fit accounts for them); the simulated references are
    blurred by the spectrometer's resolution, fitted as a Gaussian sigma, because the
    recorded edge is blurred and sharp reference features would otherwise be matched by
    the wrong mixture.  ``A``, ``a`` and ``b`` are non-negative least squares with
    Poisson weights (1 / sqrt(counts)) for each trial (r, sigma); (r, sigma) minimize
    the weighted residual (trust-region least squares from a few starting blurs).

    Parameters
    ----------
    energy
        Channel energies (eV).
    counts
        The recorded spectrum (counts, background included).
    li2o, lipon
        The simulated references as read: (energies on an even grid, intensities).
    window
        Fit range (eV): from below the onset (pins the power law) to the end of the
        near-edge structure; inside both references' ranges.

    Returns
    -------
    LiKFit

    Raises
    ------
    ValueError
        Too few channels in the window, or both reference weights are zero (the edge
        resembles neither reference).
    """
    from scipy.optimize import least_squares, nnls

    inside = (energy >= window[0]) & (energy <= window[1])
    if inside.sum() < 10:
        raise ValueError(f"the Li K fit window {tuple(window)} eV holds fewer than 10 channels")
    e, y = energy[inside], np.asarray(counts, dtype=float)[inside]
    weight = 1 / np.sqrt(np.maximum(y, 1.0))
    li2o, lipon = even_grid(*li2o), even_grid(*lipon)  # the blur needs an even grid

    def basis(e_axis: np.ndarray, exponent: float, sigma: float) -> np.ndarray:
        return np.column_stack([(e_axis / e[0]) ** -exponent,
                                np.interp(e_axis, li2o[0], blurred(li2o[0], li2o[1], sigma)),
                                np.interp(e_axis, lipon[0], blurred(lipon[0], lipon[1], sigma))])

    def residual(params) -> np.ndarray:
        B = basis(e, *params) * weight[:, None]
        coef, _ = nnls(B, y * weight)
        return B @ coef - y * weight

    # start: the exponent of a log-log line through the first quarter of the range (mostly
    # pre-edge), with each starting blur; the best of the refined fits wins
    head = slice(0, max(3, e.size // 4))
    slope = np.polyfit(np.log(e[head]), np.log(np.maximum(y[head], 1.0)), 1)[0]
    r0 = float(np.clip(-slope, *_EXPONENT_BOUNDS))
    trials = [least_squares(residual, (r0, s0), bounds=tuple(zip(_EXPONENT_BOUNDS, _RESOLUTION_BOUNDS_EV)),
                            x_scale=(0.1, 0.1)) for s0 in _START_RESOLUTIONS_EV]
    best = min(trials, key=lambda t: t.cost).x
    exponent, sigma = float(best[0]), float(best[1])
    (background, a, b), _ = nnls(basis(e, exponent, sigma) * weight[:, None], y * weight)
    if a + b <= 0:
        raise ValueError("the Li K edge does not resemble either reference")
    full = basis(energy, exponent, sigma)
    return LiKFit(float(a / (a + b)), full[:, 1:] @ np.array([a, b]), background * full[:, 0], sigma, exponent)


def point_spacing_nm(xy: np.ndarray) -> float:
    """Median distance between consecutive beam positions (robust to one misplaced point).

    Parameters
    ----------
    xy
        Points x 2 beam positions (nm), in acquisition order.

    Returns
    -------
    float
        The spacing (nm).
    """
    return float(np.median(np.hypot(*np.diff(xy, axis=0).T)))


def peak_positions(energy: np.ndarray, edges: Edges, *, li_peak_search_eV: tuple[float, float],
                   p_peak_search_eV: tuple[float, float], p_peak_prominence: float, smoothing_window_eV: float,
                   smoothing_order: int) -> Peaks:
    """The Li K and P L2,3 peak positions the paper quotes, from smoothed edges.

    Parameters
    ----------
    energy
        Channel energies (eV), shared by all points.
    edges
        Background-subtracted edges, points ordered from the interphase into LiPON.
    li_peak_search_eV, p_peak_search_eV
        Where each edge's peaks are searched (eV).
    p_peak_prominence
        Smallest P L2,3 peak prominence, as a fraction of the summed edge's range.
    smoothing_window_eV, smoothing_order
        Savitzky-Golay smoothing applied before reading peaks.

    Returns
    -------
    Peaks

    Raises
    ------
    ValueError
        A peak cannot be located inside its search window.
    """
    dispersion = float(energy[1] - energy[0])
    smoothed = lambda values: smooth(values, dispersion, window_eV=smoothing_window_eV, order=smoothing_order)
    lipon = refined_max(energy, smoothed(edges.li[-1]), li_peak_search_eV)
    oxide = refined_max(energy, smoothed(edges.li[0]), li_peak_search_eV)
    p_peaks = two_strongest_peaks(energy, smoothed(np.sum(edges.p, axis=0)), p_peak_search_eV,
                                  prominence=p_peak_prominence)
    return Peaks(lipon, oxide, (p_peaks[0], p_peaks[1]))


def energy_table(energy: np.ndarray, curves: Sequence[np.ndarray], shown: tuple[float, float]) -> np.ndarray:
    """Energies inside ``shown`` and each curve there, as columns (for Fig 3B).

    Parameters
    ----------
    energy
        Channel energies (eV).
    curves
        One array per point on those energies.
    shown
        The energy range the figure shows (eV).

    Returns
    -------
    numpy.ndarray
        Channels x (1 + points).
    """
    keep = (energy >= shown[0]) & (energy <= shown[1])
    return np.column_stack([energy[keep]] + [curve[keep] for curve in curves])


def reference_table(references: Mapping[str, tuple[np.ndarray, np.ndarray]], shown: tuple[float, float],
                    step_eV: float) -> np.ndarray:
    """The FEFF references interpolated on one common grid (for Fig 3C).

    Parameters
    ----------
    references
        Phase -> (energy, intensity) as read, in the order of the columns.
    shown
        Energy range of the grid (eV), upper end excluded.
    step_eV
        Grid step.

    Returns
    -------
    numpy.ndarray
        Grid points x (1 + phases).
    """
    grid = np.round(np.arange(shown[0], shown[1], step_eV), 3)
    return np.column_stack([grid] + [np.interp(grid, *pair) for pair in references.values()])


# ------------------------------------------------------------------ reading
def _position_nm(metadata, path: Path) -> tuple[float, float]:
    found = {}
    for key, value in metadata.as_dictionary().items():
        match = _POSITION.match(str(key))
        if match:
            axis, unit = match.group(1), match.group(2) or _EMSA_POSITION_UNIT
            if unit not in em_io.LENGTH_UNITS_TO_NM:
                raise InputError(path, f"beam position {key} has an unknown unit {unit!r}")
            try:
                position = float(value) * em_io.LENGTH_UNITS_TO_NM[unit]
            except (TypeError, ValueError):
                position = float("nan")
            if not np.isfinite(position):
                raise InputError(path, f"beam position {key} is {value!r}, not a finite number")
            found[axis] = position
    if set(found) != {"X", "Y"}:
        raise InputError(path, "no beam position (#XPOSITION and #YPOSITION) in the EMSA header")
    return found["X"], found["Y"]


def emsa_keywords(path: Path) -> list[str]:
    """The keywords of an EMSA/MAS header as the file writes them, in order (upper case).

    Only the header is read (up to ``#SPECTRUM``, where the data start).

    Parameters
    ----------
    path
        The ``.msa`` file.

    Returns
    -------
    list of str
        E.g. ``["FORMAT", "VERSION", ..., "XPERCHAN", "OFFSET", ..., "SPECTRUM"]``;
        empty when the file does not start with a keyword line.
    """
    keywords = []
    with open(path, "rb") as stream:
        for raw_line in stream:
            line = raw_line.decode("latin-1").strip()
            if not line:
                continue
            if not line.startswith("#"):
                break
            keyword = line[1:].split(":", 1)[0].strip().upper()
            keywords.append(keyword)
            if keyword == "SPECTRUM":
                break
    return keywords


def read_point(path: Path) -> Point:
    """One EMSA point spectrum with its calibrated energies and beam position.

    Parameters
    ----------
    path
        The ``.msa`` file.

    Returns
    -------
    Point

    Raises
    ------
    InputError
        Not an EMSA file, no energy calibration in its header (#XPERCHAN, #OFFSET), not
        an EELS spectrum, an uncalibrated energy axis, a value that is not a finite
        number, a channel count that contradicts the header, or no beam position.
    """
    spectrum = em_io.load(path)
    keywords = emsa_keywords(path)  # as written: the reader fills in some that are missing
    if not keywords or keywords[0] != "FORMAT":
        raise InputError(path, "not an EMSA/MAS spectrum: its first line is not the #FORMAT keyword")
    missing = [f"#{key}" for key in EMSA_ENERGY_KEYS if key not in keywords]
    if missing:
        raise InputError(path, f"EMSA header lacks {', '.join(missing)}: the energy axis needs #XPERCHAN (energy "
                               f"per channel) and #OFFSET (energy of the first channel); without them no edge can be "
                               f"placed")
    if spectrum.metadata.Signal.signal_type != "EELS":
        raise InputError(path, f"not an EELS spectrum (signal type {spectrum.metadata.Signal.signal_type!r})")
    energy = em_io.energy_axis(spectrum, path, "eV")
    declared = spectrum.original_metadata.get_item("NPOINTS", default=None)
    if declared is not None:
        try:
            declared = int(float(declared))
        except (TypeError, ValueError):
            raise InputError(path, f"#NPOINTS is {declared!r}, not a channel count") from None
        if declared != spectrum.data.size:
            raise InputError(path, f"header declares {declared} channels but the file holds {spectrum.data.size}")
    x, y = _position_nm(spectrum.original_metadata, path)
    spectrum.data = spectrum.data.astype(float)
    return Point(path, x, y, energy, spectrum)


def read_reference(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Energy and total intensity of a FEFF ``eels.dat`` (comment lines start with #).

    No maintained Python reader covers FEFF9's eels.dat, so this two-column read is ours.

    Parameters
    ----------
    path
        The ``eels.dat`` file.

    Returns
    -------
    tuple of numpy.ndarray
        Energies (eV, increasing) and intensities.

    Raises
    ------
    InputError
        Not a table of at least 10 rows of finite numbers with increasing energies.
    """
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
        if not lines:
            raise InputError(path, "holds no data rows")
        table = np.loadtxt(lines, ndmin=2)
    except (OSError, ValueError) as err:  # also UnicodeDecodeError: a binary file
        raise InputError(path, f"not a FEFF eels.dat table ({err})") from None
    if table.shape[1] < 2 or table.shape[0] < 10:
        raise InputError(path, f"expected >= 10 rows of energy and intensity, found shape {table.shape}")
    for column, what in ((0, "energy"), (1, "intensity")):
        bad = np.flatnonzero(~np.isfinite(table[:, column]))
        if bad.size:
            raise InputError(path, f"row {bad[0] + 1} holds a non-finite {what} ({table[bad[0], column]}); every "
                                   f"energy and intensity must be a finite number")
    if np.any(np.diff(table[:, 0]) <= 0):
        raise InputError(path, "energies are not increasing")
    return table[:, 0], table[:, 1]


def check_reference_range(path: Path, energy: np.ndarray, needed: Mapping[str, tuple[float, float]]) -> None:
    """Refuse a reference that does not span every range it is used over.

    Outside its simulated range a reference would be read as zero (in the Li K fit) or
    as its end value (in the figure's table), silently.

    Parameters
    ----------
    path
        The reference file, for messages.
    energy
        Its energies (eV), increasing.
    needed
        What uses it -> the energy range (eV) it must span.

    Raises
    ------
    InputError
        A range is not covered; the message gives the file's range and each need.
    """
    spacing = float(np.median(np.diff(energy)))
    low, high = min(r[0] for r in needed.values()), max(r[1] for r in needed.values())
    if energy[0] > low + spacing / 2 or energy[-1] < high - spacing / 2:
        uses = "; ".join(f"{use} uses {r[0]:g}–{r[1]:g} eV" for use, r in needed.items())
        raise InputError(path, f"covers {energy[0]:g}–{energy[-1]:g} eV; {uses}: the reference must span them")


def read_points(paths: Sequence[Path]) -> list[Point]:
    """The point spectra in acquisition order (by the number in the file name), on one energy axis.

    Parameters
    ----------
    paths
        The point files (the runner hands a glob input sorted by name, which puts
        ``point_10`` before ``point_2``; the order here is numeric).

    Returns
    -------
    list of Point

    Raises
    ------
    InputError
        Fewer than two points, or spectra on different energy axes.
    """
    paths = sorted(paths, key=lambda p: int(re.sub(r"\D", "", Path(p).stem) or 0))
    if len(paths) < 2:
        raise InputError(paths[0], f"found {len(paths)} EELS point file(s); a line needs at least two")
    points = [read_point(p) for p in paths]
    first = points[0]
    for point in points[1:]:
        if point.energy_eV.size != first.energy_eV.size:
            raise InputError(point.path, f"has {point.energy_eV.size} channels, {first.path.name} has "
                                         f"{first.energy_eV.size}: spectra of one line must share an energy axis")
        if not np.allclose(point.energy_eV, first.energy_eV):
            raise InputError(point.path, f"energy calibration differs from {first.path.name}")
    return points


def subtracted_edges(points: Sequence[Point], li_backgrounds: Sequence[np.ndarray], *,
                     p_background_eV: tuple[float, float], o_background_eV: tuple[float, float]) -> Edges:
    """Every point's Li K, P L2,3 and O K edges with their power-law backgrounds removed.

    Parameters
    ----------
    points
        The point spectra.
    li_backgrounds
        Each point's Li K background, fitted together with its edge (:func:`fit_li_k`).
    p_background_eV, o_background_eV
        Background windows just below the P and O edges (eV).

    Returns
    -------
    Edges

    Raises
    ------
    InputError
        A window holds too few channels of a point's spectrum (names the point's file).
    """
    li, p, o = [], [], []
    for point, background in zip(points, li_backgrounds):
        li.append(np.asarray(point.spectrum.data, dtype=float) - background)
        try:
            p.append(power_law_subtracted(point.spectrum, p_background_eV))
            o.append(power_law_subtracted(point.spectrum, o_background_eV))
        except ValueError as err:
            raise InputError(point.path, str(err)) from None
    return Edges(tuple(li), tuple(p), tuple(o))


def li2o_shares(points: Sequence[Point], energy: np.ndarray, li2o: tuple[np.ndarray, np.ndarray],
                lipon: tuple[np.ndarray, np.ndarray], window: tuple[float, float]) -> Shares:
    """The Li2O share of every point (see :func:`fit_li_k`).

    Parameters
    ----------
    points
        The point spectra.
    energy
        Channel energies (eV).
    li2o, lipon
        The simulated references as read (energies, intensities).
    window
        Fit range (eV).

    Returns
    -------
    Shares

    Raises
    ------
    InputError
        A point's edge cannot be fitted or resembles neither reference (names the point's file).
    """
    fits = []
    for point in points:
        try:
            fits.append(fit_li_k(energy, point.spectrum.data, li2o, lipon, window))
        except ValueError as err:
            raise InputError(point.path, str(err)) from None
    return Shares(tuple(f.share for f in fits), tuple(f.edge for f in fits), tuple(f.background for f in fits))


# ------------------------------------------------------------------ edge
def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path], *, li_background_eV: tuple[float, float],
        p_background_eV: tuple[float, float], o_background_eV: tuple[float, float],
        li_fit_window_eV: tuple[float, float], li_peak_search_eV: tuple[float, float],
        p_peak_search_eV: tuple[float, float], p_peak_prominence: float, smoothing_window_eV: float,
        smoothing_order: int, li_shown_eV: tuple[float, float], p_shown_eV: tuple[float, float],
        o_shown_eV: tuple[float, float], reference_step_eV: float) -> list[Number]:
    """Background-subtracted edges, peak positions and the Li2O share per point.

    Parameters
    ----------
    inputs
        ``points`` (the EMSA point spectra, a glob), ``ref_<phase>`` for each phase of
        :data:`PHASES` (FEFF ``eels.dat`` files of the Li K edge), ``ref_p_<phase>`` for
        each of :data:`P_L23_PHASES` and ``ref_o_<phase>`` for each of
        :data:`O_K_PHASES` (the P L2,3 and O K edges, drawn in Fig 3C only).
    outputs
        ``li_edges``, ``p_edges``, ``o_edges``, ``li_fits`` (per-point curves),
        ``points`` (positions and shares), ``peaks`` (the peak positions, for Fig 3B's
        marks) and ``references``, ``p_references``, ``o_references`` (FEFF curves of
        the Li K, P L2,3 and O K edges), all CSV.
    li_background_eV
        Pre-edge part of the Li K fit (below the onset): with the near-edge part it
        fixes the power law fitted together with the references.
    p_background_eV, o_background_eV
        Power-law background windows below the P and O edges.
    li_fit_window_eV
        Near-edge structure of the Li K edge, where Li2O and LiPON differ; the joint
        fit runs from the start of ``li_background_eV`` to its end (see :func:`fit_li_k`).
    li_peak_search_eV, p_peak_search_eV, p_peak_prominence
        Where peaks are searched, and the smallest P L2,3 peak prominence (fraction).
    smoothing_window_eV, smoothing_order
        Savitzky-Golay smoothing before peaks are read.
    li_shown_eV, p_shown_eV, o_shown_eV
        Energy ranges of the edge tables (the ranges Fig 3B shows); the references of
        each edge are tabulated over the same range (Fig 3C).
    reference_step_eV
        Grid step of the reference tables.

    Returns
    -------
    list of Number
        ``eels.points``, ``eels.step_nm`` and the peak positions (from the point spectra),
        and ``eels.li2o_fraction`` (from the point spectra and the Li2O and LiPON
        references).

    Raises
    ------
    InputError
        A point or reference file is unreadable or inconsistent, or a peak or share
        cannot be determined.
    """
    point_paths = inputs["points"]
    points = read_points(point_paths)
    energy = points[0].energy_eV
    raw_refs = {phase: read_reference(inputs[f"ref_{phase}"]) for phase in PHASES}
    li_window = (li_background_eV[0], li_fit_window_eV[1])  # the joint fit: pre-edge and near-edge structure
    for phase, (ref_energy, _) in raw_refs.items():
        needed = {"Fig 3C": tuple(li_shown_eV)}
        if phase in ("Li2O", "LiPON"):
            needed["the Li K fit's pre-edge part"] = tuple(li_background_eV)
            needed["the Li K fit"] = tuple(li_fit_window_eV)
        check_reference_range(inputs[f"ref_{phase}"], ref_energy, needed)
    # the P L2,3 and O K references are only drawn (Fig 3C), beside the measured edges
    edge_refs = {}
    for edge, phases, shown in (("p", P_L23_PHASES, p_shown_eV), ("o", O_K_PHASES, o_shown_eV)):
        edge_refs[edge] = {phase: read_reference(inputs[f"ref_{edge}_{phase}"]) for phase in phases}
        for phase, (ref_energy, _) in edge_refs[edge].items():
            check_reference_range(inputs[f"ref_{edge}_{phase}"], ref_energy, {"Fig 3C": tuple(shown)})

    shares = li2o_shares(points, energy, raw_refs["Li2O"], raw_refs["LiPON"], li_window)
    edges = subtracted_edges(points, shares.backgrounds, p_background_eV=p_background_eV,
                             o_background_eV=o_background_eV)
    try:
        peaks = peak_positions(energy, edges, li_peak_search_eV=li_peak_search_eV, p_peak_search_eV=p_peak_search_eV,
                               p_peak_prominence=p_peak_prominence, smoothing_window_eV=smoothing_window_eV,
                               smoothing_order=smoothing_order)
    except ValueError as err:
        raise InputError(points[0].path.parent, f"cannot read peak positions: {err}") from None
    xy = np.array([[p.x_nm, p.y_nm] for p in points])
    step = point_spacing_nm(xy)

    n = len(points)
    header = "energy_eV," + ",".join(f"point_{i + 1}" for i in range(n))
    for role, curves, shown in (("li_edges", edges.li, li_shown_eV), ("p_edges", edges.p, p_shown_eV),
                                ("o_edges", edges.o, o_shown_eV)):
        datatable.write_array(outputs[role], header, energy_table(energy, curves, shown), fmt="%.6g")
    datatable.write_array(outputs["li_fits"], header, energy_table(energy, shares.fits, li_fit_window_eV), fmt="%.6g")
    datatable.write_array(outputs["points"], "point,x_nm,y_nm,li2o_fraction",
                          np.column_stack([np.arange(1, n + 1), xy[:, 0], xy[:, 1], shares.li2o]), fmt="%.6g")
    datatable.write_array(outputs["peaks"], "li_k_I_eV,li_k_II_eV,p_l_1_eV,p_l_2_eV",
                          np.array([[peaks.li_k_lipon_eV, peaks.li_k_oxide_eV, *peaks.p_l_eV]]), fmt="%.6g")
    datatable.write_array(outputs["references"], "energy_eV," + ",".join(PHASES),
                          reference_table(raw_refs, li_shown_eV, reference_step_eV), fmt="%.6g")
    for edge, shown in (("p", p_shown_eV), ("o", o_shown_eV)):
        datatable.write_array(outputs[f"{edge}_references"], "energy_eV," + ",".join(edge_refs[edge]),
                              reference_table(edge_refs[edge], shown, reference_step_eV), fmt="%.6g")

    shares_rounded = [round(s, 4) for s in shares.li2o]
    p_peaks = peaks.p_l_eV
    from_points = [
        count("eels.points", n),
        quantity("eels.step_nm", step, "nm", 1),
        quantity("eels.li_k_peak1_eV", peaks.li_k_lipon_eV, "eV", 1),
        quantity("eels.li_k_peak2_eV", peaks.li_k_oxide_eV, "eV", 1),
        Number("eels.p_l_peaks_eV", [round(v, 2) for v in p_peaks], "eV", f"{p_peaks[0]:.1f} and {p_peaks[1]:.1f} eV"),
    ]
    share = Number("eels.li2o_fraction", shares_rounded, "", ", ".join(f"{s:.2f}" for s in shares.li2o))
    return ([number.from_inputs(point_paths) for number in from_points]
            + [share.from_inputs(point_paths, inputs["ref_Li2O"], inputs["ref_LiPON"])])

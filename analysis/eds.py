"""STEM-EDS across the Li/LiPON interface: profiles, interphase width, maps (Fig 1E-G, S5, S6).

Definitions (stated in the supplement's methods; every value named here is a registry
parameter of the ``eds`` step):

* line intensities are exspy's integrated X-ray line intensities (a window of
  ``integration_width_fwhm`` times the line's FWHM) minus the background interpolated
  from windows ``background_width_fwhm`` wide, placed ``background_offset_fwhm`` from
  the line on both sides, in counts per second of live time;
* each of the N and P profiles is fitted with a constant plus an error-function step
  (lmfit ``StepModel(form="erf")``); a profile's *onset* is where the fitted step
  reaches ``onset_pct`` of its height, its *plateau* where it reaches ``plateau_pct``;
* the interphase runs from the N onset to the P plateau: those are the first and the
  last changes of composition on the way from Li into LiPON;
* the N lead is how much deeper into the Li the N onset lies than the P onset;
* the point spectra at the start, middle and end of the interphase average
  ``point_spectrum_positions`` neighbouring scan positions (fewer where the scan ends).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis import datatable, em_io
from paperbuild import scheduler
from paperbuild.errors import InputError
from paperbuild.numbers import Number, quantity

LINES = ("N_Ka", "O_Ka", "P_Ka")     # the lines of the elements whose profiles the paper reads
_LAST_LINE_KEV = 2.2                 # P Ka (2.013 keV) with room for its background window
PROFILE_COLUMNS = "position_nm,N_cps,O_cps,P_cps,N_norm,P_norm,N_fit_norm,P_fit_norm"
INTERPHASE_COLUMNS = "start_nm,end_nm,n_onset_nm,p_onset_nm"
POINT_NAMES = ("start", "middle", "end")


@dataclass(frozen=True)
class Edge:
    """A fitted rise of one element's profile along the scan (nm).

    ``low`` and ``high`` are the fitted levels before and after the step, which the
    normalized profiles of Fig 1G map to 0 and 1.
    """

    onset_nm: float      # where the step reaches the onset fraction of its height
    plateau_nm: float    # where it reaches the plateau fraction
    centre_nm: float
    sigma_nm: float      # lmfit's erf sigma (10-90 % width = 1.812 sigma)
    low: float           # fitted level before the step
    high: float          # fitted level after the step

    def curve(self, x: np.ndarray) -> np.ndarray:
        """The fitted step evaluated at ``x`` (nm), for drawing it over the data.

        Parameters
        ----------
        x
            Positions along the scan (nm).

        Returns
        -------
        numpy.ndarray
            The fitted constant plus erf step.
        """
        from scipy.special import erf

        return self.low + (self.high - self.low) * 0.5 * (1 + erf((x - self.centre_nm) / self.sigma_nm))


@dataclass(frozen=True)
class Interphase:
    """Where the interphase lies along the scan (nm), as the methods define it."""

    start_nm: float      # the N onset
    end_nm: float        # the P plateau
    n_lead_nm: float     # P onset - N onset

    @property
    def width_nm(self) -> float:
        return self.end_nm - self.start_nm

    @property
    def middle_nm(self) -> float:
        return (self.start_nm + self.end_nm) / 2


@dataclass(frozen=True)
class LineScanFit:
    """The two fitted edges and the interphase they define."""

    n_edge: Edge
    p_edge: Edge
    interphase: Interphase


@dataclass(frozen=True)
class LineScan:
    """A calibrated EDS line scan as read from its file."""

    position_nm: np.ndarray    # beam position of each row
    energy_keV: np.ndarray     # energy of each channel
    counts: np.ndarray         # rows x channels, raw counts
    live_time_s: float


# ------------------------------------------------------------------ pure functions
def step_position(edge_centre: float, sigma: float, fraction_pct: float) -> float:
    """Where an erf step of ``centre`` and ``sigma`` reaches ``fraction_pct`` of its height.

    Parameters
    ----------
    edge_centre, sigma
        lmfit's erf step parameters (nm): the step is ``0.5 * (1 + erf((x - centre) / sigma))``.
    fraction_pct
        The share of the step's height, in percent (strictly between 0 and 100).

    Returns
    -------
    float
        The position (nm).

    Raises
    ------
    ValueError
        ``fraction_pct`` outside (0, 100).
    """
    from scipy.special import erfinv

    if not 0 < fraction_pct < 100:
        raise ValueError(f"a step fraction must lie strictly between 0 and 100 %, not {fraction_pct}")
    return edge_centre + sigma * float(erfinv(2 * fraction_pct / 100 - 1))


def fit_edge(x: np.ndarray, y: np.ndarray, *, onset_pct: float, plateau_pct: float) -> Edge:
    """Fit a constant plus an erf step to a rising profile.

    A fitted curve, not the noisy points, defines onset and plateau, so the result does
    not depend on the step of the line scan.  The starting values (levels from the
    10th/90th percentiles, a width of a tenth of the scan) and the lower bound on the
    width (a quarter of a scan step) only steer the optimizer; they are not method choices.

    Parameters
    ----------
    x
        Positions along the scan (nm), increasing and evenly spaced.
    y
        The profile (counts per second), rising from Li into LiPON.
    onset_pct, plateau_pct
        Shares of the step's height (percent) that define its onset and plateau.

    Returns
    -------
    Edge
        The fitted step with its onset and plateau positions.

    Raises
    ------
    ValueError
        Fewer than 8 finite points, a profile that does not rise, or a fitted step that
        falls.
    """
    from lmfit.models import ConstantModel, StepModel

    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 8 or not np.all(np.isfinite(y)):
        raise ValueError("a profile needs at least 8 finite points")
    low, high = np.percentile(y, [10, 90])
    if high <= low:
        raise ValueError("the profile does not rise")
    model = StepModel(form="erf", prefix="step_") + ConstantModel(prefix="base_")
    params = model.make_params(step_amplitude=high - low, step_center=x[np.argmin(np.abs(y - (low + high) / 2))],
                               step_sigma=(x[-1] - x[0]) / 10, base_c=low)
    params["step_sigma"].set(min=(x[1] - x[0]) / 4)
    result = model.fit(y, params, x=x)
    c, s = result.params["step_center"].value, result.params["step_sigma"].value
    base, amp = result.params["base_c"].value, result.params["step_amplitude"].value
    if amp <= 0:
        raise ValueError("the fitted step does not rise toward LiPON")
    return Edge(step_position(c, s, onset_pct), step_position(c, s, plateau_pct), c, s, base, base + amp)


def interphase(n_edge: Edge, p_edge: Edge) -> Interphase:
    """The interphase from the N onset to the P plateau, and the N lead.

    Parameters
    ----------
    n_edge, p_edge
        The fitted N and P steps.

    Returns
    -------
    Interphase
        Start, end and N lead (nm along the scan).

    Raises
    ------
    ValueError
        The P plateau does not lie beyond the N onset.
    """
    start, end = n_edge.onset_nm, p_edge.plateau_nm
    if end <= start:
        raise ValueError("the P plateau lies before the N onset: no interphase can be defined")
    return Interphase(start, end, p_edge.onset_nm - n_edge.onset_nm)


def fit_line_scan(x: np.ndarray, cps: Mapping[str, np.ndarray], *, onset_pct: float,
                  plateau_pct: float) -> LineScanFit:
    """Fit the N and P profiles and place the interphase between them.

    Parameters
    ----------
    x
        Positions along the scan (nm).
    cps
        Line -> count rate per position; needs ``N_Ka`` and ``P_Ka``.
    onset_pct, plateau_pct
        Shares of a step's height (percent) that define its onset and plateau.

    Returns
    -------
    LineScanFit
        Both edges and the interphase.

    Raises
    ------
    ValueError
        A profile cannot be fitted, or the edges define no interphase.
    """
    n_edge = fit_edge(x, cps["N_Ka"], onset_pct=onset_pct, plateau_pct=plateau_pct)
    p_edge = fit_edge(x, cps["P_Ka"], onset_pct=onset_pct, plateau_pct=plateau_pct)
    return LineScanFit(n_edge, p_edge, interphase(n_edge, p_edge))


def normalized(y: np.ndarray, edge: Edge) -> np.ndarray:
    """Profile scaled so the fitted levels before and after the step are 0 and 1.

    Parameters
    ----------
    y
        A profile (or the fitted curve).
    edge
        The fitted step whose levels define 0 and 1.

    Returns
    -------
    numpy.ndarray
        The scaled profile, comparable between elements of different count rates.
    """
    return (np.asarray(y, float) - edge.low) / (edge.high - edge.low)


def profile_table(x: np.ndarray, cps: Mapping[str, np.ndarray], fit: LineScanFit) -> np.ndarray:
    """Columns of ``PROFILE_COLUMNS``: positions, count rates, normalized data and fits (Fig 1G, S5B).

    Parameters
    ----------
    x
        Positions along the scan (nm).
    cps
        Line -> count rate per position.
    fit
        The fitted edges.

    Returns
    -------
    numpy.ndarray
        Positions x 8 columns.
    """
    n_edge, p_edge = fit.n_edge, fit.p_edge
    return np.column_stack([x, cps["N_Ka"], cps["O_Ka"], cps["P_Ka"], normalized(cps["N_Ka"], n_edge),
                            normalized(cps["P_Ka"], p_edge), normalized(n_edge.curve(x), n_edge),
                            normalized(p_edge.curve(x), p_edge)])


def averaged_rows(counts: np.ndarray, centre: int, positions: int) -> tuple[np.ndarray, int]:
    """Sum of ``positions`` neighbouring rows centred on ``centre``, clipped at the scan's ends.

    Near an end fewer rows exist; the count actually summed is returned so the caller
    divides by it (dividing by ``positions`` there would understate the spectrum).

    Parameters
    ----------
    counts
        Rows (scan positions) x channels.
    centre
        Index of the central row.
    positions
        How many neighbouring rows to average: an odd number, so the window is centred.

    Returns
    -------
    tuple of (numpy.ndarray, int)
        The summed rows and how many rows were summed.

    Raises
    ------
    ValueError
        ``positions`` is not a positive odd number, or ``centre`` lies outside the scan.
    """
    if positions < 1 or positions % 2 != 1:
        raise ValueError(f"the point-spectrum window needs an odd number of positions, not {positions}")
    if not 0 <= centre < counts.shape[0]:
        raise ValueError(f"row {centre} lies outside the scan of {counts.shape[0]} rows")
    half = positions // 2
    rows = counts[max(0, centre - half): centre + half + 1]
    return rows.sum(axis=0), rows.shape[0]


def point_spectra(scan: LineScan, where_nm: Mapping[str, float], positions: int) -> dict[str, np.ndarray]:
    """Mean count-rate spectra around given positions of the scan (Fig S6).

    Parameters
    ----------
    scan
        The line scan.
    where_nm
        Name -> position along the scan (nm); the nearest scan position is the centre.
    positions
        How many neighbouring scan positions each spectrum averages (odd).

    Returns
    -------
    dict of str to numpy.ndarray
        Name -> counts per second per channel, averaged over the rows actually present.
    """
    spectra = {}
    for name, value in where_nm.items():
        total, rows = averaged_rows(scan.counts, int(np.argmin(np.abs(scan.position_nm - value))), positions)
        spectra[name] = total / scan.live_time_s / rows
    return spectra


def line_energies_keV(lines: tuple[str, ...]) -> list[tuple[str, float]]:
    """Tabulated energies of X-ray lines from exspy's element database (facts, for Fig S6).

    Parameters
    ----------
    lines
        Line names such as ``"N_Ka"``.

    Returns
    -------
    list of (str, float)
        Each line with its energy in keV.
    """
    from exspy.material import elements

    found = []
    for line in lines:
        element, name = line.split("_")
        found.append((line, elements[element]["Atomic_properties"]["Xray_lines"][name]["energy (keV)"]))
    return found


# ------------------------------------------------------------------ reading
def _check_eds(signal, path: Path, navigation_dims: int) -> tuple[np.ndarray, float]:
    """Energy axis (keV) and live time (s) of an EDS signal, after checking what the analysis needs."""
    if signal.metadata.Signal.signal_type not in ("EDS_TEM", "EDS_SEM", "EDS"):
        raise InputError(path, f"not an EDS signal (signal type {signal.metadata.Signal.signal_type!r})")
    if signal.axes_manager.navigation_dimension != navigation_dims:
        raise InputError(path, f"expected {navigation_dims} navigation axis/axes, found "
                               f"{signal.axes_manager.navigation_dimension}")
    energy = em_io.energy_axis(signal, path, "keV")
    if energy[-1] < _LAST_LINE_KEV:
        raise InputError(path, f"energy axis ends at {energy[-1]:.2f} keV, below P Ka (2.01 keV)")
    lines = list(signal.metadata.get_item("Sample.xray_lines", default=[]) or [])
    missing = [line for line in LINES if line not in lines]
    if missing:
        raise InputError(path, f"metadata lacks the X-ray line(s) {', '.join(missing)} (Sample.xray_lines is {lines})")
    live_time = signal.metadata.get_item("Acquisition_instrument.TEM.Detector.EDS.live_time", default=None)
    try:
        seconds = float(live_time)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not np.isfinite(seconds) or seconds <= 0:
        raise InputError(path, f"metadata has no positive, finite live time ({live_time}); counts per second "
                               f"cannot be computed")
    return energy, seconds


def line_intensities(signal, *, integration_width_fwhm: float, background_offset_fwhm: float,
                     background_width_fwhm: float) -> dict[str, np.ndarray]:
    """Background-subtracted integrated intensity of each line (counts), per navigation position.

    Parameters
    ----------
    signal
        An EDS line scan or spectrum image (lazy or not).
    integration_width_fwhm
        Width of the integration window, in FWHMs of the line.
    background_offset_fwhm
        Distance of each background window's inner edge from the line centre, in FWHMs,
        on both sides.
    background_width_fwhm
        Width of each background window, in FWHMs.

    Returns
    -------
    dict of str to numpy.ndarray
        Line (``LINES``) -> intensity per navigation position.
    """
    windows = signal.estimate_background_windows(line_width=[background_offset_fwhm, background_offset_fwhm],
                                                 windows_width=background_width_fwhm, xray_lines=list(LINES))
    images = signal.get_lines_intensity(xray_lines=list(LINES), integration_windows=integration_width_fwhm,
                                        background_windows=windows)
    if signal._lazy:  # all lines in one pass over the blocks, on the step's Dask scheduler
        values = scheduler.compute("eds", "spectrum image blocks reduced", *(image.data for image in images))
    else:
        values = [image.data for image in images]
    return {line: np.asarray(value, dtype=float) for line, value in zip(LINES, values)}


def read_line_scan(path: Path) -> tuple[LineScan, object]:
    """The line scan's calibrated positions, energies, counts and live time, and the signal.

    Parameters
    ----------
    path
        The line scan (``.hspy``).

    Returns
    -------
    tuple of (LineScan, signal)
        The calibrated arrays, and the HyperSpy signal exspy integrates lines on.

    Raises
    ------
    InputError
        The file is not a calibrated EDS line scan with the needed lines and live time.
    """
    signal = em_io.load(path)
    energy, live_time = _check_eds(signal, path, 1)
    x = em_io.axis_positions_nm(signal.axes_manager.navigation_axes[0], path, "position")
    return LineScan(x, energy, signal.data, live_time), signal


def survey_path_nm(signal, path: Path) -> np.ndarray:
    """Where the line scan ran on its survey image: start and end (x, y) in nm, or no rows if unrecorded.

    Acquisition software records a line scan's position on the survey image it was
    placed on; the figures draw it as an arrow on that image.  A scan without the record
    still gives every number, only no arrow.

    Parameters
    ----------
    signal
        The line scan's HyperSpy signal (from `read_line_scan`); the position is read
        from ``original_metadata.Survey_image`` (``start_xy``, ``end_xy``, ``units``).
    path
        The line scan file, named in the error when the record is malformed.

    Returns
    -------
    numpy.ndarray
        Shape (2, 2) float: the scan's start and end (x, y) on the survey image, in nm;
        shape (0, 2) when the file records no ``Survey_image``.

    Raises
    ------
    InputError
        The record is there but is not two (x, y) points in nm.
    """
    record = signal.original_metadata.get_item("Survey_image")
    if record is None:
        return np.empty((0, 2))
    record = record.as_dictionary() if hasattr(record, "as_dictionary") else dict(record)
    try:
        if record.get("units") != "nm":
            raise ValueError(f"units {record.get('units')!r}, expected 'nm'")
        points = np.array([record["start_xy"], record["end_xy"]], dtype=float)
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(path, f"original_metadata.Survey_image is not a start_xy/end_xy pair in nm: {err}") from None
    if points.shape != (2, 2) or not np.isfinite(points).all():
        raise InputError(path, "original_metadata.Survey_image: start_xy and end_xy must be finite (x, y) pairs")
    return points


# ------------------------------------------------------------------ edge
def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path], *, integration_width_fwhm: float,
        background_offset_fwhm: float, background_width_fwhm: float, onset_pct: float, plateau_pct: float,
        point_spectrum_positions: int) -> list[Number]:
    """Profiles, fits, point spectra and maps; the interphase width and N lead.

    Parameters
    ----------
    inputs
        ``line_scan`` (EDS line scan across the interface) and ``spectrum_image``
        (EDS map of the same region), both HyperSpy files.
    outputs
        ``profiles``, ``interphase``, ``point_spectra``, ``lines``, ``scan_path`` (where
        the scan ran on its survey image; CSV tables) and ``maps`` (count-rate maps, ``.npz``).
    integration_width_fwhm, background_offset_fwhm, background_width_fwhm
        Line integration and background windows, in FWHMs of each line.
    onset_pct, plateau_pct
        Shares of a fitted step's height (percent) that define its onset and plateau.
    point_spectrum_positions
        How many neighbouring scan positions each point spectrum averages (odd).

    Returns
    -------
    list of Number
        ``eds.interphase_width_nm`` and ``eds.n_lead_nm``, both derived from the line
        scan alone.

    Raises
    ------
    InputError
        A file is unreadable or uncalibrated, or the profiles define no interphase.
    """
    windows = dict(integration_width_fwhm=integration_width_fwhm, background_offset_fwhm=background_offset_fwhm,
                   background_width_fwhm=background_width_fwhm)
    path = inputs["line_scan"]
    scan, signal = read_line_scan(path)
    cps = {line: counts / scan.live_time_s for line, counts in line_intensities(signal, **windows).items()}
    try:
        fit = fit_line_scan(scan.position_nm, cps, onset_pct=onset_pct, plateau_pct=plateau_pct)
        spectra = point_spectra(scan, {"start": fit.interphase.start_nm, "middle": fit.interphase.middle_nm,
                                       "end": fit.interphase.end_nm}, point_spectrum_positions)
    except ValueError as err:
        raise InputError(path, f"cannot locate the interphase: {err}") from None
    region = fit.interphase

    map_path = inputs["spectrum_image"]
    cube = em_io.load(map_path, lazy=True)  # a real spectrum image may not fit in memory
    _, map_live_time = _check_eds(cube, map_path, 2)
    pixel_nm = em_io.axis_scale(cube.axes_manager.navigation_axes[0], map_path, em_io.LENGTH_UNITS_TO_NM, "map")[0]
    maps = line_intensities(cube, **windows)

    datatable.write_array(outputs["profiles"], PROFILE_COLUMNS, profile_table(scan.position_nm, cps, fit), fmt="%.6g")
    datatable.write_array(outputs["interphase"], INTERPHASE_COLUMNS,
                          [[region.start_nm, region.end_nm, fit.n_edge.onset_nm, fit.p_edge.onset_nm]], fmt="%.6g")
    datatable.write_array(outputs["point_spectra"], "energy_keV," + ",".join(f"{n}_cps" for n in POINT_NAMES),
                          np.column_stack([scan.energy_keV, *(spectra[n] for n in POINT_NAMES)]), fmt="%.6g")
    datatable.write_rows(outputs["lines"], "line,energy_keV", line_energies_keV(LINES), "{},{}")
    datatable.write_array(outputs["scan_path"], "x_nm,y_nm", survey_path_nm(signal, path), fmt="%.6g")
    np.savez(outputs["maps"], N=maps["N_Ka"] / map_live_time, P=maps["P_Ka"] / map_live_time,
             O=maps["O_Ka"] / map_live_time, pixel_nm=pixel_nm)
    return [
        quantity("eds.interphase_width_nm", region.width_nm, "nm", 0).from_inputs(path),
        quantity("eds.n_lead_nm", region.n_lead_nm, "nm", 0).from_inputs(path),
    ]

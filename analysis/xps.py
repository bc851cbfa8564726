"""XPS: the depth profile through Li into LiPON (Figure 4, S9) and the LiPON reference (S8).

Definitions (stated in the supplement's methods; every method choice is a parameter of
the ``xps`` step in ``analysis/registry.py``):

* spectra are read from the instrument's VAMAS export with the ``vamas`` package;
  binding energy = photon energy - kinetic energy - analyser work function, then every
  spectrum of a file is shifted so that the C-C/C-H line of its surface C 1s sits at
  ``c1s_reference_eV`` (one shift per file: below the surface the carbon is etched away);
* the edge-anchored background is the iterative Shirley background of ``lmfitxps``,
  anchored on the mean of the first and last ``edge_channels`` channels of the window;
  where those two means agree within ``flat_background_sigma`` counting sigmas there is
  no step to distribute, and where the iteration has no fixed point, the background is
  the straight line between them;
* lines are Voigt profiles fitted with ``lmfit`` to the counts, weighted by counting
  noise, on an active Shirley background (a flat level plus a step proportional to the
  fitted line area at lower binding energy) fitted with them and started from the
  edge-anchored one; P 2p is a 2p3/2 + 2p1/2 doublet with the spin-orbit splitting and
  the 1:2 area ratio fixed from the cited constants file;
* a region is *detected* at an etch step when its net area (counts above the
  edge-anchored background, summed over the window) exceeds ``detection_sigma`` times
  its counting uncertainty; the onset depth is the first etch step from which the region stays
  detected for ``persistence`` consecutive steps, so that one noisy spectrum can
  neither start nor hide an onset;
* atomic % = (fitted area / sensitivity factor) normalised over C, O, N, P and Li.
"""
from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from analysis import datatable
from paperbuild import progress as paperbuild_progress
from paperbuild.errors import InputError
from paperbuild.numbers import Number, quantity

AL_KALPHA_EV = 1486.7  # photon energy of the monochromated Al K-alpha source
VAMAS_IDENTIFIER = "VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4"  # ISO 14976 line 1
SOURCE_CHECK_EV = 0.05  # a block within this of AL_KALPHA_EV was taken with that source
REGIONS = ("C 1s", "O 1s", "N 1s", "P 2p", "Li 1s")  # the regions every etch step records
ELEMENTS = {"C 1s": "C", "O 1s": "O", "N 1s": "N", "P 2p": "P", "Li 1s": "Li"}
# A guard, not a method choice: a Shirley iteration that has not converged by then has no
# fixed point (see :func:`edge_background`), so the cap never shapes a result.
SHIRLEY_MAX_ITERATIONS = 200

# Chemical states fitted in each region: name -> starting binding energy (eV), from the
# NIST XPS database and the LiPON literature.  Each centre may move by the step's
# ``centre_freedom_eV``: these are starting values and the bounds of a search, not
# results (lines moved by a few tenths of an eV from them are found without bias; the
# validation moves every state by up to 0.3 eV), and a line farther than that from its
# literature energy is outside what the method claims to find.
PROFILE_STATES: dict[str, dict[str, float]] = {
    "C 1s": {"C-C/C-H": 285.0, "CO3": 290.0},
    "O 1s": {"Li2O": 528.5, "CO3/PO4": 531.5},
    "N 1s": {"Li3N": 394.0},
    "P 2p": {"PO4": 133.0},
    "Li 1s": {"Li metal": 52.5, "Li2O/Li3N": 54.0, "CO3/PO4": 55.3},
}
REFERENCE_STATES: dict[str, dict[str, float]] = {
    "C 1s": {"C-C/C-H": 285.0},
    "O 1s": {"NBO": 531.0, "BO": 532.5},
    "N 1s": {"Na": 397.0, "Nb": 398.8, "NO2-": 403.5},
    "P 2p": {"PO4": 133.0},
    "Li 1s": {"Li": 55.5},
}

# Which declared inputs (roles) each number is derived from.  The P 2p doublet constants
# and the sensitivity factors share one cited file, role ``sensitivity_factors``.
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "xps.n1s_onset_depth": ("profile",),
    "xps.p2p_onset_depth": ("profile",),
    "xps.li3n_n1s_eV": ("profile",),
    "xps.phosphate_p2p_eV": ("profile", "sensitivity_factors"),
    "xps.profile_shift_eV": ("profile",),
    "xps.reference_shift_eV": ("reference",),
    "xps.ref_o1s_nbo_eV": ("reference",),
    "xps.ref_o1s_bo_eV": ("reference",),
    "xps.ref_n1s_na_eV": ("reference",),
    "xps.ref_n1s_nb_eV": ("reference",),
    "xps.ref_n1s_no2_eV": ("reference",),
    "xps.ref_p2p32_eV": ("reference", "sensitivity_factors"),
    "xps.ref_p2p12_eV": ("reference", "sensitivity_factors"),
    "xps.ref_p2p_split_eV": ("reference", "sensitivity_factors"),
    "xps.ref_p2p_fixed_split_redchi_ratio": ("reference", "sensitivity_factors"),
    "xps.ref_stoichiometry": ("reference", "sensitivity_factors"),
    "xps.photon_energy_eV": ("profile", "reference"),
    "xps.analysis_width_x_um": ("profile", "reference"),
    "xps.analysis_width_y_um": ("profile", "reference"),
    # a method parameter echoed for the ledger: no input file shapes it, and the
    # provenance record cannot say "none", so it keeps the step's inputs
    "xps.c1s_reference_eV": (),
    "xps.p2p_split_fixed_eV": ("sensitivity_factors",),
}


# ------------------------------------------------------------------ data types
@dataclass(frozen=True)
class Spectrum:
    """One region at one etch step: binding energies ascending, counts per channel."""

    region: str
    etch_s: float
    binding_eV: np.ndarray
    counts: np.ndarray
    block: str
    source_eV: float = AL_KALPHA_EV             # the header's X-ray energy
    area_um: tuple[float, float] = (0.0, 0.0)   # the header's analysed area, x by y


@dataclass(frozen=True)
class Line:
    """A fitted component: centre (eV), area (counts x eV), Gaussian sigma (eV)."""

    region: str
    name: str
    centre_eV: float
    area: float
    sigma_eV: float


@dataclass(frozen=True)
class Constants:
    """The cited constants of the quantification and the P 2p doublet."""

    factors: dict[str, float]   # region -> relative sensitivity factor (F 1s = 1)
    split_eV: float             # P 2p spin-orbit splitting, 2p1/2 above 2p3/2
    ratio: float                # area of 2p1/2 over 2p3/2


@dataclass(frozen=True)
class ShirleySettings:
    """How the Shirley background is anchored and iterated.

    ``edge_channels`` channels at each end give the anchor means; a step smaller than
    ``flat_sigma`` counting sigmas of those means gets a straight line; the iteration
    has converged when the mean squared change falls below ``tolerance`` (counts²).
    """

    edge_channels: int
    flat_sigma: float
    tolerance: float


@dataclass(frozen=True)
class LineModel:
    """Starting values and bounds of the Voigt line fits.

    Every centre may move ``centre_freedom_eV`` from its start; the lines of a region
    share one Gaussian sigma and one Lorentzian gamma; each line's area starts at
    ``area_start_factor`` x the largest net count, shared among the region's states.
    The active Shirley step (background rise per unit line area) stays within
    ``[0, shirley_step_max]`` (per eV).
    """

    centre_freedom_eV: float
    sigma_start_eV: float
    sigma_range_eV: tuple[float, float]
    gamma_start_eV: float
    gamma_range_eV: tuple[float, float]
    free_split_range_eV: tuple[float, float]
    area_start_factor: float
    shirley_step_max: float


@dataclass(frozen=True)
class Doublet:
    """A spin-orbit doublet: the partner sits ``split_eV`` above with ``ratio`` of the area.

    With ``free`` the splitting varies within the line model's ``free_split_range_eV``,
    starting from ``split_eV``.
    """

    split_eV: float
    ratio: float
    free: bool


@dataclass(frozen=True)
class Calibration:
    """Where the C-C/C-H line is put, where it is looked for, and the fit window around it."""

    reference_eV: float
    search_eV: tuple[float, float]
    window_eV: float


@dataclass(frozen=True)
class LineFit:
    """The fitted lines of one region, each state's curve, the fit's reduced chi-square, the
    fitted splitting (doublets) and the fitted background under every channel."""

    lines: list[Line]
    curves: dict[str, np.ndarray]
    redchi: float
    split_eV: float | None
    background: np.ndarray


@dataclass(frozen=True)
class Profile:
    """The depth profile, calibrated and fitted at every etch step.

    ``onsets``: region -> onset depth; ``found``: region -> the lines fitted where the
    region is detected; the ``*_rows`` are the rows of the step's tables.
    """

    shift_eV: float
    onsets: dict[str, float]
    found: dict[str, list[Line]]
    spectra_rows: list[tuple]
    line_rows: list[tuple]
    detection_rows: list[tuple]
    atomic_rows: list[tuple[float, dict[str, float]]]


@dataclass(frozen=True)
class Reference:
    """The LiPON reference: one fit per region (P 2p with its splitting free), the P 2p
    fit with the splitting fixed, and the drawn curves as table rows."""

    shift_eV: float
    fits: dict[str, LineFit]
    fixed: LineFit
    curve_rows: list[tuple]


# ------------------------------------------------------------------ reading
def read_vamas(path: Path) -> list[Spectrum]:
    """Every XPS block of a VAMAS file on a binding-energy axis (uncalibrated).

    Parameters
    ----------
    path
        The VAMAS export.

    Returns
    -------
    list of Spectrum
        One per block, in file order; the energy axis ascending.

    Raises
    ------
    InputError
        The file is missing, empty or unreadable, holds fewer blocks than its header
        declares (the message names the etch step and region missing), is cut short or
        damaged inside a block (named), or a block is not an Al K-alpha XPS spectrum of
        finite counts on a monotonic energy axis.
    """
    if not path.is_file():
        raise InputError(path, "file is missing")
    data = path.read_bytes()
    if not data.strip():
        raise InputError(path, "file is empty")
    experiment, err = _parse_vamas(data)
    if experiment is None:
        raise InputError(path, _vamas_damage(path, data, err))
    declared = experiment.header.num_blocks
    spectra = [_spectrum(path, block) for block in experiment.blocks]
    if len(spectra) != declared:
        raise InputError(path, f"header declares {declared} blocks, file holds {len(spectra)}")
    return spectra


def _parse_vamas(data: bytes):
    """The ``vamas`` package's reading of ``data``, or None and the error it raised."""
    from vamas import Vamas

    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the reader prints notices
            return Vamas(data), None
    except Exception as err:  # the reader raises bare StopIteration/ValueError on damage
        return None, err


def _block_count_line(lines: Sequence[str]) -> int:
    """Index of the header line that declares the number of blocks (ISO 14976 layout).

    Raises IndexError or ValueError when the header itself is cut short or damaged.
    """
    at = 5                                       # identifier, institution, instrument, operator, experiment
    at += 1 + int(lines[at])                     # comment lines
    mode = lines[at].strip()
    at += 2                                      # experiment mode, scan mode
    if mode in ("MAP", "MAPD", "NORM", "SDP"):
        at += 1                                  # number of spectral regions
    if mode in ("MAP", "MAPD"):
        at += 3                                  # analysis positions, x and y coordinates of the map
    at += 1 + 2 * int(lines[at])                 # experimental variables (label, unit)
    at += 1 + abs(int(lines[at]))                # block parameter inclusion/exclusion list
    at += 1                                      # manually entered items
    at += 1 + 2 * int(lines[at])                 # future upgrade experiment entries (label, unit)
    at += 1                                      # future upgrade block entries
    int(lines[at])
    return at


def _vamas_damage(path: Path, data: bytes, err: Exception) -> str:
    """Why a VAMAS file does not parse, naming the first unreadable block and what is missing.

    The ``vamas`` reader stops with a bare StopIteration (file ends early) or ValueError
    (a line out of place) and keeps no partial result, so the blocks that can be read
    are found by reading the first k blocks only (the header's count rewritten), for
    the largest such k.
    """
    if isinstance(err, UnicodeDecodeError):
        return f"not a readable VAMAS file: not text ({err})"
    lines = data.decode("utf-8", errors="replace").splitlines()
    if lines[0].strip() != VAMAS_IDENTIFIER:
        return f"not a readable VAMAS file: its first line is not {VAMAS_IDENTIFIER!r}"
    try:
        at = _block_count_line(lines)
    except (IndexError, ValueError):
        return f"not a readable VAMAS file: its header is damaged or cut short ({type(err).__name__}: {err})"
    declared = int(lines[at])

    def first(count: int):
        return _parse_vamas("\n".join([*lines[:at], str(count), *lines[at + 1:]]).encode("utf-8"))[0]

    readable, experiment = 0, first(0)
    low, high = 1, declared - 1
    while low <= high:  # reading the first k blocks succeeds up to some k and fails beyond
        middle = (low + high) // 2
        attempt = first(middle)
        if attempt is None:
            high = middle - 1
        else:
            readable, experiment, low = middle, attempt, middle + 1
    blocks = experiment.blocks if experiment is not None else []
    after = f" (after block {blocks[-1].block_identifier!r})" if blocks else ""
    complete = lines[-1].strip().lower() == "end of experiment" if lines else False
    if isinstance(err, StopIteration) and complete:
        problem = f"header declares {declared} blocks but the file holds {readable}"
    elif isinstance(err, StopIteration):
        problem = (f"the file ends inside block {readable + 1} of the {declared} its header declares{after}: "
                   f"it is cut short")
    else:
        problem = (f"block {readable + 1} of {declared}{after} is damaged ({type(err).__name__}: {err})")
    try:
        by_step(path, [_spectrum(path, block) for block in blocks])
    except InputError as missing:
        problem += f"; {missing.problem}"
    return problem


def _spectrum(path: Path, block) -> Spectrum:
    name = block.block_identifier
    if block.technique != "XPS":
        raise InputError(path, f"block {name!r} is {block.technique!r}, not XPS")
    source = block.analysis_source_characteristic_energy
    if not abs(source - AL_KALPHA_EV) <= SOURCE_CHECK_EV:  # also refuses a NaN
        raise InputError(path, f"block {name!r} was taken with a {source} eV source, not Al K-alpha ({AL_KALPHA_EV} eV)")
    counts = np.asarray(block.corresponding_variables[0].y_values, dtype=float)
    if counts.size == 0:
        raise InputError(path, f"block {name!r} holds no counts")
    bad = np.flatnonzero(~np.isfinite(counts))
    if bad.size:
        raise InputError(path, f"block {name!r} holds a non-finite count ({counts[bad[0]]}) at channel {bad[0] + 1}, "
                               f"{bad.size} such count(s) in the block: every count must be a finite number")
    step = block.x_step
    if not np.isfinite(step) or step == 0:
        raise InputError(path, f"energy axis of block {name!r} is not monotonic (step {step} eV)")
    for value, what in ((block.x_start, "energy axis start"),
                        (block.analyzer_work_function_or_acceptance_energy, "analyser work function")):
        if not np.isfinite(value):
            raise InputError(path, f"block {name!r}: the {what} is {value}, not a finite number")
    axis = block.x_start + step * np.arange(counts.size)
    label = block.x_label.lower()
    if label.startswith("kinetic"):
        binding = source - axis - block.analyzer_work_function_or_acceptance_energy
    elif label.startswith("binding"):
        binding = axis
    else:
        raise InputError(path, f"block {name!r}: abscissa {block.x_label!r} is neither kinetic nor binding energy")
    order = np.argsort(binding)
    try:
        etch = float(block.values_exp_var[0]) if block.values_exp_var else 0.0
    except ValueError:
        etch = float("nan")
    if not np.isfinite(etch):
        stated = block.values_exp_var[0].strip()
        raise InputError(path, f"block {name!r}: its etch time {stated!r} is not a finite number")
    region = f"{block.species_label} {block.transition_or_charge_state_label}"
    area = (float(block.analysis_width_x), float(block.analysis_width_y))
    return Spectrum(region, etch, binding[order], counts[order], name, float(source), area)


def by_step(path: Path, spectra: Sequence[Spectrum]) -> dict[float, dict[str, Spectrum]]:
    """Spectra grouped per etch step; every step must hold every region once.

    Parameters
    ----------
    path
        The file the spectra came from, named in errors.
    spectra
        Its spectra (:func:`read_vamas`).

    Returns
    -------
    dict
        Etch time (s) -> region -> spectrum, by increasing etch time.

    Raises
    ------
    InputError
        An etch step lacks a region or holds one twice.
    """
    steps: dict[float, dict[str, Spectrum]] = {}
    for spectrum in spectra:
        regions = steps.setdefault(spectrum.etch_s, {})
        if spectrum.region in regions:
            raise InputError(path, f"etch step {spectrum.etch_s:g} s holds two {spectrum.region} blocks")
        regions[spectrum.region] = spectrum
    for etch, regions in sorted(steps.items()):
        missing = [r for r in REGIONS if r not in regions]
        if missing:
            raise InputError(path, f"etch step {etch:g} s has no {', '.join(missing)} block")
    return dict(sorted(steps.items()))


def read_constants(path: Path) -> Constants:
    """The sensitivity factors and P 2p doublet constants of the cited YAML file.

    Parameters
    ----------
    path
        ``xps_sensitivity_factors.yaml`` (keys ``factors``, ``p2p_spin_orbit_split_eV``,
        ``p2p_area_ratio_12_to_32``).

    Returns
    -------
    Constants

    Raises
    ------
    InputError
        Not YAML, a key missing or malformed, a region without a factor, or a constant
        that is not a positive finite number.
    """
    import yaml

    try:
        external = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise InputError(path, f"not a readable YAML file ({err})") from None
    try:
        constants = Constants(dict(external["factors"]), float(external["p2p_spin_orbit_split_eV"]),
                              float(external["p2p_area_ratio_12_to_32"]))
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(path, f"missing or malformed entry {err}") from None
    missing = [r for r in REGIONS if r not in constants.factors]
    if missing:
        raise InputError(path, f"no sensitivity factor for {', '.join(missing)}")
    for name, value in [*((f"factors.{r}", constants.factors[r]) for r in REGIONS),
                        ("p2p_spin_orbit_split_eV", constants.split_eV), ("p2p_area_ratio_12_to_32", constants.ratio)]:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
            raise InputError(path, f"{name} is {value!r}; it must be a positive finite number")
    return constants


# ------------------------------------------------------------------ pure functions
def window_problem(channels: int, edge_channels: int) -> str | None:
    """Why a region's window is too short for the background and its lines, or None.

    Parameters
    ----------
    channels
        Channels in the window.
    edge_channels
        Channels averaged at each end to anchor the background.

    Returns
    -------
    str or None
    """
    if channels < 3 * edge_channels:
        return (f"the window holds {channels} channel(s); anchoring the background takes {edge_channels} at each end "
                f"and the lines need the channels between")
    return None


class NoShirleyFixedPoint(ValueError):
    """The iterative Shirley background did not converge (see :func:`edge_background`)."""


def shirley(binding: np.ndarray, counts: np.ndarray, settings: ShirleySettings) -> np.ndarray:
    """Iterative Shirley background (lmfitxps), anchored on averaged window edges.

    Averaging the edge channels keeps one noisy channel from tilting the whole
    background; a window with no step beyond counting noise gives Shirley nothing to
    distribute (its iteration has no fixed point), so it gets the straight line.

    Parameters
    ----------
    binding, counts
        One region's window, binding energy ascending.
    settings
        Edge averaging, flatness threshold and convergence tolerance.

    Returns
    -------
    numpy.ndarray
        The background under every channel.

    Raises
    ------
    ValueError
        The window is too short to anchor a background and hold a line between;
        :class:`NoShirleyFixedPoint` when the iteration did not converge within
        ``SHIRLEY_MAX_ITERATIONS`` (lmfitxps reports it by printing).
    """
    from lmfitxps.backgrounds import shirley_calculate

    n = settings.edge_channels
    problem = window_problem(counts.size, n)
    if problem:
        raise ValueError(problem)
    low, high = counts[:n].mean(), counts[-n:].mean()
    if abs(high - low) < settings.flat_sigma * np.sqrt((low + high) / n):
        return np.linspace(low, high, binding.size)
    report = io.StringIO()
    with contextlib.redirect_stdout(report):  # lmfitxps prints instead of raising
        background = shirley_calculate(binding, counts, tol=settings.tolerance, maxit=SHIRLEY_MAX_ITERATIONS,
                                       bounds=[(binding[0], low), (binding[-1], high)])
    if report.getvalue().strip():
        raise NoShirleyFixedPoint(f"Shirley background: {report.getvalue().strip()}")
    return np.asarray(background, dtype=float)


def edge_background(binding: np.ndarray, counts: np.ndarray, settings: ShirleySettings) -> np.ndarray:
    """The edge-anchored background of a window: its iterative Shirley background, or the
    straight line between the two anchors where that iteration has no fixed point.

    The iteration has none when the window reaches far beyond a line on its high-energy
    side and the Shirley step is large: the background there has long stopped rising,
    so any step larger than the constructed one (and the averaged edges carry counting
    noise) is met only by a background that follows the counts.  Such a window holds a
    strong line (a window without one has no step and gets the straight line anyway):
    the straight line then serves as the line fit's start (the fit finds its own
    background, see :func:`fit_lines`) and as the reference of its net area.

    Parameters
    ----------
    binding, counts
        One region's window, binding energy ascending.
    settings
        Edge averaging, flatness threshold and convergence tolerance.

    Returns
    -------
    numpy.ndarray
        The background under every channel.

    Raises
    ------
    ValueError
        The window is too short to anchor a background and hold a line between.
    """
    try:
        return shirley(binding, counts, settings)
    except NoShirleyFixedPoint:
        n = settings.edge_channels
        return np.linspace(counts[:n].mean(), counts[-n:].mean(), binding.size)


def net_area(binding: np.ndarray, counts: np.ndarray, background: np.ndarray, edge_channels: int) -> tuple[float, float]:
    """Counts above background summed over the window (counts x eV) and its sigma.

    The sigma combines the counting noise of the window with that of the two edge
    means that anchor the background (which dominates for a weak line: an error in an
    edge shifts the background under the whole window).

    Parameters
    ----------
    binding, counts, background
        One region's window and its background.
    edge_channels
        Channels averaged at each end to anchor the background (as in :func:`shirley`).

    Returns
    -------
    tuple of float
        Net area and its one-sigma uncertainty.
    """
    step = abs(float(binding[1] - binding[0]))
    width = step * counts.size
    edge_variance = (counts[:edge_channels].mean() + counts[-edge_channels:].mean()) / edge_channels
    variance = step**2 * counts.clip(min=0).sum() + width**2 * edge_variance / 4.0
    return float((counts - background).sum() * step), float(np.sqrt(variance))


def onset(depths: Sequence[float], detected: Sequence[bool], persistence: int) -> float | None:
    """First depth from which ``persistence`` consecutive steps are detected.

    Requiring a run of detections keeps one noisy spectrum from starting an onset, and
    one missed detection from hiding it.

    Parameters
    ----------
    depths
        Etch depths, increasing.
    detected
        Whether the region is detected at each depth.
    persistence
        Consecutive detections needed.

    Returns
    -------
    float or None
        The onset depth, or None when the region is never detected long enough.
    """
    flags = list(detected)
    for index in range(len(flags) - persistence + 1):
        if all(flags[index:index + persistence]):
            return float(depths[index])
    return None


def _state_curves(x: np.ndarray, values: Mapping[str, float], names: Sequence[str], doublet: Doublet | None
                  ) -> dict[str, np.ndarray]:
    """Each line's curve; a doublet gives two, named '<state> 2p3/2' and '<state> 2p1/2'."""
    from scipy.special import voigt_profile

    sigma, gamma = values["sigma"], values["gamma"]
    curves = {}
    for i, name in enumerate(names):
        main = values[f"a{i}"] * voigt_profile(x - values[f"c{i}"], sigma, gamma)
        if doublet is None:
            curves[name] = main
        else:
            curves[f"{name} 2p3/2"] = main
            curves[f"{name} 2p1/2"] = doublet.ratio * values[f"a{i}"] * voigt_profile(
                x - values[f"c{i}"] - values["split"], sigma, gamma)
    return curves


def active_shirley(binding: np.ndarray, peaks: np.ndarray, level: float, step: float) -> np.ndarray:
    """Shirley background made by given peaks: a flat ``level`` plus ``step`` times the peak
    area lying at lower binding energy (trapezoid rule), channel by channel.

    This is the background the iterative Shirley algorithm converges to when the net
    signal is exactly ``peaks``; fitted together with the lines (the "active" Shirley
    background of Proctor & Sherwood 1982 and Herrera-Gomez et al. 2014, as lmfitxps's
    ``ShirleyBG`` model does with a rectangle sum) it needs no anchoring on window edges.

    Parameters
    ----------
    binding
        Binding energies, ascending.
    peaks
        The lines' counts per channel.
    level
        Background at the window's low-energy end (counts).
    step
        Background rise per unit of line area (counts x eV) at lower binding energy (1/eV).

    Returns
    -------
    numpy.ndarray
        The background under every channel.
    """
    from scipy.integrate import cumulative_trapezoid

    return level + step * cumulative_trapezoid(peaks, binding, initial=0.0)


def fit_lines(region: str, binding: np.ndarray, counts: np.ndarray, background: np.ndarray,
              states: Mapping[str, float], model: LineModel, doublet: Doublet | None) -> LineFit:
    """Least-squares fit (lmfit) of Voigt lines sharing one Gaussian and one Lorentzian width,
    on an active Shirley background fitted with them.

    One width pair per region: the lines of a region are broadened by the same
    instrument and charging.  Weights are counting noise.  A doublet's 2p1/2 partner is
    tied to its 2p3/2 line; fitting it with the splitting free tests whether a published
    pair of positions can be one doublet.  A state's area includes its doublet partner.

    The background is not subtracted beforehand: a Shirley background anchored on the
    window's edge channels sits too high by the lines' Lorentzian tails there (about 5 %
    of the line height for these windows), and the fit then narrows the lines to match
    the clipped wings, which pulls the partners of an unresolved doublet together (a
    0.50 eV splitting came out 0.47 eV, and worse for weaker lines).  Instead the
    background is the flat level plus the Shirley step of the fitted lines themselves
    (:func:`active_shirley`), both fitted with the lines and started from ``background``.

    Parameters
    ----------
    region
        The region's name, carried into the lines.
    binding, counts
        Binding energies (ascending) and raw counts.
    background
        A first background (the iterative Shirley of :func:`shirley`): gives the
        starting level, Shirley step and line areas.
    states
        State name -> starting centre (eV).
    model
        Starting values and bounds of the fit.
    doublet
        The doublet constants, or None for single lines.

    Returns
    -------
    LineFit
        With the fitted background.
    """
    import lmfit

    names = list(states)
    unknowns = 2 * len(names) + 4 + (1 if doublet is not None and doublet.free else 0)
    if binding.size <= unknowns:
        raise ValueError(f"{region}: {binding.size} channels cannot determine {unknowns} line parameters")
    net = counts - background
    net_area_start = float(np.trapezoid(net, binding))
    params = lmfit.Parameters()
    start = max(float(net.max()), 1.0) * model.area_start_factor / len(names)
    for i, centre in enumerate(states.values()):
        params.add(f"c{i}", value=centre, min=centre - model.centre_freedom_eV, max=centre + model.centre_freedom_eV)
        params.add(f"a{i}", value=start, min=0.0)
    params.add("sigma", value=model.sigma_start_eV, min=model.sigma_range_eV[0], max=model.sigma_range_eV[1])
    params.add("gamma", value=model.gamma_start_eV, min=model.gamma_range_eV[0], max=model.gamma_range_eV[1])
    if doublet is not None:
        params.add("split", value=doublet.split_eV, min=model.free_split_range_eV[0], max=model.free_split_range_eV[1],
                   vary=doublet.free)
    rise = float(background[-1] - background[0])
    params.add("level", value=float(background[0]))
    guess = rise / net_area_start if net_area_start > 0 else 0.0
    params.add("step", value=min(max(guess, 0.0), model.shirley_step_max), min=0.0, max=model.shirley_step_max)
    weights = 1.0 / np.sqrt(np.clip(counts, 1.0, None))

    def residual(p):
        values = p.valuesdict()
        peaks = sum(_state_curves(binding, values, names, doublet).values())
        return (peaks + active_shirley(binding, peaks, values["level"], values["step"]) - counts) * weights

    result = lmfit.minimize(residual, params, method="least_squares", nan_policy="raise", x_scale="jac")
    values = result.params.valuesdict()
    curves = _state_curves(binding, values, names, doublet)
    fitted = active_shirley(binding, sum(curves.values()), values["level"], values["step"])
    scale = 1.0 + doublet.ratio if doublet is not None else 1.0
    lines = [Line(region, name, values[f"c{i}"], values[f"a{i}"] * scale, values["sigma"]) for i, name in enumerate(names)]
    return LineFit(lines, curves, float(result.redchi), values["split"] if doublet is not None else None, fitted)


def atomic_percent(areas: Mapping[str, float], factors: Mapping[str, float]) -> dict[str, float]:
    """Atomic % of each region's element from its area and sensitivity factor.

    Parameters
    ----------
    areas
        Region -> fitted area (negative areas count as zero).
    factors
        Region -> relative sensitivity factor.

    Returns
    -------
    dict
        Region -> atomic %, summing to 100.

    Raises
    ------
    ValueError
        No region has signal.
    """
    amounts = {region: max(area, 0.0) / factors[region] for region, area in areas.items()}
    total = sum(amounts.values())
    if total <= 0:
        raise ValueError("no signal in any region")
    return {region: 100.0 * amount / total for region, amount in amounts.items()}


def formula_per_p(areas: Mapping[str, float], factors: Mapping[str, float]) -> tuple[list[float], str]:
    """Li, O and N per P from fitted areas, and the formula as the paper writes it.

    Parameters
    ----------
    areas
        Region -> fitted area (Li 1s, P 2p, O 1s and N 1s are used).
    factors
        Region -> relative sensitivity factor.

    Returns
    -------
    tuple
        ``[Li/P, O/P, N/P]`` and the formula, e.g. ``"Li2.84PO3.35N0.38"``.

    Raises
    ------
    ValueError
        No P 2p signal.
    """
    per = {region: areas[region] / factors[region] for region in ("Li 1s", "P 2p", "O 1s", "N 1s")}
    if per["P 2p"] <= 0:
        raise ValueError("no P 2p signal")
    ratios = [per[r] / per["P 2p"] for r in ("Li 1s", "O 1s", "N 1s")]
    return ratios, f"Li{ratios[0]:.2f}PO{ratios[1]:.2f}N{ratios[2]:.2f}"


def weighted_centre(lines: Sequence[Line]) -> float:
    """Area-weighted mean centre of fitted lines: strong steps count more than faint ones.

    Parameters
    ----------
    lines
        Lines with positive total area.

    Returns
    -------
    float
        The mean centre (eV).
    """
    areas = np.array([line.area for line in lines])
    return float(np.average([line.centre_eV for line in lines], weights=areas))


def calibration_shift(spectrum: Spectrum, calibration: Calibration, shirley_settings: ShirleySettings,
                      model: LineModel) -> float:
    """Shift (eV) that puts the C-C/C-H line of a C 1s spectrum at the reference energy.

    One Voigt line is fitted within ``calibration.window_eV`` of the strongest channel
    inside ``calibration.search_eV`` (recorded scale).  A single line on a narrow window
    is a well-posed fit; adding a carbonate line that may be absent (as on the reference)
    left its parameters free to wander and moved the C-C centre by hundredths of an eV
    between otherwise identical runs.

    Parameters
    ----------
    spectrum
        The surface C 1s spectrum of a file.
    calibration
        Reference energy, search range and fit window.
    shirley_settings, model
        Background and line-fit settings.

    Returns
    -------
    float
        The shift to add to every binding energy of the file.

    Raises
    ------
    ValueError
        The background does not converge, or the C-C/C-H line is not inside the search
        window (the window misses the block, the counts in it rise toward an edge, or
        the fitted centre leaves it): a charge shift larger than the method assumes
        would otherwise be calibrated on a tail or on the wrong line.
    """
    try:
        background = edge_background(spectrum.binding_eV, spectrum.counts, shirley_settings)
    except ValueError as err:
        raise ValueError(f"C 1s block {spectrum.block!r}: {err}") from None
    net = spectrum.counts - background
    low, high = calibration.search_eV
    binding = spectrum.binding_eV
    inside = np.flatnonzero((binding > low) & (binding < high))
    strongest = float(binding[np.argmax(net)])
    where = (f"C 1s block {spectrum.block!r}: no C-C/C-H line inside the calibration search window "
             f"{low:g}–{high:g} eV (recorded scale)")
    advice = (f"the block's strongest line is at {strongest:.1f} eV; a charge shift this large needs another "
              f"calibration_search_eV")
    if inside.size < 3:
        raise ValueError(f"{where}: the block covers {binding[0]:.1f}–{binding[-1]:.1f} eV; {advice}")
    top = inside[np.argmax(net[inside])]
    if top in (inside[0], inside[-1]):  # the counts rise toward the window's edge: the line lies beyond it
        raise ValueError(f"{where}: the counts there rise toward its edge at {binding[top]:.1f} eV; {advice}")
    start = float(binding[top])
    near = np.abs(binding - start) <= calibration.window_eV
    fit = fit_lines("C 1s", binding[near], spectrum.counts[near], background[near], {"C-C/C-H": start}, model, None)
    centre = fit.lines[0].centre_eV
    if not low < centre < high:
        raise ValueError(f"{where}: the line fitted there is centred outside it, at {centre:.2f} eV; {advice}")
    return calibration.reference_eV - centre


def _calibrated(spectrum: Spectrum, shift: float) -> Spectrum:
    return replace(spectrum, binding_eV=spectrum.binding_eV + shift)


def fit_region(spectrum: Spectrum, states: Mapping[str, float], shirley_settings: ShirleySettings, model: LineModel,
               doublet: Doublet | None) -> tuple[np.ndarray, LineFit]:
    """Shirley background and line fit of one region (the doublet applies to P 2p only).

    Parameters
    ----------
    spectrum
        A calibrated spectrum.
    states
        State name -> starting centre (eV).
    shirley_settings, model
        Background and line-fit settings.
    doublet
        The P 2p doublet constants; ignored for other regions.

    Returns
    -------
    tuple
        The edge-anchored background (:func:`edge_background`: what the detection's
        net area is measured against) and the fit (with its own, fitted,
        background: see :func:`fit_lines`).

    Raises
    ------
    ValueError
        The background does not converge.
    """
    background = edge_background(spectrum.binding_eV, spectrum.counts, shirley_settings)
    used = doublet if spectrum.region == "P 2p" else None
    return background, fit_lines(spectrum.region, spectrum.binding_eV, spectrum.counts, background, states, model,
                                 used)


def analyse_profile(steps: Mapping[float, Mapping[str, Spectrum]], constants: Constants, calibration: Calibration,
                    shirley_settings: ShirleySettings, model: LineModel, detection_sigma: float, persistence: int,
                    progress: Callable[[str], None] = print) -> Profile:
    """Calibrate, fit and quantify every etch step of the depth profile.

    Parameters
    ----------
    steps
        Etch time -> region -> spectrum (:func:`by_step`).
    constants
        Sensitivity factors and the P 2p doublet (fixed splitting).
    calibration, shirley_settings, model
        Calibration, background and line-fit settings.
    detection_sigma
        Net area over its uncertainty above which a region is detected.
    persistence
        Consecutive detected steps that make an onset.
    progress
        Receives a line every ten etch steps.

    Returns
    -------
    Profile

    Raises
    ------
    ValueError
        A fit fails (the message names the block), or N 1s or P 2p never has an onset.
    """
    depths = list(steps)
    shift = calibration_shift(steps[depths[0]]["C 1s"], calibration, shirley_settings, model)
    doublet = Doublet(constants.split_eV, constants.ratio, free=False)
    spectra_rows, line_rows, detection_rows, atomic_rows = [], [], [], []
    detected: dict[str, list[bool]] = {"N 1s": [], "P 2p": []}
    found: dict[str, list[Line]] = {"N 1s": [], "P 2p": []}
    for number, depth in enumerate(depths, start=1):
        areas = {}
        for region in REGIONS:
            spectrum = _calibrated(steps[depth][region], shift)
            try:
                background, fit = fit_region(spectrum, PROFILE_STATES[region], shirley_settings, model, doublet)
            except ValueError as err:
                raise ValueError(f"block {spectrum.block!r}: {err}") from None
            lines = fit.lines
            areas[region] = sum(line.area for line in lines)
            spectra_rows += [(depth, region, e, c, b)
                             for e, c, b in zip(spectrum.binding_eV, spectrum.counts, fit.background)]
            line_rows += [(depth, region, line.name, line.centre_eV, line.area, line.sigma_eV) for line in lines]
            if region in detected:
                area, sigma = net_area(spectrum.binding_eV, spectrum.counts, background, shirley_settings.edge_channels)
                seen = area > detection_sigma * sigma
                detected[region].append(seen)
                detection_rows.append((depth, region, area, sigma, int(seen)))
                if seen:
                    found[region] += lines
        atomic_rows.append((depth, atomic_percent(areas, constants.factors)))
        if number % 10 == 0 or number == len(depths):
            progress(paperbuild_progress.line("xps", number, len(depths), "depth-profile etch steps fitted",
                                              paperbuild_progress.UNDER_TASK))
    onsets = {region: onset(depths, flags, persistence) for region, flags in detected.items()}
    for region, depth in onsets.items():
        if depth is None:
            raise ValueError(f"{region} is never detected ({detection_sigma:g} sigma for {persistence} steps)")
    return Profile(shift, onsets, found, spectra_rows, line_rows, detection_rows, atomic_rows)


def analyse_reference(regions: Mapping[str, Spectrum], constants: Constants, calibration: Calibration,
                      shirley_settings: ShirleySettings, model: LineModel) -> Reference:
    """Calibrate and fit the LiPON reference; P 2p both with the splitting free and fixed.

    The free fit is the one quoted (it recovers the published pair of positions); the
    fixed fit's reduced chi-square shows how badly one doublet describes that pair.

    Parameters
    ----------
    regions
        Region -> spectrum of the reference's single set of regions.
    constants
        Sensitivity factors and the P 2p doublet.
    calibration, shirley_settings, model
        Calibration, background and line-fit settings.

    Returns
    -------
    Reference

    Raises
    ------
    ValueError
        A background does not converge.
    """
    shift = calibration_shift(regions["C 1s"], calibration, shirley_settings, model)
    free = Doublet(constants.split_eV, constants.ratio, free=True)
    fixed_doublet = Doublet(constants.split_eV, constants.ratio, free=False)
    fits, curves, fixed = {}, [], None
    for region in REGIONS:
        spectrum = _calibrated(regions[region], shift)
        try:
            fit = fit_region(spectrum, REFERENCE_STATES[region], shirley_settings, model, free)[1]
        except ValueError as err:
            raise ValueError(f"block {spectrum.block!r}: {err}") from None
        fits[region] = fit
        x = spectrum.binding_eV
        curves += [(region, "counts", e, v) for e, v in zip(x, spectrum.counts)]
        curves += [(region, "background", e, v) for e, v in zip(x, fit.background)]
        curves += [(region, "envelope", e, v) for e, v in zip(x, sum(fit.curves.values()) + fit.background)]
        for name, component in fit.curves.items():
            curves += [(region, name, e, v) for e, v in zip(x, component + fit.background)]
        if region == "P 2p":
            fixed = fit_region(spectrum, REFERENCE_STATES[region], shirley_settings, model, fixed_doublet)[1]
    return Reference(shift, fits, fixed, curves)


def reference_line_rows(fit: LineFit, ratio: float) -> list[tuple]:
    """One row per drawn curve: a doublet's partners get their own position and area share.

    Parameters
    ----------
    fit
        One region's fit.
    ratio
        The doublet's area ratio (2p1/2 over 2p3/2).

    Returns
    -------
    list of tuple
        ``(region, state, centre_eV, area, sigma_eV)`` rows.
    """
    rows = []
    for line in fit.lines:
        if fit.split_eV is None:
            rows.append((line.region, line.name, line.centre_eV, line.area, line.sigma_eV))
        else:
            rows.append((line.region, f"{line.name} 2p3/2", line.centre_eV, line.area / (1 + ratio), line.sigma_eV))
            rows.append((line.region, f"{line.name} 2p1/2", line.centre_eV + fit.split_eV,
                         line.area * ratio / (1 + ratio), line.sigma_eV))
    return rows


def profile_numbers(profile: Profile) -> list[Number]:
    """The depth profile's numbers: onsets, interphase line positions, calibration shift.

    Parameters
    ----------
    profile
        The analysed profile.

    Returns
    -------
    list of Number
    """
    return [
        Number("xps.n1s_onset_depth", int(profile.onsets["N 1s"]), "a.u.", f"{profile.onsets['N 1s']:g}"),
        Number("xps.p2p_onset_depth", int(profile.onsets["P 2p"]), "a.u.", f"{profile.onsets['P 2p']:g}"),
        quantity("xps.li3n_n1s_eV", weighted_centre(profile.found["N 1s"]), "eV", 1),
        quantity("xps.phosphate_p2p_eV", weighted_centre(profile.found["P 2p"]), "eV", 1),
        quantity("xps.profile_shift_eV", profile.shift_eV, "eV", 2),
    ]


def reference_numbers(reference: Reference, factors: Mapping[str, float]) -> list[Number]:
    """The reference's numbers: line positions, the free P 2p splitting, the fixed-split
    fit's chi-square ratio and the composition per P.

    Parameters
    ----------
    reference
        The analysed reference.
    factors
        Region -> relative sensitivity factor.

    Returns
    -------
    list of Number

    Raises
    ------
    ValueError
        No P 2p signal.
    """
    ref = {(line.region, line.name): line for fit in reference.fits.values() for line in fit.lines}
    p_fit = reference.fits["P 2p"]
    p32, free_split = ref[("P 2p", "PO4")].centre_eV, p_fit.split_eV
    areas = {region: sum(line.area for line in fit.lines) for region, fit in reference.fits.items()}
    ratios, formula = formula_per_p(areas, factors)
    return [
        quantity("xps.reference_shift_eV", reference.shift_eV, "eV", 2),
        quantity("xps.ref_o1s_nbo_eV", ref[("O 1s", "NBO")].centre_eV, "eV", 1),
        quantity("xps.ref_o1s_bo_eV", ref[("O 1s", "BO")].centre_eV, "eV", 1),
        quantity("xps.ref_n1s_na_eV", ref[("N 1s", "Na")].centre_eV, "eV", 1),
        quantity("xps.ref_n1s_nb_eV", ref[("N 1s", "Nb")].centre_eV, "eV", 1),
        quantity("xps.ref_n1s_no2_eV", ref[("N 1s", "NO2-")].centre_eV, "eV", 1),
        quantity("xps.ref_p2p32_eV", p32, "eV", 1),
        quantity("xps.ref_p2p12_eV", p32 + free_split, "eV", 1),
        quantity("xps.ref_p2p_split_eV", free_split, "eV", 2),
        quantity("xps.ref_p2p_fixed_split_redchi_ratio", reference.fixed.redchi / p_fit.redchi, "", 0),
        Number("xps.ref_stoichiometry", [round(r, 4) for r in ratios], "per P", formula),
    ]


def acquisition_numbers(files: Mapping[Path, Sequence[Spectrum]]) -> list[Number]:
    """The acquisition settings the methods quote, as every VAMAS block records them.

    Read, not typed: the X-ray energy and the analysed area come from the headers, and
    every block of every file must agree, so a file taken on other settings is named.

    Parameters
    ----------
    files
        Each file's spectra (:func:`read_vamas`).

    Returns
    -------
    list of Number
        ``xps.photon_energy_eV``, ``xps.analysis_width_x_um`` and ``xps.analysis_width_y_um``.

    Raises
    ------
    InputError
        Blocks disagree on a setting (the message names the file and both values).
    """
    def setting(s: Spectrum) -> str:
        return f"{s.source_eV:g} eV over {s.area_um[0]:g} x {s.area_um[1]:g} um"

    blocks = [(path, spectrum) for path, spectra in files.items() for spectrum in spectra]
    first_path, first = blocks[0]
    for path, spectrum in blocks:
        if (spectrum.source_eV, spectrum.area_um) != (first.source_eV, first.area_um):
            raise InputError(path, f"block {spectrum.block!r} was taken at {setting(spectrum)}, block "
                                   f"{first.block!r} of {first_path.name} at {setting(first)}: one setting is expected")
    return [quantity("xps.photon_energy_eV", first.source_eV, "eV", 1),
            quantity("xps.analysis_width_x_um", first.area_um[0], "µm", 0),
            quantity("xps.analysis_width_y_um", first.area_um[1], "µm", 0)]


def method_numbers(calibration: Calibration, constants: Constants) -> list[Number]:
    """The method's inputs, echoed so the ledger records exactly what the fits used.

    Parameters
    ----------
    calibration
        Carries the C 1s reference energy (a parameter).
    constants
        Carries the fixed P 2p splitting (cited).

    Returns
    -------
    list of Number
    """
    return [
        quantity("xps.c1s_reference_eV", calibration.reference_eV, "eV", 1),
        quantity("xps.p2p_split_fixed_eV", constants.split_eV, "eV", 2),
    ]


# ------------------------------------------------------------------ tables
def write_profile_tables(profile: Profile, outputs: Mapping[str, Path]) -> None:
    """The depth profile's tables for Figures 4 and S9.

    Parameters
    ----------
    profile
        The analysed profile.
    outputs
        ``profile_spectra``, ``profile_lines``, ``profile_detection``, ``onsets`` and
        ``atomic_percent``.
    """
    datatable.write_rows(outputs["profile_spectra"], "depth,region,binding_eV,counts,background", profile.spectra_rows,
                         "{:g},{},{:.2f},{:g},{:.1f}")
    datatable.write_rows(outputs["profile_lines"], "depth,region,state,centre_eV,area,sigma_eV", profile.line_rows,
                         "{:g},{},{},{:.3f},{:.1f},{:.3f}")
    datatable.write_rows(outputs["profile_detection"], "depth,region,net_area,sigma,detected", profile.detection_rows,
                         "{:g},{},{:.1f},{:.1f},{}")
    datatable.write_rows(outputs["onsets"], "region,onset_depth", list(profile.onsets.items()), "{},{:g}")
    datatable.write_rows(outputs["atomic_percent"], "depth," + ",".join(ELEMENTS.values()),
                         [(depth, *(percent[r] for r in ELEMENTS)) for depth, percent in profile.atomic_rows],
                         "{:g}" + ",{:.3f}" * len(ELEMENTS))


def write_reference_tables(reference: Reference, ratio: float, outputs: Mapping[str, Path]) -> None:
    """The reference's tables for Figure S8.

    Parameters
    ----------
    reference
        The analysed reference.
    ratio
        The doublet's area ratio, to split a P 2p area between its partners.
    outputs
        ``reference_curves`` and ``reference_lines``.
    """
    datatable.write_rows(outputs["reference_curves"], "region,curve,binding_eV,value", reference.curve_rows,
                         "{},{},{:.2f},{:.2f}")
    datatable.write_rows(outputs["reference_lines"], "region,state,centre_eV,area,sigma_eV",
                         [row for fit in reference.fits.values() for row in reference_line_rows(fit, ratio)],
                         "{},{},{:.3f},{:.1f},{:.3f}")


# ------------------------------------------------------------------ edge
def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path], *, c1s_reference_eV: float,
        calibration_search_eV: tuple[float, float], calibration_window_eV: float, edge_channels: int,
        flat_background_sigma: float, shirley_tolerance: float,
        centre_freedom_eV: float, gauss_sigma_start_eV: float, gauss_sigma_range_eV: tuple[float, float],
        lorentz_gamma_start_eV: float, lorentz_gamma_range_eV: tuple[float, float],
        free_split_range_eV: tuple[float, float], area_start_factor: float, shirley_step_max: float,
        detection_sigma: float, persistence: int) -> list[Number]:
    """Depth profile and reference: tables for Figures 4, S8 and S9, and the numbers.

    Parameters
    ----------
    inputs
        ``profile`` and ``reference`` (VAMAS exports) and ``sensitivity_factors`` (the
        cited factors and P 2p doublet constants).
    outputs
        ``profile_spectra``, ``profile_lines``, ``profile_detection``, ``onsets``,
        ``atomic_percent``, ``reference_curves``, ``reference_lines``.
    c1s_reference_eV
        Where the C-C/C-H line of each file's surface C 1s is put.
    calibration_search_eV
        Binding-energy range (recorded scale) in which that line is looked for.
    calibration_window_eV
        Half-width of the one-line calibration fit around the strongest channel.
    edge_channels
        Channels averaged at each end of a window to anchor the background.
    flat_background_sigma
        Edge step (in counting sigmas) below which the background is a straight line.
    shirley_tolerance
        Convergence of the Shirley iteration (mean squared change, counts²).
    centre_freedom_eV
        How far a line's centre may move from its literature start.
    gauss_sigma_start_eV, gauss_sigma_range_eV
        Start and bounds of the shared Gaussian sigma.
    lorentz_gamma_start_eV, lorentz_gamma_range_eV
        Start and bounds of the shared Lorentzian gamma.
    free_split_range_eV
        Bounds of the P 2p splitting when it is fitted free.
    area_start_factor
        A line's starting area, in units of the largest net count shared among the states.
    shirley_step_max
        Upper bound of the fitted Shirley step (background rise per unit line area, 1/eV).
    detection_sigma
        Net area over its uncertainty above which a region is detected.
    persistence
        Consecutive detected etch steps that make an onset.

    Returns
    -------
    list of Number
        The profile's numbers (from the profile, the P 2p position also from the doublet
        constants), the reference's (from the reference, those using the doublet or the
        factors also from the constants file) and the method's echoed inputs.

    Raises
    ------
    InputError
        A file is unreadable or incomplete, a fit fails, or a region has no onset.
    """
    calibration = Calibration(c1s_reference_eV, tuple(calibration_search_eV), calibration_window_eV)
    shirley_settings = ShirleySettings(edge_channels, flat_background_sigma, shirley_tolerance)
    model = LineModel(centre_freedom_eV, gauss_sigma_start_eV, tuple(gauss_sigma_range_eV), lorentz_gamma_start_eV,
                      tuple(lorentz_gamma_range_eV), tuple(free_split_range_eV), area_start_factor, shirley_step_max)
    constants = read_constants(inputs["sensitivity_factors"])

    # both files are read (and checked) before either is analysed, so a damaged one stops the step at once
    profile_path, reference_path = inputs["profile"], inputs["reference"]
    spectra = {path: read_vamas(path) for path in (profile_path, reference_path)}
    profile_steps = by_step(profile_path, spectra[profile_path])
    reference_steps = by_step(reference_path, spectra[reference_path])
    if len(reference_steps) != 1:
        raise InputError(reference_path, f"expected one set of regions, found {len(reference_steps)} etch steps")
    for path, steps in ((profile_path, profile_steps), (reference_path, reference_steps)):
        for spectrum in (spectrum for regions in steps.values() for spectrum in regions.values()):
            problem = window_problem(spectrum.counts.size, edge_channels)
            if problem:
                raise InputError(path, f"block {spectrum.block!r}: {problem}")

    path = profile_path
    try:
        profile = analyse_profile(profile_steps, constants, calibration, shirley_settings, model, detection_sigma,
                                  persistence)
        numbers = profile_numbers(profile)
    except ValueError as err:
        raise InputError(path, str(err)) from None

    path = reference_path
    try:
        reference = analyse_reference(next(iter(reference_steps.values())), constants, calibration, shirley_settings,
                                      model)
        numbers += reference_numbers(reference, constants.factors)
    except ValueError as err:
        raise InputError(path, str(err)) from None
    numbers += method_numbers(calibration, constants) + acquisition_numbers(spectra)

    write_profile_tables(profile, outputs)
    write_reference_tables(reference, constants.ratio, outputs)
    return [number.from_inputs(*(inputs[role] for role in DERIVED_FROM[number.key])) for number in numbers]

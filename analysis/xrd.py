"""XRD of LiPON films (Figure S4): Li2CO3 after air exposure, no Bragg peak at 100 K.

Definitions (stated in the supplement's methods; every method choice is a parameter of
the ``xrd`` step in ``analysis/registry.py``):

* the background is the arPLS baseline of ``pybaselines`` (asymmetrically reweighted
  penalised least squares, stiffness ``background_stiffness``): it follows the amorphous
  hump and the low-angle air scatter, and its noise-aware weights keep it from riding
  up into Bragg peaks or sinking below the noise.  Under a cluster of lines the
  overlapping Lorentzian tails still look like a raised floor, so the baseline is fitted
  again ``background_rounds`` times to the counts less the fitted profiles of the peaks
  found so far (pseudo-Voigts of one shared shape, heights by non-negative least squares);
* a Bragg peak is a local maximum of the Savitzky-Golay-smoothed net counts that stands
  ``detection_sigma`` counting sigmas (of the smoothed signal) above the background and
  ``prominence_sigma`` of them above the dip to any higher neighbour (a noise ripple on a
  strong line's flank is no peak), and whose own height in a joint fit of all peaks (shared
  pseudo-Voigt shape, the neighbours' tails not counted) still reaches ``own_height_sigma``;
  maxima within ``edge_fwhm`` peak widths of a scan's end are not counted; peaks closer
  than ``min_separation_fwhm`` times the
  pattern's own peak width (median half-height width of its peaks) are one peak, so the
  rule resolves the same lines whether a Mo tube packs them into a few degrees or a Co
  tube spreads them out;
* a *new* peak of the air-exposed film is one with no pristine peak within
  ``match_tolerance_fwhm`` peak widths; it is *indexed* to the strongest Li2CO3 reflection
  within ``match_tolerance_fwhm`` peak widths of it (among reflections of at least ``min_reflection_pct`` of
  the strongest), the reflections being computed from the cited crystal structure
  (kinematic structure factors with Waasmaier-Kirfel form factors from ``xraydb`` and
  the Lorentz-polarisation factor);
* the 100 K film is amorphous when its pattern has no Bragg peak at all.

The X-ray wavelength is a fact of each measurement, read from each export's header
(``# wavelength: 1.54178 A``): the Li2CO3 lines are computed at the wavelength the
air-exposed pattern was taken with, so a Cu, Co or Mo K-alpha pattern is indexed at its
own angles.  A header that states no wavelength is refused by name (no default is
assumed: a wrong one would put every line at another angle), and the pristine and
air-exposed patterns, compared angle by angle, must share theirs.
"""
from __future__ import annotations

import io
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from analysis import datatable
from paperbuild.errors import InputError
from paperbuild.numbers import Number, count

# input role -> the pattern's name in the tables and the figure
PATTERNS = {"pristine": "pristine", "air_exposed": "air-exposed", "cryo": "cryo 100 K"}
WAVELENGTH_CHECK_A = 1e-4  # two wavelengths this close are the same source (exports quote 4-5 decimals)
# X-ray wavelengths of laboratory and synchrotron diffraction: a stated value outside is a unit slip
# (e.g. "1.54178" written with a unit of nm) rather than a wavelength
WAVELENGTH_RANGE_A = (0.1, 5.0)
# a refitted background that moves by less than this fraction of a counting sigma has settled
BACKGROUND_SETTLED = 0.02
MIN_SCAN_POINTS = 50       # fewer rows than this is not a full scan but a damaged export
# what may follow "wavelength" in a header line: a separator, a number, and a unit
WAVELENGTH_STATEMENT = re.compile(r"\s*[:=]?\s*(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
                                  r"(?P<unit>[^\W\d]+)?")
LENGTH_UNITS_TO_A = {"A": 1.0, "Å": 1.0, "Angstrom": 1.0, "angstrom": 1.0, "nm": 10.0, "pm": 0.01}  # unit -> Å

# Which declared inputs (roles) each number is derived from.
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "xrd.pristine_peaks": ("pristine",),
    "xrd.new_peaks": ("pristine", "air_exposed"),
    "xrd.li2co3_matched_peaks": ("pristine", "air_exposed", "li2co3_structure"),
    "xrd.li2co3_matched_hkl": ("pristine", "air_exposed", "li2co3_structure"),
    "xrd.cryo_amorphous": ("cryo",),
    "xrd.cryo_peaks": ("cryo",),
}


@dataclass(frozen=True)
class Reflection:
    """A powder line: its label (hkl), spacing, position and intensity (strongest = 1)."""

    hkl: tuple[int, int, int]
    d_A: float
    two_theta_deg: float
    intensity: float


@dataclass(frozen=True)
class Peak:
    """A detected peak: refined position, smoothed net height and its counting sigma."""

    two_theta_deg: float
    height: float
    sigma: float


@dataclass(frozen=True)
class PeakRule:
    """What counts as a Bragg peak.

    Net counts are smoothed by a Savitzky-Golay filter of ``smoothing_points`` points
    and polynomial order ``smoothing_order``; a local maximum standing
    ``detection_sigma`` sigmas of the smoothed noise above the background, and
    ``prominence_sigma`` sigmas above the dip that separates it from a higher
    neighbour, is a candidate (:func:`confirmed_peaks` then asks for ``own_height_sigma``
    of its own in a joint fit); maxima closer than ``min_separation_fwhm`` times the pattern's
    typical peak width are one peak.
    """

    smoothing_points: int
    smoothing_order: int
    detection_sigma: float
    min_separation_fwhm: float
    prominence_sigma: float = 0.0
    own_height_sigma: float = 0.0


@dataclass(frozen=True)
class Pattern:
    """One measured pattern (at its recorded wavelength) with its background and detected peaks."""

    two_theta_deg: np.ndarray
    counts: np.ndarray
    background: np.ndarray
    peaks: list[Peak]
    wavelength_A: float


@dataclass(frozen=True)
class Diffraction:
    """All three patterns, the computed Li2CO3 lines and the indexing of the new peaks.

    ``patterns`` maps role (``pristine``, ``air_exposed``, ``cryo``) to pattern;
    ``indexed`` pairs each new peak with its reflection (None when none is in tolerance).
    """

    patterns: dict[str, Pattern]
    reflections: list[Reflection]
    new: list[Peak]
    indexed: list[tuple[Peak, Reflection | None]]

    @property
    def matched(self) -> list[tuple[Peak, Reflection]]:
        """The new peaks that have a reflection."""
        return [(p, r) for p, r in self.indexed if r is not None]


# ------------------------------------------------------------------ crystallography
def load_structure(path: Path):
    """The cited structure as ASE Atoms, built from its space group and asymmetric unit.

    Parameters
    ----------
    path
        A YAML file with ``space_group``, ``cell`` (a, b, c, alpha, beta, gamma) and
        ``sites`` (symbol and fractional coordinates).

    Returns
    -------
    ase.Atoms
        The full unit cell.

    Raises
    ------
    InputError
        Not YAML, a key missing or malformed, a cell parameter that is not a positive
        finite number, or a structure ASE cannot build.
    """
    import yaml
    from ase.spacegroup import crystal

    try:
        spec = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise InputError(path, f"not a readable YAML file ({err})") from None
    try:
        cell = spec["cell"]
        symbols = [site[0] for site in spec["sites"]]
        basis = [tuple(site[1:]) for site in spec["sites"]]
        cellpar = [float(cell[k]) for k in ("a", "b", "c", "alpha", "beta", "gamma")]
        space_group = spec["space_group"]
    except (KeyError, TypeError, IndexError, ValueError) as err:
        raise InputError(path, f"missing or malformed entry {err}") from None
    if not all(np.isfinite(v) and v > 0 for v in cellpar):
        raise InputError(path, f"cell parameters {cellpar} must be positive finite numbers")
    try:
        return crystal(symbols, basis, spacegroup=space_group, cellpar=cellpar)
    except Exception as err:  # ASE raises several types for an impossible structure
        raise InputError(path, f"ASE cannot build the structure ({type(err).__name__}: {err})") from None


def form_factor(symbol: str, s: float) -> float:
    """X-ray form factor at s = sin(theta)/lambda (1/Å): Waasmaier-Kirfel, as xraydb tabulates it.

    Parameters
    ----------
    symbol
        Element symbol.
    s
        sin(theta)/lambda in 1/Å.

    Returns
    -------
    float
        f0 in electrons.
    """
    import xraydb

    return float(xraydb.f0(symbol, s)[0])


def powder_reflections(atoms, wavelength_A: float, two_theta_max_deg: float) -> list[Reflection]:
    """Powder lines (equal-d reflections merged) with kinematic intensities, strongest = 1.

    Reflections of equal spacing coincide in a powder pattern, so their intensities add;
    the line is labelled by its member with the most non-negative indices.

    Parameters
    ----------
    atoms
        The unit cell (ASE Atoms).
    wavelength_A
        The X-ray wavelength.
    two_theta_max_deg
        The end of the measured range: lines beyond it are not computed.

    Returns
    -------
    list of Reflection
        By increasing 2θ, systematic absences removed.
    """
    d_min = wavelength_A / (2.0 * np.sin(np.radians(two_theta_max_deg / 2.0)))
    limits = [int(np.ceil(length / d_min)) for length in atoms.cell.lengths()]
    reciprocal = atoms.cell.reciprocal()
    fractional = atoms.get_scaled_positions()
    symbols = atoms.get_chemical_symbols()
    lines: dict[float, list] = {}
    for hkl in itertools.product(*(range(-n, n + 1) for n in limits)):
        if hkl == (0, 0, 0):
            continue
        d = 1.0 / np.linalg.norm(np.asarray(hkl) @ reciprocal)
        if d < d_min:
            continue
        s = 1.0 / (2.0 * d)
        phases = np.exp(2j * np.pi * fractional @ np.asarray(hkl))
        factors = {sym: form_factor(sym, s) for sym in set(symbols)}
        structure_factor = sum(factors[sym] * phase for sym, phase in zip(symbols, phases))
        lines.setdefault(round(d, 4), []).append((hkl, abs(structure_factor) ** 2))  # equal d to 1e-4 Å
    reflections = []
    for d, members in lines.items():
        total = sum(weight for _, weight in members)
        if total < 1e-6:
            continue  # systematically absent (zero up to rounding)
        theta = np.arcsin(wavelength_A / (2.0 * d))
        lorentz_polarisation = (1 + np.cos(2 * theta) ** 2) / (np.sin(theta) ** 2 * np.cos(theta))
        label = max((hkl for hkl, _ in members), key=lambda m: (sum(v >= 0 for v in m), m))
        reflections.append(Reflection(label, d, float(np.degrees(2 * theta)), total * lorentz_polarisation))
    strongest = max(r.intensity for r in reflections)
    return sorted((Reflection(r.hkl, r.d_A, r.two_theta_deg, r.intensity / strongest) for r in reflections),
                  key=lambda r: r.two_theta_deg)


def hkl_label(hkl: tuple[int, int, int]) -> str:
    """Miller indices as crystallographers write them in text: (-2 0 2) -> '(2̄02)'.

    Parameters
    ----------
    hkl
        Miller indices.

    Returns
    -------
    str
        The label with combining overlines on negative indices.
    """
    return "(" + "".join(f"{abs(v)}\u0304" if v < 0 else str(v) for v in hkl) + ")"


# ------------------------------------------------------------------ reading
def read_header(stream: BinaryIO) -> list[tuple[int, str]]:
    """The comment lines at the top of an open .xy file, leaving the stream at the first data line.

    Only the header is read (plus what one buffer holds): a multi-gigabyte export is
    scanned in constant memory, and the table is then parsed from the same handle.

    Parameters
    ----------
    stream
        The file opened in binary mode, at its start; must support ``tell``/``seek``.

    Returns
    -------
    list of tuple
        (line number, text) of each comment line (``#``) before the data; blank lines
        are skipped.  Undecodable bytes are replaced, so any header can be quoted.
    """
    header = []
    number = 0
    while True:
        position = stream.tell()
        line = stream.readline()
        if not line:
            return header
        number += 1
        text = line.decode("utf-8", errors="replace").strip()
        if text.startswith("#"):
            header.append((number, text))
        elif text:
            stream.seek(position)
            return header


def stated_wavelength_A(path: Path, number: int, line: str) -> float | None:
    """The wavelength (Å) a header line states, or None when it names no wavelength.

    Accepts ``wavelength: 1.54178 A``, ``wavelength = 1.54178``, ``wavelength 0.154178 nm``
    (a missing unit means Å, as diffractometer exports write it).

    Parameters
    ----------
    path
        The file, for messages.
    number
        The line's number in the file, for messages.
    line
        The header line.

    Returns
    -------
    float or None

    Raises
    ------
    InputError
        The line names a wavelength but no number follows, or its unit is unknown.
    """
    found = re.search(r"wavelength", line, flags=re.IGNORECASE)
    if not found:
        return None
    stated = WAVELENGTH_STATEMENT.match(line[found.end():])
    if not stated:
        raise InputError(path, f"header line {number} ({line!r}) names a wavelength but states no number; "
                               f"write it as '# wavelength: 1.54178 A'")
    unit = stated.group("unit") or "A"
    if unit not in LENGTH_UNITS_TO_A:
        raise InputError(path, f"header line {number} ({line!r}): unknown wavelength unit {unit!r}; "
                               f"expected one of {sorted(LENGTH_UNITS_TO_A)}")
    return float(stated.group("value")) * LENGTH_UNITS_TO_A[unit]


def header_wavelength_A(path: Path, header: Sequence[tuple[int, str]]) -> float:
    """The one wavelength (Å) the header states.

    Parameters
    ----------
    path
        The file, for messages.
    header
        Its comment lines, as :func:`read_header` returns them.

    Returns
    -------
    float

    Raises
    ------
    InputError
        No line states a wavelength, two lines state different ones, or the value is no
        X-ray wavelength (outside ``WAVELENGTH_RANGE_A``).
    """
    stated = [(number, value) for number, line in header
              if (value := stated_wavelength_A(path, number, line)) is not None]
    if not stated:
        raise InputError(path, "the header states no wavelength, and every Bragg angle depends on it; "
                               "add a line such as '# wavelength: 1.54178 A' (Cu K-alpha)")
    number, value = stated[0]
    for other, again in stated[1:]:
        if abs(again - value) > WAVELENGTH_CHECK_A:
            raise InputError(path, f"header lines {number} and {other} state two wavelengths, {value:g} Å and "
                                   f"{again:g} Å")
    low, high = WAVELENGTH_RANGE_A
    if not low <= value <= high:
        raise InputError(path, f"header line {number} states a wavelength of {value:g} Å, outside the "
                               f"{low:g}-{high:g} Å of X-ray diffraction; check its unit")
    return value


def read_xy(path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """2θ (degrees), counts and the wavelength (Å) of a two-column .xy export.

    The wavelength is the one the header records: it decides where every Bragg line
    lies.  The header is scanned line by line and the table parsed from the open file,
    so memory follows the table, not the file's text.

    Parameters
    ----------
    path
        The export.

    Returns
    -------
    tuple
        2θ (strictly increasing, within 0-180°), counts (finite, not negative, not all
        zero) and the wavelength in Å.

    Raises
    ------
    InputError
        The file is missing, states no wavelength (or an unreadable or implausible one),
        is not two numeric columns, too short, holds a value that is not a finite number
        or a negative count, records no counts at all, or its 2θ is not increasing or
        leaves 0-180°.
    """
    if not path.is_file():
        raise InputError(path, "file is missing")
    with open(path, "rb") as stream:
        header = read_header(stream)
        position = stream.tell()
        if not stream.read(1):
            raise InputError(path, f"holds no data rows ({'file is empty' if not header else 'only a header'})")
        stream.seek(position)
        wavelength_A = header_wavelength_A(path, header)
        with io.TextIOWrapper(stream, encoding="utf-8") as text:
            try:
                table = np.loadtxt(text, comments="#", ndmin=2)
            except ValueError as err:  # also UnicodeDecodeError: a binary file
                raise InputError(path, f"not a two-column .xy pattern ({err})") from None
    if table.shape[1] < 2 or table.shape[0] < MIN_SCAN_POINTS:
        raise InputError(path, f"expected two columns (2θ, counts) and a full scan; found shape {table.shape}")
    two_theta, counts = table[:, 0], table[:, 1]
    for values, what in ((two_theta, "2θ"), (counts, "count")):
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise InputError(path, f"data row {bad[0] + 1} holds a non-finite {what} ({values[bad[0]]}), "
                                   f"{bad.size} such value(s) in the column: every 2θ and count must be a finite "
                                   f"number")
    negative = np.flatnonzero(counts < 0)
    if negative.size:
        raise InputError(path, f"data row {negative[0] + 1} holds a negative count ({counts[negative[0]]:g}); "
                               f"peaks are judged against counting (Poisson) noise, so the pattern must be raw "
                               f"detector counts")
    if not np.any(counts > 0):
        raise InputError(path, "every count is 0: the detector recorded nothing, so there is no pattern to judge")
    if not np.all(np.diff(two_theta) > 0):
        raise InputError(path, "2θ is not strictly increasing")
    if two_theta[0] <= 0 or two_theta[-1] >= 180:
        raise InputError(path, f"2θ runs from {two_theta[0]:g}° to {two_theta[-1]:g}°; a diffraction angle lies "
                               f"between 0° and 180°")
    return two_theta, counts, wavelength_A


# ------------------------------------------------------------------ peaks
def background(two_theta: np.ndarray, counts: np.ndarray, stiffness: float) -> np.ndarray:
    """Asymmetrically reweighted penalised least squares (pybaselines ``arpls``).

    Parameters
    ----------
    two_theta, counts
        The pattern.
    stiffness
        The smoothness penalty ``lam``: stiff enough not to follow a Bragg peak, soft
        enough to follow the amorphous hump.

    Returns
    -------
    numpy.ndarray
        The background at every point.
    """
    from pybaselines import Baseline

    return Baseline(x_data=two_theta).arpls(counts, lam=stiffness)[0]


def pseudo_voigt(x: np.ndarray, fwhm: float, eta: float) -> np.ndarray:
    """Unit-height pseudo-Voigt profile: Lorentzian fraction ``eta``, full width ``fwhm``.

    Parameters
    ----------
    x
        Distance from the line's centre (degrees).
    fwhm
        Full width at half maximum (degrees).
    eta
        Lorentzian fraction, 0 to 1.

    Returns
    -------
    numpy.ndarray
    """
    z = (2.0 * x / fwhm) ** 2
    return eta / (1.0 + z) + (1.0 - eta) * np.exp(-np.log(2.0) * z)


def typical_width(two_theta: np.ndarray, smoothed: np.ndarray, positions: Sequence[float]) -> float:
    """Median full width at half height (degrees) of the smoothed net peaks at ``positions``.

    Peaks merged into a shoulder have no half-height width of their own and are left
    out; when none has one, ten steps (a typical scan's sampling of a peak) is returned.

    Parameters
    ----------
    two_theta, smoothed
        Angles and smoothed net counts.
    positions
        The peaks' positions (degrees).

    Returns
    -------
    float
    """
    import warnings

    from scipy.signal import peak_widths

    step = float(np.median(np.diff(two_theta)))
    tops = np.abs(two_theta[:, None] - np.asarray(positions, dtype=float)[None, :]).argmin(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        widths = peak_widths(smoothed, tops, rel_height=0.5)[0] * step
    widths = widths[widths > 2 * step]
    return float(np.median(widths)) if widths.size else 10 * step


def peak_profile(two_theta: np.ndarray, net: np.ndarray, sigma: np.ndarray, positions: Sequence[float],
                 start_fwhm: float) -> np.ndarray:
    """The counts the found peaks add: pseudo-Voigts at ``positions`` fitted to the net counts.

    All peaks share one width and one Lorentzian fraction (one diffractometer, one
    film), which are fitted by variable projection: for a trial shape the heights are
    a non-negative linear least-squares problem (``scipy.optimize.nnls``), so only two
    non-linear parameters remain (``scipy.optimize.least_squares``); the width stays
    within a factor of three of ``start_fwhm``.

    Parameters
    ----------
    two_theta, net
        The pattern's angles and counts above the current background.
    sigma
        Counting sigma of each point (the weights).
    positions
        The peaks' refined positions (degrees).
    start_fwhm
        First guess of the width (degrees), e.g. :func:`typical_width`.

    Returns
    -------
    tuple
        The fitted Bragg counts at every point (their Lorentzian tails included), and
        each peak's fitted height (counts above the background, its neighbours' tails
        not included).
    """
    from scipy.optimize import least_squares, nnls

    centres = np.asarray(positions, dtype=float)
    start = float(start_fwhm)
    scaled = net / sigma

    def design(shape: np.ndarray) -> np.ndarray:
        return pseudo_voigt(two_theta[:, None] - centres[None, :], shape[0], shape[1]) / sigma[:, None]

    def residual(shape: np.ndarray) -> np.ndarray:
        columns = design(shape)
        return columns @ nnls(columns, scaled)[0] - scaled

    shape = least_squares(residual, [start, 0.5], bounds=([start / 3, 0.0], [start * 3, 1.0])).x
    columns = design(shape)
    heights = nnls(columns, scaled)[0]
    return (columns @ heights) * sigma, heights


def refined_background(two_theta: np.ndarray, counts: np.ndarray, stiffness: float, rule: PeakRule,
                       rounds: int) -> np.ndarray:
    """The arPLS background, refitted up to ``rounds`` times with the found peaks taken out.

    A baseline fitted to the counts themselves rises under a cluster of Bragg lines,
    whose overlapping tails look like a slowly varying floor: weak lines there sink
    below the threshold.  Each round finds the peaks above the current background,
    fits their profiles (:func:`peak_profile`) and fits the baseline again to the
    counts less those profiles.  The profiles are fitted above a baseline that still
    holds part of the tails, so each round removes only part of the excess (about a
    fifth); many rounds would overshoot, trading tails for baseline, which the fit
    cannot tell apart, so ``rounds`` is small.  The rounds stop early once the baseline
    moves by less than ``BACKGROUND_SETTLED`` counting sigmas; a pattern without peaks
    keeps its first background.

    Parameters
    ----------
    two_theta, counts
        The pattern.
    stiffness
        arPLS smoothness penalty.
    rule
        What counts as a peak.
    rounds
        Most refits of the baseline (0: plain arPLS).

    Returns
    -------
    numpy.ndarray
    """
    from scipy.signal import savgol_filter

    base = background(two_theta, counts, stiffness)
    sigma = np.sqrt(np.clip(counts, 1.0, None))
    for _ in range(rounds):
        peaks = find_peaks(two_theta, counts, base, rule)
        if not peaks:
            break
        positions = [p.two_theta_deg for p in peaks]
        width = typical_width(two_theta, savgol_filter(counts - base, rule.smoothing_points, rule.smoothing_order),
                              positions)
        profile, _ = peak_profile(two_theta, counts - base, sigma, positions, width)
        before, base = base, background(two_theta, counts - profile, stiffness)
        if np.max(np.abs(base - before) / sigma) < BACKGROUND_SETTLED:
            break
    return base


def confirmed_peaks(two_theta: np.ndarray, counts: np.ndarray, base: np.ndarray, peaks: Sequence[Peak],
                    rule: PeakRule, edge_fwhm: float) -> list[Peak]:
    """The peaks that are lines of their own: away from the scan's ends, and tall in a joint fit.

    A maximum within ``edge_fwhm`` peak widths of either end may be the flank of a line
    beyond the scan (and the baseline is least certain there); a noise ripple on the
    flank of a strong line can pass the height and prominence rules.  So all peaks are
    fitted together (:func:`peak_profile`) and a peak is kept when its own fitted
    height, its neighbours' tails not counted, still stands ``rule.own_height_sigma``
    sigmas of the smoothed noise above the background.

    Parameters
    ----------
    two_theta, counts, base
        The pattern and its background.
    peaks
        Candidates (:func:`find_peaks`).
    rule
        What counts as a peak.
    edge_fwhm
        Width of the excluded margin at each end, in typical peak widths.

    Returns
    -------
    list of Peak
        The confirmed peaks, by increasing 2θ.
    """
    from scipy.signal import savgol_filter

    if not peaks:
        return []
    net = counts - base
    positions = [p.two_theta_deg for p in peaks]
    width = typical_width(two_theta, savgol_filter(net, rule.smoothing_points, rule.smoothing_order), positions)
    low, high = two_theta[0] + edge_fwhm * width, two_theta[-1] - edge_fwhm * width
    inside = [p for p in peaks if low <= p.two_theta_deg <= high]
    if not inside:
        return []
    _, heights = peak_profile(two_theta, net, np.sqrt(np.clip(counts, 1.0, None)), [p.two_theta_deg for p in inside],
                              width)
    return [p for p, height in zip(inside, heights) if height >= rule.own_height_sigma * p.sigma]


def find_peaks(two_theta: np.ndarray, counts: np.ndarray, base: np.ndarray, rule: PeakRule) -> list[Peak]:
    """Bragg peaks standing ``rule.detection_sigma`` counting sigmas above the background.

    The sigma is that of the smoothed signal (Poisson noise times the filter's noise
    gain), so the threshold means the same for any smoothing width.  The prominence
    rule keeps a noise ripple on the flank of a strong line, which can stand high above
    the background, from counting as a peak of its own.  Positions are
    refined by a parabola through the top three points.

    Parameters
    ----------
    two_theta, counts, base
        The pattern and its background.
    rule
        Smoothing, threshold, prominence and minimum separation.

    Returns
    -------
    list of Peak
        By increasing 2θ.
    """
    from scipy.signal import find_peaks as local_maxima
    from scipy.signal import savgol_coeffs, savgol_filter

    smoothed = savgol_filter(counts - base, rule.smoothing_points, rule.smoothing_order)
    gain = float(np.sqrt(np.sum(savgol_coeffs(rule.smoothing_points, rule.smoothing_order) ** 2)))
    sigma = gain * np.sqrt(np.clip(counts, 1.0, None))
    step = float(np.median(np.diff(two_theta)))
    significant = {"height": rule.detection_sigma * sigma, "prominence": rule.prominence_sigma * sigma}
    indices, _ = local_maxima(smoothed, **significant)
    if indices.size > 1:  # the separation rule is in units of the pattern's own peak width
        width = typical_width(two_theta, smoothed, two_theta[indices])
        separation = max(1, int(rule.min_separation_fwhm * width / step))
        indices, _ = local_maxima(smoothed, **significant, distance=separation)
    peaks = []
    for i in indices:
        if 0 < i < len(smoothed) - 1:  # parabola through the top three points
            left, top, right = smoothed[i - 1:i + 2]
            shift = 0.5 * (left - right) / (left - 2 * top + right) if left - 2 * top + right else 0.0
        else:
            shift = 0.0
        peaks.append(Peak(float(two_theta[i] + shift * step), float(smoothed[i]), float(sigma[i])))
    return peaks


def new_peaks(exposed: Sequence[Peak], pristine: Sequence[Peak], tolerance_deg: float) -> list[Peak]:
    """Peaks of the exposed film with no pristine peak within ``tolerance_deg``.

    Parameters
    ----------
    exposed, pristine
        Peaks of the two patterns.
    tolerance_deg
        Largest 2θ difference at which two peaks are the same.

    Returns
    -------
    list of Peak
    """
    return [p for p in exposed if all(abs(p.two_theta_deg - q.two_theta_deg) > tolerance_deg for q in pristine)]


def index_peaks(peaks: Sequence[Peak], reflections: Sequence[Reflection], tolerance_deg: float,
                min_relative: float) -> list[tuple[Peak, Reflection | None]]:
    """Each peak with the strongest candidate reflection within ``tolerance_deg`` (or None).

    Reflections weaker than ``min_relative`` of the strongest are not candidates: a
    line that faint could not show in the measured pattern.

    Parameters
    ----------
    peaks
        The peaks to index.
    reflections
        Computed powder lines.
    tolerance_deg
        Largest 2θ difference between a peak and its reflection.
    min_relative
        Weakest candidate intensity, relative to the strongest line (a fraction).

    Returns
    -------
    list of tuple
        ``(peak, reflection or None)`` in the order of ``peaks``.
    """
    candidates = [r for r in reflections if r.intensity >= min_relative]
    matched = []
    for peak in peaks:
        near = [r for r in candidates if abs(r.two_theta_deg - peak.two_theta_deg) <= tolerance_deg]
        matched.append((peak, max(near, key=lambda r: r.intensity) if near else None))
    return matched


def pattern_width(pattern: Pattern, rule: PeakRule) -> float:
    """The typical half-height width (degrees) of a pattern's peaks (:func:`typical_width`).

    Parameters
    ----------
    pattern
        An analysed pattern.
    rule
        Its smoothing.

    Returns
    -------
    float
        0 when the pattern has no peak.
    """
    from scipy.signal import savgol_filter

    if not pattern.peaks:
        return 0.0
    smoothed = savgol_filter(pattern.counts - pattern.background, rule.smoothing_points, rule.smoothing_order)
    return typical_width(pattern.two_theta_deg, smoothed, [p.two_theta_deg for p in pattern.peaks])


def analyse(scans: Mapping[str, tuple[np.ndarray, np.ndarray, float]], atoms, stiffness: float,
            rule: PeakRule, match_tolerance_fwhm: float, min_relative: float, background_rounds: int = 0,
            edge_fwhm: float = 0.0) -> Diffraction:
    """Backgrounds and peaks of every pattern; new peaks of the air-exposed film, indexed.

    Parameters
    ----------
    scans
        Role (``pristine``, ``air_exposed``, ``cryo``) -> (2θ, counts, wavelength in Å);
        the Li2CO3 lines are computed at the air-exposed pattern's wavelength.
    atoms
        The Li2CO3 unit cell.
    stiffness
        arPLS smoothness penalty.
    rule
        What counts as a peak.
    match_tolerance_fwhm
        Largest 2θ difference for "same peak" and for indexing, in units of the
        air-exposed pattern's typical peak width.
    min_relative
        Weakest candidate reflection, relative to the strongest.
    background_rounds
        Refits of the background with the found peaks taken out (:func:`refined_background`).
    edge_fwhm
        Margin at each end of a scan, in peak widths, where no peak is counted
        (:func:`confirmed_peaks`).

    Returns
    -------
    Diffraction
    """
    patterns = {}
    for role, (two_theta, counts, wavelength_A) in scans.items():
        base = refined_background(two_theta, counts, stiffness, rule, background_rounds)
        found = confirmed_peaks(two_theta, counts, base, find_peaks(two_theta, counts, base, rule), rule, edge_fwhm)
        patterns[role] = Pattern(two_theta, counts, base, found, wavelength_A)
    exposed = patterns["air_exposed"]
    # lines just beyond the scan's end still reach into it: compute them a degree further
    reflections = powder_reflections(atoms, exposed.wavelength_A, min(float(exposed.two_theta_deg.max()) + 1.0, 179.0))
    tolerance = match_tolerance_fwhm * pattern_width(exposed, rule)
    fresh = new_peaks(exposed.peaks, patterns["pristine"].peaks, tolerance)
    return Diffraction(patterns, reflections, fresh, index_peaks(fresh, reflections, tolerance, min_relative))


def diffraction_numbers(result: Diffraction) -> list[Number]:
    """Peak counts, the indexed Li2CO3 lines and the verdict on the 100 K film.

    Parameters
    ----------
    result
        The analysed patterns.

    Returns
    -------
    list of Number
    """
    matched = result.matched
    cryo = result.patterns["cryo"].peaks
    amorphous = not cryo
    return [
        count("xrd.pristine_peaks", len(result.patterns["pristine"].peaks), "peaks"),
        count("xrd.new_peaks", len(result.new), "peaks"),
        count("xrd.li2co3_matched_peaks", len(matched), "peaks"),
        Number("xrd.li2co3_matched_hkl", [hkl_label(r.hkl) for _, r in matched], "",
               ", ".join(hkl_label(r.hkl) for _, r in matched)),
        Number("xrd.cryo_amorphous", amorphous, "", "amorphous" if amorphous else "crystalline"),
        count("xrd.cryo_peaks", len(cryo), "peaks"),
    ]


def write_tables(result: Diffraction, min_relative: float, outputs: Mapping[str, Path]) -> None:
    """The tables Figure S4 is drawn from.

    Parameters
    ----------
    result
        The analysed patterns.
    min_relative
        Reflections at least this strong (relative) are listed, as in the indexing.
    outputs
        ``patterns``, ``peaks`` and ``li2co3_reflections``.
    """
    datatable.write_rows(outputs["patterns"], "pattern,two_theta_deg,counts,background,wavelength_A",
                         [(PATTERNS[role], t, c, b, pattern.wavelength_A) for role, pattern in result.patterns.items()
                          for t, c, b in zip(pattern.two_theta_deg, pattern.counts, pattern.background)],
                         "{},{:.3f},{:g},{:.1f},{:g}")
    lookup = dict(result.indexed)
    rows = []
    for role, pattern in result.patterns.items():
        for p in pattern.peaks:
            ref = lookup.get(p) if role == "air_exposed" else None
            rows.append((PATTERNS[role], p.two_theta_deg, p.height, p.sigma, hkl_label(ref.hkl) if ref else "",
                         f"{ref.two_theta_deg:.3f}" if ref else ""))
    datatable.write_rows(outputs["peaks"], "pattern,two_theta_deg,height,sigma,hkl,reference_two_theta_deg", rows,
                         "{},{:.3f},{:.1f},{:.1f},{},{}")
    datatable.write_rows(outputs["li2co3_reflections"], "hkl,d_A,two_theta_deg,intensity",
                         [(hkl_label(r.hkl), r.d_A, r.two_theta_deg, r.intensity)
                          for r in result.reflections if r.intensity >= min_relative], "{},{:.4f},{:.3f},{:.4f}")


# ------------------------------------------------------------------ step
def same_wavelength(scans: Mapping[str, tuple[np.ndarray, np.ndarray, float]], paths: Mapping[str, Path],
                    roles: Sequence[str]) -> None:
    """Refuse patterns compared angle by angle that were taken at different wavelengths.

    Parameters
    ----------
    scans
        Role -> (2θ, counts, wavelength in Å).
    paths
        Role -> file, for the message.
    roles
        The roles whose patterns are compared.

    Raises
    ------
    InputError
        Two of them state wavelengths more than ``WAVELENGTH_CHECK_A`` apart.
    """
    first = roles[0]
    for role in roles[1:]:
        if abs(scans[role][2] - scans[first][2]) > WAVELENGTH_CHECK_A:
            raise InputError(paths[role], f"recorded with wavelength {scans[role][2]:g} Å, but "
                                          f"{paths[first].name} with {scans[first][2]:g} Å: their peaks are "
                                          f"compared by angle, so both must be taken with the same tube")


def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path], *, background_stiffness: float,
        background_rounds: int, smoothing_points: int, smoothing_order: int, detection_sigma: float,
        prominence_sigma: float, own_height_sigma: float, min_separation_fwhm: float, edge_fwhm: float,
        match_tolerance_fwhm: float,
        min_reflection_pct: float) -> list[Number]:
    """The three patterns: tables for Figure S4 and the numbers.

    Parameters
    ----------
    inputs
        ``pristine``, ``air_exposed``, ``cryo`` (.xy patterns) and ``li2co3_structure``
        (the cited crystal structure).
    outputs
        ``patterns``, ``peaks`` and ``li2co3_reflections``.
    background_stiffness
        arPLS smoothness penalty.
    background_rounds
        Refits of the background with the found peaks' profiles taken out.
    smoothing_points, smoothing_order
        Savitzky-Golay window (points) and polynomial order.
    detection_sigma
        Height, in sigmas of the smoothed noise, a peak must reach.
    prominence_sigma
        Rise, in the same sigmas, above the dip to a higher neighbour.
    own_height_sigma
        Height, in the same sigmas, of a peak's own profile in the joint fit.
    min_separation_fwhm
        Maxima closer than this many typical peak widths are one peak.
    edge_fwhm
        No peak is counted within this many peak widths of a scan's ends.
    match_tolerance_fwhm
        Largest 2θ difference for "same peak" (pristine vs exposed) and for indexing, in
        typical peak widths of the air-exposed pattern.
    min_reflection_pct
        Weakest candidate reflection, in % of the strongest.

    Returns
    -------
    list of Number
        Each derived from the patterns it counts (the indexing also from the structure).

    Raises
    ------
    InputError
        A pattern or the structure file is unreadable, a pattern states no wavelength, or
        the pristine and air-exposed patterns were taken at different wavelengths.
    """
    scans = {role: read_xy(inputs[role]) for role in PATTERNS}
    same_wavelength(scans, inputs, ("pristine", "air_exposed"))
    atoms = load_structure(inputs["li2co3_structure"])
    rule = PeakRule(smoothing_points, smoothing_order, detection_sigma, min_separation_fwhm, prominence_sigma,
                    own_height_sigma)
    min_relative = min_reflection_pct / 100.0
    result = analyse(scans, atoms, background_stiffness, rule, match_tolerance_fwhm, min_relative, background_rounds,
                     edge_fwhm)
    write_tables(result, min_relative, outputs)
    return [number.from_inputs(*(inputs[role] for role in DERIVED_FROM[number.key]))
            for number in diffraction_numbers(result)]

"""XRD of LiPON films (Figure S4): Li2CO3 after air exposure, no Bragg peak at 100 K.

Definitions (stated in the supplement's methods):

* the background is the arPLS baseline of ``pybaselines`` (asymmetrically reweighted
  penalised least squares, stiffness ``BACKGROUND_STIFFNESS``): it follows the amorphous
  hump and the low-angle air scatter, and its noise-aware weights keep it from riding
  up into Bragg peaks or sinking below the noise;
* a Bragg peak is a local maximum of the Savitzky-Golay-smoothed net counts that stands
  ``DETECTION_SIGMA`` counting sigmas (of the smoothed signal) above the background;
  peaks closer than ``MIN_SEPARATION_DEG`` are one peak;
* a *new* peak of the air-exposed film is one with no pristine peak within
  ``MATCH_TOLERANCE_DEG``; it is *indexed* to the strongest Li2CO3 reflection within
  ``MATCH_TOLERANCE_DEG`` of it, the reflections being computed from the cited crystal
  structure (kinematic structure factors with Waasmaier-Kirfel form factors from ``xraydb``
  and the Lorentz-polarisation factor);
* the 100 K film is amorphous when its pattern has no Bragg peak at all.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.style import write_table
from paperbuild.errors import InputError
from paperbuild.numbers import Number, count

PATTERNS = {"pristine": "xrd/lipon_pristine.xy", "air-exposed": "xrd/lipon_air_2d.xy", "cryo 100 K": "xrd/lipon_cryo_100K.xy"}
STRUCTURE = Path(__file__).resolve().parent.parent / "data" / "external" / "li2co3_structure.yaml"
BACKGROUND_STIFFNESS = 1e6
SMOOTHING_POINTS = 9
DETECTION_SIGMA = 5.0
MIN_SEPARATION_DEG = 0.3
MATCH_TOLERANCE_DEG = 0.15
MIN_REFLECTION_RELATIVE = 0.01  # computed reflections weaker than this are not candidates


@dataclass(frozen=True)
class Reflection:
    hkl: tuple[int, int, int]
    d_A: float
    two_theta_deg: float
    intensity: float  # relative to the strongest, 1.0


@dataclass(frozen=True)
class Peak:
    two_theta_deg: float
    height: float
    sigma: float


# ------------------------------------------------------------------ crystallography
def load_structure(path: Path = STRUCTURE):
    """The cited structure as ASE Atoms, built from its space group and asymmetric unit."""
    import yaml
    from ase.spacegroup import crystal

    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    cell = spec["cell"]
    symbols = [site[0] for site in spec["sites"]]
    basis = [tuple(site[1:]) for site in spec["sites"]]
    return crystal(symbols, basis, spacegroup=spec["space_group"],
                   cellpar=[cell[k] for k in ("a", "b", "c", "alpha", "beta", "gamma")])


def form_factor(symbol: str, s: float) -> float:
    """X-ray form factor at s = sin(theta)/lambda (1/Å): Waasmaier-Kirfel, as xraydb tabulates it."""
    import xraydb

    return float(xraydb.f0(symbol, s)[0])


def powder_reflections(atoms, wavelength_A: float, two_theta_max_deg: float) -> list[Reflection]:
    """Powder lines (equal-d reflections merged) with kinematic intensities, strongest = 1."""
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
        lines.setdefault(round(d, 4), []).append((hkl, abs(structure_factor) ** 2))
    reflections = []
    for d, members in lines.items():
        total = sum(weight for _, weight in members)
        if total < 1e-6:
            continue  # systematically absent
        theta = np.arcsin(wavelength_A / (2.0 * d))
        lorentz_polarisation = (1 + np.cos(2 * theta) ** 2) / (np.sin(theta) ** 2 * np.cos(theta))
        label = max((hkl for hkl, _ in members), key=lambda m: (sum(v >= 0 for v in m), m))
        reflections.append(Reflection(label, d, float(np.degrees(2 * theta)), total * lorentz_polarisation))
    strongest = max(r.intensity for r in reflections)
    return sorted((Reflection(r.hkl, r.d_A, r.two_theta_deg, r.intensity / strongest) for r in reflections),
                  key=lambda r: r.two_theta_deg)


def hkl_label(hkl: tuple[int, int, int]) -> str:
    """Miller indices as crystallographers write them in text: (-2 0 2) -> '(2̄02)'."""
    return "(" + "".join(f"{abs(v)}\u0304" if v < 0 else str(v) for v in hkl) + ")"


# ------------------------------------------------------------------ reading
def read_xy(path: Path, wavelength_A: float) -> tuple[np.ndarray, np.ndarray]:
    """2θ (degrees) and counts from a two-column .xy export; the header's wavelength must match."""
    if not path.is_file():
        raise InputError(path, "file is missing")
    header = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.startswith("#")]
    for line in header:
        if "wavelength" in line.lower():
            stated = float(line.split(":")[1].split()[0])
            if abs(stated - wavelength_A) > 1e-4:
                raise InputError(path, f"recorded with wavelength {stated} Å, the methods give {wavelength_A} Å")
    try:
        table = np.loadtxt(path, comments="#", ndmin=2)
    except ValueError as err:
        raise InputError(path, f"not a two-column .xy pattern ({err})") from None
    if table.shape[1] < 2 or table.shape[0] < 50:
        raise InputError(path, f"expected two columns (2θ, counts) and a full scan; found shape {table.shape}")
    two_theta, counts = table[:, 0], table[:, 1]
    if not np.all(np.diff(two_theta) > 0):
        raise InputError(path, "2θ is not strictly increasing")
    return two_theta, counts


# ------------------------------------------------------------------ peaks
def background(two_theta: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Asymmetrically reweighted penalised least squares (pybaselines ``arpls``)."""
    from pybaselines import Baseline

    return Baseline(x_data=two_theta).arpls(counts, lam=BACKGROUND_STIFFNESS)[0]


def find_peaks(two_theta: np.ndarray, counts: np.ndarray, base: np.ndarray) -> list[Peak]:
    """Bragg peaks standing DETECTION_SIGMA counting sigmas above the background."""
    from scipy.signal import find_peaks as local_maxima
    from scipy.signal import savgol_coeffs, savgol_filter

    smoothed = savgol_filter(counts - base, SMOOTHING_POINTS, 2)
    gain = float(np.sqrt(np.sum(savgol_coeffs(SMOOTHING_POINTS, 2) ** 2)))  # noise kept by the filter
    sigma = gain * np.sqrt(np.clip(counts, 1.0, None))
    step = float(np.median(np.diff(two_theta)))
    indices, _ = local_maxima(smoothed, height=DETECTION_SIGMA * sigma,
                              distance=max(1, int(MIN_SEPARATION_DEG / step)))
    peaks = []
    for i in indices:
        if 0 < i < len(smoothed) - 1:  # parabola through the top three points
            left, top, right = smoothed[i - 1:i + 2]
            shift = 0.5 * (left - right) / (left - 2 * top + right) if left - 2 * top + right else 0.0
        else:
            shift = 0.0
        peaks.append(Peak(float(two_theta[i] + shift * step), float(smoothed[i]), float(sigma[i])))
    return peaks


def new_peaks(exposed: list[Peak], pristine: list[Peak]) -> list[Peak]:
    return [p for p in exposed if all(abs(p.two_theta_deg - q.two_theta_deg) > MATCH_TOLERANCE_DEG for q in pristine)]


def index_peaks(peaks: list[Peak], reflections: list[Reflection]) -> list[tuple[Peak, Reflection | None]]:
    """Each peak with the strongest candidate reflection within MATCH_TOLERANCE_DEG (or None)."""
    candidates = [r for r in reflections if r.intensity >= MIN_REFLECTION_RELATIVE]
    matched = []
    for peak in peaks:
        near = [r for r in candidates if abs(r.two_theta_deg - peak.two_theta_deg) <= MATCH_TOLERANCE_DEG]
        matched.append((peak, max(near, key=lambda r: r.intensity) if near else None))
    return matched


# ------------------------------------------------------------------ step
def run(raw: Path, out: Path, wavelength_A: float = 1.54178) -> list[Number]:
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    patterns, peaks = {}, {}
    for name, relative in PATTERNS.items():
        two_theta, counts = read_xy(raw / relative, wavelength_A)
        base = background(two_theta, counts)
        patterns[name] = (two_theta, counts, base)
        peaks[name] = find_peaks(two_theta, counts, base)
    reflections = powder_reflections(load_structure(), wavelength_A, float(patterns["air-exposed"][0].max()))
    fresh = new_peaks(peaks["air-exposed"], peaks["pristine"])
    indexed = index_peaks(fresh, reflections)
    matched = [(p, r) for p, r in indexed if r is not None]

    write_table(data / "xrd_patterns.csv", "pattern,two_theta_deg,counts,background",
                [(name, t, c, b) for name, (two_theta, counts, base) in patterns.items()
                 for t, c, b in zip(two_theta, counts, base)], "{},{:.3f},{:g},{:.1f}")
    lookup = dict(indexed)
    write_table(data / "xrd_peaks.csv", "pattern,two_theta_deg,height,sigma,hkl,reference_two_theta_deg",
                [(name, p.two_theta_deg, p.height, p.sigma,
                  hkl_label(ref.hkl) if (ref := lookup.get(p) if name == "air-exposed" else None) else "",
                  f"{ref.two_theta_deg:.3f}" if ref else "")
                 for name, found in peaks.items() for p in found], "{},{:.3f},{:.1f},{:.1f},{},{}")
    write_table(data / "xrd_li2co3_reflections.csv", "hkl,d_A,two_theta_deg,intensity",
                [(hkl_label(r.hkl), r.d_A, r.two_theta_deg, r.intensity)
                 for r in reflections if r.intensity >= MIN_REFLECTION_RELATIVE], "{},{:.4f},{:.3f},{:.4f}")
    amorphous = not peaks["cryo 100 K"]
    return [
        count("xrd.pristine_peaks", len(peaks["pristine"]), "peaks"),
        count("xrd.new_peaks", len(fresh), "peaks"),
        count("xrd.li2co3_matched_peaks", len(matched), "peaks"),
        Number("xrd.li2co3_matched_hkl", [hkl_label(r.hkl) for _, r in matched], "",
               ", ".join(hkl_label(r.hkl) for _, r in matched)),
        Number("xrd.cryo_amorphous", amorphous, "", "amorphous" if amorphous else "crystalline"),
        count("xrd.cryo_peaks", len(peaks["cryo 100 K"]), "peaks"),
    ]

"""Forward model of the XPS spectra: Voigt lines on a Shirley-type background, counted.

Each chemical state contributes a Voigt line per element at its binding energy, with an
area proportional to (atoms x sensitivity factor), so that quantification by fitted
area / factor recovers the atoms.  The background is a flat level plus a Shirley step:
at every energy it adds ``shirley_step`` times the peak area lying at lower binding
energy, which is the shape the iterative Shirley algorithm assumes.  P 2p lines are
doublets (2p1/2 at ``split`` above 2p3/2, half the area).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from scipy.special import voigt_profile

Line = tuple[float, float]  # (binding energy / eV, area / counts x eV)


def binding_axis(window: tuple[float, float], step: float) -> np.ndarray:
    """Binding energies of a region, low to high, on the acquisition grid."""
    low, high = window
    return np.round(low + step * np.arange(int(round((high - low) / step)) + 1), 6)


def doublet(position_32: float, area: float, split: float, ratio: float = 0.5) -> list[Line]:
    """A P 2p pair: 2p3/2 at ``position_32`` and 2p1/2 ``split`` above with ``ratio`` of its area."""
    total = 1.0 + ratio
    return [(position_32, area / total), (position_32 + split, area * ratio / total)]


def expected_counts(energy: np.ndarray, lines: Iterable[Line], cfg: Mapping[str, Any], flat: float) -> np.ndarray:
    """Mean counts per channel: Voigt lines, their Shirley step, a flat level."""
    peaks = np.zeros_like(energy)
    for position, area in lines:
        peaks += area * voigt_profile(energy - position, cfg["gauss_sigma_eV"], cfg["lorentz_gamma_eV"])
    from scipy.integrate import cumulative_trapezoid

    below = cumulative_trapezoid(peaks, energy, initial=0.0)  # peak area at lower binding energy
    return flat + peaks + cfg["shirley_step"] * below


def phase_amounts(depth: float, cfg: Mapping[str, Any]) -> dict[str, float]:
    """Formula units of each phase seen at one etch depth (arbitrary scale).

    Carbon contamination and Li2CO3 sit on the surface; Li metal with some Li2O follows;
    Li3N appears at the N 1s onset and phosphate at the P 2p onset, each starting at
    ``onset_fraction`` of its plateau so the onset is a sharp, datable event.
    """
    n_onset, p_onset, start = cfg["n1s_onset_depth"], cfg["p2p_onset_depth"], cfg["onset_fraction"]

    def rise(onset: float, length: float) -> float:
        return 0.0 if depth < onset else 1.0 - (1.0 - start) * np.exp(-(depth - onset) / length)

    li3n, phosphate = rise(n_onset, 12.0), rise(p_onset, 15.0)
    metal = (1.0 - np.exp(-depth / 6.0)) * (1.0 if depth < n_onset else np.exp(-(depth - n_onset) / 40.0))
    return {
        "adventitious C": 0.8 * np.exp(-depth / 4.0),
        "Li2CO3": 0.5 * np.exp(-depth / 7.0),
        "Li2O": 0.30 + 0.25 * np.exp(-depth / 10.0) + 0.15 * li3n,
        "Li metal": 1.6 * metal,
        "Li3N": 0.12 * li3n * (1.0 - 0.5 * phosphate),
        "phosphate": 0.16 * phosphate,
    }


ATOMS = {  # atoms of each element per formula unit, by region
    "adventitious C": {"C 1s": 1},
    "Li2CO3": {"C 1s": 1, "O 1s": 3, "Li 1s": 2},
    "Li2O": {"O 1s": 1, "Li 1s": 2},
    "Li metal": {"Li 1s": 1},
    "Li3N": {"N 1s": 1, "Li 1s": 3},
    "phosphate": {"P 2p": 1, "O 1s": 4, "Li 1s": 3},
}


def profile_lines(depth: float, cfg: Mapping[str, Any], factors: Mapping[str, float], split: float) -> dict[str, list[Line]]:
    """Every region's lines (true binding energy, area) at one etch depth."""
    lines: dict[str, list[Line]] = {region: [] for region in cfg["regions"]}
    for phase, amount in phase_amounts(depth, cfg).items():
        for region, atoms in ATOMS[phase].items():
            area = amount * atoms * factors[region] * cfg["profile_scale"]
            position = cfg["states"][phase][region]
            lines[region] += doublet(position, area, split) if region == "P 2p" else [(position, area)]
    return lines


def reference_lines(cfg: Mapping[str, Any], factors: Mapping[str, float]) -> dict[str, list[Line]]:
    """The LiPON reference's lines at the positions the paper lists for Figure S8."""
    ref, scale = cfg["reference"], cfg["reference_scale"]
    amount = ref["stoichiometry"]

    def area(region: str, atoms: float) -> float:
        return atoms * factors[region] * scale

    p_area = area("P 2p", amount["P"])
    return {
        "C 1s": [(cfg["states"]["adventitious C"]["C 1s"], area("C 1s", ref["adventitious_c"]))],
        "O 1s": [(be, area("O 1s", amount["O"] * share)) for be, share in ref["o1s"].values()],
        "N 1s": [(be, area("N 1s", amount["N"] * share)) for be, share in ref["n1s"].values()],
        "P 2p": [(ref["p2p32_eV"], p_area * 2 / 3), (ref["p2p12_eV"], p_area / 3)],
        "Li 1s": [(ref["li1s_eV"], area("Li 1s", amount["Li"]))],
    }


def etch_depths(cfg: Mapping[str, Any]) -> np.ndarray:
    """The etch schedule; both onsets must be on it, or the truth is not measurable as set."""
    step = cfg["etch_step_s"]
    for key in ("n1s_onset_depth", "p2p_onset_depth"):
        if cfg[key] % step or not 0 < cfg[key] < cfg["etch_max_s"]:
            raise ValueError(f"xps.{key} = {cfg[key]} must be a multiple of etch_step_s = {step} "
                             f"inside (0, {cfg['etch_max_s']})")
    return np.arange(0, cfg["etch_max_s"] + step, step)

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
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import voigt_profile

from data.synth.vamas import ANALYSIS_AREA_UM

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


# ------------------------------------------------------------------ what the truth implies
FACTORS_FILE = Path(__file__).resolve().parents[1] / "external" / "xps_sensitivity_factors.yaml"


def external_constants() -> dict[str, Any]:
    """The cited sensitivity factors and P 2p doublet constants (the file the writer uses too)."""
    import yaml

    return yaml.safe_load(FACTORS_FILE.read_text(encoding="utf-8"))


def fixed_split_misfit(cfg: Mapping[str, Any], factors: Mapping[str, float], split: float, ratio: float
                       ) -> tuple[float, int]:
    """How badly one doublet with the cited splitting describes the noise-free reference P 2p.

    The reference's P 2p counts without noise are fitted (scipy least squares, counting
    weights) with one Voigt doublet of fixed ``split`` and ``ratio`` on a flat level plus
    its own Shirley step, widths free.  Returns the minimum chi-square (the misfit a
    noisy fit adds to its counting chi-square, on average) and the fit's degrees of
    freedom.
    """
    from scipy.optimize import least_squares

    energy = binding_axis(tuple(cfg["regions"]["P 2p"]), cfg["step_eV"])
    truth_lines = reference_lines(cfg, factors)["P 2p"]
    counts = expected_counts(energy, truth_lines, cfg, cfg["reference_background_counts"])
    weights = 1.0 / np.sqrt(counts)
    total = sum(area for _, area in truth_lines)

    def model(p: np.ndarray) -> np.ndarray:
        centre, area, sigma, gamma, level, step = p
        shape = dict(cfg, gauss_sigma_eV=sigma, lorentz_gamma_eV=gamma, shirley_step=step)
        return expected_counts(energy, doublet(centre, area, split, ratio), shape, level)

    start = [truth_lines[0][0], total, cfg["gauss_sigma_eV"], cfg["lorentz_gamma_eV"],
             cfg["reference_background_counts"], cfg["shirley_step"]]
    fit = least_squares(lambda p: (model(p) - counts) * weights, start,
                        bounds=([-np.inf, 0, 1e-3, 0, -np.inf, 0], np.inf), x_scale="jac")
    return float(np.sum(fit.fun ** 2)), energy.size - len(start)


def expected_numbers(truth: Mapping[str, Any]) -> dict[str, Any]:
    """The value every raw-derived ``xps.*`` number should take for this truth.

    Binding energies are the true ones: the analysis references each file to the
    adventitious C-C/C-H line, which the truth puts at the method's reference energy
    (``xps.c1s_reference_eV``, echoed, equals the truth's line: the priors keep it there),
    so a calibration shift should undo the charge shift exactly.  The depth profile's
    interphase lines are the true Li3N N 1s and phosphate P 2p 2p3/2 positions; the onsets
    are the etch steps where each phase starts.  The stoichiometry is the truth's atoms
    per P (the O and N amounts spread over their components' shares).  The fixed-split
    chi-square ratio is the expectation of a reduced chi-square ratio: 1 plus the noise-
    free misfit of a 0.87 eV doublet per degree of freedom (:func:`fixed_split_misfit`),
    over a free fit whose model is exact (reduced chi-square 1).
    """
    cfg = truth["xps"]
    ref = cfg["reference"]
    external = external_constants()
    amount = ref["stoichiometry"]
    o_atoms = amount["O"] * sum(share for _, share in ref["o1s"].values())
    n_atoms = amount["N"] * sum(share for _, share in ref["n1s"].values())
    misfit, dof = fixed_split_misfit(cfg, external["factors"], external["p2p_spin_orbit_split_eV"],
                                     external["p2p_area_ratio_12_to_32"])
    return {
        "xps.n1s_onset_depth": int(cfg["n1s_onset_depth"]),
        "xps.p2p_onset_depth": int(cfg["p2p_onset_depth"]),
        "xps.li3n_n1s_eV": cfg["states"]["Li3N"]["N 1s"],
        "xps.phosphate_p2p_eV": cfg["states"]["phosphate"]["P 2p"],
        "xps.profile_shift_eV": -cfg["charge_shift_eV"]["profile"],
        "xps.reference_shift_eV": -cfg["charge_shift_eV"]["reference"],
        "xps.ref_o1s_nbo_eV": ref["o1s"]["NBO"][0],
        "xps.ref_o1s_bo_eV": ref["o1s"]["BO"][0],
        "xps.ref_n1s_na_eV": ref["n1s"]["Na"][0],
        "xps.ref_n1s_nb_eV": ref["n1s"]["Nb"][0],
        "xps.ref_n1s_no2_eV": ref["n1s"]["NO2"][0],
        "xps.ref_p2p32_eV": ref["p2p32_eV"],
        "xps.ref_p2p12_eV": ref["p2p12_eV"],
        "xps.ref_p2p_split_eV": ref["p2p12_eV"] - ref["p2p32_eV"],
        "xps.ref_p2p_fixed_split_redchi_ratio": 1.0 + misfit / dof,
        "xps.ref_stoichiometry": [amount["Li"] / amount["P"], o_atoms / amount["P"], n_atoms / amount["P"]],
        "xps.c1s_reference_eV": cfg["states"]["adventitious C"]["C 1s"],
        "xps.photon_energy_eV": cfg["photon_energy_eV"],
        "xps.analysis_width_x_um": ANALYSIS_AREA_UM[0],
        "xps.analysis_width_y_um": ANALYSIS_AREA_UM[1],
    }

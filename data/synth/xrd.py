"""Forward model of the powder patterns: amorphous LiPON, plus Li2CO3 after air exposure.

The Li2CO3 lines sit where the cited structure puts them (kinematic intensities computed
in :mod:`data.synth.powder`, independently of the analysis that indexes against the same
cited structure), as pseudo-Voigt peaks; counts are Poisson.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def axis(cfg: Mapping[str, Any]) -> np.ndarray:
    low, high = cfg["two_theta_deg"]
    return np.round(low + cfg["step_deg"] * np.arange(int(round((high - low) / cfg["step_deg"])) + 1), 4)


def amorphous(two_theta: np.ndarray, cfg: Mapping[str, Any], hump_scale: float = 1.0) -> np.ndarray:
    """Flat level, air scatter at low angle and the broad hump of the glass."""
    hump = np.exp(-4 * np.log(2) * ((two_theta - cfg["hump_centre_deg"]) / cfg["hump_fwhm_deg"]) ** 2)
    low_angle = np.exp(-(two_theta - two_theta[0]) / cfg["low_angle_decay_deg"])
    return cfg["background_counts"] + cfg["low_angle_counts"] * low_angle + hump_scale * cfg["hump_counts"] * hump


def pseudo_voigt(x: np.ndarray, fwhm: float, eta: float) -> np.ndarray:
    """Unit-height pseudo-Voigt."""
    gauss = np.exp(-4 * np.log(2) * (x / fwhm) ** 2)
    lorentz = 1.0 / (1.0 + 4.0 * (x / fwhm) ** 2)
    return eta * lorentz + (1 - eta) * gauss


def bragg(two_theta: np.ndarray, lines: Sequence[tuple[float, float]], cfg: Mapping[str, Any]) -> np.ndarray:
    """Peaks at (2θ, relative intensity); the strongest reaches ``carbonate_counts``."""
    total = np.zeros_like(two_theta)
    for position, intensity in lines:
        if intensity >= cfg["carbonate_min_relative"]:
            total += cfg["carbonate_counts"] * intensity * pseudo_voigt(two_theta - position, cfg["peak_fwhm_deg"],
                                                                         cfg["peak_eta"])
    return total

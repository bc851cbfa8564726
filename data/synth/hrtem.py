"""Forward model of cryo-HRTEM images of the Li | interphase | LiPON stack.

Nanocrystals are disks 3-5 nm across tiling each layer on a jittered grid (see
:func:`pack_crystals`); each shows ``fringe_sets`` sets of lattice
fringes (distinct reflections of its phase, each at a random in-plane angle) on an
amorphous background.
Left out: real contrast transfer (a Gaussian damping envelope stands in), dynamical
scattering, thickness variation, and the angular relations of a real zone axis.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Crystal:
    row_nm: float
    col_nm: float
    diameter_nm: float
    phase: str
    fringes: tuple[tuple[float, float], ...]  # (d spacing in Å, in-plane angle) of each fringe set


def region_thicknesses(cfg: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """Layer thicknesses (regions x 3, nm) whose mean over the regions is exactly the truth."""
    means, spread = np.asarray(cfg["layer_means_nm"], float), np.asarray(cfg["layer_spread_nm"], float)
    draws = rng.normal(0.0, 1.0, size=(cfg["regions"], means.size)) * spread
    return np.maximum(means + draws - draws.mean(axis=0), 1.0)


def pack_crystals(boundaries_nm: np.ndarray, layer_phases: list[list[str]], refs: dict[str, list[float]],
                  cfg: dict[str, Any], rng: np.random.Generator) -> list[Crystal]:
    """Crystallites tiling each crystalline layer on a jittered grid.

    Each layer (bulk Li from the image edge, then the interphase layers) is cut into
    cells about one crystallite pitch wide whose edges meet the layer's boundaries; each
    cell holds one crystallite wholly inside it, near its centre (``cell_jitter_nm``),
    so crystallites never touch and no crystallite straddles a boundary.  The phases of a layer take turns from cell to
    cell, so the layer's composition is even along the interface: the layers are sharp,
    uniform mixtures, as the paper's picture of the interphase has them.
    """
    height = cfg["rows"] * cfg["pixel_A"] / 10
    d_min, d_max = cfg["crystallite_diameter_nm"]
    gap = cfg["crystallite_gap_nm"]
    pitch = d_max + gap
    edges = np.concatenate([[0.0], boundaries_nm])
    crystals: list[Crystal] = []
    n_rows = max(1, int(height // pitch))
    cell_h = height / n_rows
    for layer, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        phases = layer_phases[layer] if layer < len(layer_phases) else []
        if not phases or hi <= lo:
            continue
        n_cols = max(1, int(round((hi - lo) / pitch)))
        cell_w = (hi - lo) / n_cols
        for i in range(n_rows):
            for j in range(n_cols):
                diameter = min(rng.uniform(d_min, d_max), cell_w - gap, cell_h - gap)
                slack_r = min(cfg["cell_jitter_nm"], max(0.0, (cell_h - diameter - gap) / 2))
                slack_c = min(cfg["cell_jitter_nm"], max(0.0, (cell_w - diameter - gap) / 2))
                row = (i + 0.5) * cell_h + rng.uniform(-slack_r, slack_r)
                col = lo + (j + 0.5) * cell_w + rng.uniform(-slack_c, slack_c)
                phase = phases[(i + j + layer) % len(phases)]
                spacings = rng.choice(refs[phase], size=min(cfg["fringe_sets"], len(refs[phase])), replace=False)
                crystals.append(Crystal(row, col, diameter, phase,
                                        tuple((float(d), float(rng.uniform(0, np.pi))) for d in spacings)))
    return crystals


def field_columns(thicknesses: np.ndarray, cfg: dict[str, Any]) -> int:
    """Image width along the depth: enough for the deepest region and some LiPON."""
    deepest = cfg["li_bulk_nm"][1] + float(thicknesses.sum(axis=1).max()) + cfg["lipon_nm"]
    return int(np.ceil(deepest * 10 / cfg["pixel_A"] / 8) * 8)


def render(crystals: list[Crystal], shape: tuple[int, int], cfg: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """Contrast image: amorphous speckle plus each crystal's fringes, damped and noised."""
    rows, cols = shape
    pixel_A = cfg["pixel_A"]
    noise = rng.normal(size=(rows, cols))
    amorphous = ndimage.gaussian_filter(noise, 0.9) - ndimage.gaussian_filter(noise, 2.5)
    image = cfg["amorphous_amplitude"] * amorphous / amorphous.std()
    for crystal in crystals:
        radius_px = crystal.diameter_nm * 10 / pixel_A / 2
        # pixel i covers [i, i + 1) pixel sizes: its centre sits at i + 0.5
        r0, c0 = crystal.row_nm * 10 / pixel_A - 0.5, crystal.col_nm * 10 / pixel_A - 0.5
        lo_r, hi_r = max(0, int(r0 - radius_px - 3)), min(rows, int(r0 + radius_px + 4))
        lo_c, hi_c = max(0, int(c0 - radius_px - 3)), min(cols, int(c0 + radius_px + 4))
        rr, cc = np.mgrid[lo_r:hi_r, lo_c:hi_c]
        distance = np.hypot(rr - r0, cc - c0)
        envelope = 0.5 * (1 - np.tanh((distance - radius_px) / 1.5))
        for d_A, angle in crystal.fringes:
            q_px = pixel_A / d_A  # cycles per pixel
            phase = 2 * np.pi * q_px * ((rr - r0) * np.sin(angle) + (cc - c0) * np.cos(angle))
            amplitude = cfg["fringe_amplitude"] * rng.uniform(0.85, 1.15)
            image[lo_r:hi_r, lo_c:hi_c] += amplitude * envelope * np.cos(phase + rng.uniform(0, 2 * np.pi))
    fy, fx = np.fft.fftfreq(rows)[:, None], np.fft.rfftfreq(cols)[None, :]
    q_per_A = np.hypot(fy, fx) / pixel_A
    damping = np.exp(-((q_per_A * cfg["information_limit_A"]) ** 2))
    image = np.fft.irfft2(np.fft.rfft2(image) * damping, s=image.shape)
    return image + rng.normal(0, cfg["noise"], size=image.shape)


def to_counts(image: np.ndarray, cfg: dict[str, Any]) -> np.ndarray:
    """Camera counts as a 16-bit detector would record them."""
    return np.clip(cfg["counts_offset"] + cfg["counts_scale"] * image, 0, 65535).astype(np.uint16)

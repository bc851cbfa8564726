"""Forward model of cryo-HRTEM images of the Li | interphase | LiPON stack.

Nanocrystals are disks 3-5 nm across tiling each layer on a jittered grid (see
:func:`pack_crystals`); each shows ``fringe_sets`` sets of lattice
fringes (distinct reflections of its phase, each at a random in-plane angle) on an
amorphous background.
Left out: real contrast transfer (a Gaussian damping envelope stands in), dynamical
scattering, thickness variation, and the angular relations of a real zone axis.
"""
from __future__ import annotations

from collections.abc import Iterator
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
    """Image width along the depth: enough for the deepest region and some LiPON, or
    ``columns`` pixels (a camera's full frame) when that is wider: more LiPON then."""
    deepest = cfg["li_bulk_nm"][1] + float(thicknesses.sum(axis=1).max()) + cfg["lipon_nm"]
    return max(int(np.ceil(deepest * 10 / cfg["pixel_A"] / 8) * 8), int(cfg["columns"] or 0))


@dataclass(frozen=True)
class RenderDraws:
    """The random draws of one image, in the order the generator gives them.

    Kept apart from :func:`render` so that :func:`regions` can replay a realization's
    random stream (and so its crystallites) without rendering an image.
    """

    speckle: np.ndarray                          # white noise behind the amorphous contrast
    fringes: list[tuple[float, float]]           # (amplitude factor, phase) per crystal fringe set
    noise: np.ndarray                            # detector noise


def render_draws(crystals: list[Crystal], shape: tuple[int, int], cfg: dict[str, Any],
                 rng: np.random.Generator) -> RenderDraws:
    """Every random number :func:`render` uses, drawn in its order."""
    speckle = rng.normal(size=shape)
    fringes = [(float(rng.uniform(0.85, 1.15)), float(rng.uniform(0, 2 * np.pi)))
               for crystal in crystals for _ in crystal.fringes]
    return RenderDraws(speckle, fringes, rng.normal(0, cfg["noise"], size=shape))


def render(crystals: list[Crystal], shape: tuple[int, int], cfg: dict[str, Any], rng: np.random.Generator,
           draws: RenderDraws | None = None) -> np.ndarray:
    """Contrast image: amorphous speckle plus each crystal's fringes, damped and noised.

    ``draws`` (from :func:`render_draws`) are used instead of drawing from ``rng``.
    """
    rows, cols = shape
    pixel_A = cfg["pixel_A"]
    draws = draws if draws is not None else render_draws(crystals, shape, cfg, rng)
    noise = draws.speckle
    amorphous = ndimage.gaussian_filter(noise, 0.9) - ndimage.gaussian_filter(noise, 2.5)
    image = cfg["amorphous_amplitude"] * amorphous / amorphous.std()
    fringe_draws = iter(draws.fringes)
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
            factor, shift = next(fringe_draws)
            amplitude = cfg["fringe_amplitude"] * factor
            image[lo_r:hi_r, lo_c:hi_c] += amplitude * envelope * np.cos(phase + shift)
    fy, fx = np.fft.fftfreq(rows)[:, None], np.fft.rfftfreq(cols)[None, :]
    q_per_A = np.hypot(fy, fx) / pixel_A
    damping = np.exp(-((q_per_A * cfg["information_limit_A"]) ** 2))
    image = np.fft.irfft2(np.fft.rfft2(image) * damping, s=image.shape)
    return image + draws.noise


def to_counts(image: np.ndarray, cfg: dict[str, Any]) -> np.ndarray:
    """Camera counts as a 16-bit detector would record them."""
    return np.clip(cfg["counts_offset"] + cfg["counts_scale"] * image, 0, 65535).astype(np.uint16)


RNG_STREAM = 40          # the HRTEM images' random stream: default_rng([seed, RNG_STREAM])
SIZE_PERCENTILES = (10, 90)  # the paper's size range "3-5 nm" read as the middle 80 % of the nanocrystals


@dataclass(frozen=True)
class Region:
    """One region as the instrument drew it: where its layers lie and what it holds."""

    index: int                       # 1-based
    boundaries_nm: np.ndarray        # interphase start, two inner boundaries, interphase end
    crystals: list[Crystal]
    shape: tuple[int, int]
    draws: RenderDraws

    def image(self, cfg: dict[str, Any]) -> np.ndarray:
        """The region's contrast image (:func:`render` with its own draws)."""
        return render(self.crystals, self.shape, cfg, np.random.default_rng(0), self.draws)


def fringe_references(cfg: dict[str, Any]) -> dict[str, list[float]]:
    """The fringe spacings (Å) of every phase the layers hold (:func:`lattice.fringe_spacings`)."""
    from data.synth import lattice

    return lattice.fringe_spacings(dict.fromkeys(phase for layer in cfg["layer_phases"] for phase in layer))


def regions(truth: dict[str, Any], refs: dict[str, list[float]]) -> Iterator[Region]:
    """Every HRTEM region of a truth, drawn from the realization's seed, in file order.

    The writer renders each region's image from these; :func:`expected_numbers` replays
    the same stream to know the crystallites and layers without rendering.

    Parameters
    ----------
    truth
        The whole truth (its ``seed`` and ``hrtem`` section).
    refs
        Fringe spacings per phase (:func:`fringe_references`).
    """
    cfg = truth["hrtem"]
    rng = np.random.default_rng([int(truth["seed"]), RNG_STREAM])
    thicknesses = region_thicknesses(cfg, rng)
    shape = (cfg["rows"], field_columns(thicknesses, cfg))
    for index, layers in enumerate(thicknesses, start=1):
        start = rng.uniform(*cfg["li_bulk_nm"])
        boundaries = start + np.concatenate([[0.0], np.cumsum(layers)])
        crystals = pack_crystals(boundaries, cfg["layer_phases"], refs, cfg, rng)
        yield Region(index, boundaries, crystals, shape, render_draws(crystals, shape, cfg, rng))


def expected_numbers(truth: dict[str, Any]) -> dict[str, Any]:
    """The HRTEM numbers the truth implies.

    Region count: the regions written.  Layer means: the mean over the regions of the
    thicknesses the instrument drew (:func:`region_thicknesses` makes that mean the
    truth's ``layer_means_nm`` unless a draw is clipped at 1 nm).  Crystallite range:
    the :data:`SIZE_PERCENTILES` of the diameters of every crystallite drawn inside the
    interphase (bulk Li excluded), replayed from the realization's stream: the truth's
    ``crystallite_diameter_nm`` bounds the uniform draw, but a percentile of a sample
    never reaches the bounds (3.2 / 4.8 nm for 3-5 nm), and a thin layer's cells clip
    diameters further.
    """
    cfg = truth["hrtem"]
    thicknesses, diameters = [], []
    for region in regions(truth, fringe_references(cfg)):
        b = region.boundaries_nm
        thicknesses.append(np.diff(b))
        diameters += [c.diameter_nm for c in region.crystals if b[0] < c.col_nm < b[-1]]
    means = np.mean(thicknesses, axis=0)
    low, high = np.percentile(diameters, SIZE_PERCENTILES)
    return {
        "hrtem.regions": int(cfg["regions"]),
        "hrtem.layer_li_li2o_nm": float(means[0]),
        "hrtem.layer_li_li2o_li3n_nm": float(means[1]),
        "hrtem.layer_li2o_li3n_li3po4_nm": float(means[2]),
        "hrtem.interphase_nm": float(means.sum()),
        "hrtem.crystallite_min_nm": float(low),
        "hrtem.crystallite_max_nm": float(high),
    }

"""HRTEM nanostructure: local FFT phase identification and layer thicknesses (Fig 2, 6).

Method (stated in the supplement's methods):

1. *Local spectra.* A Hann-windowed square window (``window_px``) slides along the
   depth of each image in steps of ``step_px``; at each depth the power spectra of
   half-overlapping windows across the image are averaged and reduced to a radial profile.
2. *Phase weights.* Each radial profile is fitted by non-negative least squares with
   one template per phase (Gaussian rings at all of its reference reflections, from
   :mod:`analysis.crystallography`) plus smooth broad terms for the amorphous
   background.  Fitting all of a phase's reflections together separates phases whose
   single reflections overlap (Li (110) / Li3N (101), Li2O (111) / Li3PO4 (210),
   Li3N (001) / Li3PO4 (101), (110)); the supplement lists those pairs.
3. *Layers.* Layer boundaries cannot cut through crystallites, so they are looked for
   in the crystal-free gaps between columns of crystallites, seen as minima of the
   fringe occupancy (step 4's energy) averaged along the interface.  Each column's
   composition is measured on its own (step 2 on that column alone); the sequence of
   columns is cut into bulk Li and three layers where the composition changes, by an
   exhaustive search for the least within-layer variance.  The boundaries are the gaps
   at the cuts; the interphase ends half a column spacing beyond its last column.
   Layer thicknesses are the distances between consecutive boundaries.
4. *Crystallites.* Lattice fringes are isolated by a band-pass filter over the
   reference frequencies; their local energy, smoothed, is thresholded at the midpoint
   (on a log scale) between the amorphous level (LiPON side) and the crystalline level;
   connected regions inside the interphase give area-equivalent diameters, summarized by
   their 10th and 90th percentiles.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis import crystallography, em_io
from paperbuild.errors import InputError
from paperbuild.numbers import Number, count, quantity

REGIONS = "hrtem/region_*.tif"
PHASES = crystallography.INTERPHASE_PHASES


@dataclass(frozen=True)
class LocalSpectra:
    depth_nm: np.ndarray     # window centres along the depth
    q_per_A: np.ndarray      # radial frequency axis
    power: np.ndarray        # (depth, q)


@dataclass(frozen=True)
class Layers:
    boundaries_nm: np.ndarray   # four boundaries: interphase start, two inner, interphase end
    spacing_nm: float           # distance between columns of crystallites
    levels: np.ndarray          # (phase, layer) mean composition: bulk Li, then the three layers

    @property
    def thicknesses_nm(self) -> np.ndarray:
        return np.diff(self.boundaries_nm)


# ------------------------------------------------------------------ local spectra
def _radial_matrix(window_px: int) -> tuple[np.ndarray, np.ndarray]:
    fy = np.fft.fftfreq(window_px)[:, None] * window_px
    fx = np.fft.rfftfreq(window_px)[None, :] * window_px
    radius = np.rint(np.hypot(fy, fx)).astype(int).ravel()
    bins = window_px // 2
    matrix = np.zeros((radius.size, bins))
    keep = radius < bins
    matrix[np.flatnonzero(keep), radius[keep]] = 1.0
    matrix /= np.maximum(matrix.sum(axis=0), 1)
    return matrix, np.arange(bins)


def local_spectra(image: np.ndarray, pixel_A: float, window_px: int = 128, step_px: int = 8) -> LocalSpectra:
    """Radially averaged power spectra of windows sliding along the columns (depth)."""
    rows, cols = image.shape
    if rows < window_px or cols < window_px:
        raise ValueError(f"image {image.shape} is smaller than the {window_px}-pixel window")
    image = image.astype(float) - image.mean()
    hann = np.outer(np.hanning(window_px), np.hanning(window_px))
    radial, k = _radial_matrix(window_px)
    # half-overlapping tiles across the image (as in Welch's method), so the Hann taper
    # weights every part of the interface alike
    row_starts = np.unique(np.r_[np.arange(0, rows - window_px + 1, window_px // 2), rows - window_px])
    col_starts = np.arange(0, cols - window_px + 1, step_px)
    power = np.empty((col_starts.size, k.size))
    for i, c in enumerate(col_starts):
        tiles = np.stack([image[r:r + window_px, c:c + window_px] for r in row_starts]) * hann
        spectra = np.abs(np.fft.rfft2(tiles)) ** 2
        power[i] = spectra.reshape(len(row_starts), -1).mean(axis=0) @ radial
    depth_nm = (col_starts + window_px / 2) * pixel_A / 10
    return LocalSpectra(depth_nm, k / (window_px * pixel_A), power)


# ------------------------------------------------------------------ phase weights
def templates(q: np.ndarray, refs: list[crystallography.Reflection], sigma: float, damping_A: float) -> np.ndarray:
    """(q, phase) ring templates: a Gaussian ring per reference reflection.

    A reflection's spots carry the same power whatever their radius, but a radial
    average spreads them over a circle, so a ring's height falls as 1/q; the
    microscope's transfer damps high frequencies by a Gaussian envelope (power
    exp(-2 (q * damping_A)**2)).
    """
    out = np.zeros((q.size, len(PHASES)))
    for ref in refs:
        height = np.exp(-2 * (ref.q_per_A * damping_A) ** 2) / ref.q_per_A
        out[:, PHASES.index(ref.phase)] += height * np.exp(-0.5 * ((q - ref.q_per_A) / sigma) ** 2)
    return out


def background_basis(q: np.ndarray) -> np.ndarray:
    centres = np.arange(0.0, q.max() + 0.1, 0.05)
    return np.column_stack([np.ones_like(q)] + [np.exp(-0.5 * ((q - c) / 0.06) ** 2) for c in centres])


def phase_weights(spectra: LocalSpectra, refs, q_range=(0.18, 0.66)) -> tuple[np.ndarray, float, float]:
    """Non-negative phase weight per depth (depth, phase), the ring width and the damping used.

    Ring width and damping are the pair (of a grid) that fits the depth-summed
    spectrum best.
    """
    from scipy.optimize import nnls

    keep = (spectra.q_per_A >= q_range[0]) & (spectra.q_per_A <= q_range[1])
    q, power = spectra.q_per_A[keep], spectra.power[:, keep]
    scale = np.median(power)
    background = background_basis(q)
    best = None
    total = power.sum(axis=0) / scale
    for sigma in np.arange(0.004, 0.0245, 0.002):
        for damping in np.arange(0.0, 2.01, 0.2):
            basis = np.column_stack([templates(q, refs, sigma, damping), background])
            residual = nnls(basis, total)[1]
            if best is None or residual < best[0]:
                best = (residual, float(sigma), float(damping))
    _, sigma, damping = best
    basis = np.column_stack([templates(q, refs, sigma, damping), background])
    weights = np.array([nnls(basis, row / scale)[0][: len(PHASES)] for row in power])
    return weights, sigma, damping


# ------------------------------------------------------------------ layers
def columns(depth_nm: np.ndarray, occupancy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the columns of crystallites and the gaps between them (nm).

    Extremes of the depth profile of fringe occupancy, located below the sampling step
    by a parabola through three samples.
    """
    from scipy.signal import find_peaks

    span = np.percentile(occupancy, 95) - np.percentile(occupancy, 5)

    def vertices(indices: np.ndarray) -> np.ndarray:
        out = []
        for i in indices:
            a, b, c = occupancy[i - 1: i + 2] if 0 < i < occupancy.size - 1 else (0.0, 1.0, 0.0)
            denominator = a - 2 * b + c
            offset = 0.5 * (a - c) / denominator if denominator else 0.0
            out.append(depth_nm[i] + offset * (depth_nm[1] - depth_nm[0]))
        return np.asarray(out)

    centres = vertices(find_peaks(occupancy, prominence=0.15 * span)[0])
    gaps = vertices(find_peaks(-occupancy, prominence=0.15 * span)[0])
    return centres, gaps


def layer_edges(centres: np.ndarray, gaps: np.ndarray, cuts: list[int]) -> np.ndarray:
    """Boundaries from the columns of each layer: half a column spacing past the last
    column of one layer, and half a spacing before the first column of the next,
    averaged; the interphase ends half a spacing past its last column.  A layer of a
    single column has no spacing of its own; there the gap between columns is used.
    """
    runs = np.split(centres, cuts)
    half = [0.5 * float(np.median(np.diff(run))) if run.size >= 2 else None for run in runs]
    edges = []
    for k in range(len(cuts)):
        estimates = []
        if half[k] is not None:
            estimates.append(runs[k][-1] + half[k])
        if half[k + 1] is not None:
            estimates.append(runs[k + 1][0] - half[k + 1])
        if not estimates:
            between = gaps[(gaps > runs[k][-1]) & (gaps < runs[k + 1][0])]
            estimates.append(float(between[0]) if between.size else 0.5 * (runs[k][-1] + runs[k + 1][0]))
        edges.append(float(np.mean(estimates)))
    last = runs[-1]
    if half[-1] is None:
        raise ValueError("the last layer shows a single column of crystallites; its end cannot be placed")
    edges.append(float(last[-1] + half[-1]))
    return np.asarray(edges)


def column_weights(image: np.ndarray, pixel_A: float, centres_nm: np.ndarray, spacing_nm: float, refs,
                   sigma: float, damping_A: float) -> np.ndarray:
    """Phase weights (column, phase) of each column of crystallites on its own."""
    from scipy.optimize import nnls

    width = 2 * int(round(spacing_nm * 10 / pixel_A / 2))
    rows = image.shape[0]
    hann = np.outer(np.hanning(width), np.hanning(width))
    radial, k = _radial_matrix(width)
    q = k / (width * pixel_A)
    keep = (q >= 0.18) & (q <= 0.66)
    basis = np.column_stack([templates(q[keep], refs, sigma, damping_A), background_basis(q[keep])])
    row_starts = np.unique(np.r_[np.arange(0, rows - width + 1, width // 2), rows - width])
    out = []
    for centre in centres_nm:
        c0 = int(round(centre * 10 / pixel_A)) - width // 2
        c0 = min(max(c0, 0), image.shape[1] - width)
        tiles = np.stack([image[r:r + width, c0:c0 + width] for r in row_starts])
        tiles = (tiles - tiles.mean(axis=(1, 2), keepdims=True)) * hann
        power = (np.abs(np.fft.rfft2(tiles)) ** 2).reshape(len(row_starts), -1).mean(axis=0) @ radial
        out.append(nnls(basis, power[keep] / np.median(power[keep]))[0][: len(PHASES)])
    return np.asarray(out)


def cut_layers(compositions: np.ndarray, n_layers: int = 4) -> list[int]:
    """Split a sequence of column compositions into ``n_layers`` runs of constant mean.

    Exhaustive search over the cut positions for the least within-run sum of squares
    (each phase scaled to its largest column weight); returns the index of the first
    column of each run after the first.
    """
    from itertools import combinations

    scaled = compositions / np.maximum(compositions.max(axis=0), 1e-12)
    n = len(scaled)
    if n < n_layers:
        raise ValueError(f"{n} columns of crystallites cannot form {n_layers} layers")
    prefix = np.vstack([np.zeros(scaled.shape[1]), np.cumsum(scaled, axis=0)])
    prefix2 = np.concatenate([[0.0], np.cumsum((scaled ** 2).sum(axis=1))])

    def sse(a: int, b: int) -> float:  # within-run sum of squares of columns a..b-1
        total = prefix[b] - prefix[a]
        return prefix2[b] - prefix2[a] - float(total @ total) / (b - a)

    best = min(combinations(range(1, n), n_layers - 1),
               key=lambda cuts: sum(sse(a, b) for a, b in zip((0, *cuts), (*cuts, n))))
    return list(best)


# ------------------------------------------------------------------ crystallites
def fringe_energy(image: np.ndarray, pixel_A: float, q_band: tuple[float, float], smooth_A: float = 3.0) -> np.ndarray:
    """Local energy of the lattice fringes: band-pass over the reference frequencies, squared, smoothed."""
    from scipy import ndimage

    rows, cols = image.shape
    fy, fx = np.fft.fftfreq(rows)[:, None], np.fft.rfftfreq(cols)[None, :]
    q = np.hypot(fy, fx) / pixel_A
    lo, hi = q_band
    band = 0.5 * (np.tanh((q - lo) / 0.01) - np.tanh((q - hi) / 0.01))
    filtered = np.fft.irfft2(np.fft.rfft2(image - image.mean()) * band, s=image.shape)
    return ndimage.gaussian_filter(filtered ** 2, smooth_A / pixel_A)


def crystallite_diameters(energy: np.ndarray, pixel_A: float, interphase_cols: tuple[int, int],
                          amorphous_cols: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Area-equivalent diameters (nm) of crystallites inside the interphase, and the mask."""
    from scipy import ndimage

    amorphous = np.median(energy[:, amorphous_cols[0]:amorphous_cols[1]])
    inside = energy[:, interphase_cols[0]:interphase_cols[1]]
    crystalline = np.percentile(inside, 90)
    if crystalline <= amorphous:
        raise ValueError("no lattice fringes stand out from the amorphous background")
    threshold = np.sqrt(amorphous * crystalline)
    mask = np.zeros(energy.shape, bool)
    mask[:, interphase_cols[0]:interphase_cols[1]] = inside > threshold
    labels, n = ndimage.label(mask)
    if n == 0:
        return np.array([]), mask
    areas = ndimage.sum_labels(np.ones_like(labels), labels, index=np.arange(1, n + 1))
    slices = ndimage.find_objects(labels)
    rows, cols = mask.shape
    keep = []
    for area, sl in zip(areas, slices):
        touches = sl[0].start == 0 or sl[0].stop == rows or sl[1].start == interphase_cols[0] \
            or sl[1].stop == interphase_cols[1]
        if not touches and area * (pixel_A / 10) ** 2 >= np.pi:  # ignore specks under 2 nm across
            keep.append(area)
    return 2 * np.sqrt(np.asarray(keep) / np.pi) * pixel_A / 10, mask


# ------------------------------------------------------------------ edge
def _region_files(raw: Path, expected: int) -> list[Path]:
    paths = sorted(raw.glob(REGIONS), key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
    if len(paths) != expected:
        raise InputError(raw / REGIONS, f"found {len(paths)} HRTEM region image(s); the analysis expects {expected}")
    return paths


def _read_region(path: Path, refs) -> tuple[np.ndarray, float]:
    signal = em_io.load(path)
    if signal.data.ndim != 2:
        raise InputError(path, f"expected a 2D image, found {signal.data.ndim} dimensions")
    pixel_A = em_io.pixel_size_nm(signal, path) * 10
    too_fine = crystallography.unresolved(refs, pixel_A)
    if too_fine:
        names = ", ".join(f"{r.label} at {r.d_A:.2f} Å" for r in too_fine)
        raise InputError(path, f"pixel size {pixel_A:.2f} Å cannot resolve {names} (needs d >= 2 pixels)")
    return np.asarray(signal.data, dtype=float), pixel_A


def fringe_band(refs) -> tuple[float, float]:
    """Frequencies that hold every reference reflection, with a margin for ring width."""
    return min(r.q_per_A for r in refs) - 0.03, max(r.q_per_A for r in refs) + 0.03


def analyse_region(image: np.ndarray, pixel_A: float, refs, window_px: int, step_px: int):
    """Local spectra and phase weights along the depth, then layers from column compositions."""
    spectra = local_spectra(image, pixel_A, window_px, step_px)
    weights, sigma, damping = phase_weights(spectra, refs)
    energy = fringe_energy(image, pixel_A, fringe_band(refs))
    depth = (np.arange(image.shape[1]) + 0.5) * pixel_A / 10
    centres, gaps = columns(depth, np.log(energy).mean(axis=0))
    crystalline = weights.sum(axis=1) > 0.25 * np.percentile(weights.sum(axis=1), 95)
    last_depth = spectra.depth_nm[np.flatnonzero(crystalline)[-1]] + window_px * pixel_A / 20
    centres = centres[centres < last_depth]
    if centres.size < 5:
        raise ValueError(f"found {centres.size} columns of crystallites; layers need at least 5")
    spacing = float(np.median(np.diff(centres)))
    compositions = column_weights(image, pixel_A, centres, spacing, refs, sigma, damping)
    cuts = cut_layers(compositions)
    boundaries = layer_edges(centres, gaps, cuts)
    runs = np.split(compositions / np.maximum(compositions.max(axis=0), 1e-12), cuts)
    levels = np.array([run.mean(axis=0) for run in runs]).T  # (phase, layer): bulk Li, layers 1-3
    return spectra, weights, sigma, Layers(boundaries, spacing, levels), energy


def run(raw: Path, out: Path, expected_regions: int = 10, window_px: int = 128, step_px: int = 8) -> list[Number]:
    """Layer thicknesses per region, their means and ranges, and crystallite sizes."""
    refs = crystallography.reflections()
    paths = _region_files(raw, expected_regions)
    (out / "data").mkdir(parents=True, exist_ok=True)
    thickness_rows, diameters, profiles = [], [], {}
    for index, path in enumerate(paths, start=1):
        print(f"    hrtem: region {index}/{len(paths)} ({path.name})", flush=True)
        image, pixel_A = _read_region(path, refs)
        try:
            spectra, weights, sigma, layers, energy = analyse_region(image, pixel_A, refs, window_px, step_px)
        except ValueError as err:
            raise InputError(path, f"cannot segment the layers: {err}") from None
        thickness_rows.append([index, *layers.boundaries_nm, *layers.thicknesses_nm, layers.spacing_nm, sigma])
        to_col = lambda nm: int(np.clip(round(nm * 10 / pixel_A), 0, image.shape[1]))
        b = layers.boundaries_nm
        found, mask = crystallite_diameters(energy, pixel_A, (to_col(b[0]), to_col(b[3])),
                                            (to_col(b[3] + 8.0), image.shape[1]))
        diameters.extend(found)
        profiles[index] = (spectra.depth_nm, weights / np.percentile(weights, 95, axis=0), layers.levels)
        if index == 1:
            np.savez_compressed(out / "data/hrtem_region1.npz", image=image.astype(np.float32), pixel_A=pixel_A,
                                mask=mask, boundaries_nm=b, q_per_A=spectra.q_per_A, power=spectra.power,
                                depth_nm=spectra.depth_nm)
    table = np.asarray(thickness_rows)
    np.savetxt(out / "data/hrtem_layers.csv", table, delimiter=",", comments="", fmt="%.6g",
               header="region,b0_nm,b1_nm,b2_nm,b3_nm,layer1_nm,layer2_nm,layer3_nm,column_spacing_nm,ring_sigma_per_A")
    depth = np.concatenate([profiles[i][0] for i in profiles])
    np.savetxt(out / "data/hrtem_phase_profiles.csv",
               np.column_stack([np.repeat(list(profiles), [profiles[i][0].size for i in profiles]), depth,
                                np.vstack([profiles[i][1] for i in profiles])]),
               delimiter=",", comments="", fmt="%.5g", header="region,depth_nm," + ",".join(PHASES))
    levels = np.mean([profiles[i][2] for i in profiles], axis=0)
    np.savetxt(out / "data/hrtem_layer_composition.csv", np.column_stack([np.arange(4), levels.T]), delimiter=",",
               comments="", fmt="%.4g", header="layer," + ",".join(PHASES))
    np.savetxt(out / "data/hrtem_crystallites.csv", np.asarray(diameters), comments="", fmt="%.4g",
               header="diameter_nm")
    _write_reflection_table(out / "tables/hrtem_reflections.md", refs, pixel_A, window_px)
    with open(out / "data/hrtem_reference_rings.csv", "w", encoding="utf-8") as handle:
        handle.write("label,d_A\n" + "".join(f"{r.label},{r.d_A:.5f}\n" for r in refs))
    if len(diameters) < 10:
        raise InputError(raw / REGIONS, f"only {len(diameters)} crystallites segmented; sizes need at least 10")
    means = table[:, 5:8].mean(axis=0)
    np.savetxt(out / "data/hrtem_layer_summary.csv",
               np.column_stack([np.arange(1, 4), means, table[:, 5:8].min(axis=0), table[:, 5:8].max(axis=0)]),
               delimiter=",", comments="", fmt="%.5g", header="layer,mean_nm,min_nm,max_nm")
    return [
        count("hrtem.regions", len(paths)),
        quantity("hrtem.layer_li_li2o_nm", means[0], "nm", 1),
        quantity("hrtem.layer_li_li2o_li3n_nm", means[1], "nm", 1),
        quantity("hrtem.layer_li2o_li3n_li3po4_nm", means[2], "nm", 1),
        quantity("hrtem.interphase_nm", means.sum(), "nm", 1),
        quantity("hrtem.crystallite_min_nm", np.percentile(diameters, 10), "nm", 1),
        quantity("hrtem.crystallite_max_nm", np.percentile(diameters, 90), "nm", 1),
    ]


def _write_reflection_table(path: Path, refs, pixel_A: float, window_px: int) -> None:
    """The reference reflections and the pairs a local FFT cannot tell apart."""
    resolution = 1.0 / (window_px * pixel_A)
    pairs = crystallography.ambiguous_pairs(refs, 2 * resolution)
    partners = {r.label: [] for r in refs}
    for a, b in pairs:
        partners[a.label].append(b.label)
        partners[b.label].append(a.label)
    lines = ["| Phase | Reflection | d (Å) | 1/d (1/Å) | Within FFT resolution of |", "|---|---|---:|---:|---|"]
    for r in refs:
        hkl = "".join(str(i) for i in r.hkl)
        lines.append(f"| {r.phase} | ({hkl}) | {r.d_A:.3f} | {r.q_per_A:.3f} | {', '.join(partners[r.label]) or '-'} |")
    lines.append("")
    lines.append(f"Pairs are closer than twice the frequency step of a {window_px}-pixel window "
                 f"({2 * resolution:.4f} 1/Å at {pixel_A:.2f} Å per pixel).")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

"""HRTEM nanostructure: local FFT phase identification and layer thicknesses (Fig 2, 6).

Method (stated in the supplement's methods; every choice below is a parameter of the
``hrtem`` step in :mod:`analysis.registry`):

1. *Local spectra.* A Hann-windowed square window (``window_px``) slides along the
   depth of each image in steps of ``step_px``; at each depth the power spectra of
   half-overlapping windows across the image are averaged and reduced to a radial profile.
2. *Phase weights.* Each radial profile is fitted over ``q_range_inv_A`` by non-negative
   least squares with one template per phase (Gaussian rings at all of its reference
   reflections, from :mod:`analysis.crystallography`) plus smooth broad terms for the
   amorphous background.  Fitting all of a phase's reflections together separates phases
   whose single reflections overlap (Li (110) / Li3N (101), Li2O (111) / Li3PO4 (210),
   Li3N (001) / Li3PO4 (101), (110)); the supplement lists those pairs.
3. *Layers.* Layer boundaries cannot cut through crystallites, so they are looked for
   in the crystal-free gaps between columns of crystallites, seen as minima of the
   fringe occupancy (step 4's energy) averaged along the interface.  Each column's
   composition is measured on its own (step 2 on that column alone, with a ring shape
   fitted to the column windows); the sequence of columns is cut into bulk Li and three
   layers where the composition changes, by an exhaustive search for the most likely
   runs (each with its own mean and spread) of the columns' square-root phase
   fractions (a layer is a mix of phases; on that scale a single large crystallite
   does not outweigh a phase's presence).  The boundaries are the gaps at the cuts;
   the interphase ends half a column spacing beyond its last column.
   Layer thicknesses are the distances between consecutive boundaries.
4. *Crystallites.* Lattice fringes are isolated by a band-pass filter over the
   reference frequencies; their local energy, smoothed, is thresholded at the midpoint
   (on a log scale) between the amorphous level (LiPON side) and the crystalline level
   to find the crystallites; each one's extent is read where its own energy falls
   half-way to the amorphous level, so dim and bright crystallites are measured alike;
   area-equivalent diameters inside the interphase are summarized by two percentiles.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis import crystallography, datatable, em_io
from analysis.crystallography import Reflection
from paperbuild import scheduler
from paperbuild.errors import InputError
from paperbuild.numbers import Number, count, quantity

PHASES = crystallography.INTERPHASE_PHASES
LAYERS = 3              # the interphase layers the paper reports (its numbers name them)
RUNS = LAYERS + 1       # column runs: bulk Li, then the layers
FIGURE_REGION = 1       # the region Fig 2 shows; the declared output ``region1`` is named for it


@dataclass(frozen=True)
class Method:
    """The method choices applied to every region (the ``hrtem`` step's parameters).

    Frequencies are in 1/Å, lengths in the unit their name ends with.
    """

    window_px: int
    step_px: int
    q_range_inv_A: tuple[float, float]
    ring_sigmas_inv_A: np.ndarray        # candidate ring widths
    dampings_A: np.ndarray               # candidate envelope widths
    background_spacing_inv_A: float
    background_width_inv_A: float
    column_prominence: float
    layer_variance_floor: float
    crystalline_fraction: float
    fringe_band_margin_inv_A: float
    band_edge_inv_A: float
    fringe_smoothing_A: float
    crystalline_percentile: float
    amorphous_offset_nm: float
    min_crystallite_nm: float
    crystallite_edge_level: float
    crystallite_edge_reach_A: float

    @classmethod
    def build(cls, *, window_px: int, step_px: int, q_range_inv_A: tuple[float, float],
              ring_sigma_range_inv_A: tuple[float, float], ring_sigma_step_inv_A: float,
              damping_range_A: tuple[float, float], damping_step_A: float, background_spacing_inv_A: float,
              background_width_inv_A: float, column_prominence: float, layer_variance_floor: float,
              crystalline_fraction: float, fringe_band_margin_inv_A: float, band_edge_inv_A: float, fringe_smoothing_A: float,
              crystalline_percentile: float, amorphous_offset_nm: float, min_crystallite_nm: float,
              crystallite_edge_level: float, crystallite_edge_reach_A: float) -> "Method":
        """The method from the step's parameters, candidate grids expanded (:func:`grid`).

        One object carries the choices through the per-region analysis, so each pure
        function still receives every choice it uses explicitly.

        Parameters
        ----------
        window_px, step_px, q_range_inv_A, ring_sigma_range_inv_A, ring_sigma_step_inv_A, \
        damping_range_A, damping_step_A, background_spacing_inv_A, background_width_inv_A, \
        column_prominence, layer_variance_floor, crystalline_fraction, fringe_band_margin_inv_A, \
        band_edge_inv_A, fringe_smoothing_A, crystalline_percentile, amorphous_offset_nm, min_crystallite_nm, \
        crystallite_edge_level, crystallite_edge_reach_A
            The ``hrtem`` step's parameters of the same names (see :func:`run`).

        Returns
        -------
        Method
        """
        return cls(window_px, step_px, tuple(q_range_inv_A),
                   grid(ring_sigma_range_inv_A, ring_sigma_step_inv_A), grid(damping_range_A, damping_step_A),
                   background_spacing_inv_A, background_width_inv_A, column_prominence, layer_variance_floor,
                   crystalline_fraction,
                   fringe_band_margin_inv_A, band_edge_inv_A, fringe_smoothing_A, crystalline_percentile,
                   amorphous_offset_nm, min_crystallite_nm, crystallite_edge_level, crystallite_edge_reach_A)


@dataclass(frozen=True)
class LocalSpectra:
    """Radially averaged local power spectra along the depth of one image."""

    depth_nm: np.ndarray     # window centres along the depth
    q_per_A: np.ndarray      # radial frequency axis
    power: np.ndarray        # (depth, q)


@dataclass(frozen=True)
class Layers:
    """Where one region's layers lie, and what they hold."""

    boundaries_nm: np.ndarray   # four boundaries: interphase start, two inner, interphase end
    spacing_nm: float           # distance between columns of crystallites
    levels: np.ndarray          # (phase, layer) mean composition: bulk Li, then the three layers

    @property
    def thicknesses_nm(self) -> np.ndarray:
        """Thickness of each layer: distance between consecutive boundaries."""
        return np.diff(self.boundaries_nm)


@dataclass(frozen=True)
class PhaseFit:
    """Phase weights along the depth and the ring shape that fits the image best."""

    weights: np.ndarray      # (depth, phase), non-negative
    sigma_inv_A: float       # ring width
    damping_A: float         # envelope width


@dataclass(frozen=True)
class RegionResult:
    """Everything one region's analysis yields."""

    spectra: LocalSpectra
    fit: PhaseFit
    layers: Layers
    energy: np.ndarray               # local fringe energy, image-shaped
    diameters_nm: np.ndarray         # crystallites inside the interphase
    mask: np.ndarray                 # segmented crystallites, image-shaped


@dataclass(frozen=True)
class Summary:
    """The quoted results over all regions."""

    layer_means_nm: np.ndarray       # per layer
    layer_min_nm: np.ndarray
    layer_max_nm: np.ndarray
    crystallite_range_nm: tuple[float, float]


def grid(bounds: tuple[float, float], step: float) -> np.ndarray:
    """Evenly spaced candidates from ``bounds[0]`` to ``bounds[1]`` inclusive.

    Parameters
    ----------
    bounds
        First and last candidate.
    step
        Spacing of the candidates.

    Returns
    -------
    numpy.ndarray
        ``bounds[0] + i * step`` up to ``bounds[1]`` (half a step of slack absorbs rounding).
    """
    return np.arange(bounds[0], bounds[1] + step / 2, step)


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


def local_spectra(image: np.ndarray, pixel_A: float, window_px: int, step_px: int) -> LocalSpectra:
    """Radially averaged power spectra of windows sliding along the columns (depth).

    Parameters
    ----------
    image
        The micrograph, depth along the columns (Li on the left, LiPON on the right).
    pixel_A
        Pixel size (Å).
    window_px
        Side of the square window: several fringe periods of every phase, yet thinner
        than a layer.
    step_px
        Depth step of the window.

    Returns
    -------
    LocalSpectra
        One radial profile per depth.

    Raises
    ------
    ValueError
        The image is smaller than the window.
    """
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
def templates(q: np.ndarray, refs: Sequence[Reflection], sigma: float, damping_A: float) -> np.ndarray:
    """(q, phase) ring templates: a Gaussian ring per reference reflection.

    A reflection's spots carry the same power whatever their radius, but a radial
    average spreads them over a circle, so a ring's height falls as 1/q; the
    microscope's transfer damps high frequencies by a Gaussian envelope (power
    exp(-2 (q * damping_A)**2)).

    Parameters
    ----------
    q
        Radial frequencies (1/Å).
    refs
        Reference reflections of the phases in :data:`PHASES`.
    sigma
        Ring width (1/Å).
    damping_A
        Envelope width (Å).

    Returns
    -------
    numpy.ndarray
        One column per phase of :data:`PHASES`.
    """
    out = np.zeros((q.size, len(PHASES)))
    for ref in refs:
        height = np.exp(-2 * (ref.q_per_A * damping_A) ** 2) / ref.q_per_A
        out[:, PHASES.index(ref.phase)] += height * np.exp(-0.5 * ((q - ref.q_per_A) / sigma) ** 2)
    return out


def background_basis(q: np.ndarray, spacing_inv_A: float, width_inv_A: float) -> np.ndarray:
    """Constant plus broad Gaussians: the amorphous background, too smooth to mimic a ring.

    Parameters
    ----------
    q
        Radial frequencies (1/Å).
    spacing_inv_A
        Spacing of the Gaussians' centres, from 0 to two spacings past the largest ``q``.
    width_inv_A
        Their width, several ring widths so that they cannot absorb a ring.

    Returns
    -------
    numpy.ndarray
        (q, term) basis.
    """
    centres = np.arange(0.0, q.max() + 2 * spacing_inv_A, spacing_inv_A)
    return np.column_stack([np.ones_like(q)] + [np.exp(-0.5 * ((q - c) / width_inv_A) ** 2) for c in centres])


def _in_range(q: np.ndarray, q_range: tuple[float, float]) -> np.ndarray:
    return (q >= q_range[0]) & (q <= q_range[1])


def nonnegative_fit(basis: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    """Non-negative least squares that always returns the optimum, however ill-conditioned the basis.

    The broad background terms overlap each other and the rings, so the basis can be
    ill-conditioned (condition numbers of 10⁶ occur); then the Lawson-Hanson active-set
    iteration of :func:`scipy.optimize.nnls` can exceed its default limit of three
    iterations per unknown and raise.  Columns are scaled to unit norm first (the
    problem and its optimum are unchanged, the conditioning improves), the limit is
    raised well past what a converging fit needs, and should the active set still not
    settle, bounded-variable least squares (:func:`scipy.optimize.lsq_linear`, ``bvls``)
    solves the same convex problem.

    Parameters
    ----------
    basis
        (sample, term) matrix.
    target
        The samples fitted.

    Returns
    -------
    weights, residual
        Non-negative weights of the terms and the residual norm ``|basis @ weights - target|``.
    """
    from scipy.optimize import lsq_linear, nnls

    norms = np.linalg.norm(basis, axis=0)
    norms[norms == 0] = 1.0
    scaled = basis / norms
    try:
        x = nnls(scaled, target, maxiter=100 * basis.shape[1])[0]
    except RuntimeError:
        x = lsq_linear(scaled, target, bounds=(0.0, np.inf), method="bvls").x
    weights = x / norms
    return weights, float(np.linalg.norm(basis @ weights - target))


def phase_weights(spectra: LocalSpectra, refs: Sequence[Reflection], method: Method) -> PhaseFit:
    """Non-negative phase weights per depth, with the ring shape fitted to the whole image.

    Ring width and damping are the pair (of the method's candidate grids) that fits the
    depth-summed spectrum best: one shape per image, so that the depth-resolved fits only
    decide how much of each phase there is.

    Parameters
    ----------
    spectra
        Local spectra of the image.
    refs
        Reference reflections.
    method
        Uses ``q_range_inv_A``, the two candidate grids and the background basis.

    Returns
    -------
    PhaseFit
        Weights (depth, phase) and the chosen ring shape.
    """
    keep = _in_range(spectra.q_per_A, method.q_range_inv_A)
    q, power = spectra.q_per_A[keep], spectra.power[:, keep]
    scale = np.median(power)
    sigma, damping = best_ring_shape(q, power.sum(axis=0) / scale, refs, method)
    basis = np.column_stack([templates(q, refs, sigma, damping),
                             background_basis(q, method.background_spacing_inv_A, method.background_width_inv_A)])
    weights = np.array([nonnegative_fit(basis, row / scale)[0][: len(PHASES)] for row in power])
    return PhaseFit(weights, sigma, damping)


# ------------------------------------------------------------------ layers
def columns(depth_nm: np.ndarray, occupancy: np.ndarray, prominence: float) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the columns of crystallites and the gaps between them (nm).

    Extremes of the depth profile of fringe occupancy, located below the sampling step
    by a parabola through three samples.

    Parameters
    ----------
    depth_nm
        Evenly spaced depths of the profile.
    occupancy
        Fringe occupancy (log fringe energy averaged along the interface).
    prominence
        Least prominence of an extreme, as a fraction of the profile's 5-95 percentile
        span, so that noise between crystallites does not count as a column.

    Returns
    -------
    centres, gaps
        Depths (nm) of the maxima and of the minima.
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

    centres = vertices(find_peaks(occupancy, prominence=prominence * span)[0])
    gaps = vertices(find_peaks(-occupancy, prominence=prominence * span)[0])
    return centres, gaps


def layer_edges(centres: np.ndarray, gaps: np.ndarray, cuts: Sequence[int]) -> np.ndarray:
    """Boundaries between runs of columns, and the end of the last run.

    A boundary lies half a column spacing past the last column of one layer and half a
    spacing before the first column of the next (the two estimates averaged), because a
    boundary cannot cut a crystallite; the interphase ends half a spacing past its last
    column.  A layer of a single column has no spacing of its own; there the gap between
    columns is used.

    Parameters
    ----------
    centres
        Column centres (nm), increasing.
    gaps
        Gaps between columns (nm).
    cuts
        Index of the first column of each run after the first (:func:`cut_layers`).

    Returns
    -------
    numpy.ndarray
        One boundary per cut, then the end of the last run (nm).

    Raises
    ------
    ValueError
        The last run has a single column, so its end cannot be placed.
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


def best_ring_shape(q: np.ndarray, spectrum: np.ndarray, refs: Sequence[Reflection],
                    method: Method) -> tuple[float, float]:
    """The ring width and damping (of the method's candidate grids) that fit a spectrum best.

    Parameters
    ----------
    q
        Radial frequencies (1/Å), inside the fitted range.
    spectrum
        The radial power at ``q``.
    refs
        Reference reflections.
    method
        Uses the two candidate grids and the background basis.

    Returns
    -------
    sigma_inv_A, damping_A
    """
    background = background_basis(q, method.background_spacing_inv_A, method.background_width_inv_A)
    best = None
    for sigma in method.ring_sigmas_inv_A:
        for damping in method.dampings_A:
            residual = nonnegative_fit(np.column_stack([templates(q, refs, sigma, damping), background]),
                                       spectrum)[1]
            if best is None or residual < best[0]:
                best = (residual, float(sigma), float(damping))
    return best[1], best[2]


def column_weights(image: np.ndarray, pixel_A: float, centres_nm: np.ndarray, spacing_nm: float,
                   refs: Sequence[Reflection], method: Method) -> np.ndarray:
    """Phase weights (column, phase) of each column of crystallites on its own.

    The window is one column spacing wide, so each column's composition is measured
    without its neighbours'.  A window that narrow broadens the rings more than the
    wider depth windows of :func:`phase_weights` do, so the ring shape is fitted anew to
    the sum of the column spectra (:func:`best_ring_shape`); templates narrower than the
    rings would let one phase's ring be taken for its neighbour's.

    Parameters
    ----------
    image
        The micrograph.
    pixel_A
        Its pixel size (Å).
    centres_nm
        Column centres.
    spacing_nm
        Column spacing: the window's width.
    refs
        Reference reflections.
    method
        Uses ``q_range_inv_A``, the candidate ring shapes and the background basis.

    Returns
    -------
    numpy.ndarray
        (column, phase) non-negative weights.
    """
    width = 2 * int(round(spacing_nm * 10 / pixel_A / 2))
    rows = image.shape[0]
    hann = np.outer(np.hanning(width), np.hanning(width))
    radial, k = _radial_matrix(width)
    q = k / (width * pixel_A)
    keep = _in_range(q, method.q_range_inv_A)
    row_starts = np.unique(np.r_[np.arange(0, rows - width + 1, width // 2), rows - width])
    spectra = []
    for centre in centres_nm:
        c0 = int(round(centre * 10 / pixel_A)) - width // 2
        c0 = min(max(c0, 0), image.shape[1] - width)
        tiles = np.stack([image[r:r + width, c0:c0 + width] for r in row_starts])
        tiles = (tiles - tiles.mean(axis=(1, 2), keepdims=True)) * hann
        power = (np.abs(np.fft.rfft2(tiles)) ** 2).reshape(len(row_starts), -1).mean(axis=0) @ radial
        spectra.append(power[keep] / np.median(power[keep]))
    spectra = np.asarray(spectra)
    sigma, damping = best_ring_shape(q[keep], spectra.sum(axis=0), refs, method)
    basis = np.column_stack([templates(q[keep], refs, sigma, damping),
                             background_basis(q[keep], method.background_spacing_inv_A,
                                              method.background_width_inv_A)])
    return np.asarray([nonnegative_fit(basis, spectrum)[0][: len(PHASES)] for spectrum in spectra])


def cut_layers(compositions: np.ndarray, n_layers: int, variance_floor: float) -> list[int]:
    """Split a sequence of column compositions into ``n_layers`` runs of constant composition.

    Exhaustive search over the cut positions for the most likely runs, each run Gaussian
    with its own mean and its own spread (the cost of a run of n columns is
    n log(variance + floor)): a mixed layer whose columns vary a lot keeps its larger
    spread instead of being split to reduce it, so the cuts go where the composition
    changes.  Columns are compared by their square-root phase fractions (the Hellinger
    representation of a composition), each phase scaled to its largest column so that
    a rare phase counts as much as a common one.  Fractions, because a layer is a mix
    of phases: how many or how large crystallites a column happens to hold changes all
    its weights alike and says nothing about the layer.  Square roots, because the
    weights are powers: a crystallite adds power as the square of its fringe amplitude
    times its area, so one large crystallite can multiply its phase's weight in a
    column several times over; on the square-root scale a phase's presence, not its
    largest crystallite, places the cut.

    Parameters
    ----------
    compositions
        (column, phase) non-negative weights in depth order.
    n_layers
        Number of runs.
    variance_floor
        Added to every run's variance, as a fraction of the variance of the whole
        sequence, so that a run of one or two columns cannot claim a vanishing spread.

    Returns
    -------
    list of int
        Index of the first column of each run after the first; the last run holds at
        least two columns, since its end is placed from their spacing.

    Raises
    ------
    ValueError
        Fewer columns than runs (with two in the last).
    """
    from itertools import combinations

    weights = np.clip(compositions, 0.0, None)
    amplitudes = np.sqrt(weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-300))
    scaled = amplitudes / np.maximum(amplitudes.max(axis=0), 1e-12)
    n, phases = scaled.shape
    # the last run needs two columns: its end is placed half their spacing past the last (layer_edges)
    candidates = [cuts for cuts in combinations(range(1, n), n_layers - 1) if n - cuts[-1] >= 2]
    if not candidates:
        raise ValueError(f"{n} columns of crystallites cannot form {n_layers} layers with two in the last")
    prefix = np.vstack([np.zeros(phases), np.cumsum(scaled, axis=0)])
    prefix2 = np.concatenate([[0.0], np.cumsum((scaled ** 2).sum(axis=1))])
    floor = variance_floor * float(scaled.var(axis=0).mean()) + 1e-12

    def cost(a: int, b: int) -> float:  # columns a..b-1 as one run: n log(variance + floor)
        total = prefix[b] - prefix[a]
        variance = (prefix2[b] - prefix2[a] - float(total @ total) / (b - a)) / ((b - a) * phases)
        return (b - a) * np.log(max(variance, 0.0) + floor)

    best = min(candidates, key=lambda cuts: sum(cost(a, b) for a, b in zip((0, *cuts), (*cuts, n))))
    return list(best)


# ------------------------------------------------------------------ crystallites
def fringe_band(refs: Sequence[Reflection], margin_inv_A: float) -> tuple[float, float]:
    """Frequencies that hold every reference reflection, widened for the rings' width.

    Parameters
    ----------
    refs
        Reference reflections.
    margin_inv_A
        Widening on both sides (1/Å).

    Returns
    -------
    tuple of float
        Lowest and highest frequency of the band (1/Å).
    """
    return min(r.q_per_A for r in refs) - margin_inv_A, max(r.q_per_A for r in refs) + margin_inv_A


def fringe_energy(image: np.ndarray, pixel_A: float, q_band: tuple[float, float], edge_inv_A: float,
                  smooth_A: float) -> np.ndarray:
    """Local energy of the lattice fringes: band-pass over the reference frequencies, squared, smoothed.

    Parameters
    ----------
    image
        The micrograph.
    pixel_A
        Its pixel size (Å).
    q_band
        Pass band (1/Å).
    edge_inv_A
        Width of the band's soft (tanh) edges, against ringing in the filtered image.
    smooth_A
        Gaussian smoothing of the squared result (Å): about a fringe period, so the
        energy is even across a crystallite.

    Returns
    -------
    numpy.ndarray
        Image-shaped energy.
    """
    from scipy import ndimage

    rows, cols = image.shape
    fy, fx = np.fft.fftfreq(rows)[:, None], np.fft.rfftfreq(cols)[None, :]
    q = np.hypot(fy, fx) / pixel_A
    lo, hi = q_band
    band = 0.5 * (np.tanh((q - lo) / edge_inv_A) - np.tanh((q - hi) / edge_inv_A))
    filtered = np.fft.irfft2(np.fft.rfft2(image - image.mean()) * band, s=image.shape)
    return ndimage.gaussian_filter(filtered ** 2, smooth_A / pixel_A)


def crystallite_diameters(energy: np.ndarray, pixel_A: float, interphase_cols: tuple[int, int],
                          amorphous_cols: tuple[int, int], crystalline_percentile: float,
                          min_diameter_nm: float, edge_level: float, edge_reach_A: float
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Area-equivalent diameters of the crystallites inside the interphase, and the mask.

    Crystallites are found where the energy exceeds the geometric mean of the amorphous
    level (median energy over ``amorphous_cols``) and the crystalline level (a high
    percentile inside the interphase), so detection adapts to each image's contrast.
    Each crystallite's extent is then read at its own level: its edge is where its
    energy has fallen ``edge_level`` of the way from its own (median) level to the
    amorphous level, the half-maximum contour of a blurred disc lying on its edge.  One
    threshold for all would measure weakly diffracting crystallites (few or strongly
    damped reflections, such as Li's) smaller than bright ones of the same size.
    Crystallites cut by the interphase's or the image's edges are left out, since their
    size is unknown.

    Parameters
    ----------
    energy
        Fringe energy (:func:`fringe_energy`).
    pixel_A
        Pixel size (Å).
    interphase_cols, amorphous_cols
        Column ranges [start, stop) of the interphase and of amorphous LiPON.
    crystalline_percentile
        Percentile of the energy inside the interphase taken as the crystalline level.
    min_diameter_nm
        Smaller specks are noise, not crystallites.
    edge_level
        Fraction of the way from the crystallite's level down to the amorphous level at
        which its edge lies.
    edge_reach_A
        How far past the detection contour a crystallite's own edge is sought (Å).

    Returns
    -------
    diameters, mask
        Diameters (nm) and the image-shaped mask of the measured crystallites.

    Raises
    ------
    ValueError
        No fringes stand out from the amorphous background.
    """
    from scipy import ndimage

    amorphous = np.median(energy[:, amorphous_cols[0]:amorphous_cols[1]])
    inside = energy[:, interphase_cols[0]:interphase_cols[1]]
    crystalline = np.percentile(inside, crystalline_percentile)
    if crystalline <= amorphous:
        raise ValueError("no lattice fringes stand out from the amorphous background")
    detected = np.zeros(energy.shape, bool)
    detected[:, interphase_cols[0]:interphase_cols[1]] = inside > np.sqrt(amorphous * crystalline)
    labels, n = ndimage.label(detected)
    mask = np.zeros(energy.shape, bool)
    if n == 0:
        return np.array([]), mask
    rows = energy.shape[0]
    reach = int(np.ceil(edge_reach_A / pixel_A))
    min_area_px = np.pi * (min_diameter_nm / 2) ** 2 / (pixel_A / 10) ** 2
    areas = []
    for index, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl[0].start == 0 or sl[0].stop == rows or sl[1].start == interphase_cols[0] \
                or sl[1].stop == interphase_cols[1]:
            continue
        own = labels[sl] == index
        level = amorphous + edge_level * (np.median(energy[sl][own]) - amorphous)
        r0, r1 = max(sl[0].start - reach, 0), min(sl[0].stop + reach, rows)
        c0, c1 = max(sl[1].start - reach, interphase_cols[0]), min(sl[1].stop + reach, interphase_cols[1])
        parts, _ = ndimage.label(energy[r0:r1, c0:c1] > level)
        peak = np.unravel_index(np.argmax(np.where(own, energy[sl], -np.inf)), own.shape)
        crystal = parts == parts[peak[0] + sl[0].start - r0, peak[1] + sl[1].start - c0]
        if crystal.sum() >= min_area_px:
            areas.append(crystal.sum())
            mask[r0:r1, c0:c1] |= crystal
    return 2 * np.sqrt(np.asarray(areas, float) / np.pi) * pixel_A / 10, mask


# ------------------------------------------------------------------ one region
def analyse_region(image: np.ndarray, pixel_A: float, refs: Sequence[Reflection], method: Method) -> RegionResult:
    """Phase weights along the depth, layers from column compositions, crystallite sizes.

    Parameters
    ----------
    image
        One region's micrograph, depth along the columns.
    pixel_A
        Its own pixel size (Å).
    refs
        Reference reflections.
    method
        The method choices.

    Returns
    -------
    RegionResult
        Spectra, phase fit, layers, fringe energy and crystallites of the region.

    Raises
    ------
    ValueError
        The layers or crystallites cannot be segmented (too few columns, no fringes...).
    """
    spectra = local_spectra(image, pixel_A, method.window_px, method.step_px)
    fit = phase_weights(spectra, refs, method)
    energy = fringe_energy(image, pixel_A, fringe_band(refs, method.fringe_band_margin_inv_A),
                           method.band_edge_inv_A, method.fringe_smoothing_A)
    depth = (np.arange(image.shape[1]) + 0.5) * pixel_A / 10
    centres, gaps = columns(depth, np.log(energy).mean(axis=0), method.column_prominence)
    totals = fit.weights.sum(axis=1)
    crystalline = totals > method.crystalline_fraction * np.percentile(totals, 95)
    last_depth = spectra.depth_nm[np.flatnonzero(crystalline)[-1]] + method.window_px * pixel_A / 20
    centres = centres[centres < last_depth]
    if centres.size < RUNS + 1:  # a column per run, and two in the last to place its end
        raise ValueError(f"found {centres.size} columns of crystallites; layers need at least {RUNS + 1}")
    spacing = float(np.median(np.diff(centres)))
    compositions = column_weights(image, pixel_A, centres, spacing, refs, method)
    cuts = cut_layers(compositions, RUNS, method.layer_variance_floor)
    boundaries = layer_edges(centres, gaps, cuts)
    runs = np.split(compositions / np.maximum(compositions.max(axis=0), 1e-12), cuts)
    levels = np.array([run.mean(axis=0) for run in runs]).T  # (phase, layer): bulk Li, layers 1-3
    layers = Layers(boundaries, spacing, levels)

    def to_col(nm: float) -> int:
        return int(np.clip(round(nm * 10 / pixel_A), 0, image.shape[1]))

    b = boundaries
    diameters, mask = crystallite_diameters(energy, pixel_A, (to_col(b[0]), to_col(b[-1])),
                                            (to_col(b[-1] + method.amorphous_offset_nm), image.shape[1]),
                                            method.crystalline_percentile, method.min_crystallite_nm,
                                            method.crystallite_edge_level, method.crystallite_edge_reach_A)
    return RegionResult(spectra, fit, layers, energy, diameters, mask)


# ------------------------------------------------------------------ over all regions
def summarize(thicknesses_nm: np.ndarray, diameters_nm: np.ndarray, size_percentiles: tuple[float, float],
              min_crystallites: int) -> Summary:
    """Layer means and ranges over the regions, and the crystallite size range.

    Parameters
    ----------
    thicknesses_nm
        (region, layer) thicknesses.
    diameters_nm
        Crystallite diameters of all regions.
    size_percentiles
        Lower and upper percentile of the diameters quoted as the size range.
    min_crystallites
        Fewer crystallites give no meaningful percentiles.

    Returns
    -------
    Summary

    Raises
    ------
    ValueError
        Fewer than ``min_crystallites`` crystallites.
    """
    if len(diameters_nm) < min_crystallites:
        raise ValueError(f"only {len(diameters_nm)} crystallites segmented; sizes need at least {min_crystallites}")
    return Summary(thicknesses_nm.mean(axis=0), thicknesses_nm.min(axis=0), thicknesses_nm.max(axis=0),
                   (float(np.percentile(diameters_nm, size_percentiles[0])),
                    float(np.percentile(diameters_nm, size_percentiles[1]))))


def layer_row(index: int, result: RegionResult) -> list[float]:
    """One row of the per-region layer table (columns :data:`LAYER_COLUMNS`).

    Parameters
    ----------
    index
        Region number (1-based, in file order).
    result
        The region's analysis.

    Returns
    -------
    list of float
        Region, four boundaries, three thicknesses, column spacing, ring width.
    """
    layers = result.layers
    return [index, *layers.boundaries_nm, *layers.thicknesses_nm, layers.spacing_nm, result.fit.sigma_inv_A]


def profile_table(results: Mapping[int, RegionResult], profile_percentile: float) -> np.ndarray:
    """Phase weights along the depth of every region, each phase scaled to a high percentile.

    Parameters
    ----------
    results
        Region number -> its result.
    profile_percentile
        Percentile of each phase's weights scaled to 1, so a few strong windows do not
        flatten the profile.

    Returns
    -------
    numpy.ndarray
        Columns region, depth (nm), then one per phase.
    """
    return np.vstack([np.column_stack([np.full(r.spectra.depth_nm.size, index), r.spectra.depth_nm,
                                       r.fit.weights / np.percentile(r.fit.weights, profile_percentile, axis=0)])
                      for index, r in results.items()])


def markdown_formula(text: str) -> str:
    """Chemistry for a Markdown table: digits after an element become pandoc subscripts.

    ``"Li3PO4 (210)"`` -> ``"Li~3~PO~4~ (210)"``; Miller indices in brackets keep their digits.

    Parameters
    ----------
    text
        A phase name, optionally followed by its reflection.

    Returns
    -------
    str
    """
    return re.sub(r"(?<=[A-Za-z])(\d+(?:\.\d+)?)", r"~\1~", text)


def reflection_table(refs: Sequence[Reflection], pixel_sizes_A: Sequence[float], window_px: int,
                     ambiguity_steps: float) -> str:
    """The reference reflections and the pairs a local FFT cannot tell apart (Markdown).

    Two reflections are confusable when closer than ``ambiguity_steps`` frequency steps
    of the window.  The step depends on each region's own pixel size; a pair is listed if
    it is confusable in any region, i.e. at the coarsest step.

    Parameters
    ----------
    refs
        Reference reflections.
    pixel_sizes_A
        Pixel size of every region (Å).
    window_px
        Local FFT window.
    ambiguity_steps
        Frequency steps within which two reflections are confusable.

    Returns
    -------
    str
        The table with a closing sentence, ending in a newline.
    """
    steps = sorted({1.0 / (window_px * p) for p in pixel_sizes_A})
    pairs = crystallography.ambiguous_pairs(refs, ambiguity_steps * steps[-1])
    partners = {r.label: [] for r in refs}
    for a, b in pairs:
        partners[a.label].append(b.label)
        partners[b.label].append(a.label)
    lines = ["| Phase | Reflection | d (Å) | 1/d (1/Å) | Within FFT resolution of |", "|---|---|---:|---:|---|"]
    for r in refs:
        hkl = "".join(str(i) for i in r.hkl)
        near = ", ".join(markdown_formula(label) for label in partners[r.label]) or "–"
        lines.append(f"| {markdown_formula(r.phase)} | ({hkl}) | {r.d_A:.3f} | {r.q_per_A:.3f} | {near} |")
    lines.append("")
    times = "twice" if ambiguity_steps == 2 else f"{ambiguity_steps:g} times"
    pixels = sorted(set(pixel_sizes_A))
    if len(pixels) == 1:
        where = f"({ambiguity_steps * steps[-1]:.4f} 1/Å at {pixels[0]:.2f} Å per pixel)"
    else:
        where = (f"({ambiguity_steps * steps[0]:.4f}–{ambiguity_steps * steps[-1]:.4f} 1/Å at "
                 f"{pixels[-1]:.2f}–{pixels[0]:.2f} Å per pixel; pairs confusable in any region are listed)")
    lines.append(f"Pairs are closer than {times} the frequency step of a {window_px}-pixel window {where}.")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ edge
LAYER_COLUMNS = "region,b0_nm,b1_nm,b2_nm,b3_nm,layer1_nm,layer2_nm,layer3_nm,column_spacing_nm,ring_sigma_per_A"


def _region_files(paths: Sequence[Path]) -> list[Path]:
    """The region images in numeric order (region_2 before region_10): as many as the data hold.

    Raises
    ------
    InputError
        No region image at all.
    """
    paths = sorted(paths, key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
    if not paths:
        raise InputError("HRTEM region images", "found no HRTEM region image")
    return paths


def _read_region(path: Path, refs: Sequence[Reflection]) -> tuple[np.ndarray, float]:
    signal = em_io.load(path)
    if signal.data.ndim != 2:
        raise InputError(path, f"expected a 2D image, found {signal.data.ndim} dimensions")
    pixel_A = em_io.pixel_size_nm(signal, path) * 10
    too_fine = crystallography.unresolved(refs, pixel_A)
    if too_fine:
        names = ", ".join(f"{r.label} at {r.d_A:.2f} Å" for r in too_fine)
        raise InputError(path, f"pixel size {pixel_A:.2f} Å cannot resolve {names} (needs d >= 2 pixels)")
    if np.ptp(signal.data) == 0:
        raise InputError(path, f"the image is uniform (every pixel {signal.data.flat[0]:g}): it holds no lattice "
                               f"fringes to analyse")
    return np.asarray(signal.data, dtype=float), pixel_A


def analyse_file(path: Path, refs: Sequence[Reflection], method: Method,
                 figure: Path | None = None) -> tuple[RegionResult, float]:
    """One region image read and analysed: a unit of work a Dask worker can take alone.

    Only the figure's region returns its image-shaped arrays (fringe energy, crystallite
    mask: 144 MB for a 4096 x 4096 frame); the others return them empty, so the results
    of a long series fit in memory together.

    Parameters
    ----------
    path
        The region image.
    refs, method
        The reference reflections and the method (:func:`analyse_region`).
    figure
        The region image the figures show.

    Returns
    -------
    tuple of (RegionResult, float)
        The region's layers, phase profiles and crystallites, and its pixel size (Å).

    Raises
    ------
    InputError
        The image is unreadable or uncalibrated, or its layers cannot be segmented.
    """
    image, pixel_A = _read_region(path, refs)
    try:
        result = analyse_region(image, pixel_A, refs, method)
    except ValueError as err:
        raise InputError(path, f"cannot segment the layers: {err}") from None
    if path != figure:
        result = dataclasses.replace(result, energy=np.empty((0, 0)), mask=np.empty((0, 0), dtype=bool))
    return result, pixel_A


def run(inputs: Mapping[str, Path | tuple[Path, ...]], outputs: Mapping[str, Path], *,
        window_px: int, step_px: int, q_range_inv_A: tuple[float, float],
        ring_sigma_range_inv_A: tuple[float, float], ring_sigma_step_inv_A: float,
        damping_range_A: tuple[float, float], damping_step_A: float,
        background_spacing_inv_A: float, background_width_inv_A: float, column_prominence: float,
        layer_variance_floor: float, crystalline_fraction: float, fringe_band_margin_inv_A: float,
        band_edge_inv_A: float,
        fringe_smoothing_A: float, crystalline_percentile: float, amorphous_offset_nm: float,
        min_crystallite_nm: float, crystallite_edge_level: float, crystallite_edge_reach_A: float,
        min_crystallites: int, size_percentiles: tuple[float, float],
        profile_percentile: float, ambiguity_steps: float) -> list[Number]:
    """Layer thicknesses per region, their means and ranges, and crystallite sizes.

    Parameters
    ----------
    inputs
        ``regions`` (the HRTEM region images, a glob) and ``phases`` (cited lattices).
    outputs
        ``layers``, ``layer_summary``, ``phase_profiles``, ``layer_composition``,
        ``crystallites``, ``region1`` (arrays of region 1 for Fig 2), ``reference_rings``
        and ``reflections`` (Table of reference reflections, Markdown).
    window_px, step_px
        Local FFT window and its depth step (:func:`local_spectra`).
    q_range_inv_A
        Frequencies fitted by the ring templates (:func:`phase_weights`, :func:`column_weights`).
    ring_sigma_range_inv_A, ring_sigma_step_inv_A
        Candidate ring widths (first, last; step).
    damping_range_A, damping_step_A
        Candidate envelope widths (first, last; step).
    background_spacing_inv_A, background_width_inv_A
        The smooth background terms (:func:`background_basis`).
    column_prominence
        Least prominence of a column or gap (:func:`columns`).
    layer_variance_floor
        Least within-layer variance of the layer cut (:func:`cut_layers`).
    crystalline_fraction
        A depth holds crystallites where its total phase weight exceeds this fraction of
        the image's 95th percentile; columns past the last such depth are ignored.
    fringe_band_margin_inv_A, band_edge_inv_A, fringe_smoothing_A
        The fringe band-pass and its smoothing (:func:`fringe_band`, :func:`fringe_energy`).
    crystalline_percentile, min_crystallite_nm, crystallite_edge_level, crystallite_edge_reach_A
        Segmentation of crystallites (:func:`crystallite_diameters`).
    amorphous_offset_nm
        The amorphous level is taken this far past the interphase end.
    min_crystallites, size_percentiles
        The quoted size range (:func:`summarize`).
    profile_percentile
        Scaling of the phase profiles for Fig 2 (:func:`profile_table`).
    ambiguity_steps
        Confusable reflections (:func:`reflection_table`).

    Returns
    -------
    list of Number
        The region count (the number of region images), mean layer thicknesses, their sum
        and the crystallite size range.

    Raises
    ------
    InputError
        No image, an unreadable or uncalibrated image, a pixel too coarse
        for the reference reflections, layers that cannot be segmented, or too few
        crystallites.
    """
    refs = crystallography.reflections(crystallography.load_phases(inputs["phases"]))
    paths = _region_files(inputs["regions"])
    method = Method.build(
        window_px=window_px, step_px=step_px, q_range_inv_A=q_range_inv_A,
        ring_sigma_range_inv_A=ring_sigma_range_inv_A, ring_sigma_step_inv_A=ring_sigma_step_inv_A,
        damping_range_A=damping_range_A, damping_step_A=damping_step_A,
        background_spacing_inv_A=background_spacing_inv_A, background_width_inv_A=background_width_inv_A,
        column_prominence=column_prominence, layer_variance_floor=layer_variance_floor,
        crystalline_fraction=crystalline_fraction,
        fringe_band_margin_inv_A=fringe_band_margin_inv_A, band_edge_inv_A=band_edge_inv_A,
        fringe_smoothing_A=fringe_smoothing_A, crystalline_percentile=crystalline_percentile,
        amorphous_offset_nm=amorphous_offset_nm, min_crystallite_nm=min_crystallite_nm,
        crystallite_edge_level=crystallite_edge_level, crystallite_edge_reach_A=crystallite_edge_reach_A)
    # one task per region image, on this machine's cores or the step's Dask cluster
    analysed = scheduler.map_items("hrtem", analyse_file, paths, lambda p: p.name, refs=refs, method=method,
                                   figure=paths[FIGURE_REGION - 1])
    results = {index: result for index, (result, _) in enumerate(analysed, start=1)}
    pixel_sizes = {index: pixel_A for index, (_, pixel_A) in enumerate(analysed, start=1)}
    image, pixel_A = _read_region(paths[FIGURE_REGION - 1], refs)  # read again here: workers return no images
    shown = results[FIGURE_REGION]
    np.savez_compressed(outputs["region1"], image=image.astype(np.float32), pixel_A=pixel_A, mask=shown.mask,
                        boundaries_nm=shown.layers.boundaries_nm, q_per_A=shown.spectra.q_per_A,
                        power=shown.spectra.power, depth_nm=shown.spectra.depth_nm)
    table = np.asarray([layer_row(index, r) for index, r in results.items()])
    diameters = np.concatenate([r.diameters_nm for r in results.values()])
    try:
        summary = summarize(table[:, 5:5 + LAYERS], diameters, tuple(size_percentiles), min_crystallites)
    except ValueError as err:
        raise InputError(paths[0].parent, str(err)) from None

    datatable.write_array(outputs["layers"], LAYER_COLUMNS, table, fmt="%.6g")
    datatable.write_array(outputs["phase_profiles"], "region,depth_nm," + ",".join(PHASES),
                          profile_table(results, profile_percentile), fmt="%.5g")
    levels = np.mean([r.layers.levels for r in results.values()], axis=0)
    datatable.write_array(outputs["layer_composition"], "layer," + ",".join(PHASES),
                          np.column_stack([np.arange(RUNS), levels.T]), fmt="%.4g")
    datatable.write_array(outputs["crystallites"], "diameter_nm", diameters, fmt="%.4g")
    outputs["reflections"].write_text(reflection_table(refs, list(pixel_sizes.values()), window_px, ambiguity_steps),
                                      encoding="utf-8")
    datatable.write_rows(outputs["reference_rings"], "label,d_A", ((r.label, r.d_A) for r in refs), "{},{:.5f}")
    datatable.write_array(outputs["layer_summary"], "layer,mean_nm,min_nm,max_nm",
                          np.column_stack([np.arange(1, LAYERS + 1), summary.layer_means_nm, summary.layer_min_nm,
                                           summary.layer_max_nm]), fmt="%.5g")
    means = summary.layer_means_nm
    return [
        count("hrtem.regions", len(paths)).from_inputs(inputs["regions"]),
        quantity("hrtem.layer_li_li2o_nm", means[0], "nm", 1),
        quantity("hrtem.layer_li_li2o_li3n_nm", means[1], "nm", 1),
        quantity("hrtem.layer_li2o_li3n_li3po4_nm", means[2], "nm", 1),
        quantity("hrtem.interphase_nm", means.sum(), "nm", 1),
        quantity("hrtem.crystallite_min_nm", summary.crystallite_range_nm[0], "nm", 1),
        quantity("hrtem.crystallite_max_nm", summary.crystallite_range_nm[1], "nm", 1),
    ]

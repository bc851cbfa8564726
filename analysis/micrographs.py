"""Calibrated micrographs: FIB-SEM cross-section, STEM dark-field images, beam stability
(Fig 1C, 1D, 3A, S3, S5A).

Definitions (stated in the supplement's methods; every value named here is a registry
parameter of the ``micrographs`` step):

* Li film thickness: the cross-section's rows are averaged (median over columns, which
  ignores curtaining and a rough surface) and the profile is smoothed with a Gaussian of
  ``profile_smoothing_px``; the layer boundaries are the peaks of its gradient that
  stand out from the gradient's noise by ``boundary_prominence`` times and lie at least
  ``boundary_separation_px`` apart; the Li film is the first layer below the sample
  surface (the first boundary met coming from the vacuum), so its thickness is the
  distance from the first to the second boundary;
* beam stability: each frame of the repeated series is compared with the first by the
  zero-mean normalized cross-correlation, maximized over shifts of up to
  ``max_shift_px`` so that stage drift does not count as change; the reported number is
  the lowest value.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis import em_io
from paperbuild.errors import InputError
from paperbuild.numbers import Number, quantity

MAD_TO_SIGMA = 1.4826  # median absolute deviation -> standard deviation of a normal distribution


@dataclass(frozen=True)
class Film:
    """The top layer of a cross-section, in pixel rows."""

    surface_px: float      # the first boundary below the vacuum
    thickness_px: float    # to the second boundary

    @property
    def bottom_px(self) -> float:
        return self.surface_px + self.thickness_px


# ------------------------------------------------------------------ pure functions
def layer_boundaries(image: np.ndarray, *, smoothing_px: float, prominence: float,
                     separation_px: int) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel row positions of layer boundaries in a cross-section and their gradient signs.

    A boundary is a peak of |d(profile)/dy| standing out from the gradient's noise (from
    the median absolute deviation, which the few boundary rows do not inflate).

    Parameters
    ----------
    image
        The cross-section, layers stacked along the rows.
    smoothing_px
        Gaussian sigma (px) applied to the row profile before differentiating.
    prominence
        How many noise standard deviations a boundary's gradient peak must stand out.
    separation_px
        Smallest distance (px) between two boundaries.

    Returns
    -------
    tuple of numpy.ndarray
        Boundary rows (refined by a parabola through three gradient values) and the
        sign of the gradient there (+1 where the image brightens downward).
    """
    from scipy import ndimage, signal

    profile = ndimage.gaussian_filter1d(np.median(image, axis=1).astype(float), smoothing_px)
    gradient = np.gradient(profile)
    noise = MAD_TO_SIGMA * np.median(np.abs(gradient - np.median(gradient)))
    peaks, _ = signal.find_peaks(np.abs(gradient), prominence=prominence * max(noise, 1e-9), distance=separation_px)
    positions = []
    for p in peaks:
        if 0 < p < gradient.size - 1:
            a, b, c = np.abs(gradient[p - 1: p + 2])
            denominator = a - 2 * b + c
            positions.append(p + (0.5 * (a - c) / denominator if denominator else 0.0))
        else:
            positions.append(float(p))
    return np.asarray(positions), np.sign(gradient[peaks])


def top_layer(image: np.ndarray, *, smoothing_px: float, prominence: float, separation_px: int) -> Film:
    """The first layer below the vacuum: the Li film in the paper's cross-section.

    Parameters
    ----------
    image
        The cross-section, vacuum at the top.
    smoothing_px, prominence, separation_px
        Boundary detection, as in :func:`layer_boundaries`.

    Returns
    -------
    Film
        Surface row and thickness in pixels.

    Raises
    ------
    ValueError
        Fewer than two boundaries, or a first boundary that darkens (image upside down).
    """
    rows, signs = layer_boundaries(image, smoothing_px=smoothing_px, prominence=prominence,
                                   separation_px=separation_px)
    if rows.size < 2:
        raise ValueError(f"found {rows.size} layer boundary(ies); a film needs two")
    if signs[0] <= 0:
        raise ValueError("the first boundary below the top is not vacuum -> sample (the image may be upside down)")
    return Film(float(rows[0]), float(rows[1] - rows[0]))


def best_ncc(reference: np.ndarray, frame: np.ndarray, max_shift: int) -> float:
    """Zero-mean normalized cross-correlation, maximized over shifts of up to ``max_shift`` px.

    Taking the best small shift keeps stage drift from counting as beam damage.

    Parameters
    ----------
    reference, frame
        Two images of the same shape.
    max_shift
        Largest shift (px) along either axis.

    Returns
    -------
    float
        The NCC, 1 for identical images.

    Raises
    ------
    ValueError
        An image is uniform: with no contrast, similarity is undefined.
    """
    if reference.std() == 0 or frame.std() == 0:
        raise ValueError("an image is uniform (no contrast), so its similarity is undefined")
    a = (reference - reference.mean()) / reference.std()
    b = (frame - frame.mean()) / frame.std()
    correlation = np.real(np.fft.ifft2(np.fft.fft2(a) * np.conj(np.fft.fft2(b)))) / a.size
    shifts = np.r_[0:max_shift + 1, -max_shift:0]
    return float(correlation[np.ix_(shifts, shifts)].max())


def stability(frames: np.ndarray, max_shift: int) -> np.ndarray:
    """NCC of every frame with the first (the first is 1 by definition).

    Parameters
    ----------
    frames
        The repeated series, frames along the first axis.
    max_shift
        Largest drift (px) to compensate, as in :func:`best_ncc`.

    Returns
    -------
    numpy.ndarray
        One NCC per frame.

    Raises
    ------
    ValueError
        A frame is uniform (names the frame).
    """
    values = []
    for number, frame in enumerate(frames, start=1):
        try:
            values.append(best_ncc(frames[0], frame, max_shift))
        except ValueError:
            uniform = 1 if frames[0].std() == 0 else number
            raise ValueError(f"frame {uniform} is uniform (every pixel {frames[uniform - 1].flat[0]:g}), so its "
                             f"similarity to the others is undefined") from None
    return np.array(values)


# ------------------------------------------------------------------ reading
def liftout_labels(path: Path, frames: int) -> list[str]:
    """The operator's step names from the ImageJ 'Labels' metadata ('step N' without them).

    Parameters
    ----------
    path
        The lift-out sequence (ImageJ TIFF stack).
    frames
        How many frames the stack holds.

    Returns
    -------
    list of str
        One label per frame.
    """
    import tifffile

    with tifffile.TiffFile(path) as tif:
        labels = list((tif.imagej_metadata or {}).get("Labels", []))
    return [str(label) for label in labels] if len(labels) == frames else [f"step {i + 1}" for i in range(frames)]


def read_image(path: Path, ndim: int = 2) -> tuple[np.ndarray, float]:
    """A calibrated image (or stack of images) and its pixel size.

    Parameters
    ----------
    path
        The file.
    ndim
        Dimensions expected: 2 for an image, 3 for a stack.

    Returns
    -------
    tuple of (numpy.ndarray, float)
        The pixels as float32 and the pixel size in nm.

    Raises
    ------
    InputError
        The file is unreadable, has other dimensions, or lacks a pixel-size calibration.
    """
    signal = em_io.load(path)
    if signal.data.ndim != ndim:
        raise InputError(path, f"expected {ndim} dimensions, found {signal.data.ndim}")
    return np.asarray(signal.data, dtype=np.float32), em_io.pixel_size_nm(signal, path)


# ------------------------------------------------------------------ edge
def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path], *, profile_smoothing_px: float,
        boundary_prominence: float, boundary_separation_px: int, max_shift_px: int) -> list[Number]:
    """Li thickness, beam stability, and the calibrated images for the figures.

    Parameters
    ----------
    inputs
        ``sem_cross_section`` (FIB-SEM cross-section), ``df_interface`` and
        ``df_eels_region`` (STEM dark-field images), ``lipon_frames`` (repeated frames of
        LiPON) and ``liftout`` (the lift-out sequence); all TIFF.
    outputs
        ``sem_cross_section``, ``df_interface``, ``df_eels_region``, ``frames`` and
        ``liftout``: calibrated arrays (``.npz``) for the figure steps.
    profile_smoothing_px, boundary_prominence, boundary_separation_px
        Layer-boundary detection in the cross-section (see :func:`layer_boundaries`).
    max_shift_px
        Largest drift (px) compensated when comparing frames.

    Returns
    -------
    list of Number
        ``sem.li_thickness_um`` (from the cross-section) and
        ``stem.beam_stability_min_ncc`` (from the frame series).

    Raises
    ------
    InputError
        An image is unreadable, uncalibrated or holds a value that is not a finite
        number, the cross-section shows no film, or the series has fewer than two
        frames or a uniform one.
    """
    sem_path = inputs["sem_cross_section"]
    sem, sem_px = read_image(sem_path)
    try:
        film = top_layer(sem, smoothing_px=profile_smoothing_px, prominence=boundary_prominence,
                         separation_px=boundary_separation_px)
    except ValueError as err:
        raise InputError(sem_path, f"cannot measure the Li film: {err}") from None
    np.savez(outputs["sem_cross_section"], image=sem, pixel_nm=sem_px, li_top_px=film.surface_px,
             li_bottom_px=film.bottom_px)
    for role in ("df_interface", "df_eels_region"):
        image, px = read_image(inputs[role])
        np.savez(outputs[role], image=image, pixel_nm=px)
    frames_path = inputs["lipon_frames"]
    frames, frame_px = read_image(frames_path, ndim=3)
    if frames.shape[0] < 2:
        raise InputError(frames_path, "a beam-stability series needs at least two frames")
    try:
        ncc = stability(frames, max_shift_px)
    except ValueError as err:
        raise InputError(frames_path, f"cannot compare the frames: {err}") from None
    np.savez(outputs["frames"], first=frames[0], last=frames[-1], ncc=ncc, pixel_nm=frame_px)
    steps, step_px = read_image(inputs["liftout"], ndim=3)
    np.savez(outputs["liftout"], frames=steps, pixel_nm=step_px,
             labels=np.array(liftout_labels(inputs["liftout"], len(steps))))
    return [
        quantity("sem.li_thickness_um", film.thickness_px * sem_px / 1000.0, "µm", 2).from_inputs(sem_path),
        quantity("stem.beam_stability_min_ncc", float(ncc[1:].min()), "", 2).from_inputs(frames_path),
    ]

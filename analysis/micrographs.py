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
* frame similarity (Fig S3B): each frame of the repeated series is compared with the
  first by the zero-mean normalized cross-correlation, maximized over shifts of up to
  ``max_shift_px`` so that stage drift does not count as change.  It also falls with
  counting noise and sub-pixel drift, and hardly with blur of a smooth speckle, so it is
  shown but not quoted;
* beam damage: the Gaussian blur (sigma) the last frame has gained over the first, read
  from the ratio of their noise-floor-corrected power spectra (:func:`blur_variance`;
  noise floor above ``noise_band_cycles_per_px``, rings whose speckle power exceeds
  ``min_speckle_snr`` times the noise).  Drift changes only phases and noise only the
  floor, so neither moves it; damage that smears the amorphous speckle does.
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


def periodic_component(image: np.ndarray) -> np.ndarray:
    """The image without its smooth part (Moisan's periodic-plus-smooth decomposition).

    An FFT treats an image as periodic; the jumps between opposite edges then add
    power along the frequency axes that changes with the image's content.  Removing the
    smooth component that carries those jumps keeps every pixel at full weight, which a
    tapering window would not.

    Parameters
    ----------
    image
        A 2-D image.

    Returns
    -------
    numpy.ndarray
        Its periodic component, mean zero.
    """
    u = np.asarray(image, dtype=float) - float(np.mean(image))
    rows, cols = u.shape
    jumps = np.zeros_like(u)
    jumps[0, :] += u[-1, :] - u[0, :]
    jumps[-1, :] += u[0, :] - u[-1, :]
    jumps[:, 0] += u[:, -1] - u[:, 0]
    jumps[:, -1] += u[:, 0] - u[:, -1]
    q, r = np.arange(rows)[:, None], np.arange(cols)[None, :]
    denominator = 2 * np.cos(2 * np.pi * q / rows) + 2 * np.cos(2 * np.pi * r / cols) - 4
    denominator[0, 0] = 1.0
    smooth = np.fft.fft2(jumps) / denominator
    smooth[0, 0] = 0.0
    return u - np.real(np.fft.ifft2(smooth))


def radial_power(image: np.ndarray, noise_band: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Azimuthally averaged power spectrum of an image, and its white-noise floor.

    Parameters
    ----------
    image
        A 2-D image.
    noise_band
        Spatial frequency (cycles per pixel) above which the image holds only noise;
        the floor is estimated there (median power / ln 2: the median of an
        exponentially distributed power is ln 2 times its mean).

    Returns
    -------
    tuple
        Mean frequency of each ring (cycles/px, rings one frequency step wide), the
        ring's mean power, how many frequencies the ring holds, and the noise floor.
    """
    power = np.abs(np.fft.fft2(periodic_component(image))) ** 2 / image.size
    frequency = np.hypot(np.fft.fftfreq(image.shape[0])[:, None], np.fft.fftfreq(image.shape[1])[None, :])
    ring = np.floor(frequency * min(image.shape)).astype(int).ravel()
    counts = np.bincount(ring)
    mean = lambda values: np.bincount(ring, values.ravel()) / np.maximum(counts, 1)
    floor = float(np.median(power[frequency > noise_band]) / np.log(2))
    return mean(frequency), mean(power), counts, floor


def blur_variance(reference: np.ndarray, frame: np.ndarray, *, noise_band: float, min_snr: float) -> float:
    """Gaussian blur variance (px^2) that ``frame`` has gained over ``reference``.

    Blurring multiplies an image's power spectrum by exp(-4 pi^2 v f^2) (v the blur's
    variance), while drift only changes phases and counting noise adds a flat floor.
    So the noise-free powers of the two frames, ring by ring, have a log ratio that is
    a line through zero in f^2 whose slope gives v.  The line is fitted by weighted
    least squares over the rings where both frames' speckle power exceeds ``min_snr``
    times their noise floor (weights from the rings' counting statistics).  Negative
    values (the frame sharper than the reference) are kept: noise goes both ways.

    Parameters
    ----------
    reference, frame
        Two images of the same area and shape.
    noise_band
        Frequency (cycles/px) above which an image holds only noise (see :func:`radial_power`).
    min_snr
        Smallest speckle-power-to-noise ratio of a ring that is used.

    Returns
    -------
    float
        The blur variance in px^2.

    Raises
    ------
    ValueError
        Fewer than two rings carry speckle above the noise: nothing to compare.
    """
    f, p0, counts, n0 = radial_power(reference, noise_band)
    _, p1, _, n1 = radial_power(frame, noise_band)
    s0, s1 = p0 - n0, p1 - n1
    use = (f > 0) & (f < noise_band) & (s0 > min_snr * n0) & (s1 > min_snr * n1)
    if use.sum() < 2:
        raise ValueError("fewer than two spatial frequencies carry speckle above the noise, so blur cannot be read")
    independent = counts[use] / 2  # a real image's spectrum is symmetric: half its frequencies are independent
    relative_var = ((n0 ** 2 + 2 * s0[use] * n0) / s0[use] ** 2 + (n1 ** 2 + 2 * s1[use] * n1) / s1[use] ** 2) / independent
    x, y, w = f[use] ** 2, np.log(s1[use] / s0[use]), 1 / relative_var
    return float(-(w * x * y).sum() / (w * x * x).sum() / (4 * np.pi ** 2))


def beam_blur(frames: np.ndarray, *, noise_band: float, min_snr: float) -> np.ndarray:
    """Gaussian blur (px, sigma) of every frame relative to the first; 0 where the variance is not positive.

    Parameters
    ----------
    frames
        The repeated series, frames along the first axis.
    noise_band, min_snr
        As in :func:`blur_variance`.

    Returns
    -------
    numpy.ndarray
        One blur per frame (the first is 0).

    Raises
    ------
    ValueError
        A frame carries no speckle above its noise (names the frame).
    """
    blur = []
    for number, frame in enumerate(frames, start=1):
        try:
            variance = blur_variance(frames[0], frame, noise_band=noise_band, min_snr=min_snr)
        except ValueError as err:
            raise ValueError(f"frame {number}: {err}") from None
        blur.append(np.sqrt(max(variance, 0.0)))
    return np.array(blur)


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
        boundary_prominence: float, boundary_separation_px: int, max_shift_px: int,
        noise_band_cycles_per_px: float, min_speckle_snr: float) -> list[Number]:
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
        Largest drift (px) compensated when comparing frames (the NCC of Fig S3B).
    noise_band_cycles_per_px, min_speckle_snr
        Noise band and the rings used for the blur (see :func:`blur_variance`).

    Returns
    -------
    list of Number
        ``sem.li_thickness_um`` (from the cross-section) and ``stem.beam_blur_nm``
        (from the frame series: the blur the last frame has gained over the first).

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
        blur_px = beam_blur(frames, noise_band=noise_band_cycles_per_px, min_snr=min_speckle_snr)
    except ValueError as err:
        raise InputError(frames_path, f"cannot compare the frames: {err}") from None
    np.savez(outputs["frames"], first=frames[0], last=frames[-1], ncc=ncc, blur_nm=blur_px * frame_px,
             pixel_nm=frame_px)
    steps, step_px = read_image(inputs["liftout"], ndim=3)
    np.savez(outputs["liftout"], frames=steps, pixel_nm=step_px,
             labels=np.array(liftout_labels(inputs["liftout"], len(steps))))
    return [
        quantity("sem.li_thickness_um", film.thickness_px * sem_px / 1000.0, "µm", 2).from_inputs(sem_path),
        quantity("stem.beam_blur_nm", float(blur_px[-1] * frame_px), "nm", 2).from_inputs(frames_path),
    ]

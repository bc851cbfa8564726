"""Calibrated micrographs: FIB-SEM cross-section, STEM dark-field images, beam stability
(Fig 1C, 1D, 3A, S3, S5A).

Definitions (stated in the supplement's methods):

* Li film thickness: the cross-section's rows are averaged (median over columns, which
  ignores curtaining and a rough surface); the layer boundaries are the peaks of the
  smoothed profile's gradient; the Li film is the first layer below the sample surface
  (the first boundary met coming from the vacuum), so its thickness is the distance
  from the first to the second boundary;
* beam stability: each frame of the repeated series is compared with the first by the
  zero-mean normalized cross-correlation, maximized over shifts of up to 3 pixels so
  that stage drift does not count as change; the reported number is the lowest value.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis import em_io
from paperbuild.errors import InputError
from paperbuild.numbers import Number, quantity

SEM = "sem/fib_cross_section.tif"
DF_INTERFACE = "stem/interface_df.tif"
DF_EELS = "stem/eels_region_df.tif"
FRAMES = "stem/lipon_frames.tif"
LIFTOUT = "sem/liftout_sequence.tif"
MAX_SHIFT_PX = 3


# ------------------------------------------------------------------ pure functions
def layer_boundaries(image: np.ndarray, smooth_px: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel row positions of layer boundaries in a cross-section and their gradient signs.

    A boundary is a peak of |d(profile)/dy| standing out from the gradient's noise by
    a factor of 8 (noise from the median absolute deviation).
    """
    from scipy import ndimage, signal

    profile = ndimage.gaussian_filter1d(np.median(image, axis=1).astype(float), smooth_px)
    gradient = np.gradient(profile)
    noise = 1.4826 * np.median(np.abs(gradient - np.median(gradient)))
    peaks, _ = signal.find_peaks(np.abs(gradient), prominence=8 * max(noise, 1e-9), distance=3)
    positions = []
    for p in peaks:
        if 0 < p < gradient.size - 1:
            a, b, c = np.abs(gradient[p - 1: p + 2])
            denominator = a - 2 * b + c
            positions.append(p + (0.5 * (a - c) / denominator if denominator else 0.0))
        else:
            positions.append(float(p))
    return np.asarray(positions), np.sign(gradient[peaks])


def top_layer_thickness_px(image: np.ndarray) -> tuple[float, float]:
    """(surface row, thickness in pixels) of the first layer below the vacuum."""
    rows, signs = layer_boundaries(image)
    if rows.size < 2:
        raise ValueError(f"found {rows.size} layer boundary(ies); a film needs two")
    if signs[0] <= 0:
        raise ValueError("the first boundary below the top is not vacuum -> sample (the image may be upside down)")
    return float(rows[0]), float(rows[1] - rows[0])


def best_ncc(reference: np.ndarray, frame: np.ndarray, max_shift: int = MAX_SHIFT_PX) -> float:
    """Zero-mean normalized cross-correlation, maximized over shifts of up to ``max_shift`` px."""
    a = (reference - reference.mean()) / reference.std()
    b = (frame - frame.mean()) / frame.std()
    correlation = np.real(np.fft.ifft2(np.fft.fft2(a) * np.conj(np.fft.fft2(b)))) / a.size
    shifts = np.r_[0:max_shift + 1, -max_shift:0]
    return float(correlation[np.ix_(shifts, shifts)].max())


def stability(frames: np.ndarray) -> np.ndarray:
    """NCC of every frame with the first (the first is 1 by definition)."""
    return np.array([best_ncc(frames[0], frame) for frame in frames])


# ------------------------------------------------------------------ edge
def liftout_labels(path: Path, frames: int) -> list[str]:
    """The operator's step names from the ImageJ 'Labels' metadata ('step N' without them)."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        labels = list((tif.imagej_metadata or {}).get("Labels", []))
    return labels if len(labels) == frames else [f"step {i + 1}" for i in range(frames)]


def _image(raw: Path, rel: str, ndim: int = 2) -> tuple[np.ndarray, float]:
    path = raw / rel
    signal = em_io.load(path)
    if signal.data.ndim != ndim:
        raise InputError(path, f"expected {ndim} dimensions, found {signal.data.ndim}")
    return np.asarray(signal.data, dtype=np.float32), em_io.pixel_size_nm(signal, path)


def run(raw: Path, out: Path) -> list[Number]:
    """Li thickness, beam stability, and the calibrated images for the figures."""
    (out / "data").mkdir(parents=True, exist_ok=True)
    sem, sem_px = _image(raw, SEM)
    try:
        surface, thickness = top_layer_thickness_px(sem)
    except ValueError as err:
        raise InputError(raw / SEM, f"cannot measure the Li film: {err}") from None
    np.savez(out / "data/sem_cross_section.npz", image=sem, pixel_nm=sem_px, li_top_px=surface,
             li_bottom_px=surface + thickness)
    for rel, name in ((DF_INTERFACE, "stem_interface_df"), (DF_EELS, "stem_eels_region_df")):
        image, px = _image(raw, rel)
        np.savez(out / f"data/{name}.npz", image=image, pixel_nm=px)
    frames, frame_px = _image(raw, FRAMES, ndim=3)
    if frames.shape[0] < 2:
        raise InputError(raw / FRAMES, "a beam-stability series needs at least two frames")
    ncc = stability(frames)
    np.savez(out / "data/stem_frames.npz", first=frames[0], last=frames[-1], ncc=ncc, pixel_nm=frame_px)
    steps, step_px = _image(raw, LIFTOUT, ndim=3)
    np.savez(out / "data/sem_liftout.npz", frames=steps, pixel_nm=step_px, labels=np.array(liftout_labels(raw / LIFTOUT,
                                                                                                           len(steps))))
    return [
        quantity("sem.li_thickness_um", thickness * sem_px / 1000.0, "µm", 2),
        quantity("stem.beam_stability_min_ncc", float(ncc[1:].min()), "", 2),
    ]

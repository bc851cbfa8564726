"""Loading electron-microscopy files with HyperSpy/RosettaSciIO, and checking them.

Every check raises an InputError naming the file, so a user's own data with a missing
calibration or an unexpected shape stops the build with one readable sentence.  The
functions take the path only to name it in messages: callers pass the paths the runner
resolved from the registry.
"""
from __future__ import annotations

import contextlib
import gc
import logging
import traceback
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from paperbuild.errors import InputError

# unit conversions (facts), keyed by the unit strings instrument files write
LENGTH_UNITS_TO_NM = {"nm": 1.0, "µm": 1e3, "um": 1e3, "micron": 1e3, "mm": 1e6, "m": 1e9, "Å": 0.1, "A": 0.1, "pm": 1e-3}
ENERGY_UNITS_TO_EV = {"eV": 1.0, "keV": 1e3}
# loggers of the readers that report a damaged file before raising; load() raises one InputError instead
READER_LOGGERS = ("hyperspy.io", "tifffile", "rsciio")
# A lazily loaded signal is cut into blocks of about this size, whole spectra each: files
# arrive with any chunking (HyperSpy's own is ~1 MB, others a frame or none), and one Dask
# task per small chunk costs more in scheduling than in reading (35 s against 3 s for a
# 1 GiB map).  Peak memory is a few blocks per thread.
LAZY_BLOCK_MiB = 64


def hyperspy():
    """hyperspy.api with exspy's signal types registered, without start-up chatter.

    HyperSpy resets the level of its "hyperspy" logger on import, so the optional-Numba
    notice is silenced on its own child logger, which keeps the level set here.

    Returns
    -------
    module
        ``hyperspy.api``, imported only when a step needs it so that listing tasks
        stays instant.
    """
    logging.getLogger("hyperspy.decorators").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import exspy  # noqa: F401  (registers EDS and EELS signal types)
        import hyperspy.api as hs
    logging.getLogger("hyperspy").setLevel(logging.ERROR)  # HyperSpy resets its level on import
    return hs


def load(path: Path, lazy: bool = False):
    """One signal from a file, so that corrupt or multi-signal files become input errors.

    Parameters
    ----------
    path
        The file (a declared input of the calling step).
    lazy
        Keep the data on disk (a spectrum image may not fit in memory), in Dask blocks
        of about :data:`LAZY_BLOCK_MiB` holding whole signals.

    Returns
    -------
    hyperspy.signal.BaseSignal
        The signal with its axes and metadata as RosettaSciIO read them.

    Raises
    ------
    InputError
        The file is missing, empty, unreadable, holds more than one signal, or holds a
        value that is not a finite number (:func:`check_finite`).
    """
    hs = hyperspy()
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file is missing")
    if path.stat().st_size == 0:
        raise InputError(path, "file is empty")
    failure = None
    with warnings.catch_warnings(), _quiet(READER_LOGGERS):
        warnings.simplefilter("ignore")
        try:
            signal = hs.load(path, lazy=lazy)
        except Exception as err:  # RosettaSciIO raises many types for corrupt files
            failure = f"{type(err).__name__}: {err}"
            # its TIFF reader leaves the file open when it raises: dropping the reader's
            # frames closes the file now, rather than at some later garbage collection
            traceback.clear_frames(err.__traceback__)
        if failure is not None:
            gc.collect()
    if failure is not None:
        raise InputError(path, f"cannot be read by RosettaSciIO ({failure})")
    if isinstance(signal, list):
        raise InputError(path, f"holds {len(signal)} signals; expected one")
    if lazy:
        import dask

        with dask.config.set({"array.chunk-size": f"{LAZY_BLOCK_MiB}MiB"}):
            signal.rechunk(nav_chunks="auto", sig_chunks=-1)
    check_finite(signal.data, path)
    return signal


@contextlib.contextmanager
def _quiet(names: tuple[str, ...]) -> Iterator[None]:
    """Silence the readers' own log lines while loading: a failure becomes one InputError."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def check_finite(data, path: Path) -> None:
    """Refuse data holding NaN or infinity, naming how many values and the first one's index.

    A non-finite pixel or channel propagates through every sum, fit and correlation
    into the numbers (or stops a library with a message that names no file).
    Integer data are finite by construction; lazy (dask) data are checked chunk by
    chunk, so a spectrum image larger than memory is still checked.

    Parameters
    ----------
    data
        A signal's data (numpy or dask array).
    path
        The file, for messages.

    Raises
    ------
    InputError
        Some value is NaN or infinite.
    """
    if not np.issubdtype(data.dtype, np.inexact):
        return
    bad = ~np.isfinite(data)
    count = int(bad.sum().compute() if hasattr(bad, "compute") else bad.sum())
    if count:
        flat = bad.ravel().argmax()
        first = np.unravel_index(int(flat.compute() if hasattr(flat, "compute") else flat), data.shape)
        where = tuple(int(i) for i in first)
        raise InputError(path, f"{count} of its {data.size} values {'is' if count == 1 else 'are'} not a finite "
                               f"number (NaN or infinity), the first at index {where}")


def axis_scale(axis, path: Path, to: Mapping[str, float], what: str) -> tuple[float, float]:
    """(scale, offset) of an axis in the unit ``to`` converts into.

    An uncalibrated axis is an error rather than a silent reading in pixels or channels.

    Parameters
    ----------
    axis
        A HyperSpy axis (signal or navigation).
    path
        The file the axis belongs to, for messages.
    to
        Unit string -> factor into the target unit (:data:`LENGTH_UNITS_TO_NM`,
        :data:`ENERGY_UNITS_TO_EV`).
    what
        What the axis measures ("image", "energy", "position"), for messages.

    Returns
    -------
    tuple of float
        Scale and offset in the target unit.

    Raises
    ------
    InputError
        The axis's unit is not one ``to`` knows, its scale is not positive and finite,
        or its offset is not finite.
    """
    units = str(axis.units).strip()
    if units not in to:
        raise InputError(path, f"{what} axis '{axis.name}' has no usable calibration (units {units!r}, "
                               f"scale {axis.scale}); expected one of {sorted(to)}")
    if not np.isfinite(axis.scale) or axis.scale <= 0:
        raise InputError(path, f"{what} axis '{axis.name}' has a nonsensical scale {axis.scale} {units}")
    if not np.isfinite(axis.offset):
        raise InputError(path, f"{what} axis '{axis.name}' has a non-finite offset {axis.offset} {units}")
    return axis.scale * to[units], axis.offset * to[units]


def axis_positions_nm(axis, path: Path, what: str) -> np.ndarray:
    """Calibrated positions (nm) along a length axis, e.g. the beam positions of a line scan.

    Parameters
    ----------
    axis
        A HyperSpy axis with a length unit.
    path
        The file the axis belongs to, for messages.
    what
        What the axis measures, for messages.

    Returns
    -------
    numpy.ndarray
        ``offset + scale * index`` in nm, one entry per index of the axis.

    Raises
    ------
    InputError
        The axis is not calibrated in a length unit.
    """
    scale, offset = axis_scale(axis, path, LENGTH_UNITS_TO_NM, what)
    return offset + scale * np.arange(axis.size)


def pixel_size_nm(signal, path: Path) -> float:
    """Square pixel size of an image (its two signal axes) in nm.

    Parameters
    ----------
    signal
        An image (or a stack of images: only the signal axes count).
    path
        The file, for messages.

    Returns
    -------
    float
        The pixel size in nm.

    Raises
    ------
    InputError
        The signal is not an image, an axis is uncalibrated, or the pixels are not square.
    """
    scales = [axis_scale(axis, path, LENGTH_UNITS_TO_NM, "image")[0] for axis in signal.axes_manager.signal_axes]
    if len(scales) != 2:
        raise InputError(path, f"expected an image (2 signal axes), found {len(scales)}")
    if not np.isclose(scales[0], scales[1], rtol=1e-3):
        raise InputError(path, f"pixels are not square ({scales[0]:.4g} x {scales[1]:.4g} nm)")
    return float(scales[0])


def energy_axis(signal, path: Path, unit: str) -> np.ndarray:
    """The calibrated energy axis of a spectrum.

    Parameters
    ----------
    signal
        A spectrum (its first signal axis is the energy).
    path
        The file, for messages.
    unit
        ``"eV"`` or ``"keV"``: the unit the caller computes in.

    Returns
    -------
    numpy.ndarray
        One energy per channel, in ``unit``.

    Raises
    ------
    InputError
        The energy axis is not calibrated in eV or keV.
    """
    axis = signal.axes_manager.signal_axes[0]
    scale, offset = axis_scale(axis, path, ENERGY_UNITS_TO_EV, "energy")
    factor = ENERGY_UNITS_TO_EV[unit]
    return (offset + scale * np.arange(axis.size)) / factor

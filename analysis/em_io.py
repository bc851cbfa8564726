"""Loading electron-microscopy files with HyperSpy/RosettaSciIO, and checking them.

Every check raises an InputError naming the file, so a user's own data with a missing
calibration or an unexpected shape stops the build with one readable sentence.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from paperbuild.errors import InputError

LENGTH_UNITS_TO_NM = {"nm": 1.0, "µm": 1e3, "um": 1e3, "micron": 1e3, "mm": 1e6, "m": 1e9, "Å": 0.1, "A": 0.1, "pm": 1e-3}
ENERGY_UNITS_TO_EV = {"eV": 1.0, "keV": 1e3}


def hyperspy():
    """hyperspy.api with exspy's signal types registered, without start-up chatter.

    HyperSpy resets the level of its "hyperspy" logger on import, so the optional-Numba
    notice is silenced on its own child logger, which keeps the level set here.
    """
    logging.getLogger("hyperspy.decorators").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import exspy  # noqa: F401  (registers EDS and EELS signal types)
        import hyperspy.api as hs
    logging.getLogger("hyperspy").setLevel(logging.ERROR)  # HyperSpy resets its level on import
    return hs


def load(path: Path, lazy: bool = False):
    """One signal from a file; unreadable or multi-signal files are input errors."""
    hs = hyperspy()
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file is missing")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            signal = hs.load(path, lazy=lazy)
    except Exception as err:  # RosettaSciIO raises many types for corrupt files
        raise InputError(path, f"cannot be read by RosettaSciIO ({type(err).__name__}: {err})") from None
    if isinstance(signal, list):
        raise InputError(path, f"holds {len(signal)} signals; expected one")
    return signal


def axis_scale(axis, path: Path, to: dict[str, float], what: str) -> tuple[float, float]:
    """(scale, offset) of an axis converted with ``to``; uncalibrated axes are errors."""
    units = str(axis.units).strip()
    if units not in to:
        raise InputError(path, f"{what} axis '{axis.name}' has no usable calibration (units {units!r}, "
                               f"scale {axis.scale}); expected one of {sorted(to)}")
    if not np.isfinite(axis.scale) or axis.scale <= 0:
        raise InputError(path, f"{what} axis '{axis.name}' has a nonsensical scale {axis.scale} {units}")
    return axis.scale * to[units], axis.offset * to[units]


def pixel_size_nm(signal, path: Path) -> float:
    """Square pixel size of an image (its two signal axes) in nm."""
    scales = [axis_scale(axis, path, LENGTH_UNITS_TO_NM, "image")[0] for axis in signal.axes_manager.signal_axes]
    if len(scales) != 2:
        raise InputError(path, f"expected an image (2 signal axes), found {len(scales)}")
    if not np.isclose(scales[0], scales[1], rtol=1e-3):
        raise InputError(path, f"pixels are not square ({scales[0]:.4g} x {scales[1]:.4g} nm)")
    return float(scales[0])


def energy_axis(signal, path: Path, unit: str) -> np.ndarray:
    """The calibrated energy axis of a spectrum in ``unit`` ('eV' or 'keV')."""
    axis = signal.axes_manager.signal_axes[0]
    scale, offset = axis_scale(axis, path, ENERGY_UNITS_TO_EV, "energy")
    factor = ENERGY_UNITS_TO_EV[unit]
    return (offset + scale * np.arange(axis.size)) / factor

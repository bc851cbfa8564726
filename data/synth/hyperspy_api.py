"""HyperSpy for the synthetic instrument's writers, imported quietly.

The synthetic instrument writes ``.hspy``, TIFF and EMSA files through HyperSpy and
RosettaSciIO, as the real acquisition software's exports would be read.  It imports
HyperSpy through this helper rather than the analysis's loader: the synthetic instrument
shares no code with ``analysis/`` (design.md).
"""
from __future__ import annotations

import logging
import warnings
from types import ModuleType

QUIET_LOGGERS = ("hyperspy", "exspy", "rsciio")


def hyperspy_api() -> ModuleType:
    """``hyperspy.api``, with exspy's EDS and EELS signal types available, imported without chatter.

    On import HyperSpy warns once per accelerated routine when Numba is missing and
    emits deprecation warnings; none of it concerns the files written, and it would
    bury the synthetic instrument's own log of what it wrote.  Logging is switched off
    for the duration of the import (HyperSpy resets its own logger's level while it
    imports, so setting that level beforehand would not hold), then the libraries'
    loggers are left at ERROR.

    Returns
    -------
    module
        The ``hyperspy.api`` module.
    """
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import exspy  # noqa: F401  (EDSTEMSpectrum, EELSSpectrum)
            import hyperspy.api as hs
    finally:
        logging.disable(previous)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    return hs

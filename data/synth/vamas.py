"""Writer for VAMAS (ISO 14976) files as a Kratos AXIS instrument exports them.

The PyPI ``vamas`` package reads VAMAS but cannot write it, so the synthetic instrument
writes the format itself: NORM experiment mode, REGULAR scans on a kinetic-energy axis,
one experimental variable (the etch time), every block complete (no inclusion list).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

IDENTIFIER = "VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4"


@dataclass(frozen=True)
class Block:
    """One region at one etch step, counts on an ascending kinetic-energy axis."""

    name: str            # e.g. "N 1s/54"
    sample: str
    species: str         # "N"
    transition: str      # "1s"
    etch_time_s: float
    kinetic_start_eV: float
    step_eV: float
    counts: np.ndarray
    acquired: datetime
    comment: str = ""


# The AXIS Supra's slot aperture: the analysed area, x by y (um), recorded in every block.
ANALYSIS_AREA_UM = (300, 700)

def _block_lines(block: Block, source_eV: float, work_function_eV: float) -> list[str]:
    when = block.acquired
    comments = block.comment.splitlines()
    return [
        block.name, block.sample,
        *(str(v) for v in (when.year, when.month, when.day, when.hour, when.minute, when.second)),
        "0",                                  # hours in advance of GMT
        str(len(comments)), *comments,
        "XPS",
        f"{block.etch_time_s:g}",             # the experimental variable: etch time
        "Al",                                 # analysis source label (monochromated Al K-alpha)
        f"{source_eV:g}", "225", *(f"{w:g}" for w in ANALYSIS_AREA_UM),  # energy (eV), power (W), beam width x, y (um)
        "0", "0",                             # source polar incidence angle, azimuth
        "FAT", "20",                          # analyser mode, pass energy (eV)
        "1", f"{work_function_eV:g}", "0",    # lens magnification, work function, target bias
        *(f"{w:g}" for w in ANALYSIS_AREA_UM),  # analysis width x, y (um)
        "0", "0",                             # take-off polar angle, azimuth
        block.species, block.transition, "-1",
        "Kinetic Energy", "eV", f"{block.kinetic_start_eV:.4f}", f"{block.step_eV:g}",
        "1", "Intensity", "d",
        "pulse counting", "0.1", "10", "0",   # signal mode, dwell (s), sweeps, dead time
        "0", "0", "0",                        # sample normal tilt, azimuth, rotation
        "0",                                  # additional numerical parameters
        str(len(block.counts)),
        f"{block.counts.min():g}", f"{block.counts.max():g}",
        *(f"{value:g}" for value in block.counts),
    ]


def write_vamas(path: Path, blocks: Sequence[Block], *, institution: str, instrument: str, operator: str,
                experiment: str, comments: Sequence[str], source_eV: float, work_function_eV: float) -> Path:
    """Write ``blocks`` as one VAMAS experiment (CRLF line ends, ASCII)."""
    regions = len({b.species + b.transition for b in blocks})
    lines = [IDENTIFIER, institution, instrument, operator, experiment,
             str(len(comments)), *comments,
             "NORM", "REGULAR", str(regions),
             "1", "Etch Time", "s",              # one experimental variable
             "0", "0", "0", "0",                 # inclusion list, manual items, future upgrades
             str(len(blocks))]
    for block in blocks:
        lines += _block_lines(block, source_eV, work_function_eV)
    lines.append("end of experiment")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))
    return path

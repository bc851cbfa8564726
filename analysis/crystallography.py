"""Reference reflections of the interphase phases, computed from their lattices with ASE.

The lattices and the reflection families used for identification are external facts
kept with their sources in the project's cited phases file; the caller hands this module
that file (the declared input ``phases`` of its step) or its loaded contents.  This module turns them
into interplanar spacings and spatial frequencies, and says which reflections of
different phases cannot be told apart at a given frequency resolution.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# The candidate phases of the Li/LiPON interphase, in the column order of every table
INTERPHASE_PHASES = ("Li", "Li2O", "Li3N", "Li3PO4")


@dataclass(frozen=True)
class Reflection:
    """One reflection family of one phase."""

    phase: str
    hkl: tuple[int, int, int]
    d_A: float

    @property
    def q_per_A(self) -> float:
        """Spatial frequency (1/Å) at which the reflection's fringes appear in an FFT."""
        return 1.0 / self.d_A

    @property
    def label(self) -> str:
        """How tables and figures name it, e.g. ``Li3N (101)``."""
        return f"{self.phase} ({''.join(str(i) for i in self.hkl)})"


def load_phases(path: Path) -> dict[str, dict[str, Any]]:
    """The cited lattices and reflection families.

    Parameters
    ----------
    path
        The cited phases file as the runner hands it to the step (role ``phases``), so
        that editing a lattice reruns exactly the steps that read it.

    Returns
    -------
    dict
        Phase name -> ``{"cell": {a, b, c, alpha, beta, gamma}, "reflections": [[h, k, l], ...], ...}``.
    """
    import yaml

    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def d_spacing(cell: Mapping[str, float], hkl: tuple[int, int, int]) -> float:
    """Interplanar spacing (Å) of ``hkl`` in a lattice, from its reciprocal lattice.

    Computed rather than typed so that the reference rings follow the cited lattice
    and work for any cell (Li3N is hexagonal, Li3PO4 orthorhombic).

    Parameters
    ----------
    cell
        Lattice parameters ``a, b, c`` (Å) and ``alpha, beta, gamma`` (degrees).
    hkl
        Miller indices.

    Returns
    -------
    float
        The spacing in Å.
    """
    from ase.geometry import cellpar_to_cell

    lattice = cellpar_to_cell([cell[k] for k in ("a", "b", "c", "alpha", "beta", "gamma")])
    reciprocal = np.linalg.inv(lattice).T  # rows: reciprocal vectors without 2 pi
    return float(1.0 / np.linalg.norm(np.asarray(hkl, float) @ reciprocal))


def reflections(phases: Mapping[str, Mapping[str, Any]], names: Iterable[str] = INTERPHASE_PHASES) -> list[Reflection]:
    """Every listed reflection of the named phases, in the order the file lists them.

    Parameters
    ----------
    phases
        Loaded phase data (:func:`load_phases`).
    names
        The phases to include.

    Returns
    -------
    list of Reflection
        Phase by phase, in the order of ``names``.

    Raises
    ------
    KeyError
        A named phase is not in ``phases``.
    """
    return [Reflection(name, tuple(hkl), d_spacing(phases[name]["cell"], tuple(hkl)))
            for name in names for hkl in phases[name]["reflections"]]


def unresolved(refs: list[Reflection], pixel_A: float) -> list[Reflection]:
    """Reflections finer than the image can sample (d below two pixels, Nyquist).

    Parameters
    ----------
    refs
        Reference reflections.
    pixel_A
        Pixel size of the image (Å).

    Returns
    -------
    list of Reflection
        Those the image cannot show; an analysis relying on them would be blind.
    """
    return [r for r in refs if r.d_A < 2.0 * pixel_A]


def ambiguous_pairs(refs: list[Reflection], resolution_per_A: float) -> list[tuple[Reflection, Reflection]]:
    """Pairs of reflections of different phases closer in frequency than the resolution.

    A single fringe spacing in such a pair cannot name its phase; the paper's table lists
    these pairs to justify fitting each phase with all of its reflections at once.

    Parameters
    ----------
    refs
        Reference reflections.
    resolution_per_A
        Smallest frequency difference (1/Å) that can be told apart.

    Returns
    -------
    list of (Reflection, Reflection)
        In the order of ``refs``.
    """
    pairs = []
    for i, a in enumerate(refs):
        for b in refs[i + 1:]:
            if a.phase != b.phase and abs(a.q_per_A - b.q_per_A) < resolution_per_A:
                pairs.append((a, b))
    return pairs

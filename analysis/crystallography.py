"""Reference reflections of the interphase phases, computed from their lattices with ASE.

The lattices and the reflection families used for identification are external facts
kept in ``data/external/phases.yaml`` with their sources.  This module turns them into
interplanar spacings and spatial frequencies, and says which reflections of different
phases cannot be told apart at a given frequency resolution.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

PHASES_FILE = Path(__file__).resolve().parent.parent / "data" / "external" / "phases.yaml"
INTERPHASE_PHASES = ("Li", "Li2O", "Li3N", "Li3PO4")


@dataclass(frozen=True)
class Reflection:
    phase: str
    hkl: tuple[int, int, int]
    d_A: float

    @property
    def q_per_A(self) -> float:
        return 1.0 / self.d_A

    @property
    def label(self) -> str:
        return f"{self.phase} ({''.join(str(i) for i in self.hkl)})"


def load_phases(path: Path = PHASES_FILE) -> dict[str, dict]:
    import yaml

    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def d_spacing(cell: dict[str, float], hkl: tuple[int, int, int]) -> float:
    """Interplanar spacing (Å) of ``hkl`` in the lattice ``cell`` (a, b, c, alpha, beta, gamma)."""
    from ase.geometry import cellpar_to_cell

    lattice = cellpar_to_cell([cell[k] for k in ("a", "b", "c", "alpha", "beta", "gamma")])
    reciprocal = np.linalg.inv(lattice).T  # rows: reciprocal vectors without 2 pi
    return float(1.0 / np.linalg.norm(np.asarray(hkl, float) @ reciprocal))


def reflections(phases: dict[str, dict] | None = None, names=INTERPHASE_PHASES) -> list[Reflection]:
    phases = load_phases() if phases is None else phases
    return [Reflection(name, tuple(hkl), d_spacing(phases[name]["cell"], tuple(hkl)))
            for name in names for hkl in phases[name]["reflections"]]


def unresolved(refs: list[Reflection], pixel_A: float) -> list[Reflection]:
    """Reflections finer than the image can sample (d below two pixels, Nyquist)."""
    return [r for r in refs if r.d_A < 2.0 * pixel_A]


def ambiguous_pairs(refs: list[Reflection], resolution_per_A: float) -> list[tuple[Reflection, Reflection]]:
    """Pairs of reflections of different phases closer in frequency than the resolution."""
    pairs = []
    for i, a in enumerate(refs):
        for b in refs[i + 1:]:
            if a.phase != b.phase and abs(a.q_per_A - b.q_per_A) < resolution_per_A:
                pairs.append((a, b))
    return pairs

"""Interplanar spacings of the interphase phases, from the metric tensor of each lattice.

The synthetic microscope draws lattice fringes at the spacings the cited lattices in
``data/external/phases.yaml`` imply.  The synthetic instrument shares no code with
``analysis/`` (design.md, "One declaration, and measured accuracy"), so that a mistake
there cannot confirm itself here: this module reads the facts file on its own and works
in the reciprocal metric, 1/d² = hᵀ G* h with G* = G⁻¹, rather than through a Cartesian
cell matrix.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from paperbuild.paths import PROJECT_ROOT

EXTERNAL = PROJECT_ROOT / "data" / "external"
PHASES_FILE = EXTERNAL / "phases.yaml"
CELL_KEYS = ("a", "b", "c", "alpha", "beta", "gamma")


def read_facts(path: Path) -> dict[str, Any]:
    """One facts file of ``data/external`` as plain Python data.

    The synthetic instrument reads the cited facts itself instead of borrowing the
    analysis's loaders, so that the two sides meet only in the data files.

    Parameters
    ----------
    path
        A YAML file holding a mapping at its top level.

    Returns
    -------
    dict
        The file's top-level mapping.
    """
    import yaml

    content = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(content, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return content


def metric_tensor(cell: Mapping[str, float]) -> np.ndarray:
    """Real-space metric tensor G (G_ij = a_i · a_j) of a lattice.

    Working with G keeps every crystal system (cubic to triclinic) in one formula and
    needs no choice of Cartesian frame, which is where hand-written cell matrices go wrong.

    Parameters
    ----------
    cell
        Lattice parameters ``a``, ``b``, ``c`` (Å) and ``alpha``, ``beta``, ``gamma``
        (degrees), as the facts files give them.

    Returns
    -------
    numpy.ndarray
        The symmetric 3 x 3 tensor in Å².
    """
    a, b, c = (float(cell[k]) for k in CELL_KEYS[:3])
    cos_alpha, cos_beta, cos_gamma = (np.cos(np.radians(float(cell[k]))) for k in CELL_KEYS[3:])
    return np.array([[a * a, a * b * cos_gamma, a * c * cos_beta],
                     [a * b * cos_gamma, b * b, b * c * cos_alpha],
                     [a * c * cos_beta, b * c * cos_alpha, c * c]])


def reciprocal_metric(cell: Mapping[str, float]) -> np.ndarray:
    """Reciprocal metric tensor G* = G⁻¹ (Å⁻²), the quadratic form of 1/d².

    Parameters
    ----------
    cell
        Lattice parameters as for :func:`metric_tensor`.

    Returns
    -------
    numpy.ndarray
        The symmetric 3 x 3 tensor in Å⁻².
    """
    return np.linalg.inv(metric_tensor(cell))


def d_spacing(cell: Mapping[str, float], hkl: Sequence[int]) -> float:
    """Interplanar spacing of the planes (hkl): d = 1 / sqrt(hᵀ G* h).

    Parameters
    ----------
    cell
        Lattice parameters as for :func:`metric_tensor`.
    hkl
        Miller indices of the planes (not all zero).

    Returns
    -------
    float
        The spacing in Å.
    """
    h = np.asarray(hkl, dtype=float)
    inverse_square = float(h @ reciprocal_metric(cell) @ h)
    if inverse_square <= 0.0:
        raise ValueError(f"({' '.join(str(i) for i in hkl)}) is not a lattice plane")
    return 1.0 / np.sqrt(inverse_square)


def fringe_spacings(names: Iterable[str], path: Path = PHASES_FILE) -> dict[str, list[float]]:
    """The spacings (Å) of each phase's reference reflections, in the facts file's order.

    The microscope model draws each crystallite's fringes from these lists; their order
    is kept as cited so that the random draws pick the same reflections every time.

    Parameters
    ----------
    names
        Phases wanted, as keyed in the facts file (e.g. ``"Li"``, ``"Li2O"``).
    path
        The phases facts file (``data/external/phases.yaml`` by default).

    Returns
    -------
    dict
        Phase name to the list of d-spacings of its ``reflections``, in Å.
    """
    phases = read_facts(path)
    return {name: [d_spacing(phases[name]["cell"], hkl) for hkl in phases[name]["reflections"]]
            for name in names}

"""Powder lines of Li2CO3 (zabuyelite) from its cited structure, for the synthetic diffractometer.

The air-exposed LiPON pattern carries Li2CO3 peaks where the structure in
``data/external/li2co3_structure.yaml`` puts them.  The synthetic instrument shares no
code with ``analysis/`` (design.md), so these lines are computed here afresh, from the
physics, and differ in method from the analysis's on purpose:

* the asymmetric unit is expanded with the general positions of space group 15 written
  out below from the International Tables (not with a space-group library);
* d-spacings come from the reciprocal metric tensor (:mod:`data.synth.lattice`);
* reflections are grouped into families related by the Laue group of the space group;
  one structure factor per family, F = Σ_j f_j(s) exp(2πi h·x_j), is weighted by the
  family's multiplicity;
* families whose spacings agree to 10⁻⁴ Å (the precision the cited cell, given to
  10⁻⁴ Å, supports) form one powder line, placed at that rounded spacing: at most
  5·10⁻⁵ Å and 0.003° of 2θ (below 70°) from the exact one, far inside the 0.22° peak
  width and the 0.02° step.  This convention is the one the committed raw tree was
  written with; placing lines at the exact spacing would change a few hundred Poisson
  counts of the air-exposed pattern;
* a line's intensity is Σ m |F|² over its families times the Lorentz-polarisation
  factor (1 + cos² 2θ) / (sin² θ cos θ) of an unpolarised beam without monochromator,
  and lines are scaled so that the strongest is 1.

Atomic form factors f0(s), s = sin θ / λ, are the Waasmaier-Kirfel fits as ``xraydb``
tabulates them.  No thermal (Debye-Waller) damping, no absorption, no preferred
orientation: the pattern is a stand-in, and the analysis only needs line positions and
which lines are strong.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from data.synth.lattice import CELL_KEYS, EXTERNAL, read_facts, reciprocal_metric

STRUCTURE_FILE = EXTERNAL / "li2co3_structure.yaml"
D_PRECISION_DECIMALS = 4  # spacings agree to 1e-4 Å: they are one line (the cell is cited to ~1e-4 Å)
# numpy's rounding (scale, round half to even, unscale), not Python's correctly rounded round():
# they differ at exact halves such as d(020) = b/2 = 2.48625 Å, and the committed raw tree
# was written with numpy's.
ABSENT = 1e-6  # |F|² (electrons²) below this: systematically absent

_HALF = Fraction(1, 2)
# Space group 15, C 1 2/c 1 (unique axis b, cell choice 1), International Tables Vol. A:
# the general position (rotation rows, translation) and the C-centring translations.
_C2C_COSET = (
    (((1, 0, 0), (0, 1, 0), (0, 0, 1)), (0, 0, 0)),           # x, y, z
    (((-1, 0, 0), (0, 1, 0), (0, 0, -1)), (0, 0, _HALF)),     # -x, y, -z+1/2
    (((-1, 0, 0), (0, -1, 0), (0, 0, -1)), (0, 0, 0)),        # -x, -y, -z
    (((1, 0, 0), (0, -1, 0), (0, 0, 1)), (0, 0, _HALF)),      # x, -y, z+1/2
)
_C_CENTRING = ((0, 0, 0), (_HALF, _HALF, 0))
SPACE_GROUP_OPERATIONS: dict[int, tuple] = {
    15: tuple((np.array(rotation), np.array([float(t + c) for t, c in zip(shift, centre)]))
              for centre in _C_CENTRING for rotation, shift in _C2C_COSET),
}


@dataclass(frozen=True)
class Line:
    """One powder line: every reflection of one spacing."""

    hkl: tuple[int, int, int]  # a representative of the strongest family on the line
    d_A: float
    two_theta_deg: float
    intensity: float  # relative to the strongest line, 1.0
    multiplicity: int  # reflections (hkl and its equivalents) on the line


def read_structure(path: Path = STRUCTURE_FILE) -> dict[str, Any]:
    """The cited crystal structure: space group number, cell and asymmetric unit.

    Parameters
    ----------
    path
        Structure facts file with ``space_group``, ``cell`` and ``sites`` (each site a
        list ``[symbol, x, y, z]`` in fractional coordinates).

    Returns
    -------
    dict
        The file's content, checked for the keys this model needs.
    """
    spec = read_facts(path)
    missing = [key for key in ("space_group", "cell", "sites") if key not in spec]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    return spec


def expand_sites(sites: Sequence[Sequence[Any]], space_group: int,
                 tolerance: float = 1e-4) -> list[tuple[str, np.ndarray]]:
    """All atoms of the unit cell from the asymmetric unit, by the space group's operations.

    A site on a special position maps onto itself under some operations; images closer
    than ``tolerance`` (fractional, modulo lattice translations) are one atom, so the
    cell holds each atom once and the structure factor counts it once.

    Parameters
    ----------
    sites
        ``[symbol, x, y, z]`` per site of the asymmetric unit.
    space_group
        International Tables number; only groups listed in ``SPACE_GROUP_OPERATIONS``.
    tolerance
        Largest fractional distance at which two images are the same atom.

    Returns
    -------
    list of (str, numpy.ndarray)
        Chemical symbol and fractional position (each coordinate in [0, 1)) per atom.
    """
    if space_group not in SPACE_GROUP_OPERATIONS:
        raise ValueError(f"space group {space_group} is not written out in data/synth/powder.py")
    atoms: list[tuple[str, np.ndarray]] = []
    for symbol, *xyz in sites:
        position = np.asarray(xyz, dtype=float)
        images: list[np.ndarray] = []
        for rotation, translation in SPACE_GROUP_OPERATIONS[space_group]:
            image = np.mod(rotation @ position + translation, 1.0)
            if not any(np.all(np.abs((image - seen + 0.5) % 1.0 - 0.5) < tolerance) for seen in images):
                images.append(image)
        atoms += [(str(symbol), image) for image in images]
    return atoms


def laue_family(hkl: tuple[int, int, int], space_group: int) -> set[tuple[int, int, int]]:
    """The reflections equivalent to ``hkl`` in a powder pattern (its Laue-class orbit).

    Without anomalous scattering |F(h)| = |F(-h)| (Friedel), so the point group's
    rotations, with inversion added, give the reflections of equal intensity; the size
    of the orbit is the multiplicity.

    Parameters
    ----------
    hkl
        Miller indices.
    space_group
        International Tables number, as for :func:`expand_sites`.

    Returns
    -------
    set of tuple
        The equivalent Miller indices, ``hkl`` included.
    """
    h = np.asarray(hkl)
    family = set()
    for rotation, _ in SPACE_GROUP_OPERATIONS[space_group]:
        image = h @ rotation  # Miller indices transform with the transpose of the rotation
        family.add(tuple(int(v) for v in image))
        family.add(tuple(int(-v) for v in image))
    return family


def structure_factor(hkl: Sequence[int], atoms: Sequence[tuple[str, np.ndarray]],
                     form_factors: Mapping[str, float]) -> complex:
    """Kinematic structure factor F(hkl) = Σ_j f_j exp(2πi h·x_j) of one unit cell.

    Parameters
    ----------
    hkl
        Miller indices.
    atoms
        Symbol and fractional position of every atom of the cell (:func:`expand_sites`).
    form_factors
        Form factor f0 (electrons) of each element at this reflection's sin θ / λ.

    Returns
    -------
    complex
        F in electrons.
    """
    total = 0j
    for symbol, position in atoms:
        argument = 2.0 * np.pi * (hkl[0] * position[0] + hkl[1] * position[1] + hkl[2] * position[2])
        total += form_factors[symbol] * complex(np.cos(argument), np.sin(argument))
    return total


def lorentz_polarisation(theta_rad: float) -> float:
    """Lorentz-polarisation factor of a powder line, unpolarised beam, no monochromator.

    Parameters
    ----------
    theta_rad
        Bragg angle θ (half of 2θ) in radians.

    Returns
    -------
    float
        (1 + cos² 2θ) / (sin² θ cos θ).
    """
    return (1.0 + np.cos(2.0 * theta_rad) ** 2) / (np.sin(theta_rad) ** 2 * np.cos(theta_rad))


def powder_lines(structure: Mapping[str, Any], wavelength_A: float, two_theta_max_deg: float) -> list[Line]:
    """The powder lines of a structure up to ``two_theta_max_deg``, strongest = 1.

    The synthetic diffractometer turns these into peaks; which lines are strong and
    where they sit is what the analysis must recover.

    Parameters
    ----------
    structure
        The structure as :func:`read_structure` returns it.
    wavelength_A
        X-ray wavelength in Å.
    two_theta_max_deg
        Highest scattering angle 2θ (degrees) to include.

    Returns
    -------
    list of Line
        Lines with non-zero intensity, ascending in 2θ.
    """
    import xraydb

    space_group = int(structure["space_group"])
    cell = structure["cell"]
    atoms = expand_sites(structure["sites"], space_group)
    g_star = reciprocal_metric(cell)
    d_min = wavelength_A / (2.0 * np.sin(np.radians(two_theta_max_deg) / 2.0))
    # |h| = |g · a| <= |a| / d: the box that holds every plane with d >= d_min
    bounds = [int(np.floor(float(cell[key]) / d_min)) for key in CELL_KEYS[:3]]
    families: dict[tuple[int, int, int], tuple[float, int, float]] = {}  # representative -> (d, m, |F|²)
    seen: set[tuple[int, int, int]] = set()
    for hkl in itertools.product(*(range(-n, n + 1) for n in bounds)):
        if hkl == (0, 0, 0) or hkl in seen:
            continue
        family = laue_family(hkl, space_group)
        seen |= family
        h = np.asarray(hkl, dtype=float)
        d = float(1.0 / np.sqrt(float(h @ g_star @ h)))
        if d < d_min:
            continue
        s = 1.0 / (2.0 * d)
        f0 = {symbol: float(xraydb.f0(symbol, s)[0]) for symbol in {symbol for symbol, _ in atoms}}
        squared = abs(structure_factor(hkl, atoms, f0)) ** 2
        if squared >= ABSENT:
            families[max(family)] = (d, len(family), squared)
    grouped: dict[float, list[tuple[tuple[int, int, int], int, float]]] = {}
    for representative, (d, multiplicity, squared) in families.items():
        grouped.setdefault(float(np.round(d, D_PRECISION_DECIMALS)), []).append((representative, multiplicity, squared))
    lines = []
    for d, members in grouped.items():
        theta = float(np.arcsin(wavelength_A / (2.0 * d)))
        strongest = max(members, key=lambda member: member[1] * member[2])
        lines.append(Line(strongest[0], d, float(np.degrees(2.0 * theta)),
                          float(sum(m * squared for _, m, squared in members) * lorentz_polarisation(theta)),
                          sum(m for _, m, _ in members)))
    top = max(line.intensity for line in lines)
    return sorted((Line(line.hkl, line.d_A, line.two_theta_deg, line.intensity / top, line.multiplicity)
                   for line in lines), key=lambda line: line.two_theta_deg)

"""DFT and AIMD results: NEB barriers (Fig 5B), the amorphous LiPON cell (Fig S7), and
the formation energies taken from the Materials Project.

Definitions (stated in the supplement's methods):

* a barrier is the maximum of the energy along the NEB path minus the energy of the
  first image; the path between images is a cubic Hermite interpolation that uses each
  image's energy and its force along the band (as VTST's ``nebresults`` does), so a
  saddle lying between images is not missed;
* the AIMD composition is read from the POSCAR with ASE and expressed per P atom.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis import datatable
from paperbuild.errors import InputError
from paperbuild.numbers import Number, count, quantity

if TYPE_CHECKING:
    from ase import Atoms

SPECIES = ("P", "N", "O")           # the interstitials computed; input roles neb_P, neb_N, neb_O
CELL_ELEMENTS = ("Li", "P", "O", "N")  # the elements of LiPON
CITED_COMPOUNDS = ("Li3PO4", "Li3P")   # the formation energies the paper quotes
# No two atoms of a real structure are closer than this (Å): the shortest chemical bond,
# H2's, is 0.74 Å and LiPON's shortest (P-O) about 1.5 Å, so two atoms within 0.5 Å are
# one atom written twice or a damaged file (checked with periodic images).
MIN_INTERATOMIC_A = 0.5
# A cell whose volume is below this fraction of the product of its vector lengths is flat:
# its vectors are coplanar to rounding (a cube gives 1).
MIN_CELL_FLATNESS = 1e-6


@dataclass(frozen=True)
class NebPath:
    """The images of one nudged-elastic-band calculation, along the band."""

    coordinate_A: np.ndarray
    energy_eV: np.ndarray
    force_eV_per_A: np.ndarray


# ------------------------------------------------------------------ pure functions
def interpolate_path(coordinate: np.ndarray, energy: np.ndarray, force: np.ndarray,
                     points: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense path from a cubic Hermite spline whose slopes are minus the band forces.

    Using the forces, not only the energies, places a saddle that lies between images
    (as VTST's ``nebresults`` does).

    Parameters
    ----------
    coordinate, energy, force
        Reaction coordinate (Å, increasing), energy (eV) and force along the band
        (eV/Å) of each image.
    points
        Evenly spaced samples from the first to the last image.

    Returns
    -------
    coordinate, energy
        The sampled path.
    """
    from scipy.interpolate import CubicHermiteSpline

    spline = CubicHermiteSpline(coordinate, energy, -force)
    dense = np.linspace(coordinate[0], coordinate[-1], points)
    return dense, spline(dense)


def barrier_eV(coordinate: np.ndarray, energy: np.ndarray, force: np.ndarray, points: int) -> float:
    """Highest energy along the interpolated path above the first image.

    Parameters
    ----------
    coordinate, energy, force
        The images (:func:`interpolate_path`).
    points
        Samples of the path searched for the maximum; dense enough that the sampling
        does not show in the quoted decimals.

    Returns
    -------
    float
        The barrier (eV).
    """
    _, dense_energy = interpolate_path(coordinate, energy, force, points)
    return float(dense_energy.max() - energy[0])


def formula_per_p(counts: Mapping[str, int]) -> tuple[list[float], str]:
    """Li, O and N per P, and the formula as the paper writes it (Li2.88PO3.44N0.31).

    Parameters
    ----------
    counts
        Atoms of each element in the cell.

    Returns
    -------
    ratios, formula
        Li, O, N per P, and the printed formula.

    Raises
    ------
    ValueError
        The cell holds no P atom.
    """
    if counts.get("P", 0) == 0:
        raise ValueError("the cell holds no P atom")
    ratios = [counts.get(e, 0) / counts["P"] for e in ("Li", "O", "N")]
    return ratios, f"Li{ratios[0]:.2f}PO{ratios[1]:.2f}N{ratios[2]:.2f}"


def element_counts(symbols: list[str]) -> dict[str, int]:
    """Atoms of each LiPON element in a cell.

    Parameters
    ----------
    symbols
        Chemical symbol of every atom.

    Returns
    -------
    dict
        Element -> count, for :data:`CELL_ELEMENTS`.
    """
    return {e: symbols.count(e) for e in CELL_ELEMENTS}


def neb_rows(paths: Mapping[str, NebPath], curve_points: int) -> tuple[list[tuple], list[tuple]]:
    """The images and the interpolated curves of every species, as table rows.

    Parameters
    ----------
    paths
        Species -> its NEB images.
    curve_points
        Samples of each drawn curve (Fig 5B).

    Returns
    -------
    images, curves
        Rows (species, coordinate, energy, force) and (species, coordinate, energy).
    """
    images, curves = [], []
    for species, path in paths.items():
        images += [(species, x, e, f) for x, e, f in zip(path.coordinate_A, path.energy_eV, path.force_eV_per_A)]
        dense, dense_energy = interpolate_path(path.coordinate_A, path.energy_eV, path.force_eV_per_A, curve_points)
        curves += [(species, x, e) for x, e in zip(dense, dense_energy)]
    return images, curves


# ------------------------------------------------------------------ reading
def read_neb(path: Path) -> NebPath:
    """The images of a VTST ``neb.dat`` (image, coordinate, energy, force per row).

    Parameters
    ----------
    path
        The table.

    Returns
    -------
    NebPath
        Reaction coordinate (Å), energy (eV), force along the band (eV/Å).

    Raises
    ------
    InputError
        Not a numeric table, fewer than four columns or three images, a value that is
        not a finite number, or a reaction coordinate that does not increase.
    """
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"not a VTST neb.dat table ({err})") from None
    if not lines:
        raise InputError(path, "holds no images (no data rows)")
    try:
        table = np.loadtxt(lines, ndmin=2)
    except ValueError as err:
        raise InputError(path, f"not a VTST neb.dat table ({err})") from None
    if table.shape[1] < 4:
        raise InputError(path, f"expected columns image, coordinate, energy, force; found {table.shape[1]}")
    if table.shape[0] < 3:
        raise InputError(path, f"has {table.shape[0]} image(s); a barrier needs at least three")
    for column, what in ((1, "coordinate"), (2, "energy"), (3, "force")):
        bad = np.flatnonzero(~np.isfinite(table[:, column]))
        if bad.size:
            raise InputError(path, f"image {bad[0]} holds a non-finite {what} ({table[bad[0], column]}) in row "
                                   f"{bad[0] + 1}; every coordinate, energy and force must be a finite number")
    coordinate, energy, force = table[:, 1], table[:, 2], table[:, 3]
    if np.any(np.diff(coordinate) <= 0):
        raise InputError(path, "the reaction coordinate does not increase from image to image")
    return NebPath(coordinate, energy, force)


def read_poscar(path: Path) -> Atoms:
    """The AIMD cell with ASE, after checking the counts line against the coordinates.

    Checking the counts line first turns a truncated or hand-edited file into an
    error that states the mismatch, rather than whatever ASE happens to raise.

    Parameters
    ----------
    path
        The POSCAR (VASP 5 format, species line optional).

    Returns
    -------
    ase.Atoms

    Raises
    ------
    InputError
        Unreadable text, a bad counts line, a count that disagrees with the coordinate
        lines, a file ASE cannot parse, or a cell that is physically impossible
        (:func:`cell_problem`).
    """
    from ase.io import read

    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"cannot be read as a POSCAR ({err})") from None
    if not any(line.strip() for line in lines):
        raise InputError(path, "file is empty")
    counts_at = 6 if len(lines) > 6 and re.match(r"^\s*[A-Za-z]", lines[5]) else 5
    try:
        declared = sum(int(n) for n in lines[counts_at].split())
    except (IndexError, ValueError):
        raise InputError(path, f"line {counts_at + 1} should list how many atoms of each species") from None
    if len(lines) <= counts_at + 1:
        raise InputError(path, f"ends at line {len(lines)}, before the coordinates of its {declared} atoms")
    start = counts_at + 2 if not lines[counts_at + 1].strip().lower().startswith("s") else counts_at + 3
    coordinates = [ln for ln in lines[start:] if len(ln.split()) >= 3 and not ln.strip().lower().startswith(("c", "d"))]
    coordinates = [ln for ln in coordinates if all(_is_float(v) for v in ln.split()[:3])]
    if len(coordinates) < declared or (len(coordinates) > declared and not _velocity_block(lines, start, declared)):
        raise InputError(path, f"the counts line declares {declared} atoms but {len(coordinates)} coordinate lines follow")
    try:
        atoms = read(path, format="vasp")
    except Exception as err:  # ASE raises several types for malformed POSCARs
        raise InputError(path, f"ASE cannot read it as a POSCAR ({err})") from None
    problem = cell_problem(atoms, MIN_INTERATOMIC_A)
    if problem:
        raise InputError(path, problem)
    return atoms


def cell_problem(atoms: Atoms, min_distance_A: float) -> str | None:
    """What makes a periodic cell physically impossible, or None when it is sound.

    A POSCAR can be well formed and still describe no material: every atom written on
    one spot, an atom duplicated, a flat cell.  Such a file would publish nonsense
    (a one-atom picture, a composition of atoms that are not there), so the cell must
    have finite lattice vectors spanning a volume, finite positions, and no two atoms
    (periodic images included) closer than ``min_distance_A``.

    Parameters
    ----------
    atoms
        The cell as read (periodic along its cell vectors).
    min_distance_A
        The shortest distance two distinct atoms may have (:data:`MIN_INTERATOMIC_A`).

    Returns
    -------
    str or None
        One sentence naming the problem (the closest pair by index and species), or None.
    """
    from ase.neighborlist import neighbor_list

    cell = np.asarray(atoms.cell, dtype=float)
    if not np.all(np.isfinite(cell)):
        return "the cell has non-finite lattice vectors (check the scale factor and the three lattice lines)"
    lengths = np.linalg.norm(cell, axis=1)
    volume = abs(float(np.linalg.det(cell)))
    if np.any(lengths <= 0) or volume <= MIN_CELL_FLATNESS * float(np.prod(lengths)):
        shown = ", ".join(f"{v:.3g}" for v in lengths)
        return (f"degenerate cell: its volume is {volume:.3g} Å³ for lattice vectors of {shown} Å (they must span "
                f"three dimensions)")
    positions = atoms.get_positions()
    bad = np.flatnonzero(~np.all(np.isfinite(positions), axis=1))
    symbols = atoms.get_chemical_symbols()
    if bad.size:
        return (f"atom {bad[0] + 1} ({symbols[bad[0]]}) has a non-finite position, {bad.size} such atom(s) in the "
                f"cell: every coordinate must be a finite number")
    first, second, distance = neighbor_list("ijd", atoms, min_distance_A)
    keep = first <= second  # each pair once; i == j is an atom and its own periodic image
    if not keep.any():
        return None
    first, second, distance = first[keep], second[keep], distance[keep]
    closest = np.lexsort((second, first, distance))[0]
    i, j, d = int(first[closest]), int(second[closest]), float(distance[closest])
    if i == j:
        return (f"atom {i + 1} ({symbols[i]}) is {d:.3f} Å from its own periodic image: the cell (lattice vectors of "
                f"{', '.join(f'{v:.3g}' for v in lengths)} Å) is smaller than any distance between atoms")
    pairs = len(set(zip(first.tolist(), second.tolist())))
    return (f"atoms {i + 1} ({symbols[i]}) and {j + 1} ({symbols[j]}) are {d:.3f} Å apart (periodic images "
            f"included; {pairs} pair(s) in all closer than {min_distance_A:g} Å): two atoms that close are one "
            f"atom written twice, no chemical bond is that short")


def read_formation_energies(path: Path, compounds: tuple[str, ...]) -> dict[str, float]:
    """The cited formation energies (eV/atom) of ``compounds``.

    Parameters
    ----------
    path
        The cited YAML file (compound -> ``formation_energy_eV_per_atom``).
    compounds
        The compounds the paper quotes.

    Returns
    -------
    dict of str to float

    Raises
    ------
    InputError
        Not YAML, a compound or its value missing, or a value that is not a finite number.
    """
    import yaml

    try:
        cited = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise InputError(path, f"not a readable YAML file ({err})") from None
    energies = {}
    for compound in compounds:
        try:
            value = float(cited[compound]["formation_energy_eV_per_atom"])
        except (KeyError, TypeError, ValueError):
            raise InputError(path, f"no numeric {compound}.formation_energy_eV_per_atom entry") from None
        if not np.isfinite(value):
            raise InputError(path, f"{compound}.formation_energy_eV_per_atom is {value}, not a finite number")
        energies[compound] = value
    return energies


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _velocity_block(lines: list[str], start: int, declared: int) -> bool:
    """A POSCAR may carry velocities after a blank line; those are not extra atoms."""
    return len(lines) > start + declared and not lines[start + declared].strip()


# ------------------------------------------------------------------ edge
def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path], *, barrier_points: int,
        curve_points: int) -> list[Number]:
    """Barriers, the drawn NEB curves, the AIMD cell's composition and the cited formation energies.

    Parameters
    ----------
    inputs
        ``neb_P``, ``neb_N``, ``neb_O`` (VTST ``neb.dat`` tables), ``poscar`` (the AIMD
        cell) and ``formation_energies`` (cited Materials Project values).
    outputs
        ``neb_images``, ``neb_curves`` (tables for Fig 5B) and ``aimd_cell`` (extended
        XYZ for Fig S7).
    barrier_points
        Samples of the interpolated path searched for each barrier.
    curve_points
        Samples of each drawn curve.

    Returns
    -------
    list of Number
        Each barrier derived from its own NEB file, the cell counts and stoichiometry
        from the POSCAR, the formation energies from the external file.

    Raises
    ------
    InputError
        A malformed NEB table or POSCAR, or a cell without P.
    """
    from ase.io import write

    nebs = {species: read_neb(inputs[f"neb_{species}"]) for species in SPECIES}
    barriers = {species: barrier_eV(path.coordinate_A, path.energy_eV, path.force_eV_per_A, barrier_points)
                for species, path in nebs.items()}
    images, curves = neb_rows(nebs, curve_points)
    atoms = read_poscar(inputs["poscar"])
    counts = element_counts(atoms.get_chemical_symbols())
    try:
        ratios, formula = formula_per_p(counts)
    except ValueError as err:
        raise InputError(inputs["poscar"], str(err)) from None
    formation = read_formation_energies(inputs["formation_energies"], CITED_COMPOUNDS)

    datatable.write_rows(outputs["neb_images"], "species,coordinate_A,energy_eV,force_eV_per_A", images,
                         "{},{:.6g},{:.6g},{:.6g}")
    datatable.write_rows(outputs["neb_curves"], "species,coordinate_A,energy_eV", curves, "{},{:.6g},{:.6g}")
    write(outputs["aimd_cell"], atoms, format="extxyz")

    def neb(species: str, number: Number) -> Number:
        return number.from_inputs(inputs[f"neb_{species}"])

    poscar, cited = inputs["poscar"], inputs["formation_energies"]
    return [
        neb("P", quantity("dft.barrier_p_eV", barriers["P"], "eV", 2)),
        neb("N", quantity("dft.barrier_n_eV", barriers["N"], "eV", 2)),
        neb("O", quantity("dft.barrier_o_eV", barriers["O"], "eV", 2)),
        quantity("dft.formation_li3po4_eV", formation["Li3PO4"], "eV/atom",
                 3).from_inputs(cited),
        quantity("dft.formation_li3p_eV", formation["Li3P"], "eV/atom",
                 3).from_inputs(cited),
        count("aimd.atoms_li", counts["Li"], "atoms").from_inputs(poscar),
        count("aimd.atoms_p", counts["P"], "atoms").from_inputs(poscar),
        count("aimd.atoms_o", counts["O"], "atoms").from_inputs(poscar),
        count("aimd.atoms_n", counts["N"], "atoms").from_inputs(poscar),
        Number("aimd.stoichiometry", [round(r, 4) for r in ratios], "per P", formula).from_inputs(poscar),
    ]

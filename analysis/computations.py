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
from pathlib import Path

import numpy as np

from paperbuild.errors import InputError
from paperbuild.numbers import Number, count, quantity

NEB = "dft/neb_{species}.dat"
POSCAR = "aimd/POSCAR"
SPECIES = ("P", "N", "O")
FORMATION = Path(__file__).resolve().parent.parent / "data" / "external" / "formation_energies.yaml"


# ------------------------------------------------------------------ pure functions
def interpolate_path(coordinate: np.ndarray, energy: np.ndarray, force: np.ndarray, points: int = 400):
    """Dense path from a cubic Hermite spline whose slopes are minus the band forces."""
    from scipy.interpolate import CubicHermiteSpline

    spline = CubicHermiteSpline(coordinate, energy, -force)
    dense = np.linspace(coordinate[0], coordinate[-1], points)
    return dense, spline(dense)


def barrier_eV(coordinate: np.ndarray, energy: np.ndarray, force: np.ndarray) -> float:
    """Highest energy along the interpolated path above the first image."""
    _, dense_energy = interpolate_path(coordinate, energy, force, 4001)
    return float(dense_energy.max() - energy[0])


def formula_per_p(counts: dict[str, int]) -> tuple[list[float], str]:
    """Li, O and N per P, and the formula as the paper writes it (Li2.88PO3.44N0.31)."""
    if counts.get("P", 0) == 0:
        raise ValueError("the cell holds no P atom")
    ratios = [counts.get(e, 0) / counts["P"] for e in ("Li", "O", "N")]
    return ratios, f"Li{ratios[0]:.2f}PO{ratios[1]:.2f}N{ratios[2]:.2f}"


# ------------------------------------------------------------------ reading
def read_neb(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reaction coordinate (Å), energy (eV), force (eV/Å) from a VTST neb.dat."""
    try:
        table = np.loadtxt(path, ndmin=2)
    except (OSError, ValueError) as err:
        raise InputError(path, f"not a VTST neb.dat table ({err})") from None
    if table.shape[1] < 4:
        raise InputError(path, f"expected columns image, coordinate, energy, force; found {table.shape[1]}")
    if table.shape[0] < 3:
        raise InputError(path, f"has {table.shape[0]} image(s); a barrier needs at least three")
    coordinate, energy, force = table[:, 1], table[:, 2], table[:, 3]
    if np.any(np.diff(coordinate) <= 0):
        raise InputError(path, "the reaction coordinate does not increase from image to image")
    return coordinate, energy, force


def read_poscar(path: Path):
    """The AIMD cell with ASE, after checking the counts line against the coordinates."""
    from ase.io import read

    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"cannot be read as a POSCAR ({err})") from None
    counts_at = 6 if len(lines) > 6 and re.match(r"^\s*[A-Za-z]", lines[5]) else 5
    try:
        declared = sum(int(n) for n in lines[counts_at].split())
    except (IndexError, ValueError):
        raise InputError(path, f"line {counts_at + 1} should list how many atoms of each species") from None
    start = counts_at + 2 if not lines[counts_at + 1].strip().lower().startswith("s") else counts_at + 3
    coordinates = [ln for ln in lines[start:] if len(ln.split()) >= 3 and not ln.strip().lower().startswith(("c", "d"))]
    coordinates = [ln for ln in coordinates if all(_is_float(v) for v in ln.split()[:3])]
    if len(coordinates) < declared or (len(coordinates) > declared and not _velocity_block(lines, start, declared)):
        raise InputError(path, f"the counts line declares {declared} atoms but {len(coordinates)} coordinate lines follow")
    try:
        return read(path, format="vasp")
    except Exception as err:  # ASE raises several types for malformed POSCARs
        raise InputError(path, f"ASE cannot read it as a POSCAR ({err})") from None


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
def run(raw: Path, out: Path) -> list[Number]:
    import yaml

    (out / "data").mkdir(parents=True, exist_ok=True)
    barriers, rows, curves = {}, [], []
    for species in SPECIES:
        path = raw / NEB.format(species=species)
        coordinate, energy, force = read_neb(path)
        barriers[species] = barrier_eV(coordinate, energy, force)
        rows += [(species, x, e, f) for x, e, f in zip(coordinate, energy, force)]
        dense, dense_energy = interpolate_path(coordinate, energy, force)
        curves += [(species, x, e) for x, e in zip(dense, dense_energy)]
    with open(out / "data/neb_images.csv", "w", encoding="utf-8") as handle:
        handle.write("species,coordinate_A,energy_eV,force_eV_per_A\n")
        handle.writelines(f"{s},{x:.6g},{e:.6g},{f:.6g}\n" for s, x, e, f in rows)
    with open(out / "data/neb_curves.csv", "w", encoding="utf-8") as handle:
        handle.write("species,coordinate_A,energy_eV\n")
        handle.writelines(f"{s},{x:.6g},{e:.6g}\n" for s, x, e in curves)

    atoms = read_poscar(raw / POSCAR)
    symbols = atoms.get_chemical_symbols()
    counts = {e: symbols.count(e) for e in ("Li", "P", "O", "N")}
    try:
        ratios, formula = formula_per_p(counts)
    except ValueError as err:
        raise InputError(raw / POSCAR, str(err)) from None
    from ase.io import write

    write(out / "data/aimd_cell.xyz", atoms, format="extxyz")
    formation = yaml.safe_load(FORMATION.read_text(encoding="utf-8"))
    return [
        quantity("dft.barrier_p_eV", barriers["P"], "eV", 2),
        quantity("dft.barrier_n_eV", barriers["N"], "eV", 2),
        quantity("dft.barrier_o_eV", barriers["O"], "eV", 2),
        quantity("dft.formation_li3po4_eV", formation["Li3PO4"]["formation_energy_eV_per_atom"], "eV/atom", 3),
        quantity("dft.formation_li3p_eV", formation["Li3P"]["formation_energy_eV_per_atom"], "eV/atom", 3),
        count("aimd.atoms_li", counts["Li"], "atoms"),
        count("aimd.atoms_p", counts["P"], "atoms"),
        count("aimd.atoms_o", counts["O"], "atoms"),
        count("aimd.atoms_n", counts["N"], "atoms"),
        Number("aimd.stoichiometry", [round(r, 4) for r in ratios], "per P", formula),
    ]

"""Forward models of the computations: NEB energy profiles and an amorphous LiPON cell."""
from __future__ import annotations

import numpy as np


def neb_profile(barrier_eV: float, saddle: float, end_offset_eV: float, images: int,
                hop_A: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reaction coordinate (Å), energy (eV) and force along the band (eV/Å) of each image.

    The path is a smooth hop whose maximum, ``barrier_eV`` above the first image, sits
    at the fraction ``saddle`` of the path, generally between two images.
    """
    s = np.linspace(0.0, 1.0, images)
    fine = np.linspace(0.0, 1.0, 2001)
    warp = lambda x: np.where(x <= saddle, 0.5 * x / saddle, 0.5 + 0.5 * (x - saddle) / (1 - saddle))
    shape = lambda x: np.sin(np.pi * warp(x)) ** 2 + end_offset_eV / barrier_eV * x
    scale = barrier_eV / shape(fine).max()
    energy = scale * shape(s)
    derivative = np.gradient(scale * shape(fine), fine * hop_A)
    force = -np.interp(s, fine, derivative)
    return s * hop_A, energy, force


def amorphous_cell(counts: dict[str, int], density_g_cm3: float, min_distance_A: float,
                   rng: np.random.Generator):
    """A cubic cell of randomly placed atoms no closer than ``min_distance_A`` (periodic)."""
    from ase import Atoms
    from ase.data import atomic_masses, atomic_numbers

    symbols = [s for s, n in counts.items() for _ in range(n)]
    mass_g = sum(atomic_masses[atomic_numbers[s]] for s in symbols) / 6.02214076e23
    a = (mass_g / density_g_cm3 * 1e24) ** (1 / 3)
    positions: list[np.ndarray] = []
    for _ in symbols:
        for _attempt in range(20000):
            trial = rng.uniform(0, a, 3)
            if not positions:
                break
            delta = np.asarray(positions) - trial
            delta -= a * np.round(delta / a)
            if np.min(np.linalg.norm(delta, axis=1)) >= min_distance_A:
                break
        else:
            raise RuntimeError("could not pack the amorphous cell; lower min_distance_A")
        positions.append(trial)
    order = rng.permutation(len(symbols))  # the packing order should not follow species
    shuffled = [symbols[i] for i in order]
    # group by species, as POSCAR does; sorted here rather than by slicing an Atoms object,
    # which makes ASE reshape an empty array (deprecated from NumPy 2.5 on)
    grouped = np.argsort([atomic_numbers[s] for s in shuffled], kind="stable")
    return Atoms(symbols=[shuffled[i] for i in grouped], positions=np.asarray(positions)[grouped],
                 cell=[a, a, a], pbc=True)


def expected_numbers(truth: dict) -> dict:
    """The barriers and the AIMD cell's composition the truth implies.

    A barrier is the height of the continuous profile's maximum above the first image,
    which :func:`neb_profile` builds to be exactly ``barriers_eV``; the cell holds exactly
    ``counts`` atoms.
    """
    barriers, counts = truth["dft"]["barriers_eV"], truth["aimd"]["counts"]
    p = counts["P"]
    return {
        "dft.barrier_p_eV": barriers["P"], "dft.barrier_n_eV": barriers["N"], "dft.barrier_o_eV": barriers["O"],
        "aimd.atoms_li": counts["Li"], "aimd.atoms_p": p, "aimd.atoms_o": counts["O"], "aimd.atoms_n": counts["N"],
        "aimd.stoichiometry": [counts["Li"] / p, counts["O"] / p, counts["N"] / p],
    }

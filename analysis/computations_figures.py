"""Figure 5 (A: interstitial hop in bcc Li, B: NEB profiles) and Figure S7 (the AIMD cell)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis import style
from analysis.crystallography import load_phases

FIG_5A = "figures/fig5a_interstitial_hop.svg"
FIG_5B = "figures/fig5b_neb_profiles.svg"
FIG_S7 = "figures/figS7_aimd_lipon_cell.png"
SPECIES_COLOURS = {"P": "C3", "N": "C1", "O": "C0"}


def interstitial_hop(a_A: float, plt):
    """A (001) layer of bcc Li with octahedral interstitial sites and one hop between them."""
    fig, ax = plt.subplots(figsize=(2.8, 2.8))
    grid = np.arange(0, 3) * a_A
    corners = np.array([(x, y) for x in grid for y in grid])
    centres = corners[(corners[:, 0] < grid[-1]) & (corners[:, 1] < grid[-1])] + a_A / 2
    ax.scatter(*corners.T, s=160, c="#aab7b8", edgecolors="0.3", zorder=2, label="Li (z = 0)")
    ax.scatter(*centres.T, s=160, c="#d5dbdb", edgecolors="0.5", zorder=1, label="Li (z = a/2)")
    sites = np.array([(x + a_A / 2, y) for x in grid[:-1] for y in grid] + [(x, y + a_A / 2) for x in grid for y in grid[:-1]])
    ax.scatter(*sites.T, s=30, marker="x", c="C3", zorder=3, label="octahedral site")
    start, end = np.array([a_A / 2, a_A]), np.array([a_A, 1.5 * a_A])
    ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "color": "C3", "lw": 1.2})
    ax.text(*(start + end) / 2 + [0.15, -0.35], "hop", color="C3", fontsize=7)
    ax.set_aspect("equal")
    ax.set_xlabel("x (Å)")
    ax.set_ylabel("y (Å)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=6, ncol=2)
    style.panel_label(ax, "A")
    return fig


def profiles(images, curves, plt):
    fig, ax = plt.subplots(figsize=(3.2, 2.6))
    for species, colour in SPECIES_COLOURS.items():
        c = curves[curves["species"] == species]
        i = images[images["species"] == species]
        ax.plot(c["coordinate_A"], c["energy_eV"], "-", color=colour, label=f"{species} interstitial")
        ax.plot(i["coordinate_A"], i["energy_eV"], "o", color=colour, ms=3)
    ax.set_xlabel("Reaction coordinate (Å)")
    ax.set_ylabel("Energy (eV)")
    ax.legend(loc="upper right")
    style.panel_label(ax, "B")
    return fig


def cell(atoms, plt):
    from ase.visualize.plot import plot_atoms

    fig, ax = plt.subplots(figsize=(3.2, 3.2))
    plot_atoms(atoms, ax, rotation="15x,25y,0z", radii=0.45)
    ax.set_axis_off()
    symbols = sorted(set(atoms.get_chemical_symbols()), key=atoms.get_chemical_symbols().index)
    from ase.data.colors import jmol_colors
    from ase.data import atomic_numbers

    handles = [plt.Line2D([], [], marker="o", ls="", mfc=jmol_colors[atomic_numbers[s]], mec="0.3", label=s)
               for s in symbols]
    ax.legend(handles=handles, loc="upper right", fontsize=6)
    return fig


def run(build: Path, out: Path) -> None:
    from ase.io import read

    plt = style.pyplot()
    data = build / "data"
    style.save(interstitial_hop(load_phases()["Li"]["cell"]["a"], plt), out / FIG_5A)
    style.save(profiles(style.read_table(data / "neb_images.csv"), style.read_table(data / "neb_curves.csv"), plt), out / FIG_5B)
    style.save(cell(read(data / "aimd_cell.xyz"), plt), out / FIG_S7)
    plt.close("all")

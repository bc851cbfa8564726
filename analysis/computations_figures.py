"""Figure 5 (A: interstitial hop in bcc Li, B: NEB profiles) and Figure S7 (the AIMD cell).

Plotting is a step of its own: restyling a figure never reruns the computations step.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis import datatable, style
from analysis.crystallography import load_phases

if TYPE_CHECKING:
    from ase import Atoms
    from matplotlib.figure import Figure

SPECIES_COLOURS = {"P": "C3", "N": "C1", "O": "C0"}


def interstitial_hop(a_A: float, plt) -> Figure:
    """A (001) layer of bcc Li with octahedral interstitial sites and one hop between them,
    drawn to the cited lattice parameter so the sketch matches the computed cell.

    Parameters
    ----------
    a_A
        Lattice parameter of bcc Li (Å).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
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


def profiles(images: np.ndarray, curves: np.ndarray, plt) -> Figure:
    """Energy along the band for each interstitial: the images as dots and the force-aware
    interpolation the barriers are read from, so the reader sees saddles between images.

    Parameters
    ----------
    images
        NEB images (``species``, ``coordinate_A``, ``energy_eV``).
    curves
        Interpolated paths (``species``, ``coordinate_A``, ``energy_eV``).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
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


def cell(atoms: Atoms, plt) -> Figure:
    """The AIMD cell of amorphous LiPON whose composition the paper quotes.

    Parameters
    ----------
    atoms
        The cell.
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
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


def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figures 5A, 5B and S7.

    Parameters
    ----------
    inputs
        ``neb_images``, ``neb_curves``, ``aimd_cell`` (outputs of the computations step),
        ``phases`` (cited lattices; Fig 5A uses the Li lattice parameter) and ``style``.
    outputs
        ``fig5a``, ``fig5b``, ``figS7``.
    """
    from ase.io import read

    plt = style.pyplot(inputs["style"])
    style.save(interstitial_hop(load_phases(inputs["phases"])["Li"]["cell"]["a"], plt), outputs["fig5a"])
    style.save(profiles(datatable.read(inputs["neb_images"]), datatable.read(inputs["neb_curves"]), plt),
               outputs["fig5b"])
    style.save(cell(read(inputs["aimd_cell"]), plt), outputs["figS7"])
    plt.close("all")

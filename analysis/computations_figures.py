"""Figure 5 (A: an interstitial hop in bcc Li, B: the NEB energy profiles) and Figure S7
(the AIMD cell of amorphous LiPON), each composed whole.

Figure 5A is drawn from the same numbers as 5B: the hop it shows joins two octahedral
sites of the cited Li lattice whose distance is the length of the NEB path in the
tables (the path 5B plots), never a length typed here.  Drawing functions draw one
panel into a given axes; ``compose_*`` lays a figure out at its printed size; plotting is
a step of its own, so restyling a figure never reruns the computations step.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis import datatable, style
from analysis.crystallography import load_phases

if TYPE_CHECKING:
    from types import ModuleType

    from ase import Atoms
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SPECIES = ("P", "N", "O")  # the interstitials of the NEB tables, in the order the legend lists them
#: Cells of the bcc lattice drawn along x and y in Figure 5A.
SKETCH_CELLS = 2
#: The NEB paths of the species must have one length within this (Å): the tables keep six
#: significant digits, so paths of one hop agree far better.
PATH_LENGTH_AGREEMENT_A = 1e-3
#: A hop is drawn between two sites only if their distance matches the NEB path this
#: closely (relative): the sketch then shows the computed hop, not a neighbouring one.
SITE_MATCH = 0.02
#: Radius of a drawn Li atom as a fraction of the lattice parameter: small enough that
#: the octahedral sites between atoms stay visible (a sketch, not the metallic radius).
ATOM_RADIUS_FRACTION = 0.16
LI_COLOURS = {"z0": "0.55", "z_half": "0.85"}  # the two (001) layers of bcc Li, near and far


# ------------------------------------------------------------------ Figure 5A geometry
def hop_length_A(images: np.ndarray) -> float:
    """Length of the NEB path, first image to last, that every species shares.

    Parameters
    ----------
    images
        The ``neb_images`` table (species, coordinate_A, energy_eV, ...).

    Returns
    -------
    float
        The path length (Å).

    Raises
    ------
    ValueError
        No images, or species whose paths differ in length by more than
        :data:`PATH_LENGTH_AGREEMENT_A` (then one sketch cannot show them all).
    """
    lengths = {}
    for species in np.unique(images["species"]):
        coordinate = np.asarray(images["coordinate_A"][images["species"] == species], dtype=float)
        lengths[str(species)] = float(coordinate[-1] - coordinate[0])
    if not lengths:
        raise ValueError("the NEB table holds no images")
    values = np.array(list(lengths.values()))
    if values.max() - values.min() > PATH_LENGTH_AGREEMENT_A:
        shown = ", ".join(f"{s} {v:.4f} Å" for s, v in lengths.items())
        raise ValueError(f"the NEB paths differ in length ({shown}): they are not one hop")
    return float(values.mean())


def octahedral_sites(a_A: float, cells: int) -> np.ndarray:
    """Octahedral interstitial sites of bcc in the z = 0 layer of ``cells`` x ``cells`` cells.

    They lie at the edge midpoints (a/2, 0, 0) and the face centres (a/2, a/2, 0) of the
    cube: every point of the a/2 grid of the layer that is not an atom.

    Parameters
    ----------
    a_A
        Lattice parameter (Å).
    cells
        Cells along x and y.

    Returns
    -------
    numpy.ndarray
        (n, 2) positions (Å).
    """
    steps = np.arange(2 * cells + 1)
    return np.array([(i * a_A / 2, j * a_A / 2) for i in steps for j in steps if i % 2 or j % 2])


def hop_in_layer(a_A: float, length_A: float, cells: int = SKETCH_CELLS,
                 tolerance: float = SITE_MATCH) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (x, y in Å) of a hop of ``length_A`` between two octahedral sites.

    The hop starts at an edge-midpoint site next to the centre of the sketch and ends at
    the site whose distance from it matches the NEB path length best; the arrow is
    ``length_A`` long.  For bcc with the hop of the calculations, a/2, that is the
    neighbouring face-centre site.

    Parameters
    ----------
    a_A
        Lattice parameter of bcc Li (Å).
    length_A
        The NEB path length (:func:`hop_length_A`).
    cells
        Cells drawn along x and y.
    tolerance
        Largest relative mismatch between the sites' distance and ``length_A``.

    Returns
    -------
    start, end
        Positions (Å); ``|end - start| == length_A``.

    Raises
    ------
    ValueError
        ``length_A`` is not positive, or no two sites of the sketch lie that far apart.
    """
    if not length_A > 0:
        raise ValueError(f"hop length {length_A} Å: must be positive")
    sites = octahedral_sites(a_A, cells)
    centre = np.full(2, cells * a_A / 2)
    edge = sites[(np.rint(sites / (a_A / 2)).astype(int).sum(axis=1) % 2) == 1]  # one odd index: an edge midpoint
    start = edge[np.lexsort((edge[:, 1], edge[:, 0], np.round(np.linalg.norm(edge - centre, axis=1), 9)))[0]]
    others = sites[np.any(sites != start, axis=1)]
    distance = np.linalg.norm(others - start, axis=1)
    mismatch = np.round(np.abs(distance - length_A), 9)
    best = np.lexsort((others[:, 0], others[:, 1], mismatch))[0]
    if mismatch[best] > tolerance * length_A:
        raise ValueError(f"the NEB path ({length_A:.3f} Å) joins no two octahedral sites of bcc Li with "
                         f"a = {a_A:.3f} Å (closest site distance {distance[best]:.3f} Å)")
    direction = (others[best] - start) / distance[best]
    return start, start + length_A * direction


# ------------------------------------------------------------------ Figure 5 panels
def draw_hop(ax: Axes, key: Axes, a_A: float, length_A: float) -> None:
    """Figure 5A: a (001) layer of bcc Li, its octahedral sites and the computed hop.

    Atoms are circles in lattice units (the sketch is to scale); the legend, in its own
    axes below the drawing, gives the hop's length, the one the NEB path of 5B covers.

    Parameters
    ----------
    ax
        The panel.
    key
        An empty axes below the panel that holds its legend (its frame is hidden).
    a_A
        Lattice parameter of bcc Li (Å).
    length_A
        The NEB path length (Å).
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle

    start, end = hop_in_layer(a_A, length_A)
    grid = np.arange(SKETCH_CELLS + 1) * a_A
    corners = [(x, y) for x in grid for y in grid]
    centres = [(x + a_A / 2, y + a_A / 2) for x in grid[:-1] for y in grid[:-1]]
    radius = ATOM_RADIUS_FRACTION * a_A
    for points, colour in ((centres, LI_COLOURS["z_half"]), (corners, LI_COLOURS["z0"])):
        for point in points:
            ax.add_patch(Circle(point, radius, facecolor=colour, edgecolor="0.25", lw=0.5, zorder=1))
    sites = octahedral_sites(a_A, SKETCH_CELLS)
    ax.plot(sites[:, 0], sites[:, 1], "x", ms=3.0, mew=0.8, color=style.PALETTE["blue"], zorder=3)
    ax.annotate("", xy=end, xytext=start, zorder=4,
                arrowprops={"arrowstyle": "-|>,head_length=0.5,head_width=0.25", "color": style.PALETTE["vermillion"],
                            "lw": 1.4, "shrinkA": 0, "shrinkB": 0})
    ax.plot(*start, "o", ms=4.0, color=style.PALETTE["vermillion"], mec="k", mew=0.4, zorder=5)
    ax.margins(0.04)  # the circles set the data limits; the aspect widens the shorter side
    ax.set_aspect("equal", adjustable="datalim")  # to scale, and the panel fills its cell
    ax.set_xlabel("x (Å)")
    ax.set_ylabel("y (Å)")
    handles = [
        Line2D([], [], ls="", marker="o", ms=5, mfc=LI_COLOURS["z0"], mec="0.25", mew=0.5, label="Li, z = 0"),
        Line2D([], [], ls="", marker="o", ms=5, mfc=LI_COLOURS["z_half"], mec="0.25", mew=0.5, label="Li, z = a/2"),
        Line2D([], [], ls="", marker="x", ms=3.0, mew=0.8, color=style.PALETTE["blue"], label="octahedral site"),
        Line2D([], [], color=style.PALETTE["vermillion"], lw=1.4, marker="o", ms=3.0, mec="k", mew=0.4,
               label=f"interstitial hop, {length_A:.3f} Å"),
    ]
    key.set_axis_off()
    key.legend(handles=handles, loc="center", ncol=2, handlelength=1.4, columnspacing=1.0, borderaxespad=0.0)


def draw_profiles(ax: Axes, images: np.ndarray, curves: np.ndarray) -> None:
    """Figure 5B: energy along the band for each interstitial: the images as dots and the
    force-aware interpolation the barriers are read from, so saddles between images show.

    The legend sits outside the drawing, to its right.

    Parameters
    ----------
    ax
        The panel.
    images
        The ``neb_images`` table (species, coordinate_A, energy_eV).
    curves
        The ``neb_curves`` table (species, coordinate_A, energy_eV).
    """
    from matplotlib.lines import Line2D

    handles = []
    for species in SPECIES:
        colour = style.ELEMENT_COLOURS[species]
        c = curves[curves["species"] == species]
        i = images[images["species"] == species]
        ax.plot(c["coordinate_A"], c["energy_eV"], "-", color=colour)
        ax.plot(i["coordinate_A"], i["energy_eV"], "o", color=colour, ms=3.0)
        handles.append(Line2D([], [], color=colour, marker="o", ms=3.0, label=species))
    ax.set_xlabel("Reaction coordinate (Å)")
    ax.set_ylabel("Energy (eV)")
    ax.legend(handles=handles, title="interstitial", loc="upper left", bbox_to_anchor=(1.02, 1.0),
              borderaxespad=0.0, handlelength=1.4)


def compose_dft(images: np.ndarray, curves: np.ndarray, a_A: float, plt: ModuleType) -> Figure:
    """Figure 5 (one and a half columns): (A) the hop in bcc Li, (B) the NEB profiles.

    Parameters
    ----------
    images, curves
        The ``neb_images`` and ``neb_curves`` tables.
    a_A
        Lattice parameter of bcc Li (Å), from the cited phases file.
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = style.figure(plt, "one-and-half", 62.0)
    axes = fig.subplot_mosaic([["A", "B"], ["key", "B"]], width_ratios=[1.0, 1.25], height_ratios=[1.0, 0.22])
    draw_hop(axes["A"], axes["key"], a_A, hop_length_A(images))
    draw_profiles(axes["B"], images, curves)
    style.label_panels(fig, {letter: axes[letter] for letter in "AB"})
    return fig


# ------------------------------------------------------------------ Figure S7
def draw_cell(ax: Axes, atoms: Atoms) -> None:
    """The AIMD cell, each element in its colour of every figure, legend outside the drawing.

    Parameters
    ----------
    ax
        The panel.
    atoms
        The cell (periodic, its outline drawn).
    """
    from ase.visualize.plot import plot_atoms
    from matplotlib.lines import Line2D

    symbols = atoms.get_chemical_symbols()
    plot_atoms(atoms, ax, rotation="15x,25y,0z", radii=0.45, colors=[style.ELEMENT_COLOURS[s] for s in symbols])
    ax.set_axis_off()
    ax.set_aspect("equal")
    present = sorted(set(symbols), key=symbols.index)
    handles = [Line2D([], [], ls="", marker="o", ms=5, mfc=style.ELEMENT_COLOURS[s], mec="k", mew=0.4,
                      label=f"{s} ({symbols.count(s)})") for s in present]
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.02, 0.5), borderaxespad=0.0,
              title="atoms", handlelength=1.0)


def compose_cell(atoms: Atoms, plt: ModuleType) -> Figure:
    """Figure S7 (one column): the AIMD cell of amorphous LiPON whose composition the paper quotes.

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
    fig = style.figure(plt, "single", 62.0)
    draw_cell(fig.add_subplot(), atoms)
    return fig


# ------------------------------------------------------------------ edge
def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figures 5 and S7.

    Parameters
    ----------
    inputs
        ``neb_images``, ``neb_curves``, ``aimd_cell`` (outputs of the computations step),
        ``phases`` (cited lattices; Fig 5A uses the Li lattice parameter) and ``style``.
    outputs
        ``fig5``, ``figS7``.
    """
    from ase.io import read

    plt = style.pyplot(inputs["style"])
    a_A = float(load_phases(inputs["phases"])["Li"]["cell"]["a"])
    style.save(compose_dft(datatable.read(inputs["neb_images"]), datatable.read(inputs["neb_curves"]), a_A, plt),
               outputs["fig5"])
    style.save(compose_cell(read(inputs["aimd_cell"]), plt), outputs["figS7"])
    plt.close("all")

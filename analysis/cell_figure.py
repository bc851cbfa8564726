"""Figure 1 composed whole: the thin-film cell (A, B), its cross-section (C), the interface (D) and its EDS (E-G).

The panels come from the three technique figure modules (:mod:`analysis.electrochemistry_figures`,
:mod:`analysis.micrograph_figures`, :mod:`analysis.eds_figures`); this module only lays them out
at the printed size, so the figure has one scale, one font and one place for its panel
letters.  It reads the tables and arrays those steps' analyses wrote, never raw data.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis import datatable, style
from analysis.eds_figures import draw_element_map, draw_normalized_profiles
from analysis.electrochemistry_figures import draw_coulombic_efficiency, draw_voltage_profiles, place_legend
from analysis.micrograph_figures import draw_cross_section, draw_dark_field

if TYPE_CHECKING:  # annotations only: matplotlib is imported by style.pyplot, after the backend is set
    from types import ModuleType

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Printed height (mm) of the figure and of its three rows: cell, images, line profile.
ROW_HEIGHTS_MM = (56.0, 54.0, 50.0)
HEIGHT_MM = sum(ROW_HEIGHTS_MM)
#: Panel B: the CE above the discharge capacity, as parts of the first row's height.
B_HEIGHT_RATIOS = (2.0, 1.0)


def equalize_scales(fig: Figure, images: Mapping[Axes, float], rounds: int = 8,
                    tolerance: float = 0.005) -> dict[Axes, float]:
    """Print images of one row at one magnification (nm per mm) by narrowing the wider-scaled columns.

    An image keeps its aspect ratio inside its column, so a column's width sets its
    scale only when the image fills that width.  Each round draws the figure, measures
    every image's printed scale and narrows the columns of those shown larger than the
    smallest; the layout then gives the freed width back to the rest.

    Parameters
    ----------
    fig
        The figure; the axes share one gridspec row.
    images
        Axes -> width of its image's field of view (nm).
    rounds
        The most times to measure and narrow; each round halves the mismatch or better.
    tolerance
        Stop once the scales agree to this fraction (0.5 %: a scale bar's length to
        well under a printed line width).

    Returns
    -------
    dict
        Axes -> printed scale after the last round, in mm per µm.

    Raises
    ------
    ValueError
        A field of view is not positive, or the axes do not share one gridspec.
    """
    axes = list(images)
    if any(not images[ax] > 0 for ax in axes):
        raise ValueError(f"fields of view must be positive, not {list(images.values())}")
    grids = {id(ax.get_subplotspec().get_gridspec()) for ax in axes}
    if len(grids) != 1:
        raise ValueError("the images to equalize must share one gridspec")
    grid = axes[0].get_subplotspec().get_gridspec()
    columns = [ax.get_subplotspec().colspan.start for ax in axes]
    ratios = list(grid.get_width_ratios() or [1.0] * grid.ncols)

    width_mm = fig.get_size_inches()[0] * 25.4

    def measure() -> dict[Axes, float]:
        fig.get_layout_engine().execute(fig)  # the layout alone: no need to draw every artist
        scales = {}
        for ax in axes:
            ax.apply_aspect()
            scales[ax] = ax.get_position().width * width_mm / (images[ax] / 1000.0)
        return scales

    scales = measure()
    for _ in range(rounds):
        smallest = min(scales.values())
        if max(scales.values()) <= (1 + tolerance) * smallest:
            break
        for ax, column in zip(axes, columns):
            ratios[column] *= smallest / scales[ax]
        grid.set_width_ratios(ratios)
        scales = measure()
    return scales


def compose_fig1(plt: ModuleType, cycles: np.ndarray, profiles: np.ndarray, sem: Mapping[str, np.ndarray],
                 df: Mapping[str, np.ndarray], maps: Mapping[str, np.ndarray], line_profiles: np.ndarray,
                 region: np.ndarray, scan_nm: np.ndarray | None = None) -> Figure:
    """Figure 1 at double width: A-C on the first row, D-F on the second, G across the third.

    B is two plots on one cycle axis, the CE above the discharge capacity.  D, E and F
    show the interface at one magnification (their columns are as wide as their fields
    of view), so the reader compares the maps with the image directly.

    Parameters
    ----------
    plt
        ``matplotlib.pyplot`` with the paper's style (:func:`analysis.style.pyplot`).
    cycles, profiles
        The electrochemistry step's ``thin_film_cycles`` and ``thin_film_profiles`` tables.
    sem, df
        The micrographs step's cross-section and dark-field image of the interface.
    maps
        The EDS step's maps (``N``, ``P`` in counts/s, and ``pixel_nm``).
    line_profiles, region
        The EDS step's profile and interphase tables.
    scan_nm
        The EDS step's ``scan_path`` table: where the line scan ran on the D image (an arrow).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = style.figure(plt, "double", HEIGHT_MM)
    top, middle, bottom = fig.subfigures(3, 1, height_ratios=ROW_HEIGHTS_MM)
    grid = top.add_gridspec(2, 3, width_ratios=(1.0, 1.05, 1.05), height_ratios=B_HEIGHT_RATIOS)
    ax_a, ax_c = top.add_subplot(grid[:, 0]), top.add_subplot(grid[:, 2])
    ax_b = top.add_subplot(grid[0, 1])
    ax_bq = top.add_subplot(grid[1, 1], sharex=ax_b)
    draw_voltage_profiles(ax_a, profiles)
    draw_coulombic_efficiency(ax_b, ax_bq, cycles)
    draw_cross_section(ax_c, sem)

    ax_d, ax_e, ax_f = middle.subplots(1, 3)
    draw_dark_field(ax_d, df, scan_nm)
    for ax, element in ((ax_e, "P"), (ax_f, "N")):
        shown = draw_element_map(ax, maps, element)
        # the colour bar as tall as the map, just right of it; the rates are net of the fitted
        # background, so counting noise takes a pixel with no element below zero (data, not clipped)
        bar = ax.inset_axes((1.04, 0.0, 0.05, 1.0))
        middle.colorbar(shown, cax=bar, label=f"{element} K$\\alpha$ (counts/s),\nbackground-subtracted")
    for ax in (ax_d, ax_e, ax_f):
        ax.set_anchor("N")  # tops in line, so the panel letters of the row are too
    equalize_scales(fig, {ax_d: df["image"].shape[1] * float(df["pixel_nm"]),
                          ax_e: maps["P"].shape[1] * float(maps["pixel_nm"]),
                          ax_f: maps["N"].shape[1] * float(maps["pixel_nm"])})

    ax_g = bottom.subplots()
    draw_normalized_profiles(ax_g, line_profiles, region)
    fig.get_layout_engine().execute(fig)
    place_legend(ax_a)  # at the panel's final size
    style.label_panels(fig, {"A": ax_a, "B": ax_b, "C": ax_c, "D": ax_d, "E": ax_e, "F": ax_f, "G": ax_g})
    return fig


def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figure 1 from the tables and arrays of the electrochemistry, micrographs and EDS steps.

    Parameters
    ----------
    inputs
        ``thin_film_cycles``, ``thin_film_profiles`` (electrochemistry tables),
        ``sem_cross_section``, ``df_interface`` (micrograph arrays), ``maps``,
        ``profiles``, ``interphase``, ``scan_path`` (EDS maps and tables) and ``style`` (the paper's
        style sheet).
    outputs
        ``fig1``.
    """
    plt = style.pyplot(inputs["style"])
    load = lambda role: np.load(inputs[role], allow_pickle=False)
    fig = compose_fig1(plt, datatable.read(inputs["thin_film_cycles"]), datatable.read(inputs["thin_film_profiles"]),
                       load("sem_cross_section"), load("df_interface"), load("maps"),
                       datatable.read(inputs["profiles"]), datatable.read(inputs["interphase"]),
                       datatable.read(inputs["scan_path"]))
    style.save(fig, outputs["fig1"])
    plt.close("all")

"""Figure 3 (A: the points on the dark-field image; B: edges; C: FEFF references).

Plotting is a step of its own: restyling a figure never reruns the analysis.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from analysis import datatable, style

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def points_on_image(df: Mapping[str, np.ndarray], points: np.ndarray, plt: ModuleType) -> Figure:
    """The numbered EELS points on the dark-field image of the region (Fig 3A).

    Parameters
    ----------
    df
        The micrographs step's image of the EELS region (``image``, ``pixel_nm``).
    points
        The EELS step's point table (beam positions in nm, in the image's frame).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(3.0, 3.0))
    px = float(df["pixel_nm"])
    style.show_micrograph(ax, df["image"], px)
    for number, x, y in zip(points["point"], points["x_nm"], points["y_nm"]):
        ax.plot(x / px, y / px, "o", ms=5, mfc="none", mec="C4", mew=1.2)
        ax.text(x / px, y / px - 12, f"{number:.0f}", color="C4", ha="center", fontsize=7)
    style.panel_label(ax, "A")
    return fig


def edges(li: np.ndarray, p: np.ndarray, o: np.ndarray, fits: np.ndarray, points: np.ndarray,
          plt: ModuleType) -> Figure:
    """Li K, P L2,3 and O K edges of every point, offset, with the two-reference fits (Fig 3B).

    Parameters
    ----------
    li, p, o
        The EELS step's edge tables.
    fits
        The two-reference fits of the Li K edges.
    points
        The point table (Li2O share per point).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = plt.subplots(1, 3, figsize=(6.8, 3.0))
    names = [n for n in li.dtype.names if n.startswith("point_")]
    for ax, table, title in ((axes[0], li, "Li K"), (axes[1], p, "P L$_{2,3}$"), (axes[2], o, "O K")):
        step = 0.9 * max(float(np.max(table[n])) for n in names)
        for i, name in enumerate(names):
            ax.plot(table["energy_eV"], table[name] + i * step, lw=0.8, color=f"C{i % 6}")
            if table is li:
                ax.plot(fits["energy_eV"], fits[name] + i * step, "--", lw=0.7, color="0.3")
                share = points["li2o_fraction"][i]
                ax.text(table["energy_eV"][-1], i * step + 0.25 * step, f"{i + 1}: Li$_2$O {share:.2f}",
                        ha="right", fontsize=6)
        ax.set_title(title)
        ax.set_xlabel("Energy loss (eV)")
        ax.set_yticks([])
    axes[0].set_ylabel("Intensity, background removed (offset)")
    style.panel_label(axes[0], "B")
    return fig


def references(refs: np.ndarray, plt: ModuleType) -> Figure:
    """The simulated (FEFF) Li K edges of the candidate phases, normalized and offset (Fig 3C).

    Parameters
    ----------
    refs
        The EELS step's reference table.
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(3.0, 3.0))
    phases = list(refs.dtype.names[1:])
    for i, phase in enumerate(phases):
        y = refs[phase] / np.max(refs[phase])
        ax.plot(refs["energy_eV"], y + 1.1 * i, lw=0.9)
        ax.text(refs["energy_eV"][-1], 1.1 * i + 0.35, phase.replace("2", "$_2$").replace("3", "$_3$").replace("4", "$_4$"),
                ha="right", fontsize=7)
    ax.set_xlabel("Energy loss (eV)")
    ax.set_ylabel("Simulated Li K (normalized, offset)")
    ax.set_yticks([])
    style.panel_label(ax, "C")
    return fig


def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figures 3A, 3B and 3C.

    Parameters
    ----------
    inputs
        ``points``, ``li_edges``, ``p_edges``, ``o_edges``, ``li_fits``, ``references``
        (the EELS step's tables), ``df_eels_region`` (the micrographs step's image) and
        ``style`` (the paper's style sheet).
    outputs
        ``fig3a``, ``fig3b``, ``fig3c``.
    """
    plt = style.pyplot(inputs["style"])
    points = datatable.read(inputs["points"])
    style.save(points_on_image(np.load(inputs["df_eels_region"], allow_pickle=False), points, plt), outputs["fig3a"])
    style.save(edges(datatable.read(inputs["li_edges"]), datatable.read(inputs["p_edges"]),
                     datatable.read(inputs["o_edges"]), datatable.read(inputs["li_fits"]), points, plt),
               outputs["fig3b"])
    style.save(references(datatable.read(inputs["references"]), plt), outputs["fig3c"])
    plt.close("all")

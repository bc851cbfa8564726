"""Figures 1A, 1B and S1 from the tables the electrochemistry step wrote.

Plotting is a step of its own: restyling a figure never reruns the analysis.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis import datatable, style

if TYPE_CHECKING:  # annotations only: matplotlib is imported by style.pyplot, after the backend is set
    from types import ModuleType

    from matplotlib.figure import Figure



def voltage_profiles(profiles: np.ndarray, plt: ModuleType) -> Figure:
    """Fig 1A: the slow cycles' voltage profiles, charge solid and discharge dashed.

    Parameters
    ----------
    profiles
        The electrochemistry step's ``thin_film_profiles`` table (``cycle``,
        ``charge``, ``capacity_uAh``, ``voltage_V``); up to three cycles are drawn.
    plt
        ``matplotlib.pyplot`` with the paper's style (:func:`analysis.style.pyplot`).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, with panel label A.
    """
    fig, ax = plt.subplots()
    for color, number in zip(("C0", "C1", "C2"), np.unique(profiles["cycle"])):
        for charge, dash in ((1, "-"), (0, "--")):
            seg = profiles[(profiles["cycle"] == number) & (profiles["charge"] == charge)]
            ax.plot(seg["capacity_uAh"], seg["voltage_V"], dash, color=color,
                    label=f"cycle {number:.0f}" if charge else None)
    ax.set_xlabel("Capacity (µAh)")
    ax.set_ylabel("Voltage vs Li/Li$^+$ (V)")
    ax.legend(loc="lower center")
    style.panel_label(ax, "A")
    return fig


def coulombic_efficiency(cycles: np.ndarray, plt: ModuleType) -> Figure:
    """Fig 1B: the thin-film cell's CE (steady cycles) beside its discharge capacity (all cycles).

    Parameters
    ----------
    cycles
        The electrochemistry step's ``thin_film_cycles`` table.
    plt
        ``matplotlib.pyplot`` with the paper's style (:func:`analysis.style.pyplot`).

    Returns
    -------
    matplotlib.figure.Figure
        The figure (CE on the left axis, capacity on the right), with panel label B.
    """
    fig, ax = plt.subplots()
    steady = cycles["steady"] == 1
    ax.plot(cycles["cycle"][steady], cycles["ce_pct"][steady], ".", ms=1.5, color="C0", label="CE")
    ax.set_xlabel("Cycle number")
    ax.set_ylabel("Coulombic efficiency (%)", color="C0")
    ax.set_ylim(99.0, 100.0)
    twin = ax.twinx()
    twin.spines["right"].set_visible(True)
    twin.plot(cycles["cycle"], cycles["q_discharge_uAh"], ".", ms=1.5, color="C1")
    twin.set_ylabel("Discharge capacity (µAh)", color="C1")
    twin.set_ylim(0, 1.15 * np.max(cycles["q_discharge_uAh"]))
    style.panel_label(ax, "B")
    return fig


def ce_both_cells(solid: np.ndarray, liquid: np.ndarray, plt: ModuleType) -> Figure:
    """Fig S1: the CE of the LiPON thin-film cell beside the liquid-electrolyte coin cell's.

    Parameters
    ----------
    solid
        The electrochemistry step's ``thin_film_cycles`` table.
    liquid
        Its ``liquid_cycles`` table.
    plt
        ``matplotlib.pyplot`` with the paper's style (:func:`analysis.style.pyplot`).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, with a dotted guide at 99 % CE.
    """
    fig, ax = plt.subplots(figsize=(3.4, 2.4))
    ax.plot(solid["cycle"], solid["ce_pct"], ".", ms=1.5, label="Li | LiPON | LNMO thin film")
    ax.plot(liquid["cycle"], liquid["ce_pct"], ".", ms=2.5, label="Li | LiPF$_6$ EC:EMC | LNMO coin cell")
    ax.axhline(99.0, color="0.5", lw=0.6, ls=":")
    ax.set_xlabel("Cycle number")
    ax.set_ylabel("Coulombic efficiency (%)")
    ax.set_ylim(95.0, 100.2)
    ax.legend(loc="lower right", markerscale=3)
    return fig


def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figures 1A, 1B and S1 from tables alone, so a restyle never reruns the analysis.

    Parameters
    ----------
    inputs
        ``thin_film_cycles``, ``liquid_cycles``, ``thin_film_profiles`` (tables of the
        electrochemistry step) and ``style`` (the paper's style sheet).
    outputs
        ``fig1a``, ``fig1b``, ``figS1``.
    """
    plt = style.pyplot(inputs["style"])
    solid = datatable.read(inputs["thin_film_cycles"])
    liquid = datatable.read(inputs["liquid_cycles"])
    profiles = datatable.read(inputs["thin_film_profiles"])
    style.save(voltage_profiles(profiles, plt), outputs["fig1a"])
    style.save(coulombic_efficiency(solid, plt), outputs["fig1b"])
    style.save(ce_both_cells(solid, liquid, plt), outputs["figS1"])
    plt.close("all")

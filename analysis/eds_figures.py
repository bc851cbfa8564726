"""Figures 1E, 1F, 1G, S5 and S6 from the EDS step's tables and maps.

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

LABELS = {"N_Ka": "N K$\\alpha$", "O_Ka": "O K$\\alpha$", "P_Ka": "P K$\\alpha$"}


def _shade(ax, region) -> None:
    """Li, interphase and LiPON as background bands."""
    start, end = float(region["start_nm"]), float(region["end_nm"])
    lo, hi = ax.get_xlim()
    ax.axvspan(lo, start, color="0.92", lw=0)
    ax.axvspan(start, end, color="#f6e3c6", lw=0)
    ax.axvspan(end, hi, color="#dbe8f3", lw=0)
    ax.set_xlim(lo, hi)
    for x, text in (((lo + start) / 2, "Li"), ((start + end) / 2, "interphase"), ((end + hi) / 2, "LiPON")):
        ax.text(x, 1.01, text, transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=7)


def element_map(maps: Mapping[str, np.ndarray], element: str, letter: str, plt: ModuleType) -> Figure:
    """One element's count-rate map with a scale bar (Fig 1E, 1F).

    Parameters
    ----------
    maps
        The EDS step's maps (``N``, ``O``, ``P`` in counts/s, and ``pixel_nm``).
    element
        Which map to show.
    letter
        The panel letter the caption refers to.
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(3.0, 2.5))
    shown = style.show_micrograph(ax, maps[element], float(maps["pixel_nm"]), cmap="magma")
    fig.colorbar(shown, ax=ax, shrink=0.8, label=f"{element} K$\\alpha$ (counts/s)")
    style.panel_label(ax, letter)
    return fig


def normalized_profiles(profiles: np.ndarray, region: np.ndarray, plt: ModuleType) -> Figure:
    """N and P profiles scaled to their fitted levels, with the fits, over the shaded regions (Fig 1G).

    Normalizing puts both elements on one axis, so the reader sees nitrogen rise first.

    Parameters
    ----------
    profiles, region
        The EDS step's profile and interphase tables.
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(3.4, 2.5))
    x = profiles["position_nm"]
    ax.set_xlim(x[0], x[-1])
    _shade(ax, region)
    for element, color in (("N", "C0"), ("P", "C1")):
        ax.plot(x, profiles[f"{element}_norm"], ".", ms=2.5, color=color, label=element)
        ax.plot(x, profiles[f"{element}_fit_norm"], "-", color=color, lw=0.9)
    ax.set_xlabel("Position along the line scan (nm)")
    ax.set_ylabel("Normalized intensity")
    ax.legend(loc="center right")
    style.panel_label(ax, "G")
    return fig


def cps(profiles: np.ndarray, region: np.ndarray, plt: ModuleType) -> Figure:
    """Raw count rates of the three lines along the scan (Fig S5B), to show what normalizing hides.

    Parameters
    ----------
    profiles, region
        The EDS step's profile and interphase tables.
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(3.4, 2.5))
    x = profiles["position_nm"]
    ax.set_xlim(x[0], x[-1])
    _shade(ax, region)
    for line, color in (("O_Ka", "C2"), ("P_Ka", "C1"), ("N_Ka", "C0")):
        ax.plot(x, profiles[f"{line[0]}_cps"], "-", color=color, lw=0.9, label=LABELS[line])
    ax.set_xlabel("Position along the line scan (nm)")
    ax.set_ylabel("Counts per second")
    ax.legend(loc="upper left")
    style.panel_label(ax, "B")
    return fig


def dark_field(df: Mapping[str, np.ndarray], plt: ModuleType) -> Figure:
    """The dark-field image of the scanned interface (Fig S5A).

    Parameters
    ----------
    df
        The micrographs step's image (``image``, ``pixel_nm``).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(3.0, 3.0))
    style.show_micrograph(ax, df["image"], float(df["pixel_nm"]))
    style.panel_label(ax, "A")
    return fig


def point_spectra(spectra: np.ndarray, lines: np.ndarray, plt: ModuleType) -> Figure:
    """Spectra at the start, middle and end of the interphase, offset, with the line energies (Fig S6).

    Parameters
    ----------
    spectra
        The EDS step's point-spectrum table.
    lines
        The EDS step's line-energy table.
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(3.4, 2.5))
    keep = spectra["energy_keV"] <= 2.4  # the N, O and P K lines all lie below
    offset = 0.0
    for name, color in (("start", "C0"), ("middle", "C4"), ("end", "C1")):
        y = spectra[f"{name}_cps"][keep]
        ax.plot(spectra["energy_keV"][keep], y + offset, color=color, lw=0.8, label=f"{name} of the interphase")
        offset += 0.8 * float(np.max(y))
    for line, energy in zip(lines["line"], lines["energy_keV"]):
        ax.axvline(energy, color="0.6", lw=0.5, ls=":")
        ax.text(energy, 1.01, LABELS[line.decode() if isinstance(line, bytes) else line],
                transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=7)
    ax.set_xlabel("Energy (keV)")
    ax.set_ylabel("Counts per second (offset)")
    ax.legend(loc="upper right", fontsize=6)
    return fig


def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figures 1E, 1F, 1G, S5A, S5B and S6.

    Parameters
    ----------
    inputs
        ``profiles``, ``interphase``, ``point_spectra``, ``lines``, ``maps`` (the EDS
        step's tables and maps), ``df_interface`` (the micrographs step's dark-field
        image) and ``style`` (the paper's style sheet).
    outputs
        ``fig1e``, ``fig1f``, ``fig1g``, ``figS5a``, ``figS5b``, ``figS6``.
    """
    plt = style.pyplot(inputs["style"])
    maps = np.load(inputs["maps"], allow_pickle=False)
    profiles = datatable.read(inputs["profiles"])
    region = datatable.read(inputs["interphase"])
    lines = datatable.read(inputs["lines"])
    style.save(element_map(maps, "P", "E", plt), outputs["fig1e"])
    style.save(element_map(maps, "N", "F", plt), outputs["fig1f"])
    style.save(normalized_profiles(profiles, region, plt), outputs["fig1g"])
    style.save(dark_field(np.load(inputs["df_interface"], allow_pickle=False), plt), outputs["figS5a"])
    style.save(cps(profiles, region, plt), outputs["figS5b"])
    style.save(point_spectra(datatable.read(inputs["point_spectra"]), lines, plt), outputs["figS6"])
    plt.close("all")

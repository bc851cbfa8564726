"""Figure 4 (stacked spectra through the depth profile), Figure S8 (the LiPON reference
fits) and Figure S9 (atomic % against depth)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from collections.abc import Mapping
from pathlib import Path

import numpy as np

if TYPE_CHECKING:  # annotations only: figures import matplotlib lazily
    import matplotlib.figure

from analysis import datatable, style

PROFILE_PANELS = ("O 1s", "N 1s", "P 2p", "Li 1s")
ELEMENT_COLOURS = {"O": "C1", "C": "0.35", "N": "C0", "P": "C2", "Li": "C3"}


def depth_profile(spectra: np.ndarray, onsets: np.ndarray, plt) -> "matplotlib.figure.Figure":
    """One panel per region: each etch step's net spectrum drawn at its depth.

    Drawing the spectra at their depth makes an onset read as the depth where a line
    first rises out of the stack; the onset step is drawn bold.

    Parameters
    ----------
    spectra
        The ``profile_spectra`` table (depth, region, binding_eV, counts, background).
    onsets
        The ``onsets`` table (region, onset_depth).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib import colormaps

    fig, axes = plt.subplots(1, len(PROFILE_PANELS), figsize=(7.0, 3.6), sharey=True)
    depths = np.unique(spectra["depth"])
    spacing = float(np.diff(depths).min()) if depths.size > 1 else 1.0
    colours = colormaps["viridis"](np.linspace(0.0, 0.9, depths.size))
    onset_depth = {row["region"]: row["onset_depth"] for row in np.atleast_1d(onsets)}
    for ax, region in zip(axes, PROFILE_PANELS):
        rows = spectra[spectra["region"] == region]
        net = rows["counts"] - rows["background"]
        scale = 2.5 * spacing / max(float(net.max()), 1.0)
        for depth, colour in zip(depths, colours):
            mask = rows["depth"] == depth
            bold = depth == onset_depth.get(region)
            ax.plot(rows["binding_eV"][mask], depth - scale * net[mask], color="k" if bold else colour,
                    lw=1.1 if bold else 0.6)
        ax.set_title(region)
        ax.set_xlim(rows["binding_eV"].max(), rows["binding_eV"].min())
        ax.set_xlabel("Binding energy (eV)")
        if region in onset_depth:
            ax.annotate(f"onset {onset_depth[region]:g}", xy=(0.03, onset_depth[region]), xycoords=("axes fraction", "data"),
                        ha="left", va="bottom", fontsize=6)
    axes[0].set_ylim(depths.max() + spacing, depths.min() - 3 * spacing)
    axes[0].set_ylabel("Etch depth (a.u.)")
    return fig


def reference(curves: np.ndarray, lines: np.ndarray, plt) -> "matplotlib.figure.Figure":
    """The reference's spectra with background, fitted components and envelope.

    Parameters
    ----------
    curves
        The ``reference_curves`` table (region, curve, binding_eV, value).
    lines
        The ``reference_lines`` table (region, state, centre_eV, area, sigma_eV): the
        legend quotes each component's centre.
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = plt.subplots(2, 2, figsize=(6.0, 4.4))
    for ax, region, letter in zip(axes.flat, PROFILE_PANELS, "ABCD"):
        rows = curves[curves["region"] == region]
        def curve(name):
            chosen = rows[rows["curve"] == name]
            return chosen["binding_eV"], chosen["value"]
        x, counts = curve("counts")
        ax.plot(x, counts / 1e3, "o", ms=1.2, color="0.55", label="data")
        bx, background = curve("background")
        ax.plot(bx, background / 1e3, "--", color="0.3", lw=0.7, label="Shirley")
        for index, state in enumerate(lines[lines["region"] == region]):
            cx, value = curve(state["state"])
            ax.fill_between(cx, background / 1e3, value / 1e3, alpha=0.35, color=f"C{index}",
                            label=f"{state['state']} {state['centre_eV']:.1f} eV")
        ex, envelope = curve("envelope")
        ax.plot(ex, envelope / 1e3, color="k", lw=0.8, label="envelope")
        ax.set_xlim(x.max(), x.min())
        ax.set_title(region)
        ax.set_xlabel("Binding energy (eV)")
        ax.set_ylabel("Counts (10³)")
        ax.legend(fontsize=5.5, loc="upper left")
        style.panel_label(ax, letter)
    fig.tight_layout()
    return fig


def atomic_percent(table: np.ndarray, plt) -> "matplotlib.figure.Figure":
    """(A) every element against depth; (B) O, N and P on their own scale.

    The second panel exists because Li and C dominate the first and flatten the
    minority elements whose onsets the text discusses.

    Parameters
    ----------
    table
        The ``atomic_percent`` table (depth and one column per element).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(6.4, 2.6))
    for element, colour in ELEMENT_COLOURS.items():
        left.plot(table["depth"], table[element], "o-", ms=2, color=colour, label=element)
        if element in ("O", "N", "P"):
            right.plot(table["depth"], table[element], "o-", ms=2, color=colour, label=element)
    for ax, letter in ((left, "A"), (right, "B")):
        ax.set_xlabel("Etch depth (a.u.)")
        ax.set_ylabel("Atomic %")
        ax.legend(loc="best")
        style.panel_label(ax, letter)
    right.set_ylim(0, 1.1 * max(float(table[e].max()) for e in ("O", "N", "P")))
    fig.tight_layout()
    return fig


def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figures 4, S8 and S9.

    Parameters
    ----------
    inputs
        ``profile_spectra``, ``onsets``, ``reference_curves``, ``reference_lines`` and
        ``atomic_percent`` (tables of the xps step) and ``style`` (the paper's style sheet).
    outputs
        ``fig4``, ``figS8``, ``figS9``.
    """
    plt = style.pyplot(inputs["style"])
    style.save(depth_profile(datatable.read(inputs["profile_spectra"]), datatable.read(inputs["onsets"]), plt),
               outputs["fig4"])
    style.save(reference(datatable.read(inputs["reference_curves"]), datatable.read(inputs["reference_lines"]), plt),
               outputs["figS8"])
    style.save(atomic_percent(datatable.read(inputs["atomic_percent"]), plt), outputs["figS9"])
    plt.close("all")

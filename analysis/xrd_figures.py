"""Figure S4: (A) pristine and air-exposed LiPON with the Li2CO3 lines, (B) LiPON at 100 K."""
from __future__ import annotations

from typing import TYPE_CHECKING

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

if TYPE_CHECKING:  # annotations only: figures import matplotlib lazily
    import matplotlib.figure

from analysis import datatable, style


def mathtext_hkl(label: str) -> str:
    """'(2̄02)' (combining overline, for text) -> mathtext with a bar, which every font draws.

    Parameters
    ----------
    label
        Miller indices as the tables write them.

    Returns
    -------
    str
        A mathtext string.
    """
    return "$" + re.sub(r"(\d)\u0304", r"\\bar{\1}", label) + "$"


def angle_label(rows: np.ndarray) -> str:
    """The 2θ axis label with the wavelength the rows were recorded at (from the table).

    Parameters
    ----------
    rows
        Rows of the ``patterns`` table, all of one wavelength.

    Returns
    -------
    str
    """
    return f"2θ (°, λ = {float(rows['wavelength_A'][0]):.4f} Å)"


def patterns(table: np.ndarray, peaks: np.ndarray, reflections: np.ndarray, plt) -> "matplotlib.figure.Figure":
    """(A) pristine and air-exposed patterns, offset, the indexed peaks labelled and the
    computed Li2CO3 lines drawn beneath; (B) the 100 K pattern over its background.

    Parameters
    ----------
    table
        The ``patterns`` table (pattern, two_theta_deg, counts, background, wavelength_A).
    peaks
        The ``peaks`` table (pattern, two_theta_deg, height, sigma, hkl, ...).
    reflections
        The ``li2co3_reflections`` table (hkl, d_A, two_theta_deg, intensity).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(6.8, 2.8))
    offset = 0.0
    for name, colour in (("pristine", "0.35"), ("air-exposed", "C1")):
        rows = table[table["pattern"] == name]
        left.plot(rows["two_theta_deg"], rows["counts"] + offset, color=colour, lw=0.6, label=name)
        if name == "air-exposed":
            found = peaks[(peaks["pattern"] == name) & (peaks["hkl"] != "")]
            for peak in found:
                top = rows["counts"][abs(rows["two_theta_deg"] - peak["two_theta_deg"]) < 0.05].max() + offset
                left.annotate(mathtext_hkl(peak["hkl"]), (peak["two_theta_deg"], top), xytext=(0, 3), textcoords="offset points",
                              ha="center", fontsize=5, rotation=90)
        offset += 0.7 * float(rows["counts"].max())
    base = -0.12 * offset
    left.vlines(reflections["two_theta_deg"], base, base * (1 + 2.0 * reflections["intensity"]), color="C0", lw=0.8,
                label="Li$_2$CO$_3$ (computed)")
    left.set_xlabel(angle_label(table[table["pattern"] == "air-exposed"]))
    left.set_ylabel("Counts (offset)")
    left.set_yticks([])
    left.legend(loc="center right", bbox_to_anchor=(1.0, 0.5))
    style.panel_label(left, "A")
    rows = table[table["pattern"] == "cryo 100 K"]
    right.plot(rows["two_theta_deg"], rows["counts"], color="C0", lw=0.6, label="100 K")
    right.plot(rows["two_theta_deg"], rows["background"], color="k", lw=0.8, ls="--", label="background")
    right.set_xlabel(angle_label(rows))
    right.set_ylabel("Counts")
    right.legend(loc="upper right")
    style.panel_label(right, "B")
    fig.tight_layout()
    return fig


def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figure S4.

    Parameters
    ----------
    inputs
        ``patterns``, ``peaks`` and ``li2co3_reflections`` (tables of the xrd step) and
        ``style`` (the paper's style sheet).
    outputs
        ``figS4``.
    """
    plt = style.pyplot(inputs["style"])
    style.save(patterns(datatable.read(inputs["patterns"]), datatable.read(inputs["peaks"]),
                        datatable.read(inputs["li2co3_reflections"]), plt), outputs["figS4"])
    plt.close("all")

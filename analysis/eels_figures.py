"""Figure 3 (A: the points on the dark-field image; B: edges; C: FEFF references)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis import style

FIG_3A = "figures/fig3a_eels_points.png"
FIG_3B = "figures/fig3b_eels_edges.svg"
FIG_3C = "figures/fig3c_feff_references.svg"



def points_on_image(df, points, plt):
    fig, ax = plt.subplots(figsize=(3.0, 3.0))
    px = float(df["pixel_nm"])
    style.show_micrograph(ax, df["image"], px)
    for number, x, y in zip(points["point"], points["x_nm"], points["y_nm"]):
        ax.plot(x / px, y / px, "o", ms=5, mfc="none", mec="C4", mew=1.2)
        ax.text(x / px, y / px - 12, f"{number:.0f}", color="C4", ha="center", fontsize=7)
    style.panel_label(ax, "A")
    return fig


def edges(li, p, o, fits, points, plt):
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


def references(refs, plt):
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


def run(build: Path, out: Path) -> None:
    plt = style.pyplot()
    data = build / "data"
    points = style.read_table(data / "eels_points.csv")
    style.save(points_on_image(np.load(data / "stem_eels_region_df.npz", allow_pickle=False), points, plt), out / FIG_3A)
    style.save(edges(style.read_table(data / "eels_li_edges.csv"), style.read_table(data / "eels_p_edges.csv"), style.read_table(data / "eels_o_edges.csv"),
                     style.read_table(data / "eels_li_fits.csv"), points, plt), out / FIG_3B)
    style.save(references(style.read_table(data / "eels_references.csv"), plt), out / FIG_3C)
    plt.close("all")

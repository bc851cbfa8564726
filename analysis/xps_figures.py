"""Figure 4 (stacked spectra through the depth profile), Figure S8 (the LiPON reference
fits) and Figure S9 (atomic % against depth)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis import style

FIG_4 = "figures/fig4_xps_depth_profile.svg"
FIG_S8 = "figures/figS8_xps_lipon_reference.svg"
FIG_S9 = "figures/figS9_xps_atomic_percent.svg"
PROFILE_PANELS = ("O 1s", "N 1s", "P 2p", "Li 1s")
ELEMENT_COLOURS = {"O": "C1", "C": "0.35", "N": "C0", "P": "C2", "Li": "C3"}


def depth_profile(spectra, onsets, plt):
    """One panel per region: each etch step's net spectrum drawn at its depth."""
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


def reference(curves, lines, plt):
    """The reference's spectra with background, fitted components and envelope."""
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


def atomic_percent(table, plt):
    """(A) every element against depth; (B) O, N and P on their own scale."""
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


def run(build: Path, out: Path) -> None:
    plt = style.pyplot()
    data = build / "data"
    style.save(depth_profile(style.read_table(data / "xps_profile_spectra.csv"),
                             style.read_table(data / "xps_onsets.csv"), plt), out / FIG_4)
    style.save(reference(style.read_table(data / "xps_reference_curves.csv"),
                         style.read_table(data / "xps_reference_lines.csv"), plt), out / FIG_S8)
    style.save(atomic_percent(style.read_table(data / "xps_atomic_percent.csv"), plt), out / FIG_S9)
    plt.close("all")

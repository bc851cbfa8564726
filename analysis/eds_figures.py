"""Figures 1E, 1F, 1G, S5 and S6 from the EDS step's tables and maps."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis import style

FIG_1E = "figures/fig1e_p_map.png"
FIG_1F = "figures/fig1f_n_map.png"
FIG_1G = "figures/fig1g_normalized_profiles.svg"
FIG_S5A = "figures/figS5a_stem_df.png"
FIG_S5B = "figures/figS5b_eds_line_scan_cps.svg"
FIG_S6 = "figures/figS6_eds_point_spectra.svg"
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


def element_map(maps, element: str, letter: str, plt):
    fig, ax = plt.subplots(figsize=(3.0, 2.5))
    shown = style.show_micrograph(ax, maps[element], float(maps["pixel_nm"]), cmap="magma")
    fig.colorbar(shown, ax=ax, shrink=0.8, label=f"{element} K$\\alpha$ (counts/s)")
    style.panel_label(ax, letter)
    return fig


def normalized_profiles(profiles, region, plt):
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


def cps(profiles, region, plt):
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


def dark_field(df, plt):
    fig, ax = plt.subplots(figsize=(3.0, 3.0))
    style.show_micrograph(ax, df["image"], float(df["pixel_nm"]))
    style.panel_label(ax, "A")
    return fig


def point_spectra(spectra, lines, plt):
    fig, ax = plt.subplots(figsize=(3.4, 2.5))
    keep = spectra["energy_keV"] <= 2.4
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


def run(build: Path, out: Path) -> None:
    plt = style.pyplot()
    data = build / "data"
    maps = np.load(data / "eds_maps.npz", allow_pickle=False)
    profiles = style.read_table(data / "eds_profiles.csv")
    region = style.read_table(data / "eds_interphase.csv")
    lines = style.read_table(data / "eds_lines.csv")
    style.save(element_map(maps, "P", "E", plt), out / FIG_1E)
    style.save(element_map(maps, "N", "F", plt), out / FIG_1F)
    style.save(normalized_profiles(profiles, region, plt), out / FIG_1G)
    style.save(dark_field(np.load(data / "stem_interface_df.npz", allow_pickle=False), plt), out / FIG_S5A)
    style.save(cps(profiles, region, plt), out / FIG_S5B)
    style.save(point_spectra(style.read_table(data / "eds_point_spectra.csv"), lines, plt), out / FIG_S6)
    plt.close("all")

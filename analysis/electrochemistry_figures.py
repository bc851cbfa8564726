"""Figures 1A, 1B and S1 from the tables the electrochemistry step wrote.

Plotting is a step of its own: restyling a figure never reruns the analysis.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis import style

FIG_1A = "figures/fig1a_voltage_profiles.svg"
FIG_1B = "figures/fig1b_coulombic_efficiency.svg"
FIG_S1 = "figures/figS1_ce_solid_vs_liquid.svg"



def voltage_profiles(profiles: np.ndarray, plt):
    """Voltage vs capacity of the slow cycles, charge solid and discharge dashed."""
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


def coulombic_efficiency(cycles: np.ndarray, plt):
    """CE and discharge capacity of every cycle of the thin-film cell."""
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


def ce_both_cells(solid: np.ndarray, liquid: np.ndarray, plt):
    """CE of the LiPON thin-film cell and of the liquid-electrolyte coin cell."""
    fig, ax = plt.subplots(figsize=(3.4, 2.4))
    ax.plot(solid["cycle"], solid["ce_pct"], ".", ms=1.5, label="Li | LiPON | LNMO thin film")
    ax.plot(liquid["cycle"], liquid["ce_pct"], ".", ms=2.5, label="Li | LiPF$_6$ EC:EMC | LNMO coin cell")
    ax.axhline(99.0, color="0.5", lw=0.6, ls=":")
    ax.set_xlabel("Cycle number")
    ax.set_ylabel("Coulombic efficiency (%)")
    ax.set_ylim(95.0, 100.2)
    ax.legend(loc="lower right", markerscale=3)
    return fig


def run(build: Path, out: Path) -> None:
    plt = style.pyplot()
    solid = style.read_table(build / "data/echem_thin_film_cycles.csv")
    liquid = style.read_table(build / "data/echem_liquid_cycles.csv")
    profiles = style.read_table(build / "data/echem_thin_film_profiles.csv")
    style.save(voltage_profiles(profiles, plt), out / FIG_1A)
    style.save(coulombic_efficiency(solid, plt), out / FIG_1B)
    style.save(ce_both_cells(solid, liquid, plt), out / FIG_S1)
    plt.close("all")

"""Figure 2 (HRTEM: image, local FFTs, crystallite outlines, layer depths) and Figure 6
(the multilayer-mosaic schematic, drawn to scale from the measured layer means).

Plotting is a step of its own: restyling a figure never reruns the HRTEM analysis.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis import datatable, style

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LAYER_COLOURS = ("#d9e7f5", "#f5dfc0", "#e4d3ee", "#f3cfcf", "#e9e9e9")
PHASE_COLOURS = {"Li": "#7f8c8d", "Li2O": "#2e86c1", "Li3N": "#8e44ad", "Li3PO4": "#c0392b"}
REGION_PHASES = (("Li", "Li2O"), ("Li", "Li2O", "Li3N"), ("Li2O", "Li3N", "Li3PO4"), ())



def _chem(name: str) -> str:
    return "".join(f"$_{c}$" if c.isdigit() else c for c in name)


def _region_windows(region, size_px: int) -> list[int]:
    """First column of a square crop in the middle of each layer and in LiPON."""
    pixel_nm = float(region["pixel_A"]) / 10
    b = region["boundaries_nm"]
    middles = [(b[0] + b[1]) / 2, (b[1] + b[2]) / 2, (b[2] + b[3]) / 2, b[3] + 0.6 * size_px * pixel_nm]
    cols = region["image"].shape[1]
    return [int(np.clip(m / pixel_nm - size_px / 2, 0, cols - size_px)) for m in middles]


def overview(region: Mapping[str, np.ndarray], plt) -> Figure:
    """Region 1 with the three layers and LiPON shaded and numbered, so the reader sees
    where the layer boundaries were placed on the image itself.

    Parameters
    ----------
    region
        Arrays of the region (``image``, ``pixel_A``, ``boundaries_nm``).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    image, pixel_nm = region["image"], float(region["pixel_A"]) / 10
    fig, ax = plt.subplots(figsize=(6.8, 2.8))
    style.show_micrograph(ax, image, pixel_nm)
    edges = np.r_[region["boundaries_nm"], image.shape[1] * pixel_nm] / pixel_nm
    for number, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]), start=1):
        ax.axvspan(lo, hi, color=LAYER_COLOURS[number], alpha=0.18, lw=0)
        ax.text((lo + hi) / 2, image.shape[0] * 0.06, str(number), color="white", ha="center", fontweight="bold")
    for edge in edges[:-1]:
        ax.axvline(edge, color="white", lw=0.6, ls="--")
    style.panel_label(ax, "A")
    return fig


def local_ffts(region: Mapping[str, np.ndarray], refs: np.ndarray, plt) -> Figure:
    """Power spectra of a crop in each layer, with the reference rings of its phases, so
    the reader can check the phase assignment by eye.

    Parameters
    ----------
    region
        Arrays of the region (``image``, ``pixel_A``, ``boundaries_nm``).
    refs
        Reference rings (``label``, ``d_A``).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    image, pixel_A = region["image"], float(region["pixel_A"])
    size = 256
    fig, axes = plt.subplots(1, 4, figsize=(6.8, 1.9))
    for ax, c0, phases, letter in zip(axes, _region_windows(region, size), REGION_PHASES, "BDFH"):
        crop = image[: size, c0:c0 + size] - image[: size, c0:c0 + size].mean()
        power = np.fft.fftshift(np.abs(np.fft.fft2(crop * np.outer(np.hanning(size), np.hanning(size)))) ** 2)
        ax.imshow(np.log(power + 1e-9), cmap="gray", vmin=np.percentile(np.log(power + 1e-9), 50))
        q_px = size * pixel_A  # pixels per 1/Å
        for name, d in zip(refs["label"], refs["d_A"]):
            phase = name.split(" ")[0]
            if phase in phases:
                ax.add_patch(plt.Circle((size / 2, size / 2), q_px / d, fill=False, lw=0.5, ls="--",
                                        color=PHASE_COLOURS[phase]))
        ax.set_xlim(size * 0.15, size * 0.85)
        ax.set_ylim(size * 0.85, size * 0.15)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(" + ".join(_chem(p) for p in phases) or "amorphous", fontsize=6)
        ax.text(0.03, 0.97, letter, transform=ax.transAxes, va="top", color="white", fontweight="bold")
    handles = [plt.Line2D([], [], color=c, ls="--", lw=0.8, label=_chem(p)) for p, c in PHASE_COLOURS.items()]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=6, bbox_to_anchor=(0.5, -0.08))
    return fig


def outlines(region: Mapping[str, np.ndarray], plt) -> Figure:
    """Segmented crystallites outlined on a crop of each layer: what the size range counts.

    Parameters
    ----------
    region
        Arrays of the region (``image``, ``pixel_A``, ``boundaries_nm``, ``mask``).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    image, mask, pixel_nm = region["image"], region["mask"], float(region["pixel_A"]) / 10
    size = 256
    fig, axes = plt.subplots(1, 4, figsize=(6.8, 1.9))
    for ax, c0, letter in zip(axes, _region_windows(region, size), "CEGI"):
        crop = image[:size, c0:c0 + size]
        style.show_micrograph(ax, crop, pixel_nm)
        ax.contour(mask[:size, c0:c0 + size].astype(float), levels=[0.5], colors="#f1c40f", linewidths=0.5)
        ax.text(0.03, 0.97, letter, transform=ax.transAxes, va="top", color="white", fontweight="bold")
    return fig


def layer_depths(layers: np.ndarray, plt) -> Figure:
    """Depth of each layer in every region (stacked from the interphase start): the
    scatter between regions behind the quoted means.

    Parameters
    ----------
    layers
        Per-region layer table (``region``, ``layer1_nm``...).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(3.4, 2.6))
    regions = layers["region"].astype(int)
    left = np.zeros(regions.size)
    for k, phases in enumerate(REGION_PHASES[:3], start=1):
        name = " + ".join(_chem(p) for p in phases)
        width = layers[f"layer{k}_nm"]
        ax.barh(regions, width, left=left, color=LAYER_COLOURS[k], edgecolor="0.3", lw=0.4, label=name)
        left = left + width
    ax.invert_yaxis()
    ax.set_yticks(regions)
    ax.set_xlabel("Depth from the interphase start (nm)")
    ax.set_ylabel("Region")
    ax.legend(loc="lower right", fontsize=6)
    style.panel_label(ax, "J")
    return fig


def layer_means(summary: np.ndarray, plt) -> Figure:
    """Mean thickness of each layer with the range over the regions.

    Parameters
    ----------
    summary
        Layer summary (``layer``, ``mean_nm``, ``min_nm``, ``max_nm``).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(3.0, 2.6))
    x = summary["layer"]
    ax.bar(x, summary["mean_nm"], color=[LAYER_COLOURS[int(k)] for k in x], edgecolor="0.3", lw=0.4)
    ax.errorbar(x, summary["mean_nm"], yerr=[summary["mean_nm"] - summary["min_nm"], summary["max_nm"] - summary["mean_nm"]],
                fmt="none", ecolor="0.2", capsize=3, lw=0.8)
    for xi, mean in zip(x, summary["mean_nm"]):
        ax.text(xi, mean / 2, f"{mean:.1f}", ha="center", fontsize=7)
    ax.set_xticks(x, ["1", "2", "3"])
    ax.set_xlabel("Layer")
    ax.set_ylabel("Thickness (nm)")
    style.panel_label(ax, "K")
    return fig


def mosaic(summary: np.ndarray, plt) -> Figure:
    """The multilayer-mosaic interphase drawn to scale from the measured mean thicknesses,
    so the schematic cannot drift from the numbers.

    Parameters
    ----------
    summary
        Layer summary (``layer``, ``mean_nm``, ``min_nm``, ``max_nm``).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rng = np.random.default_rng(6)  # crystallite placement is decoration; sizes are to scale
    means = summary["mean_nm"]
    edges = np.concatenate([[0.0], np.cumsum(means)])
    li, lipon = 15.0, 20.0
    height = 30.0
    fig, ax = plt.subplots(figsize=(6.8, 2.2))
    ax.axvspan(-li, 0, color=LAYER_COLOURS[0])
    ax.axvspan(edges[-1], edges[-1] + lipon, color=LAYER_COLOURS[4])
    for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]), start=1):
        ax.axvspan(lo, hi, color=LAYER_COLOURS[k])
        phases = REGION_PHASES[k - 1]
        for x in np.arange(lo + 2.5, hi - 1.5, 5.0):
            for y in np.arange(2.5, height, 5.0):
                phase = phases[rng.integers(len(phases))]
                ax.add_patch(plt.Circle((x + rng.uniform(-0.4, 0.4), y + rng.uniform(-0.4, 0.4)),
                                        rng.uniform(1.5, 2.5), color=PHASE_COLOURS[phase], alpha=0.8, lw=0))
        ax.text((lo + hi) / 2, height + 1.5, f"{hi - lo:.1f} nm", ha="center", fontsize=7)
    ax.text(-li / 2, height / 2, "Li", ha="center", va="center")
    ax.text(edges[-1] + lipon / 2, height / 2, "LiPON\n(amorphous)", ha="center", va="center", fontsize=7)
    ax.set_xlim(-li, edges[-1] + lipon)
    ax.set_ylim(0, height + 5)
    ax.set_aspect("equal")
    ax.set_yticks([])
    ax.set_xlabel("Depth from the interphase start (nm)")
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=_chem(p)) for p, c in PHASE_COLOURS.items()]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=4, fontsize=6)
    return fig


def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figures 2A, 2B/D/F/H, 2C/E/G/I, 2J, 2K and 6.

    Parameters
    ----------
    inputs
        ``region1`` (arrays of the region Fig 2 shows), ``reference_rings``,
        ``layer_summary``, ``layers`` (tables of the hrtem step) and ``style``.
    outputs
        ``fig2a``, ``fig2_ffts``, ``fig2_crystallites``, ``fig2j``, ``fig2k``, ``fig6``.
    """
    plt = style.pyplot(inputs["style"])
    with np.load(inputs["region1"], allow_pickle=False) as region:
        region = dict(region)
    refs = datatable.read(inputs["reference_rings"])
    summary = datatable.read(inputs["layer_summary"])
    style.save(overview(region, plt), outputs["fig2a"])
    style.save(local_ffts(region, refs, plt), outputs["fig2_ffts"])
    style.save(outlines(region, plt), outputs["fig2_crystallites"])
    style.save(layer_depths(datatable.read(inputs["layers"]), plt), outputs["fig2j"])
    style.save(layer_means(summary, plt), outputs["fig2k"])
    style.save(mosaic(summary, plt), outputs["fig6"])
    plt.close("all")

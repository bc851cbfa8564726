"""Figures 1C, 1D, S2 and S3 from the calibrated images the micrographs step wrote.

Plotting is a step of its own: restyling a figure never reruns the analysis.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from analysis import style

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def cross_section(sem: Mapping[str, np.ndarray], plt: ModuleType) -> Figure:
    """The cross-section with the measured Li film between two dashed lines (Fig 1C).

    Drawing the measured boundaries on the image lets the reader judge the thickness.

    Parameters
    ----------
    sem
        The micrographs step's cross-section (``image``, ``pixel_nm``, ``li_top_px``,
        ``li_bottom_px``).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(3.2, 3.2))
    style.show_micrograph(ax, sem["image"], float(sem["pixel_nm"]))
    for row in (sem["li_top_px"], sem["li_bottom_px"]):
        ax.axhline(float(row), color="C4", lw=0.8, ls="--")
    middle = 0.5 * (float(sem["li_top_px"]) + float(sem["li_bottom_px"]))
    ax.text(8, middle, "Li", color="white", va="center", fontsize=8)
    ax.text(8, float(sem["li_bottom_px"]) + 40, "LiPON", color="white", va="center", fontsize=8)
    style.panel_label(ax, "C")
    return fig


def dark_field(df: Mapping[str, np.ndarray], plt: ModuleType, letter: str) -> Figure:
    """A dark-field image of the interface, Li on the left and LiPON on the right (Fig 1D).

    Parameters
    ----------
    df
        The micrographs step's image (``image``, ``pixel_nm``).
    plt
        ``matplotlib.pyplot`` with the paper's style.
    letter
        The panel letter the caption refers to.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(3.0, 3.0))
    style.show_micrograph(ax, df["image"], float(df["pixel_nm"]))
    ax.text(0.04, 0.95, "Li", color="white", transform=ax.transAxes, va="top", fontsize=8)
    ax.text(0.96, 0.95, "LiPON", color="white", transform=ax.transAxes, va="top", ha="right", fontsize=8)
    style.panel_label(ax, letter)
    return fig


def liftout(sequence: Mapping[str, np.ndarray], plt: ModuleType) -> Figure:
    """The Pt-free lift-out, step by step, each image with its scale bar (Fig S2).

    The step labels come from the file (the operator's ImageJ slice labels), so they
    are drawn literally: a ``$`` or ``_`` in a label is not mathematics.

    Parameters
    ----------
    sequence
        The micrographs step's lift-out stack (``frames``, ``pixel_nm``, ``labels``).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    frames = sequence["frames"]
    columns = 2
    rows = -(-len(frames) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6, 1.9 * rows))
    for ax in np.ravel(axes)[len(frames):]:
        ax.set_axis_off()
    for index, (ax, image, label) in enumerate(zip(np.ravel(axes), frames, sequence["labels"])):
        style.show_micrograph(ax, image, float(sequence["pixel_nm"]))
        # the operator's label as written: $, _, ^, \\, {, } are text here, never TeX or mathtext
        ax.set_title(f"{index + 1}. {label}", fontsize=6, parse_math=False, usetex=False)
        style.panel_label(ax, "ABCDEFGH"[index])
    return fig


def frames_pair(frames: Mapping[str, np.ndarray], plt: ModuleType) -> Figure:
    """The first and last frame of the beam-stability series side by side (Fig S3A).

    Parameters
    ----------
    frames
        The micrographs step's series summary (``first``, ``last``, ``ncc``, ``pixel_nm``).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = plt.subplots(1, 2, figsize=(4.4, 2.3))
    px = float(frames["pixel_nm"])
    last = len(frames["ncc"])
    for ax, key, title in ((axes[0], "first", "frame 1"), (axes[1], "last", f"frame {last}")):
        style.show_micrograph(ax, frames[key], px)
        ax.set_title(title)
    style.panel_label(axes[0], "A")
    return fig


def similarity(frames: Mapping[str, np.ndarray], plt: ModuleType) -> Figure:
    """NCC of every frame with the first and the blur each frame has gained (Fig S3B).

    A flat NCC and a blur near zero mean no beam damage; the NCC's level is set by
    counting noise, the blur (the quoted measure) is not.

    Parameters
    ----------
    frames
        The micrographs step's series summary (``ncc``, ``blur_nm``).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(3.2, 2.2))
    ncc = frames["ncc"]
    number = np.arange(1, ncc.size + 1)
    ax.plot(number, ncc, "o-", ms=3, label="NCC")
    ax.set_xlabel("Frame number")
    ax.set_ylabel("NCC with frame 1")
    ax.set_ylim(0, 1.05)
    blur_ax = ax.twinx()
    blur_ax.plot(number, frames["blur_nm"], "s--", ms=3, color="C1", label="blur")
    blur_ax.set_ylabel("Blur gained (nm)")
    blur_ax.set_ylim(0, max(0.5, 1.1 * float(np.max(frames["blur_nm"]))))
    ax.legend(handles=ax.get_lines() + blur_ax.get_lines(), loc="lower left", frameon=False)
    style.panel_label(ax, "B")
    return fig


def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figures 1C, 1D, S2, S3A and S3B.

    Parameters
    ----------
    inputs
        ``sem_cross_section``, ``df_interface``, ``frames``, ``liftout`` (the
        micrographs step's arrays) and ``style`` (the paper's style sheet).
    outputs
        ``fig1c``, ``fig1d``, ``figS2``, ``figS3a``, ``figS3b``.
    """
    plt = style.pyplot(inputs["style"])
    load = lambda role: np.load(inputs[role], allow_pickle=False)
    style.save(cross_section(load("sem_cross_section"), plt), outputs["fig1c"])
    style.save(dark_field(load("df_interface"), plt, "D"), outputs["fig1d"])
    frames = load("frames")
    style.save(frames_pair(frames, plt), outputs["figS3a"])
    style.save(similarity(frames, plt), outputs["figS3b"])
    style.save(liftout(load("liftout"), plt), outputs["figS2"])
    plt.close("all")

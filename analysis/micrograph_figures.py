"""Figures 1C, 1D and S3 from the calibrated images the micrographs step wrote."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis import style

FIG_1C = "figures/fig1c_fib_sem_cross_section.png"
FIG_1D = "figures/fig1d_stem_df_interface.png"
FIG_S3_FRAMES = "figures/figS3a_lipon_frames.png"
FIG_S3_NCC = "figures/figS3b_frame_similarity.svg"
FIG_S2 = "figures/figS2_liftout_sequence.png"


def cross_section(sem, plt):
    """The cross-section with the measured Li film between two dashed lines."""
    fig, ax = plt.subplots(figsize=(3.2, 3.2))
    style.show_micrograph(ax, sem["image"], float(sem["pixel_nm"]))
    for row in (sem["li_top_px"], sem["li_bottom_px"]):
        ax.axhline(float(row), color="C4", lw=0.8, ls="--")
    middle = 0.5 * (float(sem["li_top_px"]) + float(sem["li_bottom_px"]))
    ax.text(8, middle, "Li", color="white", va="center", fontsize=8)
    ax.text(8, float(sem["li_bottom_px"]) + 40, "LiPON", color="white", va="center", fontsize=8)
    style.panel_label(ax, "C")
    return fig


def dark_field(df, plt, letter: str):
    fig, ax = plt.subplots(figsize=(3.0, 3.0))
    style.show_micrograph(ax, df["image"], float(df["pixel_nm"]))
    ax.text(0.04, 0.95, "Li", color="white", transform=ax.transAxes, va="top", fontsize=8)
    ax.text(0.96, 0.95, "LiPON", color="white", transform=ax.transAxes, va="top", ha="right", fontsize=8)
    style.panel_label(ax, letter)
    return fig


def liftout(sequence, plt):
    """The Pt-free lift-out, step by step, each image with its scale bar."""
    frames = sequence["frames"]
    columns = 2
    rows = -(-len(frames) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6, 1.9 * rows))
    for ax in np.ravel(axes)[len(frames):]:
        ax.set_axis_off()
    for index, (ax, image, label) in enumerate(zip(np.ravel(axes), frames, sequence["labels"])):
        style.show_micrograph(ax, image, float(sequence["pixel_nm"]))
        ax.set_title(f"{index + 1}. {label}", fontsize=6)
        style.panel_label(ax, "ABCDEFGH"[index])
    return fig


def frames_pair(frames, plt):
    fig, axes = plt.subplots(1, 2, figsize=(4.4, 2.3))
    px = float(frames["pixel_nm"])
    last = len(frames["ncc"])
    for ax, key, title in ((axes[0], "first", "frame 1"), (axes[1], "last", f"frame {last}")):
        style.show_micrograph(ax, frames[key], px)
        ax.set_title(title)
    style.panel_label(axes[0], "A")
    return fig


def similarity(frames, plt):
    fig, ax = plt.subplots(figsize=(3.2, 2.2))
    ncc = frames["ncc"]
    ax.plot(np.arange(1, ncc.size + 1), ncc, "o-", ms=3)
    ax.set_xlabel("Frame number")
    ax.set_ylabel("NCC with frame 1")
    ax.set_ylim(0, 1.05)
    style.panel_label(ax, "B")
    return fig


def run(build: Path, out: Path) -> None:
    plt = style.pyplot()
    load = lambda name: np.load(build / "data" / name, allow_pickle=False)
    style.save(cross_section(load("sem_cross_section.npz"), plt), out / FIG_1C)
    style.save(dark_field(load("stem_interface_df.npz"), plt, "D"), out / FIG_1D)
    frames = load("stem_frames.npz")
    style.save(frames_pair(frames, plt), out / FIG_S3_FRAMES)
    style.save(similarity(frames, plt), out / FIG_S3_NCC)
    style.save(liftout(load("sem_liftout.npz"), plt), out / FIG_S2)
    plt.close("all")

"""Shared figure plumbing: the paper's style and deterministic saving.

Saving is deterministic (no date in the metadata, a fixed SVG hash salt in the style)
so that an unchanged figure is byte-identical and does not rerun rendering.
"""
from __future__ import annotations

from pathlib import Path

STYLE = Path(__file__).with_name("paper.mplstyle")


def pyplot():
    """matplotlib.pyplot on the headless Agg backend with the paper's style applied."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.style.use(STYLE)
    return plt


def save(fig, path: Path) -> None:
    """Write a figure (format from the suffix) without run-dependent metadata."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"Date": None} if path.suffix in (".svg", ".pdf") else {}
    if path.suffix == ".png":
        metadata = {"Software": None}
    fig.savefig(path, metadata=metadata)
    fig.canvas.figure.clf()


def panel_label(ax, letter: str) -> None:
    """The bold panel letter the captions refer to, at the axes' top-left corner."""
    ax.text(-0.18, 1.04, letter, transform=ax.transAxes, fontweight="bold", fontsize=10, va="bottom", ha="left")


def nice_length_nm(width_nm: float) -> float:
    """A 1-2-5 length close to a fifth of the field of view, for scale bars."""
    import math

    target = width_nm / 5
    power = 10 ** math.floor(math.log10(target))
    return max(m * power for m in (1, 2, 5) if m * power <= target)


def show_micrograph(ax, image, pixel_nm: float, cmap: str = "gray", location: str = "lower right"):
    """An image in pixel coordinates with a calibrated scale bar and no ticks."""
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    shown = ax.imshow(image, cmap=cmap, interpolation="nearest")
    length = nice_length_nm(image.shape[1] * pixel_nm)
    label = f"{length / 1000:g} µm" if length >= 1000 else f"{length:g} nm"
    bar = AnchoredSizeBar(ax.transData, length / pixel_nm, label, location, pad=0.4, color="white", frameon=False,
                          size_vertical=max(1.0, image.shape[0] / 120), fontproperties={"size": 7})
    ax.add_artist(bar)
    ax.set_xticks([])
    ax.set_yticks([])
    return shown


def write_table(path: Path, header: str, rows, row_format: str) -> None:
    """A CSV table for a figure step: the header line, then ``row_format`` filled per row."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(header + "\n")
        handle.writelines(row_format.format(*row) + "\n" for row in rows)


def read_table(path: Path):
    """A CSV table a step wrote (header of column names), as a NumPy record array."""
    import numpy as np

    return np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding="utf-8")

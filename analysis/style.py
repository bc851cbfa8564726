"""Shared figure plumbing: the paper's style and deterministic saving.

Saving is deterministic (no date in the metadata, a fixed SVG hash salt in the style)
so that an unchanged figure is byte-identical and does not rerun rendering.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: matplotlib is imported lazily, after the backend is set
    from types import ModuleType

    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage


def pyplot(style_sheet: Path) -> ModuleType:
    """matplotlib.pyplot that draws the same on any machine: headless Agg, the paper's style.

    Parameters
    ----------
    style_sheet
        The paper's ``.mplstyle`` file, a declared input of every figure step (so a
        restyle reruns exactly the figure steps).

    Returns
    -------
    module
        ``matplotlib.pyplot``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.style.use(Path(style_sheet))
    return plt


def save(fig: Figure, path: Path) -> None:
    """Write a figure so that unchanged content gives identical bytes and reruns nothing downstream.

    Run-dependent metadata (the date in SVG and PDF, the software in PNG) is left
    out.  The figure is cleared afterwards to free its memory.

    Parameters
    ----------
    fig
        The figure to write.
    path
        The output file (a declared output of the step); its suffix picks the format.
        Parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"Date": None} if path.suffix in (".svg", ".pdf") else {}
    if path.suffix == ".png":
        metadata = {"Software": None}
    fig.savefig(path, metadata=metadata)
    fig.canvas.figure.clf()


def panel_label(ax: Axes, letter: str) -> None:
    """Mark a panel with the bold letter its caption refers to, at the same place in every figure.

    Parameters
    ----------
    ax
        The panel's axes.
    letter
        The panel letter (``"A"``).
    """
    ax.text(-0.18, 1.04, letter, transform=ax.transAxes, fontweight="bold", fontsize=10, va="bottom", ha="left")


def nice_length_nm(width_nm: float) -> float:
    """A scale-bar length that reads as a round number (1-2-5) and fits a fifth of the field.

    Parameters
    ----------
    width_nm
        The image's field of view, in nm (positive).

    Returns
    -------
    float
        1, 2 or 5 times a power of ten, in nm, at most ``width_nm / 5``.
    """
    import math

    target = width_nm / 5
    power = 10 ** math.floor(math.log10(target))
    return max(m * power for m in (1, 2, 5) if m * power <= target)


def show_micrograph(ax: Axes, image: np.ndarray, pixel_nm: float, cmap: str = "gray",
                    location: str = "lower right") -> AxesImage:
    """Show a micrograph as every figure does: pixel coordinates, a calibrated scale bar, no ticks.

    Parameters
    ----------
    ax
        The axes to draw in.
    image
        The micrograph (rows x columns, or rows x columns x channels).
    pixel_nm
        The calibrated pixel size, in nm, that sets the scale bar.
    cmap
        Colour map for a single-channel image.
    location
        Where the scale bar goes (a matplotlib legend location).

    Returns
    -------
    matplotlib.image.AxesImage
        The drawn image (for a colour bar, say).
    """
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

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

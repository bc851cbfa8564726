"""Shared figure plumbing: the paper's style, composed figures, layout checks, deterministic saving.

Every figure of the article and the supplement is one composed figure at its final
printed size (a Cell Press column width, at most :data:`MAX_HEIGHT_MM` tall), drawn in
one font family at 6-8 pt with a colour-blind-safe palette, panel letters at one
place.  :func:`save` refuses a figure that breaks those rules or whose text boxes
collide or leave the canvas, naming the figure and the texts, so a layout fault
stops the build instead of reaching a reader.

Saving is deterministic (no date in the metadata, a fixed SVG hash salt in the style)
so that an unchanged figure is byte-identical and does not rerun rendering.
"""
from __future__ import annotations

import re
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


MM_PER_INCH = 25.4
#: Cell Press figure widths, in mm: one column, one and a half, two columns.
WIDTHS_MM = {"single": 85.0, "one-and-half": 114.0, "double": 174.0}
#: The tallest figure a journal page holds with its caption.
MAX_HEIGHT_MM = 225.0
#: The smallest and largest text size in a printed figure, in points.
FONT_RANGE_PT = (6.0, 8.0)
#: Okabe & Ito's colour-blind-safe palette (Color Universal Design), by name.
PALETTE = {"blue": "#0072B2", "vermillion": "#D55E00", "green": "#009E73", "purple": "#CC79A7",
           "orange": "#E69F00", "sky": "#56B4E9", "yellow": "#F0E442", "black": "#000000"}
#: One colour per element and per phase in every figure, so a reader learns them once.
ELEMENT_COLOURS = {"N": PALETTE["blue"], "P": PALETTE["vermillion"], "O": PALETTE["green"],
                   "Li": PALETTE["purple"], "C": PALETTE["black"]}
PHASE_COLOURS = {"Li": "#BBBBBB", "Li2O": PALETTE["sky"], "Li3N": PALETTE["blue"], "Li3PO4": PALETTE["orange"],
                 "Li3P": PALETTE["yellow"], "Li2CO3": PALETTE["black"], "LiPON": PALETTE["vermillion"]}
_OVERLAP_SLACK_PT = 0.5


class FigureLayoutError(ValueError):
    """A figure breaks the paper's figure rules (size, text size, collisions); raised before writing."""


def figure(plt: ModuleType, width: str, height_mm: float, **subplots_kw) -> Figure:
    """An empty figure at its final printed size, laid out by matplotlib's constrained layout.

    Parameters
    ----------
    plt
        ``matplotlib.pyplot`` from :func:`pyplot`.
    width
        ``"single"`` (85 mm), ``"one-and-half"`` (114 mm) or ``"double"`` (174 mm).
    height_mm
        The printed height, at most :data:`MAX_HEIGHT_MM`.
    **subplots_kw
        Passed to :func:`matplotlib.pyplot.figure`.

    Returns
    -------
    matplotlib.figure.Figure
        Add panels with ``fig.subplot_mosaic`` or ``fig.add_gridspec``.
    """
    if width not in WIDTHS_MM:
        raise ValueError(f"figure width {width!r}: use one of {', '.join(WIDTHS_MM)}")
    if not 0 < height_mm <= MAX_HEIGHT_MM:
        raise ValueError(f"figure height {height_mm} mm: must lie in (0, {MAX_HEIGHT_MM:g}] mm")
    size = (WIDTHS_MM[width] / MM_PER_INCH, height_mm / MM_PER_INCH)
    return plt.figure(figsize=size, layout=subplots_kw.pop("layout", "constrained"), **subplots_kw)


def formula(text: str) -> str:
    """Chemistry as a printed label: digits after an element or bracket become subscripts.

    ``"Li3PO4"`` -> ``Li$_3$PO$_4$``, ``"PO4^3-"`` -> ``PO$_4^{3-}$`` (charges after
    ``^``), ``"Li2.88PO3.44N0.31"`` keeps its decimals in the subscripts.  Text without
    digits is returned unchanged; the paper's font has no Unicode subscripts, so
    matplotlib's mathtext draws them.

    Parameters
    ----------
    text
        A plain formula as the tables and configuration write it (``"Li2O"``,
        ``"PO4^3-"``); everything after the first ``^`` is the charge, set as a
        superscript with a true minus sign.

    Returns
    -------
    str
        The label with mathtext subscripts (and superscript charge), adjacent ``$``
        pairs merged so each run of sub- and superscripts is one math span.
    """
    charge = ""
    if "^" in text:
        text, charge = text.split("^", 1)
    out = re.sub(r"(?<=[A-Za-z)\]])(\d+(?:\.\d+)?)", r"$_{\1}$", text)
    if charge:
        charge = charge.replace("-", "\u2212")
        if out.endswith("}$"):
            out = out[:-1] + f"^{{{charge}}}$"
        else:
            out += f"$^{{{charge}}}$"
    return out.replace("$$", "")


def drawn_texts(fig: Figure) -> list[tuple[str, float, tuple[float, float, float, float], float]]:
    """Every piece of text the figure really draws: (text, size in pt, extent in pt, rotation).

    Found by drawing the figure once and recording each text's window extent as it is
    drawn, so ticks outside the view, empty titles and hidden artists do not count.
    Extents are in points from the lower-left corner of the canvas.

    Parameters
    ----------
    fig
        The composed figure at its printed size; it is drawn once here (on its own
        canvas, nothing written), with :meth:`matplotlib.text.Text.draw` patched for the
        duration and restored afterwards, even on error.

    Returns
    -------
    list of (str, float, (float, float, float, float), float)
        One entry per visible, non-blank text in drawing order: the string, its font size
        (pt), its extent ``(x0, y0, x1, y1)`` in pt, and its rotation (degrees).
    """
    from matplotlib.text import Text

    drawn = []
    original = Text.draw

    def recording(self: Text, renderer) -> None:  # type: ignore[no-untyped-def]
        original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            box = self.get_window_extent(renderer)
            scale = 72.0 / fig.dpi
            drawn.append((self.get_text(), float(self.get_fontsize()),
                          (box.x0 * scale, box.y0 * scale, box.x1 * scale, box.y1 * scale),
                          float(self.get_rotation())))

    Text.draw = recording
    try:
        fig.canvas.draw()
    finally:
        Text.draw = original
    return drawn


def layout_faults(fig: Figure) -> list[str]:
    """What breaks the figure rules: size, text sizes, text leaving the canvas, texts that collide.

    Parameters
    ----------
    fig
        The composed figure at its printed size.  Its width must be one of
        :data:`WIDTHS_MM` and its height at most :data:`MAX_HEIGHT_MM` (0.5 mm
        tolerance); every drawn text (:func:`drawn_texts`) must be sized within
        :data:`FONT_RANGE_PT` and lie on the canvas; and no two unrotated texts may
        overlap (both checks allow 0.5 pt of slack; slanted text is not checked for
        overlap, its extent being only an envelope).

    Returns
    -------
    list of str
        One readable sentence per fault; empty when the figure may be printed.
    """
    faults = []
    width_mm, height_mm = (v * MM_PER_INCH for v in fig.get_size_inches())
    if not any(abs(width_mm - w) < 0.5 for w in WIDTHS_MM.values()):
        faults.append(f"width {width_mm:.1f} mm is not a column width ({', '.join(f'{w:g}' for w in WIDTHS_MM.values())} mm)")
    if height_mm > MAX_HEIGHT_MM + 0.5:
        faults.append(f"height {height_mm:.1f} mm exceeds {MAX_HEIGHT_MM:g} mm")
    canvas_w, canvas_h = (v * 72.0 for v in fig.get_size_inches())
    texts = drawn_texts(fig)
    low, high = FONT_RANGE_PT
    s = _OVERLAP_SLACK_PT
    for text, size, (x0, y0, x1, y1), _ in texts:
        if not low - 1e-6 <= size <= high + 1e-6:
            faults.append(f"text {text!r} is {size:g} pt (allowed {low:g}-{high:g} pt)")
        if x0 < -s or y0 < -s or x1 > canvas_w + s or y1 > canvas_h + s:
            faults.append(f"text {text!r} leaves the canvas")
    for i, (text_a, _, a, rot_a) in enumerate(texts):
        for text_b, _, b, rot_b in texts[i + 1:]:
            if rot_a % 90 or rot_b % 90:
                continue  # the extent of slanted text is its envelope, not its ink
            if min(a[2], b[2]) - max(a[0], b[0]) > s and min(a[3], b[3]) - max(a[1], b[1]) > s:
                faults.append(f"texts {text_a!r} and {text_b!r} overlap")
    return faults


def svg_size_mm(path: Path) -> tuple[float, float]:
    """The printed width and height of an SVG figure :func:`save` wrote, in mm.

    Parameters
    ----------
    path
        The SVG file (matplotlib states its size in pt in the root element).

    Returns
    -------
    tuple of float
        (width, height) in mm.

    Raises
    ------
    ValueError
        The file is not an SVG with its size in pt.
    """
    head = Path(path).read_text(encoding="utf-8")[:2000]
    sizes = [re.search(rf'<svg[^>]*\b{name}="([\d.]+)pt"', head, re.S) for name in ("width", "height")]
    if not all(sizes):
        raise ValueError(f"{Path(path).name}: not an SVG whose width and height are given in pt")
    return tuple(float(found.group(1)) * MM_PER_INCH / 72.0 for found in sizes)


def label_panels(fig: Figure, panels: dict[str, Axes]) -> None:
    """Put each panel's letter at the same place: above the top-left corner of the panel and its labels.

    The left edge is that of the panel's tick labels and axis label, so letters of
    panels in one column line up and never sit on a label.  Call once the panels are
    drawn (their labels set), before :func:`save`.

    Parameters
    ----------
    fig
        The composed figure.
    panels
        Letter -> axes, e.g. ``{"A": ax_a, "B": ax_b}``.
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for letter, ax in panels.items():
        left = min(ax.get_tightbbox(renderer).x0, ax.get_window_extent(renderer).x0)
        x_axes = ax.transAxes.inverted().transform((left, 0))[0]
        ax.annotate(letter, xy=(x_axes, 1.0), xycoords="axes fraction", xytext=(0, 3), textcoords="offset points",
                    ha="left", va="bottom", fontsize=FONT_RANGE_PT[1], fontweight="bold", annotation_clip=False)


def save(fig: Figure, path: Path) -> None:
    """Write a figure so that unchanged content gives identical bytes and reruns nothing downstream.

    The figure is checked first (:func:`layout_faults`); a fault raises
    :class:`FigureLayoutError` naming the file and writes nothing.  Run-dependent
    metadata (the date in SVG and PDF, the software in PNG) is left out.  The figure
    is cleared afterwards to free its memory.

    Parameters
    ----------
    fig
        The figure to write, at its final printed size (:func:`figure`).
    path
        The output file (a declared output of the step); its suffix picks the format.
        Parent folders are created.

    Raises
    ------
    FigureLayoutError
        The figure breaks the paper's figure rules.
    """
    path = Path(path)
    faults = layout_faults(fig)
    if faults:
        fig.canvas.figure.clf()
        raise FigureLayoutError(f"{path.name}: " + "; ".join(faults))
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"Date": None} if path.suffix in (".svg", ".pdf") else {}
    if path.suffix == ".png":
        metadata = {"Software": None}
    if path.suffix == ".svg":
        import io

        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata=metadata)
        path.write_text(stable_clip_ids(buffer.getvalue()), encoding="utf-8")
    else:
        fig.savefig(path, metadata=metadata)
    fig.canvas.figure.clf()


def stable_clip_ids(svg: str) -> str:
    """Renumber matplotlib's clip-path ids in order of appearance, so equal drawings give equal bytes.

    matplotlib names a clip rectangle by a hash of its float bounds; constrained layout
    can land on bounds that differ in the last bit from run to run (its iteration order
    follows Python's per-process string hashing), which changes only those ids.

    Parameters
    ----------
    svg
        The SVG text matplotlib wrote.

    Returns
    -------
    str
        The same drawing with ids ``clip1``, ``clip2``, ... instead of hashes.
    """
    names: dict[str, str] = {}
    return re.sub(r'(?<=id=")p[0-9a-f]{10}(?=")|(?<=url\(#)p[0-9a-f]{10}(?=\))',
                  lambda found: names.setdefault(found.group(0), f"clip{len(names) + 1}"), svg)


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


def add_scale_bar(ax: Axes, length: float, label: str, location: str, *, thickness: float,
                  fontsize: float = 7.0, pad: float = 0.4) -> None:
    """A white scale bar whose printed length is exactly ``length`` data units.

    The bar is a filled rectangle without an outline: matplotlib strokes a size bar's
    edge by default, which lengthens it by the stroke width (1 pt is 7 % of a 5 mm bar).

    Parameters
    ----------
    ax
        The image's axes.
    length
        The bar's length in data units (pixels of the image, or of a power spectrum).
    label
        The physical length it stands for, with its unit (``"50 nm"``, ``"1 nm$^{-1}$"``).
    location
        Where it goes (a matplotlib legend location such as ``"lower right"``).
    thickness
        The bar's height in data units.
    fontsize
        The label's size in pt (within the figure rules' 6-8 pt).
    pad
        Space around the bar, in font sizes.
    """
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    bar = AnchoredSizeBar(ax.transData, length, label, location, pad=pad, color="white", frameon=False,
                          size_vertical=thickness, fontproperties={"size": fontsize})
    for rectangle in bar.size_bar.get_children():
        rectangle.set_linewidth(0)
    ax.add_artist(bar)


def show_micrograph(ax: Axes, image: np.ndarray, pixel_nm: float, cmap: str = "gray",
                    location: str = "lower right") -> AxesImage:
    """Show a micrograph as every figure does: pixel coordinates, a calibrated scale bar, no ticks.

    Pixels are drawn square (equal aspect), and the bar is a filled rectangle with no
    outline, so its printed length is exactly its label at the image's printed scale,
    along either direction of the image.

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
    # square pixels whatever the panel's shape (a panel's own aspect would stretch one direction)
    shown = ax.imshow(image, cmap=cmap, interpolation="nearest", aspect="equal")
    length = nice_length_nm(image.shape[1] * pixel_nm)
    label = f"{length / 1000:g} µm" if length >= 1000 else f"{length:g} nm"
    add_scale_bar(ax, length / pixel_nm, label, location, thickness=max(1.0, image.shape[0] / 60))
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():  # a micrograph has no axis frame
        spine.set_visible(False)
    return shown

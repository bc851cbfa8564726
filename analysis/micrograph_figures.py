"""Micrograph panels (Figure 1C, 1D) and Figures S2 and S3, from the calibrated images the micrographs step wrote.

Plotting is a step of its own: restyling a figure never reruns the analysis.  The
panel functions draw into axes they are given, so Figure 1 (:mod:`analysis.cell_figure`)
and Figure S5 (:mod:`analysis.eds_figures`) compose them with other panels.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis import micrographs, style

if TYPE_CHECKING:  # annotations only: matplotlib is imported by style.pyplot, after the backend is set
    from types import ModuleType

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: The thin-film stack below the Li film, top down (the deposition order the methods give).
#: Pt (100 nm) and its Cr adhesion layer (20 nm) are one bright band at SEM resolution, so
#: every band brighter than LiPON right below it is named by the pair.
LOWER_STACK = ("LiPON", "Pt/Cr", "SiO2", "Si")
#: Layer edges for placing the labels of Figure 1C: the boundary finder of the micrographs
#: step with a lenient prominence, so that a faint SiO2/Si edge still gets its label.  No
#: number is read from them; the Li film's edges drawn on the image are the step's own.
_LABEL_EDGES = {"smoothing_px": 1.5, "prominence": 5.0, "separation_px": 3}
#: The strip a scale bar with its label takes, as fractions of an image's (height, width).
_BAR_SPOT = (0.12, 0.3)
#: Figure S2: frames per row, and the printed height (mm) of one row at double width.
S2_COLUMNS = 2
S2_ROW_MM = 62.0
#: Figure S3's printed height (mm) at double width.
S3_HEIGHT_MM = 52.0
#: Fig S3B: how far (a fraction of each axis's range) zero sits above the frame, so a marker
#: at zero (no blur gained) is drawn whole, not half behind the axis line.
_ZERO_LIFT = 0.05


@dataclass(frozen=True)
class Band:
    """One layer of the cross-section as the image shows it: its name and rows (top, bottom)."""

    name: str
    top_px: float
    bottom_px: float

    @property
    def middle_px(self) -> float:
        return 0.5 * (self.top_px + self.bottom_px)


# ------------------------------------------------------------------ label placement
def spread_labels(wanted: Sequence[float], gap: float, low: float, high: float) -> np.ndarray:
    """Label positions along one axis as close as possible to where they belong, ``gap`` apart.

    Minimizes the summed squared displacement subject to consecutive labels being at
    least ``gap`` apart and all lying in ``[low, high]``: substituting
    ``r_i = q_i - i * gap`` makes this an isotonic regression (pool adjacent
    violators), and clipping its solution to the shifted bounds stays optimal.

    Parameters
    ----------
    wanted
        Where each label belongs, in increasing order.
    gap
        The least distance between neighbouring labels (same unit as ``wanted``).
    low, high
        The range the labels must stay in.

    Returns
    -------
    numpy.ndarray
        The positions, in the same order; equal to ``wanted`` when they are far enough apart.

    Raises
    ------
    ValueError
        ``wanted`` is not increasing, or the labels cannot fit ``gap`` apart in the range.
    """
    p = np.asarray(wanted, dtype=float)
    if p.size == 0:
        return p
    if np.any(np.diff(p) < 0):
        raise ValueError("label positions must be given in increasing order")
    if (p.size - 1) * gap > high - low:
        raise ValueError(f"{p.size} labels {gap:g} apart do not fit between {low:g} and {high:g}")
    shifted = p - gap * np.arange(p.size)
    blocks: list[list[float]] = []  # [sum, count] of pooled neighbours
    for value in shifted:
        blocks.append([value, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    fitted = np.concatenate([np.full(int(count), total / count) for total, count in blocks])
    fitted = np.clip(fitted, low, high - gap * (p.size - 1))
    return fitted + gap * np.arange(p.size)


def scale_bar_location(image: np.ndarray, avoid_rows: Sequence[float] = ()) -> str:
    """Where a micrograph's white scale bar reads best: the darkest of six spots along the edges.

    The spots are the image's corners and the middles of its left and right edges, each
    a strip the size a bar and its label take.  Spots crossed by a row to keep clear
    (a line drawn across the image) are skipped.  The conventional lower right is kept
    unless another spot is clearly darker (by a tenth of the image's contrast), so
    uniform images all put their bar in the same place.

    Parameters
    ----------
    image
        The micrograph (rows x columns).
    avoid_rows
        Rows (pixels) that lines cross, which the bar must not sit on.

    Returns
    -------
    str
        A matplotlib location (``"lower right"``, ``"center left"``, ...) for
        :func:`analysis.style.show_micrograph`.
    """
    rows, cols = image.shape[:2]
    tall, wide = max(1, round(_BAR_SPOT[0] * rows)), max(1, round(_BAR_SPOT[1] * cols))
    bands = {"lower": (rows - tall, rows), "upper": (0, tall), "center": ((rows - tall) // 2, (rows + tall) // 2)}
    sides = {"right": (cols - wide, cols), "left": (0, wide)}
    levels = {}
    for band, (r0, r1) in bands.items():
        for side, (c0, c1) in sides.items():
            if not any(r0 - 1 <= row <= r1 + 1 for row in avoid_rows):
                levels[f"{band} {side}"] = float(np.median(image[r0:r1, c0:c1]))
    if not levels:
        return "lower right"
    low, high = np.percentile(image, (5, 95))
    darkest = min(levels.values())
    return next(spot for spot, level in levels.items() if level <= darkest + 0.1 * (high - low))


def layer_bands(image: np.ndarray, li_top_px: float, li_bottom_px: float) -> list[Band]:
    """The layers of a cross-section, named as the image shows them, for the labels of Figure 1C.

    The Li film is the micrographs step's measurement.  Below it, each stretch between two
    edges of the row profile is one band: the first is LiPON, the bands brighter than
    LiPON right below it are the Pt/Cr current collector, the next ones SiO\\ :sub:`2`
    and Si.  A band the image does not reach is left out, so a thicker film or a smaller
    field only drops labels.

    Parameters
    ----------
    image
        The cross-section, vacuum at the top.
    li_top_px, li_bottom_px
        The Li film's measured edges (rows).

    Returns
    -------
    list of Band
        Top down, starting with Li.
    """
    edges, _ = micrographs.layer_boundaries(image, **_LABEL_EDGES)
    below = [float(e) for e in edges if e > li_bottom_px + _LABEL_EDGES["separation_px"]]
    limits = [float(li_bottom_px), *below, float(image.shape[0])]
    profile = np.median(image, axis=1)
    stretches = [(top, bottom, float(np.mean(profile[int(np.ceil(top)):max(int(np.ceil(top)) + 1, int(bottom))])))
                 for top, bottom in zip(limits[:-1], limits[1:])]
    bands = [Band("Li", float(li_top_px), float(li_bottom_px))]
    lipon_top, lipon_bottom, lipon_grey = stretches[0]
    bands.append(Band(LOWER_STACK[0], lipon_top, lipon_bottom))
    rest = stretches[1:]
    metal = 0
    while metal < len(rest) and rest[metal][2] > lipon_grey:
        metal += 1
    if metal:
        bands.append(Band(LOWER_STACK[1], rest[0][0], rest[metal - 1][1]))
    for name, (top, bottom, _) in zip(LOWER_STACK[2:], rest[metal:]):
        bands.append(Band(name, top, bottom))
    return bands


# ------------------------------------------------------------------ panels
def draw_cross_section(ax: Axes, sem: Mapping[str, np.ndarray]) -> None:
    """Fig 1C: the cross-section, the measured Li film between two dashed lines, each layer named.

    Drawing the measured edges on the image lets the reader judge the thickness; the
    layer names sit beside the image at each band's middle (spread apart where bands are
    thin, with a leader line to the band), so no label covers the image.

    Parameters
    ----------
    ax
        The panel.
    sem
        The micrographs step's cross-section (``image``, ``pixel_nm``, ``li_top_px``,
        ``li_bottom_px``).
    """
    image = sem["image"]
    top, bottom = float(sem["li_top_px"]), float(sem["li_bottom_px"])
    style.show_micrograph(ax, image, float(sem["pixel_nm"]), location=scale_bar_location(image, (top, bottom)))
    for row in (top, bottom):
        ax.axhline(row, color=style.PALETTE["yellow"], lw=0.7, ls="--")
    bands = [b for b in layer_bands(image, top, bottom) if b.middle_px < image.shape[0]]
    rows = image.shape[0]
    gap = 0.075 * rows  # a label's height with some air, as a fraction of the image's height
    placed = spread_labels([b.middle_px for b in bands], gap, 0.5 * gap, rows - 0.5 * gap)
    for band, y in zip(bands, placed):
        ax.annotate(style.formula(band.name), xy=(image.shape[1] - 0.5, band.middle_px), xycoords="data",
                    xytext=(image.shape[1] * 1.06, y), textcoords="data", ha="left", va="center",
                    annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.3", "shrinkA": 0.5, "shrinkB": 0.0})


def draw_dark_field(ax: Axes, df: Mapping[str, np.ndarray], scan_nm: np.ndarray | None = None) -> None:
    """Fig 1D and S5A: a dark-field image of the interface, Li on the left and LiPON on the right.

    Dark-field contrast grows with the heavier elements, so the dark side is Li and the
    bright side LiPON; the two names sit in the image's top corners.  An arrow marks
    where the EDS line scan ran, as the scan's own file records it on this image.

    Parameters
    ----------
    ax
        The panel.
    df
        The micrographs step's image (``image``, ``pixel_nm``).
    scan_nm
        The EDS step's ``scan_path`` table (start and end, ``x_nm``/``y_nm``), or None
        or an empty table when the scan's position is not recorded (no arrow).
    """
    import matplotlib.patheffects as effects

    pixel_nm = float(df["pixel_nm"])
    style.show_micrograph(ax, df["image"], pixel_nm, location=scale_bar_location(df["image"]))
    outline = [effects.withStroke(linewidth=1.5, foreground="black")]
    for x, name, align in ((0.04, "Li", "left"), (0.96, "LiPON", "right")):
        ax.text(x, 0.96, name, color="white", transform=ax.transAxes, va="top", ha=align, path_effects=outline)
    if scan_nm is not None and np.size(scan_nm) == 2:
        (x0, y0), (x1, y1) = scan_pixels(scan_nm, pixel_nm)
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), annotation_clip=False,
                    arrowprops={"arrowstyle": "-|>,head_length=0.5,head_width=0.25", "color": style.PALETTE["yellow"],
                                "lw": 0.9, "shrinkA": 0, "shrinkB": 0,
                                "path_effects": [effects.withStroke(linewidth=1.8, foreground="black")]})


def scan_pixels(scan_nm: np.ndarray, pixel_nm: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """A line scan's start and end in the image's pixel coordinates (pixel centres at integers).

    Parameters
    ----------
    scan_nm
        Two rows with fields ``x_nm`` and ``y_nm``, measured from the image's top-left corner.
    pixel_nm
        The image's calibrated pixel size (nm).

    Returns
    -------
    tuple of ((float, float), (float, float))
        ``(x, y)`` of the start and of the end, in pixels (fractional): ``x_nm / pixel_nm``
        less half a pixel, because the record counts from the image's corner while
        matplotlib puts pixel centres at integer coordinates; y grows downwards, as the
        image's rows do.
    """
    points = [(float(row["x_nm"]) / pixel_nm - 0.5, float(row["y_nm"]) / pixel_nm - 0.5) for row in scan_nm]
    return points[0], points[1]


def draw_liftout_step(ax: Axes, image: np.ndarray, pixel_nm: float, label: str) -> None:
    """One ion-beam image of the lift-out (Fig S2) with its scale bar and the operator's step name.

    The step names come from the file (the operator's ImageJ slice labels), so they are
    drawn literally: a ``$`` or ``_`` in a label is not mathematics.  The panel letter
    numbers the step, so the name is centred above the image, clear of the letter.

    Parameters
    ----------
    ax
        The panel.
    image, pixel_nm
        The frame and its pixel size.
    label
        The operator's name of the step.
    """
    style.show_micrograph(ax, image, pixel_nm)
    # the operator's label as written: $, _, ^, \\, {, } are text here, never TeX or mathtext
    ax.set_title(label, parse_math=False, usetex=False, pad=3)


def compose_s2(plt: ModuleType, sequence: Mapping[str, np.ndarray]) -> Figure:
    """Figure S2: the Pt-free lift-out, step by step, at double width, two frames per row.

    Parameters
    ----------
    plt
        ``matplotlib.pyplot`` with the paper's style.
    sequence
        The micrographs step's lift-out stack (``frames``, ``pixel_nm``, ``labels``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    frames = sequence["frames"]
    rows = -(-len(frames) // S2_COLUMNS)
    fig = style.figure(plt, "double", min(style.MAX_HEIGHT_MM, S2_ROW_MM * rows))
    axes = np.ravel(fig.subplots(rows, S2_COLUMNS, squeeze=False))
    for ax in axes[len(frames):]:
        ax.set_axis_off()
    for ax, image, label in zip(axes, frames, sequence["labels"]):
        draw_liftout_step(ax, image, float(sequence["pixel_nm"]), str(label))
    style.label_panels(fig, {chr(ord("A") + i): ax for i, ax in enumerate(axes[:len(frames)])})
    return fig


def draw_frame(ax: Axes, frames: Mapping[str, np.ndarray], which: str) -> None:
    """One frame of the beam-stability series (Fig S3A), titled with its number.

    Parameters
    ----------
    ax
        The panel.
    frames
        The micrographs step's series summary (``first``, ``last``, ``ncc``, ``pixel_nm``).
    which
        ``"first"`` or ``"last"``.
    """
    number = 1 if which == "first" else len(frames["ncc"])
    style.show_micrograph(ax, frames[which], float(frames["pixel_nm"]))
    ax.set_title(f"frame {number}", pad=3)


def draw_similarity(ax: Axes, frames: Mapping[str, np.ndarray]) -> Axes:
    """NCC of every frame with the first and the blur each frame has gained (Fig S3B).

    A flat NCC and a blur near zero mean no beam damage; the NCC's level is set by
    counting noise, the blur (the quoted measure) is not.  Zero of both axes sits a
    little above the frame, so the markers of frames with no blur are seen whole.  Each
    series and its axis share a colour, so no key is needed (and none can cover a
    rising blur).

    Parameters
    ----------
    ax
        The panel; it carries the NCC (left axis).
    frames
        The micrographs step's series summary (``ncc``, ``blur_nm``).

    Returns
    -------
    matplotlib.axes.Axes
        The twin axes that carries the blur (right axis).
    """
    from matplotlib.ticker import MaxNLocator

    ncc = frames["ncc"]
    number = np.arange(1, ncc.size + 1)
    ncc_colour, blur_colour = style.PALETTE["blue"], style.PALETTE["vermillion"]
    ax.plot(number, ncc, "o-", ms=2.5, color=ncc_colour)
    ax.set_xlabel("Frame number")
    ax.set_ylabel("NCC with frame 1", color=ncc_colour)
    ax.tick_params(axis="y", colors=ncc_colour)
    ax.set_ylim(-_ZERO_LIFT * 1.05, 1.05)
    ax.set_xlim(0.5, ncc.size + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    blur_ax = ax.twinx()
    blur_ax.spines["right"].set_visible(True)
    blur_ax.plot(number, frames["blur_nm"], "s--", ms=2.5, color=blur_colour)
    blur_ax.set_ylabel("Blur gained (nm)", color=blur_colour)
    blur_ax.tick_params(axis="y", colors=blur_colour)
    top = max(0.5, 1.1 * float(np.max(frames["blur_nm"])))
    blur_ax.set_ylim(-_ZERO_LIFT * top, top)  # both zeros at one height, clear of the frame
    return blur_ax


def compose_s3(plt: ModuleType, frames: Mapping[str, np.ndarray]) -> Figure:
    """Figure S3 at double width: (A) the first and last frame, (B) their similarity frame by frame.

    Parameters
    ----------
    plt
        ``matplotlib.pyplot`` with the paper's style.
    frames
        The micrographs step's series summary.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = style.figure(plt, "double", S3_HEIGHT_MM)
    first, last, plot = fig.subplots(1, 3, gridspec_kw={"width_ratios": (1.0, 1.0, 1.45)})
    draw_frame(first, frames, "first")
    draw_frame(last, frames, "last")
    draw_similarity(plot, frames)
    style.label_panels(fig, {"A": first, "B": plot})
    return fig


def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figures S2 and S3; Figure 1C and 1D are drawn by the ``cell_figure`` step.

    Parameters
    ----------
    inputs
        ``frames``, ``liftout`` (the micrographs step's arrays) and ``style`` (the
        paper's style sheet).
    outputs
        ``figS2``, ``figS3``.
    """
    plt = style.pyplot(inputs["style"])
    load = lambda role: np.load(inputs[role], allow_pickle=False)
    style.save(compose_s2(plt, load("liftout")), outputs["figS2"])
    style.save(compose_s3(plt, load("frames")), outputs["figS3"])
    plt.close("all")

"""Figure 3, composed whole: (A) the EELS points on the dark-field image, (B) the measured
Li K, P L2,3 and O K edges, (C) the simulated (FEFF9) edges of the candidate phases.

Layout: A sits top left; B's three edges fill the rest of the top row and C's three
edges the bottom row, each C panel under the B panel of the same edge and on the same
energy axis, so a measured peak can be compared with the references by eye straight
down the column.  Each row has its own key at its left: the key of A and B, right under
A and beside B, names the points' colours (the same colours mark the points in A) and
gives each point's Li2O share; the key of C, beside C, names the phases' colours.

The points wear a sequential scheme of their own (:data:`POINT_CMAP`, their order along
the line), which shares no colour with the phase colours of C
(:data:`analysis.style.PHASE_COLOURS`), so a spectrum in B is never mistaken for a
reference in C.  Pale phase colours (the yellow of Li3P) get a dark rim for contrast.

Every position drawn is computed from the tables (label directions from the line of
points, offsets from the spectra, peak marks from the peak table), so another
realization of the data lays itself out.  Plotting is a step of its own: restyling
the figure never reruns the analysis.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from analysis import datatable, style
from analysis.eels import PHASES

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: The three edges of Fig 3B and 3C: table prefix, printed name, the element whose FEFF
#: references a phase has only if it holds that element.
EDGES = (("li", "Li K", "Li"), ("p", "P L$_{2{,}3}$", "P"), ("o", "O K", "O"))
FIGURE_HEIGHT_MM = 140.0
#: The points' colours: viridis from its green (point 1) to its dark violet (the last
#: point); its yellow end, next to the Li3P yellow, is left out.
POINT_CMAP = "viridis"
POINT_RANGE = (0.82, 0.0)
#: Phase colours paler than this relative luminance are drawn with a dark rim.
_PALE_LUMINANCE = 0.6
_RIM_COLOUR = "0.3"
_LABEL_GAP_PT = 5.0          # from a point's marker to its number in A
_ROW_LABEL_GAP_PT = 3.0      # from a panel's right edge to the row labels of B and C
_HEADROOM = 0.14             # of the stacked data's height, above it for the peak letters
_REFERENCE_SLOT = 1.15       # spacing of the normalized references in C (their maximum is 1)
_FIT_COLOUR = "0.25"
_FIT_STYLE = (0, (2.5, 1.5))  # dashed: the two-reference fits of the Li K edges
_MARK_COLOUR = "0.45"
_MARK_STYLE = (0, (1, 1.5))  # dotted: peak marks, unlike the dashed fits


# ------------------------------------------------------------------ computations
def point_colours(n: int) -> list[str]:
    """One colour per point, in a sequential scheme of their own: their order along the line.

    Evenly spaced over :data:`POINT_RANGE` of :data:`POINT_CMAP` (perceptually uniform and
    colour-blind safe), so neighbouring points differ by the same step of lightness, and no
    point wears a phase colour of C.

    Parameters
    ----------
    n
        The number of points (at least 2).

    Returns
    -------
    list of str
        ``n`` colours as ``#rrggbb``, point 1 first.

    Raises
    ------
    ValueError
        Fewer than two points.
    """
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    if n < 2:
        raise ValueError(f"{n} point(s): a line of EELS points has at least two")
    cmap = colormaps[POINT_CMAP]
    return [to_hex(cmap(t)) for t in np.linspace(*POINT_RANGE, n)]


def relative_luminance(colour: str) -> float:
    """WCAG relative luminance of a colour (0 black, 1 white).

    Parameters
    ----------
    colour
        Any matplotlib colour.

    Returns
    -------
    float
        ``0.2126 R + 0.7152 G + 0.0722 B`` of the linearized sRGB channels.
    """
    from matplotlib.colors import to_rgb

    rgb = np.array(to_rgb(colour))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def line_effects(colour: str, lw: float) -> list:
    """Path effects for a line in ``colour``: a dark rim under a pale colour, none otherwise.

    Parameters
    ----------
    colour
        The line's colour.
    lw
        The line's width (pt); the rim is 0.7 pt wider.

    Returns
    -------
    list
        Matplotlib path effects (empty for a colour dark enough to read on white).
    """
    import matplotlib.patheffects as effects

    if relative_luminance(colour) <= _PALE_LUMINANCE:
        return []
    return [effects.Stroke(linewidth=lw + 0.7, foreground=_RIM_COLOUR), effects.Normal()]


def label_offset_pt(xy_px: np.ndarray, distance_pt: float) -> tuple[float, float]:
    """Where a point's number goes, relative to its marker: across the line of points, upward.

    Numbers placed along the line would sit on the neighbouring markers; across it they
    never do, whatever the spacing or direction of the line.

    Parameters
    ----------
    xy_px
        Points x 2 positions in image pixels (x to the right, y down as the image is
        shown), in acquisition order.
    distance_pt
        How far from the marker, in points.

    Returns
    -------
    tuple of float
        (dx, dy) in points on the page (y up): perpendicular to the line from the first
        to the last point, on the side that points up the page (to the right for a
        vertical line).

    Raises
    ------
    ValueError
        The first and last points coincide, so the line has no direction.
    """
    direction = np.asarray(xy_px[-1], dtype=float) - np.asarray(xy_px[0], dtype=float)
    length = float(np.hypot(*direction))
    if length == 0:
        raise ValueError("the first and last EELS points coincide: the line has no direction")
    dx, dy = direction / length
    normal = np.array([dy, dx])  # on the page (y up) the line runs along (dx, -dy); this is its normal
    if normal[1] < 0 or (normal[1] == 0 and normal[0] < 0):
        normal = -normal
    return float(normal[0] * distance_pt), float(normal[1] * distance_pt)


def stack_step(curves: Sequence[np.ndarray], quantile: float = 0.01) -> float:
    """The vertical offset between stacked spectra at which neighbours do not overlap.

    A spectrum drawn ``step`` above the previous one clears it when ``step`` exceeds
    the previous one's top minus its own bottom; counting noise spikes are ignored by
    taking the top and bottom as the ``1 - quantile`` and ``quantile`` quantiles.

    Parameters
    ----------
    curves
        The spectra, bottom first.
    quantile
        Fraction of channels allowed to poke above the top or below the bottom.

    Returns
    -------
    float
        The largest such clearance over neighbouring pairs (positive).

    Raises
    ------
    ValueError
        Fewer than two curves.
    """
    if len(curves) < 2:
        raise ValueError("stacking needs at least two curves")
    tops = [float(np.quantile(c, 1 - quantile)) for c in curves]
    bottoms = [float(np.quantile(c, quantile)) for c in curves]
    step = max(tops[i] - bottoms[i + 1] for i in range(len(curves) - 1))
    return step if step > 0 else max(t - b for t, b in zip(tops, bottoms))


def tail_level(energy: np.ndarray, curve: np.ndarray, fraction: float = 0.1) -> float:
    """The median of a curve over the last ``fraction`` of its energy range: where its end is drawn.

    Row labels beside a panel go at this height so each faces the end of its curve; the
    median, not the last sample, so one noisy channel does not move a label.

    Parameters
    ----------
    energy
        The curve's energy axis (eV), ascending.
    curve
        The curve's values on ``energy`` (same length), unshifted: the caller adds the
        stacking offset.
    fraction
        The share of the energy range, counted back from its top end, to take the median
        over (0.1: the last tenth).

    Returns
    -------
    float
        The median of ``curve`` over that tail, in the curve's own units.
    """
    keep = energy >= energy[-1] - fraction * (energy[-1] - energy[0])
    return float(np.median(curve[keep]))


# ------------------------------------------------------------------ panels
def draw_points(ax: Axes, image: np.ndarray, pixel_nm: float, points: np.ndarray, colours: Sequence[str]) -> None:
    """Fig 3A: the dark-field image with every EELS point ringed in its colour and numbered.

    Parameters
    ----------
    ax
        The panel.
    image, pixel_nm
        The micrographs step's image of the EELS region and its pixel size (nm).
    points
        The EELS step's point table (beam positions in nm, in the image's frame).
    colours
        One colour per point (:func:`point_colours`).
    """
    import matplotlib.patheffects as effects

    style.show_micrograph(ax, image, pixel_nm)
    ax.set_anchor("N")  # the image's top on the top of B's panels, its letter in line with B's
    xy = np.column_stack([points["x_nm"], points["y_nm"]]) / pixel_nm
    offset = label_offset_pt(xy, _LABEL_GAP_PT)
    halo = [effects.withStroke(linewidth=1.5, foreground="black")]
    ring = [effects.Stroke(linewidth=2.2, foreground="white"), effects.Normal()]   # a dark colour on a dark image
    for number, (x, y), colour in zip(points["point"], xy, colours):
        ax.plot(x, y, "o", ms=4.5, mfc="none", mec=colour, mew=1.2, path_effects=ring)
        ax.annotate(f"{number:.0f}", (x, y), xytext=offset, textcoords="offset points", ha="center", va="center",
                    color="white", fontsize=7, path_effects=halo)


def draw_edges(ax: Axes, table: np.ndarray, colours: Sequence[str], title: str, *,
               fits: np.ndarray | None = None, peaks: Mapping[str, float] | None = None,
               row_labels: bool = False) -> None:
    """One edge of Fig 3B: the background-subtracted spectra of all points, stacked, point 1 at the bottom.

    Parameters
    ----------
    ax
        The panel.
    table
        The EELS step's edge table (``energy_eV``, ``point_1`` ...).
    colours
        One colour per point.
    title
        The edge's printed name.
    fits
        The two-reference fits over part of the range (same columns), drawn dashed over
        the spectra (the Li K edge only).
    peaks
        Peak name -> energy (eV): a dotted line through the spectra and the name above
        them, in headroom kept free of data, so no spectrum strikes a name.
    row_labels
        Number each spectrum beside the panel's right edge, facing the curve's end.
    """
    names = [n for n in table.dtype.names if n.startswith("point_")]
    energy = table["energy_eV"]
    curves = [table[n] for n in names]
    step = stack_step(curves)
    for i, (name, curve, colour) in enumerate(zip(names, curves, colours)):
        ax.plot(energy, curve + i * step, lw=0.7, color=colour)
        if fits is not None:
            ax.plot(fits["energy_eV"], fits[name] + i * step, ls=_FIT_STYLE, lw=0.5, color=_FIT_COLOUR)
        if row_labels:
            ax.annotate(name.removeprefix("point_"), (1.0, tail_level(energy, curve) + i * step),
                        xycoords=("axes fraction", "data"), xytext=(_ROW_LABEL_GAP_PT, 0), textcoords="offset points",
                        ha="left", va="center", color=colour, fontsize=7, annotation_clip=False)
    low = min(float(np.quantile(c, 0.001)) + i * step for i, c in enumerate(curves))
    high = max(float(np.max(c)) + i * step for i, c in enumerate(curves))
    top = high + _HEADROOM * (high - low)
    ax.set_ylim(low - 0.02 * (high - low), top)
    for label, energy_eV in (peaks or {}).items():
        ax.plot([energy_eV, energy_eV], [low, high], ls=_MARK_STYLE, lw=0.7, color=_MARK_COLOUR, zorder=0)
        ax.annotate(label, (energy_eV, high), xytext=(0, 1.5), textcoords="offset points", ha="center",
                    va="bottom", fontsize=7)
    _spectrum_axes(ax, energy, title)


def draw_references(ax: Axes, table: np.ndarray, title: str, element: str, *,
                    row_labels: bool = False, marks: Sequence[float] = ()) -> None:
    """One edge of Fig 3C: the simulated edges of the candidate phases, normalized, one row per phase.

    Every phase keeps its row (the order of :data:`analysis.eels.PHASES`) in all three
    edges, so a row reads across the figure; a phase without the element has no such
    edge, and its row says so.

    Parameters
    ----------
    ax
        The panel.
    table
        The EELS step's reference table of this edge (``energy_eV`` and one column per
        phase that has the edge).
    title
        The edge's printed name.
    element
        The element of the edge, for the rows of phases without it ("no P").
    row_labels
        Name each row's phase beside the panel's right edge.
    marks
        Energies (eV) to mark with a faint dotted line, e.g. the measured peaks I and II.
    """
    energy = table["energy_eV"]
    for i, phase in enumerate(PHASES):
        base = i * _REFERENCE_SLOT
        if phase in table.dtype.names:
            curve = table[phase] / np.max(table[phase])
            colour = style.PHASE_COLOURS[phase]
            ax.plot(energy, curve + base, lw=0.9, color=colour, path_effects=line_effects(colour, 0.9))
            level = tail_level(energy, curve) + base
        else:
            ax.text(0.5 * (energy[0] + energy[-1]), base + 0.3, f"no {element}", ha="center", va="center",
                    color=_MARK_COLOUR, fontsize=6.5, fontstyle="italic")
            level = base + 0.3
        if row_labels:
            ax.annotate(style.formula(phase), (1.0, level), xycoords=("axes fraction", "data"),
                        xytext=(_ROW_LABEL_GAP_PT, 0), textcoords="offset points", ha="left", va="center",
                        fontsize=7, annotation_clip=False)
    ax.set_ylim(-0.05, (len(PHASES) - 1) * _REFERENCE_SLOT + 1.1)
    for energy_eV in marks:
        ax.axvline(energy_eV, ls=_MARK_STYLE, lw=0.6, color=_MARK_COLOUR, zorder=0)
    _spectrum_axes(ax, energy, title)


def _spectrum_axes(ax: Axes, energy: np.ndarray, title: str) -> None:
    """Stacked spectra: the energy axis only (offsets make an intensity scale meaningless)."""
    ax.set_xlim(energy[0], energy[-1])
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_title(title, pad=2)
    ax.set_xlabel("Energy loss (eV)")


def draw_key(ax: Axes, points: np.ndarray, colours: Sequence[str]) -> None:
    """The key of A and B: each point's colour, number and Li2O share, and the fit's line style.

    Parameters
    ----------
    ax
        The empty panel right under A (beside B); its axes are switched off and the legend
        fills it from the top left.
    points
        The EELS step's point table: ``point`` (the number printed in A and B) and
        ``li2o_fraction`` (the Li2O share of the two-reference fit of the point's Li K
        edge, 0 to 1), one row per point.
    colours
        One colour per point (:func:`point_colours`), in the table's order, the colours
        the point has in A and its spectrum in B.
    """
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, lw=1.2) for c in colours]
    labels = [f"{n:.0f}:  {share:.2f}" for n, share in zip(points["point"], points["li2o_fraction"])]
    handles.append(Line2D([], [], color=_FIT_COLOUR, lw=0.8, ls=_FIT_STYLE))
    labels.append(f"fit, {style.formula('Li2O')} + LiPON")
    ax.axis("off")
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.0, 1.0), borderaxespad=0.0, ncol=2,
              title=f"A, B: point, {style.formula('Li2O')} share of the Li K edge", title_fontsize=7,
              alignment="left", columnspacing=1.0, handlelength=1.6)


def draw_reference_key(ax: Axes, phases: Sequence[str]) -> None:
    """The key of C, beside it: each simulated phase's colour (pale ones with their dark rim).

    Parameters
    ----------
    ax
        The empty panel left of C; its axes are switched off and the legend fills it from
        the top left.
    phases
        The phases of C, listed top row first as C stacks them.
    """
    from matplotlib.lines import Line2D

    colours = [style.PHASE_COLOURS[p] for p in phases]
    handles = [Line2D([], [], color=c, lw=1.2, path_effects=line_effects(c, 1.2)) for c in colours]
    ax.axis("off")
    ax.legend(handles, [style.formula(p) for p in phases], loc="upper left", bbox_to_anchor=(0.0, 1.0),
              borderaxespad=0.0, title="C: simulated (FEFF9) edge of", title_fontsize=7, alignment="left",
              handlelength=1.6)


# ------------------------------------------------------------------ composition
def compose_figure3(df: Mapping[str, np.ndarray], points: np.ndarray, edges: Mapping[str, np.ndarray],
                    fits: np.ndarray, peaks: np.ndarray, references: Mapping[str, np.ndarray],
                    plt: ModuleType) -> Figure:
    """Figure 3 at its printed size (double column).

    Parameters
    ----------
    df
        The micrographs step's image of the EELS region (``image``, ``pixel_nm``).
    points
        The EELS step's point table.
    edges
        ``li``, ``p``, ``o`` -> the EELS step's edge tables.
    fits
        The two-reference fits of the Li K edges.
    peaks
        The EELS step's peak table (one row: ``li_k_I_eV``, ``li_k_II_eV``, ...).
    references
        ``li``, ``p``, ``o`` -> the EELS step's reference tables.
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = style.figure(plt, "double", FIGURE_HEIGHT_MM)
    grid = fig.add_gridspec(2, 4, width_ratios=(1.3, 1, 1, 1), height_ratios=(1.55, 1))
    left = grid[0, 0].subgridspec(2, 1, height_ratios=(3.3, 1))
    ax_a = fig.add_subplot(left[0])
    ax_key = fig.add_subplot(left[1])
    ax_ref_key = fig.add_subplot(grid[1, 0])
    top = [fig.add_subplot(grid[0, j + 1]) for j in range(3)]
    bottom = [fig.add_subplot(grid[1, j + 1], sharex=top[j]) for j in range(3)]
    colours = point_colours(len(points))
    peak_marks = {"I": float(np.ravel(peaks["li_k_I_eV"])[0]), "II": float(np.ravel(peaks["li_k_II_eV"])[0])}

    draw_points(ax_a, df["image"], float(df["pixel_nm"]), points, colours)
    draw_key(ax_key, points, colours)
    draw_reference_key(ax_ref_key, PHASES[::-1])
    for j, (key, title, element) in enumerate(EDGES):
        last = j == len(EDGES) - 1
        draw_edges(top[j], edges[key], colours, title, fits=fits if key == "li" else None,
                   peaks=peak_marks if key == "li" else None, row_labels=last)
        draw_references(bottom[j], references[key], title, element, row_labels=last,
                        marks=tuple(peak_marks.values()) if key == "li" else ())
    top[0].set_ylabel("Counts, background removed (offset)")
    bottom[0].set_ylabel("Normalized intensity (offset)")
    style.label_panels(fig, {"A": ax_a, "B": top[0], "C": bottom[0]})
    return fig


def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figure 3.

    Parameters
    ----------
    inputs
        ``points``, ``li_edges``, ``p_edges``, ``o_edges``, ``li_fits``, ``peaks``,
        ``references``, ``p_references``, ``o_references`` (the EELS step's tables),
        ``df_eels_region`` (the micrographs step's image) and ``style`` (the paper's
        style sheet).
    outputs
        ``fig3``.
    """
    plt = style.pyplot(inputs["style"])
    edges = {key: datatable.read(inputs[f"{key}_edges"]) for key, _, _ in EDGES}
    references = {"li": datatable.read(inputs["references"]), "p": datatable.read(inputs["p_references"]),
                  "o": datatable.read(inputs["o_references"])}
    fig = compose_figure3(np.load(inputs["df_eels_region"], allow_pickle=False), datatable.read(inputs["points"]),
                          edges, datatable.read(inputs["li_fits"]), datatable.read(inputs["peaks"]), references, plt)
    style.save(fig, outputs["fig3"])
    plt.close("all")

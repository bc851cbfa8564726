"""Electrochemistry panels (Figure 1A, 1B) and Figure S1, from the tables the electrochemistry step wrote.

Plotting is a step of its own: restyling a figure never reruns the analysis.  The
panel functions draw into axes they are given, so Figure 1 (:mod:`analysis.cell_figure`)
composes them with the micrographs and the EDS panels at one size and one style.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis import datatable, style

if TYPE_CHECKING:  # annotations only: matplotlib is imported by style.pyplot, after the backend is set
    from types import ModuleType

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: The slow cycles of Figure 1A in the order they are drawn: the first, the second, the last.
CYCLE_COLOURS = (style.PALETTE["blue"], style.PALETTE["orange"], style.PALETTE["black"])
#: The two cells of Figure S1.
CELL_COLOURS = {"solid": style.PALETTE["blue"], "liquid": style.PALETTE["vermillion"]}
#: Figure S1's printed height (mm) at single-column width.
S1_HEIGHT_MM = 66.0
#: Figure S1 with an axis break: heights of the steady range and of the range below the break.
S1_BREAK_RATIOS = (4.0, 1.0)


def clear_spot(points: np.ndarray, size: tuple[float, float], prefer: tuple[float, float] = (0.5, 0.0),
               steps: int = 21, pad: float = 0.02, ample: float = 0.06) -> tuple[float, float]:
    """Where a box covers the fewest drawn points: the lower-left corner of the best of a grid of places.

    Like matplotlib's ``loc="best"``, but over a fine grid instead of nine fixed places,
    so a key finds the empty stretch between curves wherever the data put it.  Among
    equally empty places the one farthest from every point wins (up to ``ample``
    clearance), and then the one whose centre is nearest ``prefer``.

    Parameters
    ----------
    points
        Drawn points (n x 2) in axes fractions; lines should be sampled densely
        (:func:`line_points`), so a steep segment counts along its whole length.
    size
        The box's (width, height) in axes fractions.
    prefer
        Where the box's centre should be, other things equal (axes fractions).
    steps
        Grid places along each axis.
    pad
        Clearance around the box that must be empty too (axes fractions).
    ample
        Clearance beyond which more does not count (axes fractions).

    Returns
    -------
    tuple of float
        The box's lower-left corner (axes fractions).

    Raises
    ------
    ValueError
        The box does not fit in the axes.
    """
    width, height = size
    if not (0 < width <= 1 and 0 < height <= 1):
        raise ValueError(f"a box of {width:.2f} x {height:.2f} axes fractions does not fit in the axes")
    best, best_key = (0.0, 0.0), (np.inf, np.inf, np.inf)
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    for x0 in np.linspace(0.0, 1.0 - width, steps):
        for y0 in np.linspace(0.0, 1.0 - height, steps):
            dx = np.maximum(np.maximum(x0 - pts[:, 0], pts[:, 0] - (x0 + width)), 0.0)
            dy = np.maximum(np.maximum(y0 - pts[:, 1], pts[:, 1] - (y0 + height)), 0.0)
            distance = np.hypot(dx, dy)
            clearance = min(float(distance.min()) if distance.size else np.inf, ample)
            key = (int(np.count_nonzero(distance < pad)), -clearance,
                   float(np.hypot(x0 + width / 2 - prefer[0], y0 + height / 2 - prefer[1])))
            if key < best_key:
                best, best_key = (float(x0), float(y0)), key
    return best


def line_points(ax: Axes, spacing: float = 0.004) -> np.ndarray:
    """Every line of a panel sampled every ``spacing`` (axes fractions) along its length.

    Parameters
    ----------
    ax
        The panel.
    spacing
        The largest distance between samples, in axes fractions.

    Returns
    -------
    numpy.ndarray
        Points (n x 2) in axes fractions.
    """
    to_axes = ax.transData + ax.transAxes.inverted()
    sampled = [np.empty((0, 2))]
    for line in ax.get_lines():
        xy = to_axes.transform(np.asarray(line.get_xydata(), dtype=float))
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if len(xy) < 2:
            sampled.append(xy)
            continue
        lengths = np.hypot(*np.diff(xy, axis=0).T)
        where = np.concatenate([[0.0], np.cumsum(lengths)])
        along = np.linspace(0.0, where[-1], max(2, int(np.ceil(where[-1] / spacing)) + 1))
        sampled.append(np.column_stack([np.interp(along, where, xy[:, 0]), np.interp(along, where, xy[:, 1])]))
    return np.concatenate(sampled)


def place_legend(ax: Axes, prefer: tuple[float, float] = (0.5, 0.0)) -> None:
    """Move a panel's key to where it covers the fewest points of its curves (:func:`clear_spot`).

    Call it once the figure is laid out (the key's size in axes fractions depends on
    the panel's printed size).

    Parameters
    ----------
    ax
        A panel with a legend.
    prefer
        Where the key's centre should be, other things equal (axes fractions).
    """
    legend = ax.get_legend()
    renderer = ax.figure.canvas.get_renderer()
    box, frame = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
    corner = clear_spot(line_points(ax), (box.width / frame.width, box.height / frame.height), prefer)
    legend.set_loc("lower left")
    legend.set_bbox_to_anchor((*corner, 0.0, 0.0), transform=ax.transAxes)


def draw_voltage_profiles(ax: Axes, profiles: np.ndarray) -> None:
    """Fig 1A: the slow cycles' voltage profiles, charge solid and discharge dashed.

    The slow cycles are the ones the file holds in full; the colours follow the cycle
    order (first, second, last), and the legend says which is which, so the figure
    holds for any cycle count.  The legend sits where it covers the fewest curve points
    (:func:`place_legend`); call that again once the figure is laid out.

    Parameters
    ----------
    ax
        The panel.
    profiles
        The electrochemistry step's ``thin_film_profiles`` table (``cycle``,
        ``charge``, ``capacity_uAh``, ``voltage_V``); up to three cycles are drawn.
    """
    from matplotlib.lines import Line2D

    handles = []
    for colour, number in zip(CYCLE_COLOURS, np.unique(profiles["cycle"])):
        for charge, dash in ((1, "-"), (0, "--")):
            seg = profiles[(profiles["cycle"] == number) & (profiles["charge"] == charge)]
            ax.plot(seg["capacity_uAh"], seg["voltage_V"], dash, color=colour)
        handles.append(Line2D([], [], color=colour, label=f"cycle {number:.0f}"))
    handles += [Line2D([], [], color="0.3", ls="-", label="charge"), Line2D([], [], color="0.3", ls="--",
                                                                             label="discharge")]
    low, high = float(np.min(profiles["voltage_V"])), float(np.max(profiles["voltage_V"]))
    ax.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low))
    ax.set_xlim(0, None)
    ax.set_xlabel("Capacity (µAh)")
    ax.set_ylabel("Voltage vs Li/Li$^+$ (V)")
    # the key goes where the curves leave room (below the plateau, between the charge's rise and
    # the discharge's fall, for a usual cell); a composed figure places it again once laid out
    ax.legend(handles=handles, handlelength=1.4, borderaxespad=0.0)
    place_legend(ax)


def cycle_limits(cycles: np.ndarray, margin: float = 0.02) -> tuple[float, float]:
    """The cycle axis of a per-cycle plot: every cycle with a margin, so no end marker is cut by the frame.

    Parameters
    ----------
    cycles
        A per-cycle table (``cycle``).
    margin
        Room beyond the first and the last cycle, as a fraction of the range.

    Returns
    -------
    tuple of float
        The x limits.
    """
    first, last = float(np.min(cycles["cycle"])), float(np.max(cycles["cycle"]))
    pad = margin * max(last - first, 1.0)
    return min(0.0, first - pad), last + pad


def draw_coulombic_efficiency(ax_ce: Axes, ax_q: Axes, cycles: np.ndarray) -> None:
    """Fig 1B: the thin-film cell's CE (steady cycles) above its discharge capacity (every cycle).

    The two share the cycle axis but not the plotting area, so no capacity point is
    drawn over the CE points near the floor.  In the capacity panel the slow cycles
    (the first ones and the last) are open circles, the steady ones dots, each named
    with its C-rate from the table.

    Parameters
    ----------
    ax_ce
        The upper panel: CE of the steady cycles.
    ax_q
        The lower panel, below ``ax_ce`` (its x axis is shared): discharge capacity.
    cycles
        The electrochemistry step's ``thin_film_cycles`` table.
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    from analysis.electrochemistry import rate_text

    steady = cycles["steady"] == 1
    ax_ce.plot(cycles["cycle"][steady], cycles["ce_pct"][steady], ".", ms=1.5, color=style.PALETTE["blue"])
    ax_ce.set_ylabel("Coulombic\nefficiency (%)")
    low = min(99.0, np.floor(float(np.min(cycles["ce_pct"][steady]))))
    ax_ce.set_ylim(low, 100.0 + 0.03 * (100.0 - low))  # room above 100 %: a point at 99.99 % is not cut
    ax_ce.set_xlim(*cycle_limits(cycles))
    ax_ce.tick_params(axis="x", labelbottom=False)

    q = cycles["q_discharge_uAh"]
    colour = style.PALETTE["vermillion"]
    ax_q.plot(cycles["cycle"][steady], q[steady], ".", ms=1.5, color=colour)
    ax_q.plot(cycles["cycle"][~steady], q[~steady], "o", ms=2.5, mfc="white", mew=0.6, color=colour, clip_on=False,
              zorder=3)
    ax_q.set_ylim(0, 1.25 * float(np.max(q)))
    ax_q.yaxis.set_major_locator(MaxNLocator(3))
    ax_q.set_xlabel("Cycle number")
    ax_q.set_ylabel("Discharge\ncapacity (µAh)")
    rates = [rate_text(float(np.median(cycles["rate_C"][group]))) for group in (steady, ~steady) if np.any(group)]
    handles = [Line2D([], [], ls="", marker=".", ms=3, color=colour, label=rates[0])]
    if len(rates) > 1:
        handles.append(Line2D([], [], ls="", marker="o", ms=2.5, mfc="white", mew=0.6, color=colour, label=rates[1]))
    ax_q.legend(handles=handles, loc="lower left", ncols=2, handletextpad=0.2, columnspacing=0.8,
                borderaxespad=0.2)


def ce_ranges(solid: np.ndarray, liquid: np.ndarray) -> tuple[tuple[float, float], tuple[float, float] | None]:
    """Fig S1's CE ranges: the steady cycles' range and, below a break, a range for the cycles far under it.

    The main range starts 1 % below the lower of the two cells' steady minima (at 95 %
    or lower), so both cells' steady cycles are resolved; the slow formation cycles far
    below get a range of their own under an axis break instead of leaving the view.

    Parameters
    ----------
    solid, liquid
        The ``thin_film_cycles`` and ``liquid_cycles`` tables.

    Returns
    -------
    tuple
        ``(low, high)`` of the main range, and ``(low, high)`` of the range below the
        break (whole percent, 1 % beyond the points it holds) or None when every point
        is in the main range.
    """
    steady_low = min(float(np.min(t["ce_pct"][t["steady"] == 1])) for t in (solid, liquid))
    low = min(95.0, np.floor(steady_low) - 1.0)
    main = (low, 100.0 + 0.04 * (100.0 - low))
    below = np.concatenate([t["ce_pct"][t["ce_pct"] < low] for t in (solid, liquid)])
    if below.size == 0:
        return main, None
    return main, (float(np.floor(np.min(below))) - 1.0, min(float(np.ceil(np.max(below))) + 1.0, low))


def draw_ce_both_cells(ax: Axes, solid: np.ndarray, liquid: np.ndarray, ax_low: Axes | None = None) -> None:
    """Fig S1: the CE of the LiPON thin-film cell beside the liquid-electrolyte coin cell's, every cycle shown.

    The steady cycles fill ``ax`` (:func:`ce_ranges`); the cycles far below them (the
    slow first cycles) are drawn in ``ax_low`` under an axis break, each named with its
    cycle and value, so no point leaves the figure.

    Parameters
    ----------
    ax
        The main panel.
    solid
        The electrochemistry step's ``thin_film_cycles`` table.
    liquid
        Its ``liquid_cycles`` table.
    ax_low
        The panel below the break, under ``ax`` with its x axis shared; needed when a
        cycle lies below the main range (:func:`ce_ranges`).

    Raises
    ------
    ValueError
        A cycle lies below the main range and there is no ``ax_low``.
    """
    from matplotlib.lines import Line2D

    names = {"solid": "Li | LiPON | LNMO thin film",
             "liquid": "Li | " + style.formula("LiPF6") + " EC:EMC | LNMO coin cell"}
    main, lower = ce_ranges(solid, liquid)
    if lower is not None and ax_low is None:
        raise ValueError(f"cycles below {main[0]:g} % need a panel below the axis break")
    panels = [ax] if lower is None else [ax, ax_low]
    for panel in panels:
        panel.plot(solid["cycle"], solid["ce_pct"], ".", ms=1.5, color=CELL_COLOURS["solid"])
        panel.plot(liquid["cycle"], liquid["ce_pct"], ".", ms=2.5, color=CELL_COLOURS["liquid"])
        panel.set_xlim(*cycle_limits(solid if np.max(solid["cycle"]) >= np.max(liquid["cycle"]) else liquid))
    ax.axhline(99.0, color="0.5", lw=0.6, ls=":")
    ax.set_ylim(*main)
    ax.set_ylabel("Coulombic efficiency (%)")
    bottom = ax
    if lower is not None:
        bottom = ax_low
        ax_low.set_ylim(*lower)
        ax.tick_params(axis="x", bottom=False, labelbottom=False)
        ax.spines["bottom"].set_visible(False)
        mark_break(ax, ax_low)
        for cell, table in (("solid", solid), ("liquid", liquid)):
            for row in table[table["ce_pct"] < main[0]]:
                ax_low.annotate(f"cycle {row['cycle']:.0f}: {row['ce_pct']:.1f} %", (row["cycle"], row["ce_pct"]),
                                xytext=(4, 0), textcoords="offset points", va="center", fontsize=6.5,
                                color=CELL_COLOURS[cell])
    bottom.set_xlabel("Cycle number")
    # below the data: the key sits under the figure's plots, clear of both cells' points
    handles = [Line2D([], [], ls="", marker="o", ms=3, color=CELL_COLOURS[cell], label=name)
               for cell, name in names.items()]
    ax.figure.legend(handles=handles, loc="outside lower center")


def mark_break(ax: Axes, ax_low: Axes, size_pt: float = 3.0) -> None:
    """Two short slashes on the left axis line where it is broken between ``ax`` and the panel below.

    Parameters
    ----------
    ax, ax_low
        The upper and the lower panel.
    size_pt
        The half-length of a slash, in points.
    """
    ax_low.spines["top"].set_visible(False)
    slash = {"marker": [(-1, -0.5), (1, 0.5)], "markersize": 2 * size_pt, "linestyle": "none", "color": "k",
             "mec": "k", "mew": 0.6, "clip_on": False}
    ax.plot([0], [0], transform=ax.transAxes, **slash)
    ax_low.plot([0], [1], transform=ax_low.transAxes, **slash)


def compose_s1(plt: ModuleType, solid: np.ndarray, liquid: np.ndarray) -> Figure:
    """Figure S1 at its printed size: one column wide, with an axis break when a cycle lies far below the rest.

    Parameters
    ----------
    plt
        ``matplotlib.pyplot`` with the paper's style (:func:`analysis.style.pyplot`).
    solid, liquid
        The ``thin_film_cycles`` and ``liquid_cycles`` tables.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = style.figure(plt, "single", S1_HEIGHT_MM)
    if ce_ranges(solid, liquid)[1] is None:
        draw_ce_both_cells(fig.add_subplot(), solid, liquid)
        return fig
    ax, ax_low = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": S1_BREAK_RATIOS})
    draw_ce_both_cells(ax, solid, liquid, ax_low)
    return fig


def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figure S1 from tables alone, so a restyle never reruns the analysis.

    Figure 1A and 1B are drawn by the ``cell_figure`` step with :func:`draw_voltage_profiles`
    and :func:`draw_coulombic_efficiency`.

    Parameters
    ----------
    inputs
        ``thin_film_cycles``, ``liquid_cycles`` (tables of the electrochemistry step)
        and ``style`` (the paper's style sheet).
    outputs
        ``figS1``.
    """
    plt = style.pyplot(inputs["style"])
    solid = datatable.read(inputs["thin_film_cycles"])
    liquid = datatable.read(inputs["liquid_cycles"])
    style.save(compose_s1(plt, solid, liquid), outputs["figS1"])
    plt.close("all")

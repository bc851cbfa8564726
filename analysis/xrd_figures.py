"""Figure S4, composed whole at its printed size: (A) pristine and air-exposed LiPON with
the new peaks indexed to Li2CO3 and the computed Li2CO3 lines beneath; (B) LiPON at 100 K
over its fitted background (no Bragg peak: amorphous).

The Miller indices are set in one row above the patterns, each joined to its peak by a
leader line, and spread apart only as far as they need (:func:`spread_positions`), so
they never overprint whatever the tube: a Mo Kα pattern crowds the same lines into a
third of the angle range.  Trace names sit beside the traces' ends, outside the data;
panel B's legend sits in headroom kept free for it.  Nothing here changes a computed number.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis import datatable, style

if TYPE_CHECKING:  # annotations only: figures import matplotlib lazily
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Trace colours: the two samples, the computed carbonate lines in Li2CO3's colour.
TRACES = {"pristine": style.PALETTE["blue"], "air-exposed": style.PALETTE["vermillion"]}
LI2CO3_COLOUR = style.PHASE_COLOURS["Li2CO3"]
HKL_SIZE_PT = 6.0
FIGURE_HEIGHT_MM = 72.0


def mathtext_hkl(label: str) -> str:
    """Miller indices as the tables write them -> mathtext with a true bar over each negative index.

    A combining character after a digit (macron U+0304, as the xrd step writes, or overline
    U+0305) prints as a strike through the next character in many fonts, and a minus
    (``-`` or U+2212) before a digit is not how a crystallographer writes an index; both
    become ``\\bar{n}``, which mathtext draws as an overbar in every font.

    Parameters
    ----------
    label
        Miller indices as the tables write them, e.g. ``'(202\u0304)'`` or ``'(20-2)'``.

    Returns
    -------
    str
        A mathtext string, e.g. ``'$(20\\bar{2})$'``; no combining character is left.
    """
    out = re.sub(r"(\d)[\u0304\u0305]", r"\\bar{\1}", label)
    out = re.sub(r"[-\u2212](\d)", r"\\bar{\1}", out)
    return "$" + out + "$"


def angle_label(rows: np.ndarray) -> str:
    """The 2θ axis label with the wavelength the rows were recorded at (from the table).

    Parameters
    ----------
    rows
        Rows of the ``patterns`` table, all of one wavelength.

    Returns
    -------
    str
    """
    return f"2θ (°, λ = {float(rows['wavelength_A'][0]):.4f} Å)"


def spread_positions(x: Sequence[float], gap: float, lo: float, hi: float) -> np.ndarray:
    """Label positions as close as possible to ``x`` (least squares), in the same order, at least ``gap`` apart.

    With ``q_i = p_i - i * gap`` (labels sorted) the spacing constraint says that ``q``
    does not decrease, so the best positions are an isotonic regression of
    ``x_i - i * gap`` (pool adjacent violators), clipped to the room between ``lo`` and
    ``hi``.

    Parameters
    ----------
    x
        Where each label would ideally sit (any order).
    gap
        Least distance between neighbouring labels (same unit as ``x``).
    lo, hi
        The range the labels must stay in.

    Returns
    -------
    numpy.ndarray
        One position per label, in the order of ``x``.

    Raises
    ------
    ValueError
        ``gap`` is negative, or the labels do not fit between ``lo`` and ``hi``.
    """
    x = np.asarray(x, float)
    if gap < 0:
        raise ValueError(f"gap {gap} is negative")
    n = x.size
    if n == 0:
        return x.copy()
    if hi - lo < (n - 1) * gap - 1e-12:
        raise ValueError(f"{n} labels {gap:g} apart do not fit between {lo:g} and {hi:g}")
    order = np.argsort(x, kind="stable")
    target = x[order] - np.arange(n) * gap
    blocks: list[list[float]] = []   # [mean, weight]
    for value in target:
        blocks.append([value, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean_b, w_b = blocks.pop()
            mean_a, w_a = blocks.pop()
            blocks.append([(mean_a * w_a + mean_b * w_b) / (w_a + w_b), w_a + w_b])
    q = np.concatenate([np.full(int(w), m) for m, w in blocks])
    q = np.clip(q, lo, hi - (n - 1) * gap)
    out = np.empty(n)
    out[order] = q + np.arange(n) * gap
    return out


def headroom_limit(data_low: float, data_high: float, free_pt: float, axes_height_pt: float) -> float:
    """The upper y limit that leaves ``free_pt`` points above ``data_high`` on an axes ``axes_height_pt`` tall.

    Parameters
    ----------
    data_low, data_high
        The lower y limit and the highest data value.
    free_pt
        Room wanted above the data (points).
    axes_height_pt
        Height of the axes (points).

    Returns
    -------
    float
        The upper y limit.

    Raises
    ------
    ValueError
        The room wanted is not less than the axes height.
    """
    if free_pt >= axes_height_pt:
        raise ValueError(f"{free_pt:g} pt of room do not fit in an axes {axes_height_pt:g} pt tall")
    return data_low + (data_high - data_low) / (1 - free_pt / axes_height_pt)


def _points_per_data(ax: Axes) -> tuple[float, float]:
    """Points per data unit along x and y of a laid-out axes."""
    box = ax.get_window_extent()
    scale = 72.0 / ax.figure.dpi
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return box.width * scale / (x1 - x0), box.height * scale / (y1 - y0)


def draw_patterns(ax: Axes, table: np.ndarray, reflections: np.ndarray) -> dict[str, float]:
    """Panel A's data: the pristine and air-exposed patterns (offset) and the computed Li2CO3 lines beneath.

    The air-exposed pattern is raised by 0.7 of the pristine pattern's maximum so the two
    do not cross; the computed lines hang down from just below zero, each as long as its
    relative intensity, so they read as a stick pattern under the measured ones.  Each
    trace is named beside its right end.

    Parameters
    ----------
    ax
        Panel A.
    table
        The xrd step's ``patterns`` table (``pattern``, ``two_theta_deg``, ``counts``,
        ``wavelength_A``); the rows of ``"pristine"`` and ``"air-exposed"`` are drawn, and
        the air-exposed rows' wavelength labels the 2θ axis.
    reflections
        The ``li2co3_reflections`` table: ``two_theta_deg`` (at the patterns'
        wavelength) and ``intensity`` (relative, strongest = 1) of each computed line.

    Returns
    -------
    dict
        The offset air-exposed pattern's highest point (``top``), the lower y limit
        (``low``) and the air-exposed pattern's offset (``offset``), for the label row.
    """
    offset, offsets = 0.0, {}
    ends = {}
    for name, colour in TRACES.items():
        rows = table[table["pattern"] == name]
        offsets[name] = offset
        ax.plot(rows["two_theta_deg"], rows["counts"] + offset, color=colour, lw=0.6)
        tail = rows["counts"][-max(3, rows.size // 50):]
        ends[name] = float(np.median(tail)) + offset
        top = float(rows["counts"].max()) + offset
        offset += 0.7 * float(rows["counts"].max())
    base = -0.12 * offset
    sticks = base * (1 + 2.0 * reflections["intensity"])
    low = float(sticks.min()) + 0.08 * base   # a little room under the longest line
    ax.vlines(reflections["two_theta_deg"], base, sticks, color=LI2CO3_COLOUR, lw=0.7)
    ends[f"{style.formula('Li2CO3')} (computed)"] = base * 1.5
    angles = table["two_theta_deg"]
    ax.set_xlim(float(angles.min()), float(angles.max()))
    for name, y in ends.items():
        ax.annotate(name, (float(angles.max()), y), xytext=(3, 0), textcoords="offset points", ha="left",
                    va="center", fontsize=6.5, color=TRACES.get(name, LI2CO3_COLOUR), annotation_clip=False)
    ax.set_xlabel(angle_label(table[table["pattern"] == "air-exposed"]))
    ax.set_ylabel("Intensity (counts, offset)")
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    return {"top": top, "low": low, "offset": offsets["air-exposed"]}


def index_peaks(ax: Axes, table: np.ndarray, peaks: np.ndarray, top: float, low: float, offset: float) -> None:
    """Panel A's Miller indices: one row above the patterns, leader lines down to the peaks.

    Call once the axes is laid out: the spacing of the labels is set in points.  The
    upper y limit is raised just enough to hold the row.

    Parameters
    ----------
    ax
        Panel A, with :func:`draw_patterns` drawn and the figure laid out (drawn once).
    table
        The ``patterns`` table; the air-exposed rows give the height of each indexed peak,
        where its leader line ends.
    peaks
        The xrd step's ``peaks`` table; the air-exposed peaks with an ``hkl`` (matched to
        a Li2CO3 line) are labelled at their ``two_theta_deg``.  Without any, only the
        upper limit is set (5 % above ``top``).
    top, low, offset
        From :func:`draw_patterns`: the offset air-exposed pattern's highest point and the
        panel's lower y limit (counts, as drawn), and the offset added to the air-exposed
        counts, so a leader ends on the peak as drawn.
    """
    renderer = ax.figure.canvas.get_renderer()
    rows = table[table["pattern"] == "air-exposed"]
    found = peaks[(peaks["pattern"] == "air-exposed") & (peaks["hkl"] != "")]
    if not found.size:
        ax.set_ylim(low, top * 1.05)
        return
    scale = 72.0 / ax.figure.dpi
    sizes = []
    for hkl in found["hkl"]:   # the largest label sets the spacing and the room above the patterns
        probe = ax.text(0, 0, mathtext_hkl(hkl), rotation=90, fontsize=HKL_SIZE_PT)
        extent = probe.get_window_extent(renderer)
        probe.remove()
        sizes.append((extent.width * scale, extent.height * scale))
    label_w_pt, label_h_pt = np.max(sizes, axis=0)
    leader_pt, knee_pt = 10.0, 4.0
    axes_h_pt = ax.get_window_extent(renderer).height * scale
    ax.set_ylim(low, headroom_limit(low, top, leader_pt + label_h_pt + 2.0, axes_h_pt))
    per_x, per_y = _points_per_data(ax)
    gap = (label_w_pt + 0.8) / per_x
    lo, hi = ax.get_xlim()
    x_peaks = np.asarray(found["two_theta_deg"], float)
    x_labels = spread_positions(x_peaks, gap, lo + gap / 2, hi - gap / 2)
    row = top + leader_pt / per_y
    step = abs(float(rows["two_theta_deg"][1] - rows["two_theta_deg"][0]))
    for peak, xp, xl in zip(found, x_peaks, x_labels):
        near = np.abs(rows["two_theta_deg"] - xp) <= max(0.05, 0.5 * step)
        y_peak = float(rows["counts"][near].max()) + offset + 2.0 / per_y
        knee = row - knee_pt / per_y
        ax.plot([xp, xp, xl, xl], [y_peak, max(knee - 2.0 / per_y, y_peak), knee, row - 0.5 / per_y],
                color="0.4", lw=0.35, solid_joinstyle="round")
        ax.text(xl, row, mathtext_hkl(peak["hkl"]), rotation=90, ha="center", va="bottom", fontsize=HKL_SIZE_PT)


def draw_cryo(ax: Axes, table: np.ndarray) -> None:
    """Panel B: the 100 K pattern over its fitted background; the legend in headroom kept above the data.

    The pattern follows its background with no Bragg peak rising above it: the film is
    amorphous at 100 K.  The legend itself and its headroom are added afterwards by
    ``_legend_with_headroom``, once the figure is laid out.

    Parameters
    ----------
    ax
        Panel B.
    table
        The xrd step's ``patterns`` table; the ``"cryo 100 K"`` rows are drawn: ``counts``
        as measured and ``background`` (the fitted background, dashed) against
        ``two_theta_deg``, whose wavelength (``wavelength_A``) labels the axis.
    """
    rows = table[table["pattern"] == "cryo 100 K"]
    ax.plot(rows["two_theta_deg"], rows["counts"], color=style.PHASE_COLOURS["LiPON"], lw=0.6, label="LiPON, 100 K")
    ax.plot(rows["two_theta_deg"], rows["background"], color="black", lw=0.8, ls=(0, (4, 2)),
            label="fitted background")
    ax.set_xlim(float(rows["two_theta_deg"].min()), float(rows["two_theta_deg"].max()))
    ax.set_xlabel(angle_label(rows))
    ax.set_ylabel("Intensity (counts)")


def _legend_with_headroom(ax: Axes, table: np.ndarray) -> None:
    """Panel B's legend in one row above the data: the y range is extended by the legend's height."""
    rows = table[table["pattern"] == "cryo 100 K"]
    low, high = 0.0, float(max(rows["counts"].max(), rows["background"].max()))
    legend = ax.legend(loc="upper right", ncol=1, borderaxespad=0.2)
    renderer = ax.figure.canvas.get_renderer()
    scale = 72.0 / ax.figure.dpi
    need = legend.get_window_extent(renderer).height * scale + 4.0
    ax.set_ylim(low, headroom_limit(low, high, need, ax.get_window_extent(renderer).height * scale))


def compose_figS4(table: np.ndarray, peaks: np.ndarray, reflections: np.ndarray, plt) -> Figure:
    """Figure S4 at double width: A (two thirds) and B side by side.

    Parameters
    ----------
    table
        The ``patterns`` table (pattern, two_theta_deg, counts, background, wavelength_A).
    peaks
        The ``peaks`` table (pattern, two_theta_deg, height, sigma, hkl, ...).
    reflections
        The ``li2co3_reflections`` table (hkl, d_A, two_theta_deg, intensity).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = style.figure(plt, "double", FIGURE_HEIGHT_MM)
    ax_a, ax_b = fig.subplots(1, 2, width_ratios=[2.1, 1.0])
    marks = draw_patterns(ax_a, table, reflections)
    draw_cryo(ax_b, table)
    ax_a.set_ylim(marks["low"], marks["top"] * 1.3)
    _legend_with_headroom(ax_b, table)
    style.label_panels(fig, {"A": ax_a, "B": ax_b})
    fig.canvas.draw()   # the final layout, letters included: label spacing and headroom are set in points
    fig.set_layout_engine("none")
    index_peaks(ax_a, table, peaks, marks["top"], marks["low"], marks["offset"])
    _legend_with_headroom(ax_b, table)
    return fig


def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figure S4.

    Parameters
    ----------
    inputs
        ``patterns``, ``peaks`` and ``li2co3_reflections`` (tables of the xrd step) and
        ``style`` (the paper's style sheet).
    outputs
        ``figS4``.
    """
    plt = style.pyplot(inputs["style"])
    style.save(compose_figS4(datatable.read(inputs["patterns"]), datatable.read(inputs["peaks"]),
                             datatable.read(inputs["li2co3_reflections"]), plt), outputs["figS4"])
    plt.close("all")

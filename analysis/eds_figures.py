"""EDS panels (Figure 1E, 1F, 1G) and Figures S5 and S6, from the EDS step's tables and maps.

Plotting is a step of its own: restyling a figure never reruns the analysis.  The
panel functions draw into axes they are given, so Figure 1 (:mod:`analysis.cell_figure`)
composes them with the electrochemistry and micrograph panels.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis import datatable, micrograph_figures, style

if TYPE_CHECKING:  # annotations only: matplotlib is imported by style.pyplot, after the backend is set
    from types import ModuleType

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage
    from matplotlib.lines import Line2D
    from matplotlib.text import Text

#: Printed names of the X-ray lines the EDS step reports.
LABELS = {"N_Ka": "N K$\\alpha$", "O_Ka": "O K$\\alpha$", "P_Ka": "P K$\\alpha$"}
#: Lines in the point spectra from outside the sample (Fig S6): carbon contamination and the
#: copper grid.  Their energies come from exspy's element database, like the EDS step's.
OTHER_LINES = {"C_Ka": "C K$\\alpha$", "Cu_La": "Cu L$\\alpha$"}
#: Colour of the lines from outside the sample (the sample's lines take their element's colour).
OTHER_COLOUR = "0.45"
#: The three regions along the line scan and their background tints (Li and LiPON in
#: their phase colours, the interphase between them in a neutral tint).
REGION_TINTS = {"Li": (style.PHASE_COLOURS["Li"], 0.35), "interphase": (style.PALETTE["yellow"], 0.25),
                "LiPON": (style.PHASE_COLOURS["LiPON"], 0.12)}
#: The three point spectra of Figure S6, from the Li side to the LiPON side (light to dark).
POINT_SHADES = {"start": "0.65", "middle": "0.38", "end": "0.0"}
#: Figures S5 and S6: printed heights (mm).
S5_HEIGHT_MM = 62.0
S6_HEIGHT_MM = 60.0
#: How much of the plot's height the offset spectra may fill, leaving the top for the line labels,
#: and the height (axes fraction) of the labels' baseline.
_SPECTRA_FILL = 0.82
_NAME_BASE = 0.88


def line_name(line: str | bytes) -> str:
    """The EDS step's line name as a printed label.

    Parameters
    ----------
    line
        A line name of the EDS step's tables (``"N_Ka"``), as text or bytes.

    Returns
    -------
    str
        The label (N Kα, with the α from mathtext).
    """
    return {**LABELS, **OTHER_LINES}[line.decode() if isinstance(line, bytes) else line]


def shade_regions(ax: Axes, region: np.ndarray) -> None:
    """Li, the interphase and LiPON as background bands, each named above the plot.

    The bands follow the EDS step's interphase limits, so they move with the data; a
    name that would not fit its band (a narrow Li or LiPON stretch at the scan's end)
    is left to the caption.

    Parameters
    ----------
    ax
        The profile panel; its x limits must be set.
    region
        The EDS step's interphase table (``start_nm``, ``end_nm``).
    """
    start, end = float(region["start_nm"]), float(region["end_nm"])
    lo, hi = ax.get_xlim()
    spans = {"Li": (lo, start), "interphase": (start, end), "LiPON": (end, hi)}
    for name, (a, b) in spans.items():
        colour, alpha = REGION_TINTS[name]
        ax.axvspan(a, b, color=colour, alpha=alpha, lw=0, zorder=0)
        if (b - a) > 0.12 * (hi - lo):  # room for the name within its band
            ax.text(0.5 * (a + b), 1.02, name, transform=ax.get_xaxis_transform(), ha="center", va="bottom")
    ax.set_xlim(lo, hi)


def draw_element_map(ax: Axes, maps: Mapping[str, np.ndarray], element: str) -> AxesImage:
    """Fig 1E, 1F: one element's count-rate map with a scale bar.

    Parameters
    ----------
    ax
        The panel.
    maps
        The EDS step's maps (``N``, ``O``, ``P`` in counts/s, and ``pixel_nm``).
    element
        Which map to show.

    Returns
    -------
    matplotlib.image.AxesImage
        The drawn map, for its colour bar.
    """
    image = maps[element]
    return style.show_micrograph(ax, image, float(maps["pixel_nm"]), cmap="magma",
                                 location=micrograph_figures.scale_bar_location(image))


def draw_normalized_profiles(ax: Axes, profiles: np.ndarray, region: np.ndarray) -> None:
    """Fig 1G: N and P profiles scaled to their fitted levels, with the fits, over the shaded regions.

    Normalizing puts both elements on one axis, so the reader sees nitrogen rise first.
    The key sits in the Li band at mid-height, where both profiles are still near zero.

    Parameters
    ----------
    ax
        The panel.
    profiles, region
        The EDS step's profile and interphase tables.
    """
    x = profiles["position_nm"]
    ax.set_xlim(x[0], x[-1])
    shade_regions(ax, region)
    for element in ("N", "P"):
        colour = style.ELEMENT_COLOURS[element]
        ax.plot(x, profiles[f"{element}_norm"], ".", ms=2.0, color=colour, label=f"{element} (data)")
        ax.plot(x, profiles[f"{element}_fit_norm"], "-", color=colour, lw=0.9, label=f"{element} (fit)")
    ax.set_xlabel("Position along the line scan (nm)")
    ax.set_ylabel("Normalized intensity")
    ax.set_ylim(-0.15, 1.25)
    ax.legend(loc="upper left", ncols=2, columnspacing=1.0, handlelength=1.2)


def draw_cps(ax: Axes, profiles: np.ndarray, region: np.ndarray) -> None:
    """Fig S5B: raw count rates of the three lines along the scan, to show what normalizing hides.

    Parameters
    ----------
    ax
        The panel.
    profiles, region
        The EDS step's profile and interphase tables.
    """
    x = profiles["position_nm"]
    ax.set_xlim(x[0], x[-1])
    shade_regions(ax, region)
    top = 0.0
    for line in ("O_Ka", "P_Ka", "N_Ka"):
        y = profiles[f"{line[0]}_cps"]
        ax.plot(x, y, "-", color=style.ELEMENT_COLOURS[line[0]], lw=0.9, label=LABELS[line])
        top = max(top, float(np.max(y)))
    ax.set_xlabel("Position along the line scan (nm)")
    ax.set_ylabel("Count rate (counts/s)")
    ax.set_ylim(min(0.0, float(ax.get_ylim()[0])), 1.3 * top)  # headroom above the data for the key
    ax.legend(loc="upper left", ncols=3, columnspacing=1.0, handlelength=1.2)


@dataclass(frozen=True)
class LineName:
    """A line energy's name on Fig S6, the leader that joins it to its dotted line, and the energy (keV)."""

    text: Text
    leader: Line2D
    energy_keV: float


def draw_point_spectra(ax: Axes, spectra: np.ndarray, lines: np.ndarray,
                       other_lines: np.ndarray | None = None) -> list[LineName]:
    """Fig S6: spectra at the start, middle and end of the interphase, stacked apart, with the line energies.

    Each spectrum sits wholly above the one before it (its baseline above that one's
    highest count), so no two cross.  Each line energy is a dotted line in its element's
    colour (lines from outside the sample in grey) that stops below the names; the
    names are spread apart where lines are close (:func:`place_line_names`) and joined
    to their lines by short leaders.  The key sits outside the plot, so it covers no peak.

    Parameters
    ----------
    ax
        The panel.
    spectra
        The EDS step's point-spectrum table.
    lines
        The EDS step's line-energy table (the sample's lines).
    other_lines
        Lines of the same form from outside the sample (:data:`OTHER_LINES`), or None.

    Returns
    -------
    list of LineName
        The names, in order of energy; place them again once the figure is laid out.
    """
    energy = spectra["energy_keV"]
    shown = max(2.4, 1.2 * float(np.max(lines["energy_keV"])))  # the N, O and P K lines and some room
    keep = energy <= shown
    offset, gap = 0.0, 0.06 * max(float(np.max(spectra[f"{name}_cps"][keep])) for name in POINT_SHADES)
    for name, shade in POINT_SHADES.items():
        y = spectra[f"{name}_cps"][keep]
        ax.plot(energy[keep], y + offset, color=shade, lw=0.7, label=name)
        offset += float(np.max(y)) + gap
    ax.set_ylim(0.0, (offset - gap) / _SPECTRA_FILL)
    ax.set_xlim(0.0, shown)
    marked = [(_text(n), float(e)) for n, e in zip(lines["line"], lines["energy_keV"])]
    if other_lines is not None:
        marked += [(_text(n), float(e)) for n, e in zip(other_lines["line"], other_lines["energy_keV"])
                   if float(e) <= shown]
    names = []
    along = ax.get_xaxis_transform()  # x in keV, y in axes fractions
    for line, at in sorted(marked, key=lambda item: item[1]):
        colour = style.ELEMENT_COLOURS[line.split("_")[0]] if line in LABELS else OTHER_COLOUR
        ax.axvline(at, ymax=_SPECTRA_FILL, color=colour, lw=0.6, ls=":", zorder=0)
        text = ax.text(at, _NAME_BASE, line_name(line), transform=along, ha="center", va="bottom", color=colour)
        leader, = ax.plot([at, at], [_SPECTRA_FILL, _NAME_BASE - 0.01], transform=along, color=colour, lw=0.5)
        names.append(LineName(text, leader, at))
    ax.set_xlabel("Energy (keV)")
    ax.set_ylabel("Count rate (counts/s, offset)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, handlelength=1.2,
              title="interphase", title_fontsize=style.FONT_RANGE_PT[0] + 0.5, alignment="left")
    place_line_names(ax, names)
    return names


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def place_line_names(ax: Axes, names: list[LineName], pad_pt: float = 3.0) -> None:
    """Spread the line names along the top so that none touches the next, and aim their leaders.

    The least distance between two names' centres is the widest name plus ``pad_pt``,
    at the panel's present printed width, so a composed figure calls this again once
    it is laid out.  Names stay as close to their lines as that allows
    (:func:`analysis.micrograph_figures.spread_labels`).

    Parameters
    ----------
    ax
        The panel.
    names
        Its line names (:func:`draw_point_spectra`), in order of energy.
    pad_pt
        Air between neighbouring names, in points.
    """
    if not names:
        return
    renderer = ax.figure.canvas.get_renderer()
    lo, hi = ax.get_xlim()
    to_pt = 72.0 / ax.figure.dpi
    per_pt = (hi - lo) / (ax.get_window_extent(renderer).width * to_pt)
    widest = max(name.text.get_window_extent(renderer).width * to_pt for name in names)
    half = 0.5 * widest * per_pt
    placed = micrograph_figures.spread_labels([name.energy_keV for name in names], (widest + pad_pt) * per_pt,
                                              lo + half, hi - half)
    for name, x in zip(names, placed):
        name.text.set_x(float(x))
        name.leader.set_xdata([name.energy_keV, float(x)])


def compose_s5(plt: ModuleType, df: Mapping[str, np.ndarray], profiles: np.ndarray, region: np.ndarray,
               scan_nm: np.ndarray | None = None) -> Figure:
    """Figure S5 at double width: (A) the dark-field image of the interface, (B) the line scan's count rates.

    Parameters
    ----------
    plt
        ``matplotlib.pyplot`` with the paper's style.
    df
        The micrographs step's dark-field image (``image``, ``pixel_nm``).
    profiles, region
        The EDS step's profile and interphase tables.
    scan_nm
        The EDS step's ``scan_path`` table: the arrow on the image.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = style.figure(plt, "double", S5_HEIGHT_MM)
    image_ax, plot_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": (1.0, 1.75)})
    micrograph_figures.draw_dark_field(image_ax, df, scan_nm)
    draw_cps(plot_ax, profiles, region)
    style.label_panels(fig, {"A": image_ax, "B": plot_ax})
    return fig


def compose_s6(plt: ModuleType, spectra: np.ndarray, lines: np.ndarray,
               other_lines: np.ndarray | None = None) -> Figure:
    """Figure S6 at one column width: the three point spectra, the key beside them.

    Parameters
    ----------
    plt
        ``matplotlib.pyplot`` with the paper's style.
    spectra, lines
        The EDS step's point-spectrum and line-energy tables.
    other_lines
        Lines from outside the sample to mark too (:func:`other_line_table`), or None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = style.figure(plt, "single", S6_HEIGHT_MM)
    ax = fig.add_subplot()
    names = draw_point_spectra(ax, spectra, lines, other_lines)
    fig.get_layout_engine().execute(fig)
    place_line_names(ax, names)  # at the panel's final width
    return fig


def other_line_table() -> np.ndarray:
    """The lines of :data:`OTHER_LINES` with their tabulated energies, as a table like the EDS step's.

    Returns
    -------
    numpy.ndarray
        Fields ``line`` and ``energy_keV``, one row per line.
    """
    from analysis.eds import line_energies_keV

    return np.array(line_energies_keV(tuple(OTHER_LINES)), dtype=[("line", "U8"), ("energy_keV", float)])


def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figures S5 and S6; Figure 1E-G are drawn by the ``cell_figure`` step.

    Parameters
    ----------
    inputs
        ``profiles``, ``interphase``, ``point_spectra``, ``lines``, ``scan_path`` (the EDS
        step's tables), ``df_interface`` (the micrographs step's dark-field image) and
        ``style`` (the paper's style sheet).
    outputs
        ``figS5``, ``figS6``.
    """
    plt = style.pyplot(inputs["style"])
    profiles = datatable.read(inputs["profiles"])
    region = datatable.read(inputs["interphase"])
    df = np.load(inputs["df_interface"], allow_pickle=False)
    style.save(compose_s5(plt, df, profiles, region, datatable.read(inputs["scan_path"])), outputs["figS5"])
    style.save(compose_s6(plt, datatable.read(inputs["point_spectra"]), datatable.read(inputs["lines"]),
                          other_line_table()), outputs["figS6"])
    plt.close("all")

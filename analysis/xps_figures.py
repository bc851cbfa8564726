"""Figure 4 (the depth profile, spectra stacked by etch depth), Figure S8 (the LiPON
reference fits) and Figure S9 (atomic % against etch depth), each composed whole.

Drawing is split as every figure step of the paper is: ``draw_*`` functions draw one
panel into a given axes, ``compose_*`` functions lay the panels of one figure out at
its printed size, and :func:`run` reads the xps step's tables and saves.  Plotting is a
step of its own, so restyling never reruns the fits.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis import datatable, style

if TYPE_CHECKING:  # annotations only: figures import matplotlib lazily
    from types import ModuleType

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PROFILE_PANELS = ("O 1s", "N 1s", "P 2p", "Li 1s")
#: The order elements are listed in (Figure S9), each drawn in its colour of every figure.
ATOMIC_ELEMENTS = ("O", "C", "N", "P", "Li")
#: The minority elements Figure S9B shows on their own scale.
ZOOM_ELEMENTS = ("O", "N", "P")
#: Phases named at the surface (the first etch step): a fitted state of a region -> the
#: phase it stands for there.  Before etching the 531-532 eV O 1s line is carbonate (no
#: phosphorus has been reached yet), the 528-529 eV line oxide.
SURFACE_PHASES = {("O 1s", "CO3/PO4"): "Li2CO3", ("O 1s", "Li2O"): "Li2O"}
#: Phases named where a region first appears (its onset): N 1s comes in as nitride, P 2p
#: as phosphate (the text discusses why there is no phosphide).
ONSET_PHASES = {"N 1s": style.formula("Li3N"), "P 2p": "phosphate"}
#: Polyatomic ions written with their charge wherever a fitted state names them.
ION_CHARGES = {"PO4": "3-", "CO3": "2-"}
#: Room above the highest drawn spectrum for the phase labels, as a fraction of the panel.
LABEL_HEADROOM = 0.16
#: Height of the strongest net spectrum of a region, in etch-step spacings: tall enough to
#: read a line's shape, low enough that a spectrum rarely reaches two steps above its own.
STACK_PEAK_STEPS = 2.5


# ------------------------------------------------------------------ labels
def component_label(state: str) -> str:
    """A fitted state's name as it is printed: formulas with sub- and superscripts.

    ``"NO2-"`` -> NO$_2^-$, ``"PO4 2p3/2"`` -> PO$_4^{3-}$ 2p$_{3/2}$, ``"CO3/PO4"`` ->
    CO$_3^{2-}$/PO$_4^{3-}$; the nitrogen environments ``"Na"`` and ``"Nb"`` become
    N$_\\mathrm{a}$ and N$_\\mathrm{b}$ (never the symbol of sodium); other names (NBO,
    Li metal) are kept.

    Parameters
    ----------
    state
        A state name of the xps step's tables.

    Returns
    -------
    str
        Matplotlib text (mathtext for the sub- and superscripts).
    """
    words = []
    for word in state.split():
        level = re.fullmatch(r"(\d)([spdf])(\d)/(\d)", word)
        if level:
            words.append(f"{level[1]}{level[2]}$_{{{level[3]}/{level[4]}}}$")
            continue
        environment = re.fullmatch(r"N([a-z])", word)
        if environment:
            words.append(f"N$_\\mathrm{{{environment[1]}}}$")
            continue
        words.append("/".join(_species_label(part) for part in word.split("/")))
    return " ".join(words)


def _species_label(species: str) -> str:
    """One species: a charged ion (``NO2-``, a known polyatomic ion) or a neutral formula."""
    charged = re.fullmatch(r"(.*\d)(\d?[-+])", species)
    if charged:
        return style.formula(f"{charged[1]}^{charged[2]}")
    if species in ION_CHARGES:
        return style.formula(f"{species}^{ION_CHARGES[species]}")
    return style.formula(species)


# ------------------------------------------------------------------ Figure 4
@dataclass(frozen=True)
class Stack:
    """The net spectra of one region, placed at their etch depth.

    ``offset`` maps net counts to the drawn height: a spectrum at depth ``d`` is drawn at
    ``d - offset * net`` (depth increases downward, lines rise upward).
    """

    binding_eV: list[np.ndarray]
    net: list[np.ndarray]
    depths: np.ndarray
    offset: float

    def drawn(self, index: int) -> np.ndarray:
        """The drawn vertical position of spectrum ``index``."""
        return self.depths[index] - self.offset * self.net[index]

    def top(self, index: int, binding_eV: float) -> float:
        """The drawn height of spectrum ``index`` at ``binding_eV`` (its line's peak when that is its centre)."""
        x = self.binding_eV[index]
        order = np.argsort(x)
        return float(np.interp(binding_eV, x[order], self.drawn(index)[order]))


def stack(spectra: np.ndarray, region: str, depths: np.ndarray) -> Stack:
    """Net spectra (counts minus background) of ``region`` at each etch depth, scaled so
    that the strongest rises :data:`STACK_PEAK_STEPS` etch steps above its own depth.

    Parameters
    ----------
    spectra
        The ``profile_spectra`` table (depth, region, binding_eV, counts, background).
    region
        E.g. ``"N 1s"``.
    depths
        The etch depths, ascending.

    Returns
    -------
    Stack
    """
    rows = spectra[spectra["region"] == region]
    xs, nets = [], []
    for depth in depths:
        mask = rows["depth"] == depth
        xs.append(np.asarray(rows["binding_eV"][mask], dtype=float))
        nets.append(np.asarray(rows["counts"][mask] - rows["background"][mask], dtype=float))
    spacing = float(np.diff(depths).min()) if depths.size > 1 else 1.0
    strongest = max((float(n.max()) for n in nets if n.size), default=1.0)
    return Stack(xs, nets, np.asarray(depths, dtype=float), STACK_PEAK_STEPS * spacing / max(strongest, 1.0))


def phase_labels(stack_: Stack, region: str, lines: np.ndarray, onset_depth: float | None) -> list[tuple[str, float, float]]:
    """Which phase to name where in a region's panel: (label, binding energy, drawn height).

    At the surface the O 1s components of the first etch step are named (carbonate and
    oxide); N 1s and P 2p are named at their onset, at the peak of the onset spectrum.
    Positions come from the fitted centres and the drawn spectra, so they follow the data.

    Parameters
    ----------
    stack_
        The region's drawn spectra (:func:`stack`).
    region
        The region of the panel.
    lines
        The ``profile_lines`` table (depth, region, state, centre_eV, area, sigma_eV).
    onset_depth
        The region's onset depth, or None (no onset, or a region without one).

    Returns
    -------
    list of (label, binding energy in eV, drawn height)
        The point each label names (a line's peak in the drawing).
    """
    named = []
    first = stack_.depths[0]
    for row in lines[(lines["region"] == region) & (lines["depth"] == first)]:
        phase = SURFACE_PHASES.get((region, str(row["state"])))
        if phase:
            named.append((style.formula(phase), float(row["centre_eV"]), stack_.top(0, float(row["centre_eV"]))))
    if region in ONSET_PHASES and onset_depth is not None and onset_depth in stack_.depths:
        index = int(np.flatnonzero(stack_.depths == onset_depth)[0])
        peak = float(stack_.binding_eV[index][np.argmax(stack_.net[index])])
        named.append((f"{ONSET_PHASES[region]}\nonset {onset_depth:g}", peak, stack_.top(index, peak)))
    return named


def draw_stack(ax: Axes, stack_: Stack, region: str, onset_depth: float | None,
               labels: Sequence[tuple[str, float, float]]) -> None:
    """One region's spectra at their etch depths, the onset spectrum in black, phases named.

    Drawing the spectra at their depth makes an onset read as the depth where a line
    first rises out of the stack.  The phase labels sit in a strip above the highest
    spectrum, with a dotted leader down to the line they name, so no spectrum strikes
    them; two or more labels open away from each other.

    Parameters
    ----------
    ax
        The panel.
    stack_
        The region's spectra (:func:`stack`).
    region
        The panel title.
    onset_depth
        The spectrum drawn bold, or None.
    labels
        (label, binding energy, drawn height) from :func:`phase_labels`.
    """
    from matplotlib import colormaps
    from matplotlib.transforms import blended_transform_factory

    colours = colormaps["viridis"](np.linspace(0.0, 0.9, stack_.depths.size))
    for index, (depth, colour) in enumerate(zip(stack_.depths, colours)):
        bold = onset_depth is not None and depth == onset_depth
        ax.plot(stack_.binding_eV[index], stack_.drawn(index), color="k" if bold else colour,
                lw=1.0 if bold else 0.5, zorder=3 if bold else 2)
    ax.set_title(region)
    low = min(float(x.min()) for x in stack_.binding_eV)
    high = max(float(x.max()) for x in stack_.binding_eV)
    ax.set_xlim(high, low)
    ax.set_xlabel("Binding energy (eV)")
    text_at = blended_transform_factory(ax.transData, ax.transAxes)
    ordered = sorted(labels, key=lambda label: -label[1])  # left to right on a reversed axis
    for position, (text, energy, height) in enumerate(ordered):
        ha, relpos = "center", (0.5, 0.0)
        if len(ordered) > 1 and position == 0:
            ha, relpos = "right", (1.0, 0.0)
        elif len(ordered) > 1 and position == len(ordered) - 1:
            ha, relpos = "left", (0.0, 0.0)
        ax.annotate(text, xy=(energy, height), xycoords="data", xytext=(energy, 0.985), textcoords=text_at,
                    ha=ha, va="top", linespacing=1.1,
                    arrowprops={"arrowstyle": "-", "linestyle": ":", "lw": 0.6, "color": "0.3",
                                "relpos": relpos, "shrinkA": 0.5, "shrinkB": 1.5})


def stack_limits(stacks: Sequence[Stack]) -> tuple[float, float]:
    """Shared depth limits (bottom, top) of the panels: a spacing below the deepest
    spectrum, and above the highest drawn line a strip of :data:`LABEL_HEADROOM` of the
    panel for the phase labels.

    Depth grows downward, so the limits are given for ``ax.set_ylim(bottom, top)`` with
    ``bottom > top``; every panel of Figure 4 shares them, so one depth axis reads across.

    Parameters
    ----------
    stacks
        The drawn spectra of every panel (:func:`stack`), all on the same etch depths
        (the first stack's are used).  The spacing below the deepest spectrum is the
        smallest step between depths (1 for a single depth); the highest drawn point is
        taken over every non-empty spectrum of every stack.

    Returns
    -------
    tuple of (float, float)
        ``(bottom, top)`` in etch-depth units (a.u.): the deepest depth plus one spacing,
        and a top above the highest drawn point such that the strip above that point is
        :data:`LABEL_HEADROOM` of the whole panel height.
    """
    depths = stacks[0].depths
    spacing = float(np.diff(depths).min()) if depths.size > 1 else 1.0
    bottom = float(depths.max()) + spacing
    highest = min(float(s.drawn(i).min()) for s in stacks for i in range(s.depths.size) if s.net[i].size)
    top = highest - (bottom - highest) * LABEL_HEADROOM / (1.0 - LABEL_HEADROOM)
    return bottom, top


def depth_ticks(depths: np.ndarray, bins: int = 5) -> np.ndarray:
    """Round etch depths from the surface to the deepest step, for the depth axis.

    Ticks stop at the shallowest and deepest etch steps, so none lands in the label
    strip :func:`stack_limits` keeps above the surface, nor in the spacing below the
    deepest spectrum.

    Parameters
    ----------
    depths
        The etch depths of the profile (a.u.), in any order.
    bins
        The most intervals between ticks (matplotlib's ``MaxNLocator(nbins=...)``), with
        tick steps of 1, 2, 2.5 or 5 times a power of ten.

    Returns
    -------
    numpy.ndarray
        Ascending tick depths within ``[depths.min(), depths.max()]`` (a tolerance of
        1e-9 keeps end ticks that fall on the extremes).
    """
    from matplotlib.ticker import MaxNLocator

    low, high = float(depths.min()), float(depths.max())
    ticks = MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
    return ticks[(ticks >= low - 1e-9) & (ticks <= high + 1e-9)]


def compose_depth_profile(spectra: np.ndarray, onsets: np.ndarray, lines: np.ndarray, plt: ModuleType) -> Figure:
    """Figure 4: O 1s, N 1s, P 2p and Li 1s side by side on one depth axis (double column).

    Parameters
    ----------
    spectra
        The ``profile_spectra`` table.
    onsets
        The ``onsets`` table (region, onset_depth).
    lines
        The ``profile_lines`` table (fitted centres that place the surface labels).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = style.figure(plt, "double", 100.0)
    axes = fig.subplots(1, len(PROFILE_PANELS), sharey=True)
    depths = np.unique(spectra["depth"]).astype(float)
    onset_depth = {str(row["region"]): float(row["onset_depth"]) for row in np.atleast_1d(onsets)}
    stacks = [stack(spectra, region, depths) for region in PROFILE_PANELS]
    bottom, top = stack_limits(stacks)
    axes[0].set_ylim(bottom, top)
    axes[0].set_yticks(depth_ticks(depths))  # none in the label strip above the surface
    for ax, region, stack_ in zip(axes, PROFILE_PANELS, stacks):
        onset = onset_depth.get(region)
        draw_stack(ax, stack_, region, onset, phase_labels(stack_, region, lines, onset))
    for ax in axes[1:]:
        ax.tick_params(labelleft=False)
    axes[0].set_ylabel("Etch depth (a.u.)")
    return fig


# ------------------------------------------------------------------ Figure S8
def count_scale(maximum: float) -> int:
    """The power of ten (a multiple of three) a panel's counts are divided by, so its ticks read below 1000.

    The reference regions span 2 x 10^5 (Li 1s) to 5 x 10^6 counts (O 1s) at their peaks:
    one factor of 10^3 for all would print ticks up to 5000 "x 10^3", which reads as an
    error; each panel instead takes the engineering power that keeps its peak in 1-1000.

    Parameters
    ----------
    maximum
        The panel's largest count (positive).

    Returns
    -------
    int
        0, 3, 6, ...: the exponent printed in the axis label.
    """
    if not maximum > 0:
        raise ValueError(f"largest count {maximum}: must be positive")
    return max(0, 3 * int(np.floor(np.log10(maximum) / 3)))


def count_label(exponent: int) -> str:
    """The counts axis label for :func:`count_scale`'s exponent.

    Parameters
    ----------
    exponent
        The power of ten the panel's counts were divided by (0: not scaled).

    Returns
    -------
    str
        ``Counts (10$^{6}$)`` for 6, plain ``Counts`` for 0 (mathtext).
    """
    return f"Counts (10$^{{{exponent}}}$)" if exponent else "Counts"


def draw_reference(ax: Axes, curves: np.ndarray, lines: np.ndarray, region: str) -> None:
    """One region of the reference film: counts, Shirley background, components, envelope.

    The components' legend (each with its fitted centre) sits to the right of the panel,
    outside the data.  Counts are divided by the power of ten :func:`count_scale` picks
    for the region's largest count, which the axis label states.

    Parameters
    ----------
    ax
        The panel.
    curves
        The ``reference_curves`` table (region, curve, binding_eV, value).
    lines
        The ``reference_lines`` table (region, state, centre_eV, area, sigma_eV).
    region
        E.g. ``"N 1s"``.
    """
    rows = curves[curves["region"] == region]
    exponent = count_scale(float(np.max(rows[rows["curve"] == "counts"]["value"])))

    def curve(name: str) -> tuple[np.ndarray, np.ndarray]:
        chosen = rows[rows["curve"] == name]
        return np.asarray(chosen["binding_eV"], dtype=float), np.asarray(chosen["value"], dtype=float) / 10.0**exponent

    x, counts = curve("counts")
    ax.plot(x, counts, "o", ms=1.3, mew=0, color="0.45", label="data", zorder=5)  # over the envelope, not under it
    bx, background = curve("background")
    ax.plot(bx, background, "--", color="0.3", lw=0.6, label="Shirley background", zorder=3)
    colours = [style.PALETTE[name] for name in ("blue", "vermillion", "green", "orange", "purple")]
    components = []
    for colour, state in zip(colours, lines[lines["region"] == region]):
        cx, value = curve(str(state["state"]))
        components.append(ax.fill_between(cx, background, value, alpha=0.45, color=colour, lw=0, zorder=2,
                                          label=f"{component_label(str(state['state']))}, "
                                                f"{state['centre_eV']:.1f} eV"))
    ex, envelope = curve("envelope")
    ax.plot(ex, envelope, color="k", lw=0.7, label="envelope", zorder=4)
    ax.set_xlim(x.max(), x.min())
    ax.set_title(region)
    ax.set_xlabel("Binding energy (eV)")
    ax.set_ylabel(count_label(exponent))
    ax.legend(handles=components, loc="upper left", bbox_to_anchor=(1.0, 1.0), borderaxespad=0.3,
              handlelength=1.2)


def compose_reference(curves: np.ndarray, lines: np.ndarray, plt: ModuleType) -> Figure:
    """Figure S8: the four regions of the LiPON reference in a 2 x 2 grid (double column),
    one legend for what every panel shares above them.

    Parameters
    ----------
    curves, lines
        The ``reference_curves`` and ``reference_lines`` tables.
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = style.figure(plt, "double", 100.0)
    axes = fig.subplot_mosaic([["A", "B"], ["C", "D"]])
    for letter, region in zip("ABCD", PROFILE_PANELS):
        draw_reference(axes[letter], curves, lines, region)
    shared = [h for h in axes["A"].get_lines()]  # data, background, envelope
    fig.legend(handles=shared, loc="outside upper center", ncol=len(shared), markerscale=2.0)
    style.label_panels(fig, axes)
    return fig


# ------------------------------------------------------------------ Figure S9
def draw_atomic_percent(ax: Axes, table: np.ndarray, elements: Sequence[str]) -> None:
    """Atomic % of ``elements`` against etch depth, each in its element colour.

    Parameters
    ----------
    ax
        The panel.
    table
        The ``atomic_percent`` table (depth and one column per element).
    elements
        Which columns to draw.
    """
    for element in elements:
        ax.plot(table["depth"], table[element], "o-", ms=2.0, lw=0.8, color=style.ELEMENT_COLOURS[element],
                label=element)
    ax.set_xlabel("Etch depth (a.u.)")
    ax.set_ylabel("Concentration (at.%)")
    ax.set_ylim(0.0, 1.05 * max(float(table[e].max()) for e in elements))


def compose_atomic_percent(table: np.ndarray, plt: ModuleType) -> Figure:
    """Figure S9: (A) every element against depth; (B) O, N and P on their own scale
    (one-and-a-half columns), one legend above both.

    The second panel exists because Li and C dominate the first and flatten the
    minority elements whose onsets the text discusses.

    Parameters
    ----------
    table
        The ``atomic_percent`` table.
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = style.figure(plt, "one-and-half", 55.0)
    axes = fig.subplot_mosaic([["A", "B"]])
    draw_atomic_percent(axes["A"], table, ATOMIC_ELEMENTS)
    draw_atomic_percent(axes["B"], table, ZOOM_ELEMENTS)
    fig.legend(handles=axes["A"].get_lines(), loc="outside upper center", ncol=len(ATOMIC_ELEMENTS))
    style.label_panels(fig, axes)
    return fig


# ------------------------------------------------------------------ edge
def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figures 4, S8 and S9.

    Parameters
    ----------
    inputs
        ``profile_spectra``, ``profile_lines``, ``onsets``, ``reference_curves``,
        ``reference_lines`` and ``atomic_percent`` (tables of the xps step) and ``style``
        (the paper's style sheet).
    outputs
        ``fig4``, ``figS8``, ``figS9``.
    """
    plt = style.pyplot(inputs["style"])
    style.save(compose_depth_profile(datatable.read(inputs["profile_spectra"]), datatable.read(inputs["onsets"]),
                                     datatable.read(inputs["profile_lines"]), plt), outputs["fig4"])
    style.save(compose_reference(datatable.read(inputs["reference_curves"]), datatable.read(inputs["reference_lines"]),
                                 plt), outputs["figS8"])
    style.save(compose_atomic_percent(datatable.read(inputs["atomic_percent"]), plt), outputs["figS9"])
    plt.close("all")

"""Figure 2 (cryo-HRTEM of the interphase) and Figure 6 (the multilayer-mosaic schematic),
each composed whole at its printed size.

Figure 2 (double width): (A) the image of region 1 with the layer boundaries the analysis
placed, the four areas whose spectra follow marked as squares a-d, and the power spectrum
of the whole image beside it (right of the image, covering none of it); (B, D, F, H) the
power spectrum of each area with one reflection of each phase the layer holds circled and
named; (C, E, G, I) the segmented crystallites outlined on each area, the scale bar where
no outline crosses it; (J) the depth of each layer in every imaged region (one image each);
(K) the mean thickness of each layer with its range over the regions, the layers named by
their phases.

Figure 6 (double width): the interphase drawn to scale from the HRTEM tables (layer means,
column spacing, crystallite sizes, layer compositions), with the lithium chemical potential
falling from the Li metal to LiPON.

Plotting is a step of its own: restyling a figure never reruns the HRTEM analysis, and
nothing here changes a computed number.  What the figures compute for themselves (where
the regions sit, which reflection to name, where a label fits) are pure functions below,
tested on their own.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis import datatable, style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text

#: The three layers the paper reports, named by the phases they hold (the number keys
#: ``hrtem.layer_li_li2o_nm`` ... name them the same way); area d of Figure 2 is amorphous LiPON.
LAYER_PHASES = (("Li", "Li2O"), ("Li", "Li2O", "Li3N"), ("Li2O", "Li3N", "Li3PO4"))
REGION_PHASES = (*LAYER_PHASES, ())
#: Each layer takes the colour of the phase it adds to the one before, so J, K and the
#: legend of Figure 6 read alike.
LAYER_COLOURS = tuple(style.PHASE_COLOURS[p] for p in ("Li2O", "Li3N", "Li3PO4"))
#: Side of a region square: at least several periods of the coarsest reference fringe
#: (about 4 Å) and two columns of crystallites, at most a crystallite field that still
#: fits inside the thinnest layer of most regions.
REGION_SIDE_NM = (8.0, 20.0)
#: The band of the overview's rows the area squares sit in, as fractions of its height:
#: clear of the scale bar at the bottom, with room for the areas' letters above.  (The
#: band is the one the areas were first chosen in, when the whole-image spectrum covered
#: the top of the image; kept, so the areas and their spectra stay the same.)
AREA_BAND = (0.40, 0.86)
#: The areas of Figure 2 (squares on the image, one per layer and one in LiPON) are named
#: by lower-case letters, so they are not confused with the numbered imaged regions of panel J.
AREA_NAMES = ("a", "b", "c", "d")
#: Height of the whole-image spectrum beside panel A, as a fraction of the image's height.
SPECTRUM_FRACTION = 0.5
#: Two reflections within this many frequency steps of a region's spectrum cannot be
#: told apart in it (the same rule as the supplement's reflection table).
AMBIGUITY_STEPS = 2.0
#: The spectra are shown out to this factor beyond the finest reference reflection.
Q_VIEW_MARGIN = 1.12
#: Appended to a ring's label when every reflection of its phase in view overlaps another
#: present phase's ring: the ring alone does not identify the phase (the caption says so).
AMBIGUOUS_MARK = "*"


# ------------------------------------------------------------------ pure computations
def layer_name(phases: Sequence[str], joiner: str = " + ") -> str:
    """A layer as the paper names it, by its phases, with formula subscripts (``Li + Li$_2$O``).

    Parameters
    ----------
    phases
        The layer's phases as plain formulas (an entry of :data:`LAYER_PHASES`); empty for
        the amorphous region, which is named ``"LiPON"``.
    joiner
        Text between the phase names: ``" + "`` for titles and legends, ``"\\n"`` to stack
        them on K's axis, one per line.

    Returns
    -------
    str
        The mathtext label (:func:`analysis.style.formula` of each phase, joined).
    """
    return joiner.join(style.formula(p) for p in phases) if phases else "LiPON"


def zone_edges_px(boundaries_nm: np.ndarray, pixel_nm: float, columns: int) -> np.ndarray:
    """Column edges of the three layers and of LiPON (to the image's right edge), in pixels.

    Parameters
    ----------
    boundaries_nm
        The four boundaries of the region (interphase start, two inner, interphase end).
    pixel_nm
        Pixel size (nm).
    columns
        Width of the image (pixels).

    Returns
    -------
    numpy.ndarray
        Five edges: the layers lie between consecutive edges, LiPON between the last two.
    """
    return np.r_[np.asarray(boundaries_nm, float) / pixel_nm, float(columns)]


def region_squares(boundaries_nm: np.ndarray, pixel_nm: float, shape: tuple[int, int],
                   free_rows: tuple[int, int],
                   side_nm: tuple[float, float] = REGION_SIDE_NM) -> list[tuple[int, int, int]]:
    """Where the four areas (a-d) of Figure 2 lie: one square in the middle of each layer and of LiPON.

    All four have one side, so their spectra have one frequency step and their crops one
    scale: the thinnest zone's width, kept within ``side_nm`` and within the free band of
    rows, and even (so a spectrum has a centre pixel).  Every square lies inside the image.

    Parameters
    ----------
    boundaries_nm
        The region's four layer boundaries (nm).
    pixel_nm
        Pixel size (nm).
    shape
        Image shape (rows, columns).
    free_rows
        First and last row (exclusive) the squares may use.
    side_nm
        Smallest and largest side (nm).

    Returns
    -------
    list of (int, int, int)
        First row, first column and side (pixels) of areas a-d.

    Raises
    ------
    ValueError
        The free band is empty or the image is narrower than a square.
    """
    rows, cols = shape
    top, bottom = free_rows
    if not 0 <= top < bottom <= rows:
        raise ValueError(f"free rows {free_rows} do not lie in an image of {rows} rows")
    edges = zone_edges_px(boundaries_nm, pixel_nm, cols)
    widths = np.diff(edges)
    side = float(np.clip(widths.min(), side_nm[0] / pixel_nm, side_nm[1] / pixel_nm))
    side = int(min(side, bottom - top, cols)) // 2 * 2
    if side < 2:
        raise ValueError("no room for a region square")
    row0 = top + (bottom - top - side) // 2
    centres = (edges[:-1] + edges[1:]) / 2
    return [(row0, int(np.clip(np.rint(c - side / 2), 0, cols - side)), side) for c in centres]


def power_spectrum(crop: np.ndarray, size: int | None = None) -> np.ndarray:
    """Centred power spectrum of a Hann-windowed crop, zero-padded to a ``size`` square.

    Padding a non-square crop to a square gives the same frequency step along both axes,
    so the reference rings are circles.

    Parameters
    ----------
    crop
        The image crop (rows x columns).
    size
        Side of the padded square; the crop's larger side by default.

    Returns
    -------
    numpy.ndarray
        ``size x size`` power, zero frequency at ``(size // 2, size // 2)``.
    """
    rows, cols = crop.shape
    size = size or max(rows, cols)
    tapered = (crop - crop.mean()) * np.outer(np.hanning(rows), np.hanning(cols))
    return np.fft.fftshift(np.abs(np.fft.fft2(tapered, s=(size, size))) ** 2)


def ring_contrast(power: np.ndarray, radius_px: float, half_window: int = 5) -> float:
    """How bright a ring is where the reader looks: its brightest spot above the local background.

    A crystallite gives a few spots on a reflection's ring, not a uniform ring, so the
    brightest pixel within a pixel of the ring is taken, less the median of the annulus
    around it (the diffuse background, which is high at low frequencies and would
    otherwise favour any ring near the centre).  An absolute excess, not a ratio: a ratio
    favours the faint outer rings, where the background fades towards zero.

    Parameters
    ----------
    power
        A centred square spectrum (:func:`power_spectrum`).
    radius_px
        The ring's radius (pixels of the spectrum).
    half_window
        Half-width (pixels) of the annulus whose median is the local background; wide
        against a spot (one or two pixels), narrow against the background's slope.

    Returns
    -------
    float
        Brightest power on the ring less the local median; 0 for a ring outside the spectrum.
    """
    size = power.shape[0]
    if not 1 <= radius_px < size // 2 - 1:
        return 0.0
    y, x = np.indices(power.shape) - size // 2
    distance = np.abs(np.hypot(x, y) - radius_px)
    return float(power[distance <= 1.0].max() - np.median(power[distance <= half_window]))


def named_reflections(power: np.ndarray, q_step: float, rings: Sequence[tuple[str, str, float]],
                      phases: Sequence[str], q_max: float,
                      ambiguity_steps: float = AMBIGUITY_STEPS) -> list[tuple[str, str, float, bool]]:
    """One reflection per phase to name on a region's spectrum: the brightest that identifies it.

    A reflection within ``ambiguity_steps`` frequency steps of another phase's (of the
    same region) does not tell its phase apart, so each phase is named by its brightest
    (:func:`ring_contrast`) unambiguous reflection in view; only if it has none, by its
    brightest, flagged as ambiguous (the figure marks it with :data:`AMBIGUOUS_MARK`).

    Parameters
    ----------
    power
        The region's centred spectrum (:func:`power_spectrum`).
    q_step
        Frequency step of the spectrum (1/Å per pixel).
    rings
        Reference reflections as ``(phase, label, q in 1/Å)``.
    phases
        The phases the region's layer holds.
    q_max
        The largest frequency shown (1/Å).
    ambiguity_steps
        Frequency steps within which two reflections are confusable.

    Returns
    -------
    list of (str, str, float, bool)
        ``(phase, label, q, ambiguous)`` in the order of ``phases``; ``ambiguous`` is True
        when no reflection of the phase in view is clear of the other phases' rings.
        Empty for an amorphous region.
    """
    named = []
    for phase in phases:
        own = [r for r in rings if r[0] == phase and r[2] < q_max]
        others = [r for r in rings if r[0] != phase and r[0] in phases]
        clear = [r for r in own if all(abs(r[2] - o[2]) >= ambiguity_steps * q_step for o in others)]
        candidates = clear or own
        if candidates:
            best = max(candidates, key=lambda r: ring_contrast(power, r[2] / q_step))
            named.append((*best[:3], not clear))
    return named


def hkl_label(label: str) -> str:
    """``'Li2O (111)'`` from the tables -> ``'Li$_2$O (111)'`` for the figure.

    Parameters
    ----------
    label
        A reference ring's label as the HRTEM step's ``reference_rings`` table gives it:
        the phase's plain formula, a space, then the Miller indices.

    Returns
    -------
    str
        The same label with the formula typeset (:func:`analysis.style.formula`); the
        indices are kept as written.
    """
    phase, _, hkl = label.partition(" ")
    return f"{style.formula(phase)} {hkl}".strip()


def mosaic_layout(means_nm: np.ndarray, spacing_nm: float, height_nm: float) -> list[np.ndarray]:
    """Centres of the crystallites drawn in each layer of Figure 6: columns at the measured spacing.

    Each layer holds as many columns as its mean thickness has column spacings (at least
    one), spread evenly across it; each column holds rows at the same spacing.

    Parameters
    ----------
    means_nm
        Mean thickness of each layer (nm).
    spacing_nm
        Mean distance between columns of crystallites (nm).
    height_nm
        Height of the drawn slab (nm).

    Returns
    -------
    list of numpy.ndarray
        Per layer, an (n, 2) array of (depth, height) centres (nm), depth from the interphase start.
    """
    edges = np.r_[0.0, np.cumsum(means_nm)]
    rows = np.arange(spacing_nm / 2, height_nm - spacing_nm / 4, spacing_nm)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        n = max(1, int(round((hi - lo) / spacing_nm)))
        cols = lo + (np.arange(n) + 0.5) * (hi - lo) / n
        out.append(np.array([(c, r) for c in cols for r in rows]))
    return out


def crystallite_counts(weights: Sequence[float], n: int) -> np.ndarray:
    """How many of a layer's ``n`` drawn crystallites each of its phases gets: in proportion, none left out.

    Every phase the layer holds gets at least one crystallite (a layer named by three
    phases shows all three), the rest in proportion to the weights by largest remainders,
    so the counts add up to ``n`` and no phase is lost to a random draw.

    Parameters
    ----------
    weights
        The layer's measured weight of each of its phases (negative weights count as 0;
        all zero means equal shares).
    n
        Number of crystallites drawn in the layer.

    Returns
    -------
    numpy.ndarray
        One non-negative count per phase, summing to ``n``; each at least 1 when
        ``n >= len(weights)`` (else the ``n`` largest weights get one each).
    """
    w = np.clip(np.asarray(weights, float), 0.0, None)
    k = w.size
    if k == 0 or n <= 0:
        return np.zeros(k, int)
    w = w / w.sum() if w.sum() > 0 else np.full(k, 1.0 / k)
    order = np.argsort(-w, kind="stable")
    if n < k:
        counts = np.zeros(k, int)
        counts[order[:n]] = 1
        return counts
    share = 1 + w * (n - k)                  # one each, the rest in proportion
    counts = np.floor(share).astype(int)
    remainder = share - counts
    for i in np.argsort(-remainder, kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    return counts


# ------------------------------------------------------------------ label placement
def _overlaps(a: Any, b: Any, pad: float = 1.0) -> bool:
    return a.x0 < b.x1 + pad and b.x0 < a.x1 + pad and a.y0 < b.y1 + pad and b.y0 < a.y1 + pad


def place_ring_labels(ax: Axes, centre: tuple[float, float], rings: Sequence[tuple[str, float, str]]) -> list[Text]:
    """Name rings drawn on a spectrum, each label at the first angle where it touches no other label.

    Tried in turn: the four diagonals, the four axes and four shallow angles, first with the
    label just outside its ring (extending away from the centre), then just inside it.  A
    label must stay inside the panel; one that fits nowhere is left out (never overprinted).

    Parameters
    ----------
    ax
        The spectrum's axes (data units are spectrum pixels), laid out already.
    centre
        The zero frequency (pixels).
    rings
        ``(label, radius in pixels, colour)`` of each ring.

    Returns
    -------
    list of matplotlib.text.Text
        The labels placed.
    """
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    placed: list[Text] = []
    boxes = []
    angles = np.deg2rad([45, 135, 225, 315, 90, 270, 0, 180, 20, 160, 200, 340])
    tries = [(angle, way) for way in (1, -1) for angle in angles]
    for label, radius, colour in rings:
        for angle, way in tries:
            c, s = np.cos(angle), -np.sin(angle)   # rows grow downwards on an image
            h, v = way * np.sign(round(c, 3)), way * np.sign(round(s, 3))   # outward (1) or inward (-1)
            ha = "left" if h > 0 and abs(c) > 0.3 else "right" if h < 0 and abs(c) > 0.3 else "center"
            va = "top" if v > 0 and abs(s) > 0.3 else "bottom" if v < 0 and abs(s) > 0.3 else "center"
            text = ax.annotate(label, (centre[0] + radius * c, centre[1] + radius * s),
                               xytext=(2.5 * h, -2.5 * v), textcoords="offset points", ha=ha, va=va, fontsize=6,
                               bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": colour, "lw": 0.8,
                                     "alpha": 0.85})
            box = text.get_window_extent(renderer).expanded(1.1, 1.2)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            if inside and not any(_overlaps(box, b) for b in boxes):
                placed.append(text)
                boxes.append(box)
                break
            text.remove()
    return placed


# ------------------------------------------------------------------ panels
def draw_overview(ax: Axes, image: np.ndarray, pixel_nm: float, boundaries_nm: np.ndarray,
                  squares: Sequence[tuple[int, int, int]], whole_power: np.ndarray) -> None:
    """Panel A: the image, its layer boundaries, the four areas and the whole-image spectrum.

    The boundaries are those the analysis placed (dashed), so the reader sees on the image
    itself where each layer begins; each area is a square lettered a-d (:data:`AREA_NAMES`),
    and the zones are named under the image (bulk Li, the interphase, LiPON).  The
    whole-image spectrum sits beside the image, top-aligned, so it hides none of it.

    Parameters
    ----------
    ax
        Panel A.
    image
        The region's HRTEM image (rows x columns), depth running left to right.
    pixel_nm
        Pixel size of the image (nm), for the scale bar and to place the boundaries.
    boundaries_nm
        The analysis's four layer boundaries (interphase start, two inner, interphase
        end), in nm from the image's left edge.
    squares
        ``(first row, first column, side)`` in pixels of areas a-d
        (:func:`region_squares`), drawn and lettered in that order.
    whole_power
        The log-scaled centre of the whole image's power spectrum (:func:`_view`), shown
        right of the image.
    """
    rows, cols = image.shape
    style.show_micrograph(ax, image, pixel_nm)
    edges = zone_edges_px(boundaries_nm, pixel_nm, cols)
    for edge in edges[:-1]:
        ax.axvline(edge, color="white", lw=0.6, ls=(0, (3, 2)))
    for name, (r0, c0, side) in zip(AREA_NAMES, squares):
        ax.add_patch(_square(ax, r0, c0, side))
        ax.annotate(name, (c0 + side / 2, r0), xytext=(0, 1.5), textcoords="offset points",
                    ha="center", va="bottom", color="white", fontsize=7, fontweight="bold")
    below = {"Li": (0.0, edges[0]), "interphase": (edges[0], edges[3]), "LiPON": (edges[3], edges[4])}
    for name, (lo, hi) in below.items():
        ax.annotate(name, ((lo + hi) / 2, rows), xytext=(0, -2), textcoords="offset points",
                    ha="center", va="top", fontsize=7, annotation_clip=False)
    # the interphase's extent under the image, between its first and last boundary
    ax.annotate("", (edges[0], rows), xytext=(edges[3], rows), textcoords="data",
                arrowprops={"arrowstyle": "|-|", "lw": 0.6, "mutation_scale": 2, "shrinkA": 0, "shrinkB": 0},
                annotation_clip=False)
    height = SPECTRUM_FRACTION
    width = height * rows / cols
    inset = ax.inset_axes([1.02, 1 - height, width, height])
    _show_spectrum(inset, whole_power)
    for spine in inset.spines.values():
        spine.set_visible(True)
        spine.set_color("white")
        spine.set_linewidth(0.6)
    inset.annotate("FFT", (0.04, 0.96), xycoords="axes fraction", ha="left", va="top", color="white", fontsize=6)


def _square(ax: Axes, r0: int, c0: int, side: int):
    from matplotlib.patches import Rectangle

    return Rectangle((c0 - 0.5, r0 - 0.5), side, side, fill=False, ec="white", lw=0.8)


def _view(power: np.ndarray, q_step: float, q_view: float) -> np.ndarray:
    """The centre of a spectrum out to ``q_view`` (1/Å), log-scaled for display."""
    size = power.shape[0]
    half = int(min(size // 2, np.ceil(q_view / q_step)))
    centre = size // 2
    return np.log(power[centre - half: centre + half + 1, centre - half: centre + half + 1] + 1e-12)


def _show_spectrum(ax: Axes, log_power: np.ndarray) -> None:
    lo, hi = np.percentile(log_power, [50, 99.9])
    ax.imshow(log_power, cmap="gray", vmin=lo, vmax=hi, interpolation="antialiased")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def draw_spectrum(ax: Axes, crop: np.ndarray, pixel_A: float, rings: Sequence[tuple[str, str, float]],
                  phases: Sequence[str], q_view: float) -> list[tuple[str, float, str]]:
    """Panels B, D, F, H: a region's power spectrum with one named ring per phase of its layer.

    The spectrum is shown out to ``q_view``; a reciprocal scale bar (nm⁻¹) gives its scale.
    The rings are the reference reflections :func:`named_reflections` picks from the
    region's own radial profile, so each label names a ring the reader can see; a label
    ending in :data:`AMBIGUOUS_MARK` names a ring that another present phase's ring
    overlaps, because none of its phase's reflections is clear of them.

    Parameters
    ----------
    ax
        The spectrum's panel.
    crop
        The region's square crop of the image (:func:`region_squares`).
    pixel_A
        Pixel size of the image (Å); with the crop's side it sets the frequency step.
    rings
        Reference reflections as ``(phase, label, q in 1/Å)``, from the HRTEM step's
        ``reference_rings`` table.
    phases
        The phases the region's layer holds (an entry of :data:`REGION_PHASES`); empty
        for amorphous LiPON, whose spectrum is marked "diffuse ring only".
    q_view
        The largest frequency shown (1/Å), the same for all four regions so their
        spectra share a scale.

    Returns
    -------
    list of (str, float, str)
        ``(label, radius in displayed pixels, colour)`` of each ring, for
        :func:`place_ring_labels` once the figure is laid out.
    """
    from matplotlib.patches import Circle

    side = crop.shape[0]
    power = power_spectrum(crop)
    q_step = 1.0 / (side * pixel_A)
    shown = _view(power, q_step, q_view)
    _show_spectrum(ax, shown)
    centre = shown.shape[0] // 2
    drawn = []
    for phase, label, q, ambiguous in named_reflections(power, q_step, rings, phases, q_view):
        colour = style.PHASE_COLOURS[phase]
        ax.add_patch(Circle((centre, centre), q / q_step, fill=False, ec=colour, lw=0.6, ls=(0, (3, 2))))
        drawn.append((hkl_label(label) + (AMBIGUOUS_MARK if ambiguous else ""), q / q_step, colour))
    if not drawn:
        ax.annotate("diffuse ring only", (0.5, 0.04), xycoords="axes fraction", ha="center", va="bottom",
                    color="white", fontsize=6)
    length = style.nice_length_nm(10 * q_view)        # nm⁻¹: 1/Å is 10 nm⁻¹
    style.add_scale_bar(ax, length / (10 * q_step), f"{length:g} nm$^{{-1}}$", "lower right",
                        thickness=max(0.5, shown.shape[0] / 60), fontsize=6, pad=0.3)
    return drawn


#: Where a crystallite panel's scale bar may go, in the order preferred on a tie.
SCALE_BAR_PLACES = ("lower right", "lower left", "upper right", "upper left", "lower center", "upper center",
                    "center right", "center left")


def crystallite_pixels(mask: np.ndarray) -> np.ndarray:
    """The pixels a scale bar must not cover: crystallites and their outlines.

    Parameters
    ----------
    mask
        Segmented crystallites (True inside one).

    Returns
    -------
    numpy.ndarray
        Boolean array of the mask's shape: the mask grown by one pixel (the outline, drawn at
        the edge between a True and a False pixel, runs through its rim).  All False for a
        mask that outlines nothing (all True or all False).
    """
    from scipy import ndimage

    mask = np.asarray(mask, bool)
    if mask.all() or not mask.any():
        return np.zeros(mask.shape, bool)
    return ndimage.binary_dilation(mask)


def clearest_place(occupied: np.ndarray, boxes: Mapping[str, tuple[float, float, float, float]]) -> str:
    """The place whose box covers the fewest crystallite pixels; on a tie, the one listed first.

    Parameters
    ----------
    occupied
        :func:`crystallite_pixels` of the crop.
    boxes
        Place -> box ``(x0, x1, y0, y1)`` the scale bar and its label would cover, in the
        crop's pixel coordinates (columns, rows; clipped to the crop), in order of preference.

    Returns
    -------
    str
        The chosen place.
    """
    rows, cols = occupied.shape

    def hits(box: tuple[float, float, float, float]) -> int:
        x0, x1, y0, y1 = box
        c0, c1 = max(0, int(np.floor(min(x0, x1)))), min(cols, int(np.ceil(max(x0, x1))) + 1)
        r0, r1 = max(0, int(np.floor(min(y0, y1)))), min(rows, int(np.ceil(max(y0, y1))) + 1)
        return int(occupied[r0:r1, c0:c1].sum())

    order = list(boxes)
    return min(order, key=lambda p: (hits(boxes[p]), order.index(p)))


def place_scale_bar(ax: Axes, mask: np.ndarray, margin_px: float = 1.5, steps: int = 13) -> str:
    """Move a crystallite panel's scale bar into the matrix, where no outline crosses it (or the fewest do).

    Tried in turn: the places of :data:`SCALE_BAR_PLACES`, then a grid of positions over
    the crop, nearest an edge first.  Each is judged by the bar's real extent (bar and
    label, once the figure is laid out, less the box's padding plus ``margin_px``), and the
    first that covers the fewest :func:`crystallite_pixels` (crystallites and outlines) is kept.

    Parameters
    ----------
    ax
        The panel, holding its scale bar (the last anchored artist :func:`analysis.style.show_micrograph` added).
    mask
        The crop's segmented crystallites.
    margin_px
        Clearance kept between the bar's ink and an outline (crop pixels).
    steps
        Grid positions along each side of the crop.

    Returns
    -------
    str
        The place chosen: a name of :data:`SCALE_BAR_PLACES`, or ``"x,y"`` (the bar's
        centre in crop pixels).
    """
    from matplotlib.offsetbox import AnchoredOffsetbox

    bar = [a for a in ax.artists if isinstance(a, AnchoredOffsetbox)][-1]
    renderer = ax.figure.canvas.get_renderer()
    to_data = ax.transData.inverted()
    pad = bar.pad * renderer.points_to_pixels(bar.prop.get_size_in_points())

    def ink(extent) -> tuple[float, float, float, float]:
        (x0, y0), (x1, y1) = to_data.transform([(extent.x0 + pad, extent.y0 + pad), (extent.x1 - pad, extent.y1 - pad)])
        x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
        return x0 - margin_px, x1 + margin_px, y0 - margin_px, y1 + margin_px

    boxes = {}
    for place in SCALE_BAR_PLACES:
        bar.loc = AnchoredOffsetbox.codes[place]
        boxes[place] = ink(bar.get_window_extent(renderer))
    x0, x1, y0, y1 = boxes[SCALE_BAR_PLACES[0]]
    half_w, half_h = (x1 - x0) / 2, (y1 - y0) / 2
    rows, cols = mask.shape
    inset = pad * cols / ax.get_window_extent(renderer).width - margin_px   # as far from the edge as a named place
    grid = [(x, y) for x in np.linspace(half_w - 0.5 + inset, cols - 0.5 - half_w - inset, steps)
            for y in np.linspace(half_h - 0.5 + inset, rows - 0.5 - half_h - inset, steps)]
    grid.sort(key=lambda c: min(c[0] + 0.5, cols - 0.5 - c[0], c[1] + 0.5, rows - 0.5 - c[1]))
    for x, y in grid:
        boxes[f"{x:.1f},{y:.1f}"] = (x - half_w, x + half_w, y - half_h, y + half_h)
    chosen = clearest_place(crystallite_pixels(mask), boxes)
    if chosen in SCALE_BAR_PLACES:
        bar.loc = AnchoredOffsetbox.codes[chosen]
    else:
        bar.loc = AnchoredOffsetbox.codes["center"]
        bar.set_bbox_to_anchor(tuple(float(v) for v in chosen.split(",")), transform=ax.transData)
    return chosen


def draw_outlines(ax: Axes, crop: np.ndarray, mask: np.ndarray, pixel_nm: float) -> None:
    """Panels C, E, G, I: an area with its segmented crystallites outlined (what the size range counts).

    The scale bar is drawn at the lower right; once the figure is laid out,
    :func:`place_scale_bar` moves it into the matrix, where no outline crosses it.

    Parameters
    ----------
    ax
        The area's crystallite panel.
    crop
        The area's square crop of the image.
    mask
        The segmented crystallites over the same crop (True inside one); outlined at the
        mask's edge, and nothing is outlined when it is all True or all False.
    pixel_nm
        Pixel size (nm), for the scale bar.
    """
    style.show_micrograph(ax, crop, pixel_nm)
    if mask.any() and not mask.all():
        ax.contour(mask.astype(float), levels=[0.5], colors=style.PALETTE["yellow"], linewidths=0.6)


def draw_layer_depths(ax: Axes, layers: np.ndarray) -> None:
    """Panel J: each layer's depth range in every region, stacked from the interphase start.

    The scatter between regions behind the quoted means; the legend sits above the panel.

    Parameters
    ----------
    ax
        Panel J.
    layers
        The HRTEM step's per-region layer table: ``region`` (number, one bar row each,
        region 1 on top) and ``layer1_nm``, ``layer2_nm``, ``layer3_nm`` (each layer's
        thickness, nm), stacked left to right in the order of :data:`LAYER_PHASES`.
    """
    regions = layers["region"].astype(int)
    left = np.zeros(regions.size)
    for k, phases in enumerate(LAYER_PHASES, start=1):
        width = layers[f"layer{k}_nm"]
        ax.barh(regions, width, left=left, height=0.7, color=LAYER_COLOURS[k - 1], edgecolor="black", lw=0.4,
                label=layer_name(phases))
        left = left + width
    ax.set_ylim(regions.max() + 0.6, regions.min() - 0.6)
    ax.set_yticks(regions)
    ax.set_xlim(0, left.max() * 1.02)
    ax.set_xlabel("Depth from the interphase start (nm)")
    ax.set_ylabel("Region")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(LAYER_PHASES), borderaxespad=0.2,
              handlelength=1.2, columnspacing=1.2)


def draw_layer_means(ax: Axes, summary: np.ndarray) -> None:
    """Panel K: mean thickness of each layer with its min-max range over the regions.

    The layers are named on the axis by their phases, one per line, and each mean is
    printed above its range bar.

    Parameters
    ----------
    ax
        Panel K.
    summary
        The HRTEM step's layer summary, one row per layer: ``layer`` (1-3, naming the
        bar by :data:`LAYER_PHASES`), ``mean_nm`` (bar height), and ``min_nm`` and
        ``max_nm`` (the range over the regions, drawn as error bars), all in nm.
    """
    x = np.arange(summary.size)
    means, low, high = summary["mean_nm"], summary["min_nm"], summary["max_nm"]
    ax.bar(x, means, width=0.65, color=LAYER_COLOURS[: x.size], edgecolor="black", lw=0.4)
    ax.errorbar(x, means, yerr=[means - low, high - means], fmt="none", ecolor="black", capsize=2.5, lw=0.7)
    for xi, mean, top in zip(x, means, high):
        ax.annotate(f"{mean:.1f}", (xi, top), xytext=(0, 1.5), textcoords="offset points", ha="center",
                    va="bottom", fontsize=6.5)
    ax.set_xticks(x, [layer_name(LAYER_PHASES[int(k) - 1], "\n") for k in summary["layer"]])
    ax.set_ylim(0, high.max() * 1.15)
    ax.set_ylabel("Mean thickness (nm)")


# ------------------------------------------------------------------ Figure 2
FIG2_HEIGHT_MM = 196.0


def _crop(array: np.ndarray, square: tuple[int, int, int]) -> np.ndarray:
    r0, c0, side = square
    return array[r0:r0 + side, c0:c0 + side]


def compose_fig2(region: Mapping[str, np.ndarray], refs: np.ndarray, layers: np.ndarray, summary: np.ndarray,
                 plt) -> Figure:
    """Figure 2 at double width: A and K on top, the four spectra, the four crystallite fields, J.

    Parameters
    ----------
    region
        Arrays of the region Figure 2 shows (``image``, ``pixel_A``, ``boundaries_nm``, ``mask``).
    refs
        Reference rings (``label``, ``d_A``).
    layers
        Per-region layer table (``region``, ``layer1_nm`` ...).
    summary
        Layer summary (``layer``, ``mean_nm``, ``min_nm``, ``max_nm``).
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    image, mask = np.asarray(region["image"], float), np.asarray(region["mask"], bool)
    pixel_A = float(region["pixel_A"])
    rows, cols = image.shape
    free = (int(np.ceil(rows * AREA_BAND[0])), int(rows * AREA_BAND[1]))
    squares = region_squares(region["boundaries_nm"], pixel_A / 10, image.shape, free)
    rings = [(str(label).split(" ")[0], str(label), 1.0 / float(d)) for label, d in zip(refs["label"], refs["d_A"])]
    q_view = Q_VIEW_MARGIN * max(q for _, _, q in rings)

    fig = style.figure(plt, "double", FIG2_HEIGHT_MM)
    grid = fig.add_gridspec(4, 4, height_ratios=[1.9, 1, 1, 0.8])
    top = grid[0, :].subgridspec(1, 2, width_ratios=[3.6, 1.0])
    ax_a, ax_k = fig.add_subplot(top[0, 0]), fig.add_subplot(top[0, 1])
    spectra = [fig.add_subplot(grid[1, i]) for i in range(4)]
    fields = [fig.add_subplot(grid[2, i]) for i in range(4)]
    ax_j = fig.add_subplot(grid[3, :])

    whole = power_spectrum(image, max(rows, cols))
    draw_overview(ax_a, image, pixel_A / 10, region["boundaries_nm"], squares,
                  _view(whole, 1.0 / (max(rows, cols) * pixel_A), q_view))
    pending = []
    for name, ax_s, ax_f, square, phases in zip(AREA_NAMES, spectra, fields, squares, REGION_PHASES):
        pending.append((ax_s, draw_spectrum(ax_s, _crop(image, square), pixel_A, rings, phases, q_view)))
        ax_s.set_title(f"Area {name}: {layer_name(phases) if phases else 'LiPON (amorphous)'}", fontsize=6.5)
        draw_outlines(ax_f, _crop(image, square), _crop(mask, square), pixel_A / 10)
    draw_layer_depths(ax_j, layers)
    draw_layer_means(ax_k, summary)

    fig.canvas.draw()  # lay the panels out first: ring labels and scale bars are placed at their final size
    for ax_s, drawn in pending:
        half = ax_s.images[0].get_array().shape[0] // 2
        place_ring_labels(ax_s, (half, half), drawn)
    for ax_f, square in zip(fields, squares):
        place_scale_bar(ax_f, _crop(mask, square))
    style.label_panels(fig, dict(zip("ABCDEFGHIJK", [ax_a, spectra[0], fields[0], spectra[1], fields[1],
                                                      spectra[2], fields[2], spectra[3], fields[3], ax_j, ax_k])))
    return fig


# ------------------------------------------------------------------ Figure 6
#: Room around the drawing (mm): across (margins) and down (axis, its label, the legend);
#: the figure's height follows the drawing's aspect so that it fills the width.
FIG6_MARGINS_MM = (6.0, 24.0)
#: Width of the bulk Li and the LiPON drawn beside the interphase, as fractions of its
#: thickness (decoration: both extend far beyond the drawing).
SIDE_FRACTIONS = (0.18, 0.24)
#: Height of the drawn slab, in column spacings.
SLAB_COLUMNS = 5
#: The drawing's height over the slab's: room for the layer dimensions and the chemical-potential arrow.
DRAWING_HEIGHT = 1.4


def draw_mosaic(ax: Axes, summary: np.ndarray, spacing_nm: float, diameters_nm: np.ndarray,
                composition: np.ndarray, seed: int = 6) -> None:
    """Figure 6: the interphase to scale, crystallites in an amorphous matrix, the chemical-potential gradient.

    Layer thicknesses are the measured means; crystallite columns sit at the measured
    column spacing; each crystallite's diameter is drawn from the measured diameters; the
    phases of a layer's crystallites are counted in proportion to its measured composition,
    every phase the layer holds at least once (:func:`crystallite_counts`).  Only which
    position holds which phase and size is random (``seed``); it changes no count or size.

    Parameters
    ----------
    ax
        The axes (depth and height in nm, equal aspect).
    summary
        Layer summary (``layer``, ``mean_nm``, ...).
    spacing_nm
        Mean column spacing over the regions (nm).
    diameters_nm
        Measured crystallite diameters (nm).
    composition
        Mean layer composition (``layer`` 0 = bulk Li, 1-3, one column per phase).
    seed
        Seed of the placement.
    """
    from matplotlib.patches import Circle, Rectangle

    rng = np.random.default_rng(seed)
    means = np.asarray(summary["mean_nm"], float)
    total = means.sum()
    edges = np.r_[0.0, np.cumsum(means)]
    li, lipon = (f * total for f in SIDE_FRACTIONS)
    height = SLAB_COLUMNS * spacing_nm
    ax.add_patch(Rectangle((-li, 0), li, height, fc=style.PHASE_COLOURS["Li"], ec="none"))
    slab = ax.add_patch(Rectangle((0, 0), total, height, fc="#F4F4F4", ec="none"))
    ax.add_patch(Rectangle((total, 0), lipon, height, fc=style.PHASE_COLOURS["LiPON"], alpha=0.35, ec="none"))
    for edge in edges:
        ax.plot([edge, edge], [0, height], color="black", lw=0.5, ls=(0, (3, 2)))
    ax.add_patch(Rectangle((-li, 0), li + total + lipon, height, fill=False, ec="black", lw=0.6))
    jitter = 0.08 * spacing_nm
    for k, (centres, phases) in enumerate(zip(mosaic_layout(means, spacing_nm, height), LAYER_PHASES), start=1):
        row = composition[composition["layer"] == k]
        weights = [float(row[p][0]) for p in phases] if row.size else [1.0] * len(phases)
        drawn = np.repeat(np.arange(len(phases)), crystallite_counts(weights, len(centres)))
        for (x, y), index in zip(centres, rng.permutation(drawn)):
            phase = phases[index]
            radius = min(float(rng.choice(diameters_nm)), 0.95 * spacing_nm) / 2
            crystal = ax.add_patch(Circle((x + rng.uniform(-jitter, jitter), y + rng.uniform(-jitter, jitter)),
                                          radius, fc=style.PHASE_COLOURS[phase], ec="black", lw=0.3))
            crystal.set_clip_path(slab)
    for lo, hi in zip(edges[:-1], edges[1:]):
        ax.annotate("", (lo, height), xytext=(hi, height), textcoords="data",
                    arrowprops={"arrowstyle": "<->", "lw": 0.5, "mutation_scale": 5, "shrinkA": 0, "shrinkB": 0})
        ax.annotate(f"{hi - lo:.1f} nm", ((lo + hi) / 2, height), xytext=(0, 1.5), textcoords="offset points",
                    ha="center", va="bottom", fontsize=6.5)
    ax.annotate("Li metal", (-li / 2, height / 2), ha="center", va="center", rotation=90, fontsize=7)
    ax.annotate("LiPON (amorphous)", (total + lipon / 2, height / 2), ha="center", va="center", rotation=90,
                fontsize=7)
    # the lithium chemical potential: high in the metal, falling across the interphase to LiPON
    _mu_arrow(ax, -li, total + lipon, height * 1.23, 0.045 * height, 0.03 * total)
    ax.set_xlim(-li, total + lipon + 0.01 * total)
    ax.set_ylim(0, height * DRAWING_HEIGHT)
    ax.set_aspect("equal")
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ticks = np.arange(0, total + 1e-9, style.nice_length_nm(total * 5 / 4))
    ax.set_xticks(ticks)
    ax.spines["bottom"].set_bounds(0, ticks[-1])
    ax.set_xlabel("Depth from the interphase start (nm)")


def _mu_arrow(ax: Axes, x0: float, x1: float, y: float, half_width: float, head: float) -> None:
    """A shaded arrow from ``x0`` to ``x1`` at height ``y``: dark where the Li chemical
    potential is high (the metal), pale where it is low (LiPON), labelled at both ends and
    in the middle."""
    from matplotlib.patches import Polygon

    body_end = x1 - head
    ramp = np.linspace(1.0, 0.0, 256)[None, :]
    shape = Polygon([(x0, y - half_width), (body_end, y - half_width), (body_end, y - 1.8 * half_width),
                     (x1, y), (body_end, y + 1.8 * half_width), (body_end, y + half_width), (x0, y + half_width)],
                    closed=True, fill=False, ec="black", lw=0.5)
    ax.add_patch(shape)
    shaded = ax.imshow(ramp, extent=(x0, x1, y - 1.8 * half_width, y + 1.8 * half_width), cmap=_ramp_colours(),
                       vmin=0, vmax=1, aspect="auto", interpolation="bilinear")
    shaded.set_clip_path(shape)
    ax.annotate(r"high $\mu_\mathrm{Li}$ (Li metal)", (x0, y + half_width), xytext=(0, 1.5),
                textcoords="offset points", ha="left", va="bottom", fontsize=6.5)
    ax.annotate(r"low $\mu_\mathrm{Li}$ (LiPON)", (body_end, y + half_width), xytext=(-2, 1.5),
                textcoords="offset points", ha="right", va="bottom", fontsize=6.5)
    ax.annotate(r"Li chemical potential $\mu_\mathrm{Li}$ falls across the interphase",
                ((x0 + body_end) / 2, y + half_width), xytext=(0, 1.5), textcoords="offset points", ha="center",
                va="bottom", fontsize=6.5)


def _ramp_colours():
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("mu_li", ["#F7ECF2", style.PALETTE["purple"]])


def compose_fig6(summary: np.ndarray, layers: np.ndarray, diameters_nm: np.ndarray, composition: np.ndarray,
                 plt) -> Figure:
    """Figure 6 at double width: the schematic with a legend of the crystallite phases under it.

    Parameters
    ----------
    summary
        Layer summary (``layer``, ``mean_nm``, ``min_nm``, ``max_nm``).
    layers
        Per-region layer table (its ``column_spacing_nm`` sets the crystallite columns).
    diameters_nm
        Measured crystallite diameters (nm).
    composition
        Mean layer composition table.
    plt
        ``matplotlib.pyplot`` with the paper's style.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.lines import Line2D

    spacing = float(np.mean(layers["column_spacing_nm"]))
    total = float(np.sum(summary["mean_nm"]))
    aspect = DRAWING_HEIGHT * SLAB_COLUMNS * spacing / ((1.01 + sum(SIDE_FRACTIONS)) * total)   # drawing height / width
    height_mm = min(FIG6_MARGINS_MM[1] + aspect * (style.WIDTHS_MM["double"] - FIG6_MARGINS_MM[0]), 150.0)
    fig = style.figure(plt, "double", height_mm)
    ax = fig.add_subplot()
    draw_mosaic(ax, summary, spacing, np.asarray(diameters_nm, float), composition)
    phases = [p for p in style.PHASE_COLOURS if any(p in layer for layer in LAYER_PHASES)]
    handles = [Line2D([], [], marker="o", ls="", markersize=5, markerfacecolor=style.PHASE_COLOURS[p],
                      markeredgecolor="black", markeredgewidth=0.3, label=style.formula(p)) for p in phases]
    handles.append(Line2D([], [], marker="s", ls="", markersize=5, markerfacecolor="#F4F4F4",
                          markeredgecolor="black", markeredgewidth=0.3, label="amorphous matrix"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), title="Crystallites",
               title_fontsize=6.5)
    return fig


# ------------------------------------------------------------------ step edge
def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> None:
    """Draw Figures 2 and 6 from the HRTEM step's tables.

    Parameters
    ----------
    inputs
        ``region1`` (arrays of the region Figure 2 shows), ``reference_rings``,
        ``layer_summary``, ``layers``, ``crystallites``, ``layer_composition`` (tables of
        the hrtem step) and ``style``.
    outputs
        ``fig2`` and ``fig6``.
    """
    plt = style.pyplot(inputs["style"])
    with np.load(inputs["region1"], allow_pickle=False) as data:
        region = dict(data)
    refs = datatable.read(inputs["reference_rings"])
    summary = datatable.read(inputs["layer_summary"])
    layers = datatable.read(inputs["layers"])
    style.save(compose_fig2(region, refs, layers, summary, plt), outputs["fig2"])
    style.save(compose_fig6(summary, layers, datatable.read(inputs["crystallites"])["diameter_nm"],
                            datatable.read(inputs["layer_composition"]), plt), outputs["fig6"])
    plt.close("all")

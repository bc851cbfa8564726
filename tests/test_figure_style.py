"""The figure rules every figure is held to: printed size, text size, no colliding or clipped text.

``analysis.style.save`` refuses a figure that breaks them, so these tests protect the
check itself; each figure step's test shows its own figures pass it.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis import style
from paperbuild.paths import PROJECT_ROOT

STYLE_SHEET = PROJECT_ROOT / "analysis" / "paper.mplstyle"


@pytest.fixture(scope="module")
def plt():
    return style.pyplot(STYLE_SHEET)


def _two_panels(plt, width="single", height_mm=50.0):
    fig = style.figure(plt, width, height_mm)
    axes = fig.subplot_mosaic([["A", "B"]])
    for ax in axes.values():
        ax.plot([0, 1], [0, 2])
        ax.set_xlabel("Depth (nm)")
        ax.set_ylabel("Counts")
    return fig, axes


def test_a_clean_figure_has_no_faults_and_is_saved_at_its_printed_size(plt, tmp_path):
    fig, axes = _two_panels(plt)
    style.label_panels(fig, axes)
    assert style.layout_faults(fig) == []
    out = tmp_path / "clean.svg"
    style.save(fig, out)
    assert style.svg_size_mm(out) == pytest.approx((style.WIDTHS_MM["single"], 50.0), abs=0.1)


def test_overlapping_texts_are_named_and_nothing_is_written(plt, tmp_path):
    fig, axes = _two_panels(plt)
    axes["A"].text(0.5, 1.0, "Li2O layer")
    axes["A"].text(0.55, 1.0, "Li3N layer")
    faults = style.layout_faults(fig)
    assert any("'Li2O layer'" in f and "'Li3N layer'" in f and "overlap" in f for f in faults)
    out = tmp_path / "bad.svg"
    with pytest.raises(style.FigureLayoutError, match="bad.svg: .*overlap"):
        style.save(fig, out)
    assert not out.exists()


def test_text_leaving_the_canvas_is_a_fault(plt):
    fig, axes = _two_panels(plt)
    fig.text(0.97, 0.5, "off the page")  # figure text is not moved by the layout engine
    assert any("'off the page' leaves the canvas" in f for f in style.layout_faults(fig))


@pytest.mark.parametrize("size", [5.0, 9.0])
def test_text_outside_six_to_eight_points_is_a_fault(plt, size):
    fig, axes = _two_panels(plt)
    axes["A"].set_title("title", fontsize=size)
    assert any(f"'title' is {size:g} pt" in f for f in style.layout_faults(fig))


def test_ticks_outside_the_view_do_not_count(plt):
    """Only drawn text counts: tick labels matplotlib computes but does not draw are ignored."""
    fig, axes = _two_panels(plt)
    axes["A"].set_xlim(0.4, 0.6)
    assert style.layout_faults(fig) == []


def test_size_rules(plt):
    with pytest.raises(ValueError, match="width 'wide'"):
        style.figure(plt, "wide", 50)
    with pytest.raises(ValueError, match="226 mm"):
        style.figure(plt, "double", 226)
    fig = plt.figure(figsize=(100 / 25.4, 50 / 25.4))
    fig.add_subplot().plot([0, 1])
    assert any("not a column width" in f for f in style.layout_faults(fig))
    plt.close(fig)


def test_panel_letters_sit_left_of_the_labels_and_at_one_height(plt):
    fig, axes = _two_panels(plt)
    style.label_panels(fig, axes)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    letters = {t.get_text(): t for ax in axes.values() for t in ax.texts if t.get_text() in axes}
    assert set(letters) == {"A", "B"}
    for name, ax in axes.items():
        letter_box = letters[name].get_window_extent(renderer)
        label_box = ax.yaxis.label.get_window_extent(renderer)
        assert letter_box.x0 <= label_box.x0 + 0.5  # aligned with the panel's outer left edge
        assert letter_box.y0 >= ax.get_window_extent(renderer).y1  # above the plotting area
    assert letters["A"].get_window_extent(renderer).y0 == pytest.approx(letters["B"].get_window_extent(renderer).y0)
    assert style.layout_faults(fig) == []


def rasterize(fig, dpi: float = 600.0):
    """The figure as it prints: RGB (0-1) of a PNG at ``dpi``, rows top down."""
    import io

    import matplotlib.image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    buffer.seek(0)
    return matplotlib.image.imread(buffer, format="png")[..., :3]


def inner_runs(mask):
    """Horizontal runs of True in each row of ``mask`` that touch neither side: (row, start, length)."""
    import numpy as np

    runs = []
    for row, line in enumerate(mask):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], line.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2]):
            if start > 0 and stop < line.size:
                runs.append((row, int(start), int(stop - start)))
    return runs


def printed_scale_bar_mm(grey, box, dpi: float = 600.0) -> float:
    """The printed length (mm) of the white scale bar inside the image at ``box`` (rows, cols slices).

    The bar is the longest run of white pixels that touches neither side of the image
    (a band of the image as bright as the bar spans the whole width; the label's glyphs
    are shorter)."""
    runs = inner_runs(grey[box] > 0.5)
    return max(length for _, _, length in runs) * 25.4 / dpi


@pytest.mark.parametrize("shape, height_mm", [((60, 100), 30.0), ((100, 60), 80.0), ((64, 64), 45.0)])
def test_micrographs_print_square_pixels_and_a_scale_bar_as_long_as_its_label(plt, shape, height_mm):
    """In the printed figure an image pixel is as tall as it is wide, whatever the panel's shape,
    and the scale bar measured with a ruler is its label's length at that scale (a bar's outline
    would lengthen it by its stroke, a free aspect would stretch one direction)."""
    import numpy as np

    dpi, pixel_nm = 600.0, 7.0
    fig = style.figure(plt, "single", height_mm)
    ax = fig.add_subplot()
    image = np.zeros(shape)
    image[0, 0] = 1.0  # the grey scale spans black to white; the rest of the image is black
    style.show_micrograph(ax, image, pixel_nm)
    grey = rasterize(fig, dpi).mean(axis=2)
    rows, cols = np.nonzero(grey < 0.5)
    box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    mm_per_px_x = (cols.max() - cols.min() + 1) * 25.4 / dpi / shape[1]
    mm_per_px_y = (rows.max() - rows.min() + 1) * 25.4 / dpi / shape[0]
    assert mm_per_px_y == pytest.approx(mm_per_px_x, rel=0.005)
    bar_px = style.nice_length_nm(shape[1] * pixel_nm) / pixel_nm
    ruler = 2 * 25.4 / dpi  # two printed pixels: anti-aliasing at both ends
    assert printed_scale_bar_mm(grey, box, dpi) == pytest.approx(bar_px * mm_per_px_x, abs=ruler)
    plt.close(fig)


def test_clip_ids_are_numbered_in_order_so_equal_drawings_give_equal_bytes():
    one = '<g clip-path="url(#p0123456789)"/><g clip-path="url(#pabcdefabcd)"/><clipPath id="p0123456789"/>'
    other = '<g clip-path="url(#p9999999999)"/><g clip-path="url(#p1111111111)"/><clipPath id="p9999999999"/>'
    assert style.stable_clip_ids(one) == style.stable_clip_ids(other) == (
        '<g clip-path="url(#clip1)"/><g clip-path="url(#clip2)"/><clipPath id="clip1"/>')


def test_svg_size_of_a_file_that_is_not_an_svg_is_refused(tmp_path):
    fake = tmp_path / "fake.svg"
    fake.write_text("<html></html>", encoding="utf-8")
    with pytest.raises(ValueError, match="fake.svg: not an SVG"):
        style.svg_size_mm(fake)


@pytest.mark.parametrize("text, printed", [
    ("Li2O", "Li$_{2}$O"),
    ("Li3PO4", "Li$_{3}$PO$_{4}$"),
    ("PO4^3-", "PO$_{4}^{3\u2212}$"),
    ("NO2^-", "NO$_{2}^{\u2212}$"),
    ("Li2.88PO3.44N0.31", "Li$_{2.88}$PO$_{3.44}$N$_{0.31}$"),
    ("Li", "Li"),
    ("region 3", "region 3"),
])
def test_formula_subscripts(text, printed):
    assert style.formula(text) == printed


def test_every_figure_of_the_registry_is_one_composed_svg():
    """One file per figure: the registry declares composed SVGs, no per-panel files."""
    from analysis.registry import STEPS

    figures = [rel for step in STEPS for key, rel in step.outputs.items() if rel.startswith("figures/")]
    assert figures
    for rel in figures:
        assert Path(rel).suffix == ".svg", rel
        assert re.fullmatch(r"figures/fig(S?\d+)_[a-z0-9_]+\.svg", rel), rel

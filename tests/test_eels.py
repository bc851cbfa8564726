"""EELS: Li2O share, peak reading, EMSA checks, the FEFF references of all three edges, Figure 3."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from analysis import datatable, eels, eels_figures, style
from analysis.registry import STEPS
from data.synth.microscope import li_k_reference
from paperbuild.errors import InputError
from paperbuild.paths import PROJECT_ROOT, Roots
from paperbuild.runner import Declared, run_step
from tests.conftest import make_tree
from analysis.style import svg_size_mm

CFG = {"li_k_peak_lipon_eV": 59.5, "li_k_peak_li2o_eV": 63.0}
STEP = next(s for s in STEPS if s.name == "eels")
FIGURE_STEP = next(s for s in STEPS if s.name == "eels_figures")
PARAMS = STEP.param_values()


def _run(raw, out):
    """The step's ``run`` on ``raw`` with the registry's inputs, outputs and parameters."""
    roots = Roots(raw=raw, build=out)
    outputs = {role: roots.build / rel for role, rel in STEP.outputs.items()}
    for path in outputs.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    return eels.run(Declared(STEP.name, "input", STEP.resolve_inputs(roots)),
                    Declared(STEP.name, "output", outputs), **PARAMS)


@pytest.mark.parametrize("share", [0.0, 0.3, 0.8])
def test_li2o_share_of_exact_mixture(share):
    """A noiseless mixture of the references on a power law gives back its share and its background."""
    grid = np.round(np.arange(50, 80, 0.02), 4)
    refs = {phase: (grid, li_k_reference(grid, phase, CFG)) for phase in ("Li2O", "LiPON")}
    energy = np.arange(40, 120, 0.1)
    background = 5e4 * (energy / 50) ** -3.2
    edge = 7e3 * (share * np.interp(energy, *refs["Li2O"]) + (1 - share) * np.interp(energy, *refs["LiPON"]))
    fit = eels.fit_li_k(energy, background + edge, refs["Li2O"], refs["LiPON"], (50, 72))
    assert fit.share == pytest.approx(share, abs=1e-4)
    assert fit.resolution_eV == pytest.approx(0.0, abs=0.02)
    inside = (energy >= 50) & (energy <= 72)
    np.testing.assert_allclose(fit.background[inside], background[inside], rtol=1e-3)


@pytest.mark.parametrize("resolution_eV", [0.2, 0.5])
def test_li2o_share_unbiased_under_blur_and_edge_tails(resolution_eV):
    """Issue 12: the share came out 0.01-0.02 too high in every realization.  Two causes: the
    pre-edge power law, fitted alone, absorbed the edges' own tails, and the sharp references
    were matched to an edge the spectrometer had blurred.  Fitting background and blurred
    references together recovers every share of a noise-free spectrum, and the blur."""
    from data.synth.microscope import eels_counts
    from data.synth.truth import load_truth

    cfg = dict(load_truth()["eels"], resolution_eV=resolution_eV)
    energy = cfg["energy_start_eV"] + np.arange(cfg["channels"]) * cfg["dispersion_eV"]
    grid = np.round(np.arange(50, 80, 0.02), 4)
    refs = {phase: (grid, li_k_reference(grid, phase, cfg)) for phase in ("Li2O", "LiPON")}

    class Noiseless:
        def poisson(self, expected):
            return expected

    for share, p_share in zip(cfg["li2o_fraction"], cfg["p_fraction"]):
        counts = eels_counts(energy, share, p_share, cfg, Noiseless())
        fit = eels.fit_li_k(energy, counts, refs["Li2O"], refs["LiPON"], (50, 72))
        assert fit.share == pytest.approx(share, abs=0.002)
        assert fit.resolution_eV == pytest.approx(resolution_eV, abs=0.02)


def test_two_strongest_peaks_sorted():
    """The two most prominent maxima come back in increasing energy, refined below a channel."""
    energy = np.arange(130, 150, 0.1)
    shape = lambda e: np.exp(-0.5 * ((e - 141.03) / 1.2) ** 2) + 0.9 * np.exp(-0.5 * ((e - 137.97) / 1.0) ** 2)
    fine = np.arange(130, 150, 0.0005)  # the maxima of the sum, which overlap shifts off the centres
    expected = [fine[(fine < 139.5)][np.argmax(shape(fine[fine < 139.5]))], fine[fine > 139.5][np.argmax(shape(fine[fine > 139.5]))]]
    found = eels.two_strongest_peaks(energy, shape(energy), (134, 146), prominence=PARAMS["p_peak_prominence"])
    np.testing.assert_allclose(found, expected, atol=0.01)


def test_smoothing_window_is_odd_and_long_enough_for_the_order():
    """A window narrower than the polynomial allows is widened; smoothing keeps a cubic exactly."""
    energy = np.arange(0, 10, 0.1)
    cubic = 0.01 * (energy - 5) ** 3
    np.testing.assert_allclose(eels.smooth(cubic, 0.1, window_eV=0.1, order=3), cubic, atol=1e-9)
    np.testing.assert_allclose(eels.smooth(cubic, 0.1, window_eV=1.5, order=3), cubic, atol=1e-9)


def test_point_spacing_is_the_median_step():
    """One misplaced point does not move the spacing."""
    xy = np.array([[0.0, 0.0], [12.0, 0.0], [24.0, 0.0], [36.0, 0.0], [60.0, 0.0]])
    assert eels.point_spacing_nm(xy) == pytest.approx(12.0)


def test_points_are_ordered_by_their_number(raw_tree):
    """Glob inputs arrive sorted by name (point_10 before point_2); points follow their numbers."""
    paths = sorted((raw_tree / "eels").glob("point_*.msa"), key=lambda p: p.name, reverse=True)
    assert [p.path.name for p in eels.read_points(paths)] == [f"point_{i}.msa" for i in range(1, len(paths) + 1)]


def test_numbers_reproduce_published_values(raw_tree, tmp_path, ledger):
    """Points, spacing and peak positions match the paper; the Li2O share falls toward LiPON."""
    returned = _run(raw_tree, tmp_path)
    numbers = {n.key: n.value for n in returned}
    share = next(n for n in returned if n.key == "eels.li2o_fraction")
    assert {p.parent.name for p in share.derived_from} == {"eels", "Li2O", "LiPON"}  # not Li3P, Li3PO4
    for key in ("eels.points", "eels.step_nm", "eels.li_k_peak1_eV", "eels.li_k_peak2_eV"):
        assert abs(numbers[key] - ledger[key]["published"]) <= ledger[key]["tolerance"], key
    np.testing.assert_allclose(numbers["eels.p_l_peaks_eV"], ledger["eels.p_l_peaks_eV"]["published"],
                               atol=ledger["eels.p_l_peaks_eV"]["tolerance"])
    assert np.all(np.diff(numbers["eels.li2o_fraction"]) < 0)


def test_numbers_follow_other_truth(tmp_path):
    """Other spacing and shares in the raw data move the numbers."""
    shares = [0.6, 0.5, 0.4, 0.3]
    raw = make_tree(tmp_path / "raw", {"eels": {"points": 4, "step_nm": 9.0, "li2o_fraction": shares,
                                                "p_fraction": [0.4, 0.6, 0.8, 1.0]}})
    numbers = {n.key: n.value for n in _run(raw, tmp_path / "out")}
    assert numbers["eels.points"] == 4 and numbers["eels.step_nm"] == pytest.approx(9.0)
    np.testing.assert_allclose(numbers["eels.li2o_fraction"], shares, atol=0.05)


def _copy(raw_tree, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(raw_tree, raw)
    return raw


def test_emsa_with_wrong_channel_count_is_refused(raw_tree, tmp_path):
    """An EMSA file whose data disagree with its NPOINTS stops the build, naming it."""
    raw = _copy(raw_tree, tmp_path)
    path = raw / "eels/point_3.msa"
    lines = path.read_text(encoding="latin-1").splitlines()
    data_end = next(i for i, line in enumerate(lines) if line.startswith("#ENDOFDATA"))
    del lines[data_end - 10:data_end]
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    with pytest.raises(InputError, match="declares 5600 channels but the file holds 5590") as caught:
        _run(raw, tmp_path / "out")
    assert caught.value.path.name == "point_3.msa"


def test_emsa_without_energy_calibration_is_refused(raw_tree, tmp_path):
    """An EMSA file without energy units stops the build."""
    raw = _copy(raw_tree, tmp_path)
    path = raw / "eels/point_2.msa"
    text = path.read_text(encoding="latin-1").replace("#XUNITS      : eV", "#XUNITS      : ")
    path.write_text(text, encoding="latin-1")
    with pytest.raises(InputError, match="no usable calibration") as caught:
        _run(raw, tmp_path / "out")
    assert caught.value.path.name == "point_2.msa"


def test_emsa_without_beam_position_is_refused(raw_tree, tmp_path):
    """Point spacing needs the beam positions; their absence is named."""
    raw = _copy(raw_tree, tmp_path)
    path = raw / "eels/point_1.msa"
    text = "\n".join(l for l in path.read_text(encoding="latin-1").splitlines() if "POSITION" not in l)
    path.write_text(text + "\n", encoding="latin-1")
    with pytest.raises(InputError, match="no beam position"):
        _run(raw, tmp_path / "out")


# ------------------------------------------------------------------ FEFF references of the P L2,3 and O K edges
def test_reference_tables_hold_every_edge_of_the_phases_that_have_it(raw_tree, tmp_path):
    """The P L2,3 and O K references are read like the Li K ones and tabulated over the ranges Fig 3B shows;
    a phase without the element has no column (Li2O no P, Li3P no O)."""
    _run(raw_tree, tmp_path)
    for role, phases, shown in (("p_references", eels.P_L23_PHASES, PARAMS["p_shown_eV"]),
                                ("o_references", eels.O_K_PHASES, PARAMS["o_shown_eV"])):
        table = datatable.read(tmp_path / STEP.outputs[role])
        assert table.dtype.names == ("energy_eV", *phases)
        assert table["energy_eV"][0] == pytest.approx(shown[0])
        assert table["energy_eV"][-1] == pytest.approx(shown[1] - PARAMS["reference_step_eV"])
        for phase in phases:
            raw_energy, raw_values = eels.read_reference(raw_tree / STEP.inputs[f"ref_{role[0]}_{phase}"].path)
            np.testing.assert_allclose(table[phase], np.interp(table["energy_eV"], raw_energy, raw_values), rtol=1e-5)
    assert "Li2O" not in eels.P_L23_PHASES and "Li3P" not in eels.O_K_PHASES


def test_reference_short_of_the_shown_range_is_refused(raw_tree, tmp_path):
    """A P L2,3 reference cut off inside the range Fig 3C draws stops the build, naming the file."""
    raw = _copy(raw_tree, tmp_path)
    path = raw / "eels/feff/Li3P/P_L23/eels.dat"
    lines = path.read_text(encoding="ascii").splitlines()
    path.write_text("\n".join(l for l in lines if l.startswith("#") or float(l.split()[0]) <= 150.0) + "\n",
                    encoding="ascii")
    with pytest.raises(InputError, match="covers 120[–-]150 eV") as caught:
        _run(raw, tmp_path / "out")
    assert caught.value.path == path


def test_peak_table_holds_the_quoted_peaks(raw_tree, tmp_path):
    """Fig 3B marks peaks I and II where the quoted numbers put them."""
    numbers = {n.key: n.value for n in _run(raw_tree, tmp_path)}
    peaks = datatable.read(tmp_path / STEP.outputs["peaks"])
    assert float(peaks["li_k_I_eV"]) == pytest.approx(numbers["eels.li_k_peak1_eV"], abs=1e-3)
    assert float(peaks["li_k_II_eV"]) == pytest.approx(numbers["eels.li_k_peak2_eV"], abs=1e-3)
    np.testing.assert_allclose([float(peaks["p_l_1_eV"]), float(peaks["p_l_2_eV"])], numbers["eels.p_l_peaks_eV"],
                               atol=0.01)


# ------------------------------------------------------------------ Figure 3
def _lab(colour: str) -> np.ndarray:
    """CIELAB (D65) of a colour, to judge by eye-like distances."""
    from matplotlib.colors import to_rgb

    rgb = np.array(to_rgb(colour))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    f = np.cbrt(np.where(xyz / [0.9505, 1.0, 1.089] > 0.008856, xyz / [0.9505, 1.0, 1.089], np.nan))
    f = np.where(np.isnan(f), 7.787 * xyz / [0.9505, 1.0, 1.089] + 16 / 116, f)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_point_colours_are_sequential_and_unlike_every_phase_colour():
    """Points wear a scheme of their own: distinct from each other (neighbours at least 15 CIELAB
    units apart, so 4 and 5 are no longer two near-identical oranges), lightness falling
    steadily from point 1 to the last, and none within 20 units of a phase colour of Figure 3C."""
    phases = [style.PHASE_COLOURS[p] for p in eels.PHASES]
    for n in (2, 4, 5, 7):
        colours = eels_figures.point_colours(n)
        lab = np.array([_lab(c) for c in colours])
        assert len(set(colours)) == n
        assert np.all(np.diff(lab[:, 0]) < 0)
        assert np.linalg.norm(np.diff(lab, axis=0), axis=1).min() > (15.0 if n <= 5 else 8.0)
        for colour in colours:
            assert min(np.linalg.norm(_lab(colour) - _lab(p)) for p in phases) > 20.0, colour
    with pytest.raises(ValueError, match="at least two"):
        eels_figures.point_colours(1)


def test_pale_phase_colours_get_a_dark_rim():
    """The yellow of Li3P (low contrast on white) is drawn with a darker rim; the others plainly."""
    assert eels_figures.relative_luminance("white") == pytest.approx(1.0)
    assert eels_figures.relative_luminance("black") == pytest.approx(0.0)
    assert eels_figures.line_effects(style.PHASE_COLOURS["Li3P"], 0.9)
    for phase in ("Li2O", "Li3PO4", "LiPON"):
        assert eels_figures.line_effects(style.PHASE_COLOURS[phase], 0.9) == []


def test_each_key_sits_beside_its_own_panels(raw_tree, tmp_path):
    """The key of A and B lies beside B (its top above B's bottom), the key of C beside C (below
    B); neither reuses the other's colours."""
    from matplotlib.colors import to_hex

    _figure_build(raw_tree, tmp_path)
    plt = style.pyplot(PROJECT_ROOT / FIGURE_STEP.inputs["style"].path)
    inputs = {role: tmp_path / spec.path for role, spec in FIGURE_STEP.inputs.items() if role != "style"}
    edges = {key: datatable.read(inputs[f"{key}_edges"]) for key, _, _ in eels_figures.EDGES}
    references = {"li": datatable.read(inputs["references"]), "p": datatable.read(inputs["p_references"]),
                  "o": datatable.read(inputs["o_references"])}
    fig = eels_figures.compose_figure3(np.load(inputs["df_eels_region"], allow_pickle=False),
                                       datatable.read(inputs["points"]), edges, datatable.read(inputs["li_fits"]),
                                       datatable.read(inputs["peaks"]), references, plt)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = {ax.get_legend().get_title().get_text()[:2]: ax.get_legend() for ax in fig.axes if ax.get_legend()}
    points_key = legends["A,"].get_window_extent(renderer)
    phases_key = legends["C:"].get_window_extent(renderer)
    b, c = (ax.get_window_extent(renderer) for ax in fig.axes if ax.get_title() == "Li K")
    assert b.y0 < points_key.y1 and points_key.y0 > c.y1 and points_key.x1 < b.x0    # left of B, above C
    assert c.y0 < phases_key.y1 < b.y0 and phases_key.x1 < c.x0                      # left of C, below B
    point_colours = {to_hex(h.get_color()) for h in legends["A,"].legend_handles[:-1]}
    phase_colours = {to_hex(h.get_color()) for h in legends["C:"].legend_handles}
    assert not point_colours & phase_colours
    assert phase_colours == {to_hex(style.PHASE_COLOURS[p]) for p in eels.PHASES}
    plt.close(fig)


@pytest.mark.parametrize("first, last, expected", [
    ((10, 50), (90, 50), (0.0, 5.0)),       # along x: numbers above
    ((90, 50), (10, 50), (0.0, 5.0)),       # acquired right to left: still above
    ((50, 10), (50, 90), (5.0, 0.0)),       # down the image: to the right
    ((10, 90), (90, 10), (3.5355, 3.5355)),  # up and to the right on the page: up-left normal flipped up
])
def test_point_numbers_sit_across_the_line_of_points(first, last, expected):
    """A number is offset perpendicular to the line (never onto a neighbour), on the upper side."""
    xy = np.array([first, last], dtype=float)
    dx, dy = eels_figures.label_offset_pt(xy, 5.0)
    assert np.hypot(dx, dy) == pytest.approx(5.0)
    page_direction = np.array([xy[1, 0] - xy[0, 0], -(xy[1, 1] - xy[0, 1])])
    assert np.dot(page_direction, (dx, dy)) == pytest.approx(0.0, abs=1e-9)
    assert abs(dx) == pytest.approx(abs(expected[0]), abs=1e-3) and dy == pytest.approx(expected[1], abs=1e-3)
    with pytest.raises(ValueError, match="coincide"):
        eels_figures.label_offset_pt(np.array([first, first], dtype=float), 5.0)


def test_stacked_spectra_clear_their_neighbours():
    """Offset by the computed step, each spectrum lies above the one below it (noise spikes aside)."""
    rng = np.random.default_rng(7)
    energy = np.linspace(50, 80, 300)
    curves = [a * np.exp(-0.5 * ((energy - c) / 2) ** 2) + rng.normal(0, 0.02 * a, energy.size)
              for a, c in ((1.0, 63), (3.0, 60), (0.5, 58), (2.0, 61))]
    step = eels_figures.stack_step(curves)
    for i in range(len(curves) - 1):
        assert np.quantile(curves[i + 1] + (i + 1) * step, 0.01) >= np.quantile(curves[i] + i * step, 0.99) - 1e-12
    smaller = 0.9 * step  # and the step is no larger than it needs to be
    assert any(np.quantile(curves[i + 1] + (i + 1) * smaller, 0.01) < np.quantile(curves[i] + i * smaller, 0.99)
               for i in range(len(curves) - 1))


def test_tail_level_is_the_median_of_the_last_tenth():
    energy = np.linspace(0, 10, 101)
    curve = np.where(energy >= 9.0, 2.0, 7.0)
    assert eels_figures.tail_level(energy, curve) == pytest.approx(2.0)


def _figure_build(raw, build):
    """The steps Figure 3 needs, run as the build runs them, into ``build``."""
    from analysis.registry import STEPS as ALL

    roots = Roots(raw=raw, build=build)
    for name in ("eels", "micrographs", "eels_figures"):
        run_step(next(s for s in ALL if s.name == name), roots)
    return build / next(s for s in ALL if s.name == "eels_figures").outputs["fig3"]


def test_figure3_is_one_composed_svg_at_double_column_width(raw_tree, tmp_path):
    """The step writes Figure 3 as one SVG, 174 mm wide, as tall as composed, and nothing else."""
    out = _figure_build(raw_tree, tmp_path)
    assert out.name == "fig3_eels.svg" and out.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    width, height = svg_size_mm(out)
    assert width == pytest.approx(style.WIDTHS_MM["double"], abs=0.1)
    assert height == pytest.approx(eels_figures.FIGURE_HEIGHT_MM, abs=0.1)
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["fig3_eels.svg"]


@pytest.mark.slow
def test_figure3_lays_itself_out_for_another_realization(tmp_path):
    """Four points further apart, other peak positions and resolution: the figure still passes the layout check."""
    from data.synth.tree import write_tree
    from data.synth.truth import load_truth, merge

    truth = merge(load_truth(), {"eels": {"points": 4, "step_nm": 16.0, "li_k_peak_lipon_eV": 60.2,
                                          "li_k_peak_li2o_eV": 62.4, "resolution_eV": 0.55}})
    raw = write_tree(truth, tmp_path / "raw", log=lambda _: None, sections=["eels", "images"]).parent
    out = _figure_build(raw, tmp_path / "build")
    assert svg_size_mm(out)[0] == pytest.approx(style.WIDTHS_MM["double"], abs=0.1)

"""HRTEM: phase weights from local FFTs, layer cutting, and the quoted layer thicknesses."""
from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from analysis import crystallography, hrtem
from analysis.registry import STEPS
from data.synth import hrtem as forward
from data.synth.truth import load_truth
from paperbuild.errors import InputError
from paperbuild.paths import PROJECT_ROOT, Roots
from paperbuild.runner import Declared
from tests.conftest import make_tree

STEP = next(s for s in STEPS if s.name == "hrtem")
PARAMS = STEP.param_values()
REFS = crystallography.reflections(crystallography.load_phases(PROJECT_ROOT / STEP.inputs["phases"].path))
METHOD = hrtem.Method.build(**{k: PARAMS[k] for k in inspect.signature(hrtem.Method.build).parameters})


def _run(raw: Path, build: Path, **overrides):
    """The step's ``run`` as the runner calls it: declared roles, registry parameters."""
    roots = Roots(raw=raw, build=build)
    outputs = {role: roots.build / rel for role, rel in STEP.outputs.items()}
    for path in outputs.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    return hrtem.run(Declared(STEP.name, "input", STEP.resolve_inputs(roots)),
                     Declared(STEP.name, "output", outputs), **{**PARAMS, **overrides})


def _single_phase_image(phase: str, seed: int = 0) -> np.ndarray:
    """A field filled with crystallites of one phase (the synthetic instrument's model)."""
    cfg = dict(load_truth()["hrtem"], rows=256)
    rng = np.random.default_rng(seed)
    spacings = {}
    for r in REFS:
        spacings.setdefault(r.phase, []).append(r.d_A)
    crystals = forward.pack_crystals(np.array([0.0, 1.0, 2.0, 3.0, 40.0]), [[], [], [], [], [phase]], spacings,
                                     dict(cfg, layer_phases=None), rng)
    return forward.render(crystals, (256, 536), cfg, rng)


@pytest.mark.parametrize("phase", hrtem.PHASES)
def test_phase_weights_pick_the_phase_present(phase):
    """Each phase is recognised from all its rings, even where single rings overlap another phase's."""
    spectra = hrtem.local_spectra(_single_phase_image(phase), 0.75, PARAMS["window_px"], PARAMS["step_px"])
    weights = hrtem.phase_weights(spectra, REFS, METHOD).weights
    inside = spectra.depth_nm < 35
    totals = weights[inside].sum(axis=0)
    assert np.argmax(totals) == hrtem.PHASES.index(phase)
    assert totals.max() > 3 * np.sort(totals)[-2]


def test_cut_layers_finds_composition_changes():
    """Noisy runs of constant composition are cut where the composition changes."""
    rng = np.random.default_rng(2)
    means = [[1, 0, 0, 0], [0.5, 0.8, 0, 0], [0.3, 0.4, 0.6, 0], [0, 0.4, 0.5, 0.7]]
    lengths = [3, 4, 2, 8]
    columns = np.vstack([np.tile(m, (n, 1)) for m, n in zip(means, lengths)])
    columns = np.clip(columns + rng.normal(0, 0.05, columns.shape), 0, None)
    assert hrtem.cut_layers(columns, 4, PARAMS["layer_variance_floor"]) == [3, 7, 9]


def test_layer_edges_sit_half_a_spacing_from_the_columns():
    """Boundaries average the half-spacing estimates from both sides; the end is half a spacing out."""
    centres = np.array([2.5, 7.5, 12.75, 18.25, 23.5, 28.5, 33.5])  # cells of 5, 5.5 and 5 nm from 0
    assert np.allclose(hrtem.layer_edges(centres, np.array([]), [2, 4]), [10.0, 21.0, 36.0])


def test_numbers_reproduce_published_values(default_build, ledger):
    """Ten regions; layer means, their sum and crystallite sizes within the paper's tolerances."""
    from paperbuild.numbers import load

    numbers = load(default_build / "numbers.json")
    for key in ("hrtem.regions", "hrtem.layer_li_li2o_nm", "hrtem.layer_li_li2o_li3n_nm",
                "hrtem.layer_li2o_li3n_li3po4_nm", "hrtem.interphase_nm", "hrtem.crystallite_min_nm",
                "hrtem.crystallite_max_nm"):
        entry = ledger[key]
        assert abs(numbers[key]["value"] - entry["published"]) <= entry["tolerance"], key


def test_layer_means_follow_other_truth(tmp_path):
    """Layer means of 30, 8 and 55 nm in the raw data are measured within 1.5 nm."""
    raw = make_tree(tmp_path / "raw", {"hrtem": {"layer_means_nm": [30.0, 8.0, 55.0]}})
    numbers = {n.key: n.value for n in _run(raw, tmp_path / "out")}
    measured = [numbers["hrtem.layer_li_li2o_nm"], numbers["hrtem.layer_li_li2o_li3n_nm"],
                numbers["hrtem.layer_li2o_li3n_li3po4_nm"]]
    assert np.allclose(measured, [30.0, 8.0, 55.0], atol=1.5)


def _save(path, data, pixel_nm):
    from analysis.em_io import hyperspy

    signal = hyperspy().signals.Signal2D(data)
    for axis in signal.axes_manager.signal_axes:
        axis.scale, axis.units = pixel_nm, "nm"
    path.parent.mkdir(parents=True, exist_ok=True)
    signal.save(path, overwrite=True)


def test_region_count_comes_from_the_data(tmp_path):
    """An 8-region tree is analysed as 8 regions: the count is the number of region files."""
    from data.synth.tree import write_tree

    truth = load_truth()
    truth["hrtem"] = dict(truth["hrtem"], regions=8, rows=256, layer_means_nm=[12.0, 8.0, 16.0],
                          layer_spread_nm=[0.5, 0.5, 0.5])
    write_tree(truth, tmp_path / "raw", log=lambda _: None, sections=("hrtem",))
    numbers = {n.key: n.value for n in _run(tmp_path / "raw", tmp_path / "out")}
    assert numbers["hrtem.regions"] == 8
    table = np.loadtxt(tmp_path / "out" / STEP.outputs["layers"], delimiter=",", skiprows=1, ndmin=2)
    assert table[:, 0].tolist() == list(range(1, 9))


def test_no_region_image_is_refused(tmp_path):
    """A tree without HRTEM region images stops the step, saying so."""
    (tmp_path / "hrtem").mkdir()
    with pytest.raises(InputError, match="no HRTEM region image"):
        _run(tmp_path, tmp_path / "out")


# Depth-summed spectrum of one region (a 128-pixel window at 0.78 Å per pixel) on which
# scipy's nnls stopped at its default iteration limit with the basis below (ring width
# 0.012 1/Å, damping 1.8 Å): the basis is ill-conditioned (condition number ~10^6).
_STALLED = [4.236, 3.821, 3.569, 3.431, 3.074, 2.861, 2.565, 2.398, 2.035, 2.011, 1.794, 1.503, 1.446, 1.287,
            1.107, 0.973, 0.864, 0.791, 0.690, 0.579, 0.545, 0.484, 0.441, 0.401, 0.364, 0.352, 0.332, 0.308,
            0.289, 0.278, 0.267, 0.263, 0.254, 0.259, 0.260, 0.266, 0.257, 0.248, 0.251, 0.253, 0.253, 0.249,
            0.243, 0.246, 0.254]


def test_nonnegative_fit_survives_nnls_non_convergence():
    """Where scipy's nnls gives up (RuntimeError), the fit still returns the optimum."""
    from scipy.optimize import lsq_linear, nnls

    pixel_A = 0.7816726
    q = np.arange(PARAMS["window_px"] // 2) / (PARAMS["window_px"] * pixel_A)
    q = q[hrtem._in_range(q, METHOD.q_range_inv_A)]
    basis = np.column_stack([hrtem.templates(q, REFS, 0.012, 1.8),
                             hrtem.background_basis(q, METHOD.background_spacing_inv_A,
                                                    METHOD.background_width_inv_A)])
    target = np.array(_STALLED)
    assert q.size == target.size
    with pytest.raises(RuntimeError, match="iterations"):
        nnls(basis, target)  # the failure mode: scipy's default limit of 3 iterations per unknown
    weights, residual = hrtem.nonnegative_fit(basis, target)
    optimum = lsq_linear(basis / np.linalg.norm(basis, axis=0), target, bounds=(0, np.inf), method="bvls")
    assert np.all(weights >= 0)
    assert residual == pytest.approx(np.linalg.norm(basis @ weights - target))
    assert residual <= np.linalg.norm(optimum.fun) + 1e-9


def test_layer_cut_is_not_decided_by_single_large_crystallites():
    """Column compositions of a region at 0.62 Å per pixel (seen in validation): the cut on the
    weights themselves put the layer 2/3 boundary two columns too deep, because one column's
    Li3PO4 weight (a large crystallite) dwarfed the others; on amplitudes Li's absence places it."""
    columns = np.array([[0.88, 0.1, 0.0, 0.03], [1.0, 0.22, 0.02, 0.0], [0.3, 0.92, 0.0, 0.03],
                        [0.28, 0.97, 0.0, 0.02], [0.27, 1.0, 0.0, 0.03], [0.52, 0.66, 0.02, 0.0],
                        [0.16, 0.38, 0.68, 0.0], [0.33, 0.25, 0.63, 0.0], [0.03, 0.63, 0.61, 0.18],
                        [0.1, 0.43, 0.94, 0.27], [0.05, 0.39, 0.5, 1.0], [0.06, 0.24, 0.4, 0.21],
                        [0.06, 0.48, 0.96, 0.51], [0.06, 0.41, 0.29, 0.67], [0.06, 0.32, 0.26, 0.3],
                        [0.09, 0.41, 1.0, 0.08], [0.02, 0.44, 0.54, 0.57]])
    assert hrtem.cut_layers(columns, 4, PARAMS["layer_variance_floor"]) == [2, 6, 8]


# A realization drawn in validation (seed 11): 0.62 Å pixels, 2.7-5.4 nm crystallites.  The
# former method put the layer 2/3 boundary of regions 2 and 6 one and two columns too deep.
FINE_PIXEL_TRUTH = dict(
    regions=8, pixel_A=0.621472839884753, cell_jitter_nm=0.25432774346768705,
    layer_means_nm=[21.528418782703092, 12.096016265091441, 49.344511788219386],
    layer_spread_nm=[1.5717178876602727, 2.41113583827265, 3.630675054966839],
    crystallite_diameter_nm=[2.6737460246799643, 5.383519999082162], fringe_amplitude=0.45467471589777314,
    amorphous_amplitude=0.2582577323508697, information_limit_A=1.246139749330099, noise=0.08389642237937195)


@pytest.mark.parametrize("index", [2, 6])
def test_layer_boundaries_at_a_finer_pixel(index):
    """Every boundary within half a column spacing of the truth, the layer 2/3 boundary included."""
    truth = load_truth()
    truth["seed"] = 11
    truth["hrtem"] = dict(truth["hrtem"], **FINE_PIXEL_TRUTH)
    cfg = truth["hrtem"]
    region = next(r for r in forward.regions(truth, forward.fringe_references(cfg)) if r.index == index)
    image = forward.to_counts(region.image(cfg), cfg).astype(float)
    layers = hrtem.analyse_region(image, cfg["pixel_A"], REFS, METHOD).layers
    assert np.abs(layers.boundaries_nm - region.boundaries_nm).max() < 0.5 * layers.spacing_nm


def test_last_layer_keeps_two_columns():
    """The cut never leaves a single column in the last layer, whose end needs their spacing."""
    columns = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 0, 1], [1, 1, 1]],
                       dtype=float)
    cuts = hrtem.cut_layers(columns, 4, PARAMS["layer_variance_floor"])
    assert len(columns) - cuts[-1] >= 2


def test_pixel_too_coarse_names_the_lost_reflections(tmp_path):
    """A 1 Å pixel cannot show Li2O (220) and others: the message lists them."""
    _save(tmp_path / "hrtem" / "region_01.tif", np.zeros((16, 16), np.float32), 0.1)
    with pytest.raises(InputError, match=r"cannot resolve .*Li2O \(220\)") as caught:
        _run(tmp_path, tmp_path / "out")
    assert caught.value.path.name == "region_01.tif"


def test_uncalibrated_image_is_refused(tmp_path):
    """An HRTEM image without a pixel size stops the build."""
    import tifffile

    (tmp_path / "hrtem").mkdir()
    tifffile.imwrite(tmp_path / "hrtem" / "region_01.tif", np.zeros((16, 16), np.float32))
    with pytest.raises(InputError, match="no usable calibration"):
        _run(tmp_path, tmp_path / "out")


def test_candidate_grids_include_both_ends():
    """A grid declared by its first and last value and a step holds both ends."""
    assert np.array_equal(hrtem.grid((0.004, 0.024), 0.002), np.arange(0.004, 0.0245, 0.002))
    assert np.array_equal(hrtem.grid((0, 2.0), 0.2), np.arange(0.0, 2.01, 0.2))
    assert METHOD.ring_sigmas_inv_A.size == 11 and METHOD.dampings_A.size == 11


def test_q_range_is_written_once():
    """The fitted frequency range lives in the registry only (it was once typed twice)."""
    source = Path(hrtem.__file__).read_text(encoding="utf-8")
    assert "0.18" not in source and "0.66" not in source
    assert STEP.params["q_range_inv_A"].text == "0.18\u20130.66 \u00c5\u207b\u00b9"


def test_run_takes_every_method_choice_from_the_registry():
    """``run`` has no defaults, and the registry declares exactly its parameters."""
    parameters = inspect.signature(hrtem.run).parameters
    keyword = {n for n, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert keyword == set(PARAMS)
    assert all(parameters[n].default is inspect.Parameter.empty for n in keyword)


def test_reflection_table_uses_every_region_pixel_size():
    """Pairs confusable at any region's own resolution are listed (not at the last region's)."""
    fine = hrtem.reflection_table(REFS, [0.75, 0.75], 128, 2)
    assert "(0.0208 1/Å at 0.75 Å per pixel)" in fine
    # a region with a smaller pixel has a coarser frequency step: more pairs become confusable
    mixed = hrtem.reflection_table(REFS, [0.5, 0.75], 128, 2)
    last_only = hrtem.reflection_table(REFS, [0.75], 128, 2)
    coarse = hrtem.reflection_table(REFS, [0.5], 128, 2)
    rows = lambda table: [line for line in table.splitlines() if line.startswith("| Li")]
    assert rows(mixed) == rows(coarse) != rows(last_only)
    assert "0.75–0.50 Å per pixel" in mixed


def test_summary_refuses_too_few_crystallites():
    """Percentiles of a handful of sizes are not a size range."""
    thicknesses = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    summary = hrtem.summarize(thicknesses, np.arange(1.0, 12.0), (10, 90), 10)
    assert np.allclose(summary.layer_means_nm, [2.0, 2.0, 2.0])
    assert summary.crystallite_range_nm == pytest.approx((2.0, 10.0))
    with pytest.raises(ValueError, match="only 3 crystallites"):
        hrtem.summarize(thicknesses, np.array([1.0, 2.0, 3.0]), (10, 90), 10)


def test_small_specks_are_not_crystallites():
    """Regions below the least diameter are left out; a clear crystallite is measured."""
    energy = np.full((60, 120), 1.0)
    yy, xx = np.mgrid[:60, :120]
    energy[(yy - 30) ** 2 + (xx - 40) ** 2 <= 15 ** 2] = 100.0   # 30 px = 3 nm across at 1 Å
    energy[(yy - 30) ** 2 + (xx - 70) ** 2 <= 2 ** 2] = 100.0    # a 0.5-nm speck
    diameters, _ = hrtem.crystallite_diameters(energy, 1.0, (10, 100), (100, 120), 90, 2.0, 0.5, 4.0)
    assert diameters.size == 1 and diameters[0] == pytest.approx(3.0, abs=0.1)


def test_expected_numbers_follow_the_drawn_regions():
    """The truth's numbers: the layer means it declares, and the drawn crystallites' size percentiles,
    which lie inside the uniform draw's bounds rather than on them."""
    truth = load_truth()
    expected = forward.expected_numbers(truth)
    cfg = truth["hrtem"]
    assert expected["hrtem.regions"] == cfg["regions"]
    means = [expected[k] for k in ("hrtem.layer_li_li2o_nm", "hrtem.layer_li_li2o_li3n_nm",
                                   "hrtem.layer_li2o_li3n_li3po4_nm")]
    assert np.allclose(means, cfg["layer_means_nm"])
    assert expected["hrtem.interphase_nm"] == pytest.approx(sum(cfg["layer_means_nm"]))
    low, high = cfg["crystallite_diameter_nm"]
    assert low < expected["hrtem.crystallite_min_nm"] < expected["hrtem.crystallite_max_nm"] < high


def test_dim_crystallites_are_measured_at_their_own_edge():
    """Two blurred 3-nm discs, one ten times dimmer (a weakly diffracting phase): both come out
    within a quarter nm of 3 nm, where one threshold for both (the detection's) read them 1.1 nm apart."""
    from scipy import ndimage

    yy, xx = np.mgrid[:80, :200]
    energy = np.full((80, 200), 1.0)
    energy[(yy - 40) ** 2 + (xx - 50) ** 2 <= 15 ** 2] += 200.0
    energy[(yy - 40) ** 2 + (xx - 110) ** 2 <= 15 ** 2] += 20.0
    energy = ndimage.gaussian_filter(energy, 3.0)
    diameters, mask = hrtem.crystallite_diameters(energy, 1.0, (10, 160), (160, 200), 99, 2.0, 0.5, 4.0)
    assert diameters.size == 2 and np.allclose(diameters, 3.0, atol=0.25)
    assert mask[40, 50] and mask[40, 110] and not mask[40, 80]


# ------------------------------------------------------------------ Figures 2 and 6 and the reflection table
from analysis import hrtem_figures, style  # noqa: E402
from analysis.style import svg_size_mm

FIGURE_STEP = next(s for s in STEPS if s.name == "hrtem_figures")
RINGS = [(r.phase, r.label, r.q_per_A) for r in REFS]


def test_region_squares_sit_in_their_layers():
    """One square per layer and one in LiPON, all of one side, each inside its zone, the band and the image."""
    boundaries, pixel_nm, shape = np.array([9.5, 29.7, 41.4, 85.8]), 0.075, (720, 1528)
    squares = hrtem_figures.region_squares(boundaries, pixel_nm, shape, (280, 620))
    edges = hrtem_figures.zone_edges_px(boundaries, pixel_nm, shape[1])
    assert len(squares) == 4 and len({side for _, _, side in squares}) == 1
    for (r0, c0, side), lo, hi in zip(squares, edges[:-1], edges[1:]):
        assert 280 <= r0 and r0 + side <= 620
        assert lo - 0.5 <= c0 and c0 + side <= hi + 0.5        # the thinnest layer (11.7 nm) holds its square
        assert abs((c0 + side / 2) - (lo + hi) / 2) <= 1       # centred in its zone
    side = squares[0][2]
    assert side % 2 == 0 and side * pixel_nm <= np.diff(edges).min() * pixel_nm


def test_region_squares_keep_a_least_side_and_refuse_no_room():
    """A layer thinner than the least side still gets a square of that side (inside the image);
    a band of no rows is refused."""
    squares = hrtem_figures.region_squares(np.array([5.0, 20.0, 22.0, 60.0]), 0.1, (400, 800), (0, 400))
    assert {side for _, _, side in squares} == {int(hrtem_figures.REGION_SIDE_NM[0] / 0.1)}
    assert all(0 <= c0 and c0 + side <= 800 for _, c0, side in squares)
    with pytest.raises(ValueError, match="free rows"):
        hrtem_figures.region_squares(np.array([5.0, 20.0, 22.0, 60.0]), 0.1, (400, 800), (300, 300))


def _fringes(label: str, side: int = 160, pixel_A: float = 0.75, seed: int = 0) -> np.ndarray:
    """A square crop of noise with lattice fringes of one reference reflection."""
    q = next(r.q_per_A for r in REFS if r.label == label)
    x = np.arange(side) * pixel_A
    rng = np.random.default_rng(seed)
    return np.cos(2 * np.pi * q * x)[None, :] * np.ones((side, 1)) + rng.normal(0, 1.0, (side, side))


def test_named_reflection_is_the_ring_the_crop_shows():
    """A crop holding Li2O (111) fringes has that reflection named for Li2O."""
    side, pixel_A = 160, 0.75
    power = hrtem_figures.power_spectrum(_fringes("Li2O (111)", side, pixel_A))
    named = hrtem_figures.named_reflections(power, 1 / (side * pixel_A), RINGS, ("Li", "Li2O"), 0.7)
    assert [n[0] for n in named] == ["Li", "Li2O"]
    assert named[1][1] == "Li2O (111)"


def test_named_reflections_avoid_another_phases_ring():
    """Li2O (111) lies within FFT resolution of Li3PO4 (210): where both phases may be present,
    each is named by a reflection that identifies it, even if (111) is the brightest."""
    side, pixel_A = 160, 0.75
    power = hrtem_figures.power_spectrum(_fringes("Li2O (111)", side, pixel_A))
    named = {phase: (label, ambiguous) for phase, label, _, ambiguous in
             hrtem_figures.named_reflections(power, 1 / (side * pixel_A), RINGS, ("Li2O", "Li3PO4"), 0.7)}
    assert named["Li2O"][0] != "Li2O (111)" and named["Li3PO4"][0] != "Li3PO4 (210)"
    assert not named["Li2O"][1] and not named["Li3PO4"][1]
    assert hrtem_figures.named_reflections(power, 1 / (side * pixel_A), RINGS, (), 0.7) == []


def test_phase_without_a_clear_ring_is_marked_ambiguous():
    """A phase every one of whose reflections lies within FFT resolution of another present
    phase's ring is still named (by its brightest) but flagged, and its label carries the mark;
    a phase with a clear reflection is not flagged."""
    side, pixel_A, q_max = 160, 0.75, 0.7
    q_step = 1 / (side * pixel_A)
    ghost = [("Li", "Li (110)", 0.40), ("Li2O", "Li2O (111)", 0.30), ("Li2O", "Li2O (200)", 0.45),
             ("Li3N", "Li3N (100)", 0.30 + 0.5 * q_step), ("Li3N", "Li3N (101)", 0.45 - 0.5 * q_step)]
    power = hrtem_figures.power_spectrum(_fringes("Li2O (111)", side, pixel_A))
    named = {phase: (label, ambiguous) for phase, label, _, ambiguous in
             hrtem_figures.named_reflections(power, q_step, ghost, ("Li", "Li2O", "Li3N"), q_max)}
    assert named["Li3N"][1] and named["Li2O"][1] and not named["Li"][1]
    # without Li3N present, Li2O's rings are clear again
    alone = hrtem_figures.named_reflections(power, q_step, ghost, ("Li", "Li2O"), q_max)
    assert not any(ambiguous for *_, ambiguous in alone)
    plt = style.pyplot(PROJECT_ROOT / FIGURE_STEP.inputs["style"].path)
    fig = style.figure(plt, "single", 45)
    ax = fig.add_subplot()
    drawn = hrtem_figures.draw_spectrum(ax, _fringes("Li2O (111)", side, pixel_A), pixel_A, ghost,
                                        ("Li", "Li2O", "Li3N"), q_max)
    marked = [label.endswith(hrtem_figures.AMBIGUOUS_MARK) for label, _, _ in drawn]
    assert marked == [False, True, True]
    plt.close(fig)


def test_li3po4_in_the_third_layer_has_no_clear_ring():
    """With the real reference rings at the crop resolution of Figure 2 (about 0.75 Å pixels, a
    square of 150 pixels), every Li3PO4 reflection in view overlaps a Li2O or Li3N ring, so the
    third layer's spectrum marks Li3PO4 as ambiguous (the referee's point), and only Li3PO4."""
    side, pixel_A = 150, 0.75
    q_view = hrtem_figures.Q_VIEW_MARGIN * max(q for *_, q in RINGS)
    power = hrtem_figures.power_spectrum(_fringes("Li3PO4 (210)", side, pixel_A))
    named = {phase: ambiguous for phase, _, _, ambiguous in
             hrtem_figures.named_reflections(power, 1 / (side * pixel_A), RINGS, hrtem_figures.LAYER_PHASES[2],
                                             q_view)}
    assert named == {"Li2O": False, "Li3N": False, "Li3PO4": True}


def test_power_spectrum_pads_to_a_square_with_the_fringe_where_expected():
    """A non-square crop is padded to a square; a fringe of q appears at radius q * side * pixel."""
    crop = _fringes("Li3N (100)", 160)[:100, :]
    power = hrtem_figures.power_spectrum(crop)
    assert power.shape == (160, 160)
    q = next(r.q_per_A for r in REFS if r.label == "Li3N (100)")
    row = power[80]
    assert abs(np.argmax(row[81:]) + 1 - q * 160 * 0.75) <= 1


def test_ring_labels_on_close_rings_do_not_overlap():
    """Three rings of nearly one radius (as in region 3) get three labels, apart and inside the panel."""
    plt = style.pyplot(PROJECT_ROOT / FIGURE_STEP.inputs["style"].path)
    fig = style.figure(plt, "single", 45)
    ax = fig.add_subplot()
    ax.imshow(np.zeros((121, 121)))
    fig.canvas.draw()
    rings = [("Li$_2$O (200)", 40.0, "C0"), ("Li$_3$N (101)", 38.0, "C1"), ("Li$_3$PO$_4$ (210)", 36.0, "C2")]
    placed = hrtem_figures.place_ring_labels(ax, (60, 60), rings)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in placed]
    frame = ax.get_window_extent(renderer)
    assert [t.get_text() for t in placed] == [r[0] for r in rings]
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1 for b in boxes)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    plt.close(fig)


def test_clearest_place_avoids_crystallites_and_prefers_the_first_listed():
    """The box covering no crystallite pixel wins; among free boxes the first listed."""
    mask = np.zeros((100, 100), bool)
    mask[70:, 50:] = True       # lower right taken
    occupied = hrtem_figures.crystallite_pixels(mask)
    assert occupied[69, 60] and not occupied[60, 60]     # the outline's rim counts too
    boxes = {"lower right": (60, 95, 80, 95), "lower left": (5, 40, 80, 95), "upper left": (5, 40, 5, 20)}
    assert hrtem_figures.clearest_place(occupied, boxes) == "lower left"
    boxes["lower left"] = (5, 55, 80, 95)                # now clips the taken corner
    assert hrtem_figures.clearest_place(occupied, boxes) == "upper left"
    assert not hrtem_figures.crystallite_pixels(np.ones((5, 5), bool)).any()


def test_scale_bar_is_moved_off_every_crystallite():
    """Crystallites cover every corner and edge middle of a crop: the bar leaves all eight named
    places for a free spot of the matrix, and its drawn extent covers no crystallite pixel."""
    plt = style.pyplot(PROJECT_ROOT / FIGURE_STEP.inputs["style"].path)
    fig = style.figure(plt, "single", 45)
    ax = fig.add_subplot()
    yy, xx = np.mgrid[:156, :156]
    mask = np.zeros((156, 156), bool)
    for cy in (0, 78, 155):
        for cx in (0, 78, 155):
            if (cy, cx) != (78, 78):
                mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= 34 ** 2
    hrtem_figures.draw_outlines(ax, np.random.default_rng(0).normal(size=mask.shape), mask, 0.075)
    fig.canvas.draw()
    chosen = hrtem_figures.place_scale_bar(ax, mask)
    assert chosen not in hrtem_figures.SCALE_BAR_PLACES
    fig.canvas.draw()
    bar = ax.artists[-1]
    renderer = fig.canvas.get_renderer()
    extent = bar.get_window_extent(renderer)
    pad = bar.pad * renderer.points_to_pixels(bar.prop.get_size_in_points())
    (x0, y0), (x1, y1) = ax.transData.inverted().transform([(extent.x0 + pad, extent.y0 + pad),
                                                            (extent.x1 - pad, extent.y1 - pad)])
    rows = slice(int(min(y0, y1)), int(np.ceil(max(y0, y1))) + 1)
    cols = slice(int(min(x0, x1)), int(np.ceil(max(x0, x1))) + 1)
    assert not hrtem_figures.crystallite_pixels(mask)[rows, cols].any()
    plt.close(fig)


def test_mosaic_layout_puts_columns_at_the_measured_spacing():
    """Each layer of Figure 6 holds round(thickness / spacing) columns, all inside it."""
    means, spacing = np.array([21.1, 11.7, 43.7]), 5.4
    layers = hrtem_figures.mosaic_layout(means, spacing, 27.0)
    edges = np.r_[0, np.cumsum(means)]
    for centres, lo, hi, mean in zip(layers, edges[:-1], edges[1:], means):
        assert np.unique(centres[:, 0]).size == max(1, round(mean / spacing))
        assert np.all((lo < centres[:, 0]) & (centres[:, 0] < hi))
        assert np.all((0 < centres[:, 1]) & (centres[:, 1] < 27.0))


def test_crystallite_counts_keep_every_phase_and_the_proportions():
    """Layer 2 of the rebuild (Li 0.22, Li2O 0.38, Li3N 0.72 on 10 crystallites) once drew no Li
    at random; the counts give every phase at least one, add up, and follow the weights."""
    counts = hrtem_figures.crystallite_counts([0.223, 0.3764, 0.7232], 10)
    assert counts.tolist() == [2, 3, 5]
    tiny = hrtem_figures.crystallite_counts([0.001, 0.5, 0.5], 4)
    assert tiny.sum() == 4 and tiny.min() >= 1
    assert hrtem_figures.crystallite_counts([0.0, -1.0], 4).tolist() == [2, 2]
    assert hrtem_figures.crystallite_counts([0.1, 0.9, 0.5], 2).tolist() == [0, 1, 1]
    many = hrtem_figures.crystallite_counts([1.0, 3.0], 402)
    assert many.tolist() == [101, 301]


def test_mosaic_draws_every_phase_of_every_layer():
    """Figure 6: each layer holds a crystallite of each phase it is named by (Li in layer 2
    included), and no phase it is not named by, whatever the composition's weights."""
    from matplotlib.colors import to_hex
    from matplotlib.patches import Circle

    plt = style.pyplot(PROJECT_ROOT / FIGURE_STEP.inputs["style"].path)
    summary = np.array([(1, 21.1), (2, 11.7), (3, 43.7)], dtype=[("layer", int), ("mean_nm", float)])
    composition = np.array([(1, 0.43, 0.80, 0.005, 0.015), (2, 0.05, 0.38, 0.72, 0.016),
                            (3, 0.02, 0.38, 0.70, 0.02)],
                           dtype=[("layer", int), ("Li", float), ("Li2O", float), ("Li3N", float), ("Li3PO4", float)])
    colour_phase = {to_hex(c): p for p, c in style.PHASE_COLOURS.items()}
    edges = np.r_[0, np.cumsum(summary["mean_nm"])]
    for seed in range(5):
        fig = style.figure(plt, "double", 80)
        ax = fig.add_subplot()
        hrtem_figures.draw_mosaic(ax, summary, 5.4, np.array([2.7, 3.5, 4.2, 5.4]), composition, seed=seed)
        circles = [c for c in ax.patches if isinstance(c, Circle)]
        for k, phases in enumerate(hrtem_figures.LAYER_PHASES):
            inside = {colour_phase[to_hex(c.get_facecolor())] for c in circles
                      if edges[k] - 1 < c.center[0] < edges[k + 1] + 1
                      and abs(c.center[0] - (edges[k] + edges[k + 1]) / 2) < (edges[k + 1] - edges[k]) / 2}
            assert inside == set(phases), (seed, k + 1, inside)
        plt.close(fig)


def test_reflection_table_sets_formulas_with_subscripts():
    """The Markdown table writes Li~3~PO~4~ (pandoc subscripts), never a bare Li3PO4; indices keep their digits."""
    table = hrtem.reflection_table(REFS, [0.75], 128, 2)
    assert "| Li~3~PO~4~ | (210) |" in table and "Li~2~O (111)" in table
    assert not any(name in table for name in ("Li3PO4", "Li2O", "Li3N"))
    assert hrtem.markdown_formula("Li3N (001)") == "Li~3~N (001)"


def test_figure_step_declares_the_composed_figures():
    """Figures 2 and 6 are one output each, under the agreed names."""
    assert FIGURE_STEP.outputs == {"fig2": "figures/fig2_hrtem.svg", "fig6": "figures/fig6_multilayer_mosaic.svg"}


@pytest.mark.slow
def test_figure_step_writes_figures_2_and_6(default_build, tmp_path):
    """From the hrtem tables the step writes Figures 2 and 6, each one SVG at double width, a
    main figure's height at most 200 mm (room for the caption)."""
    inputs = {role: default_build / spec.path for role, spec in FIGURE_STEP.inputs.items() if role != "style"}
    inputs["style"] = PROJECT_ROOT / FIGURE_STEP.inputs["style"].path
    outputs = {role: tmp_path / rel for role, rel in FIGURE_STEP.outputs.items()}
    hrtem_figures.run(inputs, outputs)
    for path in outputs.values():
        assert "<svg" in path.read_text(encoding="utf-8")[:2000]
        width, height = svg_size_mm(path)
        assert width == pytest.approx(style.WIDTHS_MM["double"], abs=0.1)
        assert 0 < height <= 200.0


@pytest.mark.slow
def test_figure_2_names_areas_by_letter_and_keeps_the_image_clear(default_build):
    """Figure 2 letters its four squares a-d (panel titles and the squares on A; the imaged
    regions of J keep their numbers), marks Li3PO4's ring as ambiguous, gives reciprocal lengths
    in nm^-1 only, sets its whole-image spectrum beside the image, not on it, and puts each
    crystallite panel's scale bar where it covers no crystallite."""
    from analysis import datatable

    inputs = {role: default_build / spec.path for role, spec in FIGURE_STEP.inputs.items() if role != "style"}
    plt = style.pyplot(PROJECT_ROOT / FIGURE_STEP.inputs["style"].path)
    with np.load(inputs["region1"], allow_pickle=False) as data:
        region = dict(data)
    fig = hrtem_figures.compose_fig2(region, datatable.read(inputs["reference_rings"]),
                                     datatable.read(inputs["layers"]), datatable.read(inputs["layer_summary"]), plt)
    texts = [text for text, *_ in style.drawn_texts(fig)]
    titles = [t for t in texts if t.startswith(("Area ", "Region "))]
    assert [t.split(":")[0] for t in titles] == [f"Area {n}" for n in "abcd"]
    assert all(n in texts for n in "abcd")
    phosphate = [t for t in texts if t.startswith(style.formula("Li3PO4") + " (")]
    assert phosphate and all(t.endswith(hrtem_figures.AMBIGUOUS_MARK) for t in phosphate)
    assert sum(t.endswith(" nm$^{-1}$") for t in texts) == 4            # one reciprocal unit, in nm^-1
    assert not any("1/Å" in t or "Å$^{-1}$" in t or "Å⁻¹" in t for t in texts)
    ax_a = fig.axes[0]
    (inset,) = ax_a.child_axes
    renderer = fig.canvas.get_renderer()
    image_box, inset_box = ax_a.get_window_extent(renderer), inset.get_window_extent(renderer)
    assert inset_box.x0 >= image_box.x1 and abs(inset_box.y1 - image_box.y1) < 1.0
    assert not style.layout_faults(fig)
    rows, cols = region["image"].shape
    free = (int(np.ceil(rows * hrtem_figures.AREA_BAND[0])), int(rows * hrtem_figures.AREA_BAND[1]))
    squares = hrtem_figures.region_squares(region["boundaries_nm"], float(region["pixel_A"]) / 10, (rows, cols), free)
    for ax, (r0, c0, side) in zip(fig.axes[6:10], squares):   # C, E, G, I (after A, K and the four spectra)
        mask = np.asarray(region["mask"], bool)[r0:r0 + side, c0:c0 + side]
        bar = ax.artists[-1]
        extent = bar.get_window_extent(renderer)
        pad = bar.pad * renderer.points_to_pixels(bar.prop.get_size_in_points())
        (x0, y0), (x1, y1) = ax.transData.inverted().transform([(extent.x0 + pad, extent.y0 + pad),
                                                                (extent.x1 - pad, extent.y1 - pad)])
        under = hrtem_figures.crystallite_pixels(mask)[int(min(y0, y1)):int(np.ceil(max(y0, y1))) + 1,
                                                       int(min(x0, x1)):int(np.ceil(max(x0, x1))) + 1]
        assert not under.any()
    plt.close(fig)

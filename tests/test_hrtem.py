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
    assert hrtem.cut_layers(columns, 4) == [3, 7, 9]


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


def test_wrong_region_count_is_refused(tmp_path):
    """Nine images where ten are expected stop the build, naming the pattern."""
    for i in range(1, 10):
        _save(tmp_path / "hrtem" / f"region_{i:02d}.tif", np.zeros((16, 16), np.float32), 0.075)
    with pytest.raises(InputError, match="found 9 HRTEM region image"):
        _run(tmp_path, tmp_path / "out")


def test_pixel_too_coarse_names_the_lost_reflections(tmp_path):
    """A 1 Å pixel cannot show Li2O (220) and others: the message lists them."""
    _save(tmp_path / "hrtem" / "region_01.tif", np.zeros((16, 16), np.float32), 0.1)
    with pytest.raises(InputError, match=r"cannot resolve .*Li2O \(220\)") as caught:
        _run(tmp_path, tmp_path / "out", expected_regions=1)
    assert caught.value.path.name == "region_01.tif"


def test_uncalibrated_image_is_refused(tmp_path):
    """An HRTEM image without a pixel size stops the build."""
    import tifffile

    (tmp_path / "hrtem").mkdir()
    tifffile.imwrite(tmp_path / "hrtem" / "region_01.tif", np.zeros((16, 16), np.float32))
    with pytest.raises(InputError, match="no usable calibration"):
        _run(tmp_path, tmp_path / "out", expected_regions=1)


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
    diameters, _ = hrtem.crystallite_diameters(energy, 1.0, (10, 100), (100, 120), 90, 2.0)
    assert diameters.size == 1 and diameters[0] == pytest.approx(3.0, abs=0.1)

"""HRTEM: phase weights from local FFTs, layer cutting, and the quoted layer thicknesses."""
from __future__ import annotations

import numpy as np
import pytest

from analysis import crystallography, hrtem
from data.synth import hrtem as forward
from data.synth.truth import load_truth
from paperbuild.errors import InputError
from tests.conftest import make_tree

REFS = crystallography.reflections()


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
    spectra = hrtem.local_spectra(_single_phase_image(phase), 0.75)
    weights, _, _ = hrtem.phase_weights(spectra, REFS)
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
    assert hrtem.cut_layers(columns) == [3, 7, 9]


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
    numbers = {n.key: n.value for n in hrtem.run(raw, tmp_path / "out")}
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
        hrtem.run(tmp_path, tmp_path / "out")


def test_pixel_too_coarse_names_the_lost_reflections(tmp_path):
    """A 1 Å pixel cannot show Li2O (220) and others: the message lists them."""
    _save(tmp_path / "hrtem" / "region_01.tif", np.zeros((16, 16), np.float32), 0.1)
    with pytest.raises(InputError, match=r"cannot resolve .*Li2O \(220\)") as caught:
        hrtem.run(tmp_path, tmp_path / "out", expected_regions=1)
    assert caught.value.path.name == "region_01.tif"


def test_uncalibrated_image_is_refused(tmp_path):
    """An HRTEM image without a pixel size stops the build."""
    import tifffile

    (tmp_path / "hrtem").mkdir()
    tifffile.imwrite(tmp_path / "hrtem" / "region_01.tif", np.zeros((16, 16), np.float32))
    with pytest.raises(InputError, match="no usable calibration"):
        hrtem.run(tmp_path, tmp_path / "out", expected_regions=1)

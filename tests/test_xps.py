"""XPS: VAMAS reading, Shirley background, doublet fits, the onset rule, quantification."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analysis import xps
from data.synth import xps as forward
from data.synth.tree import write_xps, write_xps_file, xps_blocks
from data.synth.truth import load_truth, merge
from paperbuild.errors import InputError

CFG = load_truth()["xps"]


def _spectrum(lines, flat=1500.0, seed=0, window=(126.0, 140.0), cfg=CFG):
    energy = forward.binding_axis(window, 0.1)
    expected = forward.expected_counts(energy, lines, cfg, flat)
    return energy, expected, np.random.default_rng(seed).poisson(expected).astype(float)


def test_shirley_background_matches_the_forward_model():
    """On noise-free counts the iterative Shirley returns the background that made them.

    Gaussian lines here: a Lorentzian tail would still lift the window edges, which is
    the anchoring's known (and separately measured) cost, not the algorithm's.
    """
    gaussian = dict(CFG, lorentz_gamma_eV=0.0)
    energy, expected, _ = _spectrum([(132.8, 20000.0)], cfg=gaussian)
    truth_background = expected - 20000.0 * _gauss(energy - 132.8)
    background = xps.shirley(energy, expected)
    assert np.abs(background - truth_background).max() < 0.01 * (truth_background.max() - truth_background.min())
    area, _ = xps.net_area(energy, expected, background)
    assert area == pytest.approx(20000.0, rel=0.01)


def _gauss(x):
    from scipy.special import voigt_profile

    return voigt_profile(x, CFG["gauss_sigma_eV"], 0.0)


def test_flat_window_gets_a_straight_background():
    """With no step beyond counting noise the background is the line between the edges."""
    energy, _, counts = _spectrum([], seed=3)
    background = xps.shirley(energy, counts)
    assert np.allclose(np.diff(background, 2), 0.0, atol=1e-9)


def test_net_area_sigma_is_honest():
    """Over many noise-only windows, net area / sigma scatters with unit spread."""
    scores = []
    for seed in range(300):
        energy, _, counts = _spectrum([], seed=seed)
        area, sigma = xps.net_area(energy, counts, xps.shirley(energy, counts))
        scores.append(area / sigma)
    assert 0.8 < np.std(scores) < 1.2
    assert abs(np.mean(scores)) < 0.2


def test_doublet_fit_with_fixed_splitting():
    """A P 2p doublet is recovered: 2p3/2 position, total area, and the splitting stays fixed."""
    lines = forward.doublet(132.8, 30000.0, 0.87)
    energy, _, counts = _spectrum(lines, seed=1)
    net = counts - xps.shirley(energy, counts)
    fit = xps.fit_lines("P 2p", energy, net, counts, {"PO4": 133.3}, p2p_split=0.87, ratio=0.5)
    assert fit.lines[0].centre_eV == pytest.approx(132.8, abs=0.02)
    assert fit.lines[0].area == pytest.approx(30000.0, rel=0.03)
    assert fit.split_eV == 0.87
    assert set(fit.curves) == {"PO4 2p3/2", "PO4 2p1/2"}
    assert fit.curves["PO4 2p1/2"].sum() == pytest.approx(0.5 * fit.curves["PO4 2p3/2"].sum(), rel=1e-3)


def test_free_splitting_exposes_a_too_close_pair():
    """A pair 0.6 eV apart fits far better with the splitting free than fixed at 0.87 eV."""
    lines = [(133.2, 200000.0), (133.8, 100000.0)]
    energy, _, counts = _spectrum(lines, seed=2)
    net = counts - xps.shirley(energy, counts)
    free = xps.fit_lines("P 2p", energy, net, counts, {"PO4": 133.0}, p2p_split=0.87, split_free=True)
    fixed = xps.fit_lines("P 2p", energy, net, counts, {"PO4": 133.0}, p2p_split=0.87)
    assert free.split_eV == pytest.approx(0.6, abs=0.05)
    assert fixed.redchi > 3 * free.redchi


def test_onset_needs_persistence():
    """One noisy detection neither starts an onset nor hides one."""
    depths = [0, 6, 12, 18, 24, 30, 36]
    assert xps.onset(depths, [False, True, False, False, True, True, True]) == 24
    assert xps.onset(depths, [False, False, True, True, False, True, True]) is None
    assert xps.onset(depths, [False] * 7) is None


def test_quantification_from_areas():
    """Area / sensitivity factor gives atoms; the formula is written per P."""
    factors = {"C 1s": 0.278, "N 1s": 0.477, "O 1s": 0.780, "P 2p": 0.486, "Li 1s": 0.025}
    areas = {"Li 1s": 2.84 * 0.025, "P 2p": 0.486, "O 1s": 3.35 * 0.780, "N 1s": 0.38 * 0.477}
    ratios, formula = xps.formula_per_p(areas, factors)
    assert formula == "Li2.84PO3.35N0.38"
    percent = xps.atomic_percent(dict(areas, **{"C 1s": 0.0}), factors)
    assert sum(percent.values()) == pytest.approx(100.0)
    assert percent["P 2p"] == pytest.approx(100 / (2.84 + 1 + 3.35 + 0.38))


def test_numbers_reproduce_published_values(default_build, ledger):
    """Onsets, interphase positions and the reference fit within the paper's tolerances."""
    from paperbuild.numbers import load

    numbers = load(default_build / "numbers.json")
    keys = [k for k in ledger if k.startswith("xps.") and ledger[k].get("published") is not None]
    assert len(keys) == 12
    for key in keys:
        np.testing.assert_allclose(numbers[key]["value"], ledger[key]["published"], atol=ledger[key]["tolerance"],
                                   err_msg=key)


def test_onsets_follow_other_truth(tmp_path):
    """N 1s at 72 and P 2p at 150 in the raw data are found there."""
    truth = merge(load_truth(), {"xps": {"n1s_onset_depth": 72, "p2p_onset_depth": 150}})
    write_xps(truth, tmp_path / "raw")
    numbers = {n.key: n.value for n in xps.run(tmp_path / "raw", tmp_path / "out")}
    assert (numbers["xps.n1s_onset_depth"], numbers["xps.p2p_onset_depth"]) == (72, 150)


@pytest.fixture(scope="module")
def reference_blocks():
    return xps_blocks(load_truth())[1]


def test_missing_block_is_named(tmp_path, reference_blocks):
    """A file without its N 1s block names the etch step and the region."""
    path = write_xps_file(tmp_path / "ref.vms", [b for b in reference_blocks if b.species != "N"], load_truth(), "x")
    with pytest.raises(InputError, match=r"ref\.vms.*etch step 0 s has no N 1s block"):
        xps.by_step(path, xps.read_vamas(path))


def test_truncated_file_is_named(tmp_path, reference_blocks):
    path = write_xps_file(tmp_path / "ref.vms", reference_blocks, load_truth(), "x")
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(InputError, match=r"ref\.vms.*not a readable VAMAS file"):
        xps.read_vamas(path)


def test_energy_axis_must_be_monotonic(tmp_path, reference_blocks):
    blocks = [dataclasses.replace(b, step_eV=0.0) if b.species == "P" else b for b in reference_blocks]
    path = write_xps_file(tmp_path / "ref.vms", blocks, load_truth(), "x")
    with pytest.raises(InputError, match=r"ref\.vms.*energy axis of block 'P 2p/0' is not monotonic"):
        xps.read_vamas(path)


def test_other_source_is_refused(tmp_path, reference_blocks):
    """A Mg K-alpha file would put every line 233 eV off: refuse it by name."""
    truth = merge(load_truth(), {"xps": {"photon_energy_eV": 1253.6}})
    path = write_xps_file(tmp_path / "ref.vms", reference_blocks, truth, "x")
    with pytest.raises(InputError, match=r"1253.6 eV source"):
        xps.read_vamas(path)

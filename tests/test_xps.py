"""XPS: VAMAS reading, Shirley background, doublet fits, the onset rule, quantification."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analysis import xps
from analysis.registry import STEPS
from data.synth import xps as forward
from data.synth.tree import write_xps, write_xps_file, xps_blocks
from data.synth.truth import load_truth, merge
from paperbuild.errors import InputError
from paperbuild.paths import Roots

CFG = load_truth()["xps"]
STEP = next(step for step in STEPS if step.name == "xps")
P = STEP.param_values()
SHIRLEY = xps.ShirleySettings(P["edge_channels"], P["flat_background_sigma"], P["shirley_tolerance"])
MODEL = xps.LineModel(P["centre_freedom_eV"], P["gauss_sigma_start_eV"], P["gauss_sigma_range_eV"],
                      P["lorentz_gamma_start_eV"], P["lorentz_gamma_range_eV"], P["free_split_range_eV"],
                      P["area_start_factor"])
FIXED = xps.Doublet(0.87, 0.5, free=False)
FREE = xps.Doublet(0.87, 0.5, free=True)


def _run_step(raw, build, **changed):
    """The xps step's ``run`` on a raw tree, with the registry's parameters (some changed)."""
    roots = Roots(raw=raw, build=build)
    outputs = {role: roots.build / rel for role, rel in STEP.outputs.items()}
    for path in outputs.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    return xps.run(STEP.resolve_inputs(roots), outputs, **dict(P, **changed))


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
    background = xps.shirley(energy, expected, SHIRLEY)
    assert np.abs(background - truth_background).max() < 0.01 * (truth_background.max() - truth_background.min())
    area, _ = xps.net_area(energy, expected, background, SHIRLEY.edge_channels)
    assert area == pytest.approx(20000.0, rel=0.01)


def _gauss(x):
    from scipy.special import voigt_profile

    return voigt_profile(x, CFG["gauss_sigma_eV"], 0.0)


def test_flat_window_gets_a_straight_background():
    """With no step beyond counting noise the background is the line between the edges."""
    energy, _, counts = _spectrum([], seed=3)
    background = xps.shirley(energy, counts, SHIRLEY)
    assert np.allclose(np.diff(background, 2), 0.0, atol=1e-9)


def test_net_area_sigma_is_honest():
    """Over many noise-only windows, net area / sigma scatters with unit spread."""
    scores = []
    for seed in range(300):
        energy, _, counts = _spectrum([], seed=seed)
        area, sigma = xps.net_area(energy, counts, xps.shirley(energy, counts, SHIRLEY), SHIRLEY.edge_channels)
        scores.append(area / sigma)
    assert 0.8 < np.std(scores) < 1.2
    assert abs(np.mean(scores)) < 0.2


def test_doublet_fit_with_fixed_splitting():
    """A P 2p doublet is recovered: 2p3/2 position, total area, and the splitting stays fixed."""
    lines = forward.doublet(132.8, 30000.0, 0.87)
    energy, _, counts = _spectrum(lines, seed=1)
    net = counts - xps.shirley(energy, counts, SHIRLEY)
    fit = xps.fit_lines("P 2p", energy, net, counts, {"PO4": 133.3}, MODEL, FIXED)
    assert fit.lines[0].centre_eV == pytest.approx(132.8, abs=0.02)
    assert fit.lines[0].area == pytest.approx(30000.0, rel=0.03)
    assert fit.split_eV == 0.87
    assert set(fit.curves) == {"PO4 2p3/2", "PO4 2p1/2"}
    assert fit.curves["PO4 2p1/2"].sum() == pytest.approx(0.5 * fit.curves["PO4 2p3/2"].sum(), rel=1e-3)


def test_free_splitting_exposes_a_too_close_pair():
    """A pair 0.6 eV apart fits far better with the splitting free than fixed at 0.87 eV."""
    lines = [(133.2, 200000.0), (133.8, 100000.0)]
    energy, _, counts = _spectrum(lines, seed=2)
    net = counts - xps.shirley(energy, counts, SHIRLEY)
    free = xps.fit_lines("P 2p", energy, net, counts, {"PO4": 133.0}, MODEL, FREE)
    fixed = xps.fit_lines("P 2p", energy, net, counts, {"PO4": 133.0}, MODEL, FIXED)
    assert free.split_eV == pytest.approx(0.6, abs=0.05)
    assert fixed.redchi > 3 * free.redchi


def test_onset_needs_persistence():
    """One noisy detection neither starts an onset nor hides one."""
    depths = [0, 6, 12, 18, 24, 30, 36]
    assert xps.onset(depths, [False, True, False, False, True, True, True], 3) == 24
    assert xps.onset(depths, [False, False, True, True, False, True, True], 3) is None
    assert xps.onset(depths, [False] * 7, 3) is None
    assert xps.onset(depths, [False, False, True, True, False, True, True], 2) == 12


def test_calibration_puts_the_line_at_the_reference():
    """The shift moves a C-C/C-H line recorded at 285.3 eV onto the reference energy."""
    energy = forward.binding_axis((280.0, 294.0), 0.1)
    counts = np.random.default_rng(4).poisson(forward.expected_counts(energy, [(285.3, 40000.0)], CFG, 800.0))
    spectrum = xps.Spectrum("C 1s", 0.0, energy, counts.astype(float), "C 1s/0")
    for reference in (284.6, 284.8):
        calibration = xps.Calibration(reference, P["calibration_search_eV"], P["calibration_window_eV"])
        shift = xps.calibration_shift(spectrum, calibration, SHIRLEY, MODEL)
        assert 285.3 + shift == pytest.approx(reference, abs=0.02)


def test_constants_file_must_hold_every_factor(tmp_path):
    """A constants file without a region's sensitivity factor is named, with the region."""
    path = tmp_path / "factors.yaml"
    path.write_text("factors: {C 1s: 0.278, O 1s: 0.78}\np2p_spin_orbit_split_eV: 0.87\n"
                    "p2p_area_ratio_12_to_32: 0.5\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"factors\.yaml.*no sensitivity factor for N 1s, P 2p, Li 1s"):
        xps.read_constants(path)
    path.write_text("factors: {C 1s: 0.278}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"factors\.yaml.*missing or malformed entry 'p2p_spin_orbit_split_eV'"):
        xps.read_constants(path)


@pytest.mark.parametrize("text, message", [
    ("factors: {C 1s: 0.278, O 1s: 0.78, N 1s: 0.477, P 2p: 0, Li 1s: 0.025}\np2p_spin_orbit_split_eV: 0.87\n"
     "p2p_area_ratio_12_to_32: 0.5\n", r"factors\.P 2p is 0; it must be a positive finite number"),
    ("factors: {C 1s: 0.278, O 1s: .nan, N 1s: 0.477, P 2p: 0.486, Li 1s: 0.025}\np2p_spin_orbit_split_eV: 0.87\n"
     "p2p_area_ratio_12_to_32: 0.5\n", r"factors\.O 1s is nan"),
    ("factors: {C 1s: 0.278, O 1s: 0.78, N 1s: 0.477, P 2p: 0.486, Li 1s: 0.025}\np2p_spin_orbit_split_eV: .inf\n"
     "p2p_area_ratio_12_to_32: 0.5\n", r"p2p_spin_orbit_split_eV is inf"),
    ("factors: [C 1s: 0.278\n", r"not a readable YAML file"),
], ids=["zero-factor", "nan-factor", "infinite-split", "not-yaml"])
def test_constants_must_be_positive_finite_numbers(tmp_path, text, message):
    """A zero factor would divide by zero in the quantification; NaN would poison it."""
    path = tmp_path / "factors.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=rf"factors\.yaml: .*{message}"):
        xps.read_constants(path)


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
    """N 1s at 72 and P 2p at 150 in the raw data are found there; each number names the
    files it comes from, and the C 1s reference echoes the step's parameter."""
    truth = merge(load_truth(), {"xps": {"n1s_onset_depth": 72, "p2p_onset_depth": 150}})
    write_xps(truth, tmp_path / "raw")
    returned = {n.key: n for n in _run_step(tmp_path / "raw", tmp_path / "build", c1s_reference_eV=284.8)}
    assert (returned["xps.n1s_onset_depth"].value, returned["xps.p2p_onset_depth"].value) == (72, 150)
    assert returned["xps.c1s_reference_eV"].value == 284.8
    sources = {key: {path.name for path in n.derived_from} for key, n in returned.items()}
    assert sources["xps.n1s_onset_depth"] == sources["xps.li3n_n1s_eV"] == {"depth_profile.vms"}
    assert sources["xps.phosphate_p2p_eV"] == {"depth_profile.vms", "xps_sensitivity_factors.yaml"}
    assert sources["xps.ref_n1s_na_eV"] == sources["xps.reference_shift_eV"] == {"lipon_reference.vms"}
    assert sources["xps.ref_stoichiometry"] == {"lipon_reference.vms", "xps_sensitivity_factors.yaml"}
    assert sources["xps.p2p_split_fixed_eV"] == {"xps_sensitivity_factors.yaml"}
    assert set(returned) == set(STEP.numbers)


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
    with pytest.raises(InputError, match=r"ref\.vms.*the file ends inside block 3 of the 5 its header declares "
                                         r"\(after block 'O 1s/0'\): it is cut short; etch step 0 s has no N 1s, P 2p, "
                                         r"Li 1s block"):
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

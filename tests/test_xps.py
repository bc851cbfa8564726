"""XPS: VAMAS reading, Shirley background, doublet fits, the onset rule, quantification."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analysis import xps, xps_figures
from analysis.registry import STEPS
from data.synth import xps as forward
from data.synth.tree import write_xps, write_xps_file, xps_blocks
from data.synth.truth import load_truth, merge
from paperbuild.errors import InputError
from paperbuild.paths import PROJECT_ROOT, Roots
from tests.conftest import assert_composed_svgs

CFG = load_truth()["xps"]
STEP = next(step for step in STEPS if step.name == "xps")
P = STEP.param_values()
SHIRLEY = xps.ShirleySettings(P["edge_channels"], P["flat_background_sigma"], P["shirley_tolerance"])
MODEL = xps.LineModel(P["centre_freedom_eV"], P["gauss_sigma_start_eV"], P["gauss_sigma_range_eV"],
                      P["lorentz_gamma_start_eV"], P["lorentz_gamma_range_eV"], P["free_split_range_eV"],
                      P["area_start_factor"], P["shirley_step_max"])
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
    fit = xps.fit_lines("P 2p", energy, counts, xps.shirley(energy, counts, SHIRLEY), {"PO4": 133.3}, MODEL, FIXED)
    assert fit.lines[0].centre_eV == pytest.approx(132.8, abs=0.02)
    assert fit.lines[0].area == pytest.approx(30000.0, rel=0.03)
    assert fit.split_eV == 0.87
    assert set(fit.curves) == {"PO4 2p3/2", "PO4 2p1/2"}
    assert fit.curves["PO4 2p1/2"].sum() == pytest.approx(0.5 * fit.curves["PO4 2p3/2"].sum(), rel=1e-3)


def test_free_splitting_exposes_a_too_close_pair():
    """A pair 0.6 eV apart fits far better with the splitting free than fixed at 0.87 eV."""
    lines = [(133.2, 200000.0), (133.8, 100000.0)]
    energy, _, counts = _spectrum(lines, seed=2)
    background = xps.shirley(energy, counts, SHIRLEY)
    free = xps.fit_lines("P 2p", energy, counts, background, {"PO4": 133.0}, MODEL, FREE)
    fixed = xps.fit_lines("P 2p", energy, counts, background, {"PO4": 133.0}, MODEL, FIXED)
    assert free.split_eV == pytest.approx(0.6, abs=0.05)
    assert fixed.redchi > 3 * free.redchi


@pytest.mark.parametrize("split", [0.4, 0.5, 0.6])
def test_close_doublet_splitting_is_recovered(split):
    """A P 2p pair 0.5 eV apart on a reference-like window (strong lines with Lorentzian
    tails on a high background) comes back within the splitting's accuracy goal.

    The failure this pins: with the Shirley background anchored on the window's edge
    channels (lifted there by the lines' tails) subtracted before the fit, the fit
    narrowed the lines and pulled the partners together: 0.50 eV came out 0.47 eV,
    0.40 eV came out 0.35 eV.  The background is now fitted with the lines.
    """
    from data.synth.priors import load_goals

    goal = load_goals()["xps.ref_p2p_split_eV"]["goal"]
    area = 0.486 * 4.0e6
    energy, _, counts = _spectrum([(133.2, area * 2 / 3), (133.2 + split, area / 3)], flat=20000.0, seed=5)
    spectrum = xps.Spectrum("P 2p", 0.0, energy, counts, "P 2p/0")
    _, fit = xps.fit_region(spectrum, {"PO4": 133.0}, SHIRLEY, MODEL, FREE)
    assert abs(fit.split_eV - split) <= goal / 2
    assert abs(fit.lines[0].centre_eV - 133.2) <= goal / 2
    assert fit.lines[0].area == pytest.approx(area, rel=0.005)


def test_fit_with_the_right_model_has_unit_reduced_chi_square():
    """The free doublet fit of a pair it can describe leaves counting noise only (reduced
    chi-square near 1, not inflated by a mis-anchored background), so the fixed-split
    fit's ratio to it measures the fixed splitting's misfit alone."""
    area = 0.486 * 4.0e6
    ratios = []
    for seed in range(3):
        energy, _, counts = _spectrum([(133.2, area * 2 / 3), (133.8, area / 3)], flat=20000.0, seed=seed)
        fit = xps.fit_lines("P 2p", energy, counts, xps.shirley(energy, counts, SHIRLEY), {"PO4": 133.0}, MODEL, FREE)
        ratios.append(fit.redchi)
    assert 0.75 < np.mean(ratios) < 1.25


def test_window_without_a_shirley_fixed_point_still_fits():
    """A strong line near the low end of a long window with a large Shirley step: the
    iterative Shirley has no fixed point (the constructed step stops short of the
    averaged edges'), which stopped the whole step on one realization in four.  The
    edge background falls back to the straight line, and the line fit, which fits its
    own background, still finds the line where it is."""
    cfg = dict(CFG, shirley_step=0.1, gauss_sigma_eV=0.65)
    energy, _, counts = _spectrum([(394.4, 3000.0)], flat=1750.0, seed=2, window=(388.0, 410.0), cfg=cfg)
    with pytest.raises(xps.NoShirleyFixedPoint):
        xps.shirley(energy, counts, SHIRLEY)
    spectrum = xps.Spectrum("N 1s", 0.0, energy, counts, "N 1s/78")
    background, fit = xps.fit_region(spectrum, {"Li3N": 394.0}, SHIRLEY, MODEL, None)
    assert np.allclose(np.diff(background, 2), 0.0, atol=1e-9)
    assert fit.lines[0].centre_eV == pytest.approx(394.4, abs=0.03)
    area, sigma = xps.net_area(energy, counts, background, SHIRLEY.edge_channels)
    assert area > P["detection_sigma"] * sigma


@pytest.mark.parametrize("moved", [-0.3, 0.3])
def test_literature_starts_do_not_bias_moved_lines(moved):
    """The reference's O 1s and N 1s components start at literature energies (module
    constants); lines moved by the priors' +-0.3 eV from truth.yaml's positions, each
    pair as close as the priors allow (O 1s 1.1 eV, N 1s 0.9 eV apart), are found within
    their goal.  (Farther than ``centre_freedom_eV`` from its start a line is outside
    what the method claims to find.)"""
    from data.synth.priors import load_goals

    goals = load_goals()
    for region, window, lines, shares in (
            ("O 1s", (522.0, 539.0), {"NBO": 531.3 + moved, "BO": 531.3 + moved + 1.1}, (0.8, 0.2)),
            ("N 1s", (388.0, 410.0), {"Na": 397.3 + moved, "Nb": 397.3 + moved + 0.9, "NO2-": 403.7 - moved},
             (0.46, 0.44, 0.10))):
        area = 2.0e6
        truth = [(centre, area * share) for centre, share in zip(lines.values(), shares)]
        energy, _, counts = _spectrum(truth, flat=20000.0, seed=7, window=window)
        spectrum = xps.Spectrum(region, 0.0, energy, counts, f"{region}/0")
        _, fit = xps.fit_region(spectrum, xps.REFERENCE_STATES[region], SHIRLEY, MODEL, None)
        for line in fit.lines:
            key = {"NBO": "xps.ref_o1s_nbo_eV", "BO": "xps.ref_o1s_bo_eV", "Na": "xps.ref_n1s_na_eV",
                   "Nb": "xps.ref_n1s_nb_eV", "NO2-": "xps.ref_n1s_no2_eV"}[line.name]
            assert abs(line.centre_eV - lines[line.name]) <= goals[key]["goal"], (region, line)


def test_expected_numbers_of_the_default_truth():
    """The truth implies the published positions, the charge shifts undone, and the
    fixed-split ratio of the noise-free reference (a 0.6 eV pair: far worse than 1)."""
    expected = forward.expected_numbers(load_truth())
    assert expected["xps.ref_p2p_split_eV"] == pytest.approx(0.6)
    assert expected["xps.profile_shift_eV"] == -CFG["charge_shift_eV"]["profile"]
    assert expected["xps.ref_stoichiometry"] == pytest.approx([2.84, 3.35, 0.38])
    assert expected["xps.ref_p2p_fixed_split_redchi_ratio"] > 100


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
    assert len(keys) == 16        # the C 1s reference (284.6 eV) and the acquisition settings are the original's too
    for key in keys:
        np.testing.assert_allclose(numbers[key]["value"], ledger[key]["published"], atol=ledger[key]["tolerance"],
                                   err_msg=key)


def test_acquisition_settings_are_read_from_every_header(tmp_path):
    """The X-ray energy and analysed area the methods quote come from the VAMAS headers of
    both files; a file whose blocks were taken over another area is named."""
    truth = load_truth()
    write_xps(truth, tmp_path / "raw")
    returned = {n.key: n for n in _run_step(tmp_path / "raw", tmp_path / "build")}
    assert returned["xps.photon_energy_eV"].value == truth["xps"]["photon_energy_eV"]
    assert (returned["xps.analysis_width_x_um"].value, returned["xps.analysis_width_y_um"].value) == (300, 700)
    assert {p.name for p in returned["xps.photon_energy_eV"].derived_from} == {"depth_profile.vms",
                                                                             "lipon_reference.vms"}
    reference = tmp_path / "raw" / "xps" / "lipon_reference.vms"
    reference.write_text(reference.read_text().replace("\n300\n700\n", "\n300\n600\n"))
    with pytest.raises(InputError, match=r"lipon_reference\.vms: block .* over 300 x 600 um, block .* of "
                                         r"depth_profile\.vms at 1486\.7 eV over 300 x 700 um"):
        _run_step(tmp_path / "raw", tmp_path / "build")


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


# ------------------------------------------------------------------ Figures 4, S8 and S9
FIG_STEP = next(step for step in STEPS if step.name == "xps_figures")


@pytest.mark.parametrize("state, printed", [
    ("NO2-", "NO$_{2}^{\u2212}$"),
    ("PO4 2p3/2", "PO$_{4}^{3\u2212}$ 2p$_{3/2}$"),
    ("CO3/PO4", "CO$_{3}^{2\u2212}$/PO$_{4}^{3\u2212}$"),
    ("Li2O/Li3N", "Li$_{2}$O/Li$_{3}$N"),
    ("Na", "N$_\\mathrm{a}$"),
    ("NBO", "NBO"),
    ("Li metal", "Li metal"),
    ("C-C/C-H", "C-C/C-H"),
])
def test_component_label_prints_formulas(state, printed):
    """Fitted states print as chemistry (no raw "PO4" or "NO2-", no sodium for N_a)."""
    assert xps_figures.component_label(state) == printed


def _profile_tables(depths, onset, peak_eV):
    """Net spectra of N 1s with a line at ``peak_eV`` from ``onset`` on, and the O 1s fits at the surface."""
    energy = np.round(np.arange(390.0, 400.0, 0.1), 2)
    rows = []
    for depth in depths:
        counts = 100.0 + 500.0 * np.exp(-0.5 * ((energy - peak_eV) / 0.6) ** 2) * (depth >= onset)
        rows += [(depth, "N 1s", x, c, 100.0) for x, c in zip(energy, counts)]
    spectra = np.array(rows, dtype=[("depth", int), ("region", "U5"), ("binding_eV", float), ("counts", float),
                                    ("background", float)])
    lines = np.array([(depths[0], "O 1s", "Li2O", 528.6, 1.0, 0.5), (depths[0], "N 1s", "Li3N", 394.0, 0.0, 0.5)],
                     dtype=[("depth", int), ("region", "U5"), ("state", "U9"), ("centre_eV", float),
                            ("area", float), ("sigma_eV", float)])
    return spectra, lines


def test_phase_label_points_at_the_onset_spectrum_peak():
    """Li3N is named where N 1s first appears: at the peak of the onset spectrum, wherever that is."""
    depths = np.arange(0, 60, 6)
    spectra, lines = _profile_tables(depths, onset=36, peak_eV=393.7)
    stack = xps_figures.stack(spectra, "N 1s", depths.astype(float))
    (label, energy, height), = xps_figures.phase_labels(stack, "N 1s", lines, 36.0)
    assert "Li$_{3}$N" in label and "36" in label
    assert energy == pytest.approx(393.7, abs=0.05)
    assert height == pytest.approx(36.0 - xps_figures.STACK_PEAK_STEPS * 6.0, rel=0.01)  # the strongest line
    assert xps_figures.phase_labels(stack, "N 1s", lines, None) == []  # no onset, no label


def test_label_strip_lies_above_every_spectrum():
    """The depth axis leaves the label strip free: the highest drawn line sits just below it."""
    depths = np.arange(0, 60, 6)
    spectra, _ = _profile_tables(depths, onset=0, peak_eV=395.0)
    stack = xps_figures.stack(spectra, "N 1s", depths.astype(float))
    bottom, top = xps_figures.stack_limits([stack])
    highest = min(stack.drawn(i).min() for i in range(depths.size))
    assert (highest - top) / (bottom - top) == pytest.approx(xps_figures.LABEL_HEADROOM)
    assert bottom > depths.max()


@pytest.mark.parametrize("maximum, exponent, label", [
    (5.29e6, 6, "Counts (10$^{6}$)"), (1.2e6, 6, "Counts (10$^{6}$)"), (2.9e5, 3, "Counts (10$^{3}$)"),
    (999.0, 0, "Counts"), (1000.0, 3, "Counts (10$^{3}$)"), (0.5, 0, "Counts"),
])
def test_count_scale_keeps_ticks_below_a_thousand(maximum, exponent, label):
    """A panel's counts are divided by 10^0, 10^3, 10^6 ... so the peak reads between 1 and 1000
    (the O 1s reference peaks at 5.3 million counts: once printed as 5000 under "10^3")."""
    assert xps_figures.count_scale(maximum) == exponent
    assert 0.5 <= maximum / 10.0**exponent < 1000.0
    assert xps_figures.count_label(exponent) == label
    with pytest.raises(ValueError, match="positive"):
        xps_figures.count_scale(0.0)


def test_reference_panel_states_the_scale_it_draws():
    """Figure S8: the drawn counts times the power in the axis label give back the recorded counts."""
    from analysis import style

    energy = np.round(np.arange(525.0, 540.0, 0.1), 2)
    counts = 6.0e5 + 4.7e6 * np.exp(-0.5 * ((energy - 531.3) / 0.7) ** 2)
    rows = [("O 1s", curve, x, v) for curve, values in (("counts", counts), ("background", np.full_like(counts, 6e5)),
                                                         ("envelope", counts))
            for x, v in zip(energy, values)]
    curves = np.array(rows, dtype=[("region", "U5"), ("curve", "U12"), ("binding_eV", float), ("value", float)])
    lines = np.zeros(0, dtype=[("region", "U5"), ("state", "U9"), ("centre_eV", float), ("area", float),
                               ("sigma_eV", float)])
    plt = style.pyplot(PROJECT_ROOT / FIG_STEP.inputs["style"].path)
    fig = style.figure(plt, "single", 60)
    ax = fig.add_subplot()
    xps_figures.draw_reference(ax, curves, lines, "O 1s")
    assert ax.get_ylabel() == "Counts (10$^{6}$)"
    drawn = ax.lines[0].get_ydata()
    assert np.allclose(drawn * 1e6, counts)
    assert max(ax.get_yticks()) < 10
    plt.close(fig)


@pytest.mark.slow
def test_figure_step_writes_one_composed_svg_per_figure(default_build, tmp_path):
    """Figures 4, S8 and S9 are each one SVG at a Cell Press column width, no taller than a page allows."""
    from paperbuild.runner import Declared

    roots = Roots(raw=default_build, build=default_build)
    outputs = {role: tmp_path / rel for role, rel in FIG_STEP.outputs.items()}
    assert set(outputs) == {"fig4", "figS8", "figS9"}
    xps_figures.run(Declared(FIG_STEP.name, "input", FIG_STEP.resolve_inputs(roots)),
                    Declared(FIG_STEP.name, "output", outputs))
    assert_composed_svgs(outputs.values())

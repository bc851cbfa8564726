"""XRD: Li2CO3 powder lines from its structure, peak detection, indexing, bad patterns,
and patterns taken with Cu, Co and Mo K-alpha tubes (the wavelength comes from each file)."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from analysis import style, xrd, xrd_figures
from analysis.registry import STEPS
from data.synth import xrd as forward
from data.synth.priors import PRIORS_DIR
from data.synth.tree import write_xrd
from data.synth.truth import load_truth, merge
from paperbuild.errors import InputError
from paperbuild.paths import PROJECT_ROOT, Roots
from analysis.style import svg_size_mm

CFG = load_truth()["xrd"]
STEP = next(step for step in STEPS if step.name == "xrd")
P = STEP.param_values()
RULE = xrd.PeakRule(P["smoothing_points"], P["smoothing_order"], P["detection_sigma"], P["min_separation_fwhm"],
                   P["prominence_sigma"], P["own_height_sigma"])
STRUCTURE = PROJECT_ROOT / STEP.inputs["li2co3_structure"].path
CU_A = 1.54178  # the wavelength the default truth's exports state (Cu K-alpha)
# the tubes the priors draw: each a complete xrd section of the truth (wavelength, 2θ range, step, ...)
TUBES = {forward.tube(option["wavelength_A"]): option
         for option in yaml.safe_load((PRIORS_DIR / "xrd.yaml").read_text(encoding="utf-8"))["ranges"]["xrd"]["choice"]}


def _run_step(raw, build, **changed):
    """The xrd step's ``run`` on a raw tree, with the registry's parameters (some changed)."""
    roots = Roots(raw=raw, build=build)
    outputs = {role: roots.build / rel for role, rel in STEP.outputs.items()}
    for path in outputs.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    return xrd.run(STEP.resolve_inputs(roots), outputs, **dict(P, **changed))


@pytest.fixture(scope="module")
def reflections():
    return xrd.powder_reflections(xrd.load_structure(STRUCTURE), CU_A, 70.0)


def _monoclinic_d(hkl, a=8.3593, b=4.9725, c=6.1975, beta=114.83):
    h, k, l = hkl
    s = np.sin(np.radians(beta))
    inverse = (h**2 / a**2 + k**2 * s**2 / b**2 + l**2 / c**2 - 2 * h * l * np.cos(np.radians(beta)) / (a * c)) / s**2
    return 1 / np.sqrt(inverse)


def test_line_positions_follow_the_monoclinic_cell(reflections):
    """Every line's d is the textbook monoclinic d(hkl) of its indices."""
    for r in reflections:
        assert r.d_A == pytest.approx(_monoclinic_d(r.hkl), abs=2e-4), r.hkl


def test_c2c_extinctions(reflections):
    """C-centring removes h+k odd; the c-glide removes h0l with l odd."""
    for r in reflections:
        h, k, l = r.hkl
        assert (h + k) % 2 == 0, r.hkl
        if k == 0:
            assert l % 2 == 0, r.hkl
    strongest = sorted(reflections, key=lambda r: -r.intensity)[:3]
    assert {r.hkl for r in strongest} <= {(0, 0, 2), (2, 0, -2), (1, 1, 0)}


def test_peaks_found_on_a_hump_and_none_in_noise():
    """Bragg peaks on the amorphous background are found; the background alone gives none."""
    two_theta = forward.axis(CFG)
    hump = forward.amorphous(two_theta, CFG)
    lines = [(25.0, 1.0), (40.0, 0.3)]
    for seed in range(5):
        rng = np.random.default_rng(seed)
        counts = rng.poisson(hump + forward.bragg(two_theta, lines, CFG)).astype(float)
        stiffness = P["background_stiffness"]
        found = xrd.find_peaks(two_theta, counts, xrd.background(two_theta, counts, stiffness), RULE)
        assert [round(p.two_theta_deg, 1) for p in found] == [25.0, 40.0]
        plain = rng.poisson(hump).astype(float)
        assert xrd.find_peaks(two_theta, plain, xrd.background(two_theta, plain, stiffness), RULE) == []


def test_close_maxima_are_one_peak():
    """The separation rule is in units of the pattern's own peak width: two lines 0.25°
    apart are one peak when 0.3° wide (Cu-like), two when 0.08° wide (Mo-like), and a
    rule of two widths joins them again."""
    two_theta = forward.axis(dict(CFG, step_deg=0.01))
    lines = [(30.0, 1.0), (30.25, 1.0)]
    base = np.full_like(two_theta, 200.0)

    def found(fwhm, rule=RULE):
        counts = base + forward.bragg(two_theta, lines, dict(CFG, peak_fwhm_deg=fwhm)) * 50
        return [p for p in xrd.find_peaks(two_theta, counts, base, rule) if 29.5 < p.two_theta_deg < 30.8]

    assert len(found(0.30)) == 1
    assert len(found(0.08)) == 2
    assert len(found(0.08, xrd.PeakRule(9, 2, 5.0, 3.5, 2.0))) == 1


def test_indexing_takes_the_strongest_line_in_tolerance(reflections):
    peaks = [xrd.Peak(31.80, 100.0, 5.0), xrd.Peak(26.0, 50.0, 5.0)]
    matched = xrd.index_peaks(peaks, reflections, P["match_tolerance_fwhm"] * 0.22, P["min_reflection_pct"] / 100)
    assert matched[0][1].hkl == (0, 0, 2)
    assert matched[1][1] is None


def test_new_peaks_are_those_without_a_pristine_neighbour():
    exposed = [xrd.Peak(20.0, 10.0, 1.0), xrd.Peak(31.8, 10.0, 1.0)]
    pristine = [xrd.Peak(20.1, 10.0, 1.0)]
    assert xrd.new_peaks(exposed, pristine, 0.15) == [exposed[1]]
    assert xrd.new_peaks(exposed, pristine, 0.05) == exposed


def test_numbers_reproduce_the_paper(default_build):
    """Air exposure brings Li2CO3 lines only; the 100 K film has no Bragg peak."""
    from paperbuild.numbers import load

    numbers = {k: v["value"] for k, v in load(default_build / "numbers.json").items()}
    assert numbers["xrd.cryo_amorphous"] is True
    assert numbers["xrd.pristine_peaks"] == 0
    assert numbers["xrd.li2co3_matched_peaks"] == numbers["xrd.new_peaks"] >= 8
    assert "(002)" in numbers["xrd.li2co3_matched_hkl"]


def test_no_carbonate_no_matches(tmp_path):
    """Without Li2CO3 in the air-exposed film nothing is indexed; each number names the
    patterns (and the structure) it comes from."""
    write_xrd(merge(load_truth(), {"xrd": {"carbonate_counts": 0.0}}), tmp_path / "raw")
    returned = {n.key: n for n in _run_step(tmp_path / "raw", tmp_path / "build")}
    assert returned["xrd.li2co3_matched_peaks"].value == 0
    sources = {key: {path.name for path in n.derived_from} for key, n in returned.items()}
    assert sources["xrd.pristine_peaks"] == {"lipon_pristine.xy"}
    assert sources["xrd.cryo_amorphous"] == sources["xrd.cryo_peaks"] == {"lipon_cryo_100K.xy"}
    assert sources["xrd.new_peaks"] == {"lipon_pristine.xy", "lipon_air_2d.xy"}
    assert sources["xrd.li2co3_matched_hkl"] == {"lipon_pristine.xy", "lipon_air_2d.xy", "li2co3_structure.yaml"}
    assert set(returned) == set(STEP.numbers)


@pytest.mark.parametrize("edit, message", [
    (lambda lines: lines[:5] + [lines[6], lines[5]] + lines[7:], "not strictly increasing"),
    (lambda lines: lines[:4] + ["12.0 lots"] + lines[5:], "not a two-column"),
    (lambda lines: [l for l in lines if "wavelength" not in l], "states no wavelength"),
    (lambda lines: lines[:2] + ["# wavelength: 1.79026 A"] + lines[2:], "state two wavelengths"),
    (lambda lines: [l.replace("1.54178 A", "1.54178 nm") for l in lines], "outside the 0.1-5 Å"),
], ids=["order", "text", "no-wavelength", "two-wavelengths", "unit-slip"])
def test_bad_patterns_are_named(tmp_path, edit, message):
    write_xrd(load_truth(), tmp_path / "raw")
    path = tmp_path / "raw" / "xrd" / "lipon_pristine.xy"
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
    with pytest.raises(InputError, match=f"lipon_pristine.xy.*{message}"):
        xrd.read_xy(path)


def test_wavelength_is_read_from_the_header(tmp_path):
    """The export's own wavelength is returned, in Å whatever unit the header uses: no
    wavelength is assumed by the analysis."""
    write_xrd(load_truth(), tmp_path / "raw")
    path = tmp_path / "raw" / "xrd" / "lipon_pristine.xy"
    assert xrd.read_xy(path)[2] == pytest.approx(CU_A)
    path.write_text(path.read_text().replace("1.54178 A (Cu K-alpha)", "0.179026 nm (Co K-alpha)"))
    assert xrd.read_xy(path)[2] == pytest.approx(1.79026)


def test_pristine_and_exposed_must_share_the_tube(tmp_path):
    """Peaks are compared by angle, so a pristine pattern from another tube is refused by name."""
    write_xrd(load_truth(), tmp_path / "raw")
    path = tmp_path / "raw" / "xrd" / "lipon_pristine.xy"
    path.write_text(path.read_text().replace("1.54178 A (Cu K-alpha)", "0.71073 A (Mo K-alpha)"))
    message = r"lipon_air_2d.xy: recorded with wavelength 1\.54178 Å, but lipon_pristine.xy with 0\.71073 Å"
    with pytest.raises(InputError, match=message):
        _run_step(tmp_path / "raw", tmp_path / "build")


def test_header_names_the_tube_of_its_wavelength(tmp_path):
    """The synthetic export's header names the anode whose K-alpha the wavelength is."""
    for name, option in TUBES.items():
        write_xrd(merge(load_truth(), {"xrd": option}), tmp_path / name)
        header = (tmp_path / name / "xrd" / "lipon_air_2d.xy").read_text().splitlines()[1]
        assert header == f"# wavelength: {option['wavelength_A']} A ({name})"
    assert set(TUBES) == {"Cu K-alpha", "Co K-alpha", "Mo K-alpha"}


# a film whose Li2CO3 lines are all far above the counting noise (every line of at least 12 % of
# the strongest, none weaker): which lines the pattern shows is then not a matter of chance
CLEAR_FILM = {"carbonate_counts": 3000.0, "carbonate_min_relative": 0.12}


@pytest.fixture(scope="module")
def tube_results(tmp_path_factory):
    """The xrd step on the same film measured with each tube of the priors."""
    results = {}
    for name, option in TUBES.items():
        root = tmp_path_factory.mktemp(name.split()[0])
        truth = merge(load_truth(), {"xrd": dict(option, **CLEAR_FILM)})
        write_xrd(truth, root / "raw")
        numbers = {n.key: n.value for n in _run_step(root / "raw", root / "build")}
        table = (root / "build" / STEP.outputs["peaks"]).read_text(encoding="utf-8").splitlines()[1:]
        found = [row.split(",") for row in table if row.startswith("air-exposed,")]
        results[name] = (truth, numbers, found, root / "build")
    return results


@pytest.mark.parametrize("tube", ["Cu K-alpha", "Co K-alpha", "Mo K-alpha"])
def test_each_tube_is_indexed_with_its_own_reflections(tube_results, tube):
    """A Co or Mo pattern is analysed at its recorded wavelength: the same Li2CO3 lines are
    found and named as with Cu, each peak sits where Bragg's law puts that line at this
    wavelength, and the numbers are what the truth implies."""
    truth, numbers, found, _ = tube_results[tube]
    expected = forward.expected_numbers(truth)
    assert numbers["xrd.li2co3_matched_hkl"] == expected["xrd.li2co3_matched_hkl"]
    assert numbers["xrd.new_peaks"] == numbers["xrd.li2co3_matched_peaks"] == expected["xrd.new_peaks"] >= 9
    assert numbers["xrd.pristine_peaks"] == numbers["xrd.cryo_peaks"] == 0
    wavelength = truth["xrd"]["wavelength_A"]
    computed = xrd.powder_reflections(xrd.load_structure(STRUCTURE), wavelength, truth["xrd"]["two_theta_deg"][1])
    for _, position, _, _, hkl, reference in found:
        line = next(r for r in computed if xrd.hkl_label(r.hkl) == hkl)
        assert float(reference) == pytest.approx(np.degrees(2 * np.arcsin(wavelength / (2 * line.d_A))), abs=1e-3)
        assert float(position) == pytest.approx(float(reference), abs=0.25 * truth["xrd"]["peak_fwhm_deg"])
    cu = tube_results["Cu K-alpha"][1]["xrd.li2co3_matched_hkl"]
    assert numbers["xrd.li2co3_matched_hkl"][:9] == cu[:9]  # the same film: the same strong lines


def test_a_cu_wavelength_would_misindex_a_mo_pattern(tube_results, tmp_path):
    """The failure fixed: indexing a Mo pattern with Cu reflections finds (almost) nothing."""
    truth, numbers, _, _ = tube_results["Mo K-alpha"]
    write_xrd(truth, tmp_path / "raw")
    scans = {role: xrd.read_xy(tmp_path / "raw" / "xrd" / name)
             for role, name in (("pristine", "lipon_pristine.xy"), ("air_exposed", "lipon_air_2d.xy"),
                                ("cryo", "lipon_cryo_100K.xy"))}
    as_cu = {role: (t, c, CU_A) for role, (t, c, _) in scans.items()}
    atoms = xrd.load_structure(STRUCTURE)
    args = (atoms, P["background_stiffness"], RULE, P["match_tolerance_fwhm"], P["min_reflection_pct"] / 100,
            P["background_rounds"], P["edge_fwhm"])
    right = xrd.analyse(scans, *args)
    wrong = xrd.analyse(as_cu, *args)
    assert len(right.matched) == numbers["xrd.li2co3_matched_peaks"] == len(right.new)
    assert len(wrong.matched) < len(wrong.new) // 2


def test_refitted_background_does_not_rise_under_a_cluster():
    """Overlapping Lorentzian tails of a line cluster lift a plain arPLS baseline; refitting
    it with the found peaks' profiles taken out brings it down towards the true background
    (without overshooting it)."""
    cfg = dict(CFG, peak_eta=0.7, peak_fwhm_deg=0.25)
    two_theta = forward.axis(cfg)
    true = forward.amorphous(two_theta, cfg)
    lines = [(56.9, 0.6), (57.8, 0.8), (58.5, 0.7), (59.1, 1.0), (59.8, 0.9), (61.2, 0.6)]
    counts = np.random.default_rng(3).poisson(true + forward.bragg(two_theta, lines, cfg)).astype(float)
    cluster = (two_theta > 56) & (two_theta < 62)
    plain = xrd.background(two_theta, counts, P["background_stiffness"])
    refined = xrd.refined_background(two_theta, counts, P["background_stiffness"], RULE, P["background_rounds"])
    excess = {name: float(np.mean((fit - true)[cluster] / np.sqrt(true[cluster])))
              for name, fit in (("plain", plain), ("refined", refined))}
    assert excess["plain"] > 2.5  # counting sigmas: weak lines of the cluster would sink below 5 sigma
    assert 0.0 < excess["refined"] < 0.6 * excess["plain"]


def test_a_ripple_on_a_strong_flank_is_no_peak():
    """A bump that the strong neighbour's tail almost explains can pass the height rule
    (the tail lifts it) but not the joint fit: its own profile is too small."""
    cfg = dict(CFG, peak_fwhm_deg=0.2, peak_eta=0.6)
    two_theta = forward.axis(cfg)
    base = np.full_like(two_theta, 300.0)
    strong = 20 * forward.bragg(two_theta, [(30.0, 1.0)], cfg)
    ripple = 50.0 * np.exp(-4 * np.log(2) * ((two_theta - 31.0) / 0.1) ** 2)
    counts = base + strong + ripple
    candidates = xrd.find_peaks(two_theta, counts, base, RULE)
    assert [round(p.two_theta_deg, 1) for p in candidates] == [30.0, 31.0]
    assert candidates[1].height > 10 * candidates[1].sigma  # the tail lifts it far above 5 sigma
    confirmed = xrd.confirmed_peaks(two_theta, counts, base, candidates, RULE, P["edge_fwhm"])
    assert [round(p.two_theta_deg, 1) for p in confirmed] == [30.0]


def test_a_line_beyond_the_scan_end_is_no_peak():
    """A line just past the last angle shows only its flank: never counted, whatever the noise."""
    two_theta = forward.axis(CFG)
    hump = forward.amorphous(two_theta, CFG)
    for seed in range(5):
        counts = np.random.default_rng(seed).poisson(hump + forward.bragg(two_theta, [(70.05, 0.5)], CFG)).astype(float)
        base = xrd.refined_background(two_theta, counts, P["background_stiffness"], RULE, P["background_rounds"])
        peaks = xrd.find_peaks(two_theta, counts, base, RULE)
        assert xrd.confirmed_peaks(two_theta, counts, base, peaks, RULE, P["edge_fwhm"]) == []


@pytest.mark.parametrize("text, message", [
    ("space_group: 15\ncell: {a: 8.36, b: 4.97, c: .nan, alpha: 90, beta: 114.8, gamma: 90}\nsites: [[Li, 0, 0, 0]]\n",
     r"cell parameters .* must be positive finite numbers"),
    ("space_group: 15\ncell: {a: 8.36}\nsites: [[Li, 0, 0, 0]]\n", r"missing or malformed entry 'b'"),
    ("space_group: 999\ncell: {a: 8.36, b: 4.97, c: 6.2, alpha: 90, beta: 114.8, gamma: 90}\nsites: [[Li, 0, 0, 0]]\n",
     r"ASE cannot build the structure"),
    ("space_group: [15\n", r"not a readable YAML file"),
], ids=["nan-cell", "missing-b", "no-such-space-group", "not-yaml"])
def test_bad_structure_file_is_named(tmp_path, text, message):
    path = tmp_path / "structure.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=rf"structure\.yaml: {message}"):
        xrd.load_structure(path)


# ------------------------------------------------------------------ Figure S4
FIGURE_STEP = next(step for step in STEPS if step.name == "xrd_figures")


@pytest.mark.parametrize("tube", ["Cu K-alpha", "Co K-alpha", "Mo K-alpha"])
def test_figure_s4_is_one_clean_figure_for_every_tube(tube_results, tube, tmp_path):
    """The figure step writes Figure S4 as one SVG at double width, and for a Cu, Co or Mo
    pattern it passes the layout check: no Miller index, trace name or legend overprints another."""
    build = tube_results[tube][3]
    inputs = {role: build / spec.path for role, spec in FIGURE_STEP.inputs.items() if role != "style"}
    inputs["style"] = PROJECT_ROOT / FIGURE_STEP.inputs["style"].path
    plt = style.pyplot(inputs["style"])
    from analysis import datatable

    tables = [datatable.read(inputs[k]) for k in ("patterns", "peaks", "li2co3_reflections")]
    assert style.layout_faults(xrd_figures.compose_figS4(*tables, plt)) == []
    plt.close("all")
    out = tmp_path / FIGURE_STEP.outputs["figS4"]
    xrd_figures.run(inputs, {"figS4": out})
    assert out.read_text(encoding="utf-8").lstrip().startswith("<?xml") and "<svg" in out.read_text(encoding="utf-8")
    width, height = svg_size_mm(out)
    assert width == pytest.approx(style.WIDTHS_MM["double"], abs=0.1)
    assert 0 < height <= style.MAX_HEIGHT_MM


def test_figure_step_declares_the_one_composed_figure():
    """Figure S4 is one output with the agreed name; the step reads the style sheet."""
    assert FIGURE_STEP.outputs == {"figS4": "figures/figS4_xrd.svg"}
    assert "style" in FIGURE_STEP.inputs


def test_spread_positions_leaves_spaced_labels_alone():
    """Labels already far enough apart stay over their peaks."""
    x = np.array([30.0, 10.0, 20.0])
    np.testing.assert_allclose(xrd_figures.spread_positions(x, 2.0, 0.0, 40.0), x)


def test_spread_positions_spreads_a_cluster_about_its_centre():
    """Three labels on one spot spread symmetrically, exactly one gap apart, in input order."""
    out = xrd_figures.spread_positions([5.0, 5.0, 5.0], 1.0, 0.0, 10.0)
    np.testing.assert_allclose(out, [4.0, 5.0, 6.0])


def test_spread_positions_keeps_order_gap_and_bounds():
    """Random crowded positions: order kept, neighbours at least a gap apart, inside the bounds."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 5.0, 15)
    out = xrd_figures.spread_positions(x, 0.5, 0.2, 9.8)
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(out[order]) >= 0.5 - 1e-9)
    assert out.min() >= 0.2 - 1e-9 and out.max() <= 9.8 + 1e-9
    # least squares: nudging the solution any way within the constraints does not bring it closer
    assert np.sum((out - x) ** 2) <= np.sum((np.sort(x)[0] + 0.2 + 0.5 * np.arange(15) - np.sort(x)) ** 2)


def test_spread_positions_at_a_bound_shifts_the_whole_run():
    """A cluster at the lower bound is pushed inside, all of it."""
    np.testing.assert_allclose(xrd_figures.spread_positions([0.0, 0.1], 1.0, 0.5, 10.0), [0.5, 1.5])


def test_spread_positions_refuses_labels_that_cannot_fit():
    with pytest.raises(ValueError, match="do not fit"):
        xrd_figures.spread_positions([1.0, 2.0, 3.0], 5.0, 0.0, 9.0)
    with pytest.raises(ValueError, match="negative"):
        xrd_figures.spread_positions([1.0], -1.0, 0.0, 9.0)


def test_headroom_limit_leaves_the_room_asked_for():
    """The data's top lies the asked number of points below the axes' top."""
    top = xrd_figures.headroom_limit(0.0, 100.0, 20.0, 200.0)
    assert (top - 100.0) / top * 200.0 == pytest.approx(20.0)
    with pytest.raises(ValueError, match="do not fit"):
        xrd_figures.headroom_limit(0.0, 100.0, 200.0, 200.0)


def test_mathtext_hkl_bars_negative_indices():
    """Each negative index gets a mathtext overbar, whichever way the table marks it (combining
    macron or overline after the digit, hyphen or minus sign before it); no combining
    character, which prints as a strike through the next glyph, is left in a label."""
    assert xrd_figures.mathtext_hkl("(2\u03042\u0304 0)".replace(" ", "")) == r"$(\bar{2}\bar{2}0)$"
    for written in ("(31\u03041)", "(31\u03051)", "(3-11)", "(3\u221211)"):
        assert xrd_figures.mathtext_hkl(written) == r"$(3\bar{1}1)$", written
    assert xrd_figures.mathtext_hkl("(110)") == "$(110)$"


def test_figure_s4_draws_miller_indices_with_overbars(tube_results):
    """Every drawn Miller index of Figure S4 is mathtext; a negative index is an overbar (the
    table's own indices have some), never a combining character."""
    build = tube_results["Cu K-alpha"][3]
    from analysis import datatable

    inputs = {role: build / spec.path for role, spec in FIGURE_STEP.inputs.items() if role != "style"}
    plt = style.pyplot(PROJECT_ROOT / FIGURE_STEP.inputs["style"].path)
    tables = [datatable.read(inputs[k]) for k in ("patterns", "peaks", "li2co3_reflections")]
    texts = [t for t, *_ in style.drawn_texts(xrd_figures.compose_figS4(*tables, plt))]
    plt.close("all")
    indices = [t for t in texts if t.startswith("$(")]
    assert indices and any(r"\bar{" in t for t in indices)
    assert not any(c in t for t in texts for c in ("\u0304", "\u0305"))

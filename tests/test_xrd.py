"""XRD: Li2CO3 powder lines from its structure, peak detection, indexing, bad patterns."""
from __future__ import annotations

import numpy as np
import pytest

from analysis import xrd
from analysis.registry import STEPS
from data.synth import xrd as forward
from data.synth.tree import write_xrd
from data.synth.truth import load_truth, merge
from paperbuild.errors import InputError
from paperbuild.paths import PROJECT_ROOT, Roots

CFG = load_truth()["xrd"]
STEP = next(step for step in STEPS if step.name == "xrd")
P = STEP.param_values()
RULE = xrd.PeakRule(P["smoothing_points"], P["smoothing_order"], P["detection_sigma"], P["min_separation_deg"])
STRUCTURE = PROJECT_ROOT / STEP.inputs["li2co3_structure"].path


def _run_step(raw, build, **changed):
    """The xrd step's ``run`` on a raw tree, with the registry's parameters (some changed)."""
    roots = Roots(raw=raw, build=build)
    outputs = {role: roots.build / rel for role, rel in STEP.outputs.items()}
    for path in outputs.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    return xrd.run(STEP.resolve_inputs(roots), outputs, **dict(P, **changed))


@pytest.fixture(scope="module")
def reflections():
    return xrd.powder_reflections(xrd.load_structure(STRUCTURE), P["wavelength_A"], 70.0)


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
    """Two lines 0.2° apart are one peak at a 0.3° minimum separation, two at 0.1°."""
    two_theta = forward.axis(CFG)
    lines = [(30.0, 1.0), (30.2, 1.0)]
    counts = 200.0 + forward.bragg(two_theta, lines, CFG) * 50
    base = np.full_like(counts, 200.0)
    joined = xrd.find_peaks(two_theta, counts, base, RULE)
    apart = xrd.find_peaks(two_theta, counts, base, xrd.PeakRule(9, 2, 5.0, 0.1))
    assert len([p for p in joined if 29.5 < p.two_theta_deg < 30.7]) == 1
    assert len([p for p in apart if 29.5 < p.two_theta_deg < 30.7]) == 2


def test_indexing_takes_the_strongest_line_in_tolerance(reflections):
    peaks = [xrd.Peak(31.80, 100.0, 5.0), xrd.Peak(26.0, 50.0, 5.0)]
    matched = xrd.index_peaks(peaks, reflections, P["match_tolerance_deg"], P["min_reflection_pct"] / 100)
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
    (lambda lines: [l.replace("1.54178", "1.5406") for l in lines], "wavelength 1.5406"),
    (lambda lines: lines[:4] + ["12.0 lots"] + lines[5:], "not a two-column"),
])
def test_bad_patterns_are_named(tmp_path, edit, message):
    write_xrd(load_truth(), tmp_path / "raw")
    path = tmp_path / "raw" / "xrd" / "lipon_pristine.xy"
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
    with pytest.raises(InputError, match=f"lipon_pristine.xy.*{message}"):
        xrd.read_xy(path, P["wavelength_A"])


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

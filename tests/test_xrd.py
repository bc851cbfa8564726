"""XRD: Li2CO3 powder lines from its structure, peak detection, indexing, bad patterns."""
from __future__ import annotations

import numpy as np
import pytest

from analysis import xrd
from data.synth import xrd as forward
from data.synth.tree import write_xrd
from data.synth.truth import load_truth, merge
from paperbuild.errors import InputError

CFG = load_truth()["xrd"]


@pytest.fixture(scope="module")
def reflections():
    return xrd.powder_reflections(xrd.load_structure(), 1.54178, 70.0)


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
        found = xrd.find_peaks(two_theta, counts, xrd.background(two_theta, counts))
        assert [round(p.two_theta_deg, 1) for p in found] == [25.0, 40.0]
        plain = rng.poisson(hump).astype(float)
        assert xrd.find_peaks(two_theta, plain, xrd.background(two_theta, plain)) == []


def test_indexing_takes_the_strongest_line_in_tolerance(reflections):
    peaks = [xrd.Peak(31.80, 100.0, 5.0), xrd.Peak(26.0, 50.0, 5.0)]
    matched = xrd.index_peaks(peaks, reflections)
    assert matched[0][1].hkl == (0, 0, 2)
    assert matched[1][1] is None


def test_numbers_reproduce_the_paper(default_build):
    """Air exposure brings Li2CO3 lines only; the 100 K film has no Bragg peak."""
    from paperbuild.numbers import load

    numbers = {k: v["value"] for k, v in load(default_build / "numbers.json").items()}
    assert numbers["xrd.cryo_amorphous"] is True
    assert numbers["xrd.pristine_peaks"] == 0
    assert numbers["xrd.li2co3_matched_peaks"] == numbers["xrd.new_peaks"] >= 8
    assert "(002)" in numbers["xrd.li2co3_matched_hkl"]


def test_no_carbonate_no_matches(tmp_path):
    """Without Li2CO3 in the air-exposed film nothing is indexed."""
    write_xrd(merge(load_truth(), {"xrd": {"carbonate_counts": 0.0}}), tmp_path / "raw")
    numbers = {n.key: n.value for n in xrd.run(tmp_path / "raw", tmp_path / "out")}
    assert numbers["xrd.li2co3_matched_peaks"] == 0


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
        xrd.read_xy(path, 1.54178)

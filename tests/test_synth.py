"""The synthetic instrument: overrides, determinism, and the committed raw tree."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from data.synth.truth import load_truth, merge
from paperbuild.manifest import read_manifest
from tests.conftest import ROOT


def test_merge_replaces_only_given_keys():
    """An override changes the keys it names and keeps the rest."""
    base = {"echem": {"cycles": 535, "ce_floor_after_100": 99.7}, "seed": 1}
    merged = merge(base, {"echem": {"cycles": 450}})
    assert merged == {"echem": {"cycles": 450, "ce_floor_after_100": 99.7}, "seed": 1}


def test_merge_rejects_unknown_key():
    """A misspelt override key is an error, not silently ignored."""
    with pytest.raises(KeyError, match="echem.cycels"):
        merge({"echem": {"cycles": 535}}, {"echem": {"cycels": 450}})


@pytest.mark.parametrize("key", ["cycles", "ce_floor_after_100", "ce_floor_after_400"])
def test_required_truth_keys_exist(key):
    """design.md's overridable keys are present in truth.yaml."""
    assert key in load_truth()["echem"]


LIBRARY_WRITTEN = (".hspy", ".tif", ".msa")  # their headers carry write times or library versions


def _content(path):
    """Data and calibrations of a file written through HyperSpy/RosettaSciIO."""
    from analysis.em_io import load

    signal = load(path)
    axes = [(a.name, str(a.units), round(a.scale, 9), round(a.offset, 9), a.size) for a in signal.axes_manager._axes]
    return signal.data, axes


def test_committed_raw_tree_is_what_the_synthetic_instrument_writes(raw_tree):
    """data/raw holds the same files as data.synth writes from truth.yaml: byte for byte
    where our own writers made them, same data and calibrations where a library did."""
    import numpy as np

    committed, fresh = read_manifest(ROOT / "data" / "raw"), read_manifest(raw_tree)
    assert sorted(committed) == sorted(fresh)
    for rel, digest in committed.items():
        if rel.endswith(LIBRARY_WRITTEN):
            (a, axes_a), (b, axes_b) = _content(ROOT / "data" / "raw" / rel), _content(raw_tree / rel)
            np.testing.assert_array_equal(a, b, err_msg=rel)
            assert axes_a == axes_b, rel
        else:
            assert digest == fresh[rel], rel


def test_command_line_writes_tree_from_override(tmp_path):
    """`python -m data.synth --truth F --out D` honours F and writes a manifest."""
    override = tmp_path / "truth.yaml"
    override.write_text(yaml.safe_dump({"echem": {"cycles": 420}}))
    out = tmp_path / "raw"
    result = subprocess.run([sys.executable, "-m", "data.synth", "--truth", str(override), "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (out / "MANIFEST.sha256").is_file()
    assert "echem/thin_film_cell.mpt" in read_manifest(out)


def test_command_line_reports_unknown_override_key(tmp_path):
    """A bad override file fails with its name and the key."""
    override = tmp_path / "bad.yaml"
    override.write_text("echem: {cycels: 3}\n")
    result = subprocess.run([sys.executable, "-m", "data.synth", "--truth", str(override), "--out", str(tmp_path / "o")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    assert "bad.yaml" in result.stderr and "echem.cycels" in result.stderr

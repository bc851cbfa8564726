"""The raw-tree manifest: written by the synthetic instrument, checked before any analysis."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from paperbuild.errors import ManifestError
from paperbuild.manifest import MANIFEST_NAME, read_manifest, verify_manifest, write_manifest


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "echem").mkdir()
    (tmp_path / "echem" / "a.mpt").write_bytes(b"alpha")
    (tmp_path / "b.tif").write_bytes(b"beta")
    write_manifest(tmp_path)
    return tmp_path


def test_verify_manifest_accepts_untouched_tree(tree):
    """A freshly written manifest verifies and lists every file but itself."""
    assert sorted(verify_manifest(tree)) == ["b.tif", "echem/a.mpt"]


def test_manifest_format_is_sha256sum_compatible(tree):
    """Lines are `<hex>  <path>`, so coreutils' sha256sum -c can check a tree too."""
    if shutil.which("sha256sum") is None:
        pytest.skip("coreutils sha256sum not installed")
    result = subprocess.run(["sha256sum", "-c", MANIFEST_NAME], cwd=tree, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda t: (t / "echem" / "a.mpt").write_bytes(b"alpha!"), "changed (hash differs from the manifest): echem/a.mpt"),
        (lambda t: (t / "b.tif").unlink(), "missing: b.tif"),
        (lambda t: (t / "notes.txt").write_text("x"), "extra (not in the manifest): notes.txt"),
    ],
    ids=["changed", "missing", "extra"],
)
def test_verify_manifest_names_the_file(tree, damage, expected):
    """Each kind of damage fails with a message naming the file."""
    damage(tree)
    with pytest.raises(ManifestError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        verify_manifest(tree)


def test_verify_manifest_without_manifest_says_how_to_write_one(tmp_path):
    """A raw folder with no manifest gets the command that writes one."""
    (tmp_path / "x.mpt").write_text("x")
    with pytest.raises(ManifestError, match="paperbuild.manifest write"):
        verify_manifest(tmp_path)


def test_read_manifest_rejects_malformed_line(tree):
    """A corrupted manifest line is reported with its line number."""
    (tree / MANIFEST_NAME).write_text("not-a-hash  a.mpt\n")
    with pytest.raises(ManifestError, match=r":1: not a"):
        read_manifest(tree)


def test_manifest_command_line_writes_and_verifies(tmp_path):
    """`python -m paperbuild.manifest write|verify DIR` is the user's command for own data."""
    (tmp_path / "own.mpt").write_text("data")
    run = lambda *a: subprocess.run([sys.executable, "-m", "paperbuild.manifest", *a, str(tmp_path)],
                                    capture_output=True, text=True)
    assert run("write").returncode == 0
    assert run("verify").returncode == 0
    (tmp_path / "own.mpt").write_text("edited")
    failed = run("verify")
    assert failed.returncode == 1 and "own.mpt" in failed.stderr

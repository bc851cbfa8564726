"""The reproduction report's verdicts, the number-diff table, and the build lock's rules."""
from __future__ import annotations

import pytest

from paperbuild import lock, numdiff, report


@pytest.mark.parametrize("computed, entry, expected", [
    (76.47, {"published": 76.4, "tolerance": 0.1}, report.REPRODUCED),
    (76.6, {"published": 76.4, "tolerance": 0.1}, report.DIFFERS),
    (201.3, {"published": 203, "tolerance": 1, "inputs_range": "cell.range"}, report.WITHIN_ROUNDING),
    (201.3, {"published": 230, "tolerance": 1, "inputs_range": "cell.range"}, report.DIFFERS),
    ([2.84, 3.36, 0.38], {"published": [2.84, 3.35, 0.38], "tolerance": 0.02}, report.REPRODUCED),
    ([2.84, 3.40, 0.38], {"published": [2.84, 3.35, 0.38], "tolerance": 0.02}, report.DIFFERS),
    (True, {"published": True, "tolerance": 0}, report.REPRODUCED),
    (89.9, {"published": None, "tolerance": 0.05}, report.NEW),
])
def test_status(computed, entry, expected):
    numbers = {"cell.range": {"value": [186.0, 218.0]}}
    assert report.status(computed, entry, numbers) == expected


def test_number_rows_flag_drift_and_missing_keys():
    numbers = {"a.x": {"value": 1.0, "text": "1.0", "step": "s"}}
    ledger = {"a.x": {"locked": 1.5, "text": "1.5", "tolerance": 0.1, "published": 1.0},
              "a.y": {"locked": 2.0, "tolerance": 0.1, "published": None}}
    rows = {r["key"]: r for r in report.number_rows(numbers, ledger)}
    assert rows["a.x"]["status"] == report.REPRODUCED and rows["a.x"]["lock"] == "DRIFTED"
    assert rows["a.y"]["status"] == "missing"


def test_numdiff_rows():
    before = {"a.x": {"value": 1.00001, "text": "1.0"}, "a.y": {"value": 5.0, "text": "5.0"},
              "a.z": {"value": 3.0, "text": "3.0"}, "a.gone": {"value": 1, "text": "1"}}
    after = {"a.x": {"value": 1.0, "text": "1.0"}, "a.y": {"value": 5.04, "text": "5.04"},
             "a.z": {"value": 3.5, "text": "3.5"}, "a.new": {"value": 2, "text": "2"}}
    rows = {r["key"]: r["status"] for r in numdiff.diff_rows(before, after, {"a.x": 0.1, "a.y": 0.1, "a.z": 0.1})}
    assert rows == {"a.y": "within tolerance", "a.z": "OUTSIDE tolerance", "a.gone": "removed", "a.new": "added"}


@pytest.mark.parametrize("argv, command", [
    (["doit"], "run"), (["doit", "raw=/x y", "build=/z"], "run"), (["doit", "list"], "list"),
    (["doit", "report"], "report"), (["doit", "info", "drift"], "info"),
])
def test_doit_command(argv, command):
    assert lock.doit_command(argv) == command


def test_a_held_lock_makes_a_build_refuse(tmp_path):
    """While another process holds the folder's lock, a build exits with a clear message."""
    import fcntl
    import subprocess
    import sys
    from pathlib import Path

    project = Path(lock.__file__).resolve().parent.parent
    with open(tmp_path / ".build.lock", "w") as holder:
        holder.write("pid 12345")
        holder.flush()
        fcntl.flock(holder, fcntl.LOCK_EX)
        code = f"from pathlib import Path; from paperbuild import lock; lock.acquire(Path({str(tmp_path)!r}), ['doit'])"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=project)
    assert result.returncode == 1
    assert f"another build is running on {tmp_path} (pid 12345)" in result.stderr
    listing = subprocess.run([sys.executable, "-c", code.replace("['doit']", "['doit', 'list']")],
                             capture_output=True, text=True, cwd=project)
    assert listing.returncode == 0  # read-only commands never wait for the lock

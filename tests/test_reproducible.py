"""Byte-reproducible builds, and a report that certifies only what it verified (end to end through doit).

A copy of the project is built twice, into two sibling build folders, from the same
inputs; every number, figure, table and rendered document must come out byte for byte
the same.  Then a raw file changes, its manifest is re-recorded and the step that reads
it fails: the report must call exactly the numbers derived from that file stale, say
that the build is not certified, and exit 1.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from paperbuild.manifest import write_manifest
from tests.conftest import ROOT
from tests.test_build import IGNORE, doit

pytestmark = pytest.mark.slow
COMPARED = ("numbers.json", "params.json", "numbers", "figures", "tables", "data", "paper")


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory) -> tuple[Path, Path, Path]:
    """The project copied once and built twice, into ``builds/a`` and ``builds/b``."""
    base = tmp_path_factory.mktemp("reproducible")
    project = base / "project"
    shutil.copytree(ROOT, project, ignore=IGNORE)
    builds = (base / "builds" / "a", base / "builds" / "b")
    for build in builds:
        code, output, _ = doit(project, f"build={build}")
        assert code == 0, output
    return project, *builds


def _files(build: Path) -> dict[str, bytes]:
    found = {}
    for name in COMPARED:
        path = build / name
        for file in ([path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())):
            found[file.relative_to(build).as_posix()] = file.read_bytes()
    return found


def test_two_builds_from_the_same_inputs_are_byte_identical(two_builds):
    """numbers.json (values and bytes), every figure, table and data file, and the HTML and PDF bytes."""
    _, a, b = two_builds
    numbers_a = json.loads((a / "numbers.json").read_text(encoding="utf-8"))
    numbers_b = json.loads((b / "numbers.json").read_text(encoding="utf-8"))
    assert {k: r["value"] for k, r in numbers_a.items()} == {k: r["value"] for k, r in numbers_b.items()}
    files_a, files_b = _files(a), _files(b)
    assert sorted(files_a) == sorted(files_b)
    for kind in ("figures/", "paper/article.", "paper/supplement."):
        assert any(name.startswith(kind) for name in files_a), kind
    differing = sorted(name for name in files_a if files_a[name] != files_b[name])
    assert differing == []
    renders = [json.loads((a / "steps" / f"render_{d}.json").read_text())["renderer"] for d in ("article", "supplement")]
    assert all("PDF dated" in used for used in renders)


def test_report_after_a_changed_raw_file_and_a_failed_step_is_not_certified(two_builds, tmp_path):
    """The issue's scenario through the commands a user runs: the stale numbers are exactly those
    derived from the changed file, the summary says NOT certified, and the command exits 1."""
    project, a, _ = two_builds
    build = tmp_path / "build"
    shutil.copytree(a, build, ignore=shutil.ignore_patterns(".doit.db*", ".build.lock"))
    raw = tmp_path / "raw"
    shutil.copytree(project / "data" / "raw", raw)
    changed = "echem/liquid_cell.mpt"
    (raw / changed).write_bytes((raw / changed).read_bytes().replace(b"Ewe/V", b"Ewe/mV", 1))
    write_manifest(raw)
    code, output, _ = doit(project, f"raw={raw}", f"build={build}", "analysis:electrochemistry")
    assert code != 0 and "liquid_cell.mpt" in output  # the step failed; numbers.json is the old one

    result = subprocess.run([sys.executable, "-m", "paperbuild.report", "--build", str(build)], cwd=project,
                            capture_output=True, text=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT certified" in result.stderr and changed in result.stderr
    numbers = json.loads((build / "numbers.json").read_text(encoding="utf-8"))
    expected_stale = {key for key, record in numbers.items() if changed in record["inputs"]}
    assert expected_stale  # the scenario exercises something
    md = (build / "reproduction" / "report.md").read_text(encoding="utf-8")
    section = md.split("## Numbers", 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.split("|")] for line in section.splitlines() if line.startswith("| ")]
    column = rows[0].index("provenance")
    provenance = {cells[1]: cells[column] for cells in rows[1:] if cells[1] in numbers}
    assert {key for key, state in provenance.items() if state == "STALE"} == expected_stale
    assert "NOT certified" in md.split("## Summary", 1)[1].split("\n## ", 1)[0]

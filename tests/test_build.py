"""End to end through doit: the full build, up-to-date behaviour, variables, bad input.

Each test builds a copy of the project in a temporary folder, so it may edit sources
and raw files freely.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from paperbuild.manifest import write_manifest
from paperbuild.paths import NOT_SOURCES
from tests.conftest import ROOT, make_tree

pytestmark = pytest.mark.slow
IGNORE = shutil.ignore_patterns(*NOT_SOURCES)


def doit(project: Path, *args: str) -> tuple[int, str, set[str]]:
    """Run doit in ``project``; return the exit code, the output and the tasks that ran."""
    env = dict(os.environ, PAPERBUILD_RENDERER="pandoc")
    result = subprocess.run([sys.executable, "-m", "doit", *args], cwd=project, capture_output=True, text=True, env=env)
    output = result.stdout + result.stderr
    ran = {m.group(1).rstrip(":") for m in re.finditer(r"^\.  (\S+)", output, re.M)}
    return result.returncode, output, ran


@pytest.fixture(scope="module")
def build_once(tmp_path_factory) -> tuple[Path, Path]:
    """One full build of a copy of the project, kept aside as a pristine template.

    doit's dependency file records absolute paths, so each test gets the template
    restored at the very path it was built in.
    """
    base = tmp_path_factory.mktemp("e2e")
    project, template = base / "project", base / "template"
    shutil.copytree(ROOT, project, ignore=IGNORE)
    code, output, _ = doit(project)
    assert code == 0, output
    shutil.copytree(project, template, symlinks=True)
    return project, template


@pytest.fixture
def built(build_once) -> Path:
    project, template = build_once
    shutil.rmtree(project)
    shutil.copytree(template, project, symlinks=True)
    return project


def test_full_build_renders_paper_with_quoted_numbers(built):
    """`doit` writes numbers.json with provenance and both documents with real numbers."""
    from pypdf import PdfReader

    numbers = json.loads((built / "build" / "numbers.json").read_text())
    record = numbers["echem.ce_floor_after_100"]
    assert record["step"] == "electrochemistry" and "echem/thin_film_cell.mpt" in record["inputs"]
    paper = built / "build" / "paper"
    for document in ("article", "supplement"):
        html = (paper / f"{document}.html").read_text()
        assert record["text"].replace(" ", "\u00a0") in html
        text = " ".join(p.extract_text() for p in PdfReader(paper / f"{document}.pdf").pages).replace("\u00a0", " ")
        assert record["text"] in text
    assert numbers["echem.cycles"]["text"] in (paper / "article.html").read_text()


def test_noop_then_single_edits_rerun_only_dependents(built):
    """No-op does nothing; an article edit reruns its render; a module edit reruns its chain."""
    code, output, ran = doit(built)
    assert code == 0 and ran == set(), output

    article = built / "paper" / "article.qmd"
    article.write_text(article.read_text().replace("# Introduction", "# Introduction\n\nAn added sentence."))
    code, output, ran = doit(built)
    assert code == 0 and ran == {"render:article", "lint", "report"}, output

    module = built / "analysis" / "electrochemistry.py"
    module.write_text(module.read_text() + "\n# an edit\n")
    code, output, ran = doit(built)
    assert code == 0, output
    # the numbers carry the new code hash, so everything that reads them reruns; the figure
    # steps rerun because their code imports the module (rate_text labels the cycling rates),
    # but their tables and figures come out byte-identical, so rendering sees no new figure
    assert ran == {"analysis:electrochemistry", "analysis:electrochemistry_figures", "analysis:cell_figure",
                   "numbers", "comparison", "drift", "lint", "render:article", "render:supplement", "report"}


def test_changing_a_parameter_reruns_exactly_its_step(built):
    """A registry parameter is a dependency of its step alone (and of the text that quotes it)."""
    registry = built / "analysis" / "registry.py"
    source = registry.read_text()
    assert source.count('"steady_rate_tolerance_pct": Param(20,') == 1
    registry.write_text(source.replace('"steady_rate_tolerance_pct": Param(20,', '"steady_rate_tolerance_pct": Param(25,'))
    code, output, ran = doit(built)
    assert code == 0, output
    assert {task for task in ran if task.startswith("analysis:")} == {"analysis:electrochemistry"}, output
    assert "params" in ran
    params = json.loads((built / "build" / "params.json").read_text())
    assert params["electrochemistry.steady_rate_tolerance_pct"]["value"] == 25


def test_other_raw_tree_and_build_folder_with_other_truth(built, tmp_path):
    """raw=/build= (with spaces and non-ASCII) runs the pipeline there; drift names the moved keys."""
    raw = make_tree(tmp_path / "other raw ü", {"echem": {"ce_floor_after_100": 99.5, "cycles": 480}})
    out = tmp_path / "other build é"
    code, output, ran = doit(built, f"raw={raw}", f"build={out}")
    assert code != 0
    assert "echem.ce_floor_after_100" in output and "echem.cycles" in output and "doit accept" in output
    numbers = json.loads((out / "numbers.json").read_text())
    assert numbers["echem.cycles"]["value"] == 480
    assert numbers["echem.ce_floor_after_100"]["value"] == pytest.approx(99.5, abs=1e-3)
    default = json.loads((built / "build" / "numbers.json").read_text())
    assert default["echem.cycles"]["value"] == 535  # the default build folder is untouched


def test_changed_raw_file_stops_before_analysis(built):
    """A raw file that no longer matches the manifest fails first, naming the file."""
    before = (built / "build" / "numbers.json").read_bytes()
    raw = built / "data" / "raw" / "echem" / "thin_film_cell.mpt"
    raw.write_bytes(raw.read_bytes().replace(b"EC-Lab for windows", b"EC-Lab for Windows", 1))
    code, output, ran = doit(built)
    assert code != 0 and "changed (hash differs from the manifest): echem/thin_film_cell.mpt" in output
    assert not any(task.startswith("analysis") for task in ran)
    assert (built / "build" / "numbers.json").read_bytes() == before


def test_malformed_raw_file_fails_naming_it_and_keeps_outputs(built):
    """A malformed export (manifest updated) fails in the analysis with the file named."""
    keep = {p: p.read_bytes() for p in (built / "build").rglob("*") if p.is_file() and "figures" in p.parts}
    numbers = (built / "build" / "numbers.json").read_bytes()
    raw = built / "data" / "raw" / "echem" / "liquid_cell.mpt"
    raw.write_bytes(raw.read_bytes().replace(b"Ewe/V", b"Ewe/mV", 1))
    write_manifest(built / "data" / "raw")
    code, output, _ = doit(built)
    assert code != 0
    assert "liquid_cell.mpt: missing column(s) Ewe/V" in output
    assert (built / "build" / "numbers.json").read_bytes() == numbers
    assert all(p.read_bytes() == content for p, content in keep.items())


def test_unknown_key_in_article_fails_build(built):
    """An unknown number key fails the build by name; the rendered article survives."""
    html = (built / "build" / "paper" / "article.html").read_bytes()
    article = built / "paper" / "article.qmd"
    article.write_text(article.read_text() + "\nA number: {{< num echem.not_a_number >}}.\n")
    code, output, _ = doit(built)
    assert code != 0 and "echem.not_a_number" in output
    assert (built / "build" / "paper" / "article.html").read_bytes() == html


def test_accept_locks_new_values_then_build_passes(built, tmp_path):
    """After drift on raw=/build=, the `doit accept` the message suggests works when pasted:
    it locks that build's values (not a rebuild of the default tree), and the build goes through."""
    raw = make_tree(tmp_path / "raw 2", {"echem": {"ce_floor_after_400": 99.9}})
    out = tmp_path / "build 2"
    code, output, _ = doit(built, f"raw={raw}", f"build={out}")
    assert code != 0 and "echem.ce_floor_after_400" in output
    suggested = re.search(r"run `([^`]*)` to lock the new values", output).group(1)
    assert f"raw={shlex.quote(str(raw))}" in suggested and f"build={shlex.quote(str(out))}" in suggested
    pasted = subprocess.run(suggested, shell=True, cwd=built, capture_output=True, text=True,
                            env=dict(os.environ, PAPERBUILD_RENDERER="pandoc"))
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    assert not (built / "build" / "numbers.json").exists() or \
        json.loads((built / "build" / "numbers.json").read_text())["echem.ce_floor_after_400"]["value"] != 99.9
    ledger = yaml.safe_load((built / "paper" / "ledger.yaml").read_text())
    assert ledger["echem.ce_floor_after_400"]["locked"] == pytest.approx(99.9, abs=1e-3)
    assert ledger["echem.ce_floor_after_400"]["published"] == 99.85
    code, output, _ = doit(built, f"raw={raw}", f"build={out}")
    assert code == 0, output


def test_report_lists_every_number_with_a_status(built):
    """The full build writes the reproduction report; every ledger key has a row and a status."""
    from paperbuild.report import DIFFERS, STATUSES

    report = (built / "build" / "reproduction" / "report.md").read_text(encoding="utf-8")
    html = (built / "build" / "reproduction" / "report.html").read_text(encoding="utf-8")
    assert "synthetic stand-in" in report and "data/synth/" in report and "<img" in html
    ledger = yaml.safe_load((built / "paper" / "ledger.yaml").read_text())
    numbers_section = report.split("## Numbers", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip(): line for line in numbers_section.splitlines()
            if line.startswith("| ") and "." in line}
    for key in ledger:
        assert key in rows, key
        assert any(f"| {s} |" in rows[key] for s in STATUSES), rows[key]
    assert f"| {DIFFERS} |" not in report  # every published number is reproduced here


def test_two_processes_build_the_same_paper(built, tmp_path):
    """doit -n 2 runs independent steps at once: every number, table and data file is the serial build's."""
    out = tmp_path / "parallel"
    code, output, ran = doit(built, "-n", "2", f"build={out}")
    assert code == 0, output
    assert {"render:article", "render:supplement", "report"} <= ran and "build certified" in output
    serial = built / "build"
    for folder in ("data", "numbers", "tables"):
        names = sorted(p.name for p in (serial / folder).iterdir())
        assert names == sorted(p.name for p in (out / folder).iterdir())
        for name in names:
            if not name.endswith(".npz"):  # zip members carry times
                assert (out / folder / name).read_bytes() == (serial / folder / name).read_bytes(), name
    assert (out / "numbers.json").read_bytes() == (serial / "numbers.json").read_bytes()


def test_a_malformed_scheduler_address_stops_the_build_before_it_starts(built):
    code, output, ran = doit(built, "scheduler=localhost")
    assert code != 0 and not ran
    assert "error: scheduler=localhost: not a Dask scheduler address" in output


def test_the_scheduler_is_not_a_build_input(built):
    """Naming a cluster reruns nothing: where the work runs does not change the outputs."""
    code, output, ran = doit(built, "scheduler=tcp://127.0.0.1:9")
    assert code == 0 and not ran, output

"""The reproduction report's verdicts, the number-diff table, and the build lock's rules."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from paperbuild import lock, numdiff, report
from paperbuild.errors import BuildError


@pytest.mark.parametrize("computed, entry, expected", [
    (76.47, {"published": 76.4, "tolerance": 0.1}, report.REPRODUCED),
    (76.6, {"published": 76.4, "tolerance": 0.1}, report.DIFFERS),
    (201.3, {"published": 203, "tolerance": 1, "inputs_range": "cell.range"}, report.WITHIN_ROUNDING),
    (201.3, {"published": 230, "tolerance": 1, "inputs_range": "cell.range"}, report.DIFFERS),
    ([2.84, 3.36, 0.38], {"published": [2.84, 3.35, 0.38], "tolerance": 0.02}, report.REPRODUCED),
    ([2.84, 3.40, 0.38], {"published": [2.84, 3.35, 0.38], "tolerance": 0.02}, report.DIFFERS),
    (True, {"published": True, "tolerance": 0}, report.REPRODUCED),
    (89.9, {"published": None, "tolerance": 0.05}, report.NEW),
    # a deterministic computation (tolerance 0) against a rounded published integer: 201.3 is not 203
    (201.336, {"published": 203, "tolerance": 0, "inputs_range": "cell.range"}, report.WITHIN_ROUNDING),
    (202.6, {"published": 203, "tolerance": 0}, report.REPRODUCED),  # within the published rounding
    (98.83, {"published": None, "published_text": "below 99 %", "tolerance": 0.05}, report.STATED),
    (284.6, {"published": 284.6, "tolerance": 0, "input": True}, report.INPUT),
    (284.8, {"published": 284.6, "tolerance": 0, "input": True}, report.DIFFERS),
    # published_text keeps the digit the value lost: 99.70 stands for 99.695 to 99.705, not 99.65 to 99.75
    (99.74, {"published": 99.7, "tolerance": 0}, report.REPRODUCED),
    (99.74, {"published": 99.7, "published_text": "99.70 %", "tolerance": 0}, report.DIFFERS),
])
def test_status(computed, entry, expected):
    numbers = {"cell.range": {"value": [186.0, 218.0]}}
    assert report.status(computed, entry, numbers) == expected


def test_summary_line_is_a_sentence_with_every_count():
    """The report's summary says how many printed numbers reproduced, and names every other verdict."""
    counts = {report.REPRODUCED: 44, report.WITHIN_ROUNDING: 1, report.INPUT: 3, report.DIFFERS: 0,
              report.STATED: 7, report.NEW: 12, "missing": 0}
    line = report.summary_line(counts, 67, 0, 0)
    assert line == ("- **Numbers:** 44 of 48 published numbers reproduced (1 more within rounding of its inputs, "
                    "3 taken from the paper as method inputs, 0 differ); 19 further numbers computed (7 the paper "
                    "states only in words, 12 it does not state); 0 outside their lock in `paper/ledger.yaml`; "
                    "0 stale (67 keys in all).")
    assert "2 missing" in report.summary_line({**counts, "missing": 2}, 69, 0, 0)
    assert set(report.STATUSES) == {report.REPRODUCED, report.WITHIN_ROUNDING, report.INPUT, report.DIFFERS,
                                    report.STATED, report.NEW}


def test_the_papers_statuses():
    """The paper's own ledger: the Li excess only within the rounding of its inputs, the C 1s reference a
    method input as published, the liquid cell's CE stated in words, and the CE floor printed as 99.70 %."""
    import json

    from paperbuild.ledger import load_ledger
    from paperbuild.paths import PROJECT_ROOT

    ledger = load_ledger(PROJECT_ROOT / "paper" / "ledger.yaml")
    numbers = {k: {"value": e["locked"]} for k, e in ledger.items()}
    accuracy = json.loads((PROJECT_ROOT / "paper" / "accuracy.json").read_text(encoding="utf-8"))["numbers"]
    verdict = {k: report.judge(k, numbers, ledger, accuracy) for k in ledger}
    assert verdict["cell.li_excess_pct"] == report.WITHIN_ROUNDING
    assert verdict["xps.c1s_reference_eV"] == report.INPUT and verdict["liquid.ce_max"] == report.STATED
    assert ledger["echem.ce_floor_after_100"]["published_text"] == "99.70 %"
    assert all(v != report.DIFFERS for v in verdict.values()), verdict
    # a deterministic computation from stated inputs has no drift: its tolerance is zero
    assert all(e["tolerance"] == 0 for k, e in ledger.items() if k.startswith(("cell.", "design.")))


def test_number_rows_flag_drift_and_missing_keys():
    numbers = {"a.x": {"value": 1.0, "text": "1.0", "unit": "nm", "step": "s"},
               "a.u": {"value": 2.0, "text": "2.0 meV", "unit": "meV", "step": "s"}}
    ledger = {"a.x": {"locked": 1.5, "text": "1.5", "unit": "nm", "tolerance": 0.1, "published": 1.0},
              "a.u": {"locked": 2.0, "text": "2.0 eV", "unit": "eV", "tolerance": 0.1, "published": None},
              "a.y": {"locked": 2.0, "text": "2.0", "unit": "", "tolerance": 0.1, "published": None}}
    rows = {r["key"]: r for r in report.number_rows(numbers, ledger)}
    assert rows["a.x"]["status"] == report.REPRODUCED and rows["a.x"]["lock"] == "DRIFTED"
    assert rows["a.u"]["lock"] == "DRIFTED"  # same value, other unit: the drift check's rule
    assert rows["a.y"]["status"] == "missing"


def _side(**records):
    return {k.replace("_", ".", 1): {"value": v, "text": t, "unit": u} for k, (v, t, u) in records.items()}


def test_numdiff_rows():
    before = _side(a_x=(1.00001, "1.0", "nm"), a_y=(5.0, "5.0", "nm"), a_z=(3.0, "3.0", "nm"), a_gone=(1, "1", ""))
    moved = 5.06  # within 0.1, and printed as its own rounding
    after = _side(a_x=(1.0, "1.0", "nm"), a_y=(moved, f"{moved:.1f}", "nm"), a_z=(3.5, "3.5", "nm"),
                  a_new=(2, "2", ""))
    rows = {r["key"]: r["status"] for r in numdiff.diff_rows(before, after, {"a.x": 0.1, "a.y": 0.1, "a.z": 0.1})}
    assert rows == {"a.y": "within tolerance", "a.z": "OUTSIDE tolerance", "a.gone": "removed", "a.new": "added"}


def test_numdiff_flags_a_changed_unit_or_text_as_the_drift_check_does(tmp_path):
    """numdiff and the drift check share one rule: value, unit and printed text."""
    moved = 5.06
    before = _side(a_u=(0.42, "0.42 eV", "eV"), a_t=(5.0, "5.0 nm", "nm"), a_m=(5.0, "5.0 nm", "nm"),
                   a_s=(5.0, "5.0 nm", "nm"))
    after = _side(a_u=(0.42, "0.42 meV", "meV"), a_t=(5.0, "5.00 nm", "nm"), a_m=(moved, f"{moved:.1f} nm", "nm"),
                  a_s=(moved, "5.0 nm", "nm"))
    rows = {r["key"]: r for r in numdiff.diff_rows(before, after, {k: 0.1 for k in before})}
    assert {k: r["status"] for k, r in rows.items()} == {
        "a.u": "unit changed", "a.t": "text changed", "a.m": "within tolerance", "a.s": "text changed"}
    assert "unit eV -> meV" in rows["a.u"]["difference"]
    for side, records in (("before", before), ("after", after)):
        (tmp_path / f"{side}.json").write_text(json.dumps({k: {**v, "step": "s", "inputs": {}, "code": "c"}
                                                           for k, v in records.items()}), encoding="utf-8")
    ledger = tmp_path / "ledger.yaml"
    ledger.write_text(yaml.safe_dump({k: {"locked": v["value"], "text": v["text"], "unit": v["unit"], "tolerance": 0.1}
                                      for k, v in before.items()}), encoding="utf-8")
    assert numdiff.main([str(tmp_path / "before.json"), str(tmp_path / "after.json"), "--ledger", str(ledger)]) == 1


def _git_project(tmp_path: Path, ledger_text: str) -> Path:
    project = tmp_path / "project"
    (project / "paper").mkdir(parents=True)
    (project / "paper" / "ledger.yaml").write_text(ledger_text, encoding="utf-8")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "HOME": str(tmp_path), "PATH": os.environ["PATH"]}
    for command in (["init", "-q"], ["add", "paper/ledger.yaml"], ["commit", "-q", "-m", "ledger"]):
        subprocess.run(["git", *command], cwd=project, check=True, env=env, capture_output=True)
    return project


LEDGER = "a.x:\n  locked: 1.5\n  text: 1.5 nm\n  unit: nm\n  tolerance: 0.1\n"


def test_numdiff_reads_the_ledger_of_a_git_revision(tmp_path):
    """git:REV reads paper/ledger.yaml at that commit: value, unit and text of each lock."""
    project = _git_project(tmp_path, LEDGER)
    assert numdiff.load_side("git:HEAD", project) == {"a.x": {"value": 1.5, "text": "1.5 nm", "unit": "nm"}}


@pytest.mark.parametrize("revision", ["--output=PWNED", "-p", "--exec-path=/tmp", "--git-dir=/tmp"])
def test_numdiff_refuses_a_revision_that_is_an_option(tmp_path, revision):
    """An option passed as git:REV is refused before git runs, and nothing is written."""
    project = _git_project(tmp_path, LEDGER)
    before = sorted(p.name for p in project.iterdir())
    with pytest.raises(BuildError, match=re.escape(f"git:{revision}: not a git revision (it starts with '-')")):
        numdiff.load_side(f"git:{revision}", project)
    assert sorted(p.name for p in project.iterdir()) == before and not list(tmp_path.rglob("PWNED*"))


@pytest.mark.parametrize("revision, problem", [
    ("nosuchbranch", "not a commit in"), ("", "no revision given"), ("HEAD:paper/ledger.yaml", "not a commit in"),
])
def test_numdiff_refuses_what_is_not_a_commit(tmp_path, revision, problem):
    """A revision that does not name a commit fails naming it and the repository."""
    project = _git_project(tmp_path, LEDGER)
    with pytest.raises(BuildError, match=re.escape(f"git:{revision}: {problem}")):
        numdiff.load_side(f"git:{revision}", project)


def test_numdiff_validates_the_ledger_of_a_revision(tmp_path):
    """A ledger at a revision is validated like the working tree's, named by revision and key."""
    project = _git_project(tmp_path, LEDGER.replace("0.1", ".nan"))
    with pytest.raises(BuildError, match=r"git:HEAD:paper/ledger.yaml: a.x: tolerance \.nan"):
        numdiff.load_side("git:HEAD", project)


def test_numdiff_main_reports_a_bad_revision_in_one_line(tmp_path, capsys):
    """The command exits 2 with one message, no traceback."""
    ledger = tmp_path / "ledger.yaml"
    ledger.write_text(LEDGER, encoding="utf-8")
    assert numdiff.main(["git:--output=x", str(ledger), "--ledger", str(ledger)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "paperbuild.numdiff: error: git:--output=x: not a git revision (it starts with '-')"


@pytest.mark.parametrize("argv, command", [
    (["doit"], "run"), (["doit", "raw=/x y", "build=/z"], "run"), (["doit", "list"], "list"),
    (["doit", "report"], "report"), (["doit", "info", "drift"], "info"),
    (["doit", "-f", "dodo.py", "list"], "list"), (["doit", "-n", "2", "-P", "process"], "run"),
    (["doit", "--file=dodo.py", "list"], "list"), (["doit", "-v", "2", "accept"], "accept"),
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


# ------------------------------------------------------------------ certification: only what was verified
from html.parser import HTMLParser  # noqa: E402

from doit.exceptions import TaskFailed  # noqa: E402

from paperbuild import actions, numbers as numbers_mod  # noqa: E402
from paperbuild.errors import DeclarationError  # noqa: E402
from paperbuild.manifest import sha256_file, write_manifest  # noqa: E402
from paperbuild.paths import Roots  # noqa: E402
from paperbuild.runner import run_step  # noqa: E402
from paperbuild.step import Param, Step, code_hash, module_sources, project, raw  # noqa: E402

FIXTURE_MODULE = "tests.step_fixture"  # reads its `source` input, writes `table`, returns fixture.lines


def _fixture_step(source: str = "counts.txt", **extra_inputs) -> Step:
    return Step("fixture", FIXTURE_MODULE, "a tiny step", inputs={"source": raw(source), **extra_inputs},
                outputs={"table": "data/fixture.csv"}, numbers=("fixture.lines",), params={"mode": Param("plain")})


def _small_build(tmp_path: Path, step: Step, raw_files: dict[str, str]) -> Roots:
    """A raw tree with its manifest, a project with an empty ledger, one step run through the runner."""
    roots = Roots(raw=tmp_path / "raw", build=tmp_path / "build", project=tmp_path / "project")
    for rel, text in raw_files.items():
        (roots.raw / rel).parent.mkdir(parents=True, exist_ok=True)
        (roots.raw / rel).write_text(text, encoding="utf-8")
    write_manifest(roots.raw)
    roots.paper.mkdir(parents=True)
    roots.ledger.write_text("", encoding="utf-8")
    (roots.project / "ext.yaml").write_text("factor: 2\n", encoding="utf-8")
    assert actions.verify_raw(roots) is None
    run_step(step, roots)
    numbers_mod.write_merged(roots.numbers, numbers_mod.merge([roots.build / step.numbers_file]))
    return roots


@pytest.fixture
def small_build(tmp_path) -> tuple[Roots, Step]:
    step = _fixture_step(ext=project("ext.yaml"))
    return _small_build(tmp_path, step, {"counts.txt": "a\nb\nc\n", "other.txt": "not read\n"}), step


def _run_report(roots: Roots, capsys, *extra: str) -> tuple[int, str, str]:
    code = report.main(["--build", str(roots.build), "--project", str(roots.project), *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err, (roots.reproduction / "report.md").read_text(encoding="utf-8")


def _number_row(md: str, key: str) -> str:
    section = md.split("## Numbers", 1)[1].split("\n## ", 1)[0]
    return next(line for line in section.splitlines() if line.startswith(f"| {key} |"))


def test_report_certifies_a_build_whose_inputs_and_code_are_current(small_build, capsys):
    """Nothing changed since the build: exit 0, the summary says certified, the number is current."""
    roots, _ = small_build
    code, output, md = _run_report(roots, capsys, "--raw", str(roots.raw))
    assert code == 0, output
    assert "NOT certified" not in md and "NOT certified" not in output
    assert "Certified" in md
    assert report.CURRENT in _number_row(md, "fixture.lines")


def test_report_reads_the_raw_tree_the_build_verified(small_build, capsys):
    """Without --raw the report re-verifies the raw tree the build stamped (README: `--build DIR` alone)."""
    roots, _ = small_build
    code, output, md = _run_report(roots, capsys)
    assert code == 0, output
    assert str(roots.raw) in md


def test_changed_raw_file_with_new_manifest_and_failed_step_is_not_certified(small_build, capsys):
    """The issue's scenario: a raw file changes, its manifest is re-recorded (so verify_raw passes and
    re-stamps), the step then fails, and numbers.json still holds the numbers of the old file."""
    roots, step = small_build
    numbers_before = roots.numbers.read_bytes()
    (roots.raw / "counts.txt").write_text("a\nb\nc\nd\n", encoding="utf-8")
    write_manifest(roots.raw)
    assert actions.verify_raw(roots) is None  # the stamp now lists the new hash
    failing = _fixture_step(ext=project("ext.yaml"))
    failing = Step(failing.name, failing.module, failing.doc, failing.inputs, failing.outputs, failing.numbers,
                   {"mode": Param("undeclared_input")})
    with pytest.raises(DeclarationError):
        run_step(failing, roots)
    assert roots.numbers.read_bytes() == numbers_before

    code, output, md = _run_report(roots, capsys)
    assert code == 1
    assert "NOT certified" in output and "NOT certified" in md
    assert "fixture.lines" in output and "counts.txt" in output
    row = _number_row(md, "fixture.lines")
    assert report.STALE in row and report.CURRENT not in row
    summary = md.split("## Summary", 1)[1].split("\n## ", 1)[0]
    assert "NOT certified" in summary and "counts.txt" in summary


def test_raw_tree_that_no_longer_matches_its_manifest_is_not_certified(small_build, capsys):
    """A raw file changed without a new manifest: the report re-verifies and refuses to certify."""
    roots, _ = small_build
    (roots.raw / "other.txt").write_text("edited\n", encoding="utf-8")
    code, output, md = _run_report(roots, capsys)
    assert code == 1
    assert "NOT certified" in md and "MANIFEST.sha256" in output and "other.txt" in output


def test_changed_project_file_makes_its_numbers_stale(small_build, capsys):
    """A cited project file (like data/external/*.yaml) edited after the build makes its numbers stale."""
    roots, _ = small_build
    (roots.project / "ext.yaml").write_text("factor: 3\n", encoding="utf-8")
    code, output, md = _run_report(roots, capsys)
    assert code == 1
    assert "ext.yaml" in output and report.STALE in _number_row(md, "fixture.lines")


def test_number_made_by_other_code_is_stale(small_build, capsys):
    """A number whose recorded code hash is not the hash of the step's module as it is now."""
    roots, _ = small_build
    current = code_hash(list(module_sources(FIXTURE_MODULE)))
    data = json.loads(roots.numbers.read_text(encoding="utf-8"))
    assert data["fixture.lines"]["code"] == current
    data["fixture.lines"]["code"] = "f" * 64  # as recorded by an earlier version of the module
    roots.numbers.write_text(json.dumps(data), encoding="utf-8")
    code, output, md = _run_report(roots, capsys)
    assert code == 1
    assert "code" in output and FIXTURE_MODULE in output and report.STALE in _number_row(md, "fixture.lines")


def test_report_task_fails_when_not_certified(small_build):
    """The doit `report` task writes the report, then fails with the reason when anything is stale."""
    roots, _ = small_build
    assert actions.report(roots) is None
    (roots.raw / "counts.txt").write_text("changed\n", encoding="utf-8")
    write_manifest(roots.raw)
    result = actions.report(roots)
    assert isinstance(result, TaskFailed)
    assert "NOT certified" in str(result) and "counts.txt" in str(result)
    assert (roots.reproduction / "report.html").is_file()


# ------------------------------------------------------------------ hostile names never become markup
HOSTILE_RAW = "<script>alert(1)</script>.xy"  # a sub-folder `<script>alert(1)<` holding `script>.xy`
HOSTILE_QUOTES = 'q" onmouseover="alert(2)" x=".txt'
HOSTILE_TICKS = "a`<img src=x onerror=alert(3)>`b `` |.txt"
HOSTILE_LINK = "[c](javascript:alert(4)) <javascript:alert(6)>.txt"  # glob characters: not a declared input
HOSTILE_FIGURE = "figures/<b onmouseover=alert(5)> `x`.png"
HOSTILE_DATA = "data/<i>d</i> & \"e\".csv"


class _Markup(HTMLParser):
    """Every element and attribute of an HTML page, and its visible text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]

    def handle_data(self, data):
        self.text.append(data)


def parse_html(text: str) -> _Markup:
    """The page's elements, attributes and text, as a browser's tokenizer sees them."""
    parser = _Markup()
    parser.feed(text)
    parser.close()
    return parser


def assert_no_injected_markup(markup: _Markup) -> None:
    """No script element, no event-handler attribute, no javascript: URL anywhere in the page."""
    assert "script" not in markup.tags
    assert not [a for a in markup.attributes if a[1].startswith("on")], markup.attributes
    assert not [a for a in markup.attributes if "javascript:" in a[2].lower()]
    assert not {"b", "i"} & set(markup.tags)  # the names' own tags stayed text


def test_hostile_file_names_stay_text_in_the_report(tmp_path):
    """Raw file names with HTML, quotes and backticks, a build input with HTML and a figure named with
    markup are shown literally in report.html; none of them becomes an element or attribute."""
    from PIL import Image

    step = _fixture_step(source=HOSTILE_TICKS, html=raw(HOSTILE_RAW), quotes=raw(HOSTILE_QUOTES))
    roots = _small_build(tmp_path, step, {HOSTILE_TICKS: "1\n2\n", HOSTILE_RAW: "x\n", HOSTILE_QUOTES: "y\n",
                                         HOSTILE_LINK: "z\n"})
    # a figure step's record, as the runner writes it, with a hostile input and output name
    (roots.build / HOSTILE_DATA).parent.mkdir(parents=True, exist_ok=True)
    (roots.build / HOSTILE_DATA).write_text("x,y\n1,2\n", encoding="utf-8")
    (roots.build / HOSTILE_FIGURE).parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 20), (200, 30, 30)).save(roots.build / HOSTILE_FIGURE)
    record = {"step": "figs", "module": FIXTURE_MODULE, "source": "tests/step_fixture.py",
              "inputs": {HOSTILE_DATA: sha256_file(roots.build / HOSTILE_DATA)},
              "input_roots": {HOSTILE_DATA: "build"}, "outputs": [HOSTILE_FIGURE], "libraries": {},
              "code": code_hash(list(module_sources(FIXTURE_MODULE))), "seconds": 0.1}
    roots.step_record("figs").write_text(json.dumps(record), encoding="utf-8")

    certificate = report.write_report(roots)
    assert certificate.certified, certificate.problems
    markup = parse_html(certificate.html.read_text(encoding="utf-8"))
    assert_no_injected_markup(markup)
    text = " ".join("".join(markup.text).split())  # HTML wraps lines at spaces
    for name in (HOSTILE_RAW, HOSTILE_QUOTES, HOSTILE_TICKS, HOSTILE_LINK, HOSTILE_DATA, HOSTILE_FIGURE):
        assert name in text, name
    # the thumbnail was found and embedded despite its name
    assert [v for t, a, v in markup.attributes if t == "img" and a == "src" and v.startswith("data:image/png")]


@pytest.mark.parametrize("text", ["plain", "a`b", "``x``", "`lead", "trail`", "<x> | y", ""])
def test_markdown_code_span_round_trips_through_pandoc(text):
    """Any text wrapped by md_code comes back from pandoc as one code element holding exactly it."""
    import pypandoc

    html = pypandoc.convert_text(f"| c |\n|---|\n| {report.md_code(text)} |\n", "html", format="markdown")
    markup = parse_html(html)
    assert markup.tags.count("code") == (1 if text else 0)
    assert text in "".join(markup.text)


@pytest.mark.parametrize("text", ["99.70 %", "a*b*_c_", "<b>x</b> & y", "[l](javascript:x)", "a | b", "@cite $x$ ^s^ ~t~",
                                  "--- ... \"q\" 'r'", "\\ back"])
def test_markdown_text_round_trips_through_pandoc(text):
    """md_text makes pandoc print the text exactly, with no markup of its own."""
    import pypandoc

    html = pypandoc.convert_text(f"| c |\n|---|\n| {report.md_text(text)} |\n", "html",
                                 format=report.MARKDOWN_FORMAT)
    markup = parse_html(html)
    assert set(markup.tags) <= {"table", "thead", "tbody", "tr", "th", "td", "colgroup", "col"}
    assert text in "".join(markup.text)


def test_report_marks_numbers_computed_with_other_parameters_stale(tmp_path):
    """A number computed with a parameter value the registry no longer declares is not certified."""

    from paperbuild.paths import Roots
    from paperbuild.runner import run_step
    from paperbuild.step import Param, Step, raw

    (tmp_path / "raw" / "notes").mkdir(parents=True)
    (tmp_path / "raw" / "notes" / "source.txt").write_text("a\nb\n")
    (tmp_path / "raw" / "notes" / "other.txt").write_text("c\n")
    from paperbuild.manifest import write_manifest

    write_manifest(tmp_path / "raw")
    roots = Roots(raw=tmp_path / "raw", build=tmp_path / "build")
    step = Step(name="fixture", module="tests.step_fixture", doc="d",
                inputs={"source": raw("notes/source.txt"), "other": raw("notes/other.txt")},
                outputs={"table": "data/fixture.csv"}, numbers=("fixture.lines",), params={"mode": Param("ok")})
    run_step(step, roots)
    record = json.loads(roots.step_record("fixture").read_text())
    assert record["params"] == {"mode": "ok"}
    verifier = report.Verifier(roots, report.check_raw(roots.raw), {"fixture": record},
                               {"fixture": {"mode": "subset_provenance"}})
    problems = verifier.step_problems("fixture")
    assert any("parameter fixture.mode was 'ok', the registry now says 'subset_provenance'" in p for p in problems)
    assert report.Verifier(roots, report.check_raw(roots.raw), {"fixture": record},
                           {"fixture": {"mode": "ok"}}).step_problems("fixture") == []


def test_figure_thumbnails_are_legible_links_and_tables_wrap(tmp_path):
    """Each figure shows as a 240 px thumbnail (a PNG shrunk to twice that, never to a quarter) that
    links to the figure itself; the page's style lets tables wrap and scroll inside the page."""
    from PIL import Image

    roots = _small_build(tmp_path, _fixture_step(), {"counts.txt": "a\n"})
    (roots.build / "figures").mkdir()
    Image.new("RGB", (1600, 900), (10, 20, 30)).save(roots.build / "figures" / "big.png")
    record = json.loads(roots.step_record("fixture").read_text(encoding="utf-8"))
    record["outputs"].append("figures/big.png")
    roots.step_record("fixture").write_text(json.dumps(record), encoding="utf-8")
    certificate = report.write_report(roots)
    md = certificate.md.read_text(encoding="utf-8")
    assert "[![figures/big.png](../reproduction/thumbnails/big.png){width=240px}](../figures/big.png)" in md
    with Image.open(roots.reproduction / "thumbnails" / "big.png") as thumb:
        assert thumb.width == 480
    html = certificate.html.read_text(encoding="utf-8")
    assert 'href="../figures/big.png"' in html and "overflow-x: auto" in html and "max-width: 80em" in html


def test_judge_is_the_status_of_the_report_rows():
    """`judge` (shared with the paper's published-vs-rebuilt table) gives each row's status."""
    numbers = {"a.x": {"value": 76.47, "text": "76.5 nm", "unit": "nm", "step": "s", "inputs": {}, "code": ""}}
    ledger = {"a.x": {"published": 76.4, "tolerance": 0.01, "locked": 76.47, "unit": "nm", "text": "76.5 nm"},
              "a.y": {"published": 1.0, "tolerance": 0.1, "locked": 1.0, "unit": "", "text": "1.0"}}
    accuracy = {"a.x": {"n": 12, "failures": 0, "worst": 0.04, "goal": 0.3}}
    rows = {r["key"]: r["status"] for r in report.number_rows(numbers, ledger, None, accuracy)}
    assert rows == {"a.x": report.judge("a.x", numbers, ledger, accuracy), "a.y": "missing"}
    assert rows["a.x"] == report.REPRODUCED and report.judge("a.x", numbers, ledger) == report.DIFFERS

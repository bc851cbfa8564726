"""The paper's build, read top to bottom: raw data -> analyses -> numbers -> checks -> paper.

    doit                         full build (verify raw data, analyses, numbers, drift check, lint, render)
    doit raw=DIR build=DIR2      the same on another raw tree, into another build folder
    doit report                  the reproduction report alone (build/reproduction/report.html)
    doit accept                  lock the current numbers into paper/ledger.yaml (after review)
    doit list / doit info TASK   what exists / why a task would run

Steps come from analysis/registry.py; the work behind each task is in paperbuild/.
Nothing heavy is imported here, so a no-op build stays instant.
"""
from pathlib import Path

from doit import get_var
from doit.tools import config_changed

from analysis.registry import STEPS
from paperbuild import actions, lock
from paperbuild.manifest import MANIFEST_NAME, list_tree, read_manifest_names
from paperbuild.render import DOCUMENTS, paper_sources
from paperbuild.step import library_versions

ROOT = Path(__file__).resolve().parent
RAW = Path(get_var("raw", str(ROOT / "data" / "raw"))).resolve()
BUILD = Path(get_var("build", str(ROOT / "build"))).resolve()
PAPER = ROOT / "paper"
LEDGER = PAPER / "ledger.yaml"
NUMBERS = BUILD / "numbers.json"
BUILD.mkdir(parents=True, exist_ok=True)
lock.acquire(BUILD)  # one build per build folder at a time (paperbuild/lock.py)

DOIT_CONFIG = {
    "default_tasks": ["verify_raw", "analysis", "numbers", "drift", "lint", "render", "report"],
    "dep_file": str(BUILD / ".doit.db"),
    "backend": "sqlite3",
    "verbosity": 2,
    "action_string_formatting": "new",
}


def task_verify_raw():
    """Check the raw tree against its MANIFEST.sha256 (missing, extra or changed files)."""
    listed = read_manifest_names(RAW)
    present = [RAW / rel for rel in [MANIFEST_NAME, *listed] if (RAW / rel).is_file()]
    return {
        "actions": [(actions.verify_raw, [RAW, BUILD / "raw_verified.json"])],
        # content changes of listed files rerun the check; a missing or extra file does too
        "file_dep": present,
        "targets": [BUILD / "raw_verified.json"],
        "uptodate": [lambda: set(list_tree(RAW)) == set(listed)],
        "title": lambda task: f"verify_raw: {RAW}",
    }


def task_analysis():
    """Run each analysis and figure step of analysis/registry.py."""
    for step in STEPS:
        source = RAW if step.source_root == "raw" else BUILD
        yield {
            "name": step.name,
            "doc": step.module,
            "actions": [(actions.run_step, [step, RAW, BUILD])],
            "file_dep": [source / rel for rel in step.input_files(source)] + [ROOT / rel for rel in step.external]
            + step.code_files(),
            # the step record (inputs, outputs, source, time) feeds the report and the HTML's links
            "targets": [BUILD / rel for rel in step.targets] + [BUILD / "steps" / f"{step.name}.json"],
            "task_dep": ["verify_raw"],
            "uptodate": [config_changed({"params": dict(step.params), "libraries": library_versions(step.libraries)})],
        }


def task_numbers():
    """Merge every step's numbers into build/numbers.json."""
    parts = [BUILD / step.numbers_file for step in STEPS if step.numbers_file]
    return {"actions": [(actions.merge_numbers, [parts, NUMBERS])], "file_dep": parts, "targets": [NUMBERS]}


def task_drift():
    """Fail with one table when any number moved outside its tolerance in the ledger."""
    return {"actions": [(actions.check_drift, [NUMBERS, LEDGER])], "file_dep": [NUMBERS, LEDGER]}


def task_lint():
    """Fail when the article names an unknown number or types a registered one by hand."""
    sources = paper_sources(PAPER)
    return {"actions": [(actions.lint, [sources, NUMBERS])], "file_dep": sources + [NUMBERS]}


def task_render():
    """Render the article and supplement to HTML and PDF in build/paper/."""
    figures = [BUILD / rel for step in STEPS for rel in step.writes if rel.startswith(("figures/", "tables/"))]
    for document in DOCUMENTS:
        targets = [BUILD / "paper" / f"{document}.{ext}" for ext in ("html", "pdf")]
        yield {
            "name": document,
            "actions": [(actions.render, [document, PAPER, BUILD, targets])],
            "file_dep": paper_sources(PAPER, document) + [NUMBERS] + figures
            + [BUILD / "steps" / f"{step.name}.json" for step in STEPS],
            "targets": targets,
            "task_dep": ["drift", "lint"],
        }


def task_report():
    """Write the reproduction report (build/reproduction/report.html and .md) for reviewers."""
    papers = [BUILD / "paper" / f"{document}.{ext}" for document in DOCUMENTS for ext in ("html", "pdf")]
    return {
        "actions": [(actions.report, [BUILD, RAW, ROOT, LEDGER])],
        "file_dep": [NUMBERS, LEDGER, BUILD / "raw_verified.json", *papers]
        + [BUILD / "steps" / f"{step.name}.json" for step in STEPS],
        "targets": [BUILD / "reproduction" / "report.md", BUILD / "reproduction" / "report.html"],
        "task_dep": ["render"],
    }


def task_accept():
    """Lock the current numbers into paper/ledger.yaml (run after reviewing a change)."""
    return {"actions": [(actions.accept, [NUMBERS, LEDGER])], "task_dep": ["numbers"], "uptodate": [False]}

"""The paper's build, read top to bottom: raw data -> analyses -> numbers -> checks -> paper.

    doit                         full build (verify raw data, analyses, numbers, drift check, lint, render)
    doit raw=DIR build=DIR2      the same on another raw tree, into another build folder
    doit -n 2                    independent steps at once (one process each)
    doit scheduler=tcp://HOST:PORT   the EM steps' chunked work on a dask.distributed cluster
    doit report                  the reproduction report alone (build/reproduction/report.html)
    doit validate                method accuracy over 12 synthetic realizations (build/validation/)
    doit validate realizations=N seed=S   more or other realizations
    doit accept                  lock the current numbers into paper/ledger.yaml, and the last
                                 validation into paper/accuracy.json (after review)
    doit list / doit info TASK   what exists / why a task would run

Steps, their files and their method parameters are declared once, in
analysis/registry.py; the machinery behind each task is in paperbuild/, which knows
nothing of this paper: this file hands it the steps.  Nothing heavy is imported here,
so a no-op build stays instant.
"""
from doit import get_var
from doit.tools import config_changed

from analysis.registry import STEPS
from paperbuild import actions, comparison, lock, scheduler
from paperbuild.manifest import MANIFEST_NAME, list_tree, read_manifest_names
from paperbuild.errors import BuildError
from paperbuild.paths import PROJECT_ROOT, Roots, default_build, default_raw, prepare_build_folder
from paperbuild.render import DOCUMENTS, paper_sources
from paperbuild.step import library_versions, with_producers

ROOTS = Roots(raw=get_var("raw", str(default_raw())), build=get_var("build", str(default_build())))
try:  # first, before anything is written: never a build folder in the raw tree (paperbuild/paths.py)
    prepare_build_folder(ROOTS)
except BuildError as err:
    raise SystemExit(f"error: {err}") from None
try:  # where chunked steps compute: this machine, or a Dask cluster (paperbuild/scheduler.py)
    SCHEDULER = scheduler.check_address(get_var("scheduler", ""))
except BuildError as err:
    raise SystemExit(f"error: {err}") from None
lock.acquire(ROOTS.build, roots=ROOTS)  # one build per build folder at a time (paperbuild/lock.py)
STEP_RECORDS = [ROOTS.step_record(step.name) for step in STEPS]
COMPARISON = [ROOTS.build / comparison.TABLE, ROOTS.build / comparison.NOTES]  # published against rebuilt

DOIT_CONFIG = {
    "default_tasks": ["verify_raw", "analysis", "params", "numbers", "comparison", "drift", "lint", "render", "report"],
    "dep_file": str(ROOTS.build / ".doit.db"),
    "backend": "sqlite3",
    "verbosity": 2,
    "action_string_formatting": "new",
}


def task_verify_raw():
    """Check the raw tree against its MANIFEST.sha256 (missing, extra or changed files)."""
    raw = ROOTS.raw
    listed = read_manifest_names(raw)
    present = [raw / rel for rel in [MANIFEST_NAME, *listed] if (raw / rel).is_file()]
    return {
        "actions": [(actions.verify_raw, [ROOTS])],
        # content changes of listed files rerun the check; a missing or extra file does too
        "file_dep": present,
        "targets": [ROOTS.raw_verified],
        "uptodate": [lambda: set(list_tree(raw)) == set(listed)],
        "title": lambda task: f"verify_raw: {raw}",
    }


def task_analysis():
    """Run each analysis and figure step of analysis/registry.py."""
    for step in STEPS:
        yield {
            "name": step.name,
            "doc": step.doc,
            "actions": [(actions.run_step, [step, ROOTS, SCHEDULER])],
            "file_dep": step.input_files(ROOTS) + step.code_files(),
            # the step record (inputs, outputs, source, time) feeds the report and the HTML's links
            "targets": [ROOTS.build / rel for rel in step.targets] + [ROOTS.step_record(step.name)],
            "task_dep": ["verify_raw"],
            "uptodate": [config_changed({"params": step.param_values(),
                                         "libraries": library_versions(step.libraries)})],
        }


def task_params():
    """Write every step's method parameters to build/params.json (the paper quotes them)."""
    declared = {step.name: {name: p.record(step.name) for name, p in step.params.items()} for step in STEPS}
    return {
        "actions": [(actions.write_params, [STEPS, ROOTS.params])],
        "targets": [ROOTS.params],
        "uptodate": [config_changed(declared)],
    }


def task_numbers():
    """Merge every step's numbers into build/numbers.json."""
    parts = [ROOTS.build / step.numbers_file for step in STEPS if step.numbers_file]
    return {"actions": [(actions.merge_numbers, [parts, ROOTS.numbers])], "file_dep": parts,
            "targets": [ROOTS.numbers]}


def task_comparison():
    """Write the published-vs-rebuilt table (build/tables/) and the notes {{< num KEY vs >}} prints."""
    code = [PROJECT_ROOT / "paperbuild" / f"{name}.py" for name in ("comparison", "report")]
    return {"actions": [(actions.reported(comparison.write),
                         [ROOTS.numbers, ROOTS.ledger, ROOTS.accuracy, COMPARISON[0], COMPARISON[1]])],
            "file_dep": [ROOTS.numbers, ROOTS.ledger, ROOTS.accuracy, *code],
            "targets": COMPARISON}


def task_drift():
    """Fail with one table when any number moved outside its tolerance in the ledger."""
    return {"actions": [(actions.check_drift, [ROOTS])],
            "file_dep": [ROOTS.numbers, ROOTS.ledger]}


def task_lint():
    """Fail when the paper names an unknown key or types a number or parameter by hand."""
    sources = paper_sources(ROOTS.paper)
    return {"actions": [(actions.lint, [sources, ROOTS.numbers, ROOTS.params, ROOTS.accuracy])],
            "file_dep": sources + [ROOTS.numbers, ROOTS.params, ROOTS.accuracy]}


def task_render():
    """Render the article and supplement to HTML and PDF in build/paper/."""
    figures = [ROOTS.build / rel for step in STEPS for rel in step.outputs.values()
               if rel.startswith(("figures/", "tables/"))]
    for document in DOCUMENTS:
        targets = [ROOTS.rendered / f"{document}.{ext}" for ext in ("html", "pdf")]
        yield {
            "name": document,
            "doc": f"paper/{document}.qmd -> build/paper/{document}.html and .pdf",
            "actions": [(actions.render, [document, ROOTS, targets])],
            "file_dep": paper_sources(ROOTS.paper, document) + [ROOTS.numbers, ROOTS.params] + figures
            + COMPARISON + STEP_RECORDS,
            "targets": targets,
            "task_dep": ["drift", "lint"],
        }


def _stamp(path):
    """Size and modification time of a file, or None: cheap enough for a no-op build."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def task_report():
    """Write the reproduction report (build/reproduction/report.html and .md) for reviewers."""
    papers = [ROOTS.rendered / f"{document}.{ext}" for document in DOCUMENTS for ext in ("html", "pdf")]
    return {
        "actions": [(actions.report, [ROOTS])],
        "file_dep": [ROOTS.numbers, ROOTS.ledger, ROOTS.raw_verified, ROOTS.accuracy, *papers, *STEP_RECORDS],
        # the report shows the last validation too, but a file_dep on it would make every
        # `doit` rerun the (minutes-long) validation after a code change: a stat is enough
        "uptodate": [config_changed({"validation": _stamp(ROOTS.validation / "validation.json")})],
        "targets": [ROOTS.reproduction / "report.md", ROOTS.reproduction / "report.html"],
        "task_dep": ["render"],
    }


def task_accept():
    """Lock the current numbers into paper/ledger.yaml and the last validation into paper/accuracy.json."""
    return {"actions": [(actions.accept, [ROOTS])], "task_dep": ["numbers"], "uptodate": [False]}


def _count(name: str, default: int, least: int) -> int:
    text = get_var(name, str(default))
    try:
        value = int(text)
    except ValueError:
        raise SystemExit(f"error: {name}={text!r}: give a whole number") from None
    if value < least:
        raise SystemExit(f"error: {name}={value}: give at least {least}")
    return value


def _synthetic_instrument():
    from data.synth.priors import instrument  # imported only when the validation runs

    return instrument()


def task_validate():
    """Method accuracy of every raw-derived number over synthetic realizations (build/validation/)."""
    realizations, seed = _count("realizations", 12, 1), _count("seed", 1, 0)
    steps = with_producers(STEPS, [step for step in STEPS if step.numbers])
    synth = PROJECT_ROOT / "data" / "synth"
    instrument_files = sorted(synth.glob("*.py")) + sorted(synth.glob("priors/*.yaml")) + [synth / "truth.yaml"]
    code = sorted({path for step in steps for path in step.code_files()})
    # cited project files only: the raw tree is drawn anew, and the main build's outputs are not read
    cited = sorted({path for step in steps for path in step.input_files(ROOTS, root="project")})
    sources = instrument_files + code + cited
    libraries = tuple(sorted({lib for step in steps for lib in step.libraries}))
    return {
        "actions": [(actions.validate, [steps, ROOTS, realizations, seed, _synthetic_instrument, sources])],
        "file_dep": sources,
        "targets": [ROOTS.validation / "validation.json", ROOTS.validation / "validation.md"],
        "uptodate": [config_changed({"realizations": realizations, "seed": seed,
                                     "params": {step.name: step.param_values() for step in steps},
                                     "libraries": library_versions(libraries)})],
        "verbosity": 2,
    }

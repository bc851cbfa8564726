"""The project's own contract files: README commands, CI entry, citation metadata."""
from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.conftest import ROOT


def _readme_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    head = (ROOT / "README.md").read_text(encoding="utf-8")[: block.start()]
    assert head.count("\n") <= 2, "the two commands must open the README"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_build_and_test_commands():
    """Exactly two commands: set up + full build, set up + tests, both from the system's python3."""
    commands = _readme_commands()
    assert len(commands) == 2
    assert commands[0].startswith("python3 bootstrap.py") and commands[0].endswith("-m doit")
    assert commands[1].startswith("python3 bootstrap.py --test") and commands[1].endswith("-m pytest")


def test_ci_runs_the_readme_test_command():
    """.ci/run calls the README's test command verbatim."""
    assert _readme_commands()[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_citation_cff_is_valid():
    """CITATION.cff validates against the CFF 1.2.0 schema and prefers the Joule article."""
    import jsonschema

    schema = json.loads((ROOT / "tests" / "schemas" / "citation-file-format-1.2.0.json").read_text())
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    jsonschema.validate(citation, schema)
    assert citation["preferred-citation"]["doi"] == "10.1016/j.joule.2020.08.013"


def test_workflow_is_valid_and_checks_drift():
    """The GitHub workflow validates against SchemaStore's schema (as vendored by
    check-jsonschema) and runs the tests, the build and the number diff."""
    import importlib.resources

    import jsonschema

    workflow_text = (ROOT / ".github" / "workflows" / "build.yml").read_text(encoding="utf-8")
    # YAML 1.1 (PyYAML) reads the key `on` as True; GitHub reads YAML 1.2, where it is "on"
    workflow = {("on" if key is True else key): value for key, value in yaml.safe_load(workflow_text).items()}
    schema_file = importlib.resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "github-workflows.json"
    jsonschema.validate(workflow, json.loads(schema_file.read_text(encoding="utf-8")))
    runs = "\n".join(step.get("run", "") for step in workflow["jobs"]["build"]["steps"])
    assert "python -m pytest" in runs and "python -m doit" in runs
    assert "paperbuild.numdiff" in runs and "GITHUB_STEP_SUMMARY" in runs
    assert set(workflow["on"]) == {"push", "pull_request"}


def test_workflow_schema_rejects_a_broken_workflow():
    """The schema check can fail: a job without runs-on is refused."""
    import importlib.resources

    import jsonschema

    schema_file = importlib.resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "github-workflows.json"
    broken = {"on": "push", "jobs": {"build": {"steps": [{"run": "true"}]}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(schema_file.read_text(encoding="utf-8")))


def test_ledger_holds_every_key_of_the_paper_spec():
    """Every number key the paper spec lists is in the ledger (so in the report too)."""
    import os

    spec = ROOT.parent / "shared" / "paper-spec.md"
    if not spec.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{spec} is missing: CI provides ../shared beside the clone")
        pytest.skip("../shared/paper-spec.md is not beside this clone")
    ledger = yaml.safe_load((ROOT / "paper" / "ledger.yaml").read_text(encoding="utf-8"))
    keys = set()
    for line in spec.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*([a-z]+\.[A-Za-z0-9_]+)((?:\s*/\s*_[A-Za-z0-9_]+)*)\s*\|", line)
        if not match:
            continue
        first = match.group(1)
        keys.add(first)
        for suffix in re.findall(r"_[A-Za-z0-9_]+", match.group(2)):
            # "xps.ref_o1s_nbo_eV / _bo_eV": a suffix replaces as many trailing parts as it has
            parts = first.split("_")
            keys.add("_".join(parts[: len(parts) - suffix.count("_")]) + suffix)
    assert len(keys) >= 45
    renamed = {key: RENAMED_SPEC_KEYS.get(key, key) for key in keys}
    assert sorted(k for k, now in renamed.items() if now not in ledger) == []
    for old, new in RENAMED_SPEC_KEYS.items():  # a rename is said where a reader of the ledger looks
        assert ledger[new].get("renamed_from") == old, new


# Keys of paper-spec.md that the build renamed, with the reason (issue 12): the retention
# compares the closing slow cycle with cycle 2, whatever the cycle count; the frame
# similarity barely responded to beam damage, so the damage is measured as a blur.
RENAMED_SPEC_KEYS = {"echem.capacity_retention_535": "echem.capacity_retention_pct",
                     "stem.beam_stability_min_ncc": "stem.beam_blur_nm"}


def _requirement_name(spec: str) -> str:
    return re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0].strip().lower().replace("_", "-")


def test_lock_pins_every_dependency_with_hashes():
    """requirements-lock.txt pins each runtime and test dependency of pyproject.toml exactly,
    with hashes, so `pip install --require-hashes` reproduces the checked environment."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {_requirement_name(d) for d in project["dependencies"] + project["optional-dependencies"]["test"]}
    lock = (ROOT / "requirements-lock.txt").read_text(encoding="utf-8")
    pinned = {m.group(1).lower().replace("_", "-") for m in re.finditer(r"^([A-Za-z0-9_.-]+)==\S+", lock, re.M)}
    assert wanted <= pinned, f"not in the lock: {sorted(wanted - pinned)}"
    entries = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", lock.split("\n", 2)[2])
    assert all("--hash=sha256:" in entry for entry in entries if "==" in entry)
    assert "file://" not in lock, "the lock must name registry packages only"


def test_ci_runs_the_suite_on_the_newest_python_too():
    """.ci/run repeats the README's test command on the newest supported Python."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "versions/3.13" in ci
    assert '"$NEWEST/bin/python" bootstrap.py --test --venv "$VENV" && "$VENV/bin/python" -m pytest' in ci

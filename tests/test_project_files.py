"""The project's own contract files: README commands, CI entry, citation metadata."""
from __future__ import annotations

import json
import re

import yaml

from tests.conftest import ROOT


def _readme_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    head = (ROOT / "README.md").read_text(encoding="utf-8")[: block.start()]
    assert head.count("\n") <= 2, "the two commands must open the README"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_build_and_test_commands():
    """Exactly two commands: set up + full build, set up + tests."""
    commands = _readme_commands()
    assert len(commands) == 2
    assert "pip install" in commands[0] and "doit" in commands[0]
    assert "pip install" in commands[1] and "pytest" in commands[1]


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

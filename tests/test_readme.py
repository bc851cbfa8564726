"""The README cannot drift from the code: every command it shows is run.

Each command of the README's command table and of its code blocks is run against a
small synthetic tree, with its placeholders (``DIR``, ``FILE``, ``/path/to/raw``, ...)
filled in.  Where running would be long (a full build, the benchmark, the test suite
itself, the set-up), the command is probed instead: ``doit`` commands by ``doit info``
of each task they name, with the same variables (so an unknown task or a bad variable
fails), and the others by ``--help``, which must list every option the README uses.
A command the README gains that this test does not know fails it, with its text.
"""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
PROGRAMS = ("python3 ", "python ", ".venv/bin/python ", "doit", "git ")


def readme_commands() -> list[str]:
    """Every command the README shows: the command table's first column and code-block lines."""
    commands = []
    table = README.split("## What the commands do", 1)[1].split("\n## ", 1)[0]
    for row in table.splitlines():
        if row.startswith("| `"):
            commands += re.findall(r"`([^`]+)`", row.split(" | ")[0])
    for block in re.findall(r"```[a-z]*\n(.*?)```", README, re.S):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if command.startswith(PROGRAMS):
                commands += [part.strip() for part in command.split("&&")]
    return list(dict.fromkeys(commands))


def test_readme_shows_the_commands_users_need():
    shown = readme_commands()
    for needed in ("python3 bootstrap.py", "python -m paperbuild.manifest write DIR", "doit validate",
                   "doit accept", "python -m data.synth --truth FILE --out DIR", "python -m paperbuild.numdiff A B",
                   "python -m paperbuild.report --build DIR", "python benchmarks/build_benchmark.py"):
        assert needed in shown, needed


@pytest.fixture(scope="module")
def places(raw_tree, default_build, tmp_path_factory) -> dict[str, str]:
    """What each placeholder stands for in this test."""
    base = tmp_path_factory.mktemp("readme")
    raw = base / "raw"
    shutil.copytree(raw_tree, raw)
    truth = base / "truth.yaml"
    truth.write_text("echem: {cycles: 12}\nliquid: {cycles: 12}\n", encoding="utf-8")
    return {"DIR": str(raw), "/path/to/raw": str(raw), "DIR2": str(base / "build2"),
            "/path/to/build": str(default_build), "build": str(default_build), "FILE": str(truth),
            "N": "2", "S": "3", "TASK": "report", "A": str(ROOT / "paper" / "ledger.yaml"),
            "B": str(default_build), "REV1": "HEAD", "REV2": "HEAD", "OUT": str(base / "synth-out"),
            "tcp://HOST:PORT": "tcp://127.0.0.1:8786"}


def fill(words: list[str], places: dict[str, str], **roles: str) -> list[str]:
    """Replace placeholders (whole words, or the value of ``raw=``/``build=``/``git:``)."""
    out = []
    for word in words:
        key, eq, value = word.partition("=")
        if eq and key.isidentifier():
            out.append(f"{key}={places.get(roles.get(value, value), value)}")
        elif word.startswith("git:"):
            out.append("git:" + places.get(word[4:], word[4:]))
        else:
            out.append(places.get(roles.get(word, word), word))
    return out


def run(argv: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600)


def check_help(argv: list[str], readme_words: list[str]) -> None:
    """``--help`` works and lists every option the README's command uses."""
    result = run([*argv, "--help"])
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
    for word in readme_words:
        if word.startswith("-") and word not in ("-m",):
            assert word.split("=")[0] in result.stdout, f"{word} is not in {' '.join(argv)} --help"


@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_runs(command, places, tmp_path):
    words = shlex.split(command)
    if words[0] == "git":
        pytest.skip("git's own command")
    python = [sys.executable]
    if words[0] in ("python", "python3", ".venv/bin/python"):
        words = words[1:]
    if words[0] == "doit" or words[:2] == ["-m", "doit"]:
        rest = words[1:] if words[0] == "doit" else words[2:]
        if rest[:1] == ["-n"]:  # doit's own option (parallel processes): the probe lists tasks without it
            assert rest[1].isdigit(), command
            rest = rest[2:]
        variables = [w for w in rest if "=" in w]
        tasks = [w for w in rest if "=" not in w]
        if not any(v.startswith("build=") for v in variables):
            variables.append(f"build={tmp_path / 'build'}")  # never the checkout's build/
        variables = fill(variables, places)
        if tasks[:1] in (["list"], ["info"]):  # read-only: run as shown (info exits 1 for a task that would run)
            result = run([*python, "-m", "doit", *fill(tasks, places), *variables])
            assert result.returncode in (0, 1) and result.stdout and "rror" not in result.stdout + result.stderr, \
                f"{command}: {result.stdout}{result.stderr}"
            return
        # long tasks: dodo.py must accept the variables, and know each task named
        result = run([*python, "-m", "doit", "list", "--all", *variables])
        assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
        listed = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
        assert set(tasks) <= listed, f"{command}: no task {sorted(set(tasks) - listed)} in `doit list`"
        return
    if words[0] == "bootstrap.py":
        check_help([*python, str(ROOT / "bootstrap.py")], words[1:])
        return
    if words[0] in ("benchmarks/build_benchmark.py", "benchmarks/em_scaling.py"):
        check_help([*python, str(ROOT / words[0])], words[1:])
        return
    assert words[0] == "-m", f"the README shows a command this test does not know: {command}"
    module, args = words[1], words[2:]
    if module in ("pytest", "paperbuild.report"):  # the suite itself; a report needs a full build
        check_help([*python, "-m", module], args)
        return
    if module == "data.synth" and "--size" in args:  # several GB: the size's keys are tested in test_synth
        check_help([*python, "-m", module], args)
        return
    if module == "data.synth":
        filled = fill(args, places, DIR="OUT")
        result = run([*python, "-m", module, *filled])
        assert result.returncode == 0, result.stderr
        assert (Path(places["OUT"]) / "MANIFEST.sha256").is_file()
        return
    if module == "paperbuild.manifest":
        result = run([*python, "-m", module, *fill(args, places)])
        assert result.returncode == 0, result.stderr
        return
    if module == "paperbuild.numdiff":
        if any(a.startswith("git:") for a in args) and not (ROOT / ".git").exists():
            pytest.skip("not a git checkout")
        result = run([*python, "-m", module, *fill(args, places)])
        assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr
        assert "key" in result.stdout or "No quoted number changed" in result.stdout
        return
    raise AssertionError(f"the README shows a command this test does not know: {command}")


def test_readme_names_every_output_folder():
    """'Where outputs land' names every top-level file and folder a build writes."""
    from analysis.registry import STEPS
    from paperbuild import comparison
    from paperbuild.paths import Roots

    block = README.split("## Where outputs land", 1)[1].split("```", 2)[1]
    named = {word.split("/")[0] for line in block.splitlines()[1:] if line.strip()
             for word in line.strip().split("  ")[0].replace(",", " ").split()}
    roots = Roots(raw=ROOT / "data" / "raw", build=ROOT / "build")
    written = [*(rel for step in STEPS for rel in step.outputs.values()), step_record_folder(roots),
               *(p.relative_to(roots.build).as_posix() for p in (
                   roots.numbers, roots.params, roots.raw_verified, roots.rendered, roots.reproduction,
                   roots.validation, roots.build / comparison.NOTES))]
    assert {rel.split("/")[0] for rel in written} <= named, named


def step_record_folder(roots) -> str:
    return roots.step_record("x").parent.relative_to(roots.build).as_posix()

"""Every command-line entry point: a real --help, and one-line errors without tracebacks."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

# (how it is typed, the words that run it here, the name its errors start with)
PROGRAMS = [
    ("python -m data.synth", ["-m", "data.synth"], "data.synth"),
    ("python -m paperbuild.manifest", ["-m", "paperbuild.manifest"], "paperbuild.manifest"),
    ("python -m paperbuild.numdiff", ["-m", "paperbuild.numdiff"], "paperbuild.numdiff"),
    ("python -m paperbuild.report", ["-m", "paperbuild.report"], "paperbuild.report"),
    ("python benchmarks/build_benchmark.py", [str(ROOT / "benchmarks" / "build_benchmark.py")],
     "benchmarks/build_benchmark.py"),
    ("python3 bootstrap.py", [str(ROOT / "bootstrap.py")], "bootstrap"),
]


def run(words: list[str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *words, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("typed, words, name", PROGRAMS, ids=[p[2] for p in PROGRAMS])
def test_help_names_the_program_and_shows_examples(typed, words, name):
    result = run(words, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {typed} ")
    examples = result.stdout.split("\nexamples:\n", 1)[1]
    assert all(line.strip().startswith(typed.split()[0]) for line in examples.strip().splitlines()), examples


@pytest.mark.parametrize("typed, words, name", PROGRAMS, ids=[p[2] for p in PROGRAMS])
def test_a_bad_argument_is_one_line(typed, words, name):
    result = run(words, "--no-such-option")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"{name}: error: ")  # the option, or a required argument, named
    assert "--no-such-option" in result.stderr or "required" in result.stderr
    assert f"`{typed} --help`" in result.stderr


@pytest.mark.parametrize("args, status, message", [
    (["-m", "paperbuild.manifest", "write", "{tmp}/empty"], 1, "{tmp}/empty: no files to record"),
    (["-m", "paperbuild.manifest", "verify", "{tmp}/none"], 1, "{tmp}/none: no such folder"),
    (["-m", "paperbuild.report", "--build", "{tmp}/none"], 1, "{tmp}/none: no such build folder; build into it first"),
    (["-m", "paperbuild.numdiff", "{tmp}/none", "{tmp}/none"], 2, "{tmp}/none: no such numbers file"),
    (["-m", "data.synth", "--out", "{tmp}/file"], 2, "{tmp}/file: not a folder"),
], ids=["manifest-empty", "manifest-missing", "report-missing", "numdiff-missing", "synth-out-is-a-file"])
def test_a_bad_file_or_folder_is_one_line_naming_it(tmp_path, args, status, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    result = run([a.format(tmp=tmp_path) for a in args])
    assert result.returncode == status, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    name = args[1] if args[0] == "-m" else args[0]
    assert result.stderr.startswith(f"{name}: error: {message.format(tmp=tmp_path)}"), result.stderr
    assert not (tmp_path / "empty" / "MANIFEST.sha256").exists()

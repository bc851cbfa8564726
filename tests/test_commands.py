"""Suggested commands work when pasted: this interpreter's doit, the user's raw= and build=."""
from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from paperbuild import commands
from paperbuild.paths import PROJECT_ROOT, Roots


def test_doit_program_follows_how_doit_was_started(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main = Path(sys.prefix) / "lib" / "site-packages" / "doit" / "__main__.py"
    assert commands.doit_program([str(main), "accept"]) == f"{commands.python_program()} -m doit"
    script = tmp_path / "venv" / "bin" / "doit"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    monkeypatch.setenv("PATH", "/nonexistent")
    assert commands.doit_program([str(script)]) == str(script)            # not on PATH: its absolute path
    monkeypatch.setenv("PATH", str(script.parent))
    script.chmod(0o755)
    assert commands.doit_program([str(script)]) == "doit"                 # on PATH: its name
    assert commands.doit_program(["/usr/bin/pytest"]) == "doit"           # outside doit


def test_python_program_is_a_path_when_python_on_path_is_another(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))                             # no python on PATH
    program = shlex.split(commands.python_program())
    assert len(program) == 1 and os.path.abspath(program[0]) == os.path.abspath(sys.executable)


def test_doit_repeats_raw_and_build_only_where_the_user_gave_others(tmp_path):
    default = Roots(raw=PROJECT_ROOT / "data" / "raw", build=PROJECT_ROOT / "build")
    assert commands.doit("accept", roots=default).split()[-1] == "accept"
    other = Roots(raw=tmp_path / "my raw", build=tmp_path / "b ü")
    words = shlex.split(commands.doit("accept", roots=other))
    assert words[-3:] == ["accept", f"raw={tmp_path / 'my raw'}", f"build={tmp_path / 'b ü'}"]
    moved = shlex.split(commands.doit(roots=other, build="OTHER_DIR"))
    assert moved[-2:] == [f"raw={tmp_path / 'my raw'}", "build=OTHER_DIR"]


def test_module_quotes_its_arguments(tmp_path):
    words = shlex.split(commands.module("paperbuild.report", "--build", tmp_path / "a b"))
    assert words[-4:] == ["-m", "paperbuild.report", "--build", str(tmp_path / "a b")]

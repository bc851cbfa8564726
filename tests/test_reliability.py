"""What can go wrong around a build, end to end: interruption, two builds at once,
damaged raw files, broken ledgers, a number removed while the article quotes it.
Every case must fail (or recover) with a clear message and lose nothing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paperbuild.manifest import write_manifest
from tests.test_build import build_once, built, doit  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def _outputs(project: Path) -> dict[str, bytes]:
    """Every figure, table, data file and the numbers: what a build must not lose."""
    build = project / "build"
    keep = [p for p in build.rglob("*") if p.is_file() and p.parts[len(build.parts)] in ("figures", "tables", "data")]
    return {p.relative_to(build).as_posix(): p.read_bytes() for p in keep + [build / "numbers.json"]}


def _start(project: Path) -> subprocess.Popen:
    env = dict(os.environ, PAPERBUILD_RENDERER="pandoc", PYTHONUNBUFFERED="1")
    # A shell without job control starts background commands with SIGINT ignored, and
    # Python then never raises KeyboardInterrupt: give the build the terminal's default.
    return subprocess.Popen([sys.executable, "-m", "doit"], cwd=project, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for(process: subprocess.Popen, marker: str) -> list[str]:
    seen = []
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"{marker!r} never appeared:\n{''.join(seen)}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_step_then_normal_build_gives_same_outputs(built, signum):  # noqa: F811
    """A signal during the slowest analysis leaves no half-written output; the next
    `doit` reruns that step and ends with byte-identical outputs."""
    reference = _outputs(built)
    (built / "build" / "steps" / "hrtem.json").unlink()  # make the HRTEM step (about 4 s) run again
    process = _start(built)
    _wait_for(process, "analysis:hrtem")
    time.sleep(1.0)
    process.send_signal(signum)
    process.communicate(timeout=120)
    assert process.returncode != 0
    assert not list((built / "build").glob(".stage-*")), "a staging folder survived the interruption"
    code, output, ran = doit(built)
    assert code == 0, output
    assert "analysis:hrtem" in ran
    assert _outputs(built) == reference


def test_two_builds_on_one_folder(built):  # noqa: F811
    """The second build refuses at once with a clear message; the first finishes intact."""
    reference = _outputs(built)
    (built / "build" / "steps" / "hrtem.json").unlink()
    first = _start(built)
    _wait_for(first, "analysis:hrtem")
    code, output, ran = doit(built)
    assert code != 0 and "another build is running on" in output and not ran
    rest, _ = first.communicate(timeout=300)
    assert first.returncode == 0, rest
    assert _outputs(built) == reference


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(4096))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


@pytest.mark.parametrize("rel, damage, manifest, message", [
    ("xps/depth_profile.vms", _garbage, True, "depth_profile.vms: not a readable VAMAS file"),
    ("xrd/lipon_air_2d.xy", _truncate, True, "lipon_air_2d.xy"),
    ("echem/thin_film_cell.mpt", _truncate, False, "changed (hash differs from the manifest): echem/thin_film_cell.mpt"),
    ("dft/neb_P.dat", lambda p: (p.unlink(), p.symlink_to(p.with_name("nowhere.dat"))), False, "dft/neb_P.dat"),
])
def test_damaged_raw_file_is_named_and_outputs_survive(built, rel, damage, manifest, message):  # noqa: F811
    """Garbage, a truncated file, an unreadable one (a dangling link): the build stops
    naming the file, before or inside the analysis, and keeps every earlier output."""
    reference = _outputs(built)
    html = (built / "build" / "paper" / "article.html").read_bytes()
    damage(built / "data" / "raw" / rel)
    if manifest:  # someone re-recorded the hashes: the analysis itself must refuse the file
        write_manifest(built / "data" / "raw")
    code, output, _ = doit(built)
    assert code != 0 and message in output, output
    assert "Traceback" not in output
    assert _outputs(built) == reference
    assert (built / "build" / "paper" / "article.html").read_bytes() == html


@pytest.mark.parametrize("edit, message", [
    (lambda text: text.replace("xps.li3n_n1s_eV:\n", "xps.li3n_n1s_eV:\n  locked: [\n", 1), "ledger.yaml"),
    (lambda text: text + "xps.li3n_n1s_eV:\n  locked: 1\n  tolerance: 1\n", "key 'xps.li3n_n1s_eV' appears twice"),
])
def test_broken_ledger_is_named(built, edit, message):  # noqa: F811
    ledger = built / "paper" / "ledger.yaml"
    ledger.write_text(edit(ledger.read_text(encoding="utf-8")), encoding="utf-8")
    html = (built / "build" / "paper" / "article.html").read_bytes()
    (built / "build" / "numbers.json").touch()  # make drift run again
    code, output, _ = doit(built)
    assert code != 0 and message in output, output
    assert "Traceback" not in output
    assert (built / "build" / "paper" / "article.html").read_bytes() == html


def test_number_removed_while_the_article_quotes_it(built):  # noqa: F811
    """A step that stops computing a quoted number fails the build by key; the paper survives."""
    html = (built / "build" / "paper" / "article.html").read_bytes()
    edits = (("analysis/electrochemistry.py", 'return [quantity("liquid.ce_max"', 'return [] if True else [quantity("liquid.ce_max"'),
             ("analysis/registry.py", ', "liquid.ce_max")', ")"))
    for rel, old, new in edits:  # dropped from the step and from the registry alike
        path = built / rel
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    code, output, _ = doit(built)
    assert code != 0 and "liquid.ce_max" in output, output
    assert "Traceback" not in output
    assert (built / "build" / "paper" / "article.html").read_bytes() == html

"""Guards around the build folder: never inside the raw tree, and a read-only or full folder
ends in one message naming it.

Tests run as root, and root ignores permission bits (``chmod 0o500`` does not stop it), so a
read-only or full file system is simulated: the function that would fail (``tempfile.mkstemp``,
``os.fdopen``'s write, ``os.replace``, ``open``) is replaced by one raising the ``OSError``
the kernel gives (EACCES, EROFS, ENOSPC).  The end-to-end doit test does the same in the
child process through a ``sitecustomize`` module on ``PYTHONPATH``.
"""
from __future__ import annotations

import errno
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from paperbuild import atomic, lock
from paperbuild.errors import BuildError
from paperbuild.paths import PROJECT_ROOT, Roots, prepare_build_folder


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder`` (hidden ones too) with its kind, size and modification time."""
    return {p.relative_to(folder).as_posix(): (p.is_dir(), p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))} | {".": (True, 0, folder.stat().st_mtime_ns)}


@pytest.fixture
def raw(tmp_path) -> Path:
    """A stand-in raw tree: the guard must refuse before anything reads or writes it."""
    tree = tmp_path / "raw tree"
    (tree / "echem").mkdir(parents=True)
    (tree / "echem" / "cell.mpt").write_text("EC-Lab ASCII FILE\n", encoding="utf-8")
    (tree / "MANIFEST.sha256").write_text("", encoding="utf-8")
    return tree


# ---------------------------------------------------------------- build= inside raw=
@pytest.mark.parametrize("where, words", [
    (".", "is the raw tree"), ("build", "is inside the raw tree"), ("echem/out", "is inside the raw tree"),
])
def test_build_folder_in_the_raw_tree_is_refused(raw, where, words):
    roots = Roots(raw=raw, build=raw / where)
    before = snapshot(raw)
    with pytest.raises(BuildError) as caught:
        prepare_build_folder(roots)
    assert str(caught.value).startswith(f"build={roots.build} {words} raw={roots.raw}")
    assert snapshot(raw) == before


def test_build_folder_reached_through_a_symlink_is_refused(raw, tmp_path):
    """A link that leads into the raw tree is the raw tree."""
    link = tmp_path / "elsewhere"
    link.symlink_to(raw / "echem", target_is_directory=True)
    with pytest.raises(BuildError, match="is inside the raw tree"):
        prepare_build_folder(Roots(raw=raw, build=link / "build"))


def test_raw_tree_inside_the_build_folder_is_refused(raw):
    """The build writes and sweeps its folder, so it must not hold the raw tree either."""
    with pytest.raises(BuildError, match=r"holds the raw tree"):
        prepare_build_folder(Roots(raw=raw, build=raw.parent))


def test_a_separate_build_folder_is_created(raw, tmp_path):
    """A sibling whose name starts like the raw tree's is not inside it."""
    build = tmp_path / "raw tree-build" / "nested"
    prepare_build_folder(Roots(raw=raw, build=build))
    assert build.is_dir()


def _doit(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """doit on this project's dodo.py, run from ``cwd`` (never the checkout's own build folder)."""
    return subprocess.run([sys.executable, "-m", "doit", "-f", str(PROJECT_ROOT / "dodo.py"), *args], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120)


@pytest.mark.parametrize("command", [[], ["list"], ["accept"]])
def test_doit_refuses_build_inside_raw_before_writing_anything(raw, tmp_path, command):
    """One line on stderr, exit 1, no traceback, and the raw tree exactly as it was."""
    before = snapshot(raw)
    result = _doit(*command, f"raw={raw}", f"build={raw / 'build'}", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"error: build={raw / 'build'} is inside the raw tree raw={raw}; "
                                      "choose a build folder outside the raw tree")
    assert "Traceback" not in result.stdout + result.stderr
    assert snapshot(raw) == before


# ---------------------------------------------------------------- read-only or full build folder
def _raise(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(args[0]) if args and isinstance(args[0], (str, Path)) else None)
    return fail


@pytest.mark.parametrize("code, words", [(errno.EACCES, "read-only"), (errno.EROFS, "read-only")])
def test_atomic_write_into_a_read_only_folder_names_the_file(tmp_path, monkeypatch, code, words):
    target = tmp_path / "numbers.json"
    target.write_text("last good", encoding="utf-8")
    monkeypatch.setattr(tempfile, "mkstemp", _raise(code))
    with pytest.raises(atomic.OutputError) as caught:
        atomic.write_text(target, "new")
    message = str(caught.value)
    assert message.startswith(f"{target}: cannot write ({os.strerror(code)})") and words in message
    assert target.read_text(encoding="utf-8") == "last good"


def test_atomic_write_on_a_full_disk_names_the_file_and_keeps_the_last_good_one(tmp_path, monkeypatch):
    target = tmp_path / "numbers.json"
    target.write_text("last good", encoding="utf-8")
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    with pytest.raises(atomic.OutputError, match=r"No space left on device\); the file system is full"):
        atomic.write_text(target, "new")
    assert target.read_text(encoding="utf-8") == "last good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["numbers.json"]  # no temporary file left


def test_atomic_rename_refused_names_the_file(tmp_path, monkeypatch):
    target = tmp_path / "figure.svg"
    target.write_text("last good", encoding="utf-8")
    monkeypatch.setattr(os, "replace", _raise(errno.EROFS))
    with pytest.raises(atomic.OutputError, match=f"^{target}: cannot write"):
        atomic.write_bytes(target, b"new")
    assert target.read_text(encoding="utf-8") == "last good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figure.svg"]


def test_staged_step_that_fills_the_disk_names_the_build_folder(tmp_path):
    """A step's own write (a figure, a table) failing with ENOSPC: one message, nothing lands."""
    build = tmp_path / "build"
    (build / "figures").mkdir(parents=True)
    (build / "figures" / "a.svg").write_text("last good", encoding="utf-8")
    with pytest.raises(atomic.OutputError) as caught:
        with atomic.staged_tree(build, ["figures/a.svg"], step="xrd") as stage:
            (stage / "figures").mkdir()
            (stage / "figures" / "a.svg").write_text("half", encoding="utf-8")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert str(caught.value).startswith(f"{build}: cannot write (No space left on device)")
    assert (build / "figures" / "a.svg").read_text(encoding="utf-8") == "last good"
    assert not list(build.glob(".stage-*"))


def test_staged_step_denied_inside_the_stage_names_the_file(tmp_path):
    build = tmp_path / "build"
    with pytest.raises(atomic.OutputError, match=r"a\.svg: cannot write \(Permission denied\); the folder is read-only"):
        with atomic.staged_tree(build, ["a.svg"], step="xrd") as stage:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(stage / "a.svg"))


def test_staged_step_denied_reading_elsewhere_is_not_blamed_on_the_build_folder(tmp_path):
    """A permission error outside the stage (say, on an input) is not a build-folder problem."""
    with pytest.raises(PermissionError):
        with atomic.staged_tree(tmp_path / "build", ["a.svg"], step="xrd"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(tmp_path / "raw.mpt"))


def test_build_folder_that_cannot_be_created_is_one_message(raw, tmp_path):
    """A file where the build folder should be (a real error, no simulation needed)."""
    blocker = tmp_path / "not a folder"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(BuildError) as caught:
        prepare_build_folder(Roots(raw=raw, build=blocker / "build"))
    assert str(caught.value).startswith(f"{blocker / 'build'}: cannot create the build folder (Not a directory)")


@pytest.mark.parametrize("code, hint", [(errno.EROFS, "read-only"), (errno.ENOSPC, "full")])
def test_lock_in_an_unwritable_build_folder_is_one_message(tmp_path, monkeypatch, code, hint):
    import builtins

    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if Path(file).parent == tmp_path:
            raise OSError(code, os.strerror(code), str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    with pytest.raises(SystemExit) as caught:
        lock.acquire(tmp_path, ["doit"])
    assert str(caught.value).startswith(f"error: cannot write to the build folder {tmp_path} ({os.strerror(code)})")
    assert hint in str(caught.value)


READ_ONLY_SITE = """
import builtins, errno, os, tempfile
_TARGET = os.environ["I11_READ_ONLY"]
_open, _mkstemp = builtins.open, tempfile.mkstemp

def _inside(path):
    return os.path.abspath(os.fspath(path)).startswith(_TARGET + os.sep)

def _guard_open(file, mode="r", *args, **kwargs):
    if isinstance(file, (str, bytes, os.PathLike)) and _inside(file) and set(mode) & set("wax+"):
        raise PermissionError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(file))
    return _open(file, mode, *args, **kwargs)

builtins.open = _guard_open
"""


def test_doit_on_a_read_only_build_folder_is_one_message(raw, tmp_path):
    """End to end: the build folder refuses writes (EROFS, simulated in the child process)."""
    build = tmp_path / "ro build"
    build.mkdir()
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(READ_ONLY_SITE), encoding="utf-8")
    result = _doit(f"raw={raw}", f"build={build}", cwd=tmp_path,
                   env={"PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
                        "I11_READ_ONLY": str(build)})
    assert result.returncode == 1
    message = result.stderr.strip()
    assert message.startswith(f"error: cannot write to the build folder {build} (Read-only file system); "
                              "the folder is read-only: make it writable, or build elsewhere with `")
    # the suggestion repeats raw= and runs this interpreter's doit, so it works when pasted
    program = re.fullmatch(r".*build elsewhere with `(.+) -m doit raw=(.+) build=OTHER_DIR`", message)
    assert program is not None and program.group(2) == shlex.quote(str(raw)), message
    assert Path(shutil.which(shlex.split(program.group(1))[0]) or "") == Path(sys.executable)
    assert "Traceback" not in result.stdout + result.stderr
    assert list(build.iterdir()) == []


def test_full_disk_in_an_action_is_one_message(tmp_path):
    """A full disk anywhere in a build action ends in one sentence naming the file, not a traceback."""
    import errno

    from doit.exceptions import TaskFailed

    from paperbuild.actions import reported

    @reported
    def copies():
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "build" / ".render" / "fig.png"))

    @reported
    def has_a_bug():
        raise OSError(errno.EBADF, "Bad file descriptor")

    failed = copies()
    assert isinstance(failed, TaskFailed) and "fig.png" in failed.message and "full" in failed.message
    with pytest.raises(OSError):
        has_a_bug()

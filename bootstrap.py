"""Set up the project's own virtual environment, ``.venv/``, on any machine with Python 3.

    python3 bootstrap.py                 # .venv with the build's libraries (then: .venv/bin/python -m doit)
    python3 bootstrap.py --test          # ... and the test libraries   (then: .venv/bin/python -m pytest)
    python3 bootstrap.py --locked        # the exact versions of requirements-lock.txt, hash-checked

The README's two set-up lines start here, so that they work unchanged on a stock
Debian or Ubuntu machine as well as in an existing environment:

- a stock machine may have no ``python`` command, only ``python3``;
- its system Python refuses ``pip install`` outside a virtual environment (PEP 668,
  "externally-managed-environment"), so everything goes into ``.venv/``, never into the
  system or into whatever environment happens to be active;
- Debian ships ``venv`` without ``ensurepip`` unless ``python3-venv`` is installed, so when
  ``python3 -m venv`` cannot seed pip, the environment is made ``--without-pip`` and pip is
  brought in by the machine's own pip (``pip --python``) or, failing that, from the
  package index as a hash-checked wheel.

Running it again is cheap: it reinstalls only when ``pyproject.toml`` (or the lock, or
the options) changed since the last successful run.  It needs nothing but the standard
library, and runs on any Python 3.8 or newer so that an old ``python3`` gets a clear
message instead of a syntax error.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SUPPORTED = ((3, 11), (3, 12), (3, 13))  # also in pyproject.toml's classifiers and the README
STAMP = "lipon-sei-bootstrap.json"       # inside the environment: what was installed, from which files
LOG = "bootstrap.log"                    # inside the environment: pip's output
PIP_INDEX = "https://pypi.org/simple"


class SetupError(Exception):
    """A problem the user can fix; printed as one line with what to do."""


def say(message: str) -> None:
    print(f"bootstrap: {message}", flush=True)


def version_of(python: str) -> tuple[int, int] | None:
    """The (major, minor) of an interpreter on PATH or at a path, or None if it does not run."""
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    major, minor = out.stdout.split()
    return int(major), int(minor)


def choose_python(requested: str | None) -> str:
    """The interpreter for the environment: the one asked for, this one, or a supported one on PATH.

    A Python older than the oldest supported one is refused (the code uses 3.11
    features); a newer one than tested is used with a warning, as ``requires-python``
    allows it.
    """
    here = sys.version_info[:2]
    if requested:
        found = version_of(requested)
        if found is None:
            raise SetupError(f"--python {requested}: not a Python interpreter that runs")
        if found < SUPPORTED[0]:
            raise SetupError(f"--python {requested} is Python {found[0]}.{found[1]}; "
                             f"the project needs {SUPPORTED[0][0]}.{SUPPORTED[0][1]} or newer")
        return requested
    if here in SUPPORTED:
        return sys.executable
    for major, minor in reversed(SUPPORTED):
        candidate = shutil.which(f"python{major}.{minor}")
        if candidate and version_of(candidate) == (major, minor):
            say(f"using {candidate} (this python3 is {here[0]}.{here[1]})")
            return candidate
    if here > SUPPORTED[-1]:
        say(f"warning: Python {here[0]}.{here[1]} is newer than the versions the project is tested with "
            f"({', '.join('%d.%d' % v for v in SUPPORTED)}); trying it")
        return sys.executable
    raise SetupError(
        f"this is Python {here[0]}.{here[1]} ({sys.executable}); the project needs one of "
        f"{', '.join('%d.%d' % v for v in SUPPORTED)}. Install one "
        "(e.g. `sudo apt install python3.11 python3.11-venv`) and run it: `python3.11 bootstrap.py`")


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(command: list[str], what: str, log: Path | None = None) -> None:
    """Run a set-up command; its output goes to ``log`` (shown only when it fails) or to the terminal.

    pip's own chatter and the build back end's deprecation notices are not something a
    new user can act on, so they stay in the log unless the command fails.
    """
    say(what)
    if log is None:
        failed = subprocess.run(command).returncode != 0
    else:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"$ {' '.join(map(str, command))}\n")
            out.flush()
            failed = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT).returncode != 0
        if failed:
            tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-25:]
            print("\n".join(tail), file=sys.stderr)
    if failed:
        raise SetupError(f"failed: {' '.join(map(str, command))}" + (f" (full output in {log})" if log else ""))


def has_pip(python: Path | str) -> bool:
    return subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True).returncode == 0


def pip_wheel_from_index(folder: Path) -> Path:
    """Download pip's newest wheel from the package index (PEP 691 JSON), checking its SHA-256."""
    index = os.environ.get("PIP_INDEX_URL", PIP_INDEX).rstrip("/")
    request = urllib.request.Request(f"{index}/pip/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            listing = json.load(response)
    except (OSError, ValueError) as err:
        raise SetupError(f"cannot read pip's release list from {index}/pip/ ({err}); install Debian's "
                         "python3-venv (`sudo apt install python3-venv`) and rerun") from None
    wheels = [f for f in listing.get("files", [])
              if f["filename"].endswith("-py3-none-any.whl") and not f.get("yanked")
              and "sha256" in f.get("hashes", {})]
    if not wheels:
        raise SetupError(f"{index}/pip/: no pip wheel listed")

    def release(f: dict) -> tuple[int, ...]:
        parts = f["filename"].split("-")[1].split(".")
        return tuple(int(p) for p in parts if p.isdigit()) if all(p.isdigit() for p in parts) else (0,)

    newest = max(wheels, key=release)
    target = folder / newest["filename"]
    say(f"downloading {newest['filename']} from {index}")
    with urllib.request.urlopen(newest["url"], timeout=120) as response:
        data = response.read()
    if hashlib.sha256(data).hexdigest() != newest["hashes"]["sha256"]:
        raise SetupError(f"{newest['url']}: SHA-256 does not match the index; not installed")
    target.write_bytes(data)
    return target


def make_venv(python: str, venv: Path) -> None:
    """Create the environment with pip in it, whether or not this Python has ensurepip."""
    seeded = subprocess.run([python, "-m", "venv", str(venv)], capture_output=True, text=True)
    if seeded.returncode == 0 and has_pip(venv_python(venv)):
        say(f"created {venv}")
        return
    # Debian without python3-venv: no ensurepip.  Make it bare and bring pip in.
    shutil.rmtree(venv, ignore_errors=True)
    bare = subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], capture_output=True, text=True)
    if bare.returncode != 0:
        detail = (bare.stderr or seeded.stderr).strip().splitlines()
        raise SetupError(f"`{python} -m venv` failed: {detail[-1] if detail else 'no message'}")
    target = venv_python(venv)
    say(f"created {venv} without pip ({python} has no ensurepip); adding pip")
    if has_pip(python):
        run([python, "-m", "pip", "--python", str(target), "install", "--quiet", "pip"],
            "installing pip into it with this machine's pip")
    else:
        with tempfile.TemporaryDirectory() as folder:
            wheel = pip_wheel_from_index(Path(folder))
            # a pip wheel runs pip from inside itself (as ensurepip does)
            run([str(target), str(wheel / "pip"), "install", "--quiet", "--no-index", str(wheel)],
                "installing pip into it from the wheel")
    if not has_pip(target):
        raise SetupError(f"{venv}: pip is still missing; install Debian's python3-venv and rerun")


def wanted(args: argparse.Namespace) -> dict:
    """What the environment should hold: options, and the hashes of the files that decide it."""
    files = ["pyproject.toml"] + (["requirements-lock.txt"] if args.locked else [])
    return {"test": args.test, "locked": args.locked,
            "files": {f: hashlib.sha256((ROOT / f).read_bytes()).hexdigest() for f in files}}


def covers(have: dict | None, want: dict) -> bool:
    """Whether the last successful set-up already holds what is wanted (tests included counts)."""
    return bool(have) and have.get("files") == want["files"] and have.get("locked") == want["locked"] \
        and (have.get("test") or not want["test"])


def install(python: Path, args: argparse.Namespace) -> None:
    """Install the project (editable) with its libraries, newest within bounds or the locked versions."""
    project = f"{ROOT}[test]" if args.test else str(ROOT)
    log = None if args.verbose else python.parent.parent / LOG
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    run([*pip, "--upgrade", "pip"], "updating pip", log)
    if args.locked:
        run([*pip, "--require-hashes", "-r", str(ROOT / "requirements-lock.txt")],
            "installing the locked library versions, test libraries included (hash-checked)", log)
        run([*pip, "--no-deps", "-e", project], "installing the project (editable)", log)
    else:
        run([*pip, "-e", project],
            f"installing the project and its {'build and test' if args.test else 'build'} libraries "
            "(1-3 min the first time)", log)


class Parser(argparse.ArgumentParser):
    """Bad arguments end in one line, like every other command of the project (paperbuild/cli.py,
    which this file cannot import: it runs before anything is installed)."""

    def error(self, message: str) -> None:
        self.exit(2, f"bootstrap: error: {message} (`{self.prog} --help` lists the arguments)\n")


def main(argv: list[str] | None = None) -> int:
    parser = Parser(
        prog="python3 bootstrap.py",
        description="Create (or update) the project's virtual environment .venv/ with everything the "
                    "build needs; then run the build with `.venv/bin/python -m doit`.",
        epilog="examples:\n  python3 bootstrap.py && .venv/bin/python -m doit\n"
               "  python3 bootstrap.py --test && .venv/bin/python -m pytest\n"
               "  python3.13 bootstrap.py --venv /tmp/venv-3.13 --test",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test", action="store_true", help="also install the test libraries (pytest, pypdf, selenium, ...)")
    parser.add_argument("--locked", action="store_true",
                        help="install the exact, hash-checked versions of requirements-lock.txt")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv", metavar="DIR",
                        help="where the environment goes (default: .venv in the checkout)")
    parser.add_argument("--python", metavar="PYTHON",
                        help="interpreter to build the environment from (default: this one, "
                             "or a supported python3.X on PATH)")
    parser.add_argument("--verbose", action="store_true", help="show pip's full output")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        venv = args.venv.resolve()
        target = venv_python(venv)
        stamp = venv / STAMP
        want = wanted(args)
        try:
            have = json.loads(stamp.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            have = None
        if target.exists() and covers(have, want):
            say(f"{venv} is up to date")
            return 0
        if not target.exists():
            make_venv(choose_python(args.python), venv)
        elif not has_pip(target):
            raise SetupError(f"{venv} exists but has no working pip; remove it (`rm -rf {venv}`) and rerun")
        stamp.unlink(missing_ok=True)
        install(target, args)
        stamp.write_text(json.dumps(want, indent=1) + "\n", encoding="utf-8")
    except SetupError as err:
        print(f"bootstrap: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bootstrap: interrupted; rerun to finish", file=sys.stderr)
        return 130
    say(f"ready in {time.monotonic() - started:.0f} s: {venv} "
        f"(run `{os.path.relpath(target)} -m doit`, or `source {os.path.relpath(venv)}/bin/activate`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

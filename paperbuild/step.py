"""What a pipeline step declares, and what makes it stale.

A step is plain data, so the registry that lists them imports nothing heavy and
``dodo.py`` can turn it into tasks instantly.  The declaration is the only place a
step's files and method choices are written: the runner resolves the declared inputs
and outputs to paths and hands them, with the parameters, to the module's ``run``.
A step is stale when its input files, the source of its module or of any project
module that module imports, its parameters, or the versions of the libraries that
shape its outputs change.
"""
from __future__ import annotations

import hashlib
import re
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Union

from paperbuild.paths import PROJECT_ROOT, Roots

PROJECT_PACKAGES = ("analysis", "paperbuild")
ROOT_KINDS = ("raw", "build", "project")
_GLOB_CHARACTERS = "*?["


@dataclass(frozen=True)
class Input:
    """A file (or glob pattern) a step reads, relative to one of the build's roots.

    Use the factories :func:`raw`, :func:`built` and :func:`project` in the registry.
    A pattern with glob characters lets the data decide how many files there are; the
    step then receives a tuple of paths, sorted by name.
    """

    root: str
    path: str

    def __post_init__(self) -> None:
        if self.root not in ROOT_KINDS:
            raise ValueError(f"input {self.path!r}: root must be one of {ROOT_KINDS}, not {self.root!r}")
        if Path(self.path).is_absolute() or ".." in Path(self.path).parts:
            raise ValueError(f"input {self.path!r}: declare paths relative to the {self.root} root")

    @property
    def is_glob(self) -> bool:
        return any(c in self.path for c in _GLOB_CHARACTERS)

    def resolve(self, roots: Roots) -> Union[Path, tuple[Path, ...]]:
        """The file, or the sorted files a pattern matches (an empty tuple if none)."""
        base = roots.root(self.root)
        if self.is_glob:
            return tuple(sorted(p for p in base.glob(self.path) if p.is_file()))
        return base / self.path


def raw(path: str) -> Input:
    """Declare an input the instruments wrote, so the step follows whichever raw tree is built.

    Parameters
    ----------
    path
        Relative to the raw tree; may be a glob pattern.

    Returns
    -------
    Input
        The declaration, for a step's ``inputs``.

    Raises
    ------
    ValueError
        ``path`` is absolute or leaves the root (``..``).
    """
    return Input("raw", path)


def built(path: str) -> Input:
    """Declare an input another step writes: it orders the steps and reruns this one on change.

    Parameters
    ----------
    path
        Relative to the build folder; may be a glob pattern.

    Returns
    -------
    Input
        The declaration, for a step's ``inputs``.

    Raises
    ------
    ValueError
        ``path`` is absolute or leaves the root (``..``).
    """
    return Input("build", path)


def project(path: str) -> Input:
    """Declare an input kept in the project (cited data, a style sheet), tracked like any other.

    Parameters
    ----------
    path
        Relative to the project checkout; may be a glob pattern.

    Returns
    -------
    Input
        The declaration, for a step's ``inputs``.

    Raises
    ------
    ValueError
        ``path`` is absolute or leaves the root (``..``).
    """
    return Input("project", path)


ParamValue = Union[int, float, str, bool, tuple]


@dataclass(frozen=True)
class Param:
    """One method choice of a step: its value, unit and why it has that value.

    The value reaches the module's ``run`` as a keyword argument; ``text`` is how the
    paper's ``{{< param step.name >}}`` shortcode prints it, so the methods section
    and the code cannot disagree.
    """

    value: ParamValue
    unit: str = ""
    why: str = ""

    def __post_init__(self) -> None:
        value = tuple(self.value) if isinstance(self.value, list) else self.value
        object.__setattr__(self, "value", value)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, float) and not math.isfinite(item):
                raise ValueError(f"parameter value {item!r} is not finite")
            if not isinstance(item, (int, float, str, bool)):
                raise ValueError(f"parameter value {item!r} is not a number, string or boolean")

    @property
    def text(self) -> str:
        """The printed form: ``0.18–0.66 Å⁻¹``, ``128 px``, ``3``."""
        def one(item: object) -> str:
            if isinstance(item, float):
                return f"{item:g}" if item == 0 or abs(item) >= 1e-4 else repr(item)
            return str(item)

        value = self.value
        if isinstance(value, tuple):
            shown = "\u2013".join(one(v) for v in value) if len(value) == 2 else ", ".join(one(v) for v in value)
        else:
            shown = one(value)
        return f"{shown} {self.unit}" if self.unit else shown

    def record(self, step: str) -> dict[str, Any]:
        """The JSON record the paper's shortcode and the lint read."""
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"value": value, "unit": self.unit, "text": self.text, "step": step, "why": self.why}


@dataclass(frozen=True)
class Step:
    """One unit of the pipeline, declared once.

    Parameters
    ----------
    name
        Task name (``doit analysis:<name>``) and the name of its records.
    module
        A module with ``run(inputs, outputs, **params)``; see :mod:`paperbuild.runner`.
    doc
        One line for ``doit list``: what the step makes.
    inputs
        Role -> :class:`Input`.  The module reads only these, by role.
    outputs
        Role -> path relative to the build folder.  The module writes only these; the
        runner refuses any other file it leaves in the staging folder.
    numbers
        Keys of the numbers ``run`` returns (each written to ``numbers/<name>.json``).
    params
        Name -> :class:`Param`: every method choice, passed to ``run`` by name.
    libraries
        Distributions whose versions shape the outputs (a new version reruns the step).
    chunked
        The module hands its large work to Dask (:mod:`paperbuild.scheduler`), so the
        runner runs it on the cluster a build names with ``scheduler=``.  Where it runs
        does not change the outputs, so it does not make the step stale.
    """

    name: str
    module: str
    doc: str
    inputs: Mapping[str, Input]
    outputs: Mapping[str, str] = field(default_factory=dict)
    numbers: tuple[str, ...] = ()
    params: Mapping[str, Param] = field(default_factory=dict)
    libraries: tuple[str, ...] = ()
    chunked: bool = False

    def __post_init__(self) -> None:
        for role, item in self.inputs.items():
            if not isinstance(item, Input):
                raise TypeError(f"step {self.name}: input {role!r} must be declared with raw(), built() or project()")
        for name, item in self.params.items():
            if not isinstance(item, Param):
                raise TypeError(f"step {self.name}: parameter {name!r} must be declared with Param(...)")
        if len(set(self.outputs.values())) != len(self.outputs):
            raise ValueError(f"step {self.name}: two output roles share one path")

    def resolve_inputs(self, roots: Roots) -> dict[str, Union[Path, tuple[Path, ...]]]:
        """Role -> path (or sorted paths, for a glob pattern) under ``roots``."""
        return {role: item.resolve(roots) for role, item in self.inputs.items()}

    def input_files(self, roots: Roots, root: str | None = None) -> list[Path]:
        """Every input file (or those under one ``root``: raw, build or project), globs
        expanded; a pattern that matches nothing stays as the pattern's path, so doit and
        the runner report the missing file by name."""
        files: list[Path] = []
        for item in self.inputs.values():
            if root is not None and item.root != root:
                continue
            resolved = item.resolve(roots)
            if isinstance(resolved, tuple):
                files.extend(resolved or [roots.root(item.root) / item.path])
            else:
                files.append(resolved)
        return files

    def build_inputs(self) -> tuple[str, ...]:
        """Declared inputs that other steps write (relative to the build folder)."""
        return tuple(item.path for item in self.inputs.values() if item.root == "build")

    @property
    def numbers_file(self) -> str | None:
        """Where the step's numbers go, relative to the build folder."""
        return f"numbers/{self.name}.json" if self.numbers else None

    @property
    def targets(self) -> tuple[str, ...]:
        """Everything the step writes into the build folder, relative to it."""
        return tuple(self.outputs.values()) + ((self.numbers_file,) if self.numbers_file else ())

    def param_values(self) -> dict[str, ParamValue]:
        """Name -> value, as ``run`` receives them."""
        return {name: item.value for name, item in self.params.items()}

    def code_files(self) -> list[Path]:
        """Every project source file whose content shapes this step's outputs."""
        return sorted(module_sources(self.module))


def with_producers(steps: Sequence[Step], wanted: Iterable[Step]) -> list[Step]:
    """``wanted`` and every step that writes a file they read, in ``steps``' order.

    The validation runs only the steps that compute numbers; this adds the steps whose
    built outputs those need.

    Parameters
    ----------
    steps
        Every registered step, in the order they run.
    wanted
        The steps needed.

    Returns
    -------
    list of Step
        ``wanted`` and their producers, transitively, in ``steps``' order.
    """
    producer = {target: step for step in steps for target in step.targets}
    chosen = {step.name for step in wanted}
    pending = list(wanted)
    while pending:
        for path in pending.pop().build_inputs():
            if path in producer and producer[path].name not in chosen:
                chosen.add(producer[path].name)
                pending.append(producer[path])
    return [step for step in steps if step.name in chosen]


def _module_path(dotted: str) -> Path | None:
    base = PROJECT_ROOT.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


_FROM_IMPORT = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)", re.M)
_PLAIN_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n]+)", re.M)


@lru_cache(maxsize=None)
def _imported(path: Path) -> frozenset[str]:
    """Project modules a source file imports (at any depth in the file).

    A line scan, not an ``ast`` parse: loading ``dodo.py`` computes this for every
    step's modules, and parsing them all would cost most of a no-op build.  An import
    statement inside a string would count too, which only adds a dependency.
    ``tests/test_registry.py`` checks the scan against ``ast`` on every project module.
    """
    source = path.read_text(encoding="utf-8")
    found: set[str] = set()
    for module, names in _FROM_IMPORT.findall(source):
        if module.split(".")[0] in PROJECT_PACKAGES:
            found.add(module)
            for name in names.strip("()").replace("\n", ",").split(","):
                name = name.split("#")[0].split(" as ")[0].strip().rstrip("\\").strip()
                if name.isidentifier():
                    found.add(f"{module}.{name}")
    for names in _PLAIN_IMPORT.findall(source):
        for name in names.split("#")[0].split(","):
            name = name.split(" as ")[0].strip()
            if name.split(".")[0] in PROJECT_PACKAGES:
                found.add(name)
    return frozenset(found)


@lru_cache(maxsize=None)
def module_sources(dotted: str) -> tuple[Path, ...]:
    """Every project source that can change a step's results: its module and what that imports.

    Imports are followed transitively and found by reading the source (at any depth
    in the file, so lazy imports count); packages' ``__init__`` files count too.  Imports from outside
    the project are covered by the step's ``libraries`` instead.

    Parameters
    ----------
    dotted
        The module's dotted name, e.g. ``"analysis.electrochemistry"``.

    Returns
    -------
    tuple of Path
        The source files, sorted.

    Raises
    ------
    ModuleNotFoundError
        ``dotted`` is not a module of the project.
    """
    seen: dict[str, Path] = {}
    todo = [dotted]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_path(name)
        if path is None:
            continue  # an attribute imported from a package, not a module
        seen[name] = path
        parts = name.split(".")
        # importing a.b.c runs a/__init__ and a/b/__init__ too
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        todo.extend(_imported(path))
    if dotted not in seen:
        raise ModuleNotFoundError(f"no project module {dotted} under {PROJECT_ROOT}")
    return tuple(sorted(seen.values()))


def code_hash(files: list[Path]) -> str:
    """Fingerprint a step's code, the same on any checkout location, for its provenance records.

    Parameters
    ----------
    files
        Source files under the project root (:func:`module_sources`).

    Returns
    -------
    str
        Hex SHA-256 over the files' project-relative names and contents, in sorted order.
    """
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


@lru_cache(maxsize=1)
def _installed_from_folder_names() -> dict[str, str]:
    """Name -> version read from ``<name>-<version>.dist-info`` folder names on sys.path.

    Reading each distribution's METADATA costs about 4 ms (an e-mail header parse);
    the folder name carries the same version, and listing the folders costs almost
    nothing, which keeps a no-op build fast.  The first folder on sys.path wins, as
    for imports.
    """
    import os
    import sys

    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            if folder.endswith(".dist-info") and "-" in folder:
                name, _, version = folder[: -len(".dist-info")].partition("-")
                found.setdefault(_normalized(name), version)
    return found


@lru_cache(maxsize=None)
def _version(name: str) -> str:
    quick = _installed_from_folder_names().get(_normalized(name))
    if quick is not None:
        return quick
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def library_versions(names: tuple[str, ...]) -> dict[str, str]:
    """The library versions that shape a step's outputs, so a new version reruns the step.

    Parameters
    ----------
    names
        Distribution names (as ``pip`` knows them).

    Returns
    -------
    dict of str to str
        Name -> installed version, ``"absent"`` when not installed.
    """
    return {name: _version(name) for name in names}

"""What a pipeline step is, and what makes it stale.

A step is plain data, so the registry that lists them imports nothing heavy and
``dodo.py`` can turn it into tasks instantly.  A step is stale when its input files,
the source of its module or of any project module that module imports, its
parameters, or the versions of the libraries that shape its outputs change.
"""
from __future__ import annotations

import ast
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("analysis", "paperbuild")


@dataclass(frozen=True)
class Step:
    """One unit of the pipeline.

    ``external`` lists project files of cited external data (lattices, literature
    values) that the step reads; like raw files, their hashes go into each number's
    record.  ``extra_deps`` are other project files that shape outputs (a style sheet).

    ``module`` names a module with ``run(source, out, **params)``: it reads the files
    ``reads`` (relative to ``source``: the raw tree when ``source_root == "raw"``,
    the build folder when ``"build"``; glob patterns such as ``eels/point_*.msa`` let
    the data decide how many files there are), writes ``writes`` (relative to ``out``)
    and returns the :class:`~paperbuild.numbers.Number` objects whose keys are ``numbers``.
    """

    name: str
    module: str
    reads: tuple[str, ...]
    writes: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    source_root: str = "raw"
    params: Mapping[str, object] = field(default_factory=dict)
    libraries: tuple[str, ...] = ()
    extra_deps: tuple[str, ...] = ()
    external: tuple[str, ...] = ()  # project data files (cited facts), recorded as inputs

    def __post_init__(self) -> None:
        if self.source_root not in ("raw", "build"):
            raise ValueError(f"step {self.name}: source_root must be 'raw' or 'build'")

    def input_files(self, source: Path) -> list[str]:
        """``reads`` with glob patterns expanded against ``source`` (a pattern that
        matches nothing stays as it is, so the missing file is reported by name)."""
        files: list[str] = []
        for rel in self.reads:
            if any(c in rel for c in "*?["):
                matches = sorted(p.relative_to(source).as_posix() for p in Path(source).glob(rel) if p.is_file())
                files.extend(matches or [rel])
            else:
                files.append(rel)
        return files

    @property
    def numbers_file(self) -> str | None:
        """Where the step's numbers go, relative to the build folder."""
        return f"numbers/{self.name}.json" if self.numbers else None

    @property
    def targets(self) -> tuple[str, ...]:
        return self.writes + ((self.numbers_file,) if self.numbers_file else ())

    def code_files(self) -> list[Path]:
        """Every project file whose content shapes this step's outputs."""
        files = set(module_sources(self.module))
        files.update(PROJECT_ROOT / rel for rel in self.extra_deps)
        return sorted(files)


def _module_path(dotted: str) -> Path | None:
    base = PROJECT_ROOT.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported(path: Path) -> set[str]:
    """Project modules a source file imports (at any depth in the file)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(n for n in names if n.split(".")[0] in PROJECT_PACKAGES)
    return found


@lru_cache(maxsize=None)
def module_sources(dotted: str) -> tuple[Path, ...]:
    """The module's file plus, transitively, the project modules it imports."""
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
    """SHA-256 over the files' project-relative names and contents."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@lru_cache(maxsize=None)
def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def library_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of the named distributions ('absent' when not installed)."""
    return {name: _version(name) for name in names}

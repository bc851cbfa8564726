"""Where things live: the one module that knows the project's folder layout.

Everything else receives paths from here (or from the runner, which resolves a step's
declared inputs and outputs against these roots), so a build on another raw tree or
into another build folder changes exactly one object.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: What a copy of the checkout leaves out (the tests and the benchmark build in copies):
#: outputs, caches and environments, which are large and not sources.
NOT_SOURCES = ("build", ".git", ".venv", "__pycache__", ".pytest_cache", "*.egg-info", ".doit.db*")


def default_raw(project: Path = PROJECT_ROOT) -> Path:
    """The raw tree a plain ``doit`` builds: the checkout's committed ``data/raw``.

    Parameters
    ----------
    project
        The checkout.

    Returns
    -------
    pathlib.Path
        ``project/data/raw``.
    """
    return project / "data" / "raw"


def default_build(project: Path = PROJECT_ROOT) -> Path:
    """The build folder a plain ``doit`` writes: the checkout's ``build``.

    Parameters
    ----------
    project
        The checkout.

    Returns
    -------
    pathlib.Path
        ``project/build``.
    """
    return project / "build"


@dataclass(frozen=True)
class Roots:
    """The three roots a declared path is relative to.

    Parameters
    ----------
    raw
        The raw tree (instrument files and their ``MANIFEST.sha256``); read only.
    build
        The build folder every output goes to.
    project
        The project checkout (paper sources, cited external data, code).
    """

    raw: Path
    build: Path
    project: Path = PROJECT_ROOT

    def __post_init__(self) -> None:
        for name in ("raw", "build", "project"):
            object.__setattr__(self, name, Path(getattr(self, name)).resolve())

    def root(self, kind: str) -> Path:
        """The folder a path of ``kind`` ('raw', 'build' or 'project') is relative to."""
        try:
            return {"raw": self.raw, "build": self.build, "project": self.project}[kind]
        except KeyError:
            raise ValueError(f"unknown root {kind!r}; expected 'raw', 'build' or 'project'") from None

    @property
    def default_raw(self) -> Path:
        """The raw tree a plain ``doit`` in this project builds."""
        return default_raw(self.project)

    @property
    def default_build(self) -> Path:
        """The build folder a plain ``doit`` in this project writes."""
        return default_build(self.project)

    # files of the build folder that the pipeline's own tasks exchange
    @property
    def numbers(self) -> Path:
        """Every step's numbers merged: the single source of the paper's quoted numbers."""
        return self.build / "numbers.json"

    @property
    def params(self) -> Path:
        """Every step's method parameters, as the paper's ``param`` shortcode prints them."""
        return self.build / "params.json"

    @property
    def raw_verified(self) -> Path:
        """Stamp written once the raw tree matched its manifest."""
        return self.build / "raw_verified.json"

    def step_record(self, name: str) -> Path:
        """Per-step provenance record (inputs with hashes, outputs, source, seconds)."""
        return self.build / "steps" / f"{name}.json"

    @property
    def paper(self) -> Path:
        """The paper's sources (Quarto project)."""
        return self.project / "paper"

    @property
    def ledger(self) -> Path:
        """The ledger of accepted (locked) numbers."""
        return self.paper / "ledger.yaml"

    @property
    def rendered(self) -> Path:
        """Where the rendered article and supplement land."""
        return self.build / "paper"

    @property
    def reproduction(self) -> Path:
        """Where the reviewer's reproduction report lands."""
        return self.build / "reproduction"

    @property
    def validation(self) -> Path:
        """Where ``doit validate`` writes the method accuracy over synthetic realizations."""
        return self.build / "validation"

    @property
    def accuracy(self) -> Path:
        """The accepted method accuracy the paper quotes (written by ``doit accept``)."""
        return self.paper / "accuracy.json"


def prepare_build_folder(roots: Roots) -> Path:
    """Make the build folder, but never in the raw tree: checked before anything is written.

    The raw tree is read only; a build folder equal to it or inside it would put the
    lock, doit's database and every output among the raw files, and a build folder
    holding the raw tree would have the build write (and sweep) around them.  Both
    paths are compared resolved, so a symbolic link into the raw tree is caught too.

    Parameters
    ----------
    roots
        The build's roots (``raw`` and ``build`` as the user gave them).

    Returns
    -------
    Path
        The build folder, created if missing.

    Raises
    ------
    BuildError
        The build folder is the raw tree, lies inside it or holds it, or cannot be
        created (read-only, a file in the way, full).
    """
    from paperbuild.atomic import write_hint
    from paperbuild.errors import BuildError

    raw, build = roots.raw, roots.build
    remedy = "choose a build folder outside the raw tree"
    if build == raw:
        raise BuildError(f"build={build} is the raw tree raw={raw}; {remedy}")
    if raw in build.parents:
        raise BuildError(f"build={build} is inside the raw tree raw={raw}; {remedy}")
    if build in raw.parents:
        raise BuildError(f"build={build} holds the raw tree raw={raw}; {remedy}")
    try:
        build.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        from paperbuild.commands import build_elsewhere

        hint = write_hint(err, build_elsewhere(roots))
        raise BuildError(f"{build}: cannot create the build folder ({err.strerror or err})"
                         + (f"; {hint}" if hint else "")) from None
    return build

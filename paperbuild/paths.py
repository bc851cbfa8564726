"""Where things live: the one module that knows the project's folder layout.

Everything else receives paths from here (or from the runner, which resolves a step's
declared inputs and outputs against these roots), so a build on another raw tree or
into another build folder changes exactly one object.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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

"""Errors a user can cause, each carrying the file or key it is about.

doit prints a task's failure message as is; these exceptions make that message one
readable sentence instead of a traceback.
"""
from __future__ import annotations

from pathlib import Path


class BuildError(Exception):
    """Base for every error the build reports to a user without a traceback."""


class InputError(BuildError):
    """A raw or source file is missing, malformed or holds impossible values."""

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):
        # rebuilt from its two fields when a Dask worker process sends it back (pickle)
        return type(self), (self.path, self.problem)


class ManifestError(BuildError):
    """The raw tree does not match its MANIFEST.sha256."""


class LedgerError(BuildError):
    """The ledger is malformed, or numbers drifted from their locked values."""


class NumberKeyError(BuildError):
    """A number key is unknown, duplicated or missing."""


class DeclarationError(BuildError):
    """A step used an input, output or parameter that its registry entry does not declare."""

"""Load the ground truth and apply a user's overrides.

An override file is YAML with the nesting of ``truth.yaml``; it is read with safe
loading (plain values only: a ``!!python/...`` tag is refused, never run), and every
problem in it (not YAML, not text, an unknown key, a section given as a value or a value
as a section) ends in one :class:`~paperbuild.errors.InputError` naming the file and,
for YAML errors, the line.
"""
from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from paperbuild.errors import InputError

DEFAULT_TRUTH = Path(__file__).with_name("truth.yaml")
SIZES_FOLDER = Path(__file__).with_name("sizes")   # <name>.yaml: overrides that set a data size
PAPER_SIZE = "paper"                               # truth.yaml's own sizes (= data/raw)


def sizes() -> list[str]:
    """The data sizes ``--size`` offers: the paper's, and one per file in ``sizes/``."""
    return [PAPER_SIZE, *sorted(p.stem for p in SIZES_FOLDER.glob("*.yaml"))]
_YAML_TAG_PREFIX = "tag:yaml.org,2002:"


class UnknownKeyError(KeyError):
    """An override names a key truth.yaml does not have (a typo, most likely).

    Printed as its plain message: a ``KeyError`` would wrap it in quotes.
    """

    def __str__(self) -> str:
        return str(self.args[0])


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def merge(base: Mapping[str, Any], override: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """Replace only the keys ``override`` gives; an unknown key is an error (a typo).

    Parameters
    ----------
    base
        The truth (or one of its sections).
    override
        The keys to replace, with the same nesting.
    where
        The dotted path of ``base`` in the truth, for messages.

    Returns
    -------
    dict
        ``base`` with the given keys replaced.

    Raises
    ------
    UnknownKeyError
        ``override`` names a key ``base`` does not have (a KeyError); the message
        suggests the nearest existing key.
    ValueError
        A section of the truth is given a plain value, or a plain value a mapping.
    """
    merged = dict(base)
    for key, value in override.items():
        path = f"{where}{key}"
        if key not in base:
            near = difflib.get_close_matches(str(key), [str(k) for k in base], n=1)
            hint = f" (did you mean {where}{near[0]}?)" if near else ""
            raise UnknownKeyError(f"unknown key {path}{hint}")
        if isinstance(base[key], Mapping) and isinstance(value, Mapping):
            merged[key] = merge(base[key], value, f"{path}.")
        elif isinstance(base[key], Mapping):
            raise ValueError(f"key {path} is a section of truth.yaml: give a mapping of its keys, not {_kind(value)}")
        elif isinstance(value, Mapping):
            raise ValueError(f"key {path} is a value in truth.yaml, not a section")
        else:
            merged[key] = value
    return merged


def _yaml_problem(err: yaml.YAMLError) -> str:
    """One line for a YAML error: where (1-based line and column) and what."""
    mark = getattr(err, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(err, "problem", None) or str(err)
    tag = problem.partition("constructor for the tag ")[2].strip("'")
    if isinstance(err, yaml.constructor.ConstructorError) and tag:
        shown = "!!" + tag[len(_YAML_TAG_PREFIX):] if tag.startswith(_YAML_TAG_PREFIX) else tag
        return (f"{where}YAML tag {shown} refused: the truth is read with safe loading, which builds plain "
                "values only (numbers, strings, lists, mappings)")
    context = getattr(err, "context", None)
    return f"{where}not valid YAML ({f'{context}: ' if context else ''}{problem})"


def read_override(path: Path) -> dict[str, Any]:
    """A user's override file, as a mapping, or one message naming the file.

    Parameters
    ----------
    path
        The YAML file given with ``--truth``.

    Returns
    -------
    dict
        Its contents (an empty file is no override).

    Raises
    ------
    InputError
        The file cannot be read, is not UTF-8 text or valid YAML, holds a tag that safe
        loading refuses (``!!python/...``), or is not a mapping.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    except OSError as err:
        raise InputError(path, f"cannot read it ({err.strerror or err})") from None
    try:
        override = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise InputError(path, _yaml_problem(err)) from None
    if override is None:
        return {}
    if not isinstance(override, Mapping):
        raise InputError(path, f"the override must be a mapping with truth.yaml's nesting, not {_kind(override)}")
    return dict(override)


def load_truth(override_file: Path | None = None, size: str = PAPER_SIZE) -> dict[str, Any]:
    """The ground truth: ``truth.yaml`` at a data ``size``, with the keys of ``override_file`` replaced.

    Parameters
    ----------
    override_file
        A YAML file with the nesting of ``truth.yaml``, or None for the default truth.
    size
        One of :func:`sizes`: ``paper`` (the committed tree's sizes) or the name of a
        file in ``sizes/`` whose keys are applied before ``override_file``'s.

    Returns
    -------
    dict
        The merged truth.

    Raises
    ------
    InputError
        The override file is unreadable, not YAML, refused by safe loading, or names
        an unknown key or a key of the wrong kind; the message names the file.
    """
    truth = yaml.safe_load(DEFAULT_TRUTH.read_text(encoding="utf-8"))
    if size not in sizes():
        raise ValueError(f"unknown data size {size!r}; known: {', '.join(sizes())}")
    layers = [] if size == PAPER_SIZE else [SIZES_FOLDER / f"{size}.yaml"]
    for path in layers + ([] if override_file is None else [Path(override_file)]):
        try:
            truth = merge(truth, read_override(path))
        except (UnknownKeyError, ValueError) as err:
            raise InputError(path, str(err)) from None
    return truth

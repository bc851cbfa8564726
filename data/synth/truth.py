"""Load the ground truth and apply a user's overrides."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

DEFAULT_TRUTH = Path(__file__).with_name("truth.yaml")


def merge(base: Mapping[str, Any], override: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """Replace only the keys ``override`` gives; an unknown key is an error (a typo)."""
    merged = dict(base)
    for key, value in override.items():
        path = f"{where}{key}"
        if key not in base:
            raise KeyError(f"truth override names unknown key {path!r}")
        if isinstance(base[key], Mapping) and isinstance(value, Mapping):
            merged[key] = merge(base[key], value, f"{path}.")
        else:
            merged[key] = value
    return merged


def load_truth(override_file: Path | None = None) -> dict[str, Any]:
    truth = yaml.safe_load(DEFAULT_TRUTH.read_text(encoding="utf-8"))
    if override_file is not None:
        override = yaml.safe_load(Path(override_file).read_text(encoding="utf-8")) or {}
        truth = merge(truth, override)
    return truth

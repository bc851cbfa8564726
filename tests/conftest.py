"""Shared fixtures: raw trees written by the synthetic instrument into temporary folders."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from data.synth.tree import write_tree
from paperbuild.paths import PROJECT_ROOT
from data.synth.truth import load_truth, merge

ROOT = PROJECT_ROOT  # the checkout under test (paperbuild/paths.py is the one place that knows it)


def make_tree(out: Path, overrides: dict | None = None) -> Path:
    """A complete raw tree from the default truth with ``overrides`` applied."""
    truth = merge(load_truth(), overrides or {})
    write_tree(truth, out, log=lambda _: None)
    return out


@pytest.fixture(scope="session")
def raw_tree(tmp_path_factory) -> Path:
    """The default raw tree (the one data/raw holds), written afresh."""
    return make_tree(tmp_path_factory.mktemp("raw"))


@pytest.fixture(scope="session")
def ledger() -> dict:
    return yaml.safe_load((ROOT / "paper" / "ledger.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def small_tree(tmp_path_factory) -> Path:
    """A few cycles per cell: enough for the reader and the per-cycle reduction."""
    return make_tree(tmp_path_factory.mktemp("small"), {"echem": {"cycles": 6}, "liquid": {"cycles": 6}})


@pytest.fixture(scope="session")
def default_build(raw_tree, tmp_path_factory) -> Path:
    """Every analysis step of the registry run on the default tree (no figures, no render),
    with the parameters file the paper's shortcodes read."""
    import json

    from analysis.registry import STEPS
    from paperbuild.numbers import merge, write_merged
    from paperbuild.paths import Roots
    from paperbuild.runner import run_step

    roots = Roots(raw=raw_tree, build=tmp_path_factory.mktemp("build"))
    for step in STEPS:
        if not step.build_inputs() and step.numbers:
            run_step(step, roots)
    write_merged(roots.numbers, merge(sorted((roots.build / "numbers").glob("*.json"))))
    params = {f"{s.name}.{n}": p.record(s.name) for s in STEPS for n, p in s.params.items()}
    roots.params.write_text(json.dumps(params), encoding="utf-8")
    return roots.build


def assert_composed_svgs(paths) -> None:
    """Every figure a step wrote is one SVG at a Cell Press column width, no taller than a page allows."""
    from analysis import style

    for path in paths:
        head = path.read_text(encoding="utf-8")[:2000]
        assert path.suffix == ".svg" and "<svg" in head
        width_mm, height_mm = style.svg_size_mm(path)
        assert min(abs(width_mm - w) for w in style.WIDTHS_MM.values()) < 0.1, path.name
        assert height_mm <= style.MAX_HEIGHT_MM

"""The paper stays inside the Quarto subset the fallback renderer implements."""
from __future__ import annotations

import re

import pytest
import yaml

from paperbuild.render import DOCUMENTS, paper_sources
from tests.conftest import ROOT

PAPER = ROOT / "paper"
FLOAT = re.compile(r"^:::+\s*\{#([A-Za-z]+)-([\w-]+)[^}]*\}", re.M)
REF = re.compile(r"(?<![\w@])@([A-Za-z]+)-([\w-]+)")


def _front_matter(text: str) -> dict:
    return yaml.safe_load(text.split("\n---", 1)[0].removeprefix("---\n")) or {}


def _kinds(meta: dict) -> set[str]:
    custom = (meta.get("crossref") or {}).get("custom") or []
    return {"fig", "tbl"} | {c["key"] for c in custom}


@pytest.mark.parametrize("document", DOCUMENTS)
def test_floats_and_references_resolve(document):
    """Every float is a div of a known kind; every @ref names a float of the same document."""
    text = (PAPER / f"{document}.qmd").read_text(encoding="utf-8")
    for include in sorted(PAPER.glob("_*.*md")):
        text += "\n" + include.read_text(encoding="utf-8")
    kinds = _kinds(_front_matter(text))
    floats = {f"{k}-{name}" for k, name in FLOAT.findall(text)}
    assert all(f.split("-")[0] in kinds for f in floats), floats
    assert all("_" not in f for f in floats), "labels must avoid underscores (Quarto)"
    refs = {f"{k}-{name}" for k, name in REF.findall(text) if k in kinds}
    assert refs <= floats, f"references to undefined floats: {refs - floats}"


@pytest.mark.parametrize("path", paper_sources(PAPER), ids=lambda p: p.name)
def test_no_quarto_feature_outside_the_subset(path):
    """No executable cells, callouts, tabsets, image-attribute floats or other shortcodes."""
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"^```+\s*\{", text, re.M), "executable code cells"
    assert ".callout" not in text and ".panel-tabset" not in text
    assert not re.search(r"!\[[^\]]*\]\([^)]*\)\{[^}]*#(fig|tbl)-", text), "floats must use the ::: {#fig-x} form"
    assert set(re.findall(r"\{\{<\s*(\S+)", text)) <= {"num", "param", "accuracy", "include"}

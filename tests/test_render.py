"""The pandoc + Typst fallback renderer on a small document."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from paperbuild import render
from paperbuild.paths import Roots
from paperbuild.step import Param
from tests.conftest import ROOT

DOC = """---
title: "Small"
abstract: "We cycled {{< num echem.cycles >}} times."
bibliography: references.bib
crossref:
  custom:
    - kind: float
      key: suppfig
      reference-prefix: "Figure S"
      space-before-numbering: false
---

As @suppfig-one shows, CE stays above {{< num echem.ce_floor_after_100 >}} [@cheng2020].
Windows of {{< param hrtem.window_px >}} slid over {{< param hrtem.q_range_inv_A >}}.

{{< include _part.md >}}

::: {#suppfig-one}
![](figures/one.svg)

A caption quoting {{< num echem.cycles >}} cycles.
:::
"""


@pytest.fixture
def paper(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERBUILD_RENDERER", "pandoc")
    paper = tmp_path / "paper"
    for rel in render.SHARED_SOURCES:
        if (ROOT / "paper" / rel).exists():
            (paper / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / "paper" / rel, paper / rel)
    (paper / "article.qmd").write_text(DOC)
    (paper / "_part.md").write_text("An included paragraph.\n")
    build = tmp_path / "build"
    (build / "figures").mkdir(parents=True)
    (build / "figures" / "one.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20"/></svg>')
    record = {"unit": "", "step": "echem", "inputs": {"a.mpt": "0" * 64}, "code": "1" * 64}
    numbers = {"echem.cycles": dict(record, value=535, text="535"),
               "echem.ce_floor_after_100": dict(record, value=99.7, text="99.70 %")}
    (build / "numbers.json").write_text(json.dumps(numbers))
    params = {"hrtem.window_px": Param(128, "px").record("hrtem"),
              "hrtem.q_range_inv_A": Param((0.18, 0.66), "Å⁻¹", "ring radii of the phases").record("hrtem")}
    (build / "params.json").write_text(json.dumps(params))
    return paper, build


def _roots(paper_dir: Path, build: Path) -> Roots:
    return Roots(raw=build.parent / "raw", build=build, project=paper_dir.parent)


def _targets(build: Path) -> list[Path]:
    return [build / "paper" / "article.html", build / "paper" / "article.pdf"]


def test_fallback_renders_numbers_crossrefs_includes_and_citations(paper):
    """HTML and PDF carry the numbers, 'Figure S1', the include and the citation."""
    from pypdf import PdfReader

    paper_dir, build = paper
    used = render.render("article", _roots(paper_dir, build), _targets(build))
    assert "pandoc" in used and "Typst" in used
    html = (build / "paper" / "article.html").read_text()
    assert "99.70\u00a0%" in html and 'data-key="echem.cycles"' in html
    assert "Figure S1" in html and 'href="#suppfig-one"' in html
    assert "An included paragraph." in html and "Cheng" in html
    assert "We cycled" in html and ">535<" in html
    assert "128\u00a0px" in html and "0.18\u20130.66\u00a0Å⁻¹" in html and 'data-key="hrtem.q_range_inv_A"' in html
    pdf_text = " ".join(page.extract_text() for page in PdfReader(build / "paper" / "article.pdf").pages)
    pdf_text = pdf_text.replace("\u00a0", " ")
    assert "99.70 %" in pdf_text and "Figure S1" in pdf_text and "535" in pdf_text
    assert "0.18\u20130.66 Å⁻¹" in pdf_text


def test_unknown_parameter_fails_render(paper):
    """A parameter no step declares stops the render with its key."""
    paper_dir, build = paper
    doc = paper_dir / "article.qmd"
    doc.write_text(doc.read_text().replace("hrtem.window_px", "hrtem.no_such_param"))
    with pytest.raises(render.RenderError, match="hrtem.no_such_param"):
        render.render("article", _roots(paper_dir, build), _targets(build))


def test_unknown_key_fails_render_and_keeps_last_output(paper):
    """An unknown key stops the render; the previous HTML survives untouched."""
    paper_dir, build = paper
    render.render("article", _roots(paper_dir, build), _targets(build))
    before = (build / "paper" / "article.html").read_bytes()
    doc = paper_dir / "article.qmd"
    doc.write_text(doc.read_text().replace("echem.ce_floor_after_100", "echem.no_such_number"))
    with pytest.raises(render.RenderError, match="echem.no_such_number"):
        render.render("article", _roots(paper_dir, build), _targets(build))
    assert (build / "paper" / "article.html").read_bytes() == before


def test_unsupported_shortcode_fails_render(paper):
    """The fallback refuses shortcodes it does not implement instead of printing them."""
    paper_dir, build = paper
    doc = paper_dir / "article.qmd"
    doc.write_text(doc.read_text() + "\n{{< pagebreak >}}\n")
    with pytest.raises(render.RenderError, match="pagebreak"):
        render.render("article", _roots(paper_dir, build), _targets(build))


def test_backend_prefers_quarto_only_when_installed(monkeypatch):
    """Quarto is used when on PATH; the environment can force either back end."""
    monkeypatch.delenv("PAPERBUILD_RENDERER", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert render.backend() == "pandoc"
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/quarto")
    assert render.backend() == "quarto"
    monkeypatch.setenv("PAPERBUILD_RENDERER", "pandoc")
    assert render.backend() == "pandoc"

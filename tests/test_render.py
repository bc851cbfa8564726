"""The pandoc + Typst fallback renderer on a small document."""
from __future__ import annotations

import json
import re
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


# ------------------------------------------------------------------ byte-reproducible output
def _render_both(paper_dir: Path, build: Path) -> dict[str, bytes]:
    render.render("article", _roots(paper_dir, build), _targets(build))
    return {t.name: t.read_bytes() for t in _targets(build)}


def test_two_renders_of_the_same_inputs_are_byte_identical(paper, monkeypatch):
    """HTML and PDF come out byte for byte the same, rendered again or into another build folder."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    paper_dir, build = paper
    first = _render_both(paper_dir, build)
    shutil.rmtree(build / "paper")
    shutil.rmtree(build / ".render")
    again = _render_both(paper_dir, build)
    other = build.parent / "other"  # a sibling folder: the same relative links to the sources
    shutil.copytree(build, other, ignore=shutil.ignore_patterns("paper", ".render"))
    elsewhere = _render_both(paper_dir, other)
    for name in first:
        assert again[name] == first[name], name
        assert elsewhere[name] == first[name], name


def test_pdf_date_comes_from_source_date_epoch(paper, monkeypatch):
    """SOURCE_DATE_EPOCH dates the PDF, and the render says where the date came from."""
    from datetime import datetime, timezone

    from pypdf import PdfReader

    paper_dir, build = paper
    epoch = 1_600_000_000
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    used = render.render("article", _roots(paper_dir, build), _targets(build))
    assert "SOURCE_DATE_EPOCH" in used
    created = PdfReader(build / "paper" / "article.pdf").metadata.creation_date
    assert created.astimezone(timezone.utc) == datetime.fromtimestamp(epoch, timezone.utc)


def _git(folder: Path, *args: str, **env: str) -> str:
    import os
    import subprocess

    result = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=folder,
                            capture_output=True, text=True, check=True, env=dict(os.environ, **env))
    return result.stdout.strip()


def test_pdf_date_source_order(tmp_path, monkeypatch):
    """SOURCE_DATE_EPOCH first, then the commit time of HEAD, then the documented fallback."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    plain = tmp_path / "plain"
    plain.mkdir()
    epoch, source = render.pdf_epoch(plain)
    assert epoch == render.FALLBACK_EPOCH and "fallback" in source

    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "f.txt").write_text("x\n")
    _git(repo, "add", "f.txt")
    _git(repo, "commit", "-q", "-m", "one", GIT_COMMITTER_DATE="@1500000123 +0000", GIT_AUTHOR_DATE="@1 +0000")
    expected = int(_git(repo, "show", "-s", "--format=%ct", "HEAD"))
    epoch, source = render.pdf_epoch(repo)
    assert epoch == expected and "commit" in source

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234567890")
    assert render.pdf_epoch(repo) == (1234567890, "SOURCE_DATE_EPOCH")


@pytest.mark.parametrize("value", ["yesterday", "-5", "1.5", "99999999999999"])
def test_bad_source_date_epoch_is_one_message(tmp_path, monkeypatch, value):
    """A SOURCE_DATE_EPOCH that is not a whole number of seconds in range stops with its name."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    with pytest.raises(render.RenderError, match="SOURCE_DATE_EPOCH"):
        render.pdf_epoch(tmp_path)


# ------------------------------------------------------------------ hostile names in tooltips and caption links
HOSTILE_INPUT = "a`<img src=x onerror=alert(1)>`b \" onmouseover=\"alert(2).mpt"
HOSTILE_SCRIPT = "<script>alert(3)</script>.xy"
HOSTILE_DATA = "data/<i>d</i> #1 \"q\" & 'r'?.csv"


def test_hostile_names_stay_text_in_tooltips_and_caption_links(paper):
    """Input names with HTML, quotes, backticks, '#' and '?' show literally in the number's tooltip and
    the caption's data link, which points at the file itself; nothing becomes markup."""
    from urllib.parse import unquote, urlsplit

    from tests.test_report import assert_no_injected_markup, parse_html

    paper_dir, build = paper
    numbers = json.loads((build / "numbers.json").read_text())
    numbers["echem.ce_floor_after_100"]["inputs"] = {HOSTILE_INPUT: "a" * 64, HOSTILE_SCRIPT: "b" * 64}
    (build / "numbers.json").write_text(json.dumps(numbers))
    (build / "steps").mkdir()
    (build / "steps" / "echem_figures.json").write_text(json.dumps(
        {"step": "echem_figures", "source": "analysis/electrochemistry_figures.py",
         "input_roots": {HOSTILE_DATA: "build"}, "inputs": {HOSTILE_DATA: "2" * 64}, "outputs": ["figures/one.svg"]}))
    render.render("article", _roots(paper_dir, build), _targets(build))
    markup = parse_html((build / "paper" / "article.html").read_text(encoding="utf-8"))
    assert_no_injected_markup(markup)
    text = " ".join("".join(markup.text).split())  # HTML wraps lines at spaces
    assert f"{HOSTILE_INPUT} (aaaaaaaaaa)" in text and f"{HOSTILE_SCRIPT} (bbbbbbbbbb)" in text
    hrefs = [value for tag, name, value in markup.attributes if tag == "a" and name == "href"]
    data_links = [h for h in hrefs if "data/" in h]
    assert len(data_links) == 1
    parts = urlsplit(data_links[0])
    assert not parts.scheme and not parts.query and not parts.fragment
    assert (build / "paper" / unquote(parts.path)).resolve() == (build / HOSTILE_DATA).resolve()


# ------------------------------------------------------------------ chemistry, signs, powers of ten, published values
TYPESET = """---
title: "Typeset"
---

Formula {{< num aimd.stoichiometry >}}; energy {{< num dft.formation_li3p_eV >}}; conductivity
{{< num s2.li2o_sigma >}} and {{< num s2.lipon_sigma >}}; total {{< num hrtem.interphase_nm vs >}};
floor {{< num echem.ce_floor_after_100 vs >}}; reflections {{< num xrd.hkl >}}; error {{< num a.rms >}}.

| Quantity | Value |
|:--|--:|
| [Layer of Li~2~O]{.quantity title="hrtem.layer_nm"} [`hrtem.layer_nm`]{.key} | 21.1 nm |
| (20[2]{.overbar}) | 1 |
"""


def _typeset_paper(paper_dir: Path, build: Path, published: dict | None) -> None:
    (paper_dir / "article.qmd").write_text(TYPESET)
    record = {"unit": "", "step": "s", "inputs": {"a.mpt": "0" * 64}, "code": "1" * 64}
    numbers = {"aimd.stoichiometry": dict(record, value=[2.875, 3.4375, 0.3125], text="Li2.88PO3.44N0.31"),
               "dft.formation_li3p_eV": dict(record, value=-0.698, text="-0.698 eV/atom"),
               "s2.li2o_sigma": dict(record, value=1e-14, text="1e-14 S/cm"),
               "s2.lipon_sigma": dict(record, value=3e-6, text="3e-6 S/cm"),
               "hrtem.interphase_nm": dict(record, value=76.47, text="76.5 nm"),
               "echem.ce_floor_after_100": dict(record, value=99.700003, text="99.70 %"),
               "xrd.hkl": dict(record, value=["(110)", "(202\u0304)", "(311\u0305)"], text="(110), (202\u0304), (311\u0305)"),
               "a.rms": dict(record, value=2e-6, text="0.0000020 %")}
    (build / "numbers.json").write_text(json.dumps(numbers))
    if published is not None:
        (build / "published.json").write_text(json.dumps(published))


PUBLISHED = {"hrtem.interphase_nm": {"published_text": "76.4 nm", "differs": True},
             "echem.ce_floor_after_100": {"published_text": "99.7 %", "differs": False}}


def test_numbers_are_typeset_in_html_and_pdf(paper):
    """Formulas get subscripts, minus signs are U+2212, 1e-14 prints as 10⁻¹⁴ and 3e-6 as 3 × 10⁻⁶,
    in the HTML (sub/sup) and in the Typst the PDF is made from; the published value follows
    `vs` only where the printed text differs."""
    from pypdf import PdfReader

    paper_dir, build = paper
    _typeset_paper(paper_dir, build, PUBLISHED)
    render.render("article", _roots(paper_dir, build), _targets(build))
    html = re.sub(r"[ \n]+", " ", (build / "paper" / "article.html").read_text())  # pandoc wraps lines
    assert "Li<sub>2.88</sub>PO<sub>3.44</sub>N<sub>0.31</sub>" in html
    assert "\u22120.698\u00a0eV/atom" in html and "-0.698" not in html
    assert "10<sup>\u221214</sup>\u00a0S/cm" in html
    assert "3\u00a0×\u00a010<sup>\u22126</sup>\u00a0S/cm" in html
    assert "(published: 76.4\u00a0nm)" in html and "published: 99.7" not in html
    typ = (build / ".render" / "article" / "article.typ").read_text()
    assert "Li#sub[2.88]PO#sub[3.44]N#sub[0.31]" in typ and "10#super[−14]" in typ
    # a negative Miller index gets a real overbar (not a combining mark), a list may break after its commas
    assert "(20<span class=\"overbar\">2</span>), (31<span class=\"overbar\">1</span>)" in html
    assert "\u0304" not in html and "\u0305" not in html and "(110), (20" in html
    assert "(20#overline[2]), (31#overline[1])" in typ and '(20#overline("2"))' in typ
    # a decimal below 0.001 as a power of ten with its digits
    assert "2.0\u00a0×\u00a010<sup>\u22126</sup>\u00a0%" in html and "2.0~×~10#super[−6]~%" in typ
    # a table's key: hidden in HTML behind the name's tooltip, small under the name in the PDF
    assert '<span class="quantity" title="hrtem.layer_nm">Layer of Li<sub>2</sub>O</span>' in html
    assert '#linebreak()#text(size: 6pt, fill: luma(95), font: "DejaVu Sans Mono", "hrtem.layer_nm")' in typ
    pdf = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(build / "paper" / "article.pdf").pages))
    assert "\u22120.698 eV/atom" in pdf and "10\u221214 S/cm" in pdf and "3 × 10\u22126 S/cm" in pdf and "(published: 76.4 nm)" in pdf and "published: 99.7" not in pdf
    assert "\u200b" not in pdf and "hrtem.layer_nm" in pdf and "\u0304" not in pdf


def test_vs_without_published_values_fails_render(paper):
    """`{{< num KEY vs >}}` on a build without published.json stops the render and says why."""
    paper_dir, build = paper
    _typeset_paper(paper_dir, build, None)
    with pytest.raises(render.RenderError, match="published"):
        render.render("article", _roots(paper_dir, build), _targets(build))


def test_unknown_num_option_fails_render(paper):
    """Only `vs` is an option of num; anything else stops the render instead of being ignored."""
    paper_dir, build = paper
    doc = paper_dir / "article.qmd"
    doc.write_text(doc.read_text().replace("{{< num echem.cycles >}} times", "{{< num echem.cycles versus >}} times"))
    with pytest.raises(render.RenderError, match="only option is 'vs'"):
        render.render("article", _roots(paper_dir, build), _targets(build))


def test_front_matter_shortcodes_and_numbered_captions(paper):
    """Shortcodes in highlights are expanded; captions read "Figure S1." with the title sentence in bold."""
    paper_dir, build = paper
    doc = paper_dir / "article.qmd"
    doc.write_text(doc.read_text().replace('title: "Small"', 'title: "Small"\nhighlights:\n'
                                           '  - "Cycled {{< num echem.cycles >}} times"'))
    render.render("article", _roots(paper_dir, build), _targets(build))
    html = re.sub(r"[ \n]+", " ", (build / "paper" / "article.html").read_text())
    assert "<li>Cycled <span" in html and ">535<" in html
    assert "<strong>Figure S1.</strong> <strong>A caption quoting" not in html  # one sentence: no title
    typ = (build / ".render" / "article" / "article.typ").read_text()
    assert "#strong[Figure S1.]" in typ and "Cycled 535 times" in typ


def test_render_depends_on_templates_style_and_a_documents_options():
    """The templates, the citation style and a document's own options are rendering sources."""
    sources = {p.relative_to(ROOT / "paper").as_posix() for p in render.paper_sources(ROOT / "paper", "supplement")}
    assert {"templates/article.html", "templates/article.typ", "filters/front-matter.lua",
            "templates/supplement.defaults.yaml"} <= sources
    if (ROOT / "paper" / "cell.csl").exists():
        assert "cell.csl" in sources


def test_hyphenated_names_keep_together_and_headings_do_not_hyphenate(paper):
    """'M.-c.' and 'Min-cheol' in the original work's credit never break at their hyphen (a box in
    Typst, a no-wrap span in HTML, the text itself unchanged); headings are not hyphenated."""
    paper_dir, build = paper
    doc = paper_dir / "article.qmd"
    doc.write_text(doc.read_text().replace('title: "Small"', 'title: "Small"\noriginal:\n'
                                           '  citation: "Fang, C., Kim, M.-c., and Li, W. (2020)."\n'
                                           '  authors:\n    - name: Min-cheol Kim\n'))
    render.render("article", _roots(paper_dir, build), _targets(build))
    typ = (build / ".render" / "article" / "article.typ").read_text()
    assert '#box("M.-c.,")' in typ and '#box("Min-cheol")' in typ
    assert "#show heading: set text(hyphenate: false)" in typ
    html = re.sub(r"[ \n]+", " ", (build / "paper" / "article.html").read_text())
    assert '<span class="nobreak">M.-c.,</span>' in html and '<span class="nobreak">Min-cheol</span>' in html

"""Pages that hold: the PDFs of both documents, read back with pypdf.

* every figure and table caption of the HTML is in the PDF's text;
* each figure's caption starts on the page that holds its image (read from the PDF's
  structure tree, where Typst tags every figure with its image and its caption);
* nothing prints outside the page's body but the running head and the page number, and
  no text starts left of the 174 mm text block (tables and captions included);
* no page is nearly empty or ends in a large blank, except the last, which holds more
  than a stray line;
* figures print at 100 % (marks drawn a known distance apart in the SVG are that far
  apart on the page).

The fast tests render a small two-document paper made here (one float of every size
the paper uses, a long breaking table, citations) with the project's templates and
filters; the slow test renders the project's own article and supplement from a build
of the default raw tree.
"""
from __future__ import annotations

import json
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from paperbuild import render
from paperbuild.paths import Roots
from tests.conftest import ROOT

MM = 72 / 25.4  # PDF points per millimetre
BODY_TOP_MM, BODY_BOTTOM_MM = 20, 20  # the page margins of paper/templates/article.typ
DESCENT = 2.5  # points a subscript's baseline drops below its line's (a last line may end flush with the body)


# ------------------------------------------------------------------ reading a PDF back
@dataclass
class Page:
    """One page: its size and every run of text with the position of its baseline."""

    number: int
    width: float
    height: float
    items: list[tuple[float, float, str]] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)  # per run: where it ends (estimated from its font size)

    def body(self) -> list[tuple[float, float, str]]:
        """Runs inside the body (between the running head and the page number)."""
        top, bottom = self.height - BODY_TOP_MM * MM, BODY_BOTTOM_MM * MM
        return [i for i in self.items if bottom - DESCENT <= i[1] <= top + 0.5]

    def lowest(self, left: float, right: float) -> float | None:
        """The lowest baseline of body text that reaches into the band ``left``..``right``."""
        top, bottom = self.height - BODY_TOP_MM * MM, BODY_BOTTOM_MM * MM
        ys = [y for (x, y, _), end in zip(self.items, self.ends)
              if bottom - DESCENT <= y <= top + 0.5 and x < right and end > left]
        return min(ys, default=None)

    def lines(self) -> int:
        """Distinct baselines of the body's text."""
        return len({round(y) for _, y, _ in self.body()})


def read_pages(pdf: Path) -> list[Page]:
    """Every page with its text runs and their baseline positions (points from the lower left)."""
    from pypdf import PdfReader

    pages = []
    for number, page in enumerate(PdfReader(pdf).pages, start=1):
        box = page.mediabox
        read = Page(number, float(box.width), float(box.height))

        def visit(text, cm, tm, font, size, read=read):
            if text.strip():
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                read.items.append((x, y, text))
                read.ends.append(x + 0.45 * len(text) * size * abs(tm[0] * cm[0]))

        page.extract_text(visitor_text=visit)
        pages.append(read)
    return pages


def figure_pages(pdf: Path) -> list[tuple[int, int]]:
    """(page of the image, page where the caption starts) of every figure, in document order.

    Typst tags a figure as a ``Div`` holding a ``Figure`` (the image) and a ``Caption``;
    each tag's marked content names its page.
    """
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject

    reader = PdfReader(pdf)
    page_of = {page.indirect_reference.idnum: index for index, page in enumerate(reader.pages, start=1)}

    def kids(node):
        k = node.get("/K")
        return [] if k is None else [c.get_object() for c in (k if isinstance(k, ArrayObject) else [k])]

    def first_page(node):
        if not isinstance(node, DictionaryObject):
            return None
        if node.get("/Pg") is not None:
            return page_of[node.raw_get("/Pg").idnum]
        return next((p for p in map(first_page, kids(node)) if p is not None), None)

    found = []

    def walk(node):
        if not isinstance(node, DictionaryObject):
            return
        parts = {c.get("/S"): c for c in kids(node) if isinstance(c, DictionaryObject)}
        if "/Caption" in parts and "/Figure" in parts:
            found.append((first_page(parts["/Figure"]), first_page(parts["/Caption"])))
        for child in kids(node):
            walk(child)

    walk(reader.trailer["/Root"]["/StructTreeRoot"].get_object())
    return found


class _Captions(HTMLParser):
    """The text of each <figcaption>, without the provenance tooltips the PDF does not print."""

    HIDDEN = {"num-prov", "fig-prov"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.captions: list[str] = []
        self.kinds: list[str] = []
        self._figure_classes: list[str] = []
        self._depth = 0  # inside a figcaption
        self._hidden = 0  # depth inside a hidden span
        self._stack: list[bool] = []

    def handle_starttag(self, tag, attrs):
        classes = set((dict(attrs).get("class") or "").split())
        if tag == "figure":
            self._figure_classes.append("table" if "table-float" in classes else "figure")
        if tag == "figcaption":
            self._depth = 1
            self.captions.append("")
            self.kinds.append(self._figure_classes[-1] if self._figure_classes else "figure")
            return
        if self._depth:
            hidden = bool(classes & self.HIDDEN)
            self._stack.append(hidden)
            self._hidden += hidden

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self._depth = 0
        elif self._depth and self._stack:
            self._hidden -= self._stack.pop()

    def handle_data(self, data):
        if self._depth and not self._hidden:
            self.captions[-1] += data


def html_captions(html: str) -> list[tuple[str, str]]:
    """(kind, text) of every caption of a rendered HTML page: kind ``figure`` or ``table``."""
    parser = _Captions()
    parser.feed(html)
    return list(zip(parser.kinds, (" ".join(c.split()) for c in parser.captions)))


def _letters(text: str) -> str:
    """Letters and digits only, lower case, compatibility forms folded (₂ -> 2): hyphenation,
    line breaks and spacing differ between HTML and PDF, the words do not."""
    return "".join(c for c in unicodedata.normalize("NFKC", text).lower() if c.isalnum())


def page_problems(pdf: Path, html: Path, columns: int = 1, blank_fraction: float = 0.3,
                  least_chars: int = 600) -> list[str]:
    """Everything that keeps the PDF's pages from holding, one sentence each.

    Parameters
    ----------
    pdf, html
        The two renderings of one document.
    columns
        The body's columns (each is checked for a blank below its last line).
    blank_fraction
        The largest share of a column's height that may stay blank below its last line
        (all pages but the last).
    least_chars
        Fewer characters of text than this, and no figure, make a page nearly empty.
    """
    from pypdf import PdfReader

    pages = read_pages(pdf)
    problems = []
    text = _letters(" ".join(page.extract_text() for page in PdfReader(pdf).pages))
    for kind, caption in html_captions(html.read_text(encoding="utf-8")):
        if _letters(caption) not in text:
            problems.append(f"{kind} caption missing from the PDF: {caption[:70]}")
    placed = figure_pages(pdf)
    figures = sum(kind == "figure" for kind, _ in html_captions(html.read_text(encoding="utf-8")))
    if len(placed) != figures:
        problems.append(f"{figures} figure captions in the HTML, {len(placed)} tagged figures in the PDF")
    for index, (image, caption) in enumerate(placed, start=1):
        if image != caption:
            problems.append(f"figure {index}: image on page {image}, caption starts on page {caption}")
    with_figure = {image for image, _ in placed}
    for page in pages:
        top, bottom = page.height - BODY_TOP_MM * MM, BODY_BOTTOM_MM * MM
        head = [i for i in page.items if i[1] > top + 0.5]
        foot = [i for i in page.items if i[1] < bottom - DESCENT]
        if len({round(y) for _, y, _ in head}) > 1:
            problems.append(f"page {page.number}: text prints into the running head: {head[-1][2][:40]!r}")
        if [t for _, _, t in foot if not t.strip().isdigit()] or len({round(y) for _, y, _ in foot}) > 1:
            problems.append(f"page {page.number}: text prints over the page number: "
                            f"{[t for _, _, t in foot if not t.strip().isdigit()][:1]}")
        if any(x < -0.5 or x > page.width + 0.5 or y < 0 for x, y, _ in page.items):
            problems.append(f"page {page.number}: text runs off the page")
        outside = [t for x, _, t in page.body() if x < (page.width - 174 * MM) / 2 - 0.5]
        if outside:
            problems.append(f"page {page.number}: text starts left of the text block: {outside[0][:40]!r}")
        body = page.body()
        chars = sum(len(t.strip()) for _, _, t in body)
        if page.number == len(pages):
            if page.lines() < 4 and page.number not in with_figure:
                problems.append(f"page {page.number} (the last) holds only {page.lines()} line(s)")
            continue
        if chars < least_chars and page.number not in with_figure:
            problems.append(f"page {page.number} is nearly empty ({chars} characters, no figure)")
        margin = (page.width - 174 * MM) / 2
        width = (174 * MM - 6 * MM * (columns - 1)) / columns
        for column in range(columns):
            left = margin + column * (width + 6 * MM)
            lowest = page.lowest(left + 2, left + width - 2)
            lowest = top if lowest is None else lowest
            if (lowest - bottom) > blank_fraction * (top - bottom):
                where = f"column {column + 1}" if columns > 1 else "the body"
                problems.append(f"page {page.number}: the lower {100 * (lowest - bottom) / (top - bottom):.0f} % "
                                f"of {where} is blank")
    return problems


# ------------------------------------------------------------------ a small two-document paper
WORDS = ("lithium oxide nitride phosphate interphase layer crystallite matrix electrolyte anode spectrum "
         "profile depth image region boundary measure analysis gradient thin film cell cycle charge").split()


def prose(seed: int, sentences: int) -> str:
    """Deterministic filler prose: sentences of 9 to 17 words."""
    out, state = [], seed
    for _ in range(sentences):
        words = []
        state = (state * 1103515245 + 12345) % 2**31
        for _ in range(9 + state % 9):
            state = (state * 1103515245 + 12345) % 2**31
            words.append(WORDS[state % len(WORDS)])
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def figure_svg(width_mm: float, height_mm: float) -> str:
    """A figure composed at its printed size, with two marks "Q" 100 pt apart on one line."""
    w, h = width_mm * MM, height_mm * MM
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.2f}pt" height="{h:.2f}pt" viewBox="0 0 {w:.2f} {h:.2f}">'
            f'<rect x="0.5" y="0.5" width="{w - 1:.2f}" height="{h - 1:.2f}" fill="#eef" stroke="#333"/>'
            f'<text x="20" y="{h / 2:.1f}" font-size="8" font-family="serif">Q</text>'
            f'<text x="120" y="{h / 2:.1f}" font-size="8" font-family="serif">Q</text></svg>')


COLUMNS = {"article": 2, "supplement": 1}  # paper/templates/supplement.defaults.yaml asks for one
# (label, width mm, height mm): the widths Cell Press prints, up to the tallest main figure
ARTICLE_FIGURES = [("cell", 174, 200), ("hrtem", 174, 150), ("eels", 174, 110), ("dft", 114, 70), ("mosaic", 85, 60)]
SUPPLEMENT_FIGURES = [("ce", 114, 70), ("xrd", 174, 80), ("aimd", 85, 85), ("xps", 174, 130)]

FRONT = """---
title: "A small paper that holds"
subtitle: "For the page tests"
author:
  - name: The test developers
    note: "Wrote this"
original:
  citation: "Someone, A. (2020). The original. *Journal* 1, 1–2."
  doi: 10.1000/example
  authors:
    - name: Ada One
      affiliations: [1]
    - name: Bo Two
      affiliations: [1, 2]
  affiliations:
    - id: 1
      name: "First University"
    - id: 2
      name: "Second Institute"
highlights:
  - "The cell cycles {{< num echem.cycles >}} times"
  - "A second highlight"
context-scale: |
  PROSE_CS
abstract: |
  PROSE_ABSTRACT
bibliography: references.bib
EXTRA---
"""


def _figure_block(kind: str, label: str, seed: int) -> str:
    return (f"::: {{#{kind}-{label}}}\n![](figures/{label}.svg)\n\n"
            f"Caption title of {label}. {prose(seed, 4)} It quotes {{{{< num echem.cycles >}}}} cycles.\n:::\n")


def _article() -> str:
    text = FRONT.replace("PROSE_CS", prose(1, 4)).replace("PROSE_ABSTRACT", prose(2, 7)).replace("EXTRA", "")
    body = ["# Introduction\n", prose(3, 9) + " [@cheng2020]\n", prose(4, 8) + "\n", "# Results\n"]
    for index, (label, _, _) in enumerate(ARTICLE_FIGURES):
        body += [f"## Part {index + 1}\n", prose(10 + index, 10) + f" See @fig-{label}.\n", prose(20 + index, 9) + "\n",
                 _figure_block("fig", label, 30 + index), prose(40 + index, 8) + "\n"]
    body += ["::: {#tbl-small}\n| a | b |\n|:--|--:|\n| one | 1 |\n| two | 2 |\n\nA small table of two rows.\n:::\n",
             "# Discussion\n", prose(50, 12) + "\n", prose(51, 10) + "\n",
             "# References {.unnumbered}\n\n::: {#refs}\n:::\n"]
    return text + "\n" + "\n".join(body)


def _supplement() -> str:
    crossref = ("crossref:\n  custom:\n    - kind: float\n      key: suppfig\n      reference-prefix: \"Figure S\"\n"
                "      space-before-numbering: false\n    - kind: float\n      key: supptbl\n"
                "      reference-prefix: \"Table S\"\n      space-before-numbering: false\n")
    text = FRONT.replace("PROSE_CS", prose(5, 2)).replace("PROSE_ABSTRACT", prose(6, 3)).replace("EXTRA", crossref)
    text = re.sub(r"highlights:.*?context-scale", "context-scale", text, flags=re.S)
    rows = "\n".join(f"| `key.number_{i}` | {prose(60 + i, 1)} | {i}.0 | {i}.1 | +0.1 | reproduced |" for i in range(70))
    body = ["# Supplementary figures\n"]
    for index, (label, _, _) in enumerate(SUPPLEMENT_FIGURES):
        body += [prose(70 + index, 6) + f" See @suppfig-{label}.\n", _figure_block("suppfig", label, 80 + index)]
    body += ["# Every number\n", prose(90, 6) + "\n",
             "::: {#supptbl-long}\n| Key | What | Published | Rebuilt | Difference | Status |\n"
             "|:-------|:-----------|-----:|-----:|----:|:----|\n" + rows + "\n\nA long table that breaks across pages.\n:::\n",
             prose(91, 8) + "\n", "# References {.unnumbered}\n\n::: {#refs}\n:::\n"]
    return text + "\n" + "\n".join(body)


def make_paper(tmp: Path, article: str, supplement: str) -> Roots:
    """A project folder with the repository's paper machinery and the given documents, and a build."""
    paper = tmp / "project" / "paper"
    for rel in render.SHARED_SOURCES + tuple(f"templates/{d}.defaults.yaml" for d in render.DOCUMENTS):
        if (ROOT / "paper" / rel).exists():
            (paper / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / "paper" / rel, paper / rel)
    (paper / "references.bib").write_text(
        "@article{cheng2020, author = {Cheng, Diyi}, title = {Unveiling}, journal = {Joule}, year = {2020}}\n")
    (paper / "article.qmd").write_text(article, encoding="utf-8")
    (paper / "supplement.qmd").write_text(supplement, encoding="utf-8")
    build = tmp / "build"
    (build / "figures").mkdir(parents=True)
    for label, width, height in ARTICLE_FIGURES + SUPPLEMENT_FIGURES:
        (build / "figures" / f"{label}.svg").write_text(figure_svg(width, height))
    record = {"unit": "", "step": "echem", "inputs": {"a.mpt": "0" * 64}, "code": "1" * 64}
    (build / "numbers.json").write_text(json.dumps({"echem.cycles": dict(record, value=535, text="535")}))
    (build / "params.json").write_text("{}")
    return Roots(raw=tmp / "raw", build=build, project=paper.parent)


def render_all(roots: Roots) -> dict[str, tuple[Path, Path]]:
    out = {}
    for document in render.DOCUMENTS:
        targets = [roots.rendered / f"{document}.{ext}" for ext in ("html", "pdf")]
        render.render(document, roots, targets)
        out[document] = (targets[1], targets[0])
    return out


@pytest.fixture(scope="module")
def small_paper(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PAPERBUILD_RENDERER", "pandoc")
    try:
        roots = make_paper(tmp_path_factory.mktemp("pages"), _article(), _supplement())
        yield render_all(roots)
    finally:
        mp.undo()


@pytest.mark.parametrize("document", render.DOCUMENTS)
def test_pages_hold_every_caption_beside_its_figure(small_paper, document):
    """Every caption is in the PDF, each figure's caption starts on its image's page, nothing prints
    over the head or the page number, and no page but the last is nearly empty or half blank."""
    pdf, html = small_paper[document]
    assert page_problems(pdf, html, COLUMNS[document]) == []
    figures = ARTICLE_FIGURES if document == "article" else SUPPLEMENT_FIGURES
    assert len(figure_pages(pdf)) == len(figures)


@pytest.mark.parametrize("document", render.DOCUMENTS)
def test_figures_print_at_their_composed_size(small_paper, document):
    """Two marks 100 pt apart in each figure's SVG are 100 pt apart on the page: no figure is scaled."""
    pdf, _ = small_paper[document]
    pairs = []
    for page in read_pages(pdf):
        marks: dict[int, list[float]] = {}
        for x, y, text in page.items:
            if text.strip() == "Q":
                marks.setdefault(round(y), []).append(x)
        pairs += [sorted(xs) for xs in marks.values()]
    figures = ARTICLE_FIGURES if document == "article" else SUPPLEMENT_FIGURES
    assert len(pairs) == len(figures) and all(len(xs) == 2 for xs in pairs), pairs
    for left, right in pairs:
        assert right - left == pytest.approx(100, abs=0.3)


def test_article_has_two_columns_and_the_supplement_one(small_paper):
    """The article's lines start at the left edge of either of two 84 mm columns (18 and 108 mm
    from the page's edge); the supplement's at the left of one 174 mm block (18 mm), where its
    tables and captions start too (nothing reaches out of the block)."""
    def lines_starting_at(document, mm):
        pdf, _ = small_paper[document]
        return len({(page.number, round(y)) for page in read_pages(pdf) for x, y, _ in page.body()
                    if abs(x / MM - mm) < 0.6})

    assert lines_starting_at("article", 18) > 20 and lines_starting_at("article", 108) > 20
    assert lines_starting_at("supplement", 18) > 60 and lines_starting_at("supplement", 108) < 5
    pdf, _ = small_paper["supplement"]
    assert all(x / MM > 17.4 for page in read_pages(pdf) for x, _, _ in page.body())


def _table(label: str, rows: int) -> str:
    cells = "\n".join(f"| {label}cell{i} | {i} |" for i in range(rows))
    return f"::: {{#supptbl-{label}}}\n| Name | Value |\n|:--|--:|\n{cells}\n\nThe table {label}.\n:::\n"


def test_short_tables_never_split_and_a_long_one_breaks_with_its_header(tmp_path, monkeypatch):
    """In the one-column supplement a short table (here 16 rows, after text of twelve different
    lengths, so that in the text flow several would straddle a page break, as the table before
    this layout did) floats whole onto one page; a long table (70 rows) breaks across pages and
    repeats its header on each."""
    monkeypatch.setenv("PAPERBUILD_RENDERER", "pandoc")
    supplement = _supplement().split("# Supplementary figures")[0]
    body = ["# Tables\n"]
    short = "abcdefghijkl"
    for index, label in enumerate(short):
        body += [prose(200 + index, 3 + 3 * index) + "\n", _table(label, 16)]
    body += [prose(300, 6) + "\n", _table("long", 70), prose(301, 6) + "\n"]
    roots = make_paper(tmp_path, _article(), supplement + "\n".join(body))
    render.render("supplement", roots, [roots.rendered / "supplement.html", roots.rendered / "supplement.pdf"])
    pages = read_pages(roots.rendered / "supplement.pdf")
    where: dict[str, set[int]] = {}
    for page in pages:
        for _, _, text in page.body():
            for match in re.finditer(r"([a-z]+)cell\d+", text):
                where.setdefault(match.group(1), set()).add(page.number)
    assert all(len(where[label]) == 1 for label in short), where
    assert len(where["long"]) >= 2
    for number in where["long"]:
        assert any(t.strip().startswith("Name") for _, _, t in pages[number - 1].body()), number


def test_title_block_in_both_formats(small_paper):
    """Title, byline, the original work with numbered affiliations, Highlights, Context & Scale and Summary."""
    from pypdf import PdfReader

    pdf, html = small_paper["article"]
    first = PdfReader(pdf).pages[0].extract_text()
    page = " ".join(html.read_text(encoding="utf-8").split())
    for text in ("A small paper that holds", "The test developers", "Original work", "Ada One", "Bo Two",
                 "First University", "Second Institute", "Highlights", "Context & Scale", "Summary",
                 "The cell cycles 535 times"):
        assert text in first, text
    assert 'Ada One<sup>1</sup></span>, <span class="original-author">Bo Two<sup>1,2</sup>' in page
    assert "<sup>2</sup> Second Institute" in page
    for heading in ("Highlights", "Context &amp; Scale", "Summary", "Contents"):
        assert f">{heading}</h2>" in page, heading


# ------------------------------------------------------------------ the checks find what they look for
def test_a_figure_too_tall_for_the_page_is_found(tmp_path, monkeypatch):
    """A figure taller than the page pushes its caption over the page number: reported."""
    monkeypatch.setenv("PAPERBUILD_RENDERER", "pandoc")
    roots = make_paper(tmp_path, _article(), _supplement())
    (roots.build / "figures" / "cell.svg").write_text(figure_svg(174, 250))
    render.render("article", roots, [roots.rendered / "article.html", roots.rendered / "article.pdf"])
    problems = page_problems(roots.rendered / "article.pdf", roots.rendered / "article.html", 2)
    assert any("over the page number" in p or "runs off" in p for p in problems), problems


def test_a_blank_half_page_and_a_missing_caption_are_found(tmp_path, monkeypatch):
    """A forced page break after a short paragraph leaves half a page blank; a caption the PDF
    lacks is named."""
    monkeypatch.setenv("PAPERBUILD_RENDERER", "pandoc")
    supplement = _supplement().replace("# Supplementary figures\n", "# Supplementary figures\n\nTwo short lines.\n\n"
                                       "```{=typst}\n#pagebreak()\n```\n")
    roots = make_paper(tmp_path, _article(), supplement)
    render.render("supplement", roots, [roots.rendered / "supplement.html", roots.rendered / "supplement.pdf"])
    html = roots.rendered / "supplement.html"
    problems = page_problems(roots.rendered / "supplement.pdf", html)
    assert [p for p in problems if p.startswith("page 1: the lower")], problems
    html.write_text(html.read_text(encoding="utf-8").replace(
        "</main>", "<figure><figcaption>A caption that was never printed.</figcaption></figure></main>"),
        encoding="utf-8")
    problems = page_problems(roots.rendered / "supplement.pdf", html)
    assert any("never printed" in p for p in problems), problems


# ------------------------------------------------------------------ the project's own paper
@pytest.mark.slow
def test_the_papers_pages_hold(default_build, raw_tree, tmp_path, monkeypatch):
    """The real article and supplement, rendered from a build of the default raw tree, pass every check."""
    from analysis.registry import STEPS
    from paperbuild import comparison
    from paperbuild.runner import run_step

    monkeypatch.setenv("PAPERBUILD_RENDERER", "pandoc")
    build = tmp_path / "build"
    shutil.copytree(default_build, build)
    roots = Roots(raw=raw_tree, build=build)
    for step in STEPS:
        if step.build_inputs() or not step.numbers:  # the figure steps the fixture left out
            run_step(step, roots)
    comparison.write(roots.numbers, roots.ledger, roots.accuracy, build / comparison.TABLE, build / comparison.NOTES)
    problems = {document: page_problems(pdf, html, COLUMNS[document])
                for document, (pdf, html) in render_all(roots).items()}
    assert problems == {document: [] for document in render.DOCUMENTS}

"""Render the article and supplement: Quarto when it is installed, else pandoc + Typst.

Rendering happens in a staging folder (``build/.render/<document>``) holding a copy
of ``paper/``, the build's ``numbers.json`` and its figures and tables, so the same
sources render any build folder (``doit build=DIR``) and ``paper/`` never receives
generated files.  The fallback supports exactly the Quarto features the paper uses
(see ``paper/filters/quarto-subset.lua``); ``tests/test_paper_subset.py`` keeps the
sources inside that subset.  Set ``PAPERBUILD_RENDERER=pandoc`` to force the fallback.
The fallback lays the documents out with the paper's own templates
(``paper/templates/article.html`` and ``article.typ``: the journal's title block, two
columns, numbered captions) and a document's own pandoc options, if it has a
``paper/templates/<document>.defaults.yaml``; ``{{< num KEY vs >}}`` reads the build's
``published.json`` (:mod:`paperbuild.comparison`).

Two renders of the same inputs give byte-identical HTML and PDF: the PDF's dates (and
the document ID Typst derives from them) come from :func:`pdf_epoch`, never from the
clock, and the links in the HTML are relative and percent-encoded.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from paperbuild import atomic, comparison
from paperbuild.errors import BuildError
from paperbuild.paths import Roots

DOCUMENTS = ("article", "supplement")
SHARED_SOURCES = ("_quarto.yml", "references.bib", "cell.csl", "paper.css", "filters/quarto-subset.lua",
                  "filters/front-matter.lua", "_extensions/num/num.lua", "_extensions/num/_extension.yml",
                  "accuracy.json", "templates/article.html", "templates/article.typ")
FILTERS = ("filters/quarto-subset.lua", "filters/front-matter.lua")
HTML_TEMPLATE = "templates/article.html"
TYPST_TEMPLATE = "templates/article.typ"
DEFAULTS = "templates/{document}.defaults.yaml"  # a document's own pandoc options, if it has any
PUBLISHED = comparison.NOTES  # what {{< num KEY vs >}} prints, from the build's comparison task
# The PDF date when neither SOURCE_DATE_EPOCH nor a git commit gives one:
# 1980-01-01T00:00:00Z, the earliest date ZIP archives (and so wheels) can record.
FALLBACK_EPOCH = 315_532_800
_LATEST_EPOCH = 253_402_300_799  # 9999-12-31T23:59:59Z, the last date a PDF can state


class RenderError(BuildError):
    """pandoc, Typst or Quarto refused a document."""


def paper_sources(paper: Path, document: str | None = None) -> list[Path]:
    """The source files a document's rendering reads, so doit reruns it exactly when one changes.

    Includes (``_*.md`` / ``_*.qmd``) are shared by both documents.

    Parameters
    ----------
    paper
        The paper's source folder.
    document
        ``"article"`` or ``"supplement"``: its ``.qmd``, the includes and the shared
        configuration, filters and bibliography.  None: every document's ``.qmd`` and
        the includes (the Markdown the lint checks).

    Returns
    -------
    list of Path
        The files: the documents' ``.qmd`` first, then the includes sorted by name,
        then the shared files.
    """
    paper = Path(paper)
    documents = DOCUMENTS if document is None else (document,)
    files = [paper / f"{d}.qmd" for d in documents]
    files += sorted(p for p in paper.glob("_*.*md"))
    if document is not None:
        # a shared file that does not exist yet (e.g. no citation style) is no dependency:
        # doit reruns the render when it appears, since the list of dependencies changes
        files += [paper / rel for rel in (*SHARED_SOURCES, DEFAULTS.format(document=document)) if (paper / rel).exists()]
    return files


def backend() -> str:
    """Choose the renderer, so the paper builds on machines without Quarto.

    ``PAPERBUILD_RENDERER=pandoc`` (or ``quarto``) forces the choice.

    Returns
    -------
    str
        ``"quarto"`` when the quarto command is on PATH, else ``"pandoc"``.
    """
    forced = os.environ.get("PAPERBUILD_RENDERER", "").strip().lower()
    if forced in ("pandoc", "quarto"):
        return forced
    return "quarto" if shutil.which("quarto") else "pandoc"


def pdf_epoch(project: Path) -> tuple[int, str]:
    """The date to print into the PDFs, from the sources rather than the clock, so renders are byte-identical.

    ``SOURCE_DATE_EPOCH`` when set (the reproducible-builds convention), else the
    commit time of ``HEAD`` of the project's git checkout, else :data:`FALLBACK_EPOCH`.

    Parameters
    ----------
    project
        The project checkout whose ``HEAD`` dates the PDF.

    Returns
    -------
    tuple of (int, str)
        Seconds since 1970-01-01 UTC, and where they came from (``"SOURCE_DATE_EPOCH"``,
        ``"commit time of HEAD <sha>"`` or ``"the fallback date (no SOURCE_DATE_EPOCH,
        no git commit)"``).

    Raises
    ------
    RenderError
        ``SOURCE_DATE_EPOCH`` is set but is not a whole number of seconds between
        1970 and 9999.
    """
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if value:
        if not (value.isascii() and value.isdigit()) or int(value) > _LATEST_EPOCH:
            raise RenderError(f"SOURCE_DATE_EPOCH={value!r}: expected a whole number of seconds since "
                              "1970-01-01 UTC (0 to 253402300799), e.g. the output of `git log -1 --format=%ct`")
        return int(value), "SOURCE_DATE_EPOCH"
    try:
        done = subprocess.run(["git", "log", "-1", "--format=%ct %H"], cwd=project, capture_output=True,
                              text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        done = None
    if done is not None and done.returncode == 0:
        seconds, _, commit = done.stdout.strip().partition(" ")
        if seconds.isdigit() and int(seconds) <= _LATEST_EPOCH:
            return int(seconds), f"commit time of HEAD {commit[:10]}"
    return FALLBACK_EPOCH, "the fallback date (no SOURCE_DATE_EPOCH, no git commit)"


def _dated(epoch: int, source: str) -> str:
    return f"PDF dated {datetime.fromtimestamp(epoch, timezone.utc):%Y-%m-%dT%H:%M:%SZ} from {source}"


def _stage(document: str, paper: Path, build: Path) -> Path:
    stage = build / ".render" / document
    shutil.rmtree(stage, ignore_errors=True)
    for source in paper_sources(paper, document):
        if source.exists():
            target = stage / source.relative_to(paper)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for folder in ("figures", "tables"):
        if (build / folder).is_dir():
            shutil.copytree(build / folder, stage / folder)
    shutil.copy2(build / "numbers.json", stage / "numbers.json")
    shutil.copy2(build / "params.json", stage / "params.json")
    if (build / PUBLISHED).is_file():  # written by the comparison task (paperbuild/comparison.py)
        shutil.copy2(build / PUBLISHED, stage / PUBLISHED)
    (stage / "provenance.json").write_text(json.dumps(provenance(build, paper.parent), indent=1), encoding="utf-8")
    return stage


def provenance(build: Path, project: Path) -> dict:
    """Let a reader of the HTML follow each figure back to the code and data that made it.

    Parameters
    ----------
    build
        The build folder (its ``steps/*.json`` records are read).
    project
        The project checkout holding each step's module source.

    Returns
    -------
    dict
        ``{"steps": {step: {"source"}}, "figures": {figure: {"step", "source", "data", "data_names", "file"}}}``:
        ``source``, ``data`` and ``file`` (the figure itself, which a click on it in the
        HTML opens at full size) are URLs relative to ``build/paper/`` (where the HTML
        is written), percent-encoded so that any file name (``#``, ``?``, spaces,
        quotes) links to the file itself; ``data_names`` names the same files as the
        build does, for the links' titles.
    """
    html_dir = build / "paper"

    def link(path: Path) -> str:
        return quote(Path(os.path.relpath(path, html_dir)).as_posix(), safe="/")

    steps, figures = {}, {}
    for record_file in sorted((build / "steps").glob("*.json")):
        record = json.loads(record_file.read_text(encoding="utf-8"))
        if "source" not in record:
            continue  # render records
        roots = record.get("input_roots", {})
        names = [name for name in record.get("inputs", {}) if roots.get(name) == "build"]
        data = [link(build / name) for name in names]
        steps[record["step"]] = {"source": link(project / record["source"])}
        for output in record.get("outputs", []):
            if output.startswith("figures/"):
                figures[output] = {"step": record["step"], "source": link(project / record["source"]), "data": data,
                                   "data_names": names, "file": link(build / output)}
    return {"steps": steps, "figures": figures}


def _run(command: list[str], cwd: Path, document: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise RenderError(f"paper/{document}.qmd: {Path(command[0]).name} failed:\n{detail}")
    for line in result.stderr.splitlines():
        if line.strip():
            print(f"    {Path(command[0]).name}: {line}")


def _pandoc(stage: Path, document: str, epoch: int) -> str:
    """HTML and PDF with pandoc (pypandoc_binary) and the typst wheel, the PDF dated ``epoch``."""
    import pypandoc
    import typst

    pandoc = pypandoc.get_pandoc_path()
    common = [pandoc, f"{document}.qmd", "--from", "markdown", "--standalone"]
    for lua in FILTERS:
        common += ["--lua-filter", lua]
    common += ["--citeproc", "--metadata", "numbers-file=numbers.json", "--metadata", "params-file=params.json",
               "--metadata", "provenance-file=provenance.json", "--metadata", "accuracy-file=accuracy.json",
               "--metadata", f"published-file={PUBLISHED}", "--metadata", "link-citations=true"]
    if (stage / DEFAULTS.format(document=document)).is_file():  # per-document options (e.g. one column)
        common += ["--defaults", DEFAULTS.format(document=document)]
    html, typ = [], []
    if (stage / HTML_TEMPLATE).is_file():
        html = ["--template", HTML_TEMPLATE]
    if (stage / TYPST_TEMPLATE).is_file():
        typ = ["--template", TYPST_TEMPLATE]
    _run(common + html + ["--to", "html5", "--embed-resources", "--css", "paper.css", "--toc", "--toc-depth=2",
                          "--section-divs", "--output", f"{document}.html"], stage, document)
    _run(common + typ + ["--to", "typst", "--output", f"{document}.typ"], stage, document)
    try:
        typst.compile(str(stage / f"{document}.typ"), output=str(stage / f"{document}.pdf"), root=str(stage),
                      timestamp=epoch)
    except Exception as err:  # typst raises its own error types
        raise RenderError(f"paper/{document}.qmd: Typst failed on the pandoc output: {err}") from None
    return f"pandoc {pypandoc.get_pandoc_version()} + Typst {typst.__version__} (fallback: no quarto on PATH)"


def _quarto(stage: Path, document: str, epoch: int) -> str:
    # Quarto runs the Typst CLI, which dates the PDF from SOURCE_DATE_EPOCH
    _run(["quarto", "render", f"{document}.qmd", "--to", "html,typst", "-M", "numbers-file:numbers.json",
          "-M", "params-file:params.json", "-M", "provenance-file:provenance.json", "-M", "accuracy-file:accuracy.json",
          "-M", f"published-file:{PUBLISHED}"],
         stage, document,
         env=dict(os.environ, SOURCE_DATE_EPOCH=str(epoch)))
    version = subprocess.run(["quarto", "--version"], capture_output=True, text=True).stdout.strip()
    return f"Quarto {version}"


def render(document: str, roots: Roots, targets: list[Path]) -> str:
    """Render one document into its targets; earlier outputs survive any failure.

    Parameters
    ----------
    document
        ``"article"`` or ``"supplement"`` (``paper/<document>.qmd``).
    roots
        The build's roots: sources from ``roots.paper``, numbers, parameters and figures
        from ``roots.build``.
    targets
        The HTML and PDF files to write.

    Returns
    -------
    str
        Which back end rendered, with its version, and the PDF's date and where it
        came from (:func:`pdf_epoch`).

    Raises
    ------
    RenderError
        The renderer refused the document or wrote no output, or ``SOURCE_DATE_EPOCH``
        is malformed.
    """
    build = roots.build
    epoch, source = pdf_epoch(roots.project)
    stage = _stage(document, roots.paper, build)
    used = _quarto(stage, document, epoch) if backend() == "quarto" else _pandoc(stage, document, epoch)
    used = f"{used}; {_dated(epoch, source)}"
    for target in targets:
        produced = stage / target.name
        if not produced.is_file():
            raise RenderError(f"paper/{document}.qmd: the renderer wrote no {target.name}")
        atomic.write_bytes(target, produced.read_bytes())
    print(f"  {document}: rendered with {used} -> {', '.join(str(t) for t in targets)}")
    return used

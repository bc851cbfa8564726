"""Render the article and supplement: Quarto when it is installed, else pandoc + Typst.

Rendering happens in a staging folder (``build/.render/<document>``) holding a copy
of ``paper/``, the build's ``numbers.json`` and its figures and tables, so the same
sources render any build folder (``doit build=DIR``) and ``paper/`` never receives
generated files.  The fallback supports exactly the Quarto features the paper uses
(see ``paper/filters/quarto-subset.lua``); ``tests/test_paper_subset.py`` keeps the
sources inside that subset.  Set ``PAPERBUILD_RENDERER=pandoc`` to force the fallback.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from paperbuild import atomic
from paperbuild.errors import BuildError
from paperbuild.paths import Roots

DOCUMENTS = ("article", "supplement")
SHARED_SOURCES = ("_quarto.yml", "references.bib", "paper.css", "filters/quarto-subset.lua",
                  "_extensions/num/num.lua", "_extensions/num/_extension.yml")
FILTER = "filters/quarto-subset.lua"


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
        files += [paper / rel for rel in SHARED_SOURCES]
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
        ``{"steps": {step: {"source"}}, "figures": {figure: {"step", "source", "data"}}}``,
        paths relative to ``build/paper/`` where the HTML is written.
    """
    html_dir = build / "paper"

    def link(path: Path) -> str:
        return Path(os.path.relpath(path, html_dir)).as_posix()

    steps, figures = {}, {}
    for record_file in sorted((build / "steps").glob("*.json")):
        record = json.loads(record_file.read_text(encoding="utf-8"))
        if "source" not in record:
            continue  # render records
        roots = record.get("input_roots", {})
        data = [link(build / name) for name in record.get("inputs", {}) if roots.get(name) == "build"]
        steps[record["step"]] = {"source": link(project / record["source"])}
        for output in record.get("outputs", []):
            if output.startswith("figures/"):
                figures[output] = {"step": record["step"], "source": link(project / record["source"]), "data": data}
    return {"steps": steps, "figures": figures}


def _run(command: list[str], cwd: Path, document: str) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise RenderError(f"paper/{document}.qmd: {Path(command[0]).name} failed:\n{detail}")
    for line in result.stderr.splitlines():
        if line.strip():
            print(f"    {Path(command[0]).name}: {line}")


def _pandoc(stage: Path, document: str) -> str:
    """HTML and PDF with pandoc (pypandoc_binary) and the typst wheel."""
    import pypandoc
    import typst

    pandoc = pypandoc.get_pandoc_path()
    common = [pandoc, f"{document}.qmd", "--from", "markdown", "--standalone", "--lua-filter", FILTER,
              "--citeproc", "--metadata", "numbers-file=numbers.json", "--metadata", "params-file=params.json",
              "--metadata", "provenance-file=provenance.json",
              "--metadata", "link-citations=true"]
    _run(common + ["--to", "html5", "--embed-resources", "--css", "paper.css",
                   "--output", f"{document}.html"], stage, document)
    _run(common + ["--to", "typst", "--output", f"{document}.typ"], stage, document)
    try:
        typst.compile(str(stage / f"{document}.typ"), output=str(stage / f"{document}.pdf"), root=str(stage))
    except Exception as err:  # typst raises its own error types
        raise RenderError(f"paper/{document}.qmd: Typst failed on the pandoc output: {err}") from None
    return f"pandoc {pypandoc.get_pandoc_version()} + Typst {typst.__version__} (fallback: no quarto on PATH)"


def _quarto(stage: Path, document: str) -> str:
    _run(["quarto", "render", f"{document}.qmd", "--to", "html,typst", "-M", "numbers-file:numbers.json",
          "-M", "params-file:params.json", "-M", "provenance-file:provenance.json"], stage, document)
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
        Which back end rendered, with its version.

    Raises
    ------
    RenderError
        The renderer refused the document or wrote no output.
    """
    build = roots.build
    stage = _stage(document, roots.paper, build)
    used = _quarto(stage, document) if backend() == "quarto" else _pandoc(stage, document)
    for target in targets:
        produced = stage / target.name
        if not produced.is_file():
            raise RenderError(f"paper/{document}.qmd: the renderer wrote no {target.name}")
        atomic.write_bytes(target, produced.read_bytes())
    print(f"  {document}: rendered with {used} -> {', '.join(str(t) for t in targets)}")
    return used

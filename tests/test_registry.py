"""The one declaration: the registry is the only place paths and method choices are written,
the runner enforces it, and the project's imports point one way."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from analysis.registry import STEPS
from paperbuild.errors import DeclarationError
from paperbuild.paths import Roots
from paperbuild.runner import run_step
from paperbuild.step import Param, Step, raw
from tests.conftest import ROOT


# ------------------------------------------------------------------ the runner enforces the declaration
def _fixture_step(mode: str, outputs: dict | None = None) -> Step:
    return Step(name="fixture", module="tests.step_fixture", doc="test step",
                inputs={"source": raw("notes/source.txt"), "other": raw("notes/other.txt")},
                outputs=outputs or {"table": "data/fixture.csv"}, numbers=("fixture.lines",),
                params={"mode": Param(mode)})


@pytest.fixture
def roots(tmp_path) -> Roots:
    (tmp_path / "raw" / "notes").mkdir(parents=True)
    (tmp_path / "raw" / "notes" / "source.txt").write_text("a\nb\n")
    (tmp_path / "raw" / "notes" / "other.txt").write_text("c\n")
    return Roots(raw=tmp_path / "raw", build=tmp_path / "build")


def test_declared_step_runs_and_records_provenance(roots):
    """Inputs by role, outputs by role, parameters by name; the record lists hashed inputs."""
    run_step(_fixture_step("ok"), roots)
    assert (roots.build / "data" / "fixture.csv").read_text() == "A\nB\n"
    numbers = json.loads((roots.build / "numbers" / "fixture.json").read_text())
    assert set(numbers["fixture.lines"]["inputs"]) == {"notes/source.txt", "notes/other.txt"}
    record = json.loads(roots.step_record("fixture").read_text())
    assert record["input_roots"] == {"notes/source.txt": "raw", "notes/other.txt": "raw"}


def test_number_records_only_the_inputs_it_names(roots):
    """Per-number provenance: a subset of the step's inputs."""
    run_step(_fixture_step("subset_provenance"), roots)
    numbers = json.loads((roots.build / "numbers" / "fixture.json").read_text())
    assert list(numbers["fixture.lines"]["inputs"]) == ["notes/source.txt"]


def test_number_derived_from_an_undeclared_file_is_refused(roots):
    with pytest.raises(DeclarationError, match="elsewhere.txt, which is not one of the step's declared inputs"):
        run_step(_fixture_step("foreign_provenance"), roots)


def test_undeclared_output_is_refused_and_nothing_lands(roots):
    """A file the registry does not declare fails the step, naming it; no output moves in."""
    with pytest.raises(DeclarationError, match="data/extra.csv, which the registry does not declare"):
        run_step(_fixture_step("undeclared_output"), roots)
    assert not (roots.build / "data").exists()


def test_missing_declared_output_is_refused(roots):
    step = _fixture_step("ok", outputs={"table": "data/fixture.csv", "plot": "figures/fixture.svg"})
    with pytest.raises(DeclarationError, match="did not write its declared outputs: figures/fixture.svg"):
        run_step(step, roots)


def test_undeclared_input_role_names_the_registry(roots):
    with pytest.raises(DeclarationError, match="asked for input 'secret', which the registry does not declare"):
        run_step(_fixture_step("undeclared_input"), roots)


def test_glob_input_arrives_sorted_and_missing_file_is_named(roots):
    step = Step(name="g", module="tests.step_fixture", doc="d", inputs={"notes": raw("notes/*.txt")})
    assert step.resolve_inputs(roots)["notes"] == (roots.raw / "notes/other.txt", roots.raw / "notes/source.txt")
    (roots.raw / "notes" / "source.txt").unlink()
    from paperbuild.errors import InputError

    with pytest.raises(InputError, match="source.txt: step fixture needs this file"):
        run_step(_fixture_step("ok"), roots)


@pytest.mark.parametrize("bad", [lambda: raw("/etc/passwd"), lambda: raw("../outside.txt"),
                                 lambda: Step(name="s", module="m", doc="d", inputs={"a": "data/x.csv"}),
                                 lambda: Step(name="s", module="m", doc="d", inputs={}, params={"p": 3}),
                                 lambda: Param(float("nan")), lambda: Param([1, None])])
def test_malformed_declarations_are_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        bad()


@pytest.mark.parametrize("param, text", [
    (Param((0.18, 0.66), "Å⁻¹"), "0.18\u20130.66 Å⁻¹"), (Param(128, "px"), "128 px"), (Param(3), "3"),
    (Param(1e6), "1e+06"), (Param((47.0, 54.0), "eV"), "47\u201354 eV"), (Param(("a", "b", "c")), "a, b, c"),
    (Param((0.0, 0.5), "eV"), "0\u20130.5 eV"),
])
def test_parameter_prints_as_the_methods_text_quotes_it(param, text):
    assert param.text == text


# ------------------------------------------------------------------ the registry is complete and consistent
def test_every_build_input_has_exactly_one_producer():
    """A figure step reads only what exactly one earlier step declares as an output."""
    producers: dict[str, list[str]] = {}
    for step in STEPS:
        for rel in step.targets:
            producers.setdefault(rel, []).append(step.name)
    order = {step.name: i for i, step in enumerate(STEPS)}
    for step in STEPS:
        for rel in step.build_inputs():
            assert len(producers.get(rel, [])) == 1, f"{step.name} reads {rel}, produced by {producers.get(rel)}"
            assert order[producers[rel][0]] < order[step.name], f"{step.name} is listed before the producer of {rel}"


def test_steps_have_unique_names_outputs_and_a_description():
    names = [s.name for s in STEPS]
    assert len(names) == len(set(names))
    outputs = [rel for s in STEPS for rel in s.targets]
    assert len(outputs) == len(set(outputs))
    assert all(s.doc.strip() and "\n" not in s.doc for s in STEPS)


def test_run_takes_declared_parameters_without_defaults():
    """Every step's run accepts exactly its registry parameters, none with a default."""
    import importlib
    import inspect

    for step in STEPS:
        signature = inspect.signature(importlib.import_module(step.module).run)
        names = list(signature.parameters)
        assert names[:2] == ["inputs", "outputs"], step.name
        declared = {n: p for n, p in signature.parameters.items() if n not in ("inputs", "outputs")}
        assert set(declared) == set(step.params), f"{step.name}: run takes {sorted(declared)}, registry {sorted(step.params)}"
        assert all(p.default is inspect.Parameter.empty for p in declared.values()), step.name


# ------------------------------------------------------------------ no module names a path of its own
_FILE_LITERAL = re.compile(r"""(^|/)(raw|data|build|figures|tables|numbers|steps|external)/|"""
                           r"""[\w*]\.(csv|npz|npy|tif|tiff|hspy|zspy|msa|dat|vms|xy|mpt|yaml|yml|md|svg|png|pdf|json|xyz)$|"""
                           r"""(^|/)(POSCAR|CONTCAR|OUTCAR)$""")


def path_literals(source: str) -> list[tuple[int, str]]:
    """String constants in ``source`` that name a file or a project folder, and uses of __file__."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _FILE_LITERAL.search(node.value):
            found.append((node.lineno, node.value))
        if isinstance(node, ast.Name) and node.id == "__file__":
            found.append((node.lineno, "__file__"))
    return found


@pytest.mark.parametrize("source", [
    'PATH = "hrtem/region_*.tif"', 'open("data/external/phases.yaml")', 'x = root / "data/eds_maps.npz"',
    'HERE = Path(__file__).parent', 'np.savetxt(out / "figures/fig.svg", a)', 'p = raw / "aimd/POSCAR"',
])
def test_path_scan_catches_a_module_that_names_its_own_file(source):
    assert path_literals(source)


@pytest.mark.parametrize("module", sorted((ROOT / "analysis").glob("*.py")), ids=lambda p: p.name)
def test_no_analysis_module_names_a_path(module):
    """Only the registry writes paths; modules receive them from the runner."""
    if module.name == "registry.py":
        return
    tree = ast.parse(module.read_text())
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    literals = [(n.lineno, n.value) for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) not in docstrings
                and isinstance(n.value, str) and _FILE_LITERAL.search(n.value)]
    literals += [(n.lineno, "__file__") for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "__file__"]
    assert literals == [], f"{module.name} names paths itself: {literals}"


# ------------------------------------------------------------------ arrows point one way
def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _project_modules() -> dict[str, Path]:
    modules = {}
    for package in ("analysis", "paperbuild", "data"):
        for path in (ROOT / package).rglob("*.py"):
            dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules[dotted.removesuffix(".__init__")] = path
    return modules


@pytest.mark.parametrize("package, forbidden", [("paperbuild", "analysis"), ("data", "analysis")])
def test_imports_point_one_way(package, forbidden):
    """paperbuild/ knows nothing of this paper; the synthetic instrument shares no code with analysis/."""
    for dotted, path in _project_modules().items():
        if dotted.split(".")[0] == package:
            bad = sorted(m for m in _imports(path) if m.split(".")[0] == forbidden)
            assert not bad, f"{dotted} imports {bad}"


def test_no_import_cycle():
    modules = _project_modules()
    graph = {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(nxt):] + [nxt])
                                     if nxt in trail else f"import cycle through {nxt}")
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


# ------------------------------------------------------------------ readable for the next engineer
def _public_functions(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            yield node


def docstring_problems(path: Path) -> list[str]:
    """Public functions without a numpydoc docstring: a Parameters section when they take
    arguments, a Returns section when they return a value."""
    found = []
    for node in _public_functions(path):
        doc = ast.get_docstring(node) or ""
        args = [a.arg for a in node.args.args + node.args.kwonlyargs] + \
            ([node.args.vararg.arg] if node.args.vararg else [])
        returns = node.returns is not None and not (isinstance(node.returns, ast.Constant) and node.returns.value is None)
        if not doc:
            found.append(f"{node.name}: no docstring")
        elif args and "Parameters\n" not in doc:
            found.append(f"{node.name}: no Parameters section")
        elif returns and "Returns\n" not in doc and "Yields\n" not in doc:
            found.append(f"{node.name}: no Returns section")
    return found


@pytest.mark.parametrize("module", sorted((ROOT / "paperbuild").glob("*.py")) + sorted((ROOT / "analysis").glob("*.py")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_public_functions_have_numpydoc_docstrings(module):
    assert docstring_problems(module) == []


@pytest.mark.parametrize("module", sorted(_project_modules().values()), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_import_scan_agrees_with_the_parser(module):
    """The fast line scan that makes steps stale finds every project import ast finds."""
    from paperbuild.step import PROJECT_PACKAGES, _imported

    parsed = {m for m in _imports(module) if m.split(".")[0] in PROJECT_PACKAGES}
    assert parsed <= set(_imported(module))


def test_library_versions_match_the_installed_metadata():
    """The quick version lookup (dist-info folder names) agrees with importlib.metadata."""
    from importlib import metadata

    from paperbuild.step import library_versions

    names = tuple(sorted({lib for step in STEPS for lib in step.libraries} | {"doit", "typst", "no-such-dist"}))
    expected = {}
    for name in names:
        try:
            expected[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            expected[name] = "absent"
    assert library_versions(names) == expected

"""The synthetic instrument: overrides, determinism, and the committed raw tree."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import yaml

from data.synth.truth import load_truth, merge
from paperbuild.manifest import read_manifest
from tests.conftest import ROOT


def test_merge_replaces_only_given_keys():
    """An override changes the keys it names and keeps the rest."""
    base = {"echem": {"cycles": 535, "ce_floor_after_100": 99.7}, "seed": 1}
    merged = merge(base, {"echem": {"cycles": 450}})
    assert merged == {"echem": {"cycles": 450, "ce_floor_after_100": 99.7}, "seed": 1}


def test_merge_rejects_unknown_key():
    """A misspelt override key is an error, not silently ignored, printed without quotes."""
    with pytest.raises(KeyError, match="echem.cycels") as caught:
        merge({"echem": {"cycles": 535}}, {"echem": {"cycels": 450}})
    assert str(caught.value) == "unknown key echem.cycels (did you mean echem.cycles?)"


@pytest.mark.parametrize("key", ["cycles", "ce_floor_after_100", "ce_floor_after_400"])
def test_required_truth_keys_exist(key):
    """design.md's overridable keys are present in truth.yaml."""
    assert key in load_truth()["echem"]


LIBRARY_WRITTEN = (".hspy", ".tif", ".msa")  # their headers carry library versions


def _content(path):
    """Data and calibrations of a file written through HyperSpy/RosettaSciIO."""
    from analysis.em_io import load

    signal = load(path)
    axes = [(a.name, str(a.units), round(a.scale, 9), round(a.offset, 9), a.size) for a in signal.axes_manager._axes]
    return signal.data, axes


def test_committed_raw_tree_is_what_the_synthetic_instrument_writes(raw_tree):
    """data/raw holds the same files as data.synth writes from truth.yaml: byte for byte
    where our own writers made them, same data and calibrations where a library did."""
    import numpy as np

    committed, fresh = read_manifest(ROOT / "data" / "raw"), read_manifest(raw_tree)
    assert sorted(committed) == sorted(fresh)
    for rel, digest in committed.items():
        if rel.endswith(LIBRARY_WRITTEN):
            (a, axes_a), (b, axes_b) = _content(ROOT / "data" / "raw" / rel), _content(raw_tree / rel)
            np.testing.assert_array_equal(a, b, err_msg=rel)
            assert axes_a == axes_b, rel
        else:
            assert digest == fresh[rel], rel


def test_synthetic_instrument_writes_byte_identical_trees(raw_tree, tmp_path):
    """Two runs from the same truth write the same files, byte for byte: the .hspy files
    too (HyperSpy stamps each save with the wall-clock time; the writer fixes it)."""
    from tests.conftest import make_tree

    again = make_tree(tmp_path / "again")
    files = sorted(p.relative_to(raw_tree).as_posix() for p in raw_tree.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again).as_posix() for p in again.rglob("*") if p.is_file())
    differ = [rel for rel in files if (raw_tree / rel).read_bytes() != (again / rel).read_bytes()]
    assert not differ, differ


def test_command_line_writes_tree_from_override(tmp_path):
    """`python -m data.synth --truth F --out D` honours F and writes a manifest."""
    override = tmp_path / "truth.yaml"
    override.write_text(yaml.safe_dump({"echem": {"cycles": 420}}))
    out = tmp_path / "raw"
    result = subprocess.run([sys.executable, "-m", "data.synth", "--truth", str(override), "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (out / "MANIFEST.sha256").is_file()
    assert "echem/thin_film_cell.mpt" in read_manifest(out)


def test_command_line_reports_unknown_override_key(tmp_path):
    """A bad override file fails with its name and the key."""
    override = tmp_path / "bad.yaml"
    override.write_text("echem: {cycels: 3}\n")
    result = subprocess.run([sys.executable, "-m", "data.synth", "--truth", str(override), "--out", str(tmp_path / "o")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr == f"data.synth: error: {override}: unknown key echem.cycels (did you mean echem.cycles?)\n"


# ------------------------------------------------------------ independence from analysis/
SYNTH = ROOT / "data" / "synth"
PROJECT_PACKAGES = ("analysis", "data", "paperbuild")


def _imported_modules(path, module):
    """Absolute names of the modules a source file imports, at any depth (function-level too)."""
    import ast

    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: climb from the importing module's package
                parts = package.split(".")
                anchor = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{anchor}.{base}".rstrip(".") if base else anchor
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return names


def _source(module):
    """The project file defining ``module``, or None (a library, or a name that is not a module)."""
    path = ROOT.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_analysis(module):
    return module == "analysis" or module.startswith("analysis.")


def test_synthetic_instrument_imports_nothing_from_analysis():
    """No module under data/synth imports analysis (design.md: the synthetic twin shares
    no code with the analysis, so an analysis bug cannot confirm itself)."""
    offenders = [f"{path.relative_to(ROOT)}: {name}"
                 for path in sorted(SYNTH.rglob("*.py"))
                 for name in _imported_modules(path, ".".join(path.relative_to(ROOT).with_suffix("").parts))
                 if _is_analysis(name)]
    assert not offenders, offenders


def test_synthetic_instrument_reaches_analysis_through_no_other_module():
    """Following every project module data/synth imports (paperbuild, ...), transitively,
    never arrives at analysis."""
    start = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in sorted(SYNTH.rglob("*.py"))]
    parents = {name: None for name in start}
    queue = list(start)
    while queue:
        module = queue.pop()
        path = _source(module)
        if path is None:
            continue
        for name in _imported_modules(path, module):
            if name.split(".")[0] in PROJECT_PACKAGES and name not in parents:
                parents[name] = module
                queue.append(name)
    reached = sorted(name for name in parents if _is_analysis(name))
    chains = []
    for name in reached:
        chain = [name]
        while parents[chain[-1]] is not None:
            chain.append(parents[chain[-1]])
        chains.append(" <- ".join(chain))
    assert not chains, chains


def test_importing_the_synthetic_instrument_loads_no_analysis_module():
    """At run time too: importing every data.synth module leaves analysis unimported."""
    modules = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in sorted(SYNTH.glob("*.py"))
               if p.name != "__main__.py"]
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m == 'analysis' or m.startswith('analysis.')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_import_scan_sees_function_level_and_relative_imports(tmp_path):
    """The scan catches the imports that used to be there (inside functions), plain
    `import analysis...`, and resolves relative imports to the modules they name, so the
    independence tests can fail."""
    source = tmp_path / "tree.py"
    source.write_text("def f():\n    from analysis.xrd import powder_reflections\n"
                      "def g():\n    import analysis.em_io as io\n"
                      "from . import lattice\nfrom ..synth import powder\n", encoding="utf-8")
    names = _imported_modules(source, "data.synth.tree")
    assert {"analysis.xrd", "analysis.em_io", "data.synth.lattice", "data.synth.powder"} <= names
    assert any(_is_analysis(name) for name in names)


# ------------------------------------------------------------ the synthetic crystallography
def _phases():
    return yaml.safe_load((ROOT / "data" / "external" / "phases.yaml").read_text(encoding="utf-8"))


def _li2co3():
    return yaml.safe_load((ROOT / "data" / "external" / "li2co3_structure.yaml").read_text(encoding="utf-8"))


def _monoclinic_d(cell, h, k, l):
    """Textbook monoclinic (unique axis b) spacing:
    1/d² = [h²/a² + k² sin²β / b² + l²/c² − 2hl cos β / (ac)] / sin²β."""
    import math

    a, b, c, beta = cell["a"], cell["b"], cell["c"], math.radians(cell["beta"])
    inv = (h * h / a**2 + k * k * math.sin(beta) ** 2 / b**2 + l * l / c**2
           - 2 * h * l * math.cos(beta) / (a * c)) / math.sin(beta) ** 2
    return 1 / math.sqrt(inv)


def test_fringe_spacings_match_textbook_formulas():
    """Cubic a/√(h²+k²+l²), hexagonal and orthorhombic closed forms, against the synth's
    metric-tensor spacings for every phase the HRTEM model draws."""
    import math

    from data.synth.lattice import fringe_spacings

    phases = _phases()
    spacings = fringe_spacings(["Li", "Li2O", "Li3N", "Li3PO4"])
    li, li2o, li3n, li3po4 = (phases[p]["cell"] for p in ("Li", "Li2O", "Li3N", "Li3PO4"))
    assert phases["Li"]["reflections"][:2] == [[1, 1, 0], [2, 0, 0]]
    assert spacings["Li"] == pytest.approx([li["a"] / math.sqrt(2), li["a"] / 2], rel=1e-12)
    assert spacings["Li"][0] == pytest.approx(2.4819, abs=1e-4)  # bcc Li (110), a = 3.510 Å
    assert spacings["Li2O"] == pytest.approx([li2o["a"] / math.sqrt(3), li2o["a"] / 2, li2o["a"] / math.sqrt(8)],
                                             rel=1e-12)

    def hexagonal(h, k, l):
        return 1 / math.sqrt(4 / 3 * (h * h + h * k + k * k) / li3n["a"] ** 2 + l * l / li3n["c"] ** 2)

    def orthorhombic(h, k, l):
        return 1 / math.sqrt((h / li3po4["a"]) ** 2 + (k / li3po4["b"]) ** 2 + (l / li3po4["c"]) ** 2)

    assert spacings["Li3N"] == pytest.approx([hexagonal(*hkl) for hkl in phases["Li3N"]["reflections"]], rel=1e-12)
    assert spacings["Li3PO4"] == pytest.approx([orthorhombic(*hkl) for hkl in phases["Li3PO4"]["reflections"]],
                                               rel=1e-12)


@pytest.mark.parametrize("hkl", [(1, 1, 0), (0, 0, 2), (2, 0, -2), (2, 0, 2), (1, 1, -1), (3, 1, -1)])
def test_monoclinic_spacing_matches_textbook_formula(hkl):
    """Li2CO3 is monoclinic (β = 114.83°): the metric tensor must reproduce the closed form,
    including the sign of the h·l cross term that tells (2 0 -2) from (2 0 2)."""
    from data.synth.lattice import d_spacing

    cell = _li2co3()["cell"]
    assert d_spacing(cell, hkl) == pytest.approx(_monoclinic_d(cell, *hkl), rel=1e-12)


@pytest.fixture(scope="module")
def li2co3_lines():
    from data.synth.powder import powder_lines, read_structure

    return powder_lines(read_structure(), 1.54178, 71.0)


def test_li2co3_cell_expands_to_four_formula_units():
    """C2/c with Li and O2 on general (8f) and C and O1 on special (4e) positions gives
    Li8 C4 O12, and the same atoms ASE places from the space group."""
    from collections import Counter

    import numpy as np
    from ase.spacegroup import crystal

    from data.synth.powder import expand_sites

    spec = _li2co3()
    atoms = expand_sites(spec["sites"], spec["space_group"])
    assert Counter(symbol for symbol, _ in atoms) == {"Li": 8, "C": 4, "O": 12}
    reference = crystal([s[0] for s in spec["sites"]], [tuple(s[1:]) for s in spec["sites"]],
                        spacegroup=spec["space_group"], cellpar=[spec["cell"][k] for k in
                                                                  ("a", "b", "c", "alpha", "beta", "gamma")])
    for symbol, position in atoms:
        gaps = [np.abs((position - other + 0.5) % 1.0 - 0.5).max()
                for s, other in zip(reference.get_chemical_symbols(), reference.get_scaled_positions()) if s == symbol]
        assert min(gaps) < 1e-6, (symbol, position)


def test_li2co3_powder_lines_obey_the_physics(li2co3_lines):
    """Positions from the monoclinic formula and Bragg's law; C-centring (h+k odd) and the
    c glide (h0l, l odd) absent; multiplicities of 2/m; the strongest line is 1."""
    import math

    cell = _li2co3()["cell"]
    assert max(line.intensity for line in li2co3_lines) == 1.0
    assert [line.two_theta_deg for line in li2co3_lines] == sorted(line.two_theta_deg for line in li2co3_lines)
    for line in li2co3_lines:
        h, k, l = line.hkl
        assert line.d_A == pytest.approx(_monoclinic_d(cell, h, k, l), abs=5.1e-5)  # lines sit at d to 1e-4 Å
        assert line.two_theta_deg == pytest.approx(2 * math.degrees(math.asin(1.54178 / (2 * line.d_A))), abs=1e-9)
        assert (h + k) % 2 == 0, line
        assert not (k == 0 and l % 2), line
    by_hkl = {line.hkl: line for line in li2co3_lines}
    assert by_hkl[(1, 1, 0)].multiplicity == 4 and by_hkl[(0, 0, 2)].multiplicity == 2
    assert by_hkl[(0, 0, 2)].two_theta_deg == pytest.approx(31.818, abs=2e-3)
    assert (0, 0, 1) not in by_hkl and (1, 0, 0) not in by_hkl


def test_li2co3_intensities_match_an_independent_structure_factor(li2co3_lines):
    """Relative intensities against a structure factor computed here from ASE's expansion
    of the cited structure, xraydb form factors, the multiplicity and Lorentz-polarisation."""
    import numpy as np
    import xraydb
    from ase.spacegroup import crystal

    spec = _li2co3()
    cell = spec["cell"]
    atoms = crystal([s[0] for s in spec["sites"]], [tuple(s[1:]) for s in spec["sites"]],
                    spacegroup=spec["space_group"],
                    cellpar=[cell[k] for k in ("a", "b", "c", "alpha", "beta", "gamma")])
    positions, symbols = atoms.get_scaled_positions(), atoms.get_chemical_symbols()

    def intensity(hkl, multiplicity):
        d = _monoclinic_d(cell, *hkl)
        s = 1 / (2 * d)
        f = np.array([xraydb.f0(symbol, s)[0] for symbol in symbols])
        structure = np.sum(f * np.exp(2j * np.pi * positions @ np.array(hkl)))
        theta = np.arcsin(1.54178 / (2 * d))
        return multiplicity * abs(structure) ** 2 * (1 + np.cos(2 * theta) ** 2) / (np.sin(theta) ** 2 * np.cos(theta))

    by_hkl = {line.hkl: line for line in li2co3_lines}
    checks = {(1, 1, 0): 4, (2, 0, -2): 2, (1, 1, 1): 4, (0, 2, 0): 2, (1, 1, -2): 4}
    reference = intensity((0, 0, 2), 2)
    for hkl, multiplicity in checks.items():
        assert by_hkl[hkl].multiplicity == multiplicity, hkl
        assert by_hkl[hkl].intensity == pytest.approx(intensity(hkl, multiplicity) / reference, rel=1e-3), hkl


# ------------------------------------------------------------------ real-sized data
def test_real_size_is_four_gib_of_eds_counts_and_full_hrtem_frames():
    from data.synth.truth import sizes

    assert sizes() == ["paper", "real"]
    eds, hrtem = load_truth(size="real")["eds"], load_truth(size="real")["hrtem"]
    rows, cols = eds["map_shape"]
    assert rows * cols * eds["map_channels"] * 2 >= 4 * 2**30 and eds["map_compression"] is None
    assert (hrtem["rows"], hrtem["columns"]) == (4096, 4096)
    assert load_truth() == load_truth(size="paper") and load_truth()["eds"]["map_shape"] == [48, 64]


def test_an_unknown_size_is_refused_on_the_command_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "data.synth", "--size", "huge", "--out", str(tmp_path / "o")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and not (tmp_path / "o").exists()
    assert "argument --size: invalid choice: 'huge' (choose from 'paper', 'real')" in result.stderr


def test_the_map_is_the_same_whatever_blocks_generate_it(monkeypatch):
    from data.synth import microscope
    from data.synth.hyperspy_api import hyperspy_api

    hyperspy_api()  # exspy's line energies, imported quietly as the writer does
    cfg = dict(load_truth()["eds"], map_shape=[12, 40], map_channels=256)
    whole = microscope.eds_map(cfg, 7).compute()
    monkeypatch.setattr(microscope, "MAP_BLOCK_BYTES", 40 * 256 * 2 * 5)   # 5 rows a block: 5 + 5 + 2
    blocks = microscope.eds_map(cfg, 7)
    assert blocks.chunks[0] == (5, 5, 2)
    assert whole.dtype == np.uint16 and np.array_equal(blocks.compute(), whole)
    assert not np.array_equal(microscope.eds_map(cfg, 8).compute(), whole)


def test_a_full_frame_widens_the_hrtem_image_with_lipon():
    from data.synth import hrtem

    cfg = load_truth()["hrtem"]
    thicknesses = np.array([[21.0, 12.0, 44.0]])
    needed = hrtem.field_columns(thicknesses, cfg)
    assert needed % 8 == 0 and needed * cfg["pixel_A"] / 10 >= 12 + 77 + cfg["lipon_nm"]
    assert hrtem.field_columns(thicknesses, dict(cfg, columns=4096)) == 4096
    assert hrtem.field_columns(thicknesses, dict(cfg, columns=16)) == needed   # never narrower than the layers

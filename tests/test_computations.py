"""DFT/AIMD: NEB barriers between images, POSCAR composition, bad tables and files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis import computations, computations_figures
from analysis.registry import STEPS
from data.synth.dft import neb_profile
from paperbuild.errors import InputError
from paperbuild.paths import Roots
from paperbuild.runner import Declared
from tests.conftest import assert_composed_svgs, make_tree

STEP = next(s for s in STEPS if s.name == "computations")
PARAMS = STEP.param_values()


def _run(raw: Path, build: Path):
    """The step's ``run`` as the runner calls it; also returns the inputs it was handed."""
    roots = Roots(raw=raw, build=build)
    inputs = STEP.resolve_inputs(roots)
    outputs = {role: roots.build / rel for role, rel in STEP.outputs.items()}
    for path in outputs.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    numbers = computations.run(Declared(STEP.name, "input", inputs), Declared(STEP.name, "output", outputs), **PARAMS)
    return numbers, inputs


def test_barrier_found_between_images():
    """A saddle between two images is found from the forces, not just the highest image."""
    coordinate, energy, force = neb_profile(0.6, 0.43, 0.0, 7, 1.755)
    assert energy.max() < 0.6 - 0.01  # the images alone underestimate it
    assert computations.barrier_eV(coordinate, energy, force, PARAMS["barrier_points"]) == pytest.approx(0.6, abs=0.005)


def test_formula_per_p():
    """Counts become the paper's per-P formula."""
    ratios, text = computations.formula_per_p({"Li": 46, "P": 16, "O": 55, "N": 5})
    assert text == "Li2.88PO3.44N0.31"
    np.testing.assert_allclose(ratios, [2.875, 3.4375, 0.3125])


def test_numbers_reproduce_published_values(default_build, ledger):
    """Barriers, atom counts and stoichiometry within the paper's tolerances."""
    from paperbuild.numbers import load

    numbers = load(default_build / "numbers.json")
    for key in ("dft.barrier_p_eV", "dft.barrier_n_eV", "dft.barrier_o_eV", "aimd.atoms_li", "aimd.atoms_p",
                "aimd.atoms_o", "aimd.atoms_n", "dft.formation_li3po4_eV", "dft.formation_li3p_eV"):
        assert abs(numbers[key]["value"] - ledger[key]["published"]) <= ledger[key]["tolerance"], key
    np.testing.assert_allclose(numbers["aimd.stoichiometry"]["value"], ledger["aimd.stoichiometry"]["published"],
                               atol=ledger["aimd.stoichiometry"]["tolerance"])


def test_barriers_follow_other_truth(tmp_path):
    """Barriers of 0.35 / 0.60 / 0.95 eV in the raw data are measured as such."""
    raw = make_tree(tmp_path / "raw", {"dft": {"barriers_eV": {"P": 0.35, "N": 0.60, "O": 0.95}}})
    numbers = {n.key: n.value for n in _run(raw, tmp_path / "out")[0]}
    assert [numbers[f"dft.barrier_{s}_eV"] for s in "pno"] == pytest.approx([0.35, 0.60, 0.95], abs=0.01)


def test_neb_table_with_two_images_is_refused(tmp_path):
    """A barrier needs at least three images."""
    path = tmp_path / "neb.dat"
    path.write_text("0 0.0 0.0 0.0 0\n1 1.7 0.0 0.0 1\n")
    with pytest.raises(InputError, match="2 image"):
        computations.read_neb(path)


def test_poscar_counts_must_match_coordinates(raw_tree, tmp_path):
    """A POSCAR whose counts line promises more atoms than it lists is named."""
    text = (raw_tree / STEP.inputs["poscar"].path).read_text().splitlines()
    text[6] = text[6].replace("46", "47")
    path = tmp_path / "POSCAR"
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(InputError, match="declares 123 atoms but 122 coordinate lines"):
        computations.read_poscar(path)


def test_each_number_records_only_its_own_input(raw_tree, tmp_path):
    """A barrier depends on its NEB file alone, the cell numbers on the POSCAR, the cited
    formation energies on the external file: editing one reruns the step but the report
    can say which numbers it could have moved."""
    numbers, inputs = _run(raw_tree, tmp_path / "out")
    derived = {n.key: n.derived_from for n in numbers}
    for species in computations.SPECIES:
        assert derived[f"dft.barrier_{species.lower()}_eV"] == (inputs[f"neb_{species}"],)
    for key in ("aimd.atoms_li", "aimd.atoms_p", "aimd.atoms_o", "aimd.atoms_n", "aimd.stoichiometry"):
        assert derived[key] == (inputs["poscar"],)
    for key in ("dft.formation_li3po4_eV", "dft.formation_li3p_eV"):
        assert derived[key] == (inputs["formation_energies"],)


def test_drawn_curve_passes_through_the_images():
    """The Hermite curve of Fig 5B meets every image and spans the band."""
    coordinate, energy, force = neb_profile(0.6, 0.43, 0.0, 7, 1.755)
    images, curves = computations.neb_rows({"P": computations.NebPath(coordinate, energy, force)},
                                           PARAMS["curve_points"])
    assert len(images) == 7 and len(curves) == PARAMS["curve_points"]
    x = np.array([row[1] for row in curves])
    e = np.array([row[2] for row in curves])
    assert x[0] == coordinate[0] and x[-1] == coordinate[-1]
    assert np.interp(coordinate, x, e) == pytest.approx(energy, abs=2e-3)


def test_cell_problem_accepts_a_real_cell_and_names_what_is_wrong():
    """bcc Li passes; a duplicated atom, an atom beside its own periodic image, a flat
    cell and a NaN position are each refused with what is wrong."""
    from ase import Atoms
    from ase.build import bulk

    limit = computations.MIN_INTERATOMIC_A
    li = bulk("Li", "bcc", a=3.44, cubic=True)
    assert computations.cell_problem(li, limit) is None
    twice = li + li[:1]
    assert "atoms 1 (Li) and 3 (Li) are 0.000 Å apart" in computations.cell_problem(twice, limit)
    thin = Atoms("Li", cell=[0.3, 5.0, 5.0], pbc=True)
    assert "atom 1 (Li) is 0.300 Å from its own periodic image" in computations.cell_problem(thin, limit)
    flat = Atoms("Li2", positions=[[0, 0, 0], [1, 1, 0]], cell=[[3, 0, 0], [0, 3, 0], [3, 3, 0]], pbc=True)
    assert computations.cell_problem(flat, limit).startswith("degenerate cell: its volume is 0")
    spoiled = li.copy()
    spoiled.positions[1, 2] = np.nan
    assert computations.cell_problem(spoiled, limit).startswith("atom 2 (Li) has a non-finite position")


def test_minimum_distance_is_below_every_bond_and_above_rounding():
    """The threshold lies under the shortest chemical bond (H2, 0.74 Å) and the shortest
    distance in the paper's own cell, so no real structure trips it."""
    from ase.build import molecule
    from ase.io import read

    # distances with NumPy: ASE's own distance helpers reshape arrays in place (deprecated in NumPy 2.5)
    h2 = molecule("H2").positions
    assert computations.MIN_INTERATOMIC_A < np.linalg.norm(h2[0] - h2[1]) < 0.75
    from paperbuild.paths import PROJECT_ROOT

    cell = read(PROJECT_ROOT / "data/raw" / STEP.inputs["poscar"].path, format="vasp")
    fractional = cell.get_scaled_positions()
    delta = fractional[:, None, :] - fractional[None, :, :]
    delta -= np.round(delta)  # minimum image (the AIMD cell is cubic)
    distances = np.linalg.norm(delta @ cell.cell.array, axis=-1)[np.triu_indices(len(cell), 1)]
    assert distances.min() > 2 * computations.MIN_INTERATOMIC_A


def test_formation_energies_must_be_finite_numbers(tmp_path):
    path = tmp_path / "formation.yaml"
    path.write_text("Li3PO4: {formation_energy_eV_per_atom: .nan}\nLi3P: {formation_energy_eV_per_atom: -0.7}\n")
    with pytest.raises(InputError, match="Li3PO4.formation_energy_eV_per_atom is nan"):
        computations.read_formation_energies(path, computations.CITED_COMPOUNDS)
    path.write_text("Li3PO4: {formation_energy_eV_per_atom: -2.8}\n")
    with pytest.raises(InputError, match="no numeric Li3P.formation_energy_eV_per_atom entry"):
        computations.read_formation_energies(path, computations.CITED_COMPOUNDS)


# ------------------------------------------------------------------ Figures 5 and S7
FIG_STEP = next(s for s in STEPS if s.name == "computations_figures")
LI_A = 3.51  # a bcc lattice parameter for the geometry tests (the figure reads the cited one)


def _images_table(paths: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
    """An ``neb_images`` table as the computations step writes it, from forward-model paths."""
    rows = [(s, x, e, f) for s, (cs, es, fs) in paths.items() for x, e, f in zip(cs, es, fs)]
    return np.array(rows, dtype=[("species", "U2"), ("coordinate_A", float), ("energy_eV", float),
                                 ("force_eV_per_A", float)])


def test_hop_length_is_the_length_of_the_neb_path():
    """Fig 5A's hop is the path 5B plots: first to last image, shared by every species."""
    hop = LI_A / 2
    table = _images_table({s: neb_profile(0.5, 0.5, 0.0, 7, hop) for s in computations_figures.SPECIES})
    assert computations_figures.hop_length_A(table) == pytest.approx(hop)
    longer = _images_table({"P": neb_profile(0.5, 0.5, 0.0, 7, hop), "O": neb_profile(1.0, 0.5, 0.0, 7, hop * 1.4)})
    with pytest.raises(ValueError, match="differ in length"):
        computations_figures.hop_length_A(longer)


def test_octahedral_sites_are_the_half_lattice_points_between_atoms():
    """One cell's z = 0 face holds four edge midpoints and the face centre, no atom."""
    sites = computations_figures.octahedral_sites(LI_A, 1)
    expected = np.array([(0, 0.5), (0.5, 0), (0.5, 0.5), (0.5, 1), (1, 0.5)]) * LI_A
    np.testing.assert_allclose(sites[np.lexsort(sites.T[::-1])], expected)


@pytest.mark.parametrize("length_over_a", [0.5, 2 ** -0.5, 1.0])
def test_hop_joins_two_octahedral_sites_at_the_path_length(length_over_a):
    """The drawn arrow is exactly as long as the NEB path and ends on a site: a/2 (the
    computed hop) reaches the next face centre, a/sqrt(2) and a other sites."""
    length = length_over_a * LI_A
    start, end = computations_figures.hop_in_layer(LI_A, length)
    sites = computations_figures.octahedral_sites(LI_A, computations_figures.SKETCH_CELLS)
    assert np.linalg.norm(end - start) == pytest.approx(length)
    for point in (start, end):
        assert np.min(np.linalg.norm(sites - point, axis=1)) < 1e-9
    if length_over_a == 0.5:
        assert np.all(np.rint(end / (LI_A / 2)) % 2 == 1)  # both half-indices odd: a face centre


def test_hop_that_joins_no_two_sites_is_refused():
    """A path length no site pair has cannot be drawn as a hop between sites."""
    with pytest.raises(ValueError, match="joins no two octahedral sites"):
        computations_figures.hop_in_layer(LI_A, 0.3 * LI_A)
    with pytest.raises(ValueError, match="must be positive"):
        computations_figures.hop_in_layer(LI_A, 0.0)


@pytest.mark.slow
def test_figure_step_writes_one_composed_svg_per_figure(raw_tree, tmp_path):
    """Figures 5 and S7 are each one SVG at a Cell Press column width, no taller than a page allows."""

    from analysis import computations_figures as step_module

    _run(raw_tree, tmp_path)
    roots = Roots(raw=raw_tree, build=tmp_path)
    outputs = {role: tmp_path / rel for role, rel in FIG_STEP.outputs.items()}
    assert set(outputs) == {"fig5", "figS7"}
    step_module.run(Declared(FIG_STEP.name, "input", FIG_STEP.resolve_inputs(roots)),
                    Declared(FIG_STEP.name, "output", outputs))
    assert_composed_svgs(outputs.values())

"""DFT/AIMD: NEB barriers between images, POSCAR composition, bad tables and files."""
from __future__ import annotations

import numpy as np
import pytest

from analysis import computations
from data.synth.dft import neb_profile
from paperbuild.errors import InputError
from tests.conftest import make_tree


def test_barrier_found_between_images():
    """A saddle between two images is found from the forces, not just the highest image."""
    coordinate, energy, force = neb_profile(0.6, 0.43, 0.0, 7, 1.755)
    assert energy.max() < 0.6 - 0.01  # the images alone underestimate it
    assert computations.barrier_eV(coordinate, energy, force) == pytest.approx(0.6, abs=0.005)


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
    numbers = {n.key: n.value for n in computations.run(raw, tmp_path / "out")}
    assert [numbers[f"dft.barrier_{s}_eV"] for s in "pno"] == pytest.approx([0.35, 0.60, 0.95], abs=0.01)


def test_neb_table_with_two_images_is_refused(tmp_path):
    """A barrier needs at least three images."""
    path = tmp_path / "neb.dat"
    path.write_text("0 0.0 0.0 0.0 0\n1 1.7 0.0 0.0 1\n")
    with pytest.raises(InputError, match="2 image"):
        computations.read_neb(path)


def test_poscar_counts_must_match_coordinates(raw_tree, tmp_path):
    """A POSCAR whose counts line promises more atoms than it lists is named."""
    text = (raw_tree / computations.POSCAR).read_text().splitlines()
    text[6] = text[6].replace("46", "47")
    path = tmp_path / "POSCAR"
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(InputError, match="declares 123 atoms but 122 coordinate lines"):
        computations.read_poscar(path)

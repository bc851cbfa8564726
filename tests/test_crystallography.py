"""Reference reflections computed from the lattices, and the ambiguities between phases."""
from __future__ import annotations

import pytest

from analysis import crystallography
from analysis.registry import PHASES
from paperbuild.paths import PROJECT_ROOT

PHASES_FILE = PROJECT_ROOT / PHASES.path  # the file the hrtem step declares as its "phases" input


@pytest.fixture(scope="module")
def refs():
    return {r.label: r for r in crystallography.reflections(crystallography.load_phases(PHASES_FILE))}


@pytest.mark.parametrize("label, d", [
    ("Li (110)", 2.48), ("Li2O (111)", 2.66), ("Li3N (001)", 3.875), ("Li3N (101)", 2.45), ("Li3PO4 (210)", 2.64),
])
def test_d_spacings_match_the_paper_references(refs, label, d):
    """Spacings computed from the lattices agree with the values the paper's assignments use."""
    assert refs[label].d_A == pytest.approx(d, abs=0.01)


def test_ambiguous_pairs_are_the_known_ones(refs):
    """At a local FFT's resolution exactly the pairs named in paper-spec are confusable."""
    pairs = {frozenset((a.label, b.label)) for a, b in
             crystallography.ambiguous_pairs(list(refs.values()), 1 / (128 * 0.75) * 2)}
    assert pairs == {frozenset(p) for p in [("Li (110)", "Li3N (101)"), ("Li2O (111)", "Li3PO4 (210)"),
                                            ("Li3N (001)", "Li3PO4 (110)"), ("Li3N (001)", "Li3PO4 (101)")]}


def test_unresolved_reflections_at_a_coarse_pixel(refs):
    """With 1 Å pixels, reflections finer than 2 Å cannot be sampled."""
    coarse = {r.label for r in crystallography.unresolved(list(refs.values()), 1.0)}
    assert coarse == {"Li (200)", "Li2O (220)", "Li3N (110)"}


def test_reflections_follow_the_phases_handed_in():
    """The module reads no file of its own: a lattice handed in is the lattice used."""
    phases = {"X": {"cell": {"a": 4.0, "b": 4.0, "c": 4.0, "alpha": 90, "beta": 90, "gamma": 90},
                    "reflections": [[1, 0, 0], [1, 1, 1]]}}
    found = crystallography.reflections(phases, names=("X",))
    assert [r.label for r in found] == ["X (100)", "X (111)"]
    assert [r.d_A for r in found] == pytest.approx([4.0, 4.0 / 3 ** 0.5])


def test_load_phases_needs_the_declared_file():
    """No default file: the caller (a step) passes the path it declared."""
    with pytest.raises(TypeError):
        crystallography.load_phases()  # type: ignore[call-arg]
    assert set(crystallography.INTERPHASE_PHASES) <= set(crystallography.load_phases(PHASES_FILE))

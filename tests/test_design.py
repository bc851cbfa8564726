"""Cell-design arithmetic with units, its rounding range, deposition times and tables."""
from __future__ import annotations

import pytest

from analysis import design
from analysis.registry import STEPS
from paperbuild.errors import InputError
from paperbuild.paths import Roots

STEP = next(step for step in STEPS if step.name == "design")


def _run_step(build, **replaced):
    """The design step's ``run`` on the cited files (some inputs replaced)."""
    roots = Roots(raw=build, build=build)
    outputs = {role: roots.build / rel for role, rel in STEP.outputs.items()}
    for path in outputs.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    return design.run(dict(STEP.resolve_inputs(roots), **replaced), outputs, **STEP.param_values())


@pytest.mark.parametrize("value, half", [(0.013, 0.0005), (570, 0.5), (4.9, 0.05), (3861, 0.5), (0.534, 0.0005)])
def test_half_unit_of_the_printed_digit(value, half):
    """Rounding is read from the digits as printed."""
    assert design.half_unit(value) == pytest.approx(half)


LI = {"thickness": {"value": 570, "unit": "nm"}, "area": {"value": 4.9, "unit": "mm**2"},
      "density": {"value": 0.534, "unit": "g/cm**3"}, "specific_capacity": {"value": 3861, "unit": "mA*h/g"}}
CATHODE = {"mass": {"value": 0.013, "unit": "mg"}, "specific_capacity": {"value": 147, "unit": "mA*h/g"}}


def test_li_excess_from_the_stated_inputs():
    """5.76 uAh of Li over 1.91 uAh of cathode is a 201 % excess (paper-spec's note)."""
    assert design.li_excess_pct(design._units(), LI, CATHODE) == pytest.approx(201.3, abs=0.1)


def test_rounding_range_contains_the_published_value():
    """The printed 203 % lies inside what the rounded inputs allow."""
    low, high = design.li_excess_range_pct(design._units(), LI, CATHODE)
    assert low < 201.3 < high and low < 203 < high


def test_run_surfaces_the_inconsistent_inputs(tmp_path):
    """The implied areal capacity, the LiPON deposition time and the tables come out of the
    data files; every number is derived from the design file alone."""
    returned = _run_step(tmp_path)
    numbers = {n.key: n.value for n in returned}
    assert {path.name for n in returned for path in n.derived_from} == {"cell_design.yaml"}
    assert all(n.derived_from for n in returned)
    assert numbers["cell.cathode_areal_capacity_mAh_cm2"] == pytest.approx(0.039, abs=0.0005)
    assert numbers["cell.li_excess_if_stated_areal_pct"] == pytest.approx(292, abs=1)
    assert numbers["design.lipon_time_as_printed_h"] == pytest.approx(362, abs=1)
    assert numbers["design.lipon_time_if_per_second_h"] == pytest.approx(6.0, abs=0.1)
    table = (tmp_path / "tables/table_s2_sei_conductivities.md").read_text()
    assert "| Li~3~N | 10^\u221212^ | 10^\u22124^ | [@lapp1983] |" in table and "[@cheng2020]" in table
    assert "| LiF | <\u00a010^\u221212^ | <\u00a010^\u22128^ | [@adambenveniste1969; @stoebe1967] |" in table


@pytest.mark.parametrize("printed, typeset", [
    ("1e-14", "10^\u221214^"), ("3e-6", "3\u00a0\u00d7\u00a010^\u22126^"), ("<1e-8", "<\u00a010^\u22128^"),
    ("1e4", "10^4^"), ("Ar atmosphere", "Ar atmosphere"), ("99.70", "99.70"),
])
def test_table_values_are_typeset_as_powers_of_ten(printed, typeset):
    """e-notation becomes a power of ten with a true minus; other cells pass unchanged."""
    assert design.typeset_value(printed) == typeset


def test_a_list_cell_cites_each_source():
    """A row's list of keys becomes one citation; a table without such cells keeps its source line."""
    spec = {"citation": "orig", "columns": ["A", "B", "Sources"], "rows": [["Li2O", "1e-12", ["k1", "k2"]]]}
    table = design.markdown_table(spec)
    assert "| Li~2~O | 10^\u221212^ | [@k1; @k2] |" in table and "As compiled in the original article [@orig]." in table
    plain = design.markdown_table({"citation": "orig", "columns": ["A"], "rows": [["x"]]})
    assert plain.endswith("From the original article [@orig].\n")


def test_a_broken_design_file_is_named(tmp_path):
    """A design file without its deposition entries stops the step, naming the file and key."""
    broken = tmp_path / "cell_design.yaml"
    broken.write_text("lithium_anode: {}\ncathode: {}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"cell_design\.yaml.*missing or malformed entry.*deposition"):
        _run_step(tmp_path / "build", cell_design=broken)

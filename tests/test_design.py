"""Cell-design arithmetic with units, its rounding range, deposition times and tables."""
from __future__ import annotations

import pytest

from analysis import design


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
    """The implied areal capacity, the LiPON deposition time and the tables come out of the data files."""
    numbers = {n.key: n.value for n in design.run(tmp_path, tmp_path)}
    assert numbers["cell.cathode_areal_capacity_mAh_cm2"] == pytest.approx(0.039, abs=0.0005)
    assert numbers["cell.li_excess_if_stated_areal_pct"] == pytest.approx(292, abs=1)
    assert numbers["design.lipon_time_as_printed_h"] == pytest.approx(362, abs=1)
    assert numbers["design.lipon_time_if_per_second_h"] == pytest.approx(6.0, abs=0.1)
    table = (tmp_path / "tables/table_s2_sei_conductivities.md").read_text()
    assert "| Li~3~N | 1e-12 | 1e-4 |" in table and "[@cheng2020]" in table

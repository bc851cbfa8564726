"""The number record: keys, printed text, provenance fields, merging."""
from __future__ import annotations

import json

import numpy as np
import pytest

from paperbuild.errors import NumberKeyError
from paperbuild.numbers import RECORD_FIELDS, Number, count, load, merge, quantity, write_step_numbers


def test_quantity_prints_with_unit_and_decimals():
    """Printed text carries the chosen decimals and the unit after a space."""
    number = quantity("hrtem.interphase_nm", np.float64(76.4321), "nm", 1)
    assert number.text == "76.4 nm"
    assert isinstance(number.value, float)


def test_count_is_an_integer():
    """Counts stay integers in JSON."""
    assert count("echem.cycles", np.int64(535)).value == 535


@pytest.mark.parametrize("key", ["cycles", "Echem.cycles", "echem..x", "echem.cycles!"])
def test_number_rejects_malformed_keys(key):
    """Keys look like 'technique.name'."""
    with pytest.raises(NumberKeyError):
        Number(key, 1, "", "1")


def test_quantity_rejects_non_finite():
    """A NaN never becomes a quoted number."""
    with pytest.raises(ValueError, match="nan"):
        quantity("eds.width_nm", float("nan"), "nm", 1)


def test_step_numbers_carry_provenance(tmp_path):
    """Every record has value, unit, text, step, inputs (with hashes) and code."""
    path = tmp_path / "numbers" / "s.json"
    write_step_numbers(path, "s", [count("a.b", 3)], {"a.b": {"x.mpt": "ab" * 32}}, "cd" * 32)
    record = json.loads(path.read_text())["a.b"]
    assert set(RECORD_FIELDS) <= set(record)
    assert record["inputs"] == {"x.mpt": "ab" * 32} and record["step"] == "s"


def test_merge_rejects_a_key_computed_twice(tmp_path):
    """Two steps may not both claim one number."""
    for name in ("s1", "s2"):
        write_step_numbers(tmp_path / f"{name}.json", name, [count("a.b", 1)], {"a.b": {}}, "0")
    with pytest.raises(NumberKeyError, match="a.b is computed by both s1 and s2"):
        merge([tmp_path / "s1.json", tmp_path / "s2.json"])


def test_load_reports_missing_file(tmp_path):
    """A missing numbers file says the build has not run."""
    with pytest.raises(NumberKeyError, match="has the build run"):
        load(tmp_path / "numbers.json")


@pytest.mark.parametrize("computed, reference, tolerance, expected", [
    (76.45, 76.4, 0.1, True),
    (76.51, 76.4, 0.1, False),
    (0.3, 0.1 + 0.2, 0.0, True),            # binary rounding is not a difference
    ([2.84, 3.36], [2.84, 3.35], 0.02, True),
    ([2.84, 3.40], [2.84, 3.35], 0.02, False),
    ([1.0], [1.0, 2.0], 1.0, False),
    ("C/10", "C/10", 0, True),
    ("C/10", "C/20", 0, False),
    (True, False, 1, False),
    (float("nan"), 1.0, 1.0, False),
])
def test_agree_is_the_one_comparison(computed, reference, tolerance, expected):
    """Drift, report and numdiff share one rule for 'the same number'."""
    from paperbuild.numbers import agree

    assert agree(computed, reference, tolerance)[0] is expected


def test_from_inputs_records_a_subset(tmp_path):
    """A number names the files it came from; tuples (glob inputs) flatten."""
    a, b = tmp_path / "a.dat", tmp_path / "b.dat"
    number = count("a.b", 3).from_inputs(a, (b,))
    assert number.derived_from == (a, b) and number.value == 3

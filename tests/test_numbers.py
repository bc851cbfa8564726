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
    write_step_numbers(path, "s", [count("a.b", 3)], {"x.mpt": "ab" * 32}, "cd" * 32)
    record = json.loads(path.read_text())["a.b"]
    assert set(RECORD_FIELDS) <= set(record)
    assert record["inputs"] == {"x.mpt": "ab" * 32} and record["step"] == "s"


def test_merge_rejects_a_key_computed_twice(tmp_path):
    """Two steps may not both claim one number."""
    for name in ("s1", "s2"):
        write_step_numbers(tmp_path / f"{name}.json", name, [count("a.b", 1)], {}, "0")
    with pytest.raises(NumberKeyError, match="a.b is computed by both s1 and s2"):
        merge([tmp_path / "s1.json", tmp_path / "s2.json"])


def test_load_reports_missing_file(tmp_path):
    """A missing numbers file says the build has not run."""
    with pytest.raises(NumberKeyError, match="has the build run"):
        load(tmp_path / "numbers.json")

"""The ledger: drift check both ways, accepting, malformed ledgers."""
from __future__ import annotations

import re

import pytest
import yaml

from paperbuild.errors import LedgerError
from paperbuild.ledger import accept, check_drift, default_tolerance, drift_rows, expected_text, load_ledger


def _numbers(**values):
    """Records as a step writes them: lengths to one decimal in nm, booleans as "true"/"false"."""
    def one(v):
        if isinstance(v, bool):
            return {"value": v, "text": str(v).lower(), "unit": "", "step": "xrd"}
        return {"value": v, "text": f"{v:.1f} nm", "unit": "nm", "step": "hrtem"}
    return {k.replace("_", ".", 1): one(v) for k, v in values.items()}


@pytest.fixture
def ledger_file(tmp_path):
    path = tmp_path / "ledger.yaml"
    path.write_text(yaml.safe_dump({
        "hrtem.total_nm": {"locked": 76.4, "text": "76.4 nm", "unit": "nm", "tolerance": 0.1, "published": 76.4,
                           "quoted": "Fig 2K"},
        "xrd.amorphous": {"locked": True, "text": "true", "unit": "", "tolerance": 0, "published": True},
    }))
    return path


def test_drift_passes_within_tolerance(ledger_file):
    """A number within its tolerance of the lock is not drift."""
    numbers = _numbers(hrtem_total_nm=76.45, xrd_amorphous=True)
    assert check_drift(numbers, ledger_file) == 2


def test_drift_fails_outside_tolerance_with_table(ledger_file):
    """A moved number fails with one table naming key, lock, value, difference, step."""
    numbers = _numbers(hrtem_total_nm=77.0, xrd_amorphous=False)
    with pytest.raises(LedgerError) as caught:
        check_drift(numbers, ledger_file)
    message = str(caught.value)
    assert "key" in message and "tolerance" in message and "doit accept" in message
    assert "hrtem.total_nm" in message and "+0.6" in message and "xrd.amorphous" in message


def test_drift_reports_new_and_missing_keys(ledger_file):
    """Unlocked new keys and locked keys no step computes both fail."""
    rows = drift_rows(_numbers(hrtem_total_nm=76.4, eds_width_nm=76.0), load_ledger(ledger_file))
    assert {(r["key"], r["difference"]) for r in rows} == {("eds.width_nm", "new key"), ("xrd.amorphous", "missing")}


def test_accept_rewrites_locks_and_keeps_published(ledger_file):
    """Accepting rewrites locks only; published values and quotes stay; gone keys drop."""
    changes = accept(_numbers(hrtem_total_nm=77.0, eds_width_nm=76.0), ledger_file)
    ledger = load_ledger(ledger_file)
    assert ledger["hrtem.total_nm"]["locked"] == 77.0
    assert ledger["hrtem.total_nm"]["published"] == 76.4 and ledger["hrtem.total_nm"]["quoted"] == "Fig 2K"
    assert ledger["eds.width_nm"]["tolerance"] == pytest.approx(0.05)  # "76.0 nm"
    assert "xrd.amorphous" not in ledger
    assert any(c.startswith("changed  hrtem.total_nm") for c in changes)
    assert check_drift(_numbers(hrtem_total_nm=77.0, eds_width_nm=76.0), ledger_file) == 2


def test_ledger_with_duplicate_key_is_refused(tmp_path):
    """A key given twice is an error naming the line, not a silent override."""
    path = tmp_path / "ledger.yaml"
    path.write_text("a.b:\n  locked: 1\n  tolerance: 0\na.b:\n  locked: 2\n  tolerance: 0\n")
    with pytest.raises(LedgerError, match=r"line 4: key 'a.b' appears twice"):
        load_ledger(path)


def test_ledger_with_syntax_error_names_file(tmp_path):
    """Broken YAML fails with the ledger's path."""
    path = tmp_path / "ledger.yaml"
    path.write_text("a.b:\n  locked: [1\n")
    with pytest.raises(LedgerError, match="ledger.yaml: not valid YAML"):
        load_ledger(path)


def test_ledger_entry_without_lock_is_refused(tmp_path):
    """Every entry needs a lock and a tolerance."""
    path = tmp_path / "ledger.yaml"
    path.write_text("a.b:\n  published: 3\n")
    with pytest.raises(LedgerError, match="a.b: 'locked' is missing"):
        load_ledger(path)


@pytest.mark.parametrize("text, tol", [("99.70 %", 0.005), ("76.4 nm", 0.05), ("535", 0.5), ("C/10", 0)])
def test_default_tolerance_is_half_the_last_printed_digit(text, tol):
    """New quantities may move only as far as their printed text allows."""
    assert default_tolerance(text) == pytest.approx(tol)


# ---------------------------------------------------------------- unit and printed text (issue 11)
def _record(value, text, unit="nm"):
    return {"value": value, "text": text, "unit": unit, "step": "hrtem"}


def test_drift_fails_when_the_unit_changes_even_if_the_value_agrees(ledger_file):
    """A step that now reports meV where the lock says eV must not build green."""
    numbers = {"hrtem.total_nm": _record(76.4, "76.4 meV", unit="meV"), "xrd.amorphous": _record(True, "true", "")}
    with pytest.raises(LedgerError) as caught:
        check_drift(numbers, ledger_file)
    message = str(caught.value)
    assert "hrtem.total_nm" in message and "unit nm -> meV" in message
    assert "xrd.amorphous" not in message


def test_drift_fails_when_the_printed_text_changes_and_the_value_does_not(ledger_file):
    """Same value, different printed text (more digits, decimal comma): the paper would change."""
    for text in ("76.40 nm", "76,4 nm", "76.4nm"):
        numbers = {"hrtem.total_nm": _record(76.4, text), "xrd.amorphous": _record(True, "true", "")}
        with pytest.raises(LedgerError, match=r"hrtem\.total_nm .*text changed"):
            check_drift(numbers, ledger_file)


def test_text_may_follow_a_value_that_moved_within_tolerance(ledger_file):
    """Within tolerance the last digit may change, but only to the value's own rounding."""
    moved = 76.46
    own_text = f"{moved:.1f} nm"  # the lock's format ("76.4 nm": one decimal) applied to the new value
    assert own_text != "76.4 nm"
    numbers = {"hrtem.total_nm": _record(moved, own_text), "xrd.amorphous": _record(True, "true", "")}
    assert check_drift(numbers, ledger_file) == 2
    stale = {"hrtem.total_nm": _record(moved, "76.4 nm"), "xrd.amorphous": _record(True, "true", "")}
    with pytest.raises(LedgerError, match=re.escape(f"text changed (value prints as '{own_text}')")):
        check_drift(stale, ledger_file)


def test_expected_text_reformats_every_numeral_of_the_lock():
    """Lists, formulas and negative values keep their layout; text not derived from the value stays."""
    assert expected_text("Li2.88PO3.44N0.31", [2.875, 3.4375, 0.3125], [2.871, 3.44, 0.3125]) == \
        f"Li{2.871:.2f}PO{3.44:.2f}N{0.3125:.2f}"
    assert expected_text("186 to 218 %", [185.7, 218.3], [186.6, 218.3]) == f"{186.6:.0f} to {218.3:.0f} %"
    assert expected_text("−0.45 eV", -0.449944, -0.456) == f"{-0.456:.2f} eV".replace("-", "−")
    assert expected_text("C/10", 0.1, 0.11) == "C/10"          # not the value's own formatting: must stay
    assert expected_text("76.4 nm", 76.4, 76.40000001) == "76.4 nm"  # unchanged at lock precision


def test_tolerance_zero_means_equal_to_the_stored_lock(tmp_path):
    """Locks keep 6 significant digits, so a tolerance of 0 compares the value rounded the same way."""
    value = 291.7371
    lock = float(f"{value:.6g}")
    assert lock != value
    path = tmp_path / "ledger.yaml"
    path.write_text(yaml.safe_dump({"cell.excess_pct": {"locked": lock, "text": "292 %", "unit": "%",
                                                        "tolerance": 0}}))
    assert check_drift({"cell.excess_pct": _record(value, "292 %", "%")}, path) == 1
    other = lock + 2e-3
    with pytest.raises(LedgerError, match="cell.excess_pct"):
        check_drift({"cell.excess_pct": _record(other, "292 %", "%")}, path)


def _write(tmp_path, body: str):
    path = tmp_path / "ledger.yaml"
    path.write_text(body, encoding="utf-8")
    return path


GOOD = "  locked: 1.5\n  text: 1.5 nm\n  unit: nm\n"


@pytest.mark.parametrize("tolerance, problem", [
    (".nan", "tolerance .nan is not a finite number >= 0"),
    (".inf", "tolerance .inf is not a finite number >= 0"),
    ("-.inf", "tolerance -.inf is not a finite number >= 0"),
    ("-0.1", "tolerance -0.1 is not a finite number >= 0"),
    ("'0.1'", "tolerance '0.1' is text, not a number"),
    ("1e-3", "tolerance '1e-3' is text, not a number"),
    ("null", "tolerance null is not a finite number >= 0"),
    ("", "tolerance null is not a finite number >= 0"),
    ("true", "tolerance true is not a finite number >= 0"),
    ("[0.1]", "tolerance [0.1] is not a finite number >= 0"),
])
def test_invalid_tolerance_is_refused_naming_file_and_key(tmp_path, tolerance, problem):
    """.nan or .inf would switch the check off; text, null or booleans would crash it later."""
    path = _write(tmp_path, f"a.b:\n{GOOD}  tolerance: {tolerance}\n")
    with pytest.raises(LedgerError) as caught:
        load_ledger(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert f"a.b: {problem}" in str(caught.value)


@pytest.mark.parametrize("entry, problem", [
    ("  text: 1.5 nm\n  unit: nm\n  tolerance: 0.1\n", "'locked' is missing"),
    ("  locked: 1.5\n  unit: nm\n  tolerance: 0.1\n", "'text' is missing"),
    ("  locked: 1.5\n  text: 1.5 nm\n  tolerance: 0.1\n", "'unit' is missing"),
    ("  locked: 1.5\n  text: 1.5 nm\n  unit: nm\n", "'tolerance' is missing"),
    ("  locked: null\n  text: x\n  unit: nm\n  tolerance: 0\n", "locked null is not a number, text, boolean"),
    ("  locked: .nan\n  text: x\n  unit: nm\n  tolerance: 0\n", "locked .nan is not a number, text, boolean"),
    ("  locked: {a: 1}\n  text: x\n  unit: nm\n  tolerance: 0\n", "locked {'a': 1} is not a number, text, boolean"),
    ("  locked: [1, .inf]\n  text: x\n  unit: nm\n  tolerance: 0\n", "locked [1, .inf] is not a number, text, boolean"),
    ("  locked: 46\n  text: 46\n  unit: atoms\n  tolerance: 0\n", "text 46 is not text (quote it)"),
    ("  locked: 1.5\n  text: ''\n  unit: nm\n  tolerance: 0\n", "text is empty"),
    ("  locked: 1.5\n  text: 1.5 nm\n  unit: [nm]\n  tolerance: 0\n", "unit ['nm'] is not text"),
    ("  locked: 1.5\n  text: 1.5 nm\n  unit: nm\n  tolerance: 0\n  published: .nan\n",
     "published .nan is not a number, text, boolean"),
    ("  locked: 1.5\n  text: 1.5 nm\n  unit: nm\n  tolerance: 0\n  tolerence: 1\n",
     "unknown field 'tolerence'"),
    ("  locked: 1.5\n  text: 1.5 nm\n  unit: nm\n  tolerance: 0\n  quoted: 3\n", "quoted 3 is not text"),
    ("  locked: 1.5\n  text: 1.5 nm\n  unit: nm\n  tolerance: 0\n  name: [a]\n", "name ['a'] is not text"),
    ("  locked: 1.5\n  text: 1.5 nm\n  unit: nm\n  tolerance: 0\n  input: 'yes'\n", "input 'yes' is not true or false"),
    ("  locked: 99.7\n  text: 99.70 %\n  unit: '%'\n  tolerance: 0\n  published: 99.7\n  published_text: 99.75 %\n",
     "published_text '99.75 %' does not print published 99.7"),
    ("  locked: 1.5\n  text: 1.5 nm\n  unit: nm\n  tolerance: 0\n  published: [1, 2]\n  published_text: 1 nm\n",
     "published_text '1 nm' does not print published [1, 2]"),
])
def test_malformed_entry_is_refused_naming_file_and_key(tmp_path, entry, problem):
    """Lock, text and unit must be present and well-typed; every problem names its key."""
    path = _write(tmp_path, f"a.b:\n{entry}")
    with pytest.raises(LedgerError) as caught:
        load_ledger(path)
    assert str(caught.value).startswith(f"{path}: ") and f"a.b: {problem}" in str(caught.value)


def test_every_problem_of_the_ledger_is_listed_at_once(tmp_path):
    """Two bad entries give one message naming every problem by key (no fix-one-rerun-find-the-next)."""
    path = _write(tmp_path, f"a.b:\n{GOOD}  tolerance: .nan\nc.d:\n{GOOD}  tolerance: 0.1\ne.f:\n  locked: 1\n")
    with pytest.raises(LedgerError) as caught:
        load_ledger(path)
    message = str(caught.value)
    assert "4 problem(s)" in message and "a.b: tolerance .nan" in message
    assert all(f"e.f: '{field}' is missing" in message for field in ("text", "unit", "tolerance"))
    assert "c.d" not in message


def test_the_papers_ledger_is_valid_and_matches_its_own_texts():
    """The committed ledger passes the validation, and each lock passes with its own unit and text."""
    from paperbuild.paths import PROJECT_ROOT

    path = PROJECT_ROOT / "paper" / "ledger.yaml"
    ledger = load_ledger(path)
    numbers = {key: {"value": e["locked"], "unit": e["unit"], "text": e["text"], "step": "s"}
               for key, e in ledger.items()}
    assert ledger and check_drift(numbers, path) == len(ledger)


def test_accept_records_a_unit_or_text_change_and_then_passes(ledger_file):
    """`doit accept` locks a new unit or text too, and says so."""
    numbers = {"hrtem.total_nm": _record(0.0764, "0.0764 µm", unit="µm"), "xrd.amorphous": _record(True, "true", "")}
    changes = accept(numbers, ledger_file)
    assert any(c.startswith("changed  hrtem.total_nm") for c in changes)
    assert load_ledger(ledger_file)["hrtem.total_nm"]["unit"] == "µm"
    assert check_drift(numbers, ledger_file) == 2
    same_value_new_text = {**numbers, "xrd.amorphous": _record(True, "amorphous", "")}
    assert any(c.startswith("changed  xrd.amorphous") for c in accept(same_value_new_text, ledger_file))


def test_hand_edited_fields_survive_accept(tmp_path):
    """name, input and published_text are hand-edited: `doit accept` rewrites the locks and keeps them."""
    path = tmp_path / "ledger.yaml"
    path.write_text(yaml.safe_dump({"echem.floor": {
        "locked": 99.7, "text": "99.70 %", "unit": "%", "tolerance": 0, "published": 99.7,
        "published_text": "99.70 %", "input": False, "name": "Lowest CE", "quoted": "Fig 1B"}}))
    accept({"echem.floor": _record(99.71, "99.71 %", unit="%")}, path)
    entry = load_ledger(path)["echem.floor"]
    assert entry["locked"] == 99.71 and entry["text"] == "99.71 %"
    assert (entry["published_text"], entry["input"], entry["name"]) == ("99.70 %", False, "Lowest CE")

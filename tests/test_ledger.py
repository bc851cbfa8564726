"""The ledger: drift check both ways, accepting, malformed ledgers."""
from __future__ import annotations

import pytest
import yaml

from paperbuild.errors import LedgerError
from paperbuild.ledger import accept, check_drift, default_tolerance, drift_rows, load_ledger


def _numbers(**values):
    return {k.replace("_", ".", 1): {"value": v, "text": f"{v} nm", "unit": "nm", "step": "hrtem"}
            for k, v in values.items()}


@pytest.fixture
def ledger_file(tmp_path):
    path = tmp_path / "ledger.yaml"
    path.write_text(yaml.safe_dump({
        "hrtem.total_nm": {"locked": 76.4, "text": "76.4 nm", "tolerance": 0.1, "published": 76.4, "quoted": "Fig 2K"},
        "xrd.amorphous": {"locked": True, "text": "true", "tolerance": 0, "published": True},
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
    with pytest.raises(LedgerError, match="'a.b' needs"):
        load_ledger(path)


@pytest.mark.parametrize("text, tol", [("99.70 %", 0.005), ("76.4 nm", 0.05), ("535", 0.5), ("C/10", 0)])
def test_default_tolerance_is_half_the_last_printed_digit(text, tol):
    """New quantities may move only as far as their printed text allows."""
    assert default_tolerance(text) == pytest.approx(tol)

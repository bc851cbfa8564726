"""The method validation: comparison arithmetic, the accuracy table, priors, and a small real run."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from analysis.registry import STEPS
from data.synth import priors
from paperbuild import accuracy, report
from paperbuild.errors import InputError
from paperbuild.step import with_producers
from paperbuild.validate import INSTRUMENT, Instrument, Realization, errors, markdown, run_validation, summarize


# ------------------------------------------------------------------ errors
def test_errors_of_scalars_lists_and_facts():
    assert errors(76.5, 76.0) == [0.5]
    assert errors([0.86, 0.69], [0.85, 0.70]) == pytest.approx([0.01, -0.01])
    assert errors(True, True) == [0.0] and errors(False, True) == [-1.0]
    assert errors(["(110)", "(200)"], ["(110)", "(002)"]) == [2.0]  # one missing, one extra
    assert errors("Li2CO3", "Li2CO3") == [0.0]


def test_errors_refuse_a_list_of_another_length():
    with pytest.raises(ValueError, match="expected 3 values"):
        errors([1.0, 2.0], [1.0, 2.0, 3.0])


# ------------------------------------------------------------------ summarize
GOALS = {"a.x_nm": {"goal": 1.0, "unit": "nm", "why": "half a crystallite"},
         "a.n": {"goal": 0, "unit": "", "why": "a count"}}
STEP_OF = {"a.x_nm": "a", "a.n": "a"}


def _run(seed, values, expected=None, failures=None):
    return Realization(seed=seed, truth_file=f"runs/seed-{seed}/truth.yaml", values=values, raw_derived=list(values),
                       expected=expected or {"a.x_nm": 10.0, "a.n": 3}, failures=failures or {})


def test_summary_gives_bias_rms_worst_and_the_worst_seed():
    table = {a.key: a for a in summarize([_run(1, {"a.x_nm": 10.5, "a.n": 3}), _run(2, {"a.x_nm": 9.1, "a.n": 3}),
                                          _run(3, {"a.x_nm": 10.3, "a.n": 3})], GOALS, STEP_OF)}
    x = table["a.x_nm"]
    assert x.n == 3 and not x.failures
    assert x.bias == pytest.approx((0.5 - 0.9 + 0.3) / 3, abs=1e-4)
    assert x.rms == pytest.approx(math.sqrt((0.25 + 0.81 + 0.09) / 3), abs=1e-3)
    assert x.worst == pytest.approx(0.9) and x.worst_seed == 2
    assert x.verdict == "meets goal" and table["a.n"].verdict == "meets goal"


def test_a_number_outside_its_goal_misses_it():
    table = {a.key: a for a in summarize([_run(1, {"a.x_nm": 11.2, "a.n": 4})], GOALS, STEP_OF)}
    assert table["a.x_nm"].verdict == "MISSES GOAL"
    assert table["a.n"].verdict == "MISSES GOAL" and table["a.n"].worst == 1


def test_a_failed_step_fails_each_of_its_numbers_with_its_message():
    runs = [_run(1, {"a.x_nm": 10.0, "a.n": 3}), _run(2, {}, failures={"a": "InputError: region_09.tif: too dark"})]
    table = {a.key: a for a in summarize(runs, GOALS, STEP_OF)}
    assert table["a.x_nm"].n == 1 and table["a.x_nm"].verdict == "FAILED"
    assert table["a.x_nm"].failures == [{"seed": 2, "step": "a", "message": "InputError: region_09.tif: too dark"}]


def test_an_instrument_failure_fails_every_number():
    table = summarize([_run(5, {}, failures={INSTRUMENT: "RuntimeError: could not pack"})], GOALS, STEP_OF)
    assert all(a.failures[0]["step"] == INSTRUMENT for a in table)


def test_a_raw_derived_number_without_goal_or_expected_value_is_flagged():
    runs = [_run(1, {"a.x_nm": 10.0, "a.n": 3, "a.extra": 1.0}, expected={"a.x_nm": 10.0, "a.n": 3})]
    table = {a.key: a for a in summarize(runs, GOALS, {**STEP_OF, "a.extra": "a"})}
    assert table["a.extra"].verdict == "FAILED"
    assert "no expected value" in table["a.extra"].failures[0]["message"]


# ------------------------------------------------------------------ the accepted accuracy
def test_significant_prints_plain_decimals():
    assert accuracy.significant(0.000043) == "0.000043"
    assert accuracy.significant(0.4249) == "0.42"
    assert accuracy.significant(12.6) == "13"
    assert accuracy.significant(0.05, signed=True) == "+0.050"
    assert accuracy.significant(0) == "0"


def test_bound_is_the_goal_when_met_and_the_worst_error_when_not():
    assert accuracy.bound({"n": 12, "failures": 0, "worst": 0.4, "goal": 1.0}) == 1.0
    assert accuracy.bound({"n": 12, "failures": 0, "worst": 1.4, "goal": 1.0}) == 1.4
    assert accuracy.bound({"n": 11, "failures": 1, "worst": 0.4, "goal": 1.0}) is None
    assert accuracy.bound(None) is None


def test_reproduced_status_uses_the_validated_accuracy_not_the_drift_tolerance():
    entry = {"published": 76.4, "tolerance": 0.1}
    assert report.status(76.9, entry, {}) == report.DIFFERS  # the ledger tolerance alone
    assert report.status(76.9, entry, {}, accuracy=1.5) == report.REPRODUCED
    assert report.status(78.2, entry, {}, accuracy=1.5) == report.DIFFERS
    # a published "5 nm" is rounded: it stands for 4.5-5.5 nm, on top of the method's accuracy
    assert report.status(4.62, {"published": 5, "tolerance": 0.5}, {}, accuracy=0.3) == report.REPRODUCED
    assert report.status(4.1, {"published": 5, "tolerance": 0.5}, {}, accuracy=0.3) == report.DIFFERS


def test_half_unit_of_the_published_digits():
    assert report.rounding_half_unit(5) == 0.5
    assert report.rounding_half_unit(76.4) == pytest.approx(0.05)
    assert report.rounding_half_unit(0.42) == pytest.approx(0.005)
    assert report.rounding_half_unit([2.88, 3.44, 0.31]) == pytest.approx(0.005)
    assert report.rounding_half_unit(True) == 0.0 and report.rounding_half_unit("Li2CO3") == 0.0


def test_accuracy_file_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="accuracy.json.*doit validate"):
        accuracy.load(tmp_path / "accuracy.json")
    (tmp_path / "bad.json").write_text('{"realizations": 3}')
    with pytest.raises(InputError, match="bad.json.*no 'numbers'"):
        accuracy.load(tmp_path / "bad.json")


def test_the_paper_quotes_an_accuracy_for_every_goal():
    accepted = accuracy.load(Path(__file__).parents[1] / "paper" / "accuracy.json")
    assert set(accepted["numbers"]) >= set(priors.load_goals())


# ------------------------------------------------------------------ priors
def test_priors_draw_the_same_truth_for_the_same_seed_and_others_for_others():
    assert priors.draw_truth(7) == priors.draw_truth(7)
    assert priors.draw_truth(7) != priors.draw_truth(8)
    assert priors.draw_truth(7)["seed"] == 7


def test_every_prior_names_a_truth_key_and_draws_inside_its_range():
    ranges, _ = priors.load_priors()
    truth = priors.draw_truth(3)
    for key, spec in ranges.items():
        value = priors._get(truth, key)  # raises for a key truth.yaml does not have
        if "integers" in spec:
            assert spec["integers"][0] <= value <= spec["integers"][1], key
        refined = any(other.startswith(key + ".") for other in ranges)  # a section chosen, then varied
        if "choice" in spec and not refined:
            assert value in spec["choice"], key


def test_every_goal_is_a_quoted_number_with_an_expected_value():
    quoted = {key for step in STEPS for key in step.numbers}
    goals = priors.load_goals()
    assert set(goals) <= quoted
    assert set(priors.expected_numbers(priors.draw_truth(1))) == set(goals)
    for key, goal in goals.items():
        assert goal["goal"] >= 0 and goal["why"].strip(), key


def test_priors_refuse_a_key_declared_twice_and_a_range_without_a_kind(tmp_path):
    (tmp_path / "a.yaml").write_text("ranges:\n  eds.line_step_nm: {uniform: [1, 2]}\n")
    (tmp_path / "b.yaml").write_text("ranges:\n  eds.line_step_nm: {uniform: [1, 2]}\n")
    with pytest.raises(InputError, match="b.yaml.*declared in two"):
        priors.load_priors(tmp_path)
    (tmp_path / "b.yaml").write_text("ranges:\n  eds.channels: {between: [1, 2]}\n")
    with pytest.raises(InputError, match="b.yaml.*range of eds.channels"):
        priors.load_priors(tmp_path)
    (tmp_path / "b.yaml").write_text("goals:\n  eds.n_lead_nm: {goal: 1, unit: nm}\n")
    with pytest.raises(InputError, match="goal of eds.n_lead_nm"):
        priors.load_priors(tmp_path)


def test_a_drawn_truth_can_be_written_back_and_read_as_an_override(tmp_path):
    from data.synth.truth import load_truth

    truth = priors.draw_truth(4)
    priors.dump_truth(truth, tmp_path / "truth.yaml")
    assert load_truth(tmp_path / "truth.yaml") == truth


def test_validation_runs_the_numbers_steps_and_the_steps_they_read_from():
    chosen = with_producers(STEPS, [s for s in STEPS if s.numbers])
    names = {s.name for s in chosen}
    assert {s.name for s in STEPS if s.numbers} <= names
    for step in chosen:  # every built input has its producer among the chosen
        producers = {t for s in chosen for t in s.targets}
        assert set(step.build_inputs()) <= producers, step.name


# ------------------------------------------------------------------ a small real validation
def small_truth(seed: int) -> dict:
    """A drawn truth with a short cycling run, so the test stays fast."""
    truth = priors.draw_truth(seed)
    truth["echem"]["cycles"] = min(truth["echem"]["cycles"], 450)
    return truth


def test_a_small_validation_writes_its_table(tmp_path):
    steps = [s for s in STEPS if s.name in ("computations", "electrochemistry")]
    small = Instrument(draw_truth=small_truth, write_tree=priors.instrument().write_tree,
                       expected_numbers=priors.expected_numbers, load_goals=priors.load_goals,
                       dump_truth=priors.dump_truth, sections=("computations", "electrochemistry"))
    lines: list[str] = []
    summary = run_validation(steps, small, tmp_path, realizations=2, seed=11, workers=2, log=lines.append)
    assert any("validate: [2/2] seed" in line for line in lines)
    saved = json.loads((tmp_path / "validation.json").read_text())
    assert saved["realizations"] == 2 and [r["seed"] for r in saved["runs"]] == [11, 12]
    table = saved["numbers"]
    for key in ("dft.barrier_o_eV", "aimd.atoms_li", "echem.ce_floor_after_100"):
        row = table[key]
        assert row["n"] + len(row["failures"]) == 2
        assert {"bias", "rms", "worst", "worst_seed", "goal", "why", "verdict"} <= set(row)
    assert "dft.formation_li3p_eV" not in table  # from an external table, not raw data
    assert (tmp_path / "runs" / "seed-11" / "truth.yaml").is_file()
    assert not (tmp_path / "runs" / "seed-11" / "raw").exists()  # raw trees are not kept
    assert "| `dft.barrier_o_eV` | 2 |" in (tmp_path / "validation.md").read_text()
    assert summary["numbers"] == table
    assert markdown(saved) == (tmp_path / "validation.md").read_text()


def test_the_report_section_names_its_source_and_the_numbers_that_miss():
    summary = {"realizations": 3, "seeds": [1, 2, 3], "seconds": 9.0, "numbers": {
        key: acc.as_dict() for acc in summarize([_run(1, {"a.x_nm": 10.2, "a.n": 3}), _run(2, {"a.x_nm": 11.5, "a.n": 3}),
                                                 _run(3, {"a.x_nm": 9.9, "a.n": 3})], GOALS, STEP_OF)
        for key in [acc.key]}}
    lines = report.accuracy_section(accuracy.accepted(summary), Path("/p/build/validation/validation.json"), Path("/p"))
    text = "\n".join(lines)
    assert text.startswith("## Method accuracy") and "`build/validation/validation.json`" in text
    assert "1 of 2 numbers did not meet their goal: `a.x_nm`" in text
    assert "| a.x_nm | 3 | 0 | +0.53 nm | 0.88 nm | 1.5 nm | 2 | 1.0 nm | MISSES GOAL |" in text
    assert "No validation has been run" in "\n".join(report.accuracy_section(None, None, Path("/p")))


@pytest.mark.slow
def test_doit_validate_runs_the_readme_command_without_a_failure(tmp_path):
    """`doit validate` end to end on two realizations of other seeds: no step crashes or refuses."""
    import os
    import subprocess
    import sys

    root = Path(__file__).parents[1]
    result = subprocess.run([sys.executable, "-m", "doit", "validate", "realizations=2", "seed=101",
                             f"build={tmp_path / 'build'}"], cwd=root, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(root)))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "validate: [2/2] seed" in output
    saved = json.loads((tmp_path / "build" / "validation" / "validation.json").read_text())
    failed = {key: row["failures"] for key, row in saved["numbers"].items() if row["failures"]}
    assert not failed, failed
    assert saved["seeds"] == [101, 102]


def test_the_report_says_when_the_accuracy_was_measured_with_other_code(tmp_path):
    from paperbuild.validate import changed_sources, source_hashes

    (tmp_path / "analysis").mkdir()
    module = tmp_path / "analysis" / "hrtem.py"
    module.write_text("WINDOW = 128\n")
    recorded = source_hashes([module], tmp_path)
    assert list(recorded) == ["analysis/hrtem.py"] and changed_sources(recorded, tmp_path) == []
    summary = {"realizations": 1, "seeds": [1], "seconds": 1.0, "sources": recorded, "numbers": {
        acc.key: acc.as_dict() for acc in summarize([_run(1, {"a.x_nm": 10.2, "a.n": 3})], GOALS, STEP_OF)}}
    assert "other code" not in "\n".join(report.accuracy_section(accuracy.accepted(summary), tmp_path / "a.json", tmp_path))
    module.write_text("WINDOW = 96\n")
    assert changed_sources(recorded, tmp_path) == ["analysis/hrtem.py"]
    text = "\n".join(report.accuracy_section(accuracy.accepted(summary), tmp_path / "a.json", tmp_path))
    assert "Measured with other code or priors than the current:** `analysis/hrtem.py`" in text

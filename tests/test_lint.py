"""The prose lint: unknown keys, unsupported shortcodes, hand-typed numbers."""
from __future__ import annotations

from pathlib import Path

import pytest

from paperbuild.errors import NumberKeyError
from paperbuild.lint import LintError, check, problems, typed_numbers
from paperbuild.render import paper_sources
from tests.conftest import ROOT

NUMBERS = {
    "echem.ce_floor_after_100": {"value": 99.700003, "text": "99.70 %", "unit": "%"},
    "echem.cycles": {"value": 535, "text": "535", "unit": "cycles"},
    "hrtem.regions": {"value": 10, "text": "10", "unit": ""},
    "echem.slow_rate_C": {"value": 0.1, "text": "C/10"},
    "echem.fast_rate_C": {"value": 5.0, "text": "5C"},
}


@pytest.mark.parametrize("prose, token", [
    ("CE stays above 99.70 % after", "99.70 %"),
    ("CE stays above 99.7% after", "99.7"),
    ("over 535 cycles", "535"),
    ("imaged in 10 regions", "10"),
    ("cycled at C/10 first", "C/10"),
    ("then at 5C", "5C"),
])
def test_typed_copy_of_registered_number_is_found(prose, token):
    """A registered number typed by hand, in any rounding, is flagged."""
    assert token in [t for _, t, _ in typed_numbers(prose, NUMBERS)]


@pytest.mark.parametrize("prose", [
    "CE stays above {{< num echem.ce_floor_after_100 >}} after",
    "as in @fig-echem and Figure 1, two cycles",
    "```\n535\n```",
    "![](figures/fig535.svg){width=48%}",
    "from cycle 100 on, the 99 % line",
    "LiNi~0.5~Mn~1.5~O~4~ and cm^535^",
    "where the step reaches 10 % of its height",
    "through a 535 nm film",
])
def test_prose_without_typed_numbers_passes(prose):
    """Shortcodes, code, paths, cross-references and unrelated numbers are fine."""
    assert typed_numbers(prose, NUMBERS) == []


def test_typed_number_in_abstract_is_found():
    """The front matter's prose fields are linted too; other fields are not."""
    text = "---\ntitle: x\nabstract: |\n  It lasts 535 cycles.\nversion: 535\n---\nBody.\n"
    assert [(line, token) for line, token, _ in typed_numbers(text, NUMBERS)] == [(4, "535")]


def test_unknown_key_and_unsupported_shortcode_are_reported():
    """An unknown number key and a shortcode outside the subset are both problems."""
    found = problems(Path("a.qmd"), "x {{< num no.such_key >}} y {{< var echem.cycles >}}", NUMBERS)
    messages = [p.message for p in found]
    assert any("unknown number key 'no.such_key'" in m for m in messages)
    assert any("shortcode 'var'" in m for m in messages)


def test_check_raises_with_file_and_line(tmp_path):
    """The error names the file and the line."""
    doc = tmp_path / "article.qmd"
    doc.write_text("ok\nover 535 cycles\n")
    with pytest.raises(LintError, match=r"article.qmd:2: '535' is typed by hand"):
        check([doc], NUMBERS)
    doc.write_text("{{< num no.such_key >}}\n")
    with pytest.raises(NumberKeyError, match="no.such_key"):
        check([doc], NUMBERS)


def test_paper_sources_are_clean(default_build):
    """The real article and supplement pass the lint against the numbers the build computes."""
    from paperbuild.numbers import load

    from paperbuild.lint import load_params

    check(paper_sources(ROOT / "paper"), load(default_build / "numbers.json"), load_params(default_build / "params.json"))


PARAMS = {
    "hrtem.q_range_inv_A": {"value": [0.18, 0.66], "unit": "Å⁻¹", "text": "0.18–0.66 Å⁻¹", "step": "hrtem"},
    "hrtem.window_px": {"value": 128, "unit": "px", "text": "128 px", "step": "hrtem"},
}


@pytest.mark.parametrize("prose, token", [
    ("rings between 0.18–0.66 Å⁻¹ only", "0.18–0.66 Å⁻¹"),
    ("from 0.18 to 0.66 Å⁻¹", "0.18"),
    ("up to 0.66 Å⁻¹", "0.66"),
    ("windows of 128 px", "128 px"),
    ("windows of 128 pixels", "128"),
])
def test_typed_copy_of_parameter_is_a_problem(prose, token):
    """A method parameter typed by hand (whole or one element of a range) is flagged
    with the shortcode that should quote it."""
    found = problems(Path("s.qmd"), prose, {}, PARAMS)
    assert any(f"'{token}' is typed by hand" in p.message and "{{< param hrtem." in p.message for p in found)


def test_parameter_shortcode_passes_and_unknown_parameter_is_reported(tmp_path):
    """{{< param >}} is the way to quote a parameter; an undeclared one is an unknown key."""
    assert problems(Path("s.qmd"), "windows of {{< param hrtem.window_px >}}", {}, PARAMS) == []
    doc = tmp_path / "s.qmd"
    doc.write_text("{{< param hrtem.nope >}}\n")
    with pytest.raises(NumberKeyError, match="unknown parameter key 'hrtem.nope'"):
        check([doc], {}, PARAMS)

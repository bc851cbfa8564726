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
    "```{.literal}\n535\n```",
    "![](figures/fig535.svg){width=48%}",
    "from cycle 100 on, the 99 % line",
    "LiNi~0.5~Mn~1.5~O~4~ and cm^-2^",
    "where the step reaches 10 % of its height",
    "through a 535 nm film",
])
def test_prose_without_typed_numbers_passes(prose):
    """Shortcodes, literal code, paths, cross-references and unrelated numbers are fine."""
    assert typed_numbers(prose, NUMBERS) == []


def test_typed_number_in_abstract_is_found():
    """Prose in the front matter is linted; a bare number (a setting such as a version) is not."""
    text = "---\ntitle: x\nabstract: |\n  It lasts 535 cycles.\nversion: 535\n---\nBody.\n"
    assert [(line, token) for line, token, _ in typed_numbers(text, NUMBERS)] == [(4, "535")]


def test_unknown_key_and_unsupported_shortcode_are_reported():
    """An unknown number key and a shortcode outside the subset are both problems."""
    found = problems(Path("a.qmd"), "x {{< num no.such_key >}} y {{< var echem.cycles >}}", NUMBERS)
    messages = [p.message for p in found]
    assert any("unknown number key 'no.such_key'" in m for m in messages)
    assert any("shortcode 'var'" in m for m in messages)


def test_num_takes_the_vs_option_and_no_other(tmp_path):
    """`{{< num KEY vs >}}` passes; any other option (or a second one) is reported, never ignored;
    `vs` on an unknown key is an unknown key."""
    assert problems(Path("a.qmd"), "total {{< num echem.cycles vs >}} cycles", NUMBERS) == []
    for text, expected in [("{{< num echem.cycles versus >}}", "unknown option 'versus'"),
                           ("{{< num echem.cycles vs vs >}}", "unknown option 'vs vs'"),
                           ("{{< num no.such_key vs >}}", "unknown number key 'no.such_key'")]:
        assert [expected in p.message for p in problems(Path("a.qmd"), text, NUMBERS)] == [True], text
    doc = tmp_path / "article.qmd"
    doc.write_text("{{< num echem.cycles published >}}\n")
    with pytest.raises(LintError, match="article.qmd:1: .*the only option is vs"):
        check([doc], NUMBERS)


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


def test_accuracy_shortcode_names_a_validated_number_and_a_known_statistic(tmp_path):
    """{{< accuracy KEY [STAT] >}} must name a number of the accepted accuracy table."""
    accepted = {"hrtem.interphase_nm": {"text": {"rms": "0.42 nm", "worst": "1.1 nm", "bias": "+0.05 nm",
                                                 "goal": "1.5 nm"}}}
    good = "{{< accuracy hrtem.interphase_nm >}}, at worst {{< accuracy hrtem.interphase_nm worst >}} " \
           "over {{< accuracy realizations >}} realizations"
    assert problems(Path("s.qmd"), good, {}, {}, accepted) == []
    for bad in ("{{< accuracy hrtem.nope >}}", "{{< accuracy hrtem.interphase_nm median >}}", "{{< accuracy >}}"):
        found = problems(Path("s.qmd"), bad, {}, {}, accepted)
        assert len(found) == 1 and "unknown accuracy" in found[0].message, bad
    doc = tmp_path / "s.qmd"
    doc.write_text("{{< accuracy eds.nope >}}\n")
    with pytest.raises(NumberKeyError, match="unknown accuracy 'eds.nope'"):
        check([doc], {}, {}, accepted)


# --- Normalised reading: the spellings an author (or an adversary) may use -------------------

# Registered values shaped like the real build's: a printed text with fewer digits than the
# value, negative numbers, list-valued numbers (a stoichiometry printed as a formula, peak
# energies, a series of fractions), and parameters whose values also occur in chemistry.
SPELL_NUMBERS = {
    **NUMBERS,
    "liquid.ce_max": {"value": 98.82535, "text": "98.83 %", "unit": "%"},
    "hrtem.interphase_nm": {"value": 76.437, "text": "76.4 nm", "unit": "nm"},
    "dft.barrier_p_eV": {"value": 0.419468, "text": "0.42 eV", "unit": "eV"},
    "xps.reference_shift_eV": {"value": -1.150822, "text": "-1.15 eV", "unit": "eV"},
    "xps.ref_stoichiometry": {"value": [2.839, 3.357, 0.381], "text": "Li2.84PO3.36N0.38", "unit": "per P"},
    "eels.p_l_peaks_eV": {"value": [138.26, 140.92], "text": "138.3 and 140.9 eV", "unit": "eV"},
    "eels.li2o_fraction": {"value": [0.86, 0.69, 0.51, 0.3, 0.08], "text": "0.86, 0.69, 0.51, 0.30, 0.08",
                           "unit": ""},
    "xrd.pristine_peaks": {"value": 0, "text": "0", "unit": "peaks"},
    "xrd.cryo_amorphous": {"value": True, "text": "amorphous", "unit": ""},
    "xrd.li2co3_matched_hkl": {"value": ["(110)", "(200)", "(111)"], "text": "(110), (200), (111)", "unit": ""},
}
SPELL_PARAMS = {
    **PARAMS,
    "micrographs.profile_smoothing_px": {"value": 1.5, "unit": "px", "text": "1.5 px", "step": "micrographs"},
    "xps.area_start_factor": {"value": 1.5, "unit": "", "text": "1.5", "step": "xps"},
    "computations.barrier_points": {"value": 4001, "unit": "", "text": "4001", "step": "computations"},
}

CAUGHT = [
    # decimal comma
    ("CE stays above 99,70 % after", "echem.ce_floor_after_100"),
    ("CE above 99,7%", "echem.ce_floor_after_100"),
    ("a shift of 1,15 eV", "xps.reference_shift_eV"),
    ("rings between 0,18 and 0,66 Å⁻¹", "hrtem.q_range_inv_A"),
    # Unicode minus and other dashes, or no sign at all
    ("a shift of \u22121.15 eV", "xps.reference_shift_eV"),
    ("a shift of \u20131.15 eV", "xps.reference_shift_eV"),
    ("a shift of (\u20141.15 eV)", "xps.reference_shift_eV"),
    ("shifted down by 1.15 eV", "xps.reference_shift_eV"),
    # thin, narrow no-break and figure spaces as digit grouping; a comma as thousands separator
    ("interpolated at 4\u2009001 points", "computations.barrier_points"),
    ("interpolated at 4\u202f001 points", "computations.barrier_points"),
    ("interpolated at 4\u2007001 points", "computations.barrier_points"),
    ("interpolated at 4,001 points", "computations.barrier_points"),
    # extra trailing zeros
    ("an interphase 76.40 nm thick", "hrtem.interphase_nm"),
    ("an interphase 76.400\u00a0nm thick", "hrtem.interphase_nm"),
    ("a barrier of 0.420 eV", "dft.barrier_p_eV"),
    # rounded to one decimal fewer, keeping two significant digits
    ("an interphase 76 nm thick", "hrtem.interphase_nm"),
    ("a shift of about 1.2 eV", "xps.reference_shift_eV"),
    ("a peak near 138 eV", "eels.p_l_peaks_eV"),
    # elements of list-valued numbers
    ("the oxide share falls from 0.86 to 0.08", "eels.li2o_fraction"),
    ("an oxide share of 0.69 at the second point", "eels.li2o_fraction"),
    ("peaks at 140.9 eV", "eels.p_l_peaks_eV"),
    ("an N/P ratio of 0.38", "xps.ref_stoichiometry"),
    ("the composition Li~2.84~PO~3.36~N~0.38~", "xps.ref_stoichiometry"),
    ("roughly Li2.8PO3.4N0.4", "xps.ref_stoichiometry"),
    # code spans and raw HTML
    ("over `535` cycles", "echem.cycles"),
    ("```{=html}\n<p>CE above 99.70 %</p>\n```", "echem.ce_floor_after_100"),
    ("`<b>535</b>`{=html} cycles", "echem.cycles"),
    ("CE above <b>99</b>.70 %", "echem.ce_floor_after_100"),
    ("CE above 99&#46;70 %", "echem.ce_floor_after_100"),
    ("a shift of &minus;1.15 eV", "xps.reference_shift_eV"),
    ("over 5&#8203;35 cycles", "echem.cycles"),
    ("over 5\u200b35 cycles", "echem.cycles"),
    ("```\nCE = 99.70 %\n```", "echem.ce_floor_after_100"),
    # sub- and superscripts that are not a formula's subscript
    ("an interphase^76.4^ thick", "hrtem.interphase_nm"),
    ("it lasts^535^", "echem.cycles"),
    ("CE ~99.70~ %", "echem.ce_floor_after_100"),
    ("over ~~535~~ cycles", "echem.cycles"),
    # table cells
    ("| cell | CE |\n|---|---|\n| A | 99,70 |", "echem.ce_floor_after_100"),
    ("| cell | share |\n|---|---|\n| B | 0.51 |", "eels.li2o_fraction"),
    ("| cell | cycles |\n|---|---|\n| C | `535` |", "echem.cycles"),
    # figure captions
    ('![](a.svg){#fig-x fig-cap="An interphase 76.4 nm thick"}', "hrtem.interphase_nm"),
    ("::: {#fig-x}\n![](a.svg)\n\nThe oxide share drops to 0.08.\n:::", "eels.li2o_fraction"),
    ('[see](https://example.org "CE above 99.70 %")', "echem.ce_floor_after_100"),
    # the whole front matter
    ("---\ntitle: x\ndescription: CE above 99.70 %\n---\nBody.", "echem.ce_floor_after_100"),
    ("---\nauthor:\n  - name: A\n    note: it lasts 535 cycles\n---\n", "echem.cycles"),
    ("---\nkeywords: [interphase, 76.4 nm]\n---\n", "hrtem.interphase_nm"),
    # other ways to hide a number from a reader of the source
    ("CE above 99.**70** %", "echem.ce_floor_after_100"),
    ("over **5**35 cycles", "echem.cycles"),
    ("CE above 99\\.70 %", "echem.ce_floor_after_100"),
    ("over \uff15\uff13\uff15 cycles", "echem.cycles"),
    ("a barrier of .42 eV", "dft.barrier_p_eV"),
    ("an interphase 76nm thick", "hrtem.interphase_nm"),
    ("CE above $99{,}70\\,\\%$", "echem.ce_floor_after_100"),
]


@pytest.mark.parametrize("prose, key", CAUGHT, ids=[f"{i}:{p[:30]}" for i, (p, _) in enumerate(CAUGHT)])
def test_hand_typed_spelling_is_caught(prose, key):
    """Every spelling of a registered number or parameter is a hand-typed copy of it."""
    found = problems(Path("a.qmd"), prose, SPELL_NUMBERS, SPELL_PARAMS)
    assert any("is typed by hand" in p.message and key in p.message for p in found), found


ORDINARY = [
    "as shown in Figure 2 and Table S1, over two cycles",
    "Li3PO4, Li2O and Li3N form, next to a LiNi~0.5~Mn~1.5~O~4~ cathode",
    "Li~3~PO~4~ and Li~2~CO~3~, with 1 M LiPF~6~ in EC:EMC (3:7 by weight)",
    "as Cheng et al. (2020) report [@cheng2020, p. 2484; @wagner1981, pp. 211-224]",
    "doi: 10.1016/j.joule.2020.08.013, also https://doi.org/10.1016/j.joule.2020.08.013",
    "the P L~2,3~ edge and the 2p~3/2~ and 2p~1/2~ lines",
    "from cycle 100 on, the 99 % line",
    "The dotted line marks 99 %.",
    "cooled to 100 K, measured at 298 K, on a 200 kV instrument",
    "through a 535 nm film and 10 % of its height",
    "marked [535]{.literal} in the original article",
    "the original's `535`{.literal} is a misprint",
    "lithium (110), lithium nitride (101) and lithium oxide (111)",
    "[the run](https://example.org/run_535/76.4) and ![](figures/fig535.svg){width=48%}",
    "a doping of 10^16^ cm^\u22123^, spacings in Å^\u22121^, with $\\chi^2$ and K$\\alpha$",
    "---\ntitle: x\nbibliography: references-535.bib\ncsl: cell-76.4.csl\nfig-dpi: 535\n---\nBody.",
    "Diyi Cheng, Min-cheol Kim; *Joule* 4, 2484–2500",
    "the C 1s, N 1s, O 1s and P 2p regions, ISO 14976 files",
    "<!-- lasts 535 cycles -->",
    "```{.literal}\nCE = 99.70 %\n```",
    "the manifest `data/raw/MANIFEST.sha256`, see @fig-cell and @suppfig-xps-reference",
    "no Bragg peaks (0 found), an offset of 0.0",
    "write to author535@example.org on 2020-11-25",
    "the E~F~ level and T~g~",
    "two days in air, five points, a 3D view, the 1st cycle",
    "<img src=\"fig535.png\" width=\"76\"> and <span class=\"x76\">text</span>",
    "as in Figure 5C of the original and its section 3.4, Eq. 12",
    "stored for 76 days, then 12 months",
    "the films of Bates, [Li~2.9~PO~3.3~N~0.38~]{.literal}",
]


@pytest.mark.parametrize("prose", ORDINARY, ids=[f"{i}:{p[:30]}" for i, p in enumerate(ORDINARY)])
def test_ordinary_prose_passes(prose):
    """Figure numbers, counts, formulae, citations, DOIs, URLs, settings and literals are no copies."""
    assert problems(Path("a.qmd"), prose, SPELL_NUMBERS, SPELL_PARAMS) == []


def test_every_problem_names_file_and_line(tmp_path):
    """Front matter, code, raw HTML and table rows are reported at their own line."""
    doc = tmp_path / "article.qmd"
    doc.write_text("---\ntitle: x\ndescription: |\n  CE above 99,70 %\n---\n\n"  # line 4
                   "Some text.\n\n```{=html}\n<p>lasts 535 cycles</p>\n```\n\n"  # line 10
                   "| a | b |\n|---|---|\n| x | 0.69 |\n\n"                          # line 15
                   "A shift of \u22121.15 eV.\n", encoding="utf-8")             # line 17
    with pytest.raises(LintError) as err:
        check([doc], SPELL_NUMBERS, SPELL_PARAMS)
    message = str(err.value)
    for line, token in [(4, "99,70"), (10, "535"), (15, "0.69"), (17, "\u22121.15")]:
        assert f"article.qmd:{line}: '{token}" in message, message


def test_literal_marks_one_number(tmp_path):
    """A literal span exempts one number; a span that would exempt a whole passage is refused."""
    assert problems(Path("a.qmd"), "the original's [535]{.literal} cycles", NUMBERS) == []
    found = problems(Path("a.qmd"), "[it lasts 535 cycles at 99.70 %]{.literal}", NUMBERS)
    assert len(found) == 1 and "literal" in found[0].message and found[0].line == 1


def test_unreadable_source_is_one_message(tmp_path):
    """A source that is missing or not UTF-8 is named, not a traceback."""
    bad = tmp_path / "article.qmd"
    bad.write_bytes(b"caf\xe9 535")
    with pytest.raises(LintError, match="article.qmd"):
        check([bad], NUMBERS)
    with pytest.raises(LintError, match="missing.qmd"):
        check([tmp_path / "missing.qmd"], NUMBERS)

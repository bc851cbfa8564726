"""The published-vs-rebuilt table and the notes `{{< num KEY vs >}}` prints (paperbuild/comparison.py)."""
from __future__ import annotations

import json
import re

import pytest

from paperbuild import comparison, report


@pytest.mark.parametrize("text, value, published, expected, differs, difference", [
    ("76.5 nm", 76.47, 76.4, "76.4 nm", True, "+0.1"),
    ("11.7 nm", 11.66, 11.6, "11.6 nm", True, "+0.1"),
    ("99.70 %", 99.700003, 99.7, "99.7 %", False, "0"),  # the ledger cannot keep the trailing zero
    ("63.0 eV", 63.01, 63, "63 eV", False, "0"),
    ("4.6 nm", 4.62, 5, "5 nm", True, "-0.4"),
    ("201 %", 201.3, 203, "203 %", True, "-2"),
    ("-0.698 eV/atom", -0.698, -0.698, "-0.698 eV/atom", False, "0"),
    ("138.2 and 140.9 eV", [138.19, 140.91], [138, 141], "138 and 141 eV", True, "+0.2, -0.1"),
    ("Li2.84PO3.35N0.38", [2.8375, 3.3511, 0.3797], [2.84, 3.35, 0.38], "Li2.84PO3.35N0.38", False, "0"),
    ("Li2.88PO3.44N0.31", [2.875, 3.4375, 0.3125], [2.88, 3.45, 0.31], "Li2.88PO3.45N0.31", True, "0, -0.01, 0"),
    ("C/10", 0.1, 0.1, "C/10", False, "0"),  # a text that does not print the value's digits
    ("C/10", 0.1, 0.2, "0.2 C", True, "-0.1"),
    ("amorphous", True, True, "amorphous", False, "0"),
])
def test_published_value_in_the_form_of_the_rebuilt_text(text, value, published, expected, differs, difference):
    """The published value with its own digits where the rebuilt text prints its numbers; differs only
    when a reader would see another number."""
    shown = comparison.published(text, value, published, "C" if text.startswith("C/") else "")
    assert (shown.text, shown.differs, shown.difference) == (expected, differs, difference)


def test_no_published_value_gives_no_note():
    """A number the paper gave only in words has nothing to compare."""
    assert comparison.published("14 nm", 14.4, None) is None


NB = "\u00a0"


@pytest.mark.parametrize("text, markdown", [
    ("Li2.88PO3.44N0.31", "Li~2.88~PO~3.44~N~0.31~"),
    ("mean Li2O + Li3N + Li3PO4 layer", "mean Li~2~O + Li~3~N + Li~3~PO~4~ layer"),
    ("-0.45 eV", f"\u22120.45{NB}eV"),
    ("1e-14", "10^\u221214^"),
    ("3e-6 S/cm", f"3{NB}×{NB}10^\u22126^ S/cm"),
    ("0.0000020 %", f"2.0{NB}×{NB}10^\u22126^{NB}%"),  # below 0.001: a power of ten, same digits
    ("0.0001", "10^\u22124^"),
    ("0.0010 %", f"0.0010{NB}%"),
    ("Fig S4B (new); Table S2", "Fig S4B (new); Table S2"),  # labels, not sulfur and boron
    ("LiPON, LNMO, 5C, C/10, N 1s, 3–5 nm", f"LiPON, LNMO, 5C, C/10, N 1s, 3–5{NB}nm"),
    ("P L2,3 of P–O; Li K; P 2p3/2", "P L~2,3~ of P–O; Li K; P 2p~3/2~"),  # edges and levels
    ("(110), (20\u0304 4\u0305)", "(110), (2[0]{.overbar} [4]{.overbar})"),  # negative Miller indices
    ("1 µm at ≈0.46 Å/min and 138 and 141 eV", f"1{NB}µm at ≈0.46{NB}Å/min and 138 and 141{NB}eV"),
    ("a <b>|c", "a \\<b\\>\\|c"),  # text from files is escaped before it is typeset
])
def test_markdown_printed_typesets_like_the_shortcode(text, markdown):
    """Formulas with subscripts, true minus signs and powers of ten, overbars on negative Miller
    indices, edges and levels subscripted, a number on one line with its unit; words and labels untouched."""
    assert comparison.markdown_printed(text) == markdown


def test_published_text_keeps_the_printed_digits():
    """A published_text prints what the paper printed (99.70, which the value 99.7 loses)."""
    shown = comparison.published("99.70 %", 99.700003, 99.7, "%", "99.70 %")
    assert (shown.text, shown.differs, shown.difference) == ("99.70 %", False, "0")
    shown = comparison.published("99.72 %", 99.72, 99.7, "%", "99.70 %")
    assert (shown.text, shown.differs, shown.difference) == ("99.70 %", True, "+0.02")


NUMBERS = {
    "hrtem.interphase_nm": {"value": 76.47, "text": "76.5 nm", "unit": "nm"},
    "echem.cycles": {"value": 535, "text": "535", "unit": "cycles"},
    "eds.n_lead_nm": {"value": 14.4, "text": "14 nm", "unit": "nm"},
    "dft.formation_li3p_eV": {"value": -0.698, "text": "-0.698 eV/atom", "unit": "eV/atom"},
}
LEDGER = {
    "hrtem.interphase_nm": {"published": 76.4, "tolerance": 0.1, "quoted": "Fig 2K, text: sum of the three means",
                            "name": "Interphase thickness"},
    "echem.cycles": {"published": 535, "tolerance": 0, "quoted": "Fig 1A"},
    "eds.n_lead_nm": {"published": None, "tolerance": 0.5, "claim": "> 0: N reaches deeper into Li than P",
                      "quoted": "Fig 1G (in words)"},
    "dft.formation_li3p_eV": {"published": -0.698, "tolerance": 0, "quoted": "Materials Project", "input": True,
                              "name": "Formation energy of Li3P"},
    "xps.gone": {"published": 1.0, "tolerance": 0.1, "quoted": "Fig 4"},
}


def test_rows_cover_every_number_with_the_reports_status():
    """One row per number of either side; the status is the reproduction report's own verdict."""
    accuracy = {"hrtem.interphase_nm": {"n": 12, "failures": 0, "worst": 0.05, "goal": 0.3}}
    listed = comparison.rows(NUMBERS, LEDGER, accuracy)
    assert len(listed) == len(set(NUMBERS) | set(LEDGER))
    rows = {re.search(r"`([^`]+)`", r["quantity"]).group(1): r for r in listed}
    assert set(rows) == set(NUMBERS) | set(LEDGER)
    total = rows["hrtem.interphase_nm"]
    assert (total["published"], total["rebuilt"], total["difference"]) == (f"76.4{NB}nm", f"76.5{NB}nm", f"+0.1{NB}nm")
    for key in NUMBERS.keys() | LEDGER.keys():
        assert rows[key]["status"] == report.judge(key, NUMBERS, LEDGER, accuracy)
    assert total["status"] == report.REPRODUCED
    # a named quantity: its name, its key in a span the templates set small (PDF) or as a tooltip (HTML)
    assert total["quantity"] == '[Interphase thickness]{.quantity title="hrtem.interphase_nm"} [`hrtem.interphase_nm`]{.key}'
    assert rows["echem.cycles"]["quantity"] == "`echem.cycles`"  # no name: the key alone
    assert rows["eds.n_lead_nm"]["published"] == "–" and rows["eds.n_lead_nm"]["status"] == report.NEW
    assert rows["eds.n_lead_nm"]["what"] == "Fig 1G (in words); \\> 0: N reaches deeper into Li than P"
    assert rows["xps.gone"]["rebuilt"] == "(not computed)" and rows["xps.gone"]["status"] == "missing"
    assert rows["dft.formation_li3p_eV"]["rebuilt"] == f"\u22120.698{NB}eV/atom"
    assert rows["dft.formation_li3p_eV"]["status"] == report.INPUT


def test_a_quantity_stated_in_words_shows_the_words_and_its_status():
    """published_text without a published value: the paper's words in the Published column, "stated in words"."""
    ledger = dict(LEDGER, **{"eds.n_lead_nm": {"published": None, "published_text": "N deeper than P",
                                               "tolerance": 0.5, "quoted": "Fig 1G"}})
    row = {r["quantity"]: r for r in comparison.rows(NUMBERS, ledger)}["`eds.n_lead_nm`"]
    assert (row["published"], row["difference"], row["status"]) == ("N deeper than P", "–", report.STATED)


def test_table_is_a_pipe_table_that_pandoc_reads(tmp_path):
    """Header, aligned rule with relative widths, one line per row; pandoc reads it as a six-column table."""
    import pypandoc

    text = comparison.table(comparison.rows(NUMBERS, LEDGER))
    lines = text.splitlines()
    assert lines[0] == "| Quantity | Where the original gives it | Published | Rebuilt | Difference | Status |"
    assert lines[1].startswith("|:") and lines[1].count("|") == 7 and len(lines) == 2 + 5
    html = " ".join(pypandoc.convert_text(text, "html", format="markdown").split())
    assert len(re.findall(r"<th[ >]", html)) == 6 and len(re.findall(r"<tr[ >]", html)) == 6
    assert 'style="width: 28%"' in html and 'style="width: 24%"' in html
    assert '<span class="quantity" title="hrtem.interphase_nm">Interphase thickness</span>' in html
    assert '<span class="key"><code>hrtem.interphase_nm</code></span>' in html
    assert "Li<sub>3</sub>P" in html and "\u200b" not in html


def test_write_makes_the_table_and_the_shortcode_notes(tmp_path):
    """`write` reads numbers.json and the ledger and writes both files; notes only for published values."""
    numbers = {k: dict(v, step="s", inputs={}, code="0" * 64) for k, v in NUMBERS.items()}
    (tmp_path / "numbers.json").write_text(json.dumps(numbers), encoding="utf-8")
    ledger = {k: dict(v, locked=numbers[k]["value"], text=numbers[k]["text"], unit=numbers[k]["unit"])
              for k, v in LEDGER.items() if k in numbers}
    import yaml

    (tmp_path / "ledger.yaml").write_text(yaml.safe_dump(ledger), encoding="utf-8")
    table, notes = tmp_path / "tables" / "published_vs_rebuilt.md", tmp_path / "published.json"
    comparison.write(tmp_path / "numbers.json", tmp_path / "ledger.yaml", None, table, notes)
    assert table.read_text(encoding="utf-8").count("\n") == 2 + 4
    assert json.loads(notes.read_text(encoding="utf-8")) == {
        "dft.formation_li3p_eV": {"published_text": "-0.698 eV/atom", "differs": False},
        "echem.cycles": {"published_text": "535", "differs": False},
        "hrtem.interphase_nm": {"published_text": "76.4 nm", "differs": True}}

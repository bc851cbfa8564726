"""Published against rebuilt: every quoted number in one table, and the notes the text prints.

The build writes two files from the ledger (``paper/ledger.yaml``), the numbers
(``build/numbers.json``) and the accepted method accuracy (``paper/accuracy.json``):

* ``build/tables/published_vs_rebuilt.md``: a Markdown pipe table (no caption) with one
  row per number: the quantity (the ledger's ``name``, with its key in a ``key`` span the
  templates set small in the PDF and show as a tooltip in the HTML), where the paper
  gives it (``quoted`` and ``claim``), the published value (as printed:
  ``published_text`` where the ledger has it), the rebuilt value, their difference and
  the reproduction status.
  The status is the reproduction report's own verdict (:func:`paperbuild.report.judge`),
  so the paper and the report cannot disagree.
* ``build/published.json``: per number with a published value, the published value
  printed with its own digits in the form of the rebuilt text (``"76.4 nm"``) and
  whether the two printed texts differ, for the ``{{< num KEY vs >}}`` shortcode.

Nothing here knows the paper: keys, units and claims all come from the files.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from paperbuild import atomic
# the numerals of a printed text, as the drift check reprints them (a minus sign only where
# it cannot be a hyphen or a range dash)
from paperbuild.printed import MINUS, _is_number, digits, published

TABLE = "tables/published_vs_rebuilt.md"  # both relative to the build folder
NOTES = "published.json"
# a formula: two or more element symbols, at least one with an amount; not a figure or
# table label ("Fig S4B", "Table S2")
_FORMULA = re.compile(r"(?<![\w.\\])(?<!Fig )(?<!Figs )(?<!Figure )(?<!Table )"
                      r"((?:[A-Z][a-z]?(?:\d+(?:\.\d+)?)?){2,})(?![\w.])")
_ELEMENT = re.compile(r"([A-Z][a-z]?)(\d+(?:\.\d+)?)?")
_SCIENTIFIC = re.compile(r"(?<![\w.])([-\u2212]?)(\d+(?:\.\d+)?)[eE]([-+]?)0*(\d+)(?![\w.])")
_LEADING_MINUS = re.compile(r"(?<![\w.)\]])-(?=\.?\d)")
# a decimal below 0.001 ("0.0000020"): printed as a power of ten, its digits kept
_SMALL = re.compile(r"(?<![\w.])0\.(000+)([1-9]\d*)(?![\w.])")
# a negative Miller index as text writes it: a digit with a combining macron or overline
_OVERBAR = re.compile(r"(\d)[\u0304\u0305]")
# an absorption edge after its element ("P L2,3") and a spin-orbit level ("2p3/2")
_EDGE = re.compile(r"(?:(?<=\b[A-Z] )|(?<=\b[A-Z][a-z] ))([KLMN])(\d(?:,\d)?)(?![\w,])")
_LEVEL = re.compile(r"(?<![\w.])(\d[spdf])([1357]/2)(?![\w/])")
# the space between a number and its unit, which must not break ("1 µm", "0.03 mAh/cm²")
_UNIT_SPACE = re.compile(r"(?<=[\d^]) (?=[%Åµ°]|(?:eV|keV|kV|mAh|mA|nm|mm|cm|min|h|s|V|K|atoms|peaks)(?![A-Za-z]))")
# a key that can stand in a Markdown attribute value as it is
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")


# ------------------------------------------------------------------ Markdown
def markdown_printed(text: str, escape: bool = True) -> str:
    """Printed text as pandoc Markdown, typeset as the number shortcode typesets it.

    Chemical formulas get subscripts (``Li2.88PO3.44N0.31`` -> ``Li~2.88~PO~3.44~N~0.31~``),
    a minus that starts a number becomes U+2212, scientific notation a power of ten
    (``1e-14`` -> ``10^−14^``, ``3e-6`` -> ``3 × 10^−6^``), and so does a decimal below
    0.001, keeping its digits (``0.0000020`` -> ``2.0 × 10^−6^``); a negative Miller
    index written with a combining macron or overline (``(2̄02)``) gets a real overbar (a
    span of class ``overbar``: CSS draws it in HTML, the fallback filter in Typst).  The
    same rules as ``typeset`` in ``paper/_extensions/num/num.lua``.  Text from the
    ledger also gets subscripts on edges and levels (``P L2,3`` -> ``P L~2,3~``,
    ``2p3/2`` -> ``2p~3/2~``), and a number keeps its unit on its line (a no-break space).

    Parameters
    ----------
    text
        Text from a file (a number's printed text, a claim).
    escape
        Escape Markdown first (:func:`paperbuild.report.md_text`); only pass False for
        text that is already Markdown.

    Returns
    -------
    str
        Markdown for one table cell.
    """
    from paperbuild.report import md_text

    text = md_text(text) if escape else text

    def formula(match: re.Match[str]) -> str:
        parts = _ELEMENT.findall(match.group(1))
        if not any(amount for _, amount in parts):
            return match.group(1)
        return "".join(f"{element}~{amount}~" if amount else element for element, amount in parts)

    def scientific(match: re.Match[str]) -> str:
        sign = MINUS if match.group(1) else ""
        exponent = (MINUS if match.group(3) == "-" else "") + match.group(4)
        mantissa = match.group(2)
        if Decimal(mantissa) == 1:
            return f"{sign}10^{exponent}^"
        return f"{sign}{mantissa}\u00a0×\u00a010^{exponent}^"

    def small(match: re.Match[str]) -> str:
        digits_ = match.group(2)
        mantissa = digits_[0] + ("." + digits_[1:] if len(digits_) > 1 else "")
        exponent = f"{MINUS}{len(match.group(1)) + 1}"
        return f"10^{exponent}^" if mantissa == "1" else f"{mantissa}\u00a0×\u00a010^{exponent}^"

    text = _SCIENTIFIC.sub(scientific, text)
    text = _SMALL.sub(small, text)
    text = _FORMULA.sub(formula, text)
    text = _EDGE.sub(r"\1~\2~", text)
    text = _LEVEL.sub(r"\1~\2~", text)
    text = _OVERBAR.sub(r"[\1]{.overbar}", text)
    text = _UNIT_SPACE.sub("\u00a0", text)
    return _LEADING_MINUS.sub(MINUS, text)


def quantity(key: str, entry: Mapping[str, Any]) -> str:
    """The table's first cell: the quantity's name with its key, or the key alone.

    The key sits in a span of class ``key`` after the name (the Typst template prints
    it small under the name; the HTML hides it and shows it as the name's tooltip).

    Parameters
    ----------
    key
        The number's key.
    entry
        Its ledger entry (``name``; may be empty).

    Returns
    -------
    str
        Markdown for one table cell.
    """
    from paperbuild.report import md_code

    name = entry.get("name")
    if not name:
        return md_code(key)
    title = f' title="{key}"' if _PLAIN_KEY.match(key) else ""
    return f"[{markdown_printed(str(name))}]{{.quantity{title}}} [{md_code(key)}]{{.key}}"


def rows(numbers: Mapping[str, Mapping[str, Any]], ledger: Mapping[str, Mapping[str, Any]],
         accuracy: Mapping[str, Mapping[str, Any]] | None = None) -> list[dict[str, str]]:
    """One Markdown-ready row per number the build computes or the ledger lists.

    Parameters
    ----------
    numbers
        The build's numbers (``numbers.json`` records: ``value``, ``text``, ``unit``).
    ledger
        The ledger's entries (``published``, ``published_text``, ``name``, ``claim``,
        ``quoted``, ``tolerance``).
    accuracy
        The accepted accuracy table's ``numbers`` (``paper/accuracy.json``): the status
        of a validated number uses its accuracy, as the reproduction report does.

    Returns
    -------
    list of dict
        Sorted by key, each with ``quantity``, ``what``, ``published``, ``rebuilt``,
        ``difference`` and ``status``, escaped for a Markdown table.
    """
    from paperbuild.report import judge

    out = []
    for key in sorted(set(numbers) | set(ledger)):
        number, entry = numbers.get(key), ledger.get(key, {})
        what = "; ".join(str(entry[f]) for f in ("quoted", "claim") if entry.get(f))
        shown = None
        if number is not None:
            shown = published(number["text"], number["value"], entry.get("published"), number.get("unit", ""),
                              entry.get("published_text"))
        if shown is not None:
            difference = shown.difference
            unit = number.get("unit", "")
            if difference not in ("0", "changed") and unit and unit != "a.u." and unit in number["text"]:
                difference = f"{difference} {unit}"
        if shown is not None:
            published_cell = markdown_printed(shown.text)
        elif entry.get("published_text"):
            published_cell = markdown_printed(str(entry["published_text"]))
        elif _is_number(entry.get("published")):
            published_cell = markdown_printed(digits(entry["published"]))
        else:
            published_cell = "–"
        out.append({
            "quantity": quantity(key, entry),
            "what": markdown_printed(what) if what else "–",
            "published": published_cell,
            "rebuilt": markdown_printed(number["text"]) if number is not None else "(not computed)",
            "difference": markdown_printed(difference) if shown is not None else "–",
            "status": judge(key, numbers, ledger, accuracy),
        })
    return out


# (row field, header, relative width, alignment): pandoc reads the widths from the dashes
COLUMNS = (("quantity", "Quantity", 29, "left"), ("what", "Where the original gives it", 24, "left"),
           ("published", "Published", 12, "right"), ("rebuilt", "Rebuilt", 14, "right"),
           ("difference", "Difference", 9, "right"), ("status", "Status", 12, "left"))


def table(rows_: list[Mapping[str, str]]) -> str:
    """The rows as a pandoc pipe table whose separator line sets the relative column widths.

    Parameters
    ----------
    rows_
        Rows from :func:`rows`.

    Returns
    -------
    str
        The table, ending with a newline.
    """
    rule = {"left": ":{}", "right": "{}:"}
    lines = ["| " + " | ".join(title for _, title, _, _ in COLUMNS) + " |",
             "|" + "|".join(rule[align].format("-" * (width - 1)) for _, _, width, align in COLUMNS) + "|"]
    lines += ["| " + " | ".join(row[name] for name, _, _, _ in COLUMNS) + " |" for row in rows_]
    return "\n".join(lines) + "\n"


def notes(numbers: Mapping[str, Mapping[str, Any]], ledger: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """What ``{{< num KEY vs >}}`` prints after each number with a published value.

    Parameters
    ----------
    numbers, ledger
        As for :func:`rows`.

    Returns
    -------
    dict
        Key -> ``{"published_text": str, "differs": bool}``.
    """
    out = {}
    for key, number in sorted(numbers.items()):
        entry = ledger.get(key, {})
        shown = published(number["text"], number["value"], entry.get("published"), number.get("unit", ""),
                          entry.get("published_text"))
        if shown is not None:
            out[key] = {"published_text": shown.text, "differs": shown.differs}
    return out


def write(numbers_file: Path, ledger_file: Path, accuracy_file: Path | None, table_file: Path,
          notes_file: Path) -> None:
    """Write the published-vs-rebuilt table and the notes for the shortcode (the build's ``comparison`` task).

    Parameters
    ----------
    numbers_file
        ``build/numbers.json``.
    ledger_file
        ``paper/ledger.yaml``.
    accuracy_file
        ``paper/accuracy.json``, or None (or a missing file): statuses then use the
        ledger's tolerances, as the report does without a validation.
    table_file
        Where the Markdown table goes (``build/tables/published_vs_rebuilt.md``).
    notes_file
        Where the shortcode's notes go (``build/published.json``).
    """
    from paperbuild import accuracy as accuracy_mod
    from paperbuild.ledger import load_ledger
    from paperbuild.numbers import load

    numbers = load(Path(numbers_file))
    ledger = load_ledger(Path(ledger_file))
    accepted = None
    if accuracy_file is not None and Path(accuracy_file).is_file():
        accepted = accuracy_mod.load(Path(accuracy_file))["numbers"]
    atomic.write_text(Path(table_file), table(rows(numbers, ledger, accepted)))
    atomic.write_text(Path(notes_file), json.dumps(notes(numbers, ledger), indent=1, ensure_ascii=False) + "\n")
    print(f"  published against rebuilt: {len(numbers)} numbers -> {table_file}")

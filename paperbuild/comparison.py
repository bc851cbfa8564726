"""Published against rebuilt: every quoted number in one table, and the notes the text prints.

The build writes two files from the ledger (``paper/ledger.yaml``), the numbers
(``build/numbers.json``) and the accepted method accuracy (``paper/accuracy.json``):

* ``build/tables/published_vs_rebuilt.md``: a Markdown pipe table (no caption) with one
  row per number: key, what the paper says (the ledger's ``quoted`` and ``claim``), the
  published value, the rebuilt value, their difference and the reproduction status.
  The status is the reproduction report's own verdict (:func:`paperbuild.report.judge`),
  so the paper and the report cannot disagree.
* ``build/published.json``: per number with a published value, the published value
  printed with its own digits in the form of the rebuilt text (``"76.4 nm"``) and
  whether the two printed texts differ, for the ``{{< num KEY vs >}}`` shortcode.

Nothing here knows the paper: keys, units and claims all come from the files.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from paperbuild import atomic
# the numerals of a printed text, as the drift check reprints them (a minus sign only where
# it cannot be a hyphen or a range dash)
from paperbuild.ledger import _NUMERAL

TABLE = "tables/published_vs_rebuilt.md"  # both relative to the build folder
NOTES = "published.json"
MINUS = "\u2212"
# a formula: two or more element symbols, at least one with an amount; not a figure or
# table label ("Fig S4B", "Table S2")
_FORMULA = re.compile(r"(?<![\w.\\])(?<!Fig )(?<!Figs )(?<!Figure )(?<!Table )"
                      r"((?:[A-Z][a-z]?(?:\d+(?:\.\d+)?)?){2,})(?![\w.])")
_ELEMENT = re.compile(r"([A-Z][a-z]?)(\d+(?:\.\d+)?)?")
_SCIENTIFIC = re.compile(r"(?<![\w.])([-\u2212]?)(\d+(?:\.\d+)?)[eE]([-+]?)0*(\d+)(?![\w.])")
_LEADING_MINUS = re.compile(r"(?<![\w.)\]])-(?=\.?\d)")


@dataclass(frozen=True)
class Published:
    """A published value as the rebuilt text would print it.

    Attributes
    ----------
    text
        The published value with its own digits, in the form of the rebuilt text
        (``"76.4 nm"``, ``"Li2.84PO3.35N0.38"``).
    differs
        True when the reader would see a different number: a numeral of the rebuilt
        text differs from the published one (``76.5`` against ``76.4``; not ``99.70``
        against ``99.7``, which the ledger cannot tell from ``99.70``).
    difference
        Rebuilt minus published, numeral by numeral, as printed (``"+0.1"``, ``"0"``).
    """

    text: str
    differs: bool
    difference: str


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def digits(value: int | float) -> str:
    """A published value with exactly the digits the ledger records (``76.4``, ``5``, ``-0.698``).

    Parameters
    ----------
    value
        An int or a finite float.

    Returns
    -------
    str
        The shortest text that reads back as ``value`` in plain decimal notation.
    """
    if isinstance(value, int):
        return str(value)
    return format(Decimal(repr(float(value))), "f")


def _signed(difference: Decimal) -> str:
    if difference == 0:
        return "0"
    text = format(difference, "f")
    return ("+" + text) if difference > 0 else text


def _joined(differences: list[str]) -> str:
    return "0" if all(d == "0" for d in differences) else ", ".join(differences)


def _numerals(text: str, value: Any) -> list[re.Match[str]] | None:
    """The numerals of ``text`` when it is the value's own printing (one numeral per value)."""
    values = value if isinstance(value, list) else [value]
    if not values or not all(_is_number(v) for v in values):
        return None
    numerals = list(_NUMERAL.finditer(text))
    if len(numerals) != len(values):
        return None
    for match, number in zip(numerals, values):
        if f"{number:.{len(match['frac'] or '')}f}" != match.group(0).replace(MINUS, "-"):
            return None
    return numerals


def published(text: str, value: Any, published_value: Any, unit: str = "") -> Published | None:
    """The published value in the form of the rebuilt text, and whether the printed texts differ.

    Parameters
    ----------
    text
        The rebuilt number's printed text (``"76.5 nm"``).
    value
        The rebuilt value (number, list, string or bool), to pair the text's numerals with.
    published_value
        The ledger's ``published`` (None: the paper gives no number).
    unit
        The number's unit, for a text whose numerals do not follow its value (``"C/10"``).

    Returns
    -------
    Published or None
        None when the paper gives no value.
    """
    if published_value is None:
        return None
    pubs = published_value if isinstance(published_value, list) else [published_value]
    if not all(_is_number(p) for p in pubs):
        same = published_value == value
        return Published(text if same else str(published_value), not same, "0" if same else "changed")
    numerals = _numerals(text, value)
    if numerals is not None and len(numerals) == len(pubs):
        pieces, end, differs, differences = [], 0, False, []
        for match, pub in zip(numerals, pubs):
            shown = Decimal(match.group(0).replace(MINUS, "-"))
            pub_text = digits(pub)
            differs |= shown != Decimal(pub_text)
            differences.append(_signed(shown - Decimal(pub_text)))
            pieces += [text[end:match.start()], pub_text]
            end = match.end()
        return Published("".join(pieces) + text[end:], differs, _joined(differences))
    # the text does not print the value's digits (e.g. "C/10" for 0.1): compare the values
    values = value if isinstance(value, list) else [value]
    if len(values) != len(pubs) or not all(_is_number(v) for v in values):
        return Published(", ".join(digits(p) for p in pubs) + (f" {unit}" if unit else ""), True, "changed")
    differences, differs = [], False
    for v, pub in zip(values, pubs):
        places = Decimal(digits(pub)).as_tuple().exponent
        rounded = Decimal(repr(float(v))).quantize(Decimal(1).scaleb(min(int(places), 0)))
        differs |= rounded != Decimal(digits(pub))
        differences.append(_signed(rounded - Decimal(digits(pub))))
    shown = text if not differs else ", ".join(digits(p) for p in pubs) + (f" {unit}" if unit else "")
    return Published(shown, differs, _joined(differences))


# ------------------------------------------------------------------ Markdown
def markdown_printed(text: str, escape: bool = True) -> str:
    """Printed text as pandoc Markdown, typeset as the number shortcode typesets it.

    Chemical formulas get subscripts (``Li2.88PO3.44N0.31`` -> ``Li~2.88~PO~3.44~N~0.31~``),
    a minus that starts a number becomes U+2212, and scientific notation a power of ten
    (``1e-14`` -> ``10^−14^``, ``3e-6`` -> ``3 × 10^−6^``).  The same rules as
    ``typeset`` in ``paper/_extensions/num/num.lua``.

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

    text = _SCIENTIFIC.sub(scientific, text)
    text = _FORMULA.sub(formula, text)
    return _LEADING_MINUS.sub(MINUS, text)


def rows(numbers: Mapping[str, Mapping[str, Any]], ledger: Mapping[str, Mapping[str, Any]],
         accuracy: Mapping[str, Mapping[str, Any]] | None = None) -> list[dict[str, str]]:
    """One Markdown-ready row per number the build computes or the ledger lists.

    Parameters
    ----------
    numbers
        The build's numbers (``numbers.json`` records: ``value``, ``text``, ``unit``).
    ledger
        The ledger's entries (``published``, ``claim``, ``quoted``, ``tolerance``).
    accuracy
        The accepted accuracy table's ``numbers`` (``paper/accuracy.json``): the status
        of a validated number uses its accuracy, as the reproduction report does.

    Returns
    -------
    list of dict
        Sorted by key, each with ``key``, ``what``, ``published``, ``rebuilt``,
        ``difference`` and ``status``, escaped for a Markdown table.
    """
    from paperbuild.report import judge, md_code

    out = []
    for key in sorted(set(numbers) | set(ledger)):
        number, entry = numbers.get(key), ledger.get(key, {})
        what = "; ".join(str(entry[f]) for f in ("quoted", "claim") if entry.get(f))
        shown = None
        if number is not None:
            shown = published(number["text"], number["value"], entry.get("published"), number.get("unit", ""))
        if shown is not None:
            difference = shown.difference
            unit = number.get("unit", "")
            if difference not in ("0", "changed") and unit and unit != "a.u." and unit in number["text"]:
                difference = f"{difference} {unit}"
        out.append({
            "key": md_code(key),
            "what": markdown_printed(what) if what else "–",
            "published": (markdown_printed(shown.text) if shown is not None
                          else markdown_printed(digits(entry["published"])) if _is_number(entry.get("published"))
                          else "–"),
            "rebuilt": markdown_printed(number["text"]) if number is not None else "(not computed)",
            "difference": markdown_printed(difference) if shown is not None else "–",
            "status": judge(key, numbers, ledger, accuracy),
        })
    return out


# (row field, header, relative width, alignment): pandoc reads the widths from the dashes
COLUMNS = (("key", "Key", 20, "left"), ("what", "What the paper says", 30, "left"),
           ("published", "Published", 14, "right"), ("rebuilt", "Rebuilt", 14, "right"),
           ("difference", "Difference", 11, "right"), ("status", "Status", 11, "left"))


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
        shown = published(number["text"], number["value"], ledger.get(key, {}).get("published"), number.get("unit", ""))
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

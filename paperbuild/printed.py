"""How a published value prints beside a rebuilt one, and whether a reader sees a difference.

Shared by the comparison table and the reproduction report, which must agree on it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from paperbuild.ledger import _NUMERAL

MINUS = "\u2212"


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


def published(text: str, value: Any, published_value: Any, unit: str = "",
              published_text: str | None = None) -> Published | None:
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
    published_text
        The ledger's ``published_text``: the published value as the paper prints it
        (``"99.70 %"``, where the value 99.7 lost a digit); it is then shown as it is,
        and its numerals give the published digits.

    Returns
    -------
    Published or None
        None when the paper gives no value.
    """
    from paperbuild.ledger import published_numerals

    if published_value is None:
        return None
    pubs = published_value if isinstance(published_value, list) else [published_value]
    if not all(_is_number(p) for p in pubs):
        same = published_value == value
        return Published(text if same else str(published_text or published_value), not same,
                         "0" if same else "changed")
    printed = published_numerals(published_text, published_value) if published_text else None
    pub_texts = printed or [digits(p) for p in pubs]
    numerals = _numerals(text, value)
    if numerals is not None and len(numerals) == len(pubs):
        pieces, end, differs, differences = [], 0, False, []
        for match, pub_text in zip(numerals, pub_texts):
            shown = Decimal(match.group(0).replace(MINUS, "-"))
            differs |= shown != Decimal(pub_text)
            differences.append(_signed(shown - Decimal(pub_text)))
            pieces += [text[end:match.start()], pub_text]
            end = match.end()
        return Published(published_text if printed else "".join(pieces) + text[end:], differs, _joined(differences))
    # the text does not print the value's digits (e.g. "C/10" for 0.1): compare the values
    values = value if isinstance(value, list) else [value]
    as_printed = published_text if printed else ", ".join(pub_texts) + (f" {unit}" if unit else "")
    if len(values) != len(pubs) or not all(_is_number(v) for v in values):
        return Published(as_printed, True, "changed")
    differences, differs = [], False
    for v, pub_text in zip(values, pub_texts):
        places = Decimal(pub_text).as_tuple().exponent
        rounded = Decimal(repr(float(v))).quantize(Decimal(1).scaleb(min(int(places), 0)))
        differs |= rounded != Decimal(pub_text)
        differences.append(_signed(rounded - Decimal(pub_text)))
    return Published(text if not differs else as_printed, differs, _joined(differences))

"""Keep results out of the prose: every quoted number must come through the shortcode.

Two checks on the paper's Markdown sources:

* every ``{{< num KEY >}}`` names a key the build computes, every
  ``{{< param STEP.NAME >}}`` a parameter the registry declares, and no other
  shortcode than ``num``, ``param`` and ``include`` appears (the fallback renderer
  supports only those);
* no number the build computes, and no method parameter, is typed by hand (a
  parameter's elements count one by one: a q range typed as "0.18" is a copy).  With shortcodes, code, links,
  cross-references, citations and the YAML front matter's non-prose fields removed, a
  number token counts as a hand-typed copy of a registered number when it matches the
  printed text of that number (``"99.70 %"``, ``"C/10"``), or its numeric part written
  with a decimal point at any rounding (``99.7`` for 99.70), or its numeric part
  exactly when that is an integer of two or more digits (``535``).  Single-digit
  integers are left alone: "two cycles", "Figure 1" and the like would drown the
  signal; so is a number followed by a physical unit other than the registered one
  ("10 %" is not a copy of a count of 10).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paperbuild.errors import BuildError, NumberKeyError

SHORTCODE = re.compile(r"\{\{<\s*(\S+)\s*([^>]*?)\s*>\}\}")
SUPPORTED_SHORTCODES = ("num", "param", "include")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_INLINE_CODE = re.compile(r"`[^`]*`")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_ATTRIBUTES = re.compile(r"\{[#.][^}]*\}|\{width=[^}]*\}")
_REFS = re.compile(r"@[A-Za-z][\w:.-]*")
_SUB_SUPERSCRIPT = re.compile(r"~[^~\s]+~|\^[^^\s]+\^")  # chemical formulae: LiNi~0.5~Mn~1.5~O~4~
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]|\.\d)")
_PROSE_META_FIELDS = ("title", "subtitle", "abstract")
_UNITS = {"%", "nm", "µm", "um", "mm", "cm", "Å", "eV", "keV", "V", "mV", "kV", "C", "mAh", "µAh", "K", "°C", "s",
          "h", "min", "mg", "g", "Torr", "mTorr", "W", "pA", "nA", "mrad", "mA", "MPa"}
_FOLLOWING_UNIT = re.compile(r"[\s\u00a0]?(%|[A-Za-zµÅ°]+)")


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class LintError(BuildError):
    """The paper's text quotes a number the wrong way."""


def _prose(text: str) -> str:
    """Blank out everything that is not prose, keeping line numbers."""
    keep_lines = lambda m: "\n" * m.group(0).count("\n")
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        if end > 0:
            kept, field = [], None
            for line in text[: end + 4].split("\n"):
                top = re.match(r"^([\w-]+):", line)
                field = top.group(1) if top else field
                kept.append(line if field in _PROSE_META_FIELDS else "")
            text = "\n".join(kept) + text[end + 4:]
    text = _FENCE.sub(keep_lines, text)
    text = re.sub(r"<!--.*?-->", keep_lines, text, flags=re.S)
    for pattern in (SHORTCODE, _INLINE_CODE, _LINK_TARGET, _ATTRIBUTES, _REFS, _SUB_SUPERSCRIPT):
        text = pattern.sub(" ", text)
    return text


def _numeric_head(text: str) -> str | None:
    match = re.match(r"-?\d+(?:\.\d+)?", text)
    return match.group(0) if match else None


def typed_numbers(text: str, numbers: Mapping[str, Mapping[str, Any]]) -> list[tuple[int, str, str]]:
    """Find numbers typed into the prose by hand, which would go stale when the build changes.

    The matching rules are the module's (printed text, any rounding with a decimal
    point, integers of two or more digits; a different following unit is no copy).

    Parameters
    ----------
    text
        A document's Markdown source.
    numbers
        Registered values as records with ``text``, ``value`` and ``unit``.

    Returns
    -------
    list of tuple of (int, str, str)
        ``(line, token, key)`` for each copy, sorted and without repeats.
    """
    prose = _prose(text)
    found = []
    for key, rec in numbers.items():
        printed = str(rec.get("text", ""))
        value = rec.get("value")
        head = _numeric_head(printed)
        forms = {printed, printed.replace(" ", "\u00a0")} if re.search(r"\d", printed) else set()
        for form in forms:
            if len(form) >= 3 or not form.isdigit():
                for m in re.finditer(rf"(?<![\w.]){re.escape(form)}(?![\w]|\.\d)", prose):
                    unit = _FOLLOWING_UNIT.match(prose, m.end())
                    if (_numeric_head(form) == form and unit and unit.group(1) in _UNITS
                            and not str(rec.get("unit", "")).startswith(unit.group(1))):
                        continue  # a bare count is not copied by "100 nm" or "100 K"
                    found.append((prose.count("\n", 0, m.start()) + 1, form, key))
        for m in _NUMBER.finditer(prose):
            token = m.group(0)
            line = prose.count("\n", 0, m.start()) + 1
            unit = _FOLLOWING_UNIT.match(prose, m.end())
            if unit and unit.group(1) in _UNITS and not str(rec.get("unit", "")).startswith(unit.group(1)):
                continue  # "10 %" is not a copy of a count of 10, nor "5 nm" of 5 C
            if "." in token and isinstance(value, (int, float)) and not isinstance(value, bool):
                decimals = len(token.split(".")[1])
                if abs(float(token) - round(float(value), decimals)) < 0.5 * 10 ** -(decimals + 3):
                    found.append((line, token, key))
            elif head is not None and "." not in head and len(head.lstrip("-")) >= 2 and token == head:
                found.append((line, token, key))
    return sorted(set(found))


def load_params(path: Path) -> dict[str, dict[str, Any]]:
    """Read the method parameters the paper may quote; a missing file is a user error, not a bug.

    Parameters
    ----------
    path
        The build's ``params.json``.

    Returns
    -------
    dict
        Key ``step.name`` -> record with ``value``, ``unit``, ``text``, ``step`` and ``why``.

    Raises
    ------
    NumberKeyError
        The file is missing or not JSON.
    """
    import json

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NumberKeyError(f"{path}: parameters file is missing (has the build run?)") from None
    except json.JSONDecodeError as err:
        raise NumberKeyError(f"{path}: not valid JSON ({err})") from None


def _parameter_forms(params: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Parameters as lint entries: the whole printed form, and each element of a tuple."""
    forms: dict[str, dict[str, Any]] = {}
    for key, rec in params.items():
        value = rec.get("value")
        if isinstance(value, list):
            forms[key] = {"text": rec.get("text", ""), "unit": rec.get("unit", ""), "value": None}
            for i, item in enumerate(value):
                forms[f"{key}[{i}]"] = {"text": f"{item:g}" if isinstance(item, float) else str(item),
                                        "unit": rec.get("unit", ""), "value": item}
        else:
            forms[key] = {"text": rec.get("text", ""), "unit": rec.get("unit", ""), "value": value}
    return forms


def problems(path: Path, text: str, numbers: Mapping[str, Mapping[str, Any]],
             params: Mapping[str, Mapping[str, Any]] | None = None) -> list[Problem]:
    """Every way one document breaks the quoting rules, so all can be fixed in one pass.

    Parameters
    ----------
    path
        The document, for messages.
    text
        Its Markdown source.
    numbers, params
        The build's numbers and method parameters (records with ``text``, ``value``, ``unit``).

    Returns
    -------
    list of Problem
        Unknown keys, unsupported shortcodes and hand-typed copies, in source order.
    """
    params = params or {}
    out = []
    for m in SHORTCODE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        name, args = m.group(1), m.group(2).split()
        if name not in SUPPORTED_SHORTCODES:
            out.append(Problem(path, line, f"shortcode '{name}' is outside the supported subset {SUPPORTED_SHORTCODES}"))
        elif name == "num" and (len(args) != 1 or args[0] not in numbers):
            key = " ".join(args) or "(none)"
            out.append(Problem(path, line, f"unknown number key '{key}': no step computes it"))
        elif name == "param" and (len(args) != 1 or args[0] not in params):
            key = " ".join(args) or "(none)"
            out.append(Problem(path, line, f"unknown parameter key '{key}': no step declares it"))
    for line, token, key in typed_numbers(text, numbers):
        out.append(Problem(path, line, f"'{token}' is typed by hand; quote {key} with {{{{< num {key} >}}}}"))
    for line, token, key in typed_numbers(text, _parameter_forms(params)):
        whole = key.split("[")[0]
        out.append(Problem(path, line, f"'{token}' is typed by hand; it is method parameter {whole}, "
                                       f"quote it with {{{{< param {whole} >}}}}"))
    return sorted(out, key=lambda p: p.line)


def check(paths: list[Path], numbers: Mapping[str, Mapping[str, Any]],
          params: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """Enforce the quoting rules on the whole paper, reporting every problem at once.

    Parameters
    ----------
    paths
        The paper's Markdown sources.
    numbers
        The build's numbers (``numbers.json`` records).
    params
        The build's method parameters (``params.json`` records); None means none.

    Raises
    ------
    LintError
        A number or parameter is typed by hand, or a shortcode is unsupported.
    NumberKeyError
        The only problems are unknown number or parameter keys.
    """
    found: list[Problem] = []
    for path in paths:
        found += problems(Path(path), Path(path).read_text(encoding="utf-8"), numbers, params)
    if found:
        unknown_only = all(p.message.startswith(("unknown number key", "unknown parameter key")) for p in found)
        kind = NumberKeyError if unknown_only else LintError
        raise kind(f"{len(found)} problem(s) in the paper's text:\n  " + "\n  ".join(map(str, found)))

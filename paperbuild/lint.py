"""Keep results out of the prose: every quoted number must come through the shortcode.

Two checks on the paper's Markdown sources:

* every ``{{< num KEY >}}`` (or ``{{< num KEY vs >}}``) names a key the build computes, every
  ``{{< param STEP.NAME >}}`` a parameter the registry declares, every
  ``{{< accuracy KEY [STAT] >}}`` a number the accepted validation covers, and no other
  shortcode than ``num``, ``param``, ``accuracy`` and ``include`` appears (the fallback
  renderer supports only those);
* no number the build computes, and no method parameter, is typed by hand.

What is read
    Everything a reader of the rendered documents sees: prose, headings, table cells,
    figure and table captions (also ``fig-cap``, ``tbl-cap`` and ``fig-alt`` attributes and
    link titles), footnotes, math, sub- and superscripts, inline code and code blocks, raw
    HTML (blocks, inline tags, the ``title`` and ``alt`` of a tag, ``{=html}`` raw blocks
    and spans), and every string of the YAML front matter.  Left out is what a reader
    never sees as a quantity: shortcodes, HTML comments, link and image targets, URLs,
    DOIs, e-mail addresses, ISO dates, citation keys and their locators ("p. 2484"),
    cross-references, numbered references ("Figure 5C", "section 3.4", "Eq. 2"),
    attribute blocks (ids, classes, ``width=48%``), tag names and other tag attributes,
    the front matter's keys, its file fields (``bibliography``, ``csl``, ``format`` ...)
    and its bare numbers, booleans and dates (settings such as ``toc-depth: 3``), a
    formula's subscripts (``Li~3~PO~4~``, ``LiNi~0.5~Mn~1.5~O~4~``, ``L~2,3~``: a
    subscript right after a letter or bracket), a unit's one-digit exponent (``Å⁻¹``),
    and a power of ten with its exponent (``10^16^``, ``$10^{-6}$``, ``10¹⁶``).  Any
    other sub- or superscript is read like prose (``^76.4^``).

How a number is read
    As the reader would read it, whatever its spelling in the source: HTML entities are
    decoded; backslash escapes, emphasis markers inside a number, inline tags, span and
    link brackets, HTML comments and zero-width characters are dropped (``99.**70**``,
    ``<b>99</b>.70``, ``5&#8203;35`` read 99.70 and 535); a decimal comma is a decimal
    point (``99,70``; ``4,001`` reads both 4.001 and 4001, a thousands separator being
    possible); thin, narrow no-break and figure spaces between groups of three digits
    group digits (``4 001``), other spaces separate a number from its unit; full-width
    and other Unicode digits count; a number glued to its unit (``76nm``) counts.  The
    sign is not compared: ``−1.15``, ``–1.15``, ``-1.15`` and ``1.15`` all copy −1.15,
    since a shift "by 1.15 eV" restates a shift of −1.15 eV.

When a number is a copy
    Each registered number and parameter is compared, and so is each element of a
    list-valued one (every value of a stoichiometry, of a list of peak energies, of a
    range), paired with its own digits in the printed text.  A token copies it when it

    * matches the printed text whole (``"99.70 %"``, ``"C/10"``, ``"Li2.84PO3.36N0.38"``);
    * is the value itself (``0.5`` for a value 0.5 printed "0.50");
    * has at least as many decimals as the printed text and equals the printed number,
      extra trailing zeros allowed (``76.40`` for "76.4 nm"), or the value rounded to
      its decimals (``76.44`` for 76.437);
    * has one decimal fewer than the printed text, keeps at least two significant
      digits, and equals the printed number or the value rounded to it (``76`` for
      "76.4 nm", ``99.7`` for "99.70 %", ``1.2`` for "-1.15 eV").  A coarser rounding
      ("99" for "98.83 %", "100" for "99.70 %") or one down to a single significant digit
      ("0.4" for "0.42 eV") says little more than an order of magnitude and collides with
      reference lines ("the 99 % line"), cycle numbers and figure numbers, so it is left
      alone: flagging it would drown the signal in false alarms.  A list element whose
      digits cannot be paired with the printed text counts at any rounding that keeps
      two significant digits.

    Never a copy: an integer of one digit ("two cycles", "Figure 1", "5 points"), zero,
    a number followed by a physical unit or a time span other than the registered unit
    ("10 %" is not a copy of a count of 10, nor "535 nm" of 535 cycles, nor "12 months"
    of 12.0 nm), and a number in a formula (a decimal subscript after an element, or a
    decimal glued to one as in ``Li2.8PO3.4``) unless the registered number is itself
    printed as a formula.

Marking a literal that is not a result
    A number that is no result of the build (a value quoted from the original article, a
    misprint the text discusses) is marked as a Pandoc span with the class ``literal``:
    ``[203 %]{.literal}``.  Quarto and the fallback renderer print the span's text as is.
    A span marks one number (or one formula, ``[Li~2.9~PO~3.3~N~0.46~]{.literal}``): a
    ``.literal`` span holding more is reported, so a passage cannot be exempted
    wholesale.  The same class on inline code (```` `x = 535`{.literal} ````) or on a
    code block (```` ```{.literal} ````) exempts that listing.

Every problem names its file and line.
"""
from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from paperbuild.errors import BuildError, NumberKeyError

SHORTCODE = re.compile(r"\{\{<\s*(\S+)\s*([^>]*?)\s*>\}\}")
SUPPORTED_SHORTCODES = ("num", "param", "accuracy", "include")
NUM_OPTIONS = ("vs",)  # {{< num KEY vs >}}: the rebuilt value, and the published one where it differs
LITERAL_CLASS = "literal"

_UNITS = {"%", "nm", "µm", "um", "mm", "cm", "m", "Å", "eV", "keV", "meV", "V", "mV", "kV", "C", "mAh", "µAh", "K",
          "°C", "s", "ms", "µs", "ns", "h", "min", "d", "hours", "days", "weeks", "months", "years", "mg", "g", "kg",
          "µg", "Torr", "mTorr", "mbar", "bar", "Pa", "kPa", "MPa", "GPa", "W", "mW", "J", "kJ", "pA", "nA", "µA", "mA",
          "A", "mrad", "Hz", "kHz", "MHz", "GHz", "M", "mM", "mol", "L", "mL", "µL"}

# Characters a reader does not see, and spellings of spaces and minus signs.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u2061\u2062\u2063\u2064\u180e"))
_GROUP_SPACES = "\u2009\u202f\u2007"  # thin, narrow no-break, figure space: SI digit grouping
_SPACES = "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2008\u200a\u205f\u3000\t"
_DASHES = "\u2212\u2010\u2011\u2012\u2013\u2014\u2015\ufe58\ufe63\uff0d\u02d7"
_FOR_NUMBERS = str.maketrans({**{c: " " for c in _SPACES}, **{c: "\u2009" for c in _GROUP_SPACES},
                              **{c: "-" for c in _DASHES}, "\u03bc": "\u00b5", "\u212b": "\u00c5"})
_FOR_FORMS = str.maketrans({**{c: " " for c in _SPACES + _GROUP_SPACES}, **{c: "-" for c in _DASHES},
                            "\u03bc": "\u00b5", "\u212b": "\u00c5"})

# Markdown, HTML and YAML constructs, in the order they are taken apart.
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)??(?:---|\.\.\.)[ \t]*$", re.S | re.M)
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[ \t]*([^\n]*)\n(.*?)^[ \t]{0,3}\1[`~]*[ \t]*$", re.S | re.M)
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)((?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)(\{[^{}\n]*\})?", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_DISPLAY_MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?![\s$])((?:[^$\\\n]|\\.|\n(?![ \t]*\n))+?)(?<![\s\\])\$(?!\d)")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~ ])")
_SPAN = re.compile(r"\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\{([^{}\n]*)\}")
_BRACKETED = re.compile(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\](?=[({])")
_FOOTNOTE_LABEL = re.compile(r"\[\^[^\]\s]+\]:?")
_LINK_TARGET = re.compile(r"\]\(\s*(?:<[^>\n]*>|[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)"
                          r"(?:\s+(\"[^\"]*\"|'[^']*'|\([^()]*\)))?\s*\)")
_LINK_DEFINITION = re.compile(r"^[ ]{0,3}\[[^\]\n]+\]:[ \t]*\S+(?:[ \t]+(\"[^\"\n]*\"|'[^'\n]*'|\([^)\n]*\)))?[ \t]*$",
                              re.M)
_URL = re.compile(r"(?:https?|ftp|file)://[^\s<>()\[\]{}\"']+|www\.[^\s<>()\[\]{}\"']+")
_DOI = re.compile(r"(?i)\bdoi:\s*\S+|\b10\.\d{4,9}/[^\s<>()\[\]{}\"']+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ATTRIBUTES = re.compile(r"\{([^{}\n]*)\}")
_ATTRIBUTE = re.compile(r"""\s*(?:\#[^\s}]+|\.[^\s}]+|=[^\s}]+
                           |(?P<key>[\w:-]+)=(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|[^\s"'}]*))\s*""", re.X)
_CAPTION_KEYS = {"fig-cap", "tbl-cap", "lst-cap", "fig-scap", "fig-subcap", "fig-alt", "tbl-alt", "title", "alt",
                 "caption"}
_CITATION_GROUP = re.compile(r"\[[^\[\]\n]*@[^\[\]\n]*\]")
_LOCATOR = re.compile(r"(?i)(?<!\w)(?:p|pp|pages?|ch|chap|chapters?|sec|sections?|§|para|paragraphs?|vol|volumes?"
                      r"|no|fig|figs|figures?|eqs?|tables?|tbl|lines?|col|notes?|n)\.?\s*\d[\w,\s" + _DASHES + r"-]*")
_CITATION_KEY = re.compile(r"-?@(?:\{[^}\n]*\}|[A-Za-z_][\w:.#$%&+?~/-]*)")
_REFERENCE = re.compile(r"(?i)(?<!\w)(?:fig(?:ure)?s?|tab(?:le)?s?|sec(?:tion)?s?|§§?|eqs?|equations?"
                        r"|chap(?:ter)?s?|panels?|appendix|refs?|references?|pp?\.|pages?|lines?|schemes?|notes?)"
                        r"\.?[ \t]*S?\d+(?:\.\d+)*[A-Za-z]?"
                        r"(?:\s*(?:,|and|or|to|[-\u2013\u2014])\s*S?\d+(?:\.\d+)*[A-Za-z]?)*")
_ISO_DATE = re.compile(r"(?<![\d.])\d{4}-\d{2}-\d{2}(?!\d)")
_STRIKEOUT = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_SUBSCRIPT = re.compile(r"(?<!~)~([^~\s]+)~(?!~)")
_SUPERSCRIPT = re.compile(r"\^([^\^\s]+)\^")
_HTML_SCRIPT = re.compile(r"<(sub|sup)\b[^<>]*>([^<]*)</\1\s*>", re.I)
_UNICODE_SUPERSCRIPT = re.compile("[\u2070\u00b9\u00b2\u00b3\u2074-\u2079\u207a\u207b]+")
_UNICODE_SUBSCRIPT = re.compile("[\u2080-\u2089]+(?:[.,][\u2080-\u2089]+)?")
_SCRIPT_DIGITS = str.maketrans("\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207a\u207b"
                               "\u2080\u2081\u2082\u2083\u2084\u2085\u2086\u2087\u2088\u2089", "0123456789+-0123456789")
_HIDDEN_ELEMENT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.S | re.I)
_TAG = re.compile(r"</?([A-Za-z][\w-]*)((?:\s+[^\s<>\"'=/]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'<>=`]+))?)*)\s*/?>")
_VISIBLE_ATTRIBUTE = re.compile(r"""\b(?:title|alt)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
_INLINE_TAGS = {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i", "ins", "kbd",
                "mark", "q", "s", "samp", "small", "span", "strong", "time", "tt", "u", "var", "wbr"}
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")
_EMPHASIS_IN_NUMBER = re.compile(r"(?<=\d)[*_]+|(?<=\d[.,])[*_]+|[*_]+(?=[.,]?\d)")

_META_FILES = {"bibliography", "csl", "css", "filters", "format", "template", "template-partials",
               "include-in-header", "include-before-body", "include-after-body", "resources", "output-file",
               "output-dir", "reference-doc", "logo", "favicon", "image", "cover-image", "execute", "jupyter", "engine",
               "knitr", "freeze", "lang", "doi", "url", "orcid", "email"}
_META_PROSE = {"title", "subtitle", "abstract", "description", "keywords", "summary", "thanks", "note", "subject"}
_PATH_LIKE = re.compile(r"[\w.~/\\-]*(?:/[\w.~/\\-]*|\.[A-Za-z]\w*)")

# Numbers in what the reader sees.
_NUMBER = re.compile(r"""
    (?<![\w.,])(?<![^\W\d]-)                 # not inside a word, a number or a name such as fig-76
    (?P<sign>-(?=\.?\d))?
    (?P<body>\d+(?:(?:[.,]|\u2009(?=\d{3}(?!\d)))\d+)*|\.\d+)
    (?=[^\W\d_]*(?!\w))                      # a unit may be glued on (76nm, 5C), nothing else
""", re.X)
_GLUED_DECIMAL = re.compile(r"(?<=[A-Za-z)\]])\d+\.\d+(?!\d)")  # Li2.84PO3.36: a formula's amounts
_FOLLOWING_UNIT = re.compile(r"[ \u2009]*-?(%|[^\W\d_]+)")
_PRINTED_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Problem:
    """One break of the quoting rules, at a file and line."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class LintError(BuildError):
    """The paper's text quotes a number the wrong way."""


@dataclass(frozen=True)
class Visible:
    """What a reader sees of a source (see `reader_text`)."""

    text: str
    where: list[int]  # per visible character: index of its source character
    ends: list[int]  # ... and where that character's source ends (an entity is longer)
    formula: bytearray  # per source character: an amount inside a chemical formula
    malformed: list[tuple[int, str]]  # (source index, message) of literal spans marking several numbers

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The source span of visible characters ``start:end``."""
        return self.where[start], self.ends[end - 1]


class _Reading:
    """A source reduced, character by character, to what its reader sees.

    ``out[i]`` is what source character ``i`` becomes ("" when it disappears, " " when it
    only separates its neighbours); a claimed character takes no part in later Markdown
    passes (code, math, markup already taken apart), which see it as a space.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.out = list(text)
        self.claimed = bytearray(len(text))
        self.formula = bytearray(len(text))
        self.ends = list(range(1, len(text) + 1))  # where the source of each piece ends

    def view(self) -> str:
        return "".join(" " if claimed and c != "\n" else c for c, claimed in zip(self.text, self.claimed))

    def blank(self, start: int, end: int) -> None:
        for i in range(start, end):
            self.out[i] = "\n" if self.text[i] == "\n" else " "
            self.claimed[i] = 1

    def drop(self, start: int, end: int) -> None:
        for i in range(start, end):
            self.out[i] = "\n" if self.text[i] == "\n" else ""
            self.claimed[i] = 1

    def keep(self, start: int, end: int) -> None:
        for i in range(start, end):
            self.claimed[i] = 1

    def put(self, start: int, end: int, text: str) -> None:
        self.drop(start, end)
        self.out[start] = text
        self.ends[start] = end

    def finish(self, malformed: list[tuple[int, str]]) -> Visible:
        chars: list[str] = []
        where: list[int] = []
        ends: list[int] = []
        for i, piece in enumerate(self.out):
            piece = piece.translate(_INVISIBLE)
            chars.append(piece)
            where.extend([i] * len(piece))
            ends.extend([self.ends[i]] * len(piece))
        return Visible("".join(chars), where, ends, self.formula, malformed)


def _front_matter(r: _Reading) -> None:
    """Keep the front matter's strings; blank its keys, settings and file fields."""
    match = _FRONT_MATTER.match(r.text)
    if not match:
        return
    body = match.group(1) or ""
    offset = match.start(1) if match.group(1) is not None else match.end()
    keep = bytearray(len(r.text))
    for start, end, replacement in _yaml_strings(body):
        for i in range(offset + start, offset + end):
            keep[i] = 1
        if replacement is not None:
            r.put(offset + start, offset + end, replacement)
    for i in range(match.start(), match.end()):
        if not keep[i]:
            r.blank(i, i + 1)


def _yaml_strings(body: str) -> list[tuple[int, int, str | None]]:
    """Spans of the strings a reader may see, with the decoded text of escaped ones."""
    import yaml

    try:
        root = yaml.compose(body, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return [(0, len(body), None)]  # unreadable (the renderer will say so): read all of it
    spans: dict[tuple[int, int], str | None] = {}

    def walk(node: Any, keys: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = str(key.value).lower() if isinstance(key, yaml.ScalarNode) else ""
                if name not in _META_FILES:
                    walk(value, keys + (name,))
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item, keys)
        elif isinstance(node, yaml.ScalarNode):
            prose = any(k in _META_PROSE for k in keys)
            if not prose and (node.style is None and node.tag != "tag:yaml.org,2002:str"
                              or _PATH_LIKE.fullmatch(node.value)):
                return  # a bare number, boolean, date or null is a setting; a path is a file
            start, end = node.start_mark.index, node.end_mark.index
            escaped = node.style == '"' and "\\" in body[start:end]
            spans[(start, end)] = " " + node.value.replace("\n", " ") + " " if escaped else None

    if root is not None:
        walk(root, ())
    return [(s, e, text) for (s, e), text in spans.items()]


def _code(r: _Reading) -> None:
    """Code blocks and spans are read verbatim; raw HTML in them as HTML; ``.literal`` ones not at all."""
    for m in _FENCE.finditer(r.view()):
        info = m.group(2)
        if re.search(rf"(?:^|[\s{{]){re.escape('.' + LITERAL_CLASS)}(?=[\s}}]|$)", info):
            r.blank(m.start(), m.end())
            continue
        r.blank(m.start(), m.start(3))
        r.blank(m.end(3), m.end())
        if not re.fullmatch(r"\{\s*=\s*[\w-]+\s*\}", info.strip()):
            r.keep(m.start(3), m.end(3))
    for m in _CODE_SPAN.finditer(r.view()):
        attrs = m.group(3) or ""
        if _has_literal_class(attrs):
            r.blank(m.start(), m.end())
            continue
        r.blank(m.start(), m.start(2))
        r.blank(m.end(2), m.end())
        if not re.fullmatch(r"\{\s*=\s*[\w-]+\s*\}", attrs):
            r.keep(m.start(2), m.end(2))


def _has_literal_class(attrs: str) -> bool:
    return bool(re.search(rf"(?:^|[\s{{])\.{LITERAL_CLASS}(?=[\s}}]|$)", attrs))


def _math(r: _Reading) -> None:
    """TeX math is read as numbers and words: commands, spacing and braces go, powers of ten too."""
    for pattern in (_DISPLAY_MATH, _INLINE_MATH):
        for m in pattern.finditer(r.view()):
            s, e = m.start(1), m.end(1)
            content = r.text[s:e]
            r.blank(m.start(), s)
            r.blank(e, m.end())
            for t in re.finditer(r"(?<![\d.])10\s*\^\s*(?:\{\s*[-+\u2212]?\s*\d+\s*\}|[-+]?\d)", content):
                r.blank(s + t.start(), s + t.end())
            for t in re.finditer(r"\\[A-Za-z]+|\\[,;:! ]|~", content):
                r.blank(s + t.start(), s + t.end())
            for t in re.finditer(r"\{,\}", content):
                r.drop(s + t.start(), s + t.start() + 1)
                r.drop(s + t.end() - 1, s + t.end())
            for t in re.finditer(r"\\(?=[%$&#_{}])", content):
                r.drop(s + t.start(), s + t.end())
            for t in re.finditer(r"(?<=[A-Za-z)\]}])_(?:\{([^{}]*)\}|(\w))", content):
                group = 1 if t.group(1) is not None else 2
                _subscript_after_letter(r, s + t.start(group), s + t.end(group))
            r.keep(s, e)
            for i in range(s, e):
                if r.out[i] == r.text[i] and r.text[i] in "{}^_":
                    r.blank(i, i + 1)


def _subscript_after_letter(r: _Reading, start: int, end: int) -> None:
    """A formula's subscript: integers, fractions and variables are chemistry; decimals are amounts."""
    if re.search(r"\d[.]\d", r.text[start:end]):
        for i in range(start, end):
            r.formula[i] = 1
        r.keep(start, end)
    else:
        r.blank(start, end)


def _literal_spans(r: _Reading, found: list[tuple[int, str]]) -> None:
    """``[text]{.literal}`` is read as nothing; one holding several numbers is a problem."""
    for m in _SPAN.finditer(r.view()):
        if not _has_literal_class(m.group(2)):
            continue
        content = re.sub(r"(?<=[A-Za-z)\]])(?:~[^~\s]+~|\d+(?:\.\d+)?)", "", m.group(1))  # a formula is one literal
        count = len(re.findall(r"\d+(?:[.,]\d+)*", content))
        if count > 1:
            found.append((m.start(), f"'{r.text[m.start():m.end()]}' marks {count} numbers as literal; "
                                     f"a .{LITERAL_CLASS} span marks one number, so give each its own span"))
        r.blank(m.start(), m.end())


def _links(r: _Reading) -> None:
    """Link targets, URLs, DOIs and addresses go; a link's title stays (it shows as a tooltip)."""
    for m in _FOOTNOTE_LABEL.finditer(r.view()):
        r.blank(m.start(), m.end())
    for m in _BRACKETED.finditer(r.view()):
        r.drop(m.start(), m.start(1))  # a span's or link's brackets do not show: 53[5]{.mark} reads 535
        r.drop(m.end(1), m.end())
    for pattern in (_LINK_TARGET, _LINK_DEFINITION):
        for m in pattern.finditer(r.view()):
            title = m.span(1) if m.group(1) else (m.end(), m.end())
            r.blank(m.start(), title[0] + 1 if m.group(1) else m.end())
            if m.group(1):
                r.blank(title[1] - 1, m.end())
    for pattern in (_URL, _DOI, _EMAIL):
        for m in pattern.finditer(r.view()):
            r.blank(m.start(), m.end())


def _attributes(r: _Reading) -> None:
    """Attribute blocks go (ids, classes, widths) except the captions they carry."""
    for m in _ATTRIBUTES.finditer(r.view()):
        inner, pos, keep = m.group(1), 0, []
        while pos < len(inner):
            item = _ATTRIBUTE.match(inner, pos)
            if not item or item.end() == pos:
                break
            if item.group("key") and item.group("key").lower() in _CAPTION_KEYS:
                value = "dq" if item.group("dq") is not None else "sq" if item.group("sq") is not None else None
                if value:
                    keep.append((m.start(1) + item.start(value), m.start(1) + item.end(value)))
            pos = item.end()
        if pos < len(inner):
            continue  # braces in prose, not attributes
        edges = [m.start()] + [x for span in keep for x in span] + [m.end()]
        for start, end in zip(edges[::2], edges[1::2]):
            r.blank(start, end)


def _citations(r: _Reading) -> None:
    """Citation keys, cross-references, numbered references ("Figure 5C", "section 3.4") and
    locators in a citation ("p. 2484") go."""
    for m in _CITATION_GROUP.finditer(r.view()):
        for t in _LOCATOR.finditer(m.group(0)):
            r.blank(m.start() + t.start(), m.start() + t.end())
    for pattern in (_CITATION_KEY, _REFERENCE, _ISO_DATE):
        for m in pattern.finditer(r.view()):
            r.blank(m.start(), m.end())


def _scripts(r: _Reading) -> None:
    """Sub- and superscripts are read as prose, except a formula's subscripts and powers of ten."""
    for m in _STRIKEOUT.finditer(r.view()):
        r.blank(m.start(), m.start(1))
        r.blank(m.end(1), m.end())
    view = r.view()
    marks = [(m, "sub", 1) for m in _SUBSCRIPT.finditer(view)]
    marks += [(m, "sup", 1) for m in _SUPERSCRIPT.finditer(view)]
    marks += [(m, m.group(1).lower(), 2) for m in _HTML_SCRIPT.finditer(view)]
    for m, kind, group in sorted(marks, key=lambda x: x[0].start()):
        if r.claimed[m.start()]:
            continue  # inside an earlier script
        content, before = m.group(group), view[max(0, m.start() - 3):m.start()]
        r.blank(m.start(), m.start(group))
        r.blank(m.end(group), m.end())
        if kind == "sub" and re.search(r"[A-Za-z)\]]$", before):
            _subscript_after_letter(r, m.start(group), m.end(group))
        elif kind == "sup" and re.fullmatch(r"[-+\u2212]?\d+", content) and re.search(r"(?<![\d.,])10$", before):
            r.blank(m.start() - 2, m.end())
        else:
            r.keep(m.start(group), m.end(group))
    view = r.view()
    for m in _UNICODE_SUPERSCRIPT.finditer(view):
        before = view[max(0, m.start() - 3):m.start()]
        if re.search(r"(?<![\d.,])10$", before):
            r.blank(m.start() - 2, m.end())
        elif re.search(r"[^\W\d_)]$", before) and len(m.group(0).lstrip("\u207a\u207b")) == 1:
            r.keep(m.start(), m.end())  # a unit's exponent (Å⁻¹, cm²), as the registered units print it
        else:
            _translate(r, m.start(), m.end(), boundary=True)
    for m in _UNICODE_SUBSCRIPT.finditer(view):
        if re.search(r"[A-Za-z)\]]$", view[max(0, m.start() - 1):m.start()]):
            _translate(r, m.start(), m.end(), boundary=False)
            _subscript_after_letter(r, m.start(), m.end())
        else:
            _translate(r, m.start(), m.end(), boundary=True)


def _translate(r: _Reading, start: int, end: int, boundary: bool) -> None:
    for i in range(start, end):
        r.out[i] = r.text[i].translate(_SCRIPT_DIGITS)
        r.claimed[i] = 1
    if boundary:
        r.out[start] = " " + r.out[start]


def _html(r: _Reading) -> None:
    """Tags go (inline ones join their neighbours, as a reader sees them); titles and alts stay."""
    for m in _HIDDEN_ELEMENT.finditer(r.view()):
        r.blank(m.start(), m.end())
    for m in _TAG.finditer(r.view()):
        inline = m.group(1).lower() in _INLINE_TAGS
        keep = []
        for a in _VISIBLE_ATTRIBUTE.finditer(m.group(2)):
            group = 1 if a.group(1) is not None else 2
            keep.append((m.start(2) + a.start(group), m.start(2) + a.end(group)))
        edges = [m.start()] + [x for span in keep for x in span] + [m.end()]
        for start, end in zip(edges[::2], edges[1::2]):
            (r.drop if inline and not keep else r.blank)(start, end)


def _entities(r: _Reading) -> None:
    for m in _ENTITY.finditer(r.view()):
        decoded = html.unescape(m.group(0))
        if decoded != m.group(0):
            r.put(m.start(), m.end(), decoded.replace("\n", " ").replace("\r", " "))


def _escapes(r: _Reading) -> None:
    """``\\.`` is a period, ``\\ `` a no-break space; the escaped character is no markup."""
    for m in _ESCAPE.finditer(r.view()):
        r.drop(m.start(), m.start() + 1)
        r.keep(m.start(1), m.end(1))
        if m.group(1) == " ":
            r.out[m.start(1)] = "\u00a0"


def _emphasis(r: _Reading) -> None:
    for m in _EMPHASIS_IN_NUMBER.finditer(r.view()):
        r.drop(m.start(), m.end())


def reader_text(text: str) -> Visible:
    """What a reader of the rendered document sees, mapped back to the source.

    Parameters
    ----------
    text
        A document's Markdown source.

    Returns
    -------
    Visible
        The visible text with, for each of its characters, the span of source it comes
        from, the amounts inside formulae and the malformed literal spans.
    """
    r = _Reading(text)
    found: list[tuple[int, str]] = []
    for m in SHORTCODE.finditer(text):
        r.blank(m.start(), m.end())
    _front_matter(r)
    _code(r)
    for m in _COMMENT.finditer(r.view()):
        r.drop(m.start(), m.end())
    _math(r)
    _escapes(r)
    _literal_spans(r, found)
    _links(r)
    _attributes(r)
    _citations(r)
    _scripts(r)
    _html(r)
    _entities(r)
    _emphasis(r)
    return r.finish(found)


@dataclass(frozen=True)
class _Token:
    start: int  # in the visible text
    end: int
    readings: tuple[str, ...]
    formula: bool


def _ascii(number: str) -> str:
    return "".join(c if c in "0123456789." else str(unicodedata.decimal(c)) for c in number)


def _items(body: str) -> list[tuple[int, int, tuple[str, ...]]]:
    """The numbers a run of digits and separators holds: ``(start, end, readings)`` each."""
    compact = body.replace("\u2009", "")
    parts = compact.split(",")
    if len(parts) == 1:
        return [(0, len(body), (compact,))] if compact.count(".") <= 1 else []  # 1.2.3 is a version
    if "." not in compact:
        if len(parts) == 2:
            readings = [parts[0] + "." + parts[1]]  # a decimal comma ...
            if len(parts[1]) == 3 and len(parts[0]) <= 3:
                readings.append(parts[0] + parts[1])  # ... or a thousands separator
            return [(0, len(body), tuple(readings))]
        if len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:]):
            return [(0, len(body), ("".join(parts),))]
    elif re.fullmatch(r"\d{1,3}(?:,\d{3})+\.\d+", compact):
        return [(0, len(body), (compact.replace(",", ""),))]
    elif re.fullmatch(r"\d{1,3}(?:\.\d{3})+,\d+", compact):
        return [(0, len(body), (compact.replace(".", "").replace(",", "."),))]
    out, pos = [], 0
    for piece in body.split(","):  # a list written without spaces (0.86,0.69)
        plain = piece.replace("\u2009", "")
        if plain and plain.count(".") <= 1:
            out.append((pos, pos + len(piece), (plain,)))
        pos += len(piece) + 1
    return out


def _tokens(visible: Visible) -> Iterator[_Token]:
    numbers, where, formula = visible.text.translate(_FOR_NUMBERS), visible.where, visible.formula
    for m in _NUMBER.finditer(numbers):
        items = _items(m.group("body"))
        for start, end, readings in items:
            s, e = m.start("body") + start, m.start("body") + end
            if m.group("sign") and len(items) == 1:
                s = m.start()
            readings = tuple(_ascii(x) for x in readings)
            yield _Token(s, e, readings, any(formula[where[i]] for i in range(s, e)))
    for m in _GLUED_DECIMAL.finditer(numbers):
        yield _Token(m.start(), m.end(), (_ascii(m.group(0)),), True)


@dataclass(frozen=True)
class _Target:
    """One registered number (or one element of a list-valued one) to look for."""

    key: str
    param: bool
    value: Decimal  # magnitude
    printed: Decimal | None  # the digits the build prints for it, if they can be told
    decimals: int
    unit: str
    formula: bool


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = abs(Decimal(str(value)))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _targets(records: Mapping[str, Mapping[str, Any]], param: bool) -> list[_Target]:
    out = []
    for key, rec in records.items():
        text = str(rec.get("text") or "").translate(_FOR_FORMS)
        unit = str(rec.get("unit") or "").translate(_FOR_FORMS)
        value = rec.get("value")
        formula = bool(re.search(r"[A-Z][a-z]?\d", text))
        if isinstance(value, list):
            values = [_decimal(v) for v in value]
            printed = _PRINTED_NUMBER.findall(text)
            if len(printed) != len(values):
                printed = [None] * len(values)
        else:
            values = [_decimal(value)]
            head = re.match(r"\s*-?(\d+(?:\.\d+)?)", text)
            printed = [head.group(1) if head else None]
        for v, p in zip(values, printed):
            if v is None or v == 0:
                continue
            digits = Decimal(p) if p is not None else None
            decimals = len(p.split(".")[1]) if p is not None and "." in p else 0
            if digits is not None and abs(digits - v) > Decimal(5).scaleb(-decimals - 1) * Decimal("1.0001"):
                digits = None  # "1e-06", or a text that does not print this value's digits
            out.append(_Target(key, param, v, digits, decimals, unit, formula))
    return out


def _rounded(x: Decimal, decimals: int) -> set[Decimal]:
    step = Decimal(1).scaleb(-decimals)
    return {x.quantize(step, rounding=ROUND_HALF_UP), x.quantize(step, rounding=ROUND_HALF_EVEN)}


def _copies(reading: str, formula: bool, target: _Target) -> bool:
    """Whether a number read in the text is a hand-typed copy of a registered one (module rules)."""
    if formula and not target.formula:
        return False
    number = Decimal(reading)
    if number == 0:
        return False
    integer = "." not in reading
    if integer and len(reading.lstrip("0")) < 2:
        return False  # "Figure 1", "two cycles", "5 points"
    decimals = 0 if integer else len(reading.split(".")[1])
    digits = reading.replace(".", "").lstrip("0")
    significant = len(digits.rstrip("0")) if integer else len(digits)
    if number == target.value:
        return True
    if target.printed is None:
        return significant >= 2 and number in _rounded(target.value, decimals)
    if decimals >= target.decimals:
        return number == target.printed or number in _rounded(target.value, decimals)
    return (decimals == target.decimals - 1 and significant >= 2
            and number in _rounded(target.printed, decimals) | _rounded(target.value, decimals))


def _different_unit(forms: str, end: int, target_unit: str) -> bool:
    """A number followed by a physical unit other than the registered one is another quantity."""
    unit = _FOLLOWING_UNIT.match(forms, end)
    return bool(unit and unit.group(1) in _UNITS and not target_unit.startswith(unit.group(1)))


@dataclass(frozen=True)
class _Copy:
    start: int  # in the source
    end: int
    key: str
    param: bool


def _find_copies(text: str, numbers: Mapping[str, Mapping[str, Any]],
                 params: Mapping[str, Mapping[str, Any]]) -> tuple[list[_Copy], list[tuple[int, str]]]:
    visible = reader_text(text)
    forms = visible.text.translate(_FOR_FORMS)
    targets = _targets(numbers, False) + _targets(params, True)
    found: set[_Copy] = set()
    whole: dict[str, list[tuple[int, int]]] = {}
    for records, param in ((numbers, False), (params, True)):
        for key, rec in records.items():
            printed = str(rec.get("text") or "").translate(_FOR_FORMS)
            if not re.search(r"\d", printed) or re.fullmatch(r"-?\d+(?:\.\d+)?", printed):
                continue  # a bare number is read token by token below
            for m in re.finditer(rf"(?<![\w.]){re.escape(printed)}(?![\w]|\.\d)", forms):
                found.add(_Copy(*visible.source_span(m.start(), m.end()), key, param))
                whole.setdefault(key, []).append((m.start(), m.end()))
    for token in _tokens(visible):
        for target in targets:
            if any(s <= token.start and token.end <= e for s, e in whole.get(target.key, ())):
                continue  # already reported as the whole printed text
            if _different_unit(forms, token.end, target.unit):
                continue
            if any(_copies(reading, token.formula, target) for reading in token.readings):
                found.add(_Copy(*visible.source_span(token.start, token.end), target.key, target.param))
    return sorted(found, key=lambda c: (c.start, c.end, c.param, c.key)), visible.malformed


class _Lines:
    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def __call__(self, index: int) -> int:
        return bisect_right(self.starts, index)


def typed_numbers(text: str, numbers: Mapping[str, Mapping[str, Any]],
                  params: Mapping[str, Mapping[str, Any]] | None = None) -> list[tuple[int, str, str]]:
    """Find numbers typed into the text by hand, which would go stale when the build changes.

    The text is read as its reader sees it and compared by the module's rules.

    Parameters
    ----------
    text
        A document's Markdown source.
    numbers
        Registered values as records with ``text``, ``value`` and ``unit``.
    params
        Method parameters as records of the same form; None means none.

    Returns
    -------
    list of tuple of (int, str, str)
        ``(line, token as typed in the source, key)`` for each copy, sorted and without repeats.
    """
    line = _Lines(text)
    copies, _ = _find_copies(text, numbers, params or {})
    return sorted({(line(c.start), text[c.start:c.end], c.key) for c in copies})


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


def _copy_message(token: str, copies: list[_Copy]) -> str:
    token = " ".join(token.split())
    advice = []
    for c in copies[:4]:
        if c.param:
            advice.append(f"it is method parameter {c.key}, quote it with {{{{< param {c.key} >}}}}")
        else:
            advice.append(f"quote {c.key} with {{{{< num {c.key} >}}}}")
    more = f" (and {len(copies) - 4} more keys)" if len(copies) > 4 else ""
    return (f"'{token}' is typed by hand; " + "; or ".join(advice) + more
            + f"; if it is not a result, mark it [{token}]{{.{LITERAL_CLASS}}}")


def problems(path: Path, text: str, numbers: Mapping[str, Mapping[str, Any]],
             params: Mapping[str, Mapping[str, Any]] | None = None,
             accuracy: Mapping[str, Mapping[str, Any]] | None = None) -> list[Problem]:
    """Every way one document breaks the quoting rules, so all can be fixed in one pass.

    Parameters
    ----------
    path
        The document, for messages.
    text
        Its Markdown source.
    numbers, params
        The build's numbers and method parameters (records with ``text``, ``value``, ``unit``).
    accuracy
        The accepted accuracy table's ``numbers`` (``paper/accuracy.json``); None: its
        keys are not checked.

    Returns
    -------
    list of Problem
        Unknown keys, unsupported shortcodes, hand-typed copies and literal spans that
        mark more than one number, in source order; one problem per hand-typed token.
    """
    params = params or {}
    line = _Lines(text)
    out = []
    for m in SHORTCODE.finditer(text):
        name, args = m.group(1), m.group(2).split()
        if name not in SUPPORTED_SHORTCODES:
            out.append(Problem(path, line(m.start()),
                               f"shortcode '{name}' is outside the supported subset {SUPPORTED_SHORTCODES}"))
        elif name == "num" and len(args) > 1 and (len(args) > 2 or args[1] not in NUM_OPTIONS):
            out.append(Problem(path, line(m.start()), f"{{{{< num {' '.join(args)} >}}}}: unknown option "
                               f"'{' '.join(args[1:])}'; the only option is {' or '.join(NUM_OPTIONS)} "
                               "({{< num KEY vs >}} adds the published value where it differs)"))
        elif name == "num" and (not args or args[0] not in numbers):
            key = args[0] if args else "(none)"
            out.append(Problem(path, line(m.start()), f"unknown number key '{key}': no step computes it"))
        elif name == "param" and (len(args) != 1 or args[0] not in params):
            key = " ".join(args) or "(none)"
            out.append(Problem(path, line(m.start()), f"unknown parameter key '{key}': no step declares it"))
        elif name == "accuracy" and accuracy is not None and not _known_accuracy(args, accuracy):
            out.append(Problem(path, line(m.start()), f"unknown accuracy '{' '.join(args) or '(none)'}': give a "
                               "number key of paper/accuracy.json and optionally rms, worst, bias or goal"))
    copies, malformed = _find_copies(text, numbers, params)
    for index, message in malformed:
        out.append(Problem(path, line(index), message))
    by_token: dict[tuple[int, int], list[_Copy]] = {}
    for c in copies:
        by_token.setdefault((c.start, c.end), []).append(c)
    for (start, end), group in sorted(by_token.items()):
        out.append(Problem(path, line(start), _copy_message(text[start:end], group)))
    return sorted(out, key=lambda p: p.line)


def _known_accuracy(args: list[str], accuracy: Mapping[str, Mapping[str, Any]]) -> bool:
    if args == ["realizations"]:
        return True
    return 1 <= len(args) <= 2 and args[0] in accuracy and (len(args) == 1 or args[1] in accuracy[args[0]]["text"])


def check(paths: list[Path], numbers: Mapping[str, Mapping[str, Any]],
          params: Mapping[str, Mapping[str, Any]] | None = None,
          accuracy: Mapping[str, Mapping[str, Any]] | None = None) -> None:
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
        A source cannot be read, a number or parameter is typed by hand, a literal span
        marks several numbers, or a shortcode is unsupported.
    NumberKeyError
        The only problems are unknown number or parameter keys.
    """
    found: list[Problem] = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise LintError(f"{path}: the paper's source is missing") from None
        except UnicodeDecodeError as err:
            raise LintError(f"{path}: not UTF-8 text (byte {err.start}); save it as UTF-8") from None
        except OSError as err:
            raise LintError(f"{path}: cannot be read ({err.strerror})") from None
        found += problems(Path(path), text, numbers, params, accuracy)
    if found:
        unknown_only = all(p.message.startswith(("unknown number key", "unknown parameter key", "unknown accuracy"))
                           for p in found)
        kind = NumberKeyError if unknown_only else LintError
        raise kind(f"{len(found)} problem(s) in the paper's text:\n  " + "\n  ".join(map(str, found)))

"""Cell-design numbers with units (pint), deposition times, and the supplement's tables.

* Li excess = capacity of the Li anode / capacity of the cathode - 1, from the cited
  design inputs (input ``cell_design``); beside it, the range the result can take
  when every input varies by half a unit of its last printed digit (the excess is
  monotonic in each input, so the extremes sit at the corners of that box);
* implied deposition times = thickness / stated rate, for both films;
* the cathode's areal capacity implied by its mass, and the Li excess the stated areal
  capacity would imply, so the supplement can show where the paper's inputs disagree;
* Tables S1 and S2 are rendered from their data files with the citations they carry
  (Table S2 cites each row's primary sources; its values are typeset as powers of ten).
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from paperbuild.errors import InputError
from paperbuild.numbers import Number, quantity

# output role -> the input role holding that table's data
TABLES = {"table_s1": "sample_transfer", "table_s2": "sei_conductivities"}


@dataclass(frozen=True)
class CellDesign:
    """What the design inputs imply.

    Li excess (%) and its rounding range; the cathode's areal capacity from its mass
    (mAh/cm²); the excess the stated areal capacity would imply (%); the LiPON
    deposition time as printed (h) and if the rate were per second (h); the Li
    deposition time (min).
    """

    li_excess_pct: float
    li_excess_range_pct: tuple[float, float]
    cathode_areal_capacity_mAh_cm2: float
    li_excess_if_stated_areal_pct: float
    lipon_time_as_printed_h: float
    lipon_time_if_per_second_h: float
    li_time_min: float


def _units():
    import pint

    return pint.UnitRegistry()


def half_unit(value: float | int) -> float:
    """Half a unit of the last digit as printed (0.013 -> 0.0005, 570 -> 0.5).

    A printed value stands for every value that rounds to it; this is that interval's
    half-width.

    Parameters
    ----------
    value
        The value as the source prints it.

    Returns
    -------
    float
    """
    exponent = Decimal(str(value)).as_tuple().exponent
    return 0.5 * 10.0 ** int(exponent)


def li_excess_pct(ureg, li: Mapping[str, Any], cathode: Mapping[str, Any]) -> float:
    """Li anode capacity over cathode capacity, minus one, in %.

    Parameters
    ----------
    ureg
        A pint unit registry.
    li
        ``thickness``, ``area``, ``density``, ``specific_capacity`` (each value and unit).
    cathode
        ``mass`` and ``specific_capacity`` (each value and unit).

    Returns
    -------
    float
    """
    q = lambda entry: ureg.Quantity(entry["value"], entry["unit"])
    anode = (q(li["thickness"]) * q(li["area"]) * q(li["density"]) * q(li["specific_capacity"])).to("uA*h")
    cath = (q(cathode["mass"]) * q(cathode["specific_capacity"])).to("uA*h")
    return float((anode / cath - 1).to("percent").magnitude)


def li_excess_range_pct(ureg, li: Mapping[str, Any], cathode: Mapping[str, Any]) -> tuple[float, float]:
    """Smallest and largest excess over the rounding box of the printed inputs.

    Parameters
    ----------
    ureg
        A pint unit registry.
    li, cathode
        As for :func:`li_excess_pct`.

    Returns
    -------
    tuple of float
        (lowest, highest) excess in %.
    """
    entries = [("li", k) for k in ("thickness", "area", "density", "specific_capacity")] + \
              [("cathode", k) for k in ("mass", "specific_capacity")]
    results = []
    for signs in itertools.product((-1, 1), repeat=len(entries)):
        trial = {"li": {k: dict(v) for k, v in li.items()}, "cathode": {k: dict(v) for k, v in cathode.items()}}
        for (group, key), sign in zip(entries, signs):
            value = trial[group][key]["value"]
            trial[group][key]["value"] = value + sign * half_unit(value)
        results.append(li_excess_pct(ureg, trial["li"], trial["cathode"]))
    return min(results), max(results)


def cell_design(ureg, design: Mapping[str, Any]) -> CellDesign:
    """Everything the design inputs imply, including where they disagree.

    The LiPON rate is printed per minute, which makes a 1 µm film take weeks; the time
    it would take per second is computed beside it so the supplement can show both.

    Parameters
    ----------
    ureg
        A pint unit registry.
    design
        The parsed design file: ``lithium_anode``, ``cathode`` and ``deposition``.

    Returns
    -------
    CellDesign
    """
    li, cathode, deposition = design["lithium_anode"], design["cathode"], design["deposition"]
    q = lambda entry: ureg.Quantity(entry["value"], entry["unit"])
    cath_capacity = q(cathode["mass"]) * q(cathode["specific_capacity"])
    areal = (cath_capacity / q(li["area"])).to("mA*h/cm**2").magnitude
    stated = dict(cathode, mass={"value": (q(cathode["stated_areal_capacity"]) * q(li["area"])
                                           / q(cathode["specific_capacity"])).to("mg").magnitude, "unit": "mg"})
    lipon_time = (q(deposition["lipon_thickness"]) / q(deposition["lipon_rate"])).to("h").magnitude
    lipon_time_per_s = (q(deposition["lipon_thickness"])
                        / ureg.Quantity(deposition["lipon_rate"]["value"], "angstrom/s")).to("h").magnitude
    li_time = (q(deposition["lithium_thickness"]) / q(deposition["lithium_rate"])).to("min").magnitude
    return CellDesign(li_excess_pct(ureg, li, cathode), li_excess_range_pct(ureg, li, cathode), areal,
                      li_excess_pct(ureg, li, stated), lipon_time, lipon_time_per_s, li_time)


def design_numbers(cell: CellDesign) -> list[Number]:
    """The cell-design numbers as the text prints them.

    Parameters
    ----------
    cell
        What the design inputs imply.

    Returns
    -------
    list of Number
    """
    low, high = cell.li_excess_range_pct
    return [
        quantity("cell.li_excess_pct", cell.li_excess_pct, "%", 0),
        Number("cell.li_excess_range_pct", [round(low, 1), round(high, 1)], "%", f"{low:.0f} to {high:.0f} %"),
        quantity("cell.cathode_areal_capacity_mAh_cm2", cell.cathode_areal_capacity_mAh_cm2, "mAh/cm²", 3),
        quantity("cell.li_excess_if_stated_areal_pct", cell.li_excess_if_stated_areal_pct, "%", 0),
        quantity("design.lipon_time_as_printed_h", cell.lipon_time_as_printed_h, "h", 0),
        quantity("design.lipon_time_if_per_second_h", cell.lipon_time_if_per_second_h, "h", 1),
        quantity("design.li_time_min", cell.li_time_min, "min", 0),
    ]


_MINUS = "\u2212"  # a true minus sign, as the typeset text uses
_SCIENTIFIC = re.compile(r"(?P<bound>[<>≤≥]?)\s*(?P<mantissa>\d+(?:\.\d+)?)[eE](?P<exponent>[+-]?\d+)")


def typeset_value(text: str) -> str:
    """A printed value in pandoc Markdown: ``1e-14`` as 10^−14^, ``3e-6`` as 3 × 10^−6^.

    The value keeps the digits it was printed with; only the notation changes, with a
    true minus sign (U+2212) in the exponent and a no-break space after a bound ("<").
    Anything that is not a number in e-notation is returned unchanged.

    Parameters
    ----------
    text
        The value as the data file prints it (``"1e-14"``, ``"<1e-8"``, ``"Ar"``).

    Returns
    -------
    str
    """
    match = _SCIENTIFIC.fullmatch(text.strip())
    if match is None:
        return text
    exponent = int(match["exponent"])
    power = f"10^{_MINUS if exponent < 0 else ''}{abs(exponent)}^"
    mantissa = match["mantissa"]
    number = power if mantissa == "1" else f"{mantissa}\u00a0×\u00a0{power}"
    return f"{match['bound']}\u00a0{number}" if match["bound"] else number


def markdown_table(spec: Mapping[str, Any]) -> str:
    """A pipe table; chemical formulae get subscripts, values keep their printed digits.

    The first cell of a row is a name (a formula gets pandoc subscripts, ``Li~2~O``);
    the other cells are printed as given, numbers in e-notation as powers of ten (see
    :func:`typeset_value`), and a cell holding a list of bibliography keys becomes one
    citation of them (``[@a; @b]``), so each row can cite its own primary sources.

    Parameters
    ----------
    spec
        ``columns``, ``rows`` and ``citation`` (the bibliography key of the original
        article, which the table is taken from).

    Returns
    -------
    str
        The table and its source line, in Markdown.
    """
    sub = lambda text: re.sub(r"(?<=[A-Za-z)])(\d+)", r"~\1~", text)

    def cell(value: Any) -> str:
        if isinstance(value, list):
            return "[" + "; ".join(f"@{key}" for key in value) + "]"
        return typeset_value(str(value))

    header = "| " + " | ".join(spec["columns"]) + " |"
    rule = "|" + "|".join("---" for _ in spec["columns"]) + "|"
    rows = ["| " + " | ".join([sub(row[0])] + [cell(c) for c in row[1:]]) + " |" for row in spec["rows"]]
    cites_rows = any(isinstance(c, list) for row in spec["rows"] for c in row[1:])
    # a numbered citation prints no author, so the line names the work in words
    source = (f"As compiled in the original article [@{spec['citation']}]." if cites_rows
              else f"From the original article [@{spec['citation']}].")
    return "\n".join([header, rule, *rows, "", source]) + "\n"


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise InputError(path, f"not valid YAML ({err})") from None


def run(inputs: Mapping[str, Path], outputs: Mapping[str, Path]) -> list[Number]:
    """The cell-design numbers and Tables S1 and S2.

    Parameters
    ----------
    inputs
        ``cell_design`` (design inputs and deposition rates), ``sample_transfer`` and
        ``sei_conductivities`` (the tables' data), all cited files.
    outputs
        ``table_s1`` and ``table_s2`` (Markdown).

    Returns
    -------
    list of Number
        Every number derived from ``cell_design`` alone.

    Raises
    ------
    InputError
        A file is not valid YAML, lacks an entry, or gives a unit of the wrong kind.
    """
    path = inputs["cell_design"]
    try:
        cell = cell_design(_units(), _read_yaml(path))
    except (KeyError, TypeError) as err:
        raise InputError(path, f"missing or malformed entry ({type(err).__name__}: {err})") from None
    for output, source in TABLES.items():
        try:
            table = markdown_table(_read_yaml(inputs[source]))
        except (KeyError, TypeError) as err:
            raise InputError(inputs[source], f"missing or malformed entry ({type(err).__name__}: {err})") from None
        outputs[output].write_text(table, encoding="utf-8")
    return [number.from_inputs(path) for number in design_numbers(cell)]

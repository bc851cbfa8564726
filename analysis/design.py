"""Cell-design numbers with units (pint), deposition times, and the supplement's tables.

* Li excess = capacity of the Li anode / capacity of the cathode - 1, from the design
  inputs in ``data/external/cell_design.yaml``; beside it, the range the result can take
  when every input varies by half a unit of its last printed digit (the excess is
  monotonic in each input, so the extremes sit at the corners of that box);
* implied deposition times = thickness / stated rate, for both films;
* the cathode's areal capacity implied by its mass, and the Li excess the stated areal
  capacity would imply, so the supplement can show where the paper's inputs disagree;
* Tables S1 and S2 are rendered from their data files with the citation they carry.
"""
from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

from paperbuild.numbers import Number, quantity

DESIGN = Path(__file__).resolve().parent.parent / "data" / "external" / "cell_design.yaml"
TABLES = {
    "tables/table_s1_sample_transfer.md": Path(__file__).resolve().parent.parent / "data" / "external" / "sample_transfer.yaml",
    "tables/table_s2_sei_conductivities.md": Path(__file__).resolve().parent.parent / "data" / "external" / "sei_conductivities.yaml",
}


def _units():
    import pint

    return pint.UnitRegistry()


def half_unit(value: float | int) -> float:
    """Half a unit of the last digit as printed (0.013 -> 0.0005, 570 -> 0.5)."""
    exponent = Decimal(str(value)).as_tuple().exponent
    return 0.5 * 10.0 ** int(exponent)


def li_excess_pct(ureg, li: dict[str, Any], cathode: dict[str, Any]) -> float:
    q = lambda entry: ureg.Quantity(entry["value"], entry["unit"])
    anode = (q(li["thickness"]) * q(li["area"]) * q(li["density"]) * q(li["specific_capacity"])).to("uA*h")
    cath = (q(cathode["mass"]) * q(cathode["specific_capacity"])).to("uA*h")
    return float((anode / cath - 1).to("percent").magnitude)


def li_excess_range_pct(ureg, li: dict[str, Any], cathode: dict[str, Any]) -> tuple[float, float]:
    """Smallest and largest excess over the rounding box of the printed inputs."""
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


def markdown_table(spec: dict[str, Any]) -> str:
    """A pipe table; chemical formulae get subscripts, values keep their printed form."""
    import re

    sub = lambda text: re.sub(r"(?<=[A-Za-z)])(\d+)", r"~\1~", text)
    header = "| " + " | ".join(spec["columns"]) + " |"
    rule = "|" + "|".join("---" for _ in spec["columns"]) + "|"
    rows = ["| " + " | ".join([sub(row[0])] + [str(c) for c in row[1:]]) + " |" for row in spec["rows"]]
    return "\n".join([header, rule, *rows, "", f"Source: [@{spec['citation']}]."]) + "\n"


def run(raw: Path, out: Path) -> list[Number]:
    import yaml

    ureg = _units()
    design = yaml.safe_load(DESIGN.read_text(encoding="utf-8"))
    li, cathode, deposition = design["lithium_anode"], design["cathode"], design["deposition"]
    q = lambda entry: ureg.Quantity(entry["value"], entry["unit"])
    excess = li_excess_pct(ureg, li, cathode)
    low, high = li_excess_range_pct(ureg, li, cathode)
    cath_capacity = q(cathode["mass"]) * q(cathode["specific_capacity"])
    areal = (cath_capacity / q(li["area"])).to("mA*h/cm**2").magnitude
    stated = dict(cathode, mass={"value": (q(cathode["stated_areal_capacity"]) * q(li["area"])
                                           / q(cathode["specific_capacity"])).to("mg").magnitude, "unit": "mg"})
    lipon_time = (q(deposition["lipon_thickness"]) / q(deposition["lipon_rate"])).to("h").magnitude
    lipon_time_per_s = (q(deposition["lipon_thickness"]) / ureg.Quantity(deposition["lipon_rate"]["value"], "angstrom/s")).to("h").magnitude
    li_time = (q(deposition["lithium_thickness"]) / q(deposition["lithium_rate"])).to("min").magnitude
    for rel, source in TABLES.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(markdown_table(yaml.safe_load(source.read_text(encoding="utf-8"))), encoding="utf-8")
    return [
        quantity("cell.li_excess_pct", excess, "%", 0),
        Number("cell.li_excess_range_pct", [round(low, 1), round(high, 1)], "%", f"{low:.0f} to {high:.0f} %"),
        quantity("cell.cathode_areal_capacity_mAh_cm2", areal, "mAh/cm²", 3),
        quantity("cell.li_excess_if_stated_areal_pct", li_excess_pct(ureg, li, stated), "%", 0),
        quantity("design.lipon_time_as_printed_h", lipon_time, "h", 0),
        quantity("design.lipon_time_if_per_second_h", lipon_time_per_s, "h", 1),
        quantity("design.li_time_min", li_time, "min", 0),
    ]

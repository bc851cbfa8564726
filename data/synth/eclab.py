"""Write EC-Lab ASCII exports (``.mpt``) as EC-Lab's "Export as text" does.

No maintained library writes ``.mpt`` (galvani and yadg only read it), so this is a
small writer of our own: the two-line preamble, a header whose line count is declared
in ``Nb header lines``, tab-separated columns with a trailing tab, CRLF line ends and
windows-1252 text.  The columns are those the simulation hands over, in EC-Lab's order;
``Efficiency/%`` among them only when the export asks for it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

INTEGER_COLUMNS = {"mode", "ox/red", "error", "control changes", "Ns changes", "counter inc.", "Ns", "half cycle"}
COLUMN_ORDER = ["mode", "ox/red", "error", "control changes", "Ns changes", "counter inc.", "Ns", "time/s",
                "control/mA", "Ewe/V", "I/mA", "dq/mA.h", "(Q-Qo)/mA.h", "Q charge/discharge/mA.h",
                "half cycle", "Efficiency/%", "cycle number"]


def header_lines(meta: dict[str, str], started: datetime) -> list[str]:
    """The settings block EC-Lab writes above the data for a GCPL run."""
    return [
        "",
        "Galvanostatic Cycling with Potential Limitation",
        "",
        "Run on channel : 1 (SN 1022)",
        "User : ",
        "Ewe ctrl range : min = 0.00 V, max = 10.00 V",
        f"Acquisition started on : {started:%m/%d/%Y %H:%M:%S}.000",
        "Loaded Setting File : NONE",
        "Saved on :",
        f"\tFile : {meta['file']}",
        "\tDirectory : C:\\Users\\cryoem\\Documents\\EC-Lab\\Data\\",
        "Device : SP-200 (SN 1022)",
        "Address (with Channel) : USB0-1",
        "EC-Lab for windows v11.33 (software)",
        "Internet server v11.30 (firmware)",
        "Command interpretor v11.30 (firmware)",
        f"Electrode material : {meta['electrode']}",
        "Initial state : pristine",
        f"Electrolyte : {meta['electrolyte']}",
        f"Comments : {meta['comments']}",
        f"Mass of active material : {meta['mass_mg']} mg",
        " at x = 0.000",
        "Molecular weight of active material (at x = 0) : 195.00 g/mol",
        "Atomic weight of intercalated ion : 6.94 g/mol",
        "Acquisition started at : xo = 0.000",
        "Number of e- transfered per intercalated ion : 1",
        f"Battery capacity : {meta['capacity_mAh']:.6g} mA.h",
        f"Electrode surface area : {meta['area_cm2']} cm²",
        f"Characteristic mass : {meta['mass_mg']} mg",
        "Cycle Definition : Charge/Discharge alternance",
        "Do not turn to OCV between techniques",
        "",
        "Ns                  0                   1",
        "Set I/C             C / N               C / N",
        f"Ewe > / <           {meta['v_max']:.3f}               {meta['v_min']:.3f}",
        "unit EM             V                   V",
        "",
    ]


def _format(name: str, values: np.ndarray) -> list[str]:
    if name in INTEGER_COLUMNS:
        return [str(int(v)) for v in values]
    return [f"{v:.7E}" for v in values]


def write_mpt(path: Path, columns: dict[str, np.ndarray], meta: dict[str, str], started: datetime) -> None:
    """Write ``columns`` (EC-Lab names) as an ``.mpt`` file."""
    rows = len(columns["time/s"])
    columns = dict(columns)
    columns.setdefault("error", np.zeros(rows, dtype=int))
    columns.setdefault("counter inc.", np.zeros(rows, dtype=int))
    names = [c for c in COLUMN_ORDER if c in columns]
    header = header_lines(meta, started)
    total = len(header) + 3  # preamble (2 lines) + settings + the column-name line
    lines = ["EC-Lab ASCII FILE", f"Nb header lines : {total}", *header, "\t".join(names) + "\t"]
    text_columns = [_format(name, columns[name]) for name in names]
    lines += ["\t".join(row) + "\t" for row in zip(*text_columns)]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="windows-1252", newline="\r\n") as handle:
        handle.write("\n".join(lines) + "\n")


def start_time(seed: int) -> datetime:
    """A fixed acquisition date derived from the seed, so trees are reproducible."""
    return datetime(2019, 6, 18, 15, 13, 8) + timedelta(minutes=seed % 997)

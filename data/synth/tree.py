"""Write a complete raw tree from ground truth, with its manifest."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from data.synth import eclab, potentiostat
from paperbuild.manifest import write_manifest


def write_echem(truth: dict[str, Any], out: Path) -> list[Path]:
    """The two EC-Lab exports: the thin-film cell and the liquid-electrolyte coin cell."""
    seed = int(truth["seed"])
    cells = [
        ("echem", "thin_film_cell.mpt", dict(electrode="LNMO (PLD, 650 nm)", electrolyte="LiPON (1 um)",
                                              comments="Li | LiPON | LNMO thin-film cell, 4.9 mm2",
                                              mass_mg="0.013", area_cm2="0.049")),
        ("liquid", "liquid_cell.mpt", dict(electrode="LNMO:C65:PVDF 90:5:5 on Al",
                                           electrolyte="1 M LiPF6 in EC:EMC 3:7, 50 uL",
                                           comments="CR2032 coin cell vs Li, Celgard 2325, 12.7 mm",
                                           mass_mg="5.700", area_cm2="1.267")),
    ]
    written = []
    for offset, (section, name, meta) in enumerate(cells):
        cfg = truth[section]
        rng = np.random.default_rng([seed, offset])
        columns = potentiostat.simulate(cfg, rng)
        meta = dict(meta, file=name.replace(".mpt", ".mpr"), capacity_mAh=cfg["nominal_capacity_mAh"],
                    v_min=cfg["voltage_min_V"], v_max=cfg["voltage_max_V"])
        path = out / "echem" / name
        eclab.write_mpt(path, columns, meta, eclab.start_time(seed + offset))
        written.append(path)
    return written


WRITERS: dict[str, Callable[[dict[str, Any], Path], list[Path]]] = {
    "electrochemistry": write_echem,
}


def write_tree(truth: dict[str, Any], out: Path, log: Callable[[str], None] = print) -> Path:
    """Write every raw file the paper needs into ``out`` and its MANIFEST.sha256."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, writer in WRITERS.items():
        paths = writer(truth, out)
        log(f"synth: {name}: wrote {', '.join(p.relative_to(out).as_posix() for p in paths)}")
    manifest = write_manifest(out)
    log(f"synth: wrote {manifest}")
    return manifest

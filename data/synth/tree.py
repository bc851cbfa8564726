"""Write a complete raw tree from ground truth, with its manifest."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from data.synth import dft, eclab, hrtem, lattice, microscope, potentiostat, powder, xps
from data.synth import xrd as xrd_model
from data.synth.hyperspy_api import hyperspy_api
from data.synth.vamas import Block, write_vamas
from paperbuild import progress
from paperbuild.manifest import write_manifest
from paperbuild.paths import PROJECT_ROOT


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
    for section, name, meta in cells:
        cfg = truth[section]
        offset = potentiostat.RNG_STREAM[section]  # expected_numbers replays this stream
        rng = np.random.default_rng([seed, offset])
        columns = potentiostat.simulate(cfg, rng)
        if not cfg["export_efficiency_column"]:  # EC-Lab exports only the columns ticked
            del columns["Efficiency/%"]
        meta = dict(meta, file=name.replace(".mpt", ".mpr"), capacity_mAh=cfg["nominal_capacity_mAh"],
                    v_min=cfg["voltage_min_V"], v_max=cfg["voltage_max_V"])
        path = out / "echem" / name
        eclab.write_mpt(path, columns, meta, eclab.start_time(seed + offset))
        written.append(path)
    return written


def _calibrate(signal, names_units_scales) -> None:
    for axis, (name, units, scale, offset) in zip(signal.axes_manager._axes, names_units_scales):
        axis.name, axis.units, axis.scale, axis.offset = name, units, scale, offset


# When the EDS session saved its files.  HyperSpy stamps every save with the wall-clock
# time (metadata General.FileIO.<n>.timestamp), which made each run's .hspy bytes differ.
EDS_SAVED_ON = datetime(2019, 10, 2, 14, 5, 0, tzinfo=timezone.utc)


def _stamp_saves(path: Path, when: datetime) -> None:
    """Replace the save times HyperSpy wrote into an .hspy file by ``when``.

    With that, and no HDF5 object times (``track_times=False``), the same truth gives the
    same bytes on every run.
    """
    import h5py

    with h5py.File(path, "r+") as handle:
        for experiment in handle["Experiments"].values():
            for entry in experiment["metadata/General/FileIO"].values():
                entry.attrs.modify("timestamp", when.isoformat())


#: Where the EDS line scan starts on the interface dark-field image, along x (nm).
DF_SCAN_OFFSET_NM = 40.0


def write_eds(truth: dict[str, Any], out: Path) -> list[Path]:
    """STEM-EDS line scan and spectrum image as HyperSpy .hspy files, byte-reproducible."""
    import dask

    hyperspy_api()
    from exspy.signals import EDSTEMSpectrum, LazyEDSTEMSpectrum

    cfg = truth["eds"]
    rng = np.random.default_rng([int(truth["seed"]), 10])
    positions = np.arange(0.0, cfg["line_length_nm"] + 1e-9, cfg["line_step_nm"])
    energy = np.arange(cfg["channels"]) * 0.01
    line = EDSTEMSpectrum(microscope.eds_counts(positions, energy, cfg, cfg["interphase_start_nm"], 1.0, rng))
    _calibrate(line, [("Position", "nm", cfg["line_step_nm"], 0.0), ("Energy", "keV", 0.01, 0.0)])
    # Where the scan ran on the survey (dark-field) image, as acquisition software records
    # a line scan's position: along the image's middle row, from DF_SCAN_OFFSET_NM on.
    stem = truth["stem"]
    row_nm = stem["df_shape"][0] * stem["df_pixel_nm"] / 2
    line.original_metadata.add_dictionary({"Survey_image": {
        "file": "stem/interface_df.tif", "units": "nm",
        "start_xy": [DF_SCAN_OFFSET_NM, row_nm], "end_xy": [DF_SCAN_OFFSET_NM + float(positions[-1]), row_nm]}})
    image = LazyEDSTEMSpectrum(microscope.eds_map(cfg, int(truth["seed"])))
    _calibrate(image, [("x", "nm", cfg["map_pixel_nm"], 0.0), ("y", "nm", cfg["map_pixel_nm"], 0.0),
                       ("Energy", "keV", 0.01, 0.0)])
    written = []
    for signal, name, title in ((line, "line_scan.hspy", "EDS line scan across Li/LiPON"),
                                (image, "spectrum_image.hspy", "EDS spectrum image of Li/LiPON")):
        signal.metadata.General.title = title
        signal.set_microscope_parameters(live_time=cfg["live_time_s"] * (1 if signal is line else cfg["map_dose"]),
                                         energy_resolution_MnKa=cfg["energy_resolution_MnKa_eV"], tilt_stage=0.0)
        signal.metadata.Acquisition_instrument.TEM.set_item("beam_energy", 200.0)
        signal.metadata.Acquisition_instrument.TEM.set_item("microscope", "JEOL JEM-2800F (cryo, Gatan 626)")
        signal.add_elements(["N", "O", "P"])
        signal.add_lines()
        path = out / "eds" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        compression = cfg["map_compression"] if signal is image else "gzip"
        # one thread: HDF5 places chunks in the order they are written, so threads writing
        # the lazy map's blocks in a racing order would give other bytes on every run
        with dask.config.set(scheduler="synchronous"):
            signal.save(path, overwrite=True, chunks=(8, 16, cfg["map_channels"]) if signal is image else None,
                        compression=compression, track_times=False, show_progressbar=False)
        _stamp_saves(path, EDS_SAVED_ON)
        written.append(path)
    return written


def _save_tiff(hs, data: np.ndarray, pixel_nm: float, path: Path, title: str) -> Path:
    image = hs.signals.Signal2D(data)
    _calibrate(image, [("y", "nm", pixel_nm, 0.0), ("x", "nm", pixel_nm, 0.0)])
    image.metadata.General.title = title
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, overwrite=True)
    return path


def write_images(truth: dict[str, Any], out: Path) -> list[Path]:
    """Calibrated TIFFs: FIB-SEM cross-section, STEM dark-field images, the LiPON frame stack."""
    import tifffile

    hs = hyperspy_api()
    seed = int(truth["seed"])
    sem, stem, eds, eels = truth["sem"], truth["stem"], truth["eds"], truth["eels"]
    written = [_save_tiff(hs, microscope.sem_cross_section(sem, np.random.default_rng([seed, 20])), sem["pixel_nm"],
                          out / "sem" / "fib_cross_section.tif", "cryo-FIB-SEM cross-section")]
    start = eds["interphase_start_nm"] + DF_SCAN_OFFSET_NM  # the line scan starts DF_SCAN_OFFSET_NM into the image
    written.append(_save_tiff(hs, microscope.df_image(tuple(stem["df_shape"]), stem["df_pixel_nm"], eds, start,
                                                      np.random.default_rng([seed, 21])),
                              stem["df_pixel_nm"], out / "stem" / "interface_df.tif", "STEM-DF of the Li/LiPON interface"))
    # the EELS field: point 1 sits in the interphase near its Li side, the last point in LiPON
    eels_start = eels["first_point_nm"][0] - 25.0
    written.append(_save_tiff(hs, microscope.df_image(tuple(stem["eels_df_shape"]), stem["eels_df_pixel_nm"], eds,
                                                      eels_start, np.random.default_rng([seed, 22])),
                              stem["eels_df_pixel_nm"], out / "stem" / "eels_region_df.tif", "STEM-DF of the EELS points"))
    frames = microscope.frame_series(stem, np.random.default_rng([seed, 23]))
    path = out / "stem" / "lipon_frames.tif"
    per_um = 1000.0 / stem["frame_pixel_nm"]
    tifffile.imwrite(path, frames, imagej=True, resolution=(per_um, per_um),
                     metadata={"unit": "micron", "axes": "TYX", "Info": "repeated cryo-STEM frames of LiPON"})
    written.append(path)
    steps = microscope.liftout_sequence(sem, np.random.default_rng([seed, 24]))
    path = out / "sem" / "liftout_sequence.tif"
    per_um = 1000.0 / sem["liftout_pixel_nm"]
    tifffile.imwrite(path, steps, imagej=True, resolution=(per_um, per_um),
                     metadata={"unit": "micron", "axes": "TYX", "Labels": list(microscope.LIFTOUT_STEPS),
                               "Info": "cryo-FIB lift-out without Pt, ion-beam images (30 kV, 10 pA)"})
    written.append(path)
    return written


def _write_feff(path: Path, title: str, energy: np.ndarray, values: np.ndarray) -> Path:
    """A FEFF9-style ``eels.dat`` of one edge of one phase: the run's card as comments, then E and total."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = [f"# {title} edge, FEFF9 EELS card", "# beam 200 keV, collection 10 mrad, convergence 10 mrad",
              "# xkmax 4.0, xkstep 0.02, estep 0.01; Hedin-Lundqvist exchange; RPA core hole",
              "#       E(eV)        total"]
    rows = [f"{e:12.4f} {v:14.6e}" for e, v in zip(energy, values)]
    path.write_text("\n".join(header + rows) + "\n", encoding="ascii")
    return path


def write_eels(truth: dict[str, Any], out: Path) -> list[Path]:
    """Five EMSA spectra along a line (beam positions in the DF image's frame, in nm)
    and the FEFF-style simulated references: the Li K edge of every phase
    (``feff/<phase>/eels.dat``), and the P L2,3 and O K edges of the phases holding P or
    O, one FEFF run each (``feff/<phase>/P_L23/eels.dat``, ``feff/<phase>/O_K/eels.dat``)."""
    hyperspy_api()
    from exspy.signals import EELSSpectrum

    cfg = truth["eels"]
    rng = np.random.default_rng([int(truth["seed"]), 30])
    energy = cfg["energy_start_eV"] + np.arange(cfg["channels"]) * cfg["dispersion_eV"]
    x0, y0 = cfg["first_point_nm"]
    written = []
    for index in range(cfg["points"]):
        counts = microscope.eels_counts(energy, cfg["li2o_fraction"][index], cfg["p_fraction"][index], cfg, rng)
        spectrum = EELSSpectrum(counts)
        _calibrate(spectrum, [("Energy loss", "eV", cfg["dispersion_eV"], cfg["energy_start_eV"])])
        spectrum.original_metadata.add_dictionary({
            "FORMAT": "EMSA/MAS Spectral Data File", "VERSION": "1.0", "TITLE": f"Li/LiPON EELS point {index + 1}",
            "DATE": "", "TIME": "", "OWNER": "cryo-EM", "SIGNALTYPE": "ELS", "BEAMKV": 300.0, "CONVANGLE": 10.0,
            "COLLANGLE": 10.0, "INTEGTIME": 200.0,
            "XPOSITION-nm": round(x0 + index * cfg["step_nm"], 3), "YPOSITION-nm": round(y0, 3),
        })
        path = out / "eels" / f"point_{index + 1}.msa"
        path.parent.mkdir(parents=True, exist_ok=True)
        spectrum.save(path, overwrite=True)
        written.append(path)
    grid = np.round(np.arange(50.0, 80.0 + 1e-9, 0.02), 4)
    for phase in ("Li2O", "Li3PO4", "Li3P", "LiPON"):
        written.append(_write_feff(out / "eels" / "feff" / phase / "eels.dat", f"{phase} Li K",
                                   grid, microscope.li_k_reference(grid, phase, cfg)))
    # the P L2,3 and O K edges: one FEFF run per phase and edge, each in its own folder
    grid = np.round(np.arange(120.0, 170.0 + 1e-9, 0.02), 4)
    for phase in microscope.P_L23_PHASES:
        written.append(_write_feff(out / "eels" / "feff" / phase / "P_L23" / "eels.dat", f"{phase} P L2,3",
                                   grid, microscope.p_l23_reference(grid, phase, cfg)))
    grid = np.round(np.arange(515.0, 580.0 + 1e-9, 0.02), 4)
    for phase in microscope.O_K_PHASES:
        written.append(_write_feff(out / "eels" / "feff" / phase / "O_K" / "eels.dat", f"{phase} O K",
                                   grid, microscope.o_k_reference(grid, phase)))
    return written


def write_hrtem(truth: dict[str, Any], out: Path) -> list[Path]:
    """Calibrated HRTEM images (16-bit TIFF), one per region (``hrtem.regions`` of them)."""
    hs = hyperspy_api()
    cfg = truth["hrtem"]
    refs = lattice.fringe_spacings(dict.fromkeys(phase for layer in cfg["layer_phases"] for phase in layer))
    written = []
    for region in hrtem.regions(truth, refs):  # expected_numbers replays this stream
        counts = hrtem.to_counts(region.image(cfg), cfg)
        written.append(_save_tiff(hs, counts, cfg["pixel_A"] / 10,
                                  out / "hrtem" / f"region_{region.index:02d}.tif",
                                  f"cryo-HRTEM, interphase region {region.index}"))
    return written


def write_computations(truth: dict[str, Any], out: Path) -> list[Path]:
    """VTST-style neb.dat tables for P, N and O, and the AIMD cell as a VASP POSCAR."""
    from ase.io import write

    cfg, cell = truth["dft"], truth["aimd"]
    written = []
    for species, saddle, offset in zip(("P", "N", "O"), cfg["saddle_position"], cfg["end_offset_eV"]):
        coordinate, energy, force = dft.neb_profile(cfg["barriers_eV"][species], saddle, offset, cfg["images"],
                                                    cfg["hop_length_A"])
        path = out / "dft" / f"neb_{species}.dat"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [f"{i:3d} {x:16.6f} {e:16.6f} {f:16.6f} {i:3d}" for i, (x, e, f) in
                enumerate(zip(coordinate, energy, force))]
        path.write_text("\n".join(rows) + "\n", encoding="ascii")
        written.append(path)
    atoms = dft.amorphous_cell(cell["counts"], cell["density_g_cm3"], cell["min_distance_A"],
                               np.random.default_rng([int(truth["seed"]), 50]))
    path = out / "aimd" / "POSCAR"
    path.parent.mkdir(parents=True, exist_ok=True)
    write(path, atoms, format="vasp", direct=True, sort=False)
    written.append(path)
    return written


XPS_FACTORS = PROJECT_ROOT / "data" / "external" / "xps_sensitivity_factors.yaml"


def _xps_blocks(lines_by_region, cfg, rng, *, etch_s: float, sample: str, flat: float, shift: float,
                when) -> list[Block]:
    blocks = []
    for region, window in cfg["regions"].items():
        binding = xps.binding_axis(tuple(window), cfg["step_eV"])
        true_binding = binding - shift  # the recorded axis sits ``shift`` above the true energies
        counts = rng.poisson(xps.expected_counts(true_binding, lines_by_region[region], cfg, flat)).astype(float)
        kinetic = cfg["photon_energy_eV"] - cfg["work_function_eV"] - binding
        species, transition = region.split()
        blocks.append(Block(f"{region}/{etch_s:g}", sample, species, transition, etch_s, float(kinetic[-1]),
                            cfg["step_eV"], counts[::-1], when))  # ascending kinetic energy
    return blocks


XPS_HEADER = dict(institution="UC San Diego, Nano-Engineering", instrument="Kratos AXIS Supra", operator="xps")
XPS_COMMENTS = ["Ar+ 5 keV etching, 300 x 700 um2 analysis area", "regions 0.1 eV steps, pass energy 20 eV",
                "monochromated Al K-alpha 1486.7 eV, charge neutraliser on"]


def xps_blocks(truth: dict[str, Any]) -> tuple[list[Block], list[Block]]:
    """The depth profile's blocks (every region at every etch step) and the reference's."""
    import datetime

    import yaml

    cfg = truth["xps"]
    external = yaml.safe_load(XPS_FACTORS.read_text(encoding="utf-8"))
    factors, split = external["factors"], external["p2p_spin_orbit_split_eV"]
    rng = np.random.default_rng([int(truth["seed"]), 60])
    start = datetime.datetime(2019, 11, 4, 9, 30, 0)
    profile = []
    for index, depth in enumerate(xps.etch_depths(cfg)):
        profile += _xps_blocks(xps.profile_lines(float(depth), cfg, factors, split), cfg, rng, etch_s=float(depth),
                               sample="100 nm Li on LiPON", flat=cfg["background_counts"],
                               shift=cfg["charge_shift_eV"]["profile"],
                               when=start + datetime.timedelta(minutes=12 * index))
    reference = _xps_blocks(xps.reference_lines(cfg, factors), cfg, rng, etch_s=0.0, sample="LiPON reference film",
                            flat=cfg["reference_background_counts"], shift=cfg["charge_shift_eV"]["reference"],
                            when=start - datetime.timedelta(days=1))
    return profile, reference


def write_xps_file(path: Path, blocks: list[Block], truth: dict[str, Any], experiment: str) -> Path:
    cfg = truth["xps"]
    comments = [f"{experiment}: C 1s, O 1s, N 1s, P 2p, Li 1s", *XPS_COMMENTS]
    return write_vamas(path, blocks, experiment=experiment, comments=comments, source_eV=cfg["photon_energy_eV"],
                       work_function_eV=cfg["work_function_eV"], **XPS_HEADER)


def write_xps(truth: dict[str, Any], out: Path) -> list[Path]:
    """The depth profile and the LiPON reference as Kratos-style VAMAS files."""
    profile, reference = xps_blocks(truth)
    return [write_xps_file(out / "xps" / "depth_profile.vms", profile, truth, "Li/LiPON depth profile"),
            write_xps_file(out / "xps" / "lipon_reference.vms", reference, truth, "LiPON reference")]


def write_xrd(truth: dict[str, Any], out: Path) -> list[Path]:
    """Two-column .xy patterns: pristine LiPON, after two days in air, and at 100 K."""
    cfg = truth["xrd"]
    rng = np.random.default_rng([int(truth["seed"]), 70])
    two_theta = xrd_model.axis(cfg)
    lines = [(line.two_theta_deg, line.intensity) for line in
             powder.powder_lines(powder.read_structure(), cfg["wavelength_A"], float(two_theta.max()) + 1.0)]
    patterns = {
        "lipon_pristine.xy": ("LiPON film (1 um) on glass, as deposited, 298 K", xrd_model.amorphous(two_theta, cfg)),
        "lipon_air_2d.xy": ("LiPON film after 2 days in ambient air, 298 K",
                            xrd_model.amorphous(two_theta, cfg) + xrd_model.bragg(two_theta, lines, cfg)),
        "lipon_cryo_100K.xy": ("LiPON film, cryo stage at 100 K",
                               xrd_model.amorphous(two_theta, cfg, cfg["cryo_hump_scale"])),
    }
    written = []
    for name, (title, expected) in patterns.items():
        counts = rng.poisson(expected)
        path = out / "xrd" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        header = [f"# {title}", f"# wavelength: {cfg['wavelength_A']} A ({xrd_model.tube(cfg['wavelength_A'])})",
                  f"# step: {cfg['step_deg']} deg, counts per step", "# 2theta(deg) counts"]
        path.write_text("\n".join(header + [f"{t:.3f} {c:d}" for t, c in zip(two_theta, counts)]) + "\n",
                        encoding="ascii")
        written.append(path)
    return written


WRITERS: dict[str, Callable[[dict[str, Any], Path], list[Path]]] = {
    "electrochemistry": write_echem,
    "eds": write_eds,
    "images": write_images,
    "eels": write_eels,
    "hrtem": write_hrtem,
    "computations": write_computations,
    "xps": write_xps,
    "xrd": write_xrd,
}


def write_tree(truth: dict[str, Any], out: Path, log: Callable[[str], None] = print,
               sections: Iterable[str] | None = None) -> Path:
    """Write every raw file the paper needs into ``out`` and its MANIFEST.sha256.

    ``sections`` (names of :data:`WRITERS`) limits the tree to some techniques, for a
    quick look at one analysis over many truths; None writes them all.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = list(WRITERS) if sections is None else list(sections)
    unknown = sorted(set(chosen) - set(WRITERS))
    if unknown:
        raise ValueError(f"no writer for section(s) {', '.join(unknown)}; known: {', '.join(WRITERS)}")
    for done, name in enumerate(chosen, start=1):
        paths = WRITERS[name](truth, out)
        log(progress.line("synth", done, len(chosen),
                          f"{name}: {', '.join(p.relative_to(out).as_posix() for p in paths)}"))
    manifest = write_manifest(out)
    log(f"synth: wrote {manifest}")
    return manifest

"""XPS: the depth profile through Li into LiPON (Figure 4, S9) and the LiPON reference (S8).

Definitions (stated in the supplement's methods):

* spectra are read from the instrument's VAMAS export with the ``vamas`` package;
  binding energy = photon energy - kinetic energy - analyser work function, then every
  spectrum of a file is shifted so that the C-C/C-H line of its surface C 1s sits at
  284.6 eV (one shift per file: below the surface the carbon is etched away);
* the background is the iterative Shirley background of ``lmfitxps``, anchored on the
  mean of the first and last ``EDGE_CHANNELS`` channels of the window; where those two
  means agree within three counting sigmas there is no step to distribute and the
  background is the straight line between them;
* lines are Voigt profiles fitted with ``lmfit`` to the background-subtracted counts,
  weighted by counting noise; P 2p is a 2p3/2 + 2p1/2 doublet with the spin-orbit
  splitting and the 1:2 area ratio fixed from ``data/external``;
* a region is *detected* at an etch step when its net area (counts above the Shirley
  background, summed over the window) exceeds ``DETECTION_SIGMA`` times its counting
  uncertainty; the onset depth is the first etch step from which the region stays
  detected for ``PERSISTENCE`` consecutive steps, so that one noisy spectrum can
  neither start nor hide an onset;
* atomic % = (fitted area / sensitivity factor) normalised over C, O, N, P and Li.
"""
from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.style import write_table
from paperbuild.errors import InputError
from paperbuild.numbers import Number, quantity

PROFILE = "xps/depth_profile.vms"
REFERENCE = "xps/lipon_reference.vms"
EXTERNAL = Path(__file__).resolve().parent.parent / "data" / "external" / "xps_sensitivity_factors.yaml"
REGIONS = ("C 1s", "O 1s", "N 1s", "P 2p", "Li 1s")
C1S_REFERENCE_EV = 284.6
CALIBRATION_WINDOW_EV = 2.5
AL_KALPHA_EV = 1486.7
EDGE_CHANNELS = 10
DETECTION_SIGMA = 3.0
PERSISTENCE = 3

# Chemical states fitted in each region: name -> starting binding energy (eV), from the
# NIST XPS database and the LiPON literature.  Each centre may move by CENTRE_FREEDOM.
CENTRE_FREEDOM = 1.0
PROFILE_STATES: dict[str, dict[str, float]] = {
    "C 1s": {"C-C/C-H": 285.0, "CO3": 290.0},
    "O 1s": {"Li2O": 528.5, "CO3/PO4": 531.5},
    "N 1s": {"Li3N": 394.0},
    "P 2p": {"PO4": 133.0},
    "Li 1s": {"Li metal": 52.5, "Li2O/Li3N": 54.0, "CO3/PO4": 55.3},
}
REFERENCE_STATES: dict[str, dict[str, float]] = {
    "C 1s": {"C-C/C-H": 285.0},
    "O 1s": {"NBO": 531.0, "BO": 532.5},
    "N 1s": {"Na": 397.0, "Nb": 398.8, "NO2-": 403.5},
    "P 2p": {"PO4": 133.0},
    "Li 1s": {"Li": 55.5},
}


@dataclass(frozen=True)
class Spectrum:
    """One region at one etch step: binding energies ascending, counts per channel."""

    region: str
    etch_s: float
    binding_eV: np.ndarray
    counts: np.ndarray
    block: str


@dataclass(frozen=True)
class Line:
    """A fitted component: centre (eV), area (counts x eV), Gaussian sigma (eV)."""

    region: str
    name: str
    centre_eV: float
    area: float
    sigma_eV: float


# ------------------------------------------------------------------ reading
def read_vamas(path: Path) -> list[Spectrum]:
    """Every XPS block of a VAMAS file on a binding-energy axis (uncalibrated)."""
    from vamas import Vamas

    if not path.is_file():
        raise InputError(path, "file is missing")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            experiment = Vamas(path)
    except Exception as err:  # the reader raises bare StopIteration/ValueError on damage
        raise InputError(path, f"not a readable VAMAS file ({type(err).__name__}: {err})") from None
    declared = experiment.header.num_blocks
    spectra = [_spectrum(path, block) for block in experiment.blocks]
    if len(spectra) != declared:
        raise InputError(path, f"header declares {declared} blocks, file holds {len(spectra)}")
    return spectra


def _spectrum(path: Path, block) -> Spectrum:
    name = block.block_identifier
    if block.technique != "XPS":
        raise InputError(path, f"block {name!r} is {block.technique!r}, not XPS")
    source = block.analysis_source_characteristic_energy
    if abs(source - AL_KALPHA_EV) > 0.05:
        raise InputError(path, f"block {name!r} was taken with a {source} eV source, not Al K-alpha ({AL_KALPHA_EV} eV)")
    counts = np.asarray(block.corresponding_variables[0].y_values, dtype=float)
    step = block.x_step
    if not np.isfinite(step) or step == 0:
        raise InputError(path, f"energy axis of block {name!r} is not monotonic (step {step} eV)")
    axis = block.x_start + step * np.arange(counts.size)
    label = block.x_label.lower()
    if label.startswith("kinetic"):
        binding = source - axis - block.analyzer_work_function_or_acceptance_energy
    elif label.startswith("binding"):
        binding = axis
    else:
        raise InputError(path, f"block {name!r}: abscissa {block.x_label!r} is neither kinetic nor binding energy")
    order = np.argsort(binding)
    etch = float(block.values_exp_var[0]) if block.values_exp_var else 0.0
    region = f"{block.species_label} {block.transition_or_charge_state_label}"
    return Spectrum(region, etch, binding[order], counts[order], name)


def by_step(path: Path, spectra: Sequence[Spectrum]) -> dict[float, dict[str, Spectrum]]:
    """Spectra grouped per etch step; every step must hold every region once."""
    steps: dict[float, dict[str, Spectrum]] = {}
    for spectrum in spectra:
        regions = steps.setdefault(spectrum.etch_s, {})
        if spectrum.region in regions:
            raise InputError(path, f"etch step {spectrum.etch_s:g} s holds two {spectrum.region} blocks")
        regions[spectrum.region] = spectrum
    for etch, regions in sorted(steps.items()):
        missing = [r for r in REGIONS if r not in regions]
        if missing:
            raise InputError(path, f"etch step {etch:g} s has no {', '.join(missing)} block")
    return dict(sorted(steps.items()))


# ------------------------------------------------------------------ pure functions
def shirley(binding: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Iterative Shirley background (lmfitxps), anchored on averaged window edges."""
    from lmfitxps.backgrounds import shirley_calculate

    low, high = counts[:EDGE_CHANNELS].mean(), counts[-EDGE_CHANNELS:].mean()
    if abs(high - low) < 3.0 * np.sqrt((low + high) / EDGE_CHANNELS):
        # no step beyond counting noise: nothing for Shirley to distribute (and its
        # iteration has no fixed point); the background is the line between the edges
        return np.linspace(low, high, binding.size)
    report = io.StringIO()
    with contextlib.redirect_stdout(report):  # lmfitxps prints instead of raising
        background = shirley_calculate(binding, counts, tol=1e-6, maxit=200,
                                       bounds=[(binding[0], low), (binding[-1], high)])
    if report.getvalue().strip():
        raise ValueError(f"Shirley background: {report.getvalue().strip()}")
    return np.asarray(background, dtype=float)


def net_area(binding: np.ndarray, counts: np.ndarray, background: np.ndarray) -> tuple[float, float]:
    """Counts above background summed over the window (counts x eV) and its sigma.

    The sigma combines the counting noise of the window with that of the two edge
    means that anchor the background (which dominates for a weak line: an error in an
    edge shifts the background under the whole window).
    """
    step = abs(float(binding[1] - binding[0]))
    width = step * counts.size
    edge_variance = (counts[:EDGE_CHANNELS].mean() + counts[-EDGE_CHANNELS:].mean()) / EDGE_CHANNELS
    variance = step**2 * counts.clip(min=0).sum() + width**2 * edge_variance / 4.0
    return float((counts - background).sum() * step), float(np.sqrt(variance))


def onset(depths: Sequence[float], detected: Sequence[bool], persistence: int = PERSISTENCE) -> float | None:
    """First depth from which ``persistence`` consecutive steps are detected (None if never)."""
    flags = list(detected)
    for index in range(len(flags) - persistence + 1):
        if all(flags[index:index + persistence]):
            return float(depths[index])
    return None


@dataclass(frozen=True)
class LineFit:
    """The fitted lines of one region, each state's curve, and the fit's reduced chi-square."""

    lines: list[Line]
    curves: dict[str, np.ndarray]
    redchi: float
    split_eV: float | None


def _state_curves(x: np.ndarray, values: Mapping[str, float], names: Sequence[str], split: float | None,
                  ratio: float) -> dict[str, np.ndarray]:
    """Each line's curve; a doublet gives two, named '<state> 2p3/2' and '<state> 2p1/2'."""
    from scipy.special import voigt_profile

    sigma, gamma = values["sigma"], values["gamma"]
    curves = {}
    for i, name in enumerate(names):
        main = values[f"a{i}"] * voigt_profile(x - values[f"c{i}"], sigma, gamma)
        if split is None:
            curves[name] = main
        else:
            curves[f"{name} 2p3/2"] = main
            curves[f"{name} 2p1/2"] = ratio * values[f"a{i}"] * voigt_profile(x - values[f"c{i}"] - values["split"],
                                                                              sigma, gamma)
    return curves


def fit_lines(region: str, binding: np.ndarray, net: np.ndarray, counts: np.ndarray, states: Mapping[str, float], *,
              p2p_split: float | None = None, ratio: float = 0.5, split_free: bool = False) -> LineFit:
    """Least-squares fit (lmfit) of Voigt lines sharing one Gaussian and one Lorentzian width.

    With ``p2p_split`` every state is a doublet whose 2p1/2 partner sits ``p2p_split``
    above and carries ``ratio`` of the 2p3/2 area; ``split_free`` lets the splitting vary
    (0.2-1.5 eV) to test a published pair of positions.  Weights are counting noise.
    A state's area includes its doublet partner.
    """
    import lmfit

    names = list(states)
    params = lmfit.Parameters()
    start = max(float(net.max()), 1.0) * 1.5 / len(names)
    for i, centre in enumerate(states.values()):
        params.add(f"c{i}", value=centre, min=centre - CENTRE_FREEDOM, max=centre + CENTRE_FREEDOM)
        params.add(f"a{i}", value=start, min=0.0)
    params.add("sigma", value=0.55, min=0.2, max=1.5)
    params.add("gamma", value=0.1, min=0.0, max=0.5)
    if p2p_split is not None:
        params.add("split", value=p2p_split, min=0.2, max=1.5, vary=split_free)
    weights = 1.0 / np.sqrt(np.clip(counts, 1.0, None))

    def residual(p):
        values = p.valuesdict()
        return (sum(_state_curves(binding, values, names, p2p_split, ratio).values()) - net) * weights

    result = lmfit.minimize(residual, params, method="leastsq", nan_policy="raise")
    values = result.params.valuesdict()
    curves = _state_curves(binding, values, names, p2p_split, ratio)
    scale = 1.0 + ratio if p2p_split is not None else 1.0
    lines = [Line(region, name, values[f"c{i}"], values[f"a{i}"] * scale, values["sigma"]) for i, name in enumerate(names)]
    return LineFit(lines, curves, float(result.redchi),
                   values["split"] if p2p_split is not None else None)


def atomic_percent(areas: Mapping[str, float], factors: Mapping[str, float]) -> dict[str, float]:
    """Atomic % of each region's element from its area and sensitivity factor."""
    amounts = {region: max(area, 0.0) / factors[region] for region, area in areas.items()}
    total = sum(amounts.values())
    if total <= 0:
        raise ValueError("no signal in any region")
    return {region: 100.0 * amount / total for region, amount in amounts.items()}


def formula_per_p(areas: Mapping[str, float], factors: Mapping[str, float]) -> tuple[list[float], str]:
    """Li, O and N per P from fitted areas, and the formula as the paper writes it."""
    per = {region: areas[region] / factors[region] for region in ("Li 1s", "P 2p", "O 1s", "N 1s")}
    if per["P 2p"] <= 0:
        raise ValueError("no P 2p signal")
    ratios = [per[r] / per["P 2p"] for r in ("Li 1s", "O 1s", "N 1s")]
    return ratios, f"Li{ratios[0]:.2f}PO{ratios[1]:.2f}N{ratios[2]:.2f}"


def weighted_centre(lines: Sequence[Line]) -> float:
    """Area-weighted mean centre of fitted lines."""
    areas = np.array([line.area for line in lines])
    return float(np.average([line.centre_eV for line in lines], weights=areas))


def calibration_shift(spectrum: Spectrum) -> float:
    """Shift (eV) that puts the C-C/C-H line of a C 1s spectrum at 284.6 eV.

    One Voigt line is fitted within ``CALIBRATION_WINDOW_EV`` of the strongest channel
    between 282 and 288 eV (recorded scale).  A single line on a narrow window is a
    well-posed fit; adding a carbonate line that may be absent (as on the reference)
    left its parameters free to wander and moved the C-C centre by hundredths of an eV
    between otherwise identical runs.
    """
    background = shirley(spectrum.binding_eV, spectrum.counts)
    net = spectrum.counts - background
    window = (spectrum.binding_eV > 282.0) & (spectrum.binding_eV < 288.0)
    start = float(spectrum.binding_eV[window][np.argmax(net[window])])
    near = np.abs(spectrum.binding_eV - start) <= CALIBRATION_WINDOW_EV
    fit = fit_lines("C 1s", spectrum.binding_eV[near], net[near], spectrum.counts[near], {"C-C/C-H": start})
    return C1S_REFERENCE_EV - fit.lines[0].centre_eV


def _calibrated(spectrum: Spectrum, shift: float) -> Spectrum:
    return Spectrum(spectrum.region, spectrum.etch_s, spectrum.binding_eV + shift, spectrum.counts, spectrum.block)


def _load_external() -> tuple[dict[str, float], float, float]:
    import yaml

    external = yaml.safe_load(EXTERNAL.read_text(encoding="utf-8"))
    return external["factors"], external["p2p_spin_orbit_split_eV"], external["p2p_area_ratio_12_to_32"]


def _fit_region(spectrum: Spectrum, states: Mapping[str, float], split: float, ratio: float, **extra):
    background = shirley(spectrum.binding_eV, spectrum.counts)
    net = spectrum.counts - background
    doublet = dict(p2p_split=split, ratio=ratio, **extra) if spectrum.region == "P 2p" else {}
    return background, fit_lines(spectrum.region, spectrum.binding_eV, net, spectrum.counts, states, **doublet)


def analyse_profile(path: Path, factors, split, ratio, progress=print):
    """Calibrate, fit and quantify every etch step of the depth profile."""
    steps = by_step(path, read_vamas(path))
    depths = list(steps)
    shift = calibration_shift(steps[depths[0]]["C 1s"])
    spectra_rows, line_rows, detection_rows, atomic_rows = [], [], [], []
    detected: dict[str, list[bool]] = {"N 1s": [], "P 2p": []}
    found: dict[str, list[Line]] = {"N 1s": [], "P 2p": []}
    for number, depth in enumerate(depths, start=1):
        areas = {}
        for region in REGIONS:
            spectrum = _calibrated(steps[depth][region], shift)
            try:
                background, fit = _fit_region(spectrum, PROFILE_STATES[region], split, ratio)
                lines = fit.lines
            except ValueError as err:
                raise InputError(path, f"block {spectrum.block!r}: {err}") from None
            areas[region] = sum(line.area for line in lines)
            spectra_rows += [(depth, region, e, c, b) for e, c, b in zip(spectrum.binding_eV, spectrum.counts, background)]
            line_rows += [(depth, region, line.name, line.centre_eV, line.area, line.sigma_eV) for line in lines]
            if region in detected:
                area, sigma = net_area(spectrum.binding_eV, spectrum.counts, background)
                seen = area > DETECTION_SIGMA * sigma
                detected[region].append(seen)
                detection_rows.append((depth, region, area, sigma, int(seen)))
                if seen:
                    found[region] += lines
        atomic_rows.append((depth, atomic_percent(areas, factors)))
        if number % 10 == 0 or number == len(depths):
            progress(f"xps: depth profile {number}/{len(depths)} etch steps fitted")
    onsets = {region: onset(depths, flags) for region, flags in detected.items()}
    for region, depth in onsets.items():
        if depth is None:
            raise InputError(path, f"{region} is never detected ({DETECTION_SIGMA:g} sigma for {PERSISTENCE} steps)")
    return dict(shift=shift, onsets=onsets, found=found, spectra=spectra_rows, lines=line_rows,
                detection=detection_rows, atomic=atomic_rows)


def analyse_reference(path: Path, factors, split, ratio):
    """Calibrate and fit the LiPON reference; P 2p both with the fixed splitting and free."""
    steps = by_step(path, read_vamas(path))
    if len(steps) != 1:
        raise InputError(path, f"expected one set of regions, found {len(steps)} etch steps")
    regions = next(iter(steps.values()))
    shift = calibration_shift(regions["C 1s"])
    fits, curves, fixed = {}, [], None
    for region in REGIONS:
        spectrum = _calibrated(regions[region], shift)
        background, fit = _fit_region(spectrum, REFERENCE_STATES[region], split, ratio,
                                      **({"split_free": True} if region == "P 2p" else {}))
        fits[region] = fit
        x = spectrum.binding_eV
        curves += [(region, "counts", e, v) for e, v in zip(x, spectrum.counts)]
        curves += [(region, "background", e, v) for e, v in zip(x, background)]
        curves += [(region, "envelope", e, v) for e, v in zip(x, sum(fit.curves.values()) + background)]
        for name, component in fit.curves.items():
            curves += [(region, name, e, v) for e, v in zip(x, component + background)]
        if region == "P 2p":
            fixed = _fit_region(spectrum, REFERENCE_STATES[region], split, ratio)[1]
    return dict(shift=shift, fits=fits, fixed=fixed, curves=curves)


def _curve_rows(fit: LineFit, ratio: float) -> list[tuple]:
    """One row per drawn curve: a doublet's partners get their own position and area share."""
    rows = []
    for line in fit.lines:
        if fit.split_eV is None:
            rows.append((line.region, line.name, line.centre_eV, line.area, line.sigma_eV))
        else:
            rows.append((line.region, f"{line.name} 2p3/2", line.centre_eV, line.area / (1 + ratio), line.sigma_eV))
            rows.append((line.region, f"{line.name} 2p1/2", line.centre_eV + fit.split_eV,
                         line.area * ratio / (1 + ratio), line.sigma_eV))
    return rows


def run(raw: Path, out: Path) -> list[Number]:
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    factors, split, ratio = _load_external()
    profile = analyse_profile(raw / PROFILE, factors, split, ratio)
    reference = analyse_reference(raw / REFERENCE, factors, split, ratio)

    write_table(data / "xps_profile_spectra.csv", "depth,region,binding_eV,counts,background", profile["spectra"],
               "{:g},{},{:.2f},{:g},{:.1f}")
    write_table(data / "xps_profile_lines.csv", "depth,region,state,centre_eV,area,sigma_eV", profile["lines"],
               "{:g},{},{},{:.3f},{:.1f},{:.3f}")
    write_table(data / "xps_profile_detection.csv", "depth,region,net_area,sigma,detected", profile["detection"],
               "{:g},{},{:.1f},{:.1f},{}")
    write_table(data / "xps_onsets.csv", "region,onset_depth", list(profile["onsets"].items()), "{},{:g}")
    elements = {"C 1s": "C", "O 1s": "O", "N 1s": "N", "P 2p": "P", "Li 1s": "Li"}
    write_table(data / "xps_atomic_percent.csv", "depth," + ",".join(elements.values()),
               [(depth, *(percent[r] for r in elements)) for depth, percent in profile["atomic"]],
               "{:g}" + ",{:.3f}" * len(elements))
    write_table(data / "xps_reference_curves.csv", "region,curve,binding_eV,value", reference["curves"],
               "{},{},{:.2f},{:.2f}")
    ref_lines = [line for fit in reference["fits"].values() for line in fit.lines]
    write_table(data / "xps_reference_lines.csv", "region,state,centre_eV,area,sigma_eV",
               [row for fit in reference["fits"].values() for row in _curve_rows(fit, ratio)],
               "{},{},{:.3f},{:.1f},{:.3f}")

    ref = {(line.region, line.name): line for line in ref_lines}
    p_fit = reference["fits"]["P 2p"]
    p32, free_split = ref[("P 2p", "PO4")].centre_eV, p_fit.split_eV
    areas = {region: sum(line.area for line in fit.lines) for region, fit in reference["fits"].items()}
    ratios, formula = formula_per_p(areas, factors)
    return [
        Number("xps.n1s_onset_depth", int(profile["onsets"]["N 1s"]), "a.u.", f"{profile['onsets']['N 1s']:g}"),
        Number("xps.p2p_onset_depth", int(profile["onsets"]["P 2p"]), "a.u.", f"{profile['onsets']['P 2p']:g}"),
        quantity("xps.li3n_n1s_eV", weighted_centre(profile["found"]["N 1s"]), "eV", 1),
        quantity("xps.phosphate_p2p_eV", weighted_centre(profile["found"]["P 2p"]), "eV", 1),
        quantity("xps.profile_shift_eV", profile["shift"], "eV", 2),
        quantity("xps.reference_shift_eV", reference["shift"], "eV", 2),
        quantity("xps.ref_o1s_nbo_eV", ref[("O 1s", "NBO")].centre_eV, "eV", 1),
        quantity("xps.ref_o1s_bo_eV", ref[("O 1s", "BO")].centre_eV, "eV", 1),
        quantity("xps.ref_n1s_na_eV", ref[("N 1s", "Na")].centre_eV, "eV", 1),
        quantity("xps.ref_n1s_nb_eV", ref[("N 1s", "Nb")].centre_eV, "eV", 1),
        quantity("xps.ref_n1s_no2_eV", ref[("N 1s", "NO2-")].centre_eV, "eV", 1),
        quantity("xps.ref_p2p32_eV", p32, "eV", 1),
        quantity("xps.ref_p2p12_eV", p32 + free_split, "eV", 1),
        quantity("xps.ref_p2p_split_eV", free_split, "eV", 2),
        quantity("xps.ref_p2p_fixed_split_redchi_ratio", reference["fixed"].redchi / p_fit.redchi, "", 0),
        Number("xps.ref_stoichiometry", [round(r, 4) for r in ratios], "per P", formula),
        # the method's inputs, echoed so the text states exactly what the fits used
        quantity("xps.c1s_reference_eV", C1S_REFERENCE_EV, "eV", 1),
        quantity("xps.p2p_split_fixed_eV", split, "eV", 2),
    ]

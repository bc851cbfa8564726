"""STEM-EDS across the Li/LiPON interface: profiles, interphase width, maps (Fig 1E-G, S5, S6).

Definitions (stated in the supplement's methods):

* line intensities are exspy's integrated X-ray line intensities (window of twice the
  line's FWHM) minus the background estimated from windows on both sides of each line,
  in counts per second of live time;
* each of the N and P profiles is fitted with a constant plus an error-function step
  (lmfit ``StepModel(form="erf")``); a profile's *onset* is where the fitted step
  reaches 10 % of its height, its *plateau* where it reaches 90 %;
* the interphase runs from the N onset to the P plateau: those are the first and the
  last changes of composition on the way from Li into LiPON;
* the N lead is how much deeper into the Li the N onset lies than the P onset.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis import em_io
from paperbuild.errors import InputError
from paperbuild.numbers import Number, quantity

LINE_SCAN = "eds/line_scan.hspy"
SPECTRUM_IMAGE = "eds/spectrum_image.hspy"
LINES = ("N_Ka", "O_Ka", "P_Ka")
_Z80 = 0.9061938024368233  # erf(z) = 0.8: lmfit's erf step is 10 % / 90 % at centre -/+ _Z80 * sigma


@dataclass(frozen=True)
class Edge:
    """A fitted rise of one element's profile along the scan (nm)."""

    onset_nm: float      # 10 % of the step
    plateau_nm: float    # 90 % of the step
    centre_nm: float
    sigma_nm: float      # lmfit's erf sigma (10-90 % width = 1.812 sigma)
    low: float           # fitted level before the step
    high: float          # fitted level after the step

    def curve(self, x: np.ndarray) -> np.ndarray:
        from scipy.special import erf

        return self.low + (self.high - self.low) * 0.5 * (1 + erf((x - self.centre_nm) / self.sigma_nm))


# ------------------------------------------------------------------ pure functions
def fit_edge(x: np.ndarray, y: np.ndarray) -> Edge:
    """Fit a constant plus an erf step to a rising profile."""
    from lmfit.models import ConstantModel, StepModel

    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 8 or not np.all(np.isfinite(y)):
        raise ValueError("a profile needs at least 8 finite points")
    low, high = np.percentile(y, [10, 90])
    if high <= low:
        raise ValueError("the profile does not rise")
    model = StepModel(form="erf", prefix="step_") + ConstantModel(prefix="base_")
    params = model.make_params(step_amplitude=high - low, step_center=x[np.argmin(np.abs(y - (low + high) / 2))],
                               step_sigma=(x[-1] - x[0]) / 10, base_c=low)
    params["step_sigma"].set(min=(x[1] - x[0]) / 4)
    result = model.fit(y, params, x=x)
    c, s = result.params["step_center"].value, result.params["step_sigma"].value
    base, amp = result.params["base_c"].value, result.params["step_amplitude"].value
    if amp <= 0:
        raise ValueError("the fitted step does not rise toward LiPON")
    return Edge(c - _Z80 * s, c + _Z80 * s, c, s, base, base + amp)


def interphase(n_edge: Edge, p_edge: Edge) -> tuple[float, float, float]:
    """(start, end, N lead) of the interphase in nm along the scan."""
    start, end = n_edge.onset_nm, p_edge.plateau_nm
    if end <= start:
        raise ValueError("the P plateau lies before the N onset: no interphase can be defined")
    return start, end, p_edge.onset_nm - n_edge.onset_nm


def normalized(y: np.ndarray, edge: Edge) -> np.ndarray:
    """Profile scaled so the fitted levels before and after the step are 0 and 1."""
    return (np.asarray(y, float) - edge.low) / (edge.high - edge.low)


# ------------------------------------------------------------------ reading
def _check_eds(signal, path: Path, navigation_dims: int):
    if signal.metadata.Signal.signal_type not in ("EDS_TEM", "EDS_SEM", "EDS"):
        raise InputError(path, f"not an EDS signal (signal type {signal.metadata.Signal.signal_type!r})")
    if signal.axes_manager.navigation_dimension != navigation_dims:
        raise InputError(path, f"expected {navigation_dims} navigation axis/axes, found "
                               f"{signal.axes_manager.navigation_dimension}")
    energy = em_io.energy_axis(signal, path, "keV")
    if energy[-1] < 2.2:
        raise InputError(path, f"energy axis ends at {energy[-1]:.2f} keV, below P Ka (2.01 keV)")
    lines = list(signal.metadata.get_item("Sample.xray_lines", default=[]) or [])
    missing = [line for line in LINES if line not in lines]
    if missing:
        raise InputError(path, f"metadata lacks the X-ray line(s) {', '.join(missing)} (Sample.xray_lines is {lines})")
    live_time = signal.metadata.get_item("Acquisition_instrument.TEM.Detector.EDS.live_time", default=None)
    if not live_time or live_time <= 0:
        raise InputError(path, "metadata has no positive live time; counts per second cannot be computed")
    return energy, float(live_time)


def line_intensities(signal) -> dict[str, np.ndarray]:
    """Background-subtracted integrated intensity of each line (counts), per navigation position."""
    windows = signal.estimate_background_windows(line_width=[4.0, 4.0], xray_lines=list(LINES))
    images = signal.get_lines_intensity(xray_lines=list(LINES), integration_windows=2.0, background_windows=windows)
    out = {}
    for line, image in zip(LINES, images):
        if image._lazy:
            image.compute(show_progressbar=False)
        out[line] = np.asarray(image.data, dtype=float)
    return out


# ------------------------------------------------------------------ edge
def run(raw: Path, out: Path) -> list[Number]:
    """Profiles, fits and maps; the interphase width and N lead."""
    path = raw / LINE_SCAN
    scan = em_io.load(path)
    energy, live_time = _check_eds(scan, path, 1)
    position_scale, position_offset = em_io.axis_scale(scan.axes_manager.navigation_axes[0], path,
                                                       em_io.LENGTH_UNITS_TO_NM, "position")
    x = position_offset + position_scale * np.arange(scan.axes_manager.navigation_axes[0].size)
    cps = {line: counts / live_time for line, counts in line_intensities(scan).items()}
    try:
        n_edge, p_edge = fit_edge(x, cps["N_Ka"]), fit_edge(x, cps["P_Ka"])
        start, end, lead = interphase(n_edge, p_edge)
    except ValueError as err:
        raise InputError(path, f"cannot locate the interphase: {err}") from None

    (out / "data").mkdir(parents=True, exist_ok=True)
    table = np.column_stack([x, cps["N_Ka"], cps["O_Ka"], cps["P_Ka"], normalized(cps["N_Ka"], n_edge),
                             normalized(cps["P_Ka"], p_edge), normalized(n_edge.curve(x), n_edge),
                             normalized(p_edge.curve(x), p_edge)])
    np.savetxt(out / "data/eds_profiles.csv", table, delimiter=",", comments="", fmt="%.6g",
               header="position_nm,N_cps,O_cps,P_cps,N_norm,P_norm,N_fit_norm,P_fit_norm")
    np.savetxt(out / "data/eds_interphase.csv", [[start, end, n_edge.onset_nm, p_edge.onset_nm]], delimiter=",",
               comments="", fmt="%.6g", header="start_nm,end_nm,n_onset_nm,p_onset_nm")
    points = {"start": start, "middle": (start + end) / 2, "end": end}
    spectra = [scan.data[max(0, i - 2): i + 3].sum(axis=0) / live_time / min(5, i + 3)
               for i in (int(np.argmin(np.abs(x - v))) for v in points.values())]
    np.savetxt(out / "data/eds_point_spectra.csv", np.column_stack([energy, *spectra]), delimiter=",", comments="",
               fmt="%.6g", header="energy_keV,start_cps,middle_cps,end_cps")

    from exspy.material import elements

    with open(out / "data/eds_lines.csv", "w", encoding="utf-8") as handle:
        handle.write("line,energy_keV\n")
        for line in LINES:
            element, name = line.split("_")
            energy_keV = elements[element]["Atomic_properties"]["Xray_lines"][name]["energy (keV)"]
            handle.write(f"{line},{energy_keV}\n")

    map_path = raw / SPECTRUM_IMAGE
    cube = em_io.load(map_path, lazy=True)  # a real spectrum image may not fit in memory
    _, map_live_time = _check_eds(cube, map_path, 2)
    pixel_nm = em_io.axis_scale(cube.axes_manager.navigation_axes[0], map_path, em_io.LENGTH_UNITS_TO_NM, "map")[0]
    maps = line_intensities(cube)
    np.savez(out / "data/eds_maps.npz", N=maps["N_Ka"] / map_live_time, P=maps["P_Ka"] / map_live_time,
             O=maps["O_Ka"] / map_live_time, pixel_nm=pixel_nm)
    return [
        quantity("eds.interphase_width_nm", end - start, "nm", 0),
        quantity("eds.n_lead_nm", lead, "nm", 0),
    ]

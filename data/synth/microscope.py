"""Forward models of the electron microscopes: EDS, images, EELS.

Pure array functions; :mod:`data.synth.tree` writes them in the instruments' formats.
Each model states what it leaves out, so that nobody mistakes it for physics it is not.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage
from scipy.special import erf

_Z10 = 1.2815515655446004  # standard-normal quantile of 0.9: erf edge 10 % / 90 % points at x0 -/+ _Z10*sigma


# ---------------------------------------------------------------- composition profiles
def edge(x: np.ndarray, x10: float, width_10_90: float) -> np.ndarray:
    """A rise from 0 to 1 (Gaussian-smoothed step) with its 10 % point at ``x10``."""
    sigma = width_10_90 / (2 * _Z10)
    centre = x10 + _Z10 * sigma
    return 0.5 * (1 + erf((x - centre) / (np.sqrt(2) * sigma)))


def n_and_p_profiles(x: np.ndarray, cfg: dict[str, Any], start: float) -> tuple[np.ndarray, np.ndarray]:
    """N and P concentrations (LiPON = 1) along the line.

    The interphase runs from the N 10 % point (``start``) to the P 90 % point
    (``start + interphase_width_nm``); P starts rising ``n_lead_nm`` after N.
    """
    width, lead = cfg["interphase_width_nm"], cfg["n_lead_nm"]
    n = edge(x, start, cfg["n_rise_10_90_nm"])
    p = edge(x, start + lead, width - lead)
    return n, p


# ---------------------------------------------------------------- EDS
def eds_counts(x: np.ndarray, energy_keV: np.ndarray, cfg: dict[str, Any], start: float, dose: float,
               rng: np.random.Generator) -> np.ndarray:
    """Poisson counts (positions x channels) of an EDS line scan or map row.

    Peaks are Gaussians whose width follows the detector's Mn Ka resolution; the
    background is Kramers' bremsstrahlung times a detector-window efficiency.  Left
    out: absorption and fluorescence in the lamella, escape and sum peaks, beam spread.
    """
    from exspy.material import elements

    def energy_of(element: str, name: str) -> float:
        return elements[element]["Atomic_properties"]["Xray_lines"][name]["energy (keV)"]

    def line(element: str, name: str) -> np.ndarray:
        centre = energy_of(element, name)
        # detector broadening after Fiori & Newbury: FWHM^2 = FWHM(Mn Ka)^2 + 2.5 eV (E - E(Mn Ka))
        fwhm_eV = np.sqrt(cfg["energy_resolution_MnKa_eV"] ** 2 + 2.5 * (centre - energy_of("Mn", "Ka")) * 1000)
        sigma = fwhm_eV / 1000 / 2.3548
        scale = energy_keV[1] - energy_keV[0]
        return scale * np.exp(-0.5 * ((energy_keV - centre) / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)

    n, p = n_and_p_profiles(x, cfg, start)
    o = 1 + cfg["o_variation"] * np.sin(x / 37.0)
    e = np.maximum(energy_keV, 1e-3)
    efficiency = 1 - np.exp(-((e / 0.45) ** 3))
    kramers = (200.0 - e) / e * efficiency
    kramers = cfg["bremsstrahlung"] * kramers / np.interp(1.0, e, kramers)
    expected = (
        n[:, None] * cfg["counts_n_plateau"] * line("N", "Ka")
        + p[:, None] * cfg["counts_p_plateau"] * line("P", "Ka")
        + o[:, None] * cfg["counts_o"] * line("O", "Ka")
        + cfg["counts_c"] * line("C", "Ka")
        + cfg["counts_cu"] * line("Cu", "La")
        + kramers[None, :]
    )
    return rng.poisson(dose * expected).astype(np.uint16)


# ---------------------------------------------------------------- images
MAP_RNG_STREAM = 11              # map row r draws from default_rng([seed, MAP_RNG_STREAM, r])
MAP_BLOCK_BYTES = 64 * 2**20     # rows generated together: about this many bytes of counts


def eds_map(cfg: dict[str, Any], seed: int):
    """The spectrum image's Poisson counts (rows x columns x channels, uint16) as a Dask array.

    Each map row draws from its own random stream, so rows can be generated in any
    order, in parallel and a block at a time: a real-sized map (``map_shape`` of
    1024 x 1024 and 2048 channels is 4 GiB) is never held in memory whole.  The
    interface runs down the columns, wavering by 6 nm along the rows.
    """
    import dask.array as da

    rows, cols = cfg["map_shape"]
    channels = cfg["map_channels"]
    x = (np.arange(cols) + 0.5) * cfg["map_pixel_nm"]
    energy = np.arange(channels) * 0.01
    start = cfg["interphase_start_nm"] * (cols * cfg["map_pixel_nm"]) / cfg["line_length_nm"]
    per_block = max(1, min(rows, MAP_BLOCK_BYTES // (cols * channels * 2)))

    def block(block_info=None) -> np.ndarray:
        first, last = block_info[None]["array-location"][0]
        return np.stack([eds_counts(x, energy, cfg, start + 6.0 * np.sin(r / 7.0), cfg["map_dose"],
                                    np.random.default_rng([seed, MAP_RNG_STREAM, r])) for r in range(first, last)])

    shape = (rows, cols, channels)
    return da.map_blocks(block, chunks=da.core.normalize_chunks((per_block, cols, channels), shape=shape),
                         dtype=np.uint16)


def _texture(shape: tuple[int, ...], sigma_px: float, rng: np.random.Generator) -> np.ndarray:
    """Amorphous speckle: smoothed white noise, zero mean, unit spread."""
    field = ndimage.gaussian_filter(rng.normal(size=shape), sigma_px)
    return (field - field.mean()) / field.std()


def df_image(shape: tuple[int, int], pixel_nm: float, cfg_eds: dict[str, Any], start_nm: float,
             rng: np.random.Generator) -> np.ndarray:
    """STEM dark-field image: Li (dark, left) -> interphase -> LiPON (bright, right).

    Dark-field intensity follows the heavier elements, so it rises with the P profile.
    """
    x = (np.arange(shape[1]) + 0.5) * pixel_nm
    _, p = n_and_p_profiles(x, cfg_eds, start_nm)
    level = 0.12 + 0.5 * p
    image = level[None, :] * (1 + 0.12 * _texture(shape, 1.5, rng))
    image = image + rng.normal(0, 0.03, size=shape)
    return np.clip(image, 0, None).astype(np.float32)


# layer, thickness key or fixed thickness (µm), SEM grey level
_SEM_STACK = [("Li", "li_thickness_um", 0.22), ("LiPON", "lipon_thickness_um", 0.45), ("Pt", 0.10, 0.95),
              ("Cr", 0.02, 0.75), ("SiO2", 0.50, 0.30), ("Si", 10.0, 0.52)]


def sem_cross_section(cfg: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """Tilt-corrected FIB cross-section: vacuum over Li / LiPON / Pt / Cr / SiO2 / Si.

    Layers are drawn with partial-pixel boundaries, a slightly rough top surface and
    vertical curtaining stripes from milling; then blurred and noised.
    """
    rows, cols = cfg["shape"]
    pixel_um = cfg["pixel_nm"] / 1000
    top_um = 0.35 + 0.012 * np.sin(np.arange(cols) / 23.0) + 0.006 * rng.normal(size=cols).cumsum() / np.sqrt(cols)
    y_um = np.arange(rows + 1)[:, None] * pixel_um  # pixel edges
    image = np.full((rows, cols), 0.05)
    boundary = top_um[None, :].repeat(1, axis=0)
    for _, thickness, grey in _SEM_STACK:
        t = cfg[thickness] if isinstance(thickness, str) else thickness
        lower = boundary + t
        covered = np.clip(np.minimum(y_um[1:], lower) - np.maximum(y_um[:-1], boundary), 0, None) / pixel_um
        image = image + covered * (grey - 0.05)
        boundary = lower
    curtains = 1 + 0.04 * ndimage.gaussian_filter1d(rng.normal(size=cols), 2.0)[None, :]
    image = ndimage.gaussian_filter(image * curtains, 1.2)
    return np.clip(image + rng.normal(0, cfg["noise"], size=image.shape), 0, 1).astype(np.float32)


def frame_series(cfg: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """Repeated high-magnification frames of LiPON: the same amorphous texture each
    time, with scan drift and noise; ``frame_damage`` > 0 blurs it frame by frame as a
    beam-sensitive material would."""
    shape = tuple(cfg["frame_shape"])
    base = 1 + 0.3 * _texture(shape, 1.5, rng)
    frames = []
    for index in range(cfg["frames"]):
        drift = rng.normal(0, cfg["frame_drift_px"], size=2)
        frame = ndimage.shift(base, drift, mode="wrap")
        if cfg["frame_damage"] > 0:
            frame = ndimage.gaussian_filter(frame, cfg["frame_damage"] * index)
        frames.append(frame + rng.normal(0, cfg["frame_noise"], size=shape))
    return np.asarray(frames, dtype=np.float32)


# ---------------------------------------------------------------- EELS
def _step(energy: np.ndarray, onset: float, width: float = 0.5) -> np.ndarray:
    return 0.5 + np.arctan((energy - onset) / width) / np.pi


def _peak(energy: np.ndarray, centre: float, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((energy - centre) / sigma) ** 2)


def li_k_reference(energy: np.ndarray, phase: str, cfg: dict[str, Any]) -> np.ndarray:
    """Li K edge shape of a phase (arbitrary units), as a FEFF9 run would give it.

    Stand-ins for FEFF9 output: an edge step, the phase's main near-edge peak and a
    broad multiple-scattering hump.  LiPON peaks at ``li_k_peak_lipon_eV``, Li2O at
    ``li_k_peak_li2o_eV``.
    """
    lipon, li2o = cfg["li_k_peak_lipon_eV"], cfg["li_k_peak_li2o_eV"]
    shapes = {
        "Li2O": (56.5, [(li2o, 1.5, 1.6), (58.0, 0.6, 0.25)]),
        "LiPON": (57.5, [(lipon, 1.0, 1.8), (66.0, 3.0, 0.6)]),
        "Li3PO4": (57.6, [(lipon + 0.5, 1.1, 1.7), (66.5, 3.0, 0.7)]),
        "Li3P": (55.0, [(56.8, 1.2, 1.4), (61.0, 2.5, 0.5)]),
    }
    onset, peaks = shapes[phase]
    decay = np.where(energy > onset, (np.maximum(energy, onset) / onset) ** -1.5, 1.0)
    return _step(energy, onset) * decay + sum(a * _peak(energy, c, s) for c, s, a in peaks)


#: The phases that hold each element, so only they have a FEFF run for its edge.
P_L23_PHASES = ("Li3PO4", "Li3P", "LiPON")
O_K_PHASES = ("Li2O", "Li3PO4", "LiPON")


def p_l23_reference(energy: np.ndarray, phase: str, cfg: dict[str, Any]) -> np.ndarray:
    """P L2,3 edge shape of a phase (arbitrary units), as a FEFF9 run would give it (Fig 3C).

    Stand-ins for FEFF9 output, like :func:`li_k_reference`.  Phosphate (Li3PO4) and
    LiPON, whose phosphorus sits in P-O tetrahedra, show the two near-edge peaks at
    ``p_l_peaks_eV`` (sharper in the crystal) and the delayed maximum; the phosphide
    Li3P has an earlier onset, one rounded peak and no doublet, which is why the
    measured edges, whose doublet never changes, exclude it.
    """
    first, second = cfg["p_l_peaks_eV"]
    shapes = {
        "Li3PO4": (132.6, 0.7, [(first + 0.2, 0.8, 1.0), (second + 0.2, 1.0, 0.9), (151.0, 4.5, 0.8)]),
        "LiPON": (132.5, 0.8, [(first, 1.0, 0.9), (second, 1.2, 0.8), (152.0, 5.0, 0.7)]),
        "Li3P": (129.5, 1.0, [(133.5, 1.6, 0.6), (145.0, 6.0, 0.5)]),
    }
    onset, width, peaks = shapes[phase]
    decay = np.where(energy > onset, (np.maximum(energy, onset) / onset) ** -2.0, 1.0)
    return _step(energy, onset, width) * decay + sum(a * _peak(energy, c, s) for c, s, a in peaks)


def o_k_reference(energy: np.ndarray, phase: str) -> np.ndarray:
    """O K edge shape of a phase (arbitrary units), as a FEFF9 run would give it (Fig 3C).

    Stand-ins for FEFF9 output: the oxide Li2O peaks a few eV earlier than the P-O
    bonded oxygen of Li3PO4 and LiPON, whose shape is that of the measured edge
    (:func:`o_k`).
    """
    shapes = {
        "Li2O": (531.5, [(534.5, 1.2, 0.9), (540.5, 2.5, 0.6), (556.0, 6.0, 0.4)]),
        "Li3PO4": (532.0, [(537.8, 1.4, 0.9), (546.0, 4.5, 0.6)]),
        "LiPON": (532.0, [(537.5, 1.6, 0.8), (546.0, 5.0, 0.6)]),
    }
    onset, peaks = shapes[phase]
    decay = np.where(energy > onset, (np.maximum(energy, onset) / onset) ** -3.0, 1.0)
    return _step(energy, onset, 0.8) * decay + sum(a * _peak(energy, c, s) for c, s, a in peaks)


def p_l23(energy: np.ndarray, cfg: dict[str, Any]) -> np.ndarray:
    """P L2,3 of P-O polyhedra: edge step with the two near-edge peaks and a delayed maximum."""
    first, second = cfg["p_l_peaks_eV"]
    decay = np.where(energy > 132.0, (np.maximum(energy, 132.0) / 132.0) ** -2.0, 1.0)
    return (_step(energy, 132.5, 0.8) * decay + 0.9 * _peak(energy, first, 1.0) + 0.8 * _peak(energy, second, 1.2)
            + 0.7 * _peak(energy, 152.0, 5.0))


def o_k(energy: np.ndarray) -> np.ndarray:
    """O K edge: onset near 532 eV, a near-edge peak and a broad hump."""
    decay = np.where(energy > 532.0, (np.maximum(energy, 532.0) / 532.0) ** -3.0, 1.0)
    return _step(energy, 532.0, 0.8) * decay + 0.8 * _peak(energy, 537.5, 1.6) + 0.6 * _peak(energy, 546.0, 5.0)


def eels_counts(energy: np.ndarray, li2o_share: float, p_share: float, cfg: dict[str, Any],
                rng: np.random.Generator) -> np.ndarray:
    """One EELS spectrum: power-law background plus Li K, P L2,3 and O K edges, Poisson noise.

    The Li K edge is ``li2o_share`` of the Li2O reference plus the rest of LiPON's,
    blurred by the spectrometer resolution.  Left out: plural scattering, the plasmon
    and its tail, gain variations.
    """
    dispersion = energy[1] - energy[0]
    background = cfg["background_counts_at_50eV"] * (energy / 50.0) ** -cfg["background_exponent"]
    li = li2o_share * li_k_reference(energy, "Li2O", cfg) + (1 - li2o_share) * li_k_reference(energy, "LiPON", cfg)
    edges = cfg["li_k_counts"] * li + p_share * cfg["p_l_counts"] * p_l23(energy, cfg) + cfg["o_k_counts"] * o_k(energy)
    edges = ndimage.gaussian_filter1d(edges, cfg["resolution_eV"] / dispersion)
    return rng.poisson(background + edges).astype(np.float64)


# ---------------------------------------------------------------- lift-out (Figure S2)
LIFTOUT_STEPS = ("lamella milled free", "needle joined by redeposition", "lamella lifted out",
                 "lamella joined to the grid post")


def liftout_sequence(cfg: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """Ion-beam images of the Pt-free lift-out, one per step: trenches around a lamella,
    a needle welded to it by redeposited material, the lamella on the needle, the
    lamella on a grid post.  Shapes are in pixels of ``liftout_shape``."""
    rows, cols = cfg["liftout_shape"]
    y, x = np.mgrid[0:rows, 0:cols]
    surface = 0.45 + 0.05 * _texture((rows, cols), 4.0, rng)

    def box(top, bottom, left, right):
        return (y >= top) & (y < bottom) & (x >= left) & (x < right)

    lamella_in_place = box(0.47 * rows, 0.53 * rows, 0.25 * cols, 0.75 * cols)
    trenches = box(0.30 * rows, 0.47 * rows, 0.22 * cols, 0.78 * cols) | box(0.53 * rows, 0.70 * rows, 0.22 * cols,
                                                                              0.78 * cols)
    needle = (x > 0.74 * cols) & (y < 0.47 * rows) & (np.abs((x - 0.74 * cols) - 0.9 * (0.47 * rows - y)) < 0.02 * cols + 0.04 * (0.47 * rows - y))
    weld = (x - 0.75 * cols) ** 2 + (y - 0.48 * rows) ** 2 < (0.025 * cols) ** 2
    lifted = box(0.20 * rows, 0.26 * rows, 0.25 * cols, 0.75 * cols)
    post = box(0.60 * rows, rows, 0.05 * cols, 0.30 * cols)
    on_post = box(0.54 * rows, 0.60 * rows, 0.10 * cols, 0.60 * cols)
    frames = []
    for step in range(len(LIFTOUT_STEPS)):
        image = surface.copy()
        image[trenches] = 0.12
        if step == 0:
            image[lamella_in_place] = 0.8
        elif step == 1:
            image[lamella_in_place] = 0.8
            image[needle | weld] = 0.95
        elif step == 2:
            image[lamella_in_place] = 0.12
            image[lifted] = 0.8
            lift = int(0.27 * rows)
            raised = np.zeros_like(needle)
            raised[:-lift] = (needle | weld)[lift:]  # the needle moved up, nothing wraps around
            image[raised] = 0.95
        else:
            image = np.full((rows, cols), 0.1)
            image[post] = 0.7
            image[on_post] = 0.8
            image[(x - 0.3 * cols) ** 2 + (y - 0.57 * rows) ** 2 < (0.03 * cols) ** 2] = 0.95
        image = ndimage.gaussian_filter(image, 1.5) + rng.normal(0, cfg["noise"], size=(rows, cols))
        frames.append(np.clip(image, 0, 1) * 60000)
    return np.asarray(frames, dtype=np.uint16)


# ---------------------------------------------------------------- what the truth implies
_FINE_EV = 0.001  # grid of the noise-free curves whose maxima the quoted peak positions are


def _blurred(energy: np.ndarray, curve: np.ndarray, resolution_eV: float) -> np.ndarray:
    """A noise-free curve seen through the spectrometer (the blur of :func:`eels_counts`)."""
    return ndimage.gaussian_filter1d(curve, resolution_eV / (energy[1] - energy[0]))


def _local_maxima(energy: np.ndarray, curve: np.ndarray, window: tuple[float, float]) -> list[float]:
    inside = np.flatnonzero((energy >= window[0]) & (energy <= window[1]))
    c = curve[inside]
    tops = np.flatnonzero((c[1:-1] > c[:-2]) & (c[1:-1] >= c[2:])) + 1
    return [float(energy[inside[i]]) for i in tops]


def eels_expected(cfg: dict[str, Any]) -> dict[str, Any]:
    """EELS numbers the truth implies.

    Peak positions are the maxima of the noise-free edges as the spectrometer records
    them (blurred by its resolution): the Li K maximum of the last point (LiPON-like,
    peak I) and of the first point (oxide-like, peak II), and the two P L2,3 maxima
    near ``p_l_peaks_eV``.  An edge step under a peak moves its maximum off the
    Gaussian's centre; that shift is part of what "the peak position" means.
    """
    energy = np.arange(45.0, 160.0, _FINE_EV)

    def li_edge(share: float) -> np.ndarray:
        li = share * li_k_reference(energy, "Li2O", cfg) + (1 - share) * li_k_reference(energy, "LiPON", cfg)
        return _blurred(energy, li, cfg["resolution_eV"])

    def nearest_max(curve: np.ndarray, target: float, half: float) -> float:
        tops = _local_maxima(energy, curve, (target - half, target + half))
        return min(tops, key=lambda e: abs(e - target))

    shares = cfg["li2o_fraction"][: cfg["points"]]
    lipon_like = nearest_max(li_edge(shares[-1]), cfg["li_k_peak_lipon_eV"], 1.5)
    oxide_like = nearest_max(li_edge(shares[0]), cfg["li_k_peak_li2o_eV"], 1.5)
    p_edge = _blurred(energy, p_l23(energy, cfg), cfg["resolution_eV"])
    p_peaks = [nearest_max(p_edge, centre, 1.0) for centre in cfg["p_l_peaks_eV"]]
    return {
        "eels.points": int(cfg["points"]),
        "eels.step_nm": float(cfg["step_nm"]),
        "eels.li_k_peak1_eV": lipon_like,
        "eels.li_k_peak2_eV": oxide_like,
        "eels.p_l_peaks_eV": p_peaks,
        "eels.li2o_fraction": [float(s) for s in shares],
    }


def frame_blur_px(cfg: dict[str, Any]) -> float:
    """Gaussian blur (sigma, px) of the last frame of :func:`frame_series` relative to the first.

    The first frame is not blurred; the last is passed through ``ndimage.gaussian_filter``
    of sigma ``frame_damage * (frames - 1)``, whose sampled, truncated kernel has a
    smaller variance than sigma^2 when sigma is under a pixel or so: the blur is the
    square root of that kernel's variance (per axis), what a power spectrum sees.
    """
    sigma = cfg["frame_damage"] * (cfg["frames"] - 1)
    if sigma <= 0:
        return 0.0
    impulse = np.zeros(2 * int(8 * sigma + 10) + 1)
    impulse[impulse.size // 2] = 1.0
    kernel = ndimage.gaussian_filter1d(impulse, sigma)
    offsets = np.arange(impulse.size) - impulse.size // 2
    return float(np.sqrt((kernel * offsets ** 2).sum() / kernel.sum()))


def expected_numbers(truth: dict[str, Any]) -> dict[str, Any]:
    """Every quoted EDS, SEM, STEM and EELS number the truth implies (see data/synth/priors.py)."""
    eds, sem = truth["eds"], truth["sem"]
    return {
        **eels_expected(truth["eels"]),
        "eds.interphase_width_nm": float(eds["interphase_width_nm"]),   # N 10 % point to P 90 % point
        "eds.n_lead_nm": float(eds["n_lead_nm"]),                       # P 10 % point minus N 10 % point
        "sem.li_thickness_um": float(sem["li_thickness_um"]),
        "stem.beam_blur_nm": frame_blur_px(truth["stem"]) * truth["stem"]["frame_pixel_nm"],
    }

"""Every step of the paper's pipeline, declared once.  ``dodo.py`` turns this into tasks.

This is the only place where a file path or a method choice is written: each step names
its inputs and outputs by role and its parameters by name, and the runner hands them to
the module's ``run(inputs, outputs, **params)``.  Kept as plain data so importing it
costs nothing: the modules named here are only imported when their step runs.

Parameters carry their unit and the reason for their value; the methods text quotes
them with ``{{< param STEP.NAME >}}``.
"""
from __future__ import annotations

from paperbuild.step import Param, Step, built, project, raw

STYLE = project("analysis/paper.mplstyle")
PHASES = project("data/external/phases.yaml")
NUMERIC_LIBRARIES = ("numpy", "scipy", "galvani")
EM_LIBRARIES = ("numpy", "scipy", "hyperspy", "exspy", "rosettasciio", "tifffile", "h5py", "lmfit")
PLOT_LIBRARIES = ("numpy", "matplotlib")

STEPS: tuple[Step, ...] = (
    Step(
        name="electrochemistry",
        module="analysis.electrochemistry",
        doc="EC-Lab exports -> per-cycle CE, rates, voltage window (Fig 1A, 1B, S1 data)",
        inputs={"thin_film": raw("echem/thin_film_cell.mpt"), "liquid": raw("echem/liquid_cell.mpt")},
        outputs={"thin_film_cycles": "data/echem_thin_film_cycles.csv",
                 "liquid_cycles": "data/echem_liquid_cycles.csv",
                 "thin_film_profiles": "data/echem_thin_film_profiles.csv"},
        numbers=("echem.cycles", "echem.fast_rate_C", "echem.slow_rate_C", "echem.voltage_min_V",
                 "echem.voltage_max_V", "echem.ce_floor_after_100", "echem.ce_floor_after_400",
                 "echem.capacity_retention_pct", "liquid.ce_max"),
        params={
            "ce_floor_first_cycle": Param(100, "", "the paper quotes the CE floor from cycle 100 on"),
            "ce_floor_second_cycle": Param(400, "", "and from cycle 400 on"),
            "steady_rate_tolerance_pct": Param(20, "%", "a cycle this close to the median C-rate is a steady "
                                               "(fast) cycle; formation and check-up cycles differ by 50x"),
        },
        libraries=NUMERIC_LIBRARIES,
    ),
    Step(
        name="electrochemistry_figures",
        module="analysis.electrochemistry_figures",
        doc="Figure S1 from the per-cycle tables (Fig 1A, 1B: step cell_figure)",
        inputs={"thin_film_cycles": built("data/echem_thin_film_cycles.csv"),
                "liquid_cycles": built("data/echem_liquid_cycles.csv"), "style": STYLE},
        outputs={"figS1": "figures/figS1_ce_solid_vs_liquid.svg"},
        libraries=PLOT_LIBRARIES,
    ),
    Step(
        name="eds",
        module="analysis.eds",
        doc="EDS line scan and spectrum image -> interphase width, N lead (Fig 1E-G, S5, S6 data)",
        inputs={"line_scan": raw("eds/line_scan.hspy"), "spectrum_image": raw("eds/spectrum_image.hspy")},
        outputs={"profiles": "data/eds_profiles.csv", "interphase": "data/eds_interphase.csv",
                 "point_spectra": "data/eds_point_spectra.csv", "lines": "data/eds_lines.csv",
                 "scan_path": "data/eds_scan_path.csv", "maps": "data/eds_maps.npz"},
        numbers=("eds.interphase_width_nm", "eds.n_lead_nm"),
        params={
            "integration_width_fwhm": Param(2.0, "FWHM", "exspy's default: holds nearly all of a line's counts "
                                            "with little background"),
            "background_offset_fwhm": Param(4.0, "FWHM", "background windows start where a line's tails have "
                                            "faded, on both sides"),
            "background_width_fwhm": Param(1.0, "FWHM", "exspy's default background window width"),
            "onset_pct": Param(10, "%", "the usual 10-90 % rise: away from the noisy fitted levels"),
            "plateau_pct": Param(90, "%", "the usual 10-90 % rise: away from the noisy fitted levels"),
            "point_spectrum_positions": Param(5, "", "enough counts for a readable spectrum while spanning "
                                              "a few scan steps, well under the interphase width"),
        },
        libraries=EM_LIBRARIES + ("dask",),  # its block sums follow Dask's reduction tree
        chunked=True,  # the spectrum image's blocks go to Dask (scheduler= sends them to a cluster)
    ),
    Step(
        name="micrographs",
        module="analysis.micrographs",
        doc="SEM/STEM micrographs -> Li film thickness, beam stability (Fig 1C, 1D, S2, S3 data)",
        inputs={"sem_cross_section": raw("sem/fib_cross_section.tif"), "df_interface": raw("stem/interface_df.tif"),
                "df_eels_region": raw("stem/eels_region_df.tif"), "lipon_frames": raw("stem/lipon_frames.tif"),
                "liftout": raw("sem/liftout_sequence.tif")},
        outputs={"sem_cross_section": "data/sem_cross_section.npz", "df_interface": "data/stem_interface_df.npz",
                 "df_eels_region": "data/stem_eels_region_df.npz", "frames": "data/stem_frames.npz",
                 "liftout": "data/sem_liftout.npz"},
        numbers=("sem.li_thickness_um", "stem.beam_blur_nm"),
        params={
            "profile_smoothing_px": Param(1.5, "px", "Gaussian sigma: quiets pixel noise, keeps a boundary a few "
                                          "pixels sharp"),
            "boundary_prominence": Param(8, "", "gradient peaks this many noise sigmas high are boundaries; "
                                         "noise alone does not reach it"),
            "boundary_separation_px": Param(3, "px", "one boundary per edge: a blurred edge spans a few pixels"),
            "max_shift_px": Param(3, "px", "covers the stage drift between frames, too small to align "
                                  "unrelated speckle"),
            "noise_band_cycles_per_px": Param(0.4, "cycles/px", "finer than any speckle of amorphous LiPON "
                                              "at frame magnification: only the white counting noise "
                                              "has power there"),
            "min_speckle_snr": Param(1.0, "", "a ring of the power spectrum is used where the speckle's "
                                     "power is at least the noise's, so noise does not dominate its ratio"),
        },
        libraries=EM_LIBRARIES,
    ),
    Step(
        name="eels",
        module="analysis.eels",
        doc="EELS point spectra and FEFF references -> Li K and P L2,3 peaks, Li2O share (Fig 3 data)",
        inputs={"points": raw("eels/point_*.msa"), "ref_Li2O": raw("eels/feff/Li2O/eels.dat"),
                "ref_Li3PO4": raw("eels/feff/Li3PO4/eels.dat"), "ref_Li3P": raw("eels/feff/Li3P/eels.dat"),
                "ref_LiPON": raw("eels/feff/LiPON/eels.dat"),
                "ref_p_Li3PO4": raw("eels/feff/Li3PO4/P_L23/eels.dat"),
                "ref_p_Li3P": raw("eels/feff/Li3P/P_L23/eels.dat"), "ref_p_LiPON": raw("eels/feff/LiPON/P_L23/eels.dat"),
                "ref_o_Li2O": raw("eels/feff/Li2O/O_K/eels.dat"), "ref_o_Li3PO4": raw("eels/feff/Li3PO4/O_K/eels.dat"),
                "ref_o_LiPON": raw("eels/feff/LiPON/O_K/eels.dat")},
        outputs={"li_edges": "data/eels_li_edges.csv", "p_edges": "data/eels_p_edges.csv",
                 "o_edges": "data/eels_o_edges.csv", "li_fits": "data/eels_li_fits.csv",
                 "points": "data/eels_points.csv", "peaks": "data/eels_peaks.csv",
                 "references": "data/eels_references.csv", "p_references": "data/eels_p_references.csv",
                 "o_references": "data/eels_o_references.csv"},
        numbers=("eels.points", "eels.step_nm", "eels.li_k_peak1_eV", "eels.li_k_peak2_eV", "eels.p_l_peaks_eV",
                 "eels.li2o_fraction"),
        params={
            "li_background_eV": Param((50.0, 54.0), "eV", "pre-edge region just below the Li K onset (~55 eV), "
                                      "inside the references' range: the power law is fitted there together "
                                      "with the edge, whose tails reach into it"),
            "p_background_eV": Param((120.0, 130.0), "eV", "pre-edge region just below the P L2,3 onset (~132 eV)"),
            "o_background_eV": Param((505.0, 528.0), "eV", "pre-edge region just below the O K onset (~532 eV)"),
            "li_fit_window_eV": Param((55.0, 72.0), "eV", "the Li K near-edge structure where Li2O and LiPON differ"),
            "li_peak_search_eV": Param((57.0, 66.0), "eV", "holds both Li K near-edge peaks (LiPON- and Li2O-like)"),
            "p_peak_search_eV": Param((134.0, 146.0), "eV", "holds the two P L2,3 near-edge peaks"),
            "p_peak_prominence": Param(0.02, "", "fraction of the summed edge's range: ignores noise wiggles only"),
            "smoothing_window_eV": Param(2.0, "eV", "Savitzky-Golay window: narrower than a near-edge peak's "
                                         "FWHM (2.4 eV and more), wide enough to average the counting noise "
                                         "that moves a maximum"),
            "smoothing_order": Param(3, "", "cubic Savitzky-Golay keeps peak heights and positions"),
            "li_shown_eV": Param((50.0, 80.0), "eV", "the Li K range Fig 3B and 3C show"),
            "p_shown_eV": Param((125.0, 165.0), "eV", "the P L2,3 range Fig 3B and 3C show"),
            "o_shown_eV": Param((520.0, 575.0), "eV", "the O K range Fig 3B and 3C show"),
            "reference_step_eV": Param(0.05, "eV", "grid of the FEFF curves in Fig 3C, finer than their features"),
        },
        libraries=EM_LIBRARIES,
    ),
    Step(
        name="eds_figures",
        module="analysis.eds_figures",
        doc="Figures S5 and S6 from the EDS tables (Fig 1E-G: step cell_figure)",
        inputs={"profiles": built("data/eds_profiles.csv"), "interphase": built("data/eds_interphase.csv"),
                "point_spectra": built("data/eds_point_spectra.csv"), "lines": built("data/eds_lines.csv"),
                "scan_path": built("data/eds_scan_path.csv"), "df_interface": built("data/stem_interface_df.npz"),
                "style": STYLE},
        outputs={"figS5": "figures/figS5_eds_line_scan.svg", "figS6": "figures/figS6_eds_point_spectra.svg"},
        libraries=PLOT_LIBRARIES,
    ),
    Step(
        name="cell_figure",
        module="analysis.cell_figure",
        doc="Figure 1 composed from the electrochemistry, micrograph and EDS tables",
        inputs={"thin_film_cycles": built("data/echem_thin_film_cycles.csv"),
                "thin_film_profiles": built("data/echem_thin_film_profiles.csv"),
                "sem_cross_section": built("data/sem_cross_section.npz"),
                "df_interface": built("data/stem_interface_df.npz"), "maps": built("data/eds_maps.npz"),
                "profiles": built("data/eds_profiles.csv"), "interphase": built("data/eds_interphase.csv"),
                "scan_path": built("data/eds_scan_path.csv"), "style": STYLE},
        outputs={"fig1": "figures/fig1_cell_and_interface.svg"},
        libraries=PLOT_LIBRARIES,
    ),
    Step(
        name="micrograph_figures",
        module="analysis.micrograph_figures",
        doc="Figures S2 and S3 from the micrograph arrays (Fig 1C, 1D: step cell_figure)",
        inputs={"frames": built("data/stem_frames.npz"), "liftout": built("data/sem_liftout.npz"), "style": STYLE},
        outputs={"figS3": "figures/figS3_lipon_beam_stability.svg", "figS2": "figures/figS2_liftout_sequence.svg"},
        libraries=PLOT_LIBRARIES,
    ),
    Step(
        name="eels_figures",
        module="analysis.eels_figures",
        doc="Figure 3 from the EELS tables",
        inputs={"points": built("data/eels_points.csv"), "df_eels_region": built("data/stem_eels_region_df.npz"),
                "li_edges": built("data/eels_li_edges.csv"), "p_edges": built("data/eels_p_edges.csv"),
                "o_edges": built("data/eels_o_edges.csv"), "li_fits": built("data/eels_li_fits.csv"),
                "peaks": built("data/eels_peaks.csv"), "references": built("data/eels_references.csv"),
                "p_references": built("data/eels_p_references.csv"),
                "o_references": built("data/eels_o_references.csv"), "style": STYLE},
        outputs={"fig3": "figures/fig3_eels.svg"},
        libraries=PLOT_LIBRARIES,
    ),
    Step(
        name="hrtem",
        module="analysis.hrtem",
        doc="HRTEM regions -> phases, layer thicknesses, crystallite sizes (Fig 2, 6, Table S1 data)",
        inputs={"regions": raw("hrtem/region_*.tif"), "phases": PHASES},
        outputs={"layers": "data/hrtem_layers.csv", "layer_summary": "data/hrtem_layer_summary.csv",
                 "phase_profiles": "data/hrtem_phase_profiles.csv",
                 "layer_composition": "data/hrtem_layer_composition.csv",
                 "crystallites": "data/hrtem_crystallites.csv", "region1": "data/hrtem_region1.npz",
                 "reference_rings": "data/hrtem_reference_rings.csv", "reflections": "tables/hrtem_reflections.md"},
        numbers=("hrtem.regions", "hrtem.layer_li_li2o_nm", "hrtem.layer_li_li2o_li3n_nm",
                 "hrtem.layer_li2o_li3n_li3po4_nm", "hrtem.interphase_nm", "hrtem.crystallite_min_nm",
                 "hrtem.crystallite_max_nm"),
        params={
            "window_px": Param(128, "pixels", "local FFT window: several fringe periods of every phase, "
                               "yet thinner than a layer"),
            "step_px": Param(8, "pixels", "depth step of the sliding window, finer than a crystallite"),
            "q_range_inv_A": Param((0.18, 0.66), "Å⁻¹", "holds every reference ring (0.25-0.61 Å⁻¹) with room "
                                   "for the background on both sides, clear of the low-frequency contrast"),
            "ring_sigma_range_inv_A": Param((0.004, 0.024), "Å⁻¹", "candidate ring widths: from sharper than one "
                                            "frequency step of the window to the broadening of 2-nm crystallites"),
            "ring_sigma_step_inv_A": Param(0.002, "Å⁻¹", "a fifth of the window's frequency step; finer changes "
                                           "no weight"),
            "damping_range_A": Param((0, 2.0), "Å", "candidate envelopes: from none to one that damps the "
                                     "outermost ring twentyfold"),
            "damping_step_A": Param(0.2, "Å", "ten candidates over the range; the weights vary smoothly with it"),
            "background_spacing_inv_A": Param(0.05, "Å⁻¹", "centres of the broad background terms, closer than "
                                              "their width so their sum is smooth"),
            "background_width_inv_A": Param(0.06, "Å⁻¹", "several ring widths, so a background term cannot "
                                            "absorb a ring"),
            "column_prominence": Param(0.15, "", "least prominence of a column or gap, as a fraction of the "
                                       "occupancy's 5-95 percentile span: above the noise between crystallites"),
            "layer_variance_floor": Param(0.25, "", "least within-layer variance of the layer cut, as a fraction "
                                          "of the whole column sequence's: a layer of one or two columns cannot "
                                          "claim a vanishing spread"),
            "crystalline_fraction": Param(0.25, "", "a depth holds crystallites where its phase weight exceeds "
                                          "this fraction of the image's 95th percentile (LiPON stays far below)"),
            "fringe_band_margin_inv_A": Param(0.03, "Å⁻¹", "widens the fringe band past the outermost rings by "
                                              "about the widest ring width"),
            "band_edge_inv_A": Param(0.01, "Å⁻¹", "soft band edge against ringing, narrower than the margin"),
            "fringe_smoothing_A": Param(3.0, "Å", "about one fringe period, so the energy is even across a "
                                        "crystallite"),
            "crystalline_percentile": Param(90, "", "the crystalline level: high inside the interphase, yet "
                                            "below single bright pixels"),
            "amorphous_offset_nm": Param(8.0, "nm", "the amorphous level is read this far past the interphase "
                                         "end, clear of its last crystallites"),
            "min_crystallite_nm": Param(2.0, "nm", "smaller specks are noise in the fringe energy, not "
                                        "crystallites"),
            "crystallite_edge_level": Param(0.5, "", "a crystallite's edge lies half-way from its own fringe "
                                            "energy down to the amorphous level: the half-maximum contour of a "
                                            "blurred disc lies on its edge, whatever its brightness"),
            "crystallite_edge_reach_A": Param(4.0, "Å", "how far past the detection contour a crystallite's own "
                                              "edge is sought: about the energy's smoothing, and no farther than "
                                              "the gap between crystallites"),
            "min_crystallites": Param(10, "", "fewer give no meaningful percentiles of the sizes"),
            "size_percentiles": Param((10, 90), "", "the quoted size range, robust to a few merged or cut "
                                      "crystallites"),
            "profile_percentile": Param(95, "", "scales each phase's depth profile (Fig 2) so a few strong "
                                        "windows do not flatten it"),
            "ambiguity_steps": Param(2, "", "two reflections closer than two frequency steps of the window "
                                     "fall into overlapping bins of a local FFT"),
        },
        libraries=EM_LIBRARIES + ("ase",),
        chunked=True,  # one Dask task per region image
    ),
    Step(
        name="hrtem_figures",
        module="analysis.hrtem_figures",
        doc="Figures 2 and 6 (each one composed figure) from the HRTEM tables",
        inputs={"region1": built("data/hrtem_region1.npz"), "reference_rings": built("data/hrtem_reference_rings.csv"),
                "layer_summary": built("data/hrtem_layer_summary.csv"), "layers": built("data/hrtem_layers.csv"),
                "crystallites": built("data/hrtem_crystallites.csv"),
                "layer_composition": built("data/hrtem_layer_composition.csv"), "style": STYLE},
        outputs={"fig2": "figures/fig2_hrtem.svg", "fig6": "figures/fig6_multilayer_mosaic.svg"},
        libraries=PLOT_LIBRARIES,
    ),
    Step(
        name="computations",
        module="analysis.computations",
        doc="NEB and AIMD files -> migration barriers, AIMD cell composition (Fig 5, S7 data)",
        inputs={"neb_P": raw("dft/neb_P.dat"), "neb_N": raw("dft/neb_N.dat"), "neb_O": raw("dft/neb_O.dat"),
                "poscar": raw("aimd/POSCAR"), "formation_energies": project("data/external/formation_energies.yaml")},
        outputs={"neb_images": "data/neb_images.csv", "neb_curves": "data/neb_curves.csv",
                 "aimd_cell": "data/aimd_cell.xyz"},
        numbers=("dft.barrier_p_eV", "dft.barrier_n_eV", "dft.barrier_o_eV", "dft.formation_li3po4_eV",
                 "dft.formation_li3p_eV", "aimd.atoms_li", "aimd.atoms_p", "aimd.atoms_o", "aimd.atoms_n",
                 "aimd.stoichiometry"),
        params={
            "barrier_points": Param(4001, "", "samples of the interpolated path searched for the maximum: "
                                   "spaced far below the path length, so sampling does not show in 0.01 eV"),
            "curve_points": Param(400, "", "samples of each drawn NEB curve, smooth at print size (Fig 5B)"),
        },
        libraries=("numpy", "scipy", "ase"),
    ),
    Step(
        name="computations_figures",
        module="analysis.computations_figures",
        doc="Figures 5 and S7 from the NEB tables and the AIMD cell",
        inputs={"neb_images": built("data/neb_images.csv"), "neb_curves": built("data/neb_curves.csv"),
                "aimd_cell": built("data/aimd_cell.xyz"), "phases": PHASES, "style": STYLE},
        outputs={"fig5": "figures/fig5_diffusion.svg", "figS7": "figures/figS7_aimd_lipon_cell.svg"},
        libraries=PLOT_LIBRARIES + ("ase",),
    ),
    Step(
        name="xps",
        module="analysis.xps",
        doc="VAMAS depth profile and LiPON reference -> onsets, binding energies, stoichiometry (Fig 4, S8, S9 data)",
        inputs={"profile": raw("xps/depth_profile.vms"), "reference": raw("xps/lipon_reference.vms"),
                "sensitivity_factors": project("data/external/xps_sensitivity_factors.yaml")},
        outputs={"profile_spectra": "data/xps_profile_spectra.csv", "profile_lines": "data/xps_profile_lines.csv",
                 "profile_detection": "data/xps_profile_detection.csv", "onsets": "data/xps_onsets.csv",
                 "atomic_percent": "data/xps_atomic_percent.csv", "reference_curves": "data/xps_reference_curves.csv",
                 "reference_lines": "data/xps_reference_lines.csv"},
        numbers=("xps.n1s_onset_depth", "xps.p2p_onset_depth", "xps.li3n_n1s_eV", "xps.phosphate_p2p_eV",
                 "xps.profile_shift_eV", "xps.reference_shift_eV", "xps.ref_o1s_nbo_eV", "xps.ref_o1s_bo_eV",
                 "xps.ref_n1s_na_eV", "xps.ref_n1s_nb_eV", "xps.ref_n1s_no2_eV", "xps.ref_p2p32_eV",
                 "xps.ref_p2p12_eV", "xps.ref_p2p_split_eV", "xps.ref_p2p_fixed_split_redchi_ratio",
                 "xps.ref_stoichiometry", "xps.c1s_reference_eV", "xps.p2p_split_fixed_eV",
                 "xps.photon_energy_eV", "xps.analysis_width_x_um", "xps.analysis_width_y_um"),
        params={
            "c1s_reference_eV": Param(284.6, "eV", "adventitious carbon C-C/C-H, the reference the original article uses"),
            "calibration_search_eV": Param((282.0, 288.0), "eV", "brackets the C-C/C-H line on the recorded scale, "
                                           "clear of the carbonate line near 290 eV"),
            "calibration_window_eV": Param(2.5, "eV", "holds the C-C/C-H line and its wings but no neighbour: one line "
                                           "on a narrow window is a well-posed fit"),
            "edge_channels": Param(10, "channels", "averaging ten channels keeps one noisy channel from tilting the "
                                   "background, yet stays clear of the lines"),
            "flat_background_sigma": Param(3.0, "", "an edge step within three counting sigmas is noise: Shirley has "
                                           "nothing to distribute"),
            "shirley_tolerance": Param(1e-6, "counts²", "mean squared change far below counting noise: converged"),
            "centre_freedom_eV": Param(1.0, "eV", "chemical shifts between LiPON-type compounds stay within about "
                                       "1 eV of the literature positions"),
            "gauss_sigma_start_eV": Param(0.55, "eV", "typical instrumental plus chemical broadening of these lines"),
            "gauss_sigma_range_eV": Param((0.2, 1.5), "eV", "from the analyser's resolution to a broad, charged line"),
            "lorentz_gamma_start_eV": Param(0.1, "eV", "core-hole lifetime widths of these levels are about 0.1 eV"),
            "lorentz_gamma_range_eV": Param((0.0, 0.5), "eV", "lifetime broadening of light-element core levels "
                                            "stays below 0.5 eV"),
            "free_split_range_eV": Param((0.2, 1.5), "eV", "wide enough for the published P 2p pair and for the "
                                         "cited 0.87 eV splitting"),
            "area_start_factor": Param(1.5, "", "starting areas of the size the net counts show; the fit converges "
                                       "from there"),
            "shirley_step_max": Param(1.0, "eV⁻¹", "the fitted Shirley step of inelastic losses is a few hundredths "
                                      "of the line area per eV; a step of the whole area within one eV is no loss "
                                      "background, and the bound keeps a fit without any line from chasing it"),
            "detection_sigma": Param(3.0, "", "a noise-only window rarely passes three sigmas (one-sided)"),
            "persistence": Param(3, "", "three detected steps in a row: one noisy spectrum can neither start nor "
                                 "hide an onset"),
        },
        libraries=("numpy", "scipy", "lmfit", "lmfitxps", "vamas"),
    ),
    Step(
        name="xps_figures",
        module="analysis.xps_figures",
        doc="Figures 4, S8 and S9 from the XPS tables",
        inputs={"profile_spectra": built("data/xps_profile_spectra.csv"), "onsets": built("data/xps_onsets.csv"),
                "profile_lines": built("data/xps_profile_lines.csv"), "atomic_percent": built("data/xps_atomic_percent.csv"),
                "reference_curves": built("data/xps_reference_curves.csv"),
                "reference_lines": built("data/xps_reference_lines.csv"), "style": STYLE},
        outputs={"fig4": "figures/fig4_xps_depth_profile.svg", "figS8": "figures/figS8_xps_lipon_reference.svg",
                 "figS9": "figures/figS9_xps_atomic_percent.svg"},
        libraries=PLOT_LIBRARIES,
    ),
    Step(
        name="xrd",
        module="analysis.xrd",
        doc="XRD patterns -> peaks, Li2CO3 indexing, amorphous check (Fig S4 data)",
        inputs={"pristine": raw("xrd/lipon_pristine.xy"), "air_exposed": raw("xrd/lipon_air_2d.xy"),
                "cryo": raw("xrd/lipon_cryo_100K.xy"), "li2co3_structure": project("data/external/li2co3_structure.yaml")},
        outputs={"patterns": "data/xrd_patterns.csv", "peaks": "data/xrd_peaks.csv",
                 "li2co3_reflections": "data/xrd_li2co3_reflections.csv"},
        numbers=("xrd.pristine_peaks", "xrd.new_peaks", "xrd.li2co3_matched_peaks", "xrd.li2co3_matched_hkl",
                 "xrd.cryo_amorphous", "xrd.cryo_peaks"),
        params={
            "background_stiffness": Param(1e6, "", "arPLS penalty stiff enough not to follow a Bragg peak, soft "
                                          "enough to follow the amorphous hump"),
            "background_rounds": Param(3, "", "refits of the background with the found peaks' profiles taken "
                                       "out; each removes part of the tails' excess under a line cluster (about a "
                                       "fifth): three halve it; more would trade the tails against the baseline, "
                                       "which the fit cannot tell apart, and overshoot"),
            "smoothing_points": Param(9, "points", "spans less than a Bragg peak's width (about 0.2°, 11 points): "
                                      "averages noise without flattening the peaks"),
            "smoothing_order": Param(2, "", "a quadratic keeps a peak's top in place while smoothing"),
            "detection_sigma": Param(5.0, "", "five sigmas: over thousands of points of three patterns, noise alone "
                                     "does not reach it"),
            "prominence_sigma": Param(2.0, "", "a peak must also rise two sigmas above the dip to a higher "
                                      "neighbour: a noise ripple on a strong line's flank, which can stand five "
                                      "sigmas above the background, does not"),
            "own_height_sigma": Param(3.0, "", "in a joint fit of all peaks a peak's own profile must stand three "
                                      "sigmas: a ripple that the tail of a strong neighbour explains does not"),
            "min_separation_fwhm": Param(1.0, "peak widths", "two lines closer than one half-height width of the "
                                         "pattern's peaks show no dip between them: they are one peak"),
            "edge_fwhm": Param(2.0, "peak widths", "a maximum within two peak widths of a scan's end may be the flank "
                               "of a line beyond it, where the baseline is also least certain"),
            "match_tolerance_fwhm": Param(0.6, "peak widths", "less than a peak's width (measured in the pattern, so "
                                          "the same for a Cu, Co or Mo tube), more than the position error of a "
                                          "refined peak"),
            "min_reflection_pct": Param(1.0, "%", "lines weaker than 1 % of the strongest could not show above "
                                        "the noise"),
        },
        libraries=("numpy", "scipy", "pybaselines", "xraydb", "ase"),
    ),
    Step(
        name="xrd_figures",
        module="analysis.xrd_figures",
        doc="Figure S4 from the XRD tables",
        inputs={"patterns": built("data/xrd_patterns.csv"), "peaks": built("data/xrd_peaks.csv"),
                "li2co3_reflections": built("data/xrd_li2co3_reflections.csv"), "style": STYLE},
        outputs={"figS4": "figures/figS4_xrd.svg"},
        libraries=PLOT_LIBRARIES,
    ),
    Step(
        name="design",
        module="analysis.design",
        doc="Cell design and cited tables -> Li excess, deposition times, Tables S1 and S2",
        inputs={"cell_design": project("data/external/cell_design.yaml"),
                "sample_transfer": project("data/external/sample_transfer.yaml"),
                "sei_conductivities": project("data/external/sei_conductivities.yaml")},
        outputs={"table_s1": "tables/table_s1_sample_transfer.md", "table_s2": "tables/table_s2_sei_conductivities.md"},
        numbers=("cell.li_excess_pct", "cell.li_excess_range_pct", "cell.cathode_areal_capacity_mAh_cm2",
                 "cell.li_excess_if_stated_areal_pct", "design.lipon_time_as_printed_h",
                 "design.lipon_time_if_per_second_h", "design.li_time_min"),
        libraries=("pint",),
    ),
)

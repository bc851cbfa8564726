"""Every step of the paper's pipeline, in order.  ``dodo.py`` turns this into tasks.

Kept as plain data so importing it costs nothing: the modules named here are only
imported when their step runs.
"""
from __future__ import annotations

from paperbuild.step import Step

STYLE = "analysis/paper.mplstyle"
NUMERIC_LIBRARIES = ("numpy", "scipy", "galvani")
EM_LIBRARIES = ("numpy", "scipy", "hyperspy", "exspy", "rosettasciio", "tifffile", "h5py", "lmfit")
PLOT_LIBRARIES = ("numpy", "matplotlib")

STEPS: tuple[Step, ...] = (
    Step(
        name="electrochemistry",
        module="analysis.electrochemistry",
        reads=("echem/thin_film_cell.mpt", "echem/liquid_cell.mpt"),
        writes=("data/echem_thin_film_cycles.csv", "data/echem_liquid_cycles.csv",
                "data/echem_thin_film_profiles.csv"),
        numbers=("echem.cycles", "echem.fast_rate_C", "echem.slow_rate_C", "echem.voltage_min_V",
                 "echem.voltage_max_V", "echem.ce_floor_after_100", "echem.ce_floor_after_400",
                 "echem.capacity_retention_535", "liquid.ce_max"),
        params={"ce_floor_cycles": (100, 400)},
        libraries=NUMERIC_LIBRARIES,
    ),
    Step(
        name="electrochemistry_figures",
        module="analysis.electrochemistry_figures",
        source_root="build",
        reads=("data/echem_thin_film_cycles.csv", "data/echem_liquid_cycles.csv",
               "data/echem_thin_film_profiles.csv"),
        writes=("figures/fig1a_voltage_profiles.svg", "figures/fig1b_coulombic_efficiency.svg",
                "figures/figS1_ce_solid_vs_liquid.svg"),
        libraries=PLOT_LIBRARIES,
        extra_deps=(STYLE,),
    ),
    Step(
        name="eds",
        module="analysis.eds",
        reads=("eds/line_scan.hspy", "eds/spectrum_image.hspy"),
        writes=("data/eds_profiles.csv", "data/eds_interphase.csv", "data/eds_point_spectra.csv",
                "data/eds_lines.csv", "data/eds_maps.npz"),
        numbers=("eds.interphase_width_nm", "eds.n_lead_nm"),
        libraries=EM_LIBRARIES,
    ),
    Step(
        name="micrographs",
        module="analysis.micrographs",
        reads=("sem/fib_cross_section.tif", "stem/interface_df.tif", "stem/eels_region_df.tif",
               "stem/lipon_frames.tif"),
        writes=("data/sem_cross_section.npz", "data/stem_interface_df.npz", "data/stem_eels_region_df.npz",
                "data/stem_frames.npz"),
        numbers=("sem.li_thickness_um", "stem.beam_stability_min_ncc"),
        libraries=EM_LIBRARIES,
    ),
    Step(
        name="eels",
        module="analysis.eels",
        reads=("eels/point_*.msa", "eels/feff/Li2O/eels.dat", "eels/feff/Li3PO4/eels.dat",
               "eels/feff/Li3P/eels.dat", "eels/feff/LiPON/eels.dat"),
        writes=("data/eels_li_edges.csv", "data/eels_p_edges.csv", "data/eels_o_edges.csv", "data/eels_li_fits.csv",
                "data/eels_points.csv", "data/eels_references.csv"),
        numbers=("eels.points", "eels.step_nm", "eels.li_k_peak1_eV", "eels.li_k_peak2_eV", "eels.p_l_peaks_eV",
                 "eels.li2o_fraction"),
        libraries=EM_LIBRARIES,
    ),
    Step(
        name="eds_figures",
        module="analysis.eds_figures",
        source_root="build",
        reads=("data/eds_profiles.csv", "data/eds_interphase.csv", "data/eds_point_spectra.csv",
               "data/eds_lines.csv", "data/eds_maps.npz", "data/stem_interface_df.npz"),
        writes=("figures/fig1e_p_map.png", "figures/fig1f_n_map.png", "figures/fig1g_normalized_profiles.svg",
                "figures/figS5a_stem_df.png", "figures/figS5b_eds_line_scan_cps.svg",
                "figures/figS6_eds_point_spectra.svg"),
        libraries=PLOT_LIBRARIES,
        extra_deps=(STYLE,),
    ),
    Step(
        name="micrograph_figures",
        module="analysis.micrograph_figures",
        source_root="build",
        reads=("data/sem_cross_section.npz", "data/stem_interface_df.npz", "data/stem_frames.npz"),
        writes=("figures/fig1c_fib_sem_cross_section.png", "figures/fig1d_stem_df_interface.png",
                "figures/figS3a_lipon_frames.png", "figures/figS3b_frame_similarity.svg"),
        libraries=PLOT_LIBRARIES,
        extra_deps=(STYLE,),
    ),
    Step(
        name="eels_figures",
        module="analysis.eels_figures",
        source_root="build",
        reads=("data/eels_points.csv", "data/stem_eels_region_df.npz", "data/eels_li_edges.csv",
               "data/eels_p_edges.csv", "data/eels_o_edges.csv", "data/eels_li_fits.csv", "data/eels_references.csv"),
        writes=("figures/fig3a_eels_points.png", "figures/fig3b_eels_edges.svg", "figures/fig3c_feff_references.svg"),
        libraries=PLOT_LIBRARIES,
        extra_deps=(STYLE,),
    ),
    Step(
        name="hrtem",
        module="analysis.hrtem",
        reads=("hrtem/region_*.tif",),
        writes=("data/hrtem_layers.csv", "data/hrtem_layer_summary.csv", "data/hrtem_phase_profiles.csv",
                "data/hrtem_layer_composition.csv", "data/hrtem_crystallites.csv", "data/hrtem_region1.npz",
                "data/hrtem_reference_rings.csv", "tables/hrtem_reflections.md"),
        numbers=("hrtem.regions", "hrtem.layer_li_li2o_nm", "hrtem.layer_li_li2o_li3n_nm",
                 "hrtem.layer_li2o_li3n_li3po4_nm", "hrtem.interphase_nm", "hrtem.crystallite_min_nm",
                 "hrtem.crystallite_max_nm"),
        params={"expected_regions": 10, "window_px": 128, "step_px": 8},
        libraries=EM_LIBRARIES + ("ase",),
        extra_deps=("data/external/phases.yaml",),
    ),
    Step(
        name="hrtem_figures",
        module="analysis.hrtem_figures",
        source_root="build",
        reads=("data/hrtem_region1.npz", "data/hrtem_reference_rings.csv", "data/hrtem_layer_summary.csv",
               "data/hrtem_layers.csv"),
        writes=("figures/fig2a_hrtem_region1.png", "figures/fig2bdfh_local_ffts.png",
                "figures/fig2cegi_crystallites.png", "figures/fig2j_layer_depths.svg",
                "figures/fig2k_layer_means.svg", "figures/fig6_multilayer_mosaic.svg"),
        libraries=PLOT_LIBRARIES,
        extra_deps=(STYLE,),
    ),
)

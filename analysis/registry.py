"""Every step of the paper's pipeline, in order.  ``dodo.py`` turns this into tasks.

Kept as plain data so importing it costs nothing: the modules named here are only
imported when their step runs.
"""
from __future__ import annotations

from paperbuild.step import Step

STYLE = "analysis/paper.mplstyle"
NUMERIC_LIBRARIES = ("numpy", "scipy", "galvani")
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
)

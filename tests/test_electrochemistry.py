"""Electrochemistry: reading EC-Lab exports, per-cycle reduction, and the quoted numbers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from analysis import electrochemistry as ec
from analysis.registry import STEPS
from paperbuild.errors import InputError
from paperbuild.paths import Roots
from paperbuild.runner import Declared
from tests.conftest import make_tree

STEP = next(s for s in STEPS if s.name == "electrochemistry")
PARAMS = STEP.param_values()
TOLERANCE = PARAMS["steady_rate_tolerance_pct"] / 100


def _run(raw, out):
    """The step's ``run`` on ``raw`` with the registry's inputs, outputs and parameters."""
    roots = Roots(raw=raw, build=out)
    outputs = {role: roots.build / rel for role, rel in STEP.outputs.items()}
    for path in outputs.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    return ec.run(Declared(STEP.name, "input", STEP.resolve_inputs(roots)), Declared(STEP.name, "output", outputs),
                  **PARAMS)


def _numbers(raw, tmp_path):
    return {n.key: n for n in _run(raw, tmp_path / "out")}


def _points(cycles: int, q_charge: list[float], q_discharge: list[float], amps: list[float]) -> np.ndarray:
    """A hand-made point table: three points per half cycle."""
    dtype = [("mode", int), ("ox/red", bool), ("half cycle", int), ("cycle number", int),
             ("Q charge/discharge/mA.h", float), ("I/mA", float), ("Ewe/V", float)]
    rows, half = [], 0
    for c in range(cycles):
        for charging, q in ((True, q_charge[c]), (False, q_discharge[c])):
            sign = 1 if charging else -1
            for frac, v in ((0.0, 4.0), (0.5, 4.7), (1.0, 5.1 if charging else 3.5)):
                rows.append((1, charging, half, c, sign * q * frac, sign * amps[c], v))
            half += 1
    return np.array(rows, dtype=dtype)


def test_per_cycle_computes_ce_and_rates():
    """CE = discharge / charge per cycle; C-rate = |I| / nominal capacity."""
    points = _points(3, [1.0, 1.0, 2.0], [0.9, 0.99, 1.0], [0.1, 5.0, 5.0])
    cycles = ec.per_cycle(points, capacity_mAh=1.0, steady_rate_tolerance=TOLERANCE)
    assert_allclose(cycles.ce_pct, [90.0, 99.0, 50.0])
    assert_allclose(cycles.rate_C, [0.1, 5.0, 5.0])
    assert cycles.steady.tolist() == [False, True, True]
    assert_allclose(cycles.v_charge_end_V, 5.1)
    assert_allclose(cycles.v_discharge_end_V, 3.5)


def test_per_cycle_drops_incomplete_last_cycle():
    """A file that stops after a charge does not count that cycle."""
    points = _points(2, [1.0, 1.0], [0.9, 0.9], [1.0, 1.0])
    cut = points[:-3]  # remove the last discharge
    assert ec.per_cycle(cut, 1.0, TOLERANCE).cycle.tolist() == [1]


def test_ce_floor_uses_only_steady_cycles_from_the_window():
    """The floor ignores slow cycles and cycles before the window."""
    cycles = ec.Cycles(cycle=np.arange(1, 6), q_charge_mAh=np.ones(5),
                       q_discharge_mAh=np.array([0.5, 0.97, 0.98, 0.99, 0.6]),
                       current_mA=np.array([5, 5, 5, 5, 0.1]), v_charge_end_V=np.ones(5), v_discharge_end_V=np.ones(5),
                       steady_rate_tolerance=TOLERANCE, capacity_mAh=1.0)
    assert ec.ce_floor(cycles, 3) == pytest.approx(98.0)
    with pytest.raises(ValueError, match="no steady cycle"):
        ec.ce_floor(cycles, 9)


@pytest.mark.parametrize("rate, text", [(5.0, "5C"), (0.1, "C/10"), (0.3333, "C/3"), (1.0, "1C")])
def test_rate_text_prints_like_a_cycler(rate, text):
    """C-rates print as cyclers print them."""
    assert ec.rate_text(rate) == text


def test_numbers_reproduce_published_values(raw_tree, tmp_path, ledger):
    """Every published echem number is reproduced within the paper-spec tolerance."""
    numbers = _numbers(raw_tree, tmp_path)
    published = {k: e for k, e in ledger.items() if k in numbers and e.get("published") is not None}
    assert len(published) == 7
    for key, entry in published.items():
        assert abs(numbers[key].value - entry["published"]) <= entry["tolerance"], key
    assert numbers["liquid.ce_max"].value < 99.0  # the paper's claim for the liquid cell


def test_numbers_follow_other_truth(tmp_path):
    """Raw data from other ground truth moves the numbers with it."""
    truth = {"echem": {"cycles": 450, "ce_floor_after_100": 99.55, "ce_floor_after_400": 99.78,
                       "fast_rate_C": 2.0, "voltage_max_V": 5.0}}
    raw = make_tree(tmp_path / "raw", truth)
    numbers = _numbers(raw, tmp_path)
    assert numbers["echem.cycles"].value == 450
    assert numbers["echem.ce_floor_after_100"].value == pytest.approx(99.55, abs=1e-3)
    assert numbers["echem.ce_floor_after_400"].value == pytest.approx(99.78, abs=1e-3)
    assert numbers["echem.fast_rate_C"].value == pytest.approx(2.0, rel=1e-3)
    assert numbers["echem.voltage_max_V"].value == pytest.approx(5.0, abs=1e-3)


def test_run_writes_the_tables_the_figures_read(raw_tree, tmp_path):
    """The step's tables hold one row per cycle and the slow cycles' profiles."""
    _run(raw_tree, tmp_path)
    from data.synth.truth import load_truth

    cycles = load_truth()["echem"]["cycles"]
    table = np.genfromtxt(tmp_path / "data/echem_thin_film_cycles.csv", delimiter=",", names=True)
    assert table.size == cycles
    profiles = np.genfromtxt(tmp_path / "data/echem_thin_film_profiles.csv", delimiter=",", names=True)
    assert sorted(set(profiles["cycle"].astype(int))) == [1, 2, cycles]


# ------------------------------------------------------------------ other cycle counts (issue 12)
def _echem_tree(tmp_path, overrides):
    """Only the two EC-Lab exports, from the default truth with ``overrides``: what the step reads."""
    from data.synth.tree import write_echem
    from data.synth.truth import load_truth, merge

    truth = merge(load_truth(), overrides)
    write_echem(truth, tmp_path / "raw")
    return tmp_path / "raw", truth


class _FirstPickLast:
    """A Generator whose first ``choice`` takes the window's last cycle (the draw that used
    to put the cycle-100 floor after cycle 400); everything else is the real generator's."""

    def __init__(self, seed):
        self._rng = np.random.default_rng(seed)
        self._first = True

    def normal(self, *args, **kwargs):
        return self._rng.normal(*args, **kwargs)

    def choice(self, values):
        if self._first:
            self._first = False
            return values[-1]
        return self._rng.choice(values)


def test_floor_drawn_after_cycle_400_is_moved_before_it():
    """The synthetic cell's cycle-100 floor, drawn after cycle 400, is drawn again before it,
    so the cycle-400 floor no longer lifts it: both windows' minima are the truth's floors."""
    from data.synth import potentiostat
    from data.synth.truth import load_truth

    cfg = load_truth()["echem"]
    proto = potentiostat.protocol_from(cfg)
    n = np.arange(1, proto.cycles + 1)
    slow = np.isin(n, proto.slow_cycles)
    ce = potentiostat.ce_series(cfg, slow, _FirstPickLast(7))
    fast = ~slow
    assert np.min(ce[fast & (n >= 100)]) == cfg["ce_floor_after_100"]
    assert np.min(ce[fast & (n >= 400)]) == cfg["ce_floor_after_400"]
    at = n[fast & (ce == cfg["ce_floor_after_100"])]
    assert at.size == 1 and 100 <= at[0] < 400


def test_floors_of_drawn_truths_are_the_truths():
    """Over drawn truths (a third of them drew the cycle-100 floor after cycle 400 before the
    fix), the recorded CE series reaches each floor of the truth in its window."""
    from data.synth import potentiostat
    from data.synth.priors import draw_truth

    for seed in range(1, 25):
        truth = draw_truth(seed)
        ce, slow = potentiostat.cell_ce(truth["echem"], truth["seed"], "echem")
        n = np.arange(1, ce.size + 1)
        for start, key in potentiostat.FLOOR_WINDOWS:
            assert np.min(ce[~slow & (n >= start)]) == truth["echem"][key], (seed, key)


def test_floors_and_retention_follow_another_cycle_count(tmp_path):
    """With 640 cycles (seed 4: the synth first draws the cycle-100 floor at cycle 447, which
    the cycle-400 floor used to lift), both floors and the retention (closing slow cycle over
    cycle 2) come out as the truth says."""
    raw, truth = _echem_tree(tmp_path, {"seed": 4, "echem": {"cycles": 640, "fade_pct_per_cycle": 0.035,
                                                             "ce_floor_after_100": 99.62,
                                                             "ce_floor_after_400": 99.81}})
    numbers = _numbers(raw, tmp_path)
    cell = truth["echem"]
    assert numbers["echem.cycles"].value == cell["cycles"]
    # discharge capacity fades geometrically: cycle N over cycle 2 at the same slow rate
    retention = 100 * (1 - cell["fade_pct_per_cycle"] / 100) ** (cell["cycles"] - 2)
    assert numbers["echem.capacity_retention_pct"].value == pytest.approx(retention, abs=1e-3)
    assert numbers["echem.ce_floor_after_100"].value == pytest.approx(cell["ce_floor_after_100"], abs=1e-4)
    assert numbers["echem.ce_floor_after_400"].value == pytest.approx(cell["ce_floor_after_400"], abs=1e-4)


def test_too_few_cycles_for_the_second_floor_is_named(tmp_path):
    """A cell that stopped before cycle 400 is refused with the number, the parameter and
    the cycles the export holds, not a bare 'no steady cycle'."""
    raw, truth = _echem_tree(tmp_path, {"echem": {"cycles": 350}})
    with pytest.raises(InputError, match=r"echem.ce_floor_after_400 .*ce_floor_second_cycle.* 350 complete cycles"):
        _run(raw, tmp_path / "out")


# ------------------------------------------------------------------ bad input
def _damaged(small_tree, tmp_path, edit) -> "Path":
    source = (small_tree / STEP.inputs["thin_film"].path).read_bytes()
    target = tmp_path / "bad.mpt"
    target.write_bytes(edit(source))
    return target


def _drop_column(data: bytes, name: bytes) -> bytes:
    lines = data.split(b"\r\n")
    header_at = next(i for i, line in enumerate(lines) if line.startswith(b"mode\t"))
    index = lines[header_at].split(b"\t").index(name)
    for i in range(header_at, len(lines)):
        cells = lines[i].split(b"\t")
        if len(cells) > index:
            del cells[index]
        lines[i] = b"\t".join(cells)
    return b"\r\n".join(lines)


def _text_in_number_column(data: bytes) -> bytes:
    lines = data.split(b"\r\n")
    header_at = next(i for i, line in enumerate(lines) if line.startswith(b"mode\t"))
    cells = lines[header_at + 5].split(b"\t")
    cells[9] = b"n/a"
    lines[header_at + 5] = b"\t".join(cells)
    return b"\r\n".join(lines)


def _zero_rows(data: bytes) -> bytes:
    head, _, _ = data.partition(b"\r\n1\t")
    return head + b"\r\n"


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: _drop_column(d, b"Ewe/V"), "missing column\\(s\\) Ewe/V"),
        (_text_in_number_column, "not a readable EC-Lab text export"),
        (_zero_rows, "no data rows"),
        (_truncated, "truncated|not a readable EC-Lab text export"),
        (lambda d: b"CSV export\r\n" + d, "not an EC-Lab text export \\(first line is 'CSV export'"),
        (lambda d: b"", "is empty"),
    ],
    ids=["missing-column", "text-value", "zero-rows", "truncated", "not-ec-lab", "empty"],
)
def test_read_mpt_names_file_and_problem(small_tree, tmp_path, edit, message):
    """Every malformed export ends in an InputError naming the file and the problem."""
    bad = _damaged(small_tree, tmp_path, edit)
    with pytest.raises(InputError, match=message) as caught:
        ec.read_mpt(bad)
    assert caught.value.path == bad
    assert str(bad) in str(caught.value)


def test_read_mpt_missing_file_is_named(tmp_path):
    """A missing export is named."""
    with pytest.raises(InputError, match="missing"):
        ec.read_mpt(tmp_path / "nowhere.mpt")


# ------------------------------------------------------------------ EC-Lab's own efficiency
def _eclab_efficiency(path) -> dict[int, float]:
    """EC-Lab's per-cycle CE from its 'Efficiency/%' column: the last non-zero value of
    each cycle, read here with plain text parsing (not the analysis's reader)."""
    lines = path.read_bytes().decode("windows-1252").split("\r\n")
    count = int(lines[1].split(":")[1])
    names = lines[count - 1].rstrip("\t").split("\t")
    cycle_at, efficiency_at = names.index("cycle number"), names.index("Efficiency/%")
    last: dict[int, float] = {}
    for line in lines[count:]:
        if line:
            cells = line.split("\t")
            value = float(cells[efficiency_at])
            if value != 0.0:
                last[int(float(cells[cycle_at]))] = value
    return last


@pytest.mark.parametrize("cell, role", [("echem", "thin_film_cycles"), ("liquid", "liquid_cycles")])
def test_ce_equals_eclab_efficiency_column(tmp_path, cell, role):
    """On exports written the way EC-Lab writes its 'Efficiency/%' column, the step's
    per-cycle CE equals EC-Lab's own value (last non-zero per cycle) to 0.00 %."""
    from data.synth.tree import write_echem
    from data.synth.truth import load_truth, merge

    truth = merge(load_truth(), {"echem": {"export_efficiency_column": True},
                                 "liquid": {"export_efficiency_column": True}})
    write_echem(truth, tmp_path / "raw")
    path = tmp_path / "raw" / "echem" / ("thin_film_cell.mpt" if cell == "echem" else "liquid_cell.mpt")
    eclab = _eclab_efficiency(path)
    assert len(eclab) == truth[cell]["cycles"]
    _run(tmp_path / "raw", tmp_path / "out")
    table = np.genfromtxt(tmp_path / "out" / STEP.outputs[role], delimiter=",", names=True)
    first = min(eclab)
    ours = {int(c) + first - 1: ce for c, ce in zip(table["cycle"], table["ce_pct"])}
    assert sorted(ours) == sorted(eclab)
    difference = max(abs(ours[c] - eclab[c]) for c in eclab)
    assert f"{difference:.2f}" == "0.00", difference


def test_default_exports_carry_no_efficiency_column():
    """data/raw's exports are as they were: the column appears only when asked for."""
    from tests.conftest import ROOT

    for name in ("thin_film_cell.mpt", "liquid_cell.mpt"):
        assert b"Efficiency/%" not in (ROOT / "data" / "raw" / "echem" / name).read_bytes()[:4000]


# ------------------------------------------------------------------ figures (S1, and the panels of Figure 1)
FIG_STEP = next(s for s in STEPS if s.name == "electrochemistry_figures")


def _cycles_table(ce: list[float], steady: list[int]) -> np.ndarray:
    """A per-cycle table as the step writes it, with the given CE and steady flags."""
    table = np.zeros(len(ce), dtype=[("cycle", float), ("rate_C", float), ("steady", float), ("q_charge_uAh", float),
                                     ("q_discharge_uAh", float), ("ce_pct", float)])
    table["cycle"] = np.arange(1, len(ce) + 1)
    table["steady"] = steady
    table["ce_pct"] = ce
    table["q_charge_uAh"] = 1.0
    table["q_discharge_uAh"] = np.asarray(ce) / 100
    return table


@pytest.mark.parametrize("liquid_low, expected_bottom", [(97.5, 95.0), (92.4, 91.0)])
@pytest.mark.parametrize("first_cycles", [(88.0, 80.0), (99.0, 98.0)], ids=["far-below", "in-range"])
def test_s1_shows_every_cycle_and_keeps_the_key_below_the_plots(liquid_low, expected_bottom, first_cycles):
    """S1 reaches down past the worse cell's steady minimum; slow first cycles far below it are
    drawn under an axis break, named with their values, instead of leaving the view; the key lies
    below the plots, clear of every point."""
    from analysis import electrochemistry_figures, style
    from paperbuild.paths import PROJECT_ROOT

    plt = style.pyplot(PROJECT_ROOT / FIG_STEP.inputs["style"].path)
    solid = _cycles_table([first_cycles[0], 99.9, 99.95, 99.9], [0, 1, 1, 1])
    liquid = _cycles_table([first_cycles[1], liquid_low, 98.5], [0, 1, 1])
    fig = electrochemistry_figures.compose_s1(plt, solid, liquid)
    main = fig.axes[0]
    assert main.get_ylim()[0] == pytest.approx(expected_bottom)
    assert main.get_ylim()[1] > 100.0
    far_below = first_cycles[0] < expected_bottom
    assert len(fig.axes) == (2 if far_below else 1)
    for table in (solid, liquid):
        for x, y in zip(table["cycle"], table["ce_pct"]):
            assert any(a.get_xlim()[0] < x < a.get_xlim()[1] and a.get_ylim()[0] < y < a.get_ylim()[1]
                       for a in fig.axes), f"cycle {x:g} at {y:g} % is not in view"
    if far_below:
        named = [t.get_text() for t in fig.axes[1].texts]
        assert named == ["cycle 1: 88.0 %", "cycle 1: 80.0 %"]
    fig.canvas.draw()
    assert fig.legends[0].get_window_extent().y1 < min(a.get_window_extent().y0 for a in fig.axes)
    assert style.layout_faults(fig) == []
    width_mm, height_mm = (v * 25.4 for v in fig.get_size_inches())
    assert width_mm == pytest.approx(style.WIDTHS_MM["single"])
    assert height_mm == pytest.approx(electrochemistry_figures.S1_HEIGHT_MM)
    plt.close(fig)


def test_fig1b_draws_capacity_apart_from_the_ce_and_no_end_cycle_on_the_frame():
    """Fig 1B: the discharge capacity has its own plot under the CE (no capacity point is drawn over
    the CE points), the slow cycles are named by their rate, and the first and last cycles lie
    inside the x range, not on the frame."""
    from analysis import electrochemistry_figures, style
    from paperbuild.paths import PROJECT_ROOT

    plt = style.pyplot(PROJECT_ROOT / FIG_STEP.inputs["style"].path)
    cycles = _cycles_table([88.0, 97.8] + [99.5] * 20 + [99.6], [0, 0] + [1] * 20 + [0])
    cycles["rate_C"] = np.where(cycles["steady"] == 1, 5.0, 0.1)
    fig = style.figure(plt, "single", 50.0)
    ax_ce, ax_q = fig.subplots(2, 1, sharex=True)
    electrochemistry_figures.draw_coulombic_efficiency(ax_ce, ax_q, cycles)
    fig.canvas.draw()
    assert ax_ce.get_window_extent().y0 > ax_q.get_window_extent().y1  # one above the other, apart
    assert [len(line.get_xdata()) for line in ax_ce.get_lines()] == [20]  # the CE of the steady cycles only
    assert sum(len(line.get_xdata()) for line in ax_q.get_lines()) == len(cycles)
    assert [t.get_text() for t in ax_q.get_legend().get_texts()] == ["5C", "C/10"]
    low, high = ax_q.get_xlim()
    frame_pt = ax_q.get_window_extent().width * 72 / fig.dpi
    room_pt = min(cycles["cycle"].min() - low, high - cycles["cycle"].max()) / (high - low) * frame_pt
    assert room_pt > 1.5  # more than a marker's radius between an end cycle and the frame
    assert ax_ce.get_ylim()[0] <= 99.5 and ax_ce.get_ylim()[1] > 100.0
    assert 0.0 == ax_q.get_ylim()[0] and ax_q.get_ylim()[1] > np.max(cycles["q_discharge_uAh"])
    plt.close(fig)


@pytest.mark.slow
def test_figure_step_writes_one_composed_svg(default_build, tmp_path):
    """Figure S1 is one SVG at a Cell Press column width, no taller than a page allows."""

    from analysis import electrochemistry_figures, style

    roots = Roots(raw=default_build, build=default_build)
    outputs = {role: tmp_path / rel for role, rel in FIG_STEP.outputs.items()}
    assert set(outputs) == {"figS1"}
    outputs["figS1"].parent.mkdir(parents=True, exist_ok=True)
    electrochemistry_figures.run(Declared(FIG_STEP.name, "input", FIG_STEP.resolve_inputs(roots)),
                                 Declared(FIG_STEP.name, "output", outputs))
    head = outputs["figS1"].read_text(encoding="utf-8")[:2000]
    assert outputs["figS1"].suffix == ".svg" and "<svg" in head
    width_mm, height_mm = style.svg_size_mm(outputs["figS1"])
    assert min(abs(width_mm - w) for w in style.WIDTHS_MM.values()) < 0.1
    assert height_mm <= style.MAX_HEIGHT_MM


def test_clear_spot_finds_the_empty_stretch_between_curves():
    """A key avoids two steep curves and a plateau and sits in the gap between them, as far from
    both as it can; a key too large for the panel is refused."""
    from analysis.electrochemistry_figures import clear_spot

    y = np.linspace(0, 1, 200)
    curves = np.concatenate([np.column_stack([np.full_like(y, 0.1), y]),       # a steep rise on the left
                             np.column_stack([np.full_like(y, 0.9), y]),       # a steep fall on the right
                             np.column_stack([y, np.full_like(y, 0.7)])])      # a plateau across
    x0, y0 = clear_spot(curves, (0.3, 0.3))
    assert 0.1 < x0 and x0 + 0.3 < 0.9 and y0 + 0.3 < 0.7
    assert x0 + 0.15 == pytest.approx(0.5, abs=0.03)  # centred in the gap: farthest from both curves
    with pytest.raises(ValueError, match="does not fit"):
        clear_spot(curves, (1.2, 0.3))


def test_line_points_sample_steep_segments_along_their_length():
    """A two-point line is sampled every few thousandths of the panel, so a key cannot sit on it unseen."""
    from analysis import style
    from analysis.electrochemistry_figures import line_points
    from paperbuild.paths import PROJECT_ROOT

    plt = style.pyplot(PROJECT_ROOT / FIG_STEP.inputs["style"].path)
    fig, ax = plt.subplots()
    ax.plot([0.0, 1.0], [0.0, 1.0])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    points = line_points(ax, spacing=0.01)
    assert len(points) >= 141  # sqrt(2) / 0.01 steps
    assert_allclose(points[:, 0], points[:, 1], atol=1e-9)
    assert np.max(np.hypot(*np.diff(points, axis=0).T)) <= 0.01 + 1e-9
    plt.close(fig)

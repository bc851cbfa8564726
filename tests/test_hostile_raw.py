"""Hostile and damaged raw files: every reader ends in one message naming the file.

Each case copies the raw files one step reads from ``data/raw`` into a temporary raw
tree, damages one file the way a user's export or a bad copy could, runs the step
through the runner (as ``doit`` does) and checks the single :class:`InputError`: the
file it names and the problem it states.  A last group checks that a failing step
leaves the previous good outputs untouched.
"""
from __future__ import annotations

import hashlib
import io
import re
import shutil
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from analysis.registry import STEPS
from paperbuild.errors import InputError
from paperbuild.paths import PROJECT_ROOT, Roots
from paperbuild.runner import run_step

RAW = PROJECT_ROOT / "data" / "raw"
BY_NAME = {step.name: step for step in STEPS}


# ------------------------------------------------------------------ helpers
def producers(name: str) -> list:
    """The steps whose outputs ``name`` reads (one level is enough here), then the step."""
    step = BY_NAME[name]
    before = [s for s in STEPS if set(s.outputs.values()) & set(step.build_inputs())]
    return before + [step]


def raw_copy(tmp_path: Path, name: str) -> Path:
    """A raw tree holding only the raw files ``name`` and its producers read."""
    raw = tmp_path / "raw"
    source = Roots(raw=RAW, build=tmp_path / "unused")
    for step in producers(name):
        for item in step.inputs.values():
            if item.root != "raw":
                continue
            found = item.resolve(source)
            for path in found if isinstance(found, tuple) else (found,):
                target = raw / path.relative_to(RAW)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
    return raw


def run(name: str, raw: Path, build: Path) -> None:
    """Run ``name`` (after its producers) as the build does."""
    roots = Roots(raw=raw, build=build)
    for step in producers(name):
        run_step(step, roots)


def refused(name: str, raw: Path, build: Path, damaged: Path, *fragments: str) -> InputError:
    """Run ``name`` and check the single message: names ``damaged`` and holds each fragment."""
    with pytest.raises(InputError) as caught:
        run(name, raw, build)
    error = caught.value
    assert error.path == damaged, str(error)
    assert "\n" not in str(error), "one message, one line"
    for fragment in fragments:
        assert re.search(fragment, error.problem), f"{fragment!r} not in {error.problem!r}"
    return error


def edit_text(path: Path, change: Callable[[list[str]], list[str]], newline: str = "\n") -> None:
    """Rewrite a text file line by line, keeping its line ends."""
    text = path.read_bytes().decode("latin-1")
    newline = "\r\n" if "\r\n" in text else newline
    lines = text.split(newline)
    path.write_bytes(newline.join(change(lines)).encode("latin-1"))


def data_rows(lines: list[str]) -> list[int]:
    """Indices of the lines that hold data (not blank, not a comment)."""
    return [i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")]


def set_field(lines: list[str], row: int, column: int, value: str) -> list[str]:
    """The lines with one whitespace-separated field of data row ``row`` replaced."""
    index = data_rows(lines)[row]
    fields = lines[index].split()
    fields[column] = value
    lines[index] = " ".join(fields)
    return lines


def float_image_with(path: Path, value: float, where: tuple[int, ...]) -> None:
    """Rewrite an image or spectrum file (HyperSpy) as floats with one pixel set to ``value``."""
    from analysis import em_io

    signal = em_io.load(path)
    signal.data = signal.data.astype(np.float32)
    signal.data[where] = value
    signal.save(path, overwrite=True)


def truncate_mid_line(path: Path) -> None:
    """Cut a text file in the middle, just after the first field of a line (a cut-off copy)."""
    text = path.read_bytes()
    middle = len(text) // 2
    start = text.rfind(b"\n", 0, middle) + 1
    token = re.match(rb"\s*\S+", text[start:])
    path.write_bytes(text[:start + token.end()])


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ XRD (.xy)
@pytest.mark.parametrize("column, value, what", [(1, "nan", "count"), (1, "inf", "count"), (0, "nan", "2θ"),
                                                 (0, "-inf", "2θ")])
def test_xy_non_finite_value(tmp_path, column, value, what):
    raw = raw_copy(tmp_path, "xrd")
    path = raw / "xrd/lipon_pristine.xy"
    edit_text(path, lambda lines: set_field(lines, 100, column, value))
    refused("xrd", raw, tmp_path / "build", path, rf"data row 101 holds a non-finite {what} \({value}\)")


def test_xy_wavelength_header_without_colon_is_read(tmp_path):
    """'# wavelength 1.54178 A' states the wavelength as clearly as with a colon: it is
    read, and still checked (a different one without colon is refused by value)."""
    from analysis import xrd

    raw = raw_copy(tmp_path, "xrd")
    path = raw / "xrd/lipon_pristine.xy"
    before = xrd.read_xy(path)
    edit_text(path, lambda lines: [line.replace("# wavelength: ", "# wavelength ") for line in lines])
    after = xrd.read_xy(path)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2] == after[2] == 1.54178
    # the pristine film and the exposed one are compared by angle: another tube is refused
    exposed = raw / "xrd/lipon_air_2d.xy"
    edit_text(exposed, lambda lines: [line.replace("1.54178", "1.5406") for line in lines])
    refused("xrd", raw, tmp_path / "build", exposed, r"recorded with wavelength 1\.5406 Å, but lipon_pristine\.xy "
            r"with 1\.54178 Å")


@pytest.mark.parametrize("header", ["# wavelength: Cu K-alpha", "# wavelength:", "# Wavelength = ?"])
def test_xy_wavelength_header_without_number(tmp_path, header):
    raw = raw_copy(tmp_path, "xrd")
    path = raw / "xrd/lipon_pristine.xy"
    edit_text(path, lambda lines: [header if line.startswith("# wavelength") else line for line in lines])
    refused("xrd", raw, tmp_path / "build", path, r"header line 2 .* names a wavelength but states no number",
            r"wavelength: 1\.54178 A")


def test_xy_wavelength_in_another_unit_is_converted(tmp_path):
    """A header in nm is the same wavelength; one in an unknown unit is refused by name."""
    from analysis import xrd

    raw = raw_copy(tmp_path, "xrd")
    path = raw / "xrd/lipon_pristine.xy"
    edit_text(path, lambda lines: [line.replace("1.54178 A", "0.154178 nm") for line in lines])
    two_theta, _, wavelength_A = xrd.read_xy(path)
    assert two_theta.size > 0 and wavelength_A == pytest.approx(1.54178)
    edit_text(path, lambda lines: [line.replace("0.154178 nm", "0.154178 furlongs") for line in lines])
    refused("xrd", raw, tmp_path / "build", path, r"unknown wavelength unit 'furlongs'")


class CountingReader(io.RawIOBase):
    """A raw byte stream that counts the bytes handed out (for the header-scan test)."""

    def __init__(self, data: bytes):
        self._data, self.delivered = io.BytesIO(data), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._data.seek(offset, whence)

    def tell(self) -> int:
        return self._data.tell()

    def readinto(self, buffer) -> int:
        chunk = self._data.read(len(buffer))
        buffer[:len(chunk)] = chunk
        self.delivered += len(chunk)
        return len(chunk)


def _big_pattern(rows: int, padding: int = 0) -> bytes:
    header = b"# big scan\n# wavelength: 1.54178 A (Cu K-alpha)\n# 2theta(deg) counts\n"
    two_theta = 10.0 + 0.0001 * np.arange(rows)
    counts = 1000 + (np.arange(rows) % 97)
    pad = b" " * padding
    body = b"".join(b"%.4f%s %d\n" % (t, pad, c) for t, c in zip(two_theta, counts))
    return header + body


def test_xy_header_scan_reads_only_the_header():
    """The header scan stops at the first data line: it reads the header (and at most one
    buffer), not the file, and leaves the stream at the data."""
    from analysis import xrd

    data = _big_pattern(300_000)
    counter = CountingReader(data)
    stream = io.BufferedReader(counter, buffer_size=8192)
    header = xrd.read_header(stream)
    assert [line for _, line in header][1].startswith("# wavelength")
    assert counter.delivered <= 2 * 8192 < len(data) / 100
    assert stream.readline().startswith(b"10.0000 1000")


def test_xy_large_file_is_not_held_in_memory(tmp_path):
    """A 50 MB export (wide lines) is read with a peak well below its size: the header
    scan streams and the table is parsed from the open file."""
    from analysis import xrd

    path = tmp_path / "big.xy"
    path.write_bytes(_big_pattern(100_000, padding=480))
    size = path.stat().st_size
    assert size > 45e6
    tracemalloc.start()
    try:
        two_theta, counts, _ = xrd.read_xy(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert two_theta.size == counts.size == 100_000
    assert peak < size / 4, f"peak {peak / 1e6:.0f} MB for a {size / 1e6:.0f} MB file"


def test_xy_empty_file(tmp_path):
    raw = raw_copy(tmp_path, "xrd")
    path = raw / "xrd/lipon_cryo_100K.xy"
    path.write_bytes(b"")
    refused("xrd", raw, tmp_path / "build", path, r"holds no data rows")


# ------------------------------------------------------------------ NEB (neb.dat)
@pytest.mark.parametrize("column, value, what", [(2, "nan", "energy"), (3, "inf", "force"), (1, "nan", "coordinate")])
def test_neb_non_finite_value(tmp_path, column, value, what):
    raw = raw_copy(tmp_path, "computations")
    path = raw / "dft/neb_N.dat"
    edit_text(path, lambda lines: set_field(lines, 3, column, value))
    refused("computations", raw, tmp_path / "build", path, rf"image 3 holds a non-finite {what} \({value}\)")


def test_neb_empty_file(tmp_path):
    raw = raw_copy(tmp_path, "computations")
    path = raw / "dft/neb_O.dat"
    path.write_bytes(b"\n")
    refused("computations", raw, tmp_path / "build", path, r"holds no images")


# ------------------------------------------------------------------ POSCAR
def _coordinate_lines(lines: list[str]) -> range:
    counts_at = 6 if re.match(r"^\s*[A-Za-z]", lines[5]) else 5
    atoms = sum(int(n) for n in lines[counts_at].split())
    start = counts_at + 3 if lines[counts_at + 1].strip().lower().startswith("s") else counts_at + 2
    return range(start, start + atoms)


def test_poscar_with_every_atom_on_one_spot(tmp_path):
    """The counts line is right but every position is the same: refused, not a one-atom Fig S7."""
    raw = raw_copy(tmp_path, "computations")
    path = raw / "aimd/POSCAR"

    def collapse(lines):
        for i in _coordinate_lines(lines):
            lines[i] = "  0.5 0.5 0.5"
        return lines

    edit_text(path, collapse)
    refused("computations", raw, tmp_path / "build", path, r"atoms 1 \(Li\) and 2 \(Li\) are 0\.000 Å apart",
            r"closer than 0\.5 Å", r"periodic images")


def test_poscar_with_two_atoms_on_one_spot(tmp_path):
    """One duplicated atom is enough; the pair is named by index and species."""
    raw = raw_copy(tmp_path, "computations")
    path = raw / "aimd/POSCAR"

    def duplicate(lines):
        rows = _coordinate_lines(lines)
        lines[rows[-1]] = lines[rows[0]]
        return lines

    edit_text(path, duplicate)
    refused("computations", raw, tmp_path / "build", path, r"atoms 1 \(Li\) and 122 \(P\) are 0\.000 Å apart")


def test_poscar_atom_close_to_a_periodic_image(tmp_path):
    """Two atoms on opposite faces of the cell are neighbours through the boundary."""
    raw = raw_copy(tmp_path, "computations")
    path = raw / "aimd/POSCAR"

    def across(lines):
        rows = _coordinate_lines(lines)
        lines[rows[0]] = "  0.001 0.5 0.5"
        lines[rows[1]] = "  0.999 0.5 0.5"
        return lines

    edit_text(path, across)
    refused("computations", raw, tmp_path / "build", path, r"atoms 1 \(Li\) and 2 \(Li\) are 0\.02\d Å apart")


def test_poscar_non_finite_position(tmp_path):
    raw = raw_copy(tmp_path, "computations")
    path = raw / "aimd/POSCAR"

    def spoil(lines):
        lines[_coordinate_lines(lines)[3]] = "  nan 0.5 0.5"
        return lines

    edit_text(path, spoil)
    refused("computations", raw, tmp_path / "build", path, r"atom 4 \(Li\) has a non-finite position")


@pytest.mark.parametrize("change, message", [
    (lambda lines: lines[:4] + [lines[3]] + lines[5:], r"degenerate cell: its volume is 0"),
    (lambda lines: lines[:1] + ["0.0"] + lines[2:], r"degenerate cell: its volume is 0"),
    (lambda lines: lines[:1] + ["nan"] + lines[2:], r"non-finite lattice vectors"),
])
def test_poscar_degenerate_cell(tmp_path, change, message):
    raw = raw_copy(tmp_path, "computations")
    path = raw / "aimd/POSCAR"
    edit_text(path, change)
    refused("computations", raw, tmp_path / "build", path, message)


# ------------------------------------------------------------------ XPS (VAMAS)
def _vamas_blocks(lines: list[str]) -> list[int]:
    """Indices of block-identifier lines ('C 1s/0' as the Kratos export names them)."""
    return [i for i, line in enumerate(lines) if re.fullmatch(r"[A-Z][a-z]? \d[spdf]/\d+", line)]


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_vamas_non_finite_count(tmp_path, value):
    raw = raw_copy(tmp_path, "xps")
    path = raw / "xps/lipon_reference.vms"

    def spoil(lines):
        start = _vamas_blocks(lines)[2]  # the N 1s block
        # after the signal mode: dwell, sweeps, dead time, 3 angles, extra parameters, n, y min, y max
        first_count = start + lines[start:].index("pulse counting") + 11
        lines[first_count + 2] = value
        return lines

    edit_text(path, spoil)
    refused("xps", raw, tmp_path / "build", path, rf"block 'N 1s/0' holds a non-finite count \({value}\) at channel 3")


def test_vamas_missing_block_names_the_region(tmp_path):
    """A block cut out of the file (header still counting it): the message names the
    file, the count, and the etch step and region that are missing."""
    raw = raw_copy(tmp_path, "xps")
    path = raw / "xps/depth_profile.vms"

    def drop(lines):
        starts = _vamas_blocks(lines)
        victim = next(i for i, s in enumerate(starts) if lines[s] == "P 2p/150")
        return lines[:starts[victim]] + lines[starts[victim + 1]:]

    edit_text(path, drop)
    refused("xps", raw, tmp_path / "build", path, r"header declares 170 blocks but the file holds 169",
            r"etch step 150 s has no P 2p block")


def test_vamas_truncated_file(tmp_path):
    raw = raw_copy(tmp_path, "xps")
    path = raw / "xps/depth_profile.vms"
    truncate_mid_line(path)
    error = refused("xps", raw, tmp_path / "build", path,
                    r"the file ends inside block \d+ of the 170 its header declares")
    assert "StopIteration" not in str(error)


def test_vamas_empty_file(tmp_path):
    raw = raw_copy(tmp_path, "xps")
    path = raw / "xps/lipon_reference.vms"
    path.write_bytes(b"")
    refused("xps", raw, tmp_path / "build", path, r"file is empty")


@pytest.mark.parametrize("shift_eV", [10.0, 6.0, -10.0, 30.0])
def test_c1s_line_far_from_its_calibration_window(tmp_path, shift_eV):
    """A surface C 1s line charged this far from the search window is refused, naming the
    file, the block and region; it is never fitted at the window's edge."""
    raw = raw_copy(tmp_path, "xps")
    path = raw / "xps/depth_profile.vms"

    def charge(lines):
        start = next(s for s in _vamas_blocks(lines) if lines[s].startswith("C 1s/"))
        kinetic = start + lines[start:].index("Kinetic Energy") + 2
        lines[kinetic] = f"{float(lines[kinetic]) - shift_eV:.4f}"  # binding energy up by shift_eV
        return lines

    edit_text(path, charge)
    refused("xps", raw, tmp_path / "build", path, r"C 1s block 'C 1s/0'",
            r"calibration search window 282[–-]288 eV", r"calibration_search_eV")


# ------------------------------------------------------------------ EELS (EMSA, FEFF)
@pytest.mark.parametrize("keys", [("XPERCHAN",), ("OFFSET",), ("XPERCHAN", "OFFSET")])
def test_emsa_without_energy_axis_keys(tmp_path, keys):
    """The file lacking its calibration is named (not a neighbour, not the Li K edge)."""
    raw = raw_copy(tmp_path, "eels")
    path = raw / "eels/point_3.msa"
    edit_text(path, lambda lines: [line for line in lines if not line.startswith(tuple(f"#{k}" for k in keys))])
    refused("eels", raw, tmp_path / "build", path, rf"EMSA header lacks #{keys[0]}", r"energy axis")


def test_emsa_without_energy_axis_keys_in_every_file(tmp_path):
    raw = raw_copy(tmp_path, "eels")
    for path in sorted((raw / "eels").glob("point_*.msa")):
        edit_text(path, lambda lines: [line for line in lines if not line.startswith(("#XPERCHAN", "#OFFSET"))])
    refused("eels", raw, tmp_path / "build", raw / "eels/point_1.msa", r"EMSA header lacks #XPERCHAN, #OFFSET")


def test_emsa_non_finite_channel(tmp_path):
    raw = raw_copy(tmp_path, "eels")
    path = raw / "eels/point_2.msa"
    edit_text(path, lambda lines: set_field(lines, 200, 0, "nan,"))
    refused("eels", raw, tmp_path / "build", path, r"1 of its 5600 values is not a finite number", r"index \(200,\)")


def test_feff_non_finite_value(tmp_path):
    raw = raw_copy(tmp_path, "eels")
    path = raw / "eels/feff/Li2O/eels.dat"
    edit_text(path, lambda lines: set_field(lines, 100, 1, "nan"))
    refused("eels", raw, tmp_path / "build", path, r"row 101 holds a non-finite intensity \(nan\)")


def test_feff_reference_shorter_than_the_fit(tmp_path):
    """A cut-off reference would be read as zero where the Li K fit needs it."""
    raw = raw_copy(tmp_path, "eels")
    path = raw / "eels/feff/LiPON/eels.dat"
    edit_text(path, lambda lines: [line for line in lines if line.startswith("#") or not line.strip()
                                   or float(line.split()[0]) <= 65.0])
    refused("eels", raw, tmp_path / "build", path, r"covers 50[–-]65 eV", r"55[–-]72 eV")


# ------------------------------------------------------------------ images (TIFF, .hspy)
@pytest.mark.parametrize("step, relative, where", [
    ("micrographs", "sem/fib_cross_section.tif", (10, 20)),
    ("micrographs", "stem/lipon_frames.tif", (3, 5, 7)),
    ("micrographs", "sem/liftout_sequence.tif", (1, 2, 3)),
    ("hrtem", "hrtem/region_01.tif", (100, 200)),
    ("eds", "eds/line_scan.hspy", (7, 300)),
])
def test_image_with_nan_pixels(tmp_path, step, relative, where):
    raw = raw_copy(tmp_path, step)
    path = raw / relative
    float_image_with(path, np.nan, where)
    refused(step, raw, tmp_path / "build", path, r"1 of its \d+ values is not a finite number",
            re.escape(f"index {where}"))


def test_image_with_infinite_pixel(tmp_path):
    raw = raw_copy(tmp_path, "micrographs")
    path = raw / "stem/interface_df.tif"
    float_image_with(path, np.inf, (0, 0))
    refused("micrographs", raw, tmp_path / "build", path, r"not a finite number \(NaN or infinity\)")


def _relabel(path: Path, labels: list[str]) -> None:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        data, metadata = tif.asarray(), dict(tif.imagej_metadata)
        x_resolution = tif.pages[0].tags["XResolution"].value
    per_unit = x_resolution[0] / x_resolution[1]
    tifffile.imwrite(path, data, imagej=True, resolution=(per_unit, per_unit),
                     metadata={"unit": metadata["unit"], "axes": "TYX", "Labels": labels, "Info": metadata["Info"]})


TEX_LABELS = ["cut $\\frac{a}{$ trench", "lift-out $x_1$ at 30^{\\circ}", "weld \\ {Cu} 5$", "thin_to 100 nm $$"]


def test_liftout_labels_with_tex_specials_build(tmp_path):
    """Slice labels holding $, _, ^, \\, { and } are drawn as written, not parsed as TeX."""
    raw = raw_copy(tmp_path, "micrograph_figures")
    _relabel(raw / "sem/liftout_sequence.tif", TEX_LABELS)
    build = tmp_path / "build"
    run("micrograph_figures", raw, build)
    saved = np.load(build / "data/sem_liftout.npz", allow_pickle=False)
    assert list(saved["labels"]) == TEX_LABELS
    assert (build / BY_NAME["micrograph_figures"].outputs["figS2"]).stat().st_size > 0


# ------------------------------------------------------------------ more damage found by probing the readers
def _vamas_field(name: str, after: str, offset: int, value: str) -> Callable[[list[str]], list[str]]:
    """Replace the line ``offset`` lines after the first ``after`` line of block ``name``."""
    def change(lines):
        start = next(s for s in _vamas_blocks(lines) if lines[s] == name)
        lines[start + lines[start:].index(after) + offset] = value
        return lines
    return change


def _vamas_short(name: str, keep: int) -> Callable[[list[str]], list[str]]:
    """Block ``name`` cut to its first ``keep`` counts (its count line says so): a consistent short block."""
    def change(lines):
        start = next(s for s in _vamas_blocks(lines) if lines[s] == name)
        signal_mode = start + lines[start:].index("pulse counting")
        total = int(lines[signal_mode + 8])
        lines[signal_mode + 8] = str(keep)
        del lines[signal_mode + 11 + keep:signal_mode + 11 + total]
        return lines
    return change


def _uniform_frame(path: Path) -> None:
    from analysis import em_io

    signal = em_io.load(path)
    signal.data[4] = 7.0
    signal.save(path, overwrite=True)


def _uniform_image(path: Path) -> None:
    from analysis import em_io

    signal = em_io.load(path)
    signal.data[:] = 7
    signal.save(path, overwrite=True)


@pytest.mark.parametrize("step, relative, damage, fragments", [
    ("xrd", "xrd/lipon_pristine.xy", lambda p: edit_text(p, lambda lines: set_field(lines, 100, 1, "-5")),
     [r"data row 101 holds a negative count \(-5\)", r"raw detector counts"]),
    ("xrd", "xrd/lipon_cryo_100K.xy",
     lambda p: edit_text(p, lambda lines: [re.sub(r"^(\S+) \S+$", r"\1 0", line) for line in lines]),
     [r"every count is 0"]),
    ("xps", "xps/lipon_reference.vms", lambda p: edit_text(p, _vamas_field("N 1s/0", "XPS", 1, "abc")),
     [r"block 'N 1s/0': its etch time 'abc' is not a finite number"]),
    ("xps", "xps/lipon_reference.vms", lambda p: edit_text(p, _vamas_short("N 1s/0", 5)),
     [r"block 'N 1s/0': the window holds 5 channel\(s\)"]),
    ("eels", "eels/point_2.msa",
     lambda p: edit_text(p, lambda lines: [re.sub(r"^#XPOSITION-nm: .*", "#XPOSITION-nm: abc", l) for l in lines]),
     [r"beam position XPOSITION-nm is 'abc', not a finite number"]),
    ("eels", "eels/point_2.msa",
     lambda p: edit_text(p, lambda lines: [re.sub(r"^#YPOSITION-nm: .*", "#YPOSITION-nm: nan", l) for l in lines]),
     [r"beam position YPOSITION-nm is nan, not a finite number"]),
    ("eels", "eels/point_2.msa",
     lambda p: edit_text(p, lambda lines: [re.sub(r"^#NPOINTS .*", "#NPOINTS     : many", l) for l in lines]),
     [r"#NPOINTS is 'many', not a channel count"]),
    ("micrographs", "stem/lipon_frames.tif", _uniform_frame,
     [r"frame 5 is uniform \(every pixel 7\), so its similarity to the others is undefined"]),
    ("hrtem", "hrtem/region_01.tif", _uniform_image, [r"the image is uniform \(every pixel 7\)"]),
], ids=["xy-negative-count", "xy-no-counts", "vms-etch-text", "vms-short-block", "msa-position-text",
        "msa-position-nan", "msa-npoints-text", "frames-uniform", "hrtem-uniform"])
def test_other_damage_found_by_probing(tmp_path, step, relative, damage, fragments):
    raw = raw_copy(tmp_path, step)
    path = raw / relative
    damage(path)
    refused(step, raw, tmp_path / "build", path, *fragments)


# ------------------------------------------------------------------ any reader: empty, garbage, truncated
READERS = [
    ("xrd", "xrd/lipon_air_2d.xy", "text"),
    ("computations", "dft/neb_P.dat", "text"),
    ("computations", "aimd/POSCAR", "text"),
    ("xps", "xps/depth_profile.vms", "text"),
    ("eels", "eels/point_4.msa", "text"),
    ("eels", "eels/feff/Li3P/eels.dat", "text"),
    ("micrographs", "stem/eels_region_df.tif", "binary"),
    ("hrtem", "hrtem/region_01.tif", "binary"),
    ("eds", "eds/line_scan.hspy", "binary"),
]
GARBAGE = bytes(range(256)) * 64


@pytest.mark.parametrize("damage", ["empty", "garbage", "truncated"])
@pytest.mark.parametrize("step, relative, kind", READERS, ids=[r[1] for r in READERS])
def test_any_reader_refuses_damaged_files(tmp_path, step, relative, kind, damage):
    raw = raw_copy(tmp_path, step)
    path = raw / relative
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "garbage":
        path.write_bytes(GARBAGE)
    elif kind == "text":
        truncate_mid_line(path)
    else:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    error = refused(step, raw, tmp_path / "build", path)
    if damage == "empty":
        assert re.search(r"empty|no data rows|no images", error.problem), error.problem


# ------------------------------------------------------------------ last good outputs survive
@pytest.mark.parametrize("step, relative, damage", [
    ("computations", "aimd/POSCAR",
     lambda path: edit_text(path, lambda lines: [("  0.5 0.5 0.5" if i in _coordinate_lines(lines) else line)
                                                 for i, line in enumerate(lines)])),
    ("xrd", "xrd/lipon_air_2d.xy", lambda path: edit_text(path, lambda lines: set_field(lines, 10, 1, "nan"))),
    ("eels", "eels/point_5.msa",
     lambda path: edit_text(path, lambda lines: [line for line in lines if not line.startswith("#XPERCHAN")])),
])
def test_failed_step_leaves_previous_outputs_intact(tmp_path, step, relative, damage):
    """A good build, then the same step on a damaged file: the error names the file and
    every output, numbers file and step record is byte for byte the good one."""
    raw = raw_copy(tmp_path, step)
    build = tmp_path / "build"
    run(step, raw, build)
    good = digest(build)
    assert any(name.startswith("numbers/") for name in good)
    damage(raw / relative)
    with pytest.raises(InputError) as caught:
        run_step(BY_NAME[step], Roots(raw=raw, build=build))
    assert caught.value.path == raw / relative
    assert digest(build) == good

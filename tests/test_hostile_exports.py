"""Hostile and damaged inputs to the readers of issue 11 (items 5 and 6): each case with the
message the user sees, or proof that a real export form is accepted with the same results.

- EC-Lab ``.mpt`` exports as they arrive: LF line endings, no "Battery capacity" line (or
  0, as EC-Lab writes when none was entered), swapped or mislabelled columns, a truncated
  export;
- manifests in every line form ``sha256sum --strict -c`` accepts, and malformed ones;
- the synthetic instrument's ``--truth`` file: malformed YAML, a ``!!python`` tag, unknown
  keys, a section replaced by a value.

The damaged files are made from exports the synthetic instrument writes, edited as a user,
an editor or a git checkout would.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis import electrochemistry as ec
from analysis.registry import STEPS
from data.synth.tree import write_echem
from data.synth.truth import load_truth
from paperbuild.errors import InputError, ManifestError
from paperbuild.manifest import MANIFEST_NAME, read_manifest, read_manifest_names, verify_manifest, write_manifest
from tests.conftest import ROOT

STEP = next(s for s in STEPS if s.name == "electrochemistry")
PARAMS = STEP.param_values()
TOLERANCE = PARAMS["steady_rate_tolerance_pct"] / 100
RATE_KEYS = ("echem.fast_rate_C", "echem.slow_rate_C")


# ====================================================================== EC-Lab exports
@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, bytes]:
    """The two default exports (as data/raw holds them), written by the synthetic potentiostat."""
    out = tmp_path_factory.mktemp("echem")
    write_echem(load_truth(), out)
    return {name: (out / "echem" / f"{name}.mpt").read_bytes() for name in ("thin_film_cell", "liquid_cell")}


def _lf(data: bytes) -> bytes:
    """As after a git checkout that normalises line endings."""
    return data.replace(b"\r\n", b"\n")


def _header_count(data: bytes) -> int:
    return int(re.search(rb"Nb header lines : (\d+)", data).group(1))


def _without_header_line(data: bytes, starts: bytes) -> bytes:
    """Drop one header line and keep 'Nb header lines' true, as an export without it is."""
    lines = data.split(b"\r\n")
    index = next(i for i, line in enumerate(lines) if line.startswith(starts))
    del lines[index]
    text = b"\r\n".join(lines)
    count = _header_count(text)
    return text.replace(b"Nb header lines : %d" % count, b"Nb header lines : %d" % (count - 1), 1)


def _without_capacity(data: bytes) -> bytes:
    return _without_header_line(data, b"Battery capacity")


def _capacity_zero(data: bytes) -> bytes:
    """EC-Lab writes 'Battery capacity : 0.000 A.h' when the experimenter entered none."""
    return re.sub(rb"Battery capacity : [^\r\n]*", b"Battery capacity : 0.000 A.h", data)


def _swap_columns(a: bytes, b: bytes):
    """Exchange two column names on the column line (the values stay where they are)."""
    def edit(data: bytes) -> bytes:
        head, sep, rows = data.partition(b"\r\nmode\t")
        names, eol, body = (b"mode\t" + rows).partition(b"\r\n")
        cells = names.split(b"\t")
        i, j = cells.index(a), cells.index(b)
        cells[i], cells[j] = cells[j], cells[i]
        return head + b"\r\n" + b"\t".join(cells) + eol + body
    return edit


def _zero_current(data: bytes) -> bytes:
    """The current column holds zeros (a channel that never passed current)."""
    lines = data.split(b"\r\n")
    header_at = next(i for i, line in enumerate(lines) if line.startswith(b"mode\t"))
    column = lines[header_at].split(b"\t").index(b"I/mA")
    for i in range(header_at + 1, len(lines)):
        cells = lines[i].split(b"\t")
        if len(cells) > column:
            cells[column] = b"0.0000000E+00"
            lines[i] = b"\t".join(cells)
    return b"\r\n".join(lines)


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / f"{name}.mpt"
    path.write_bytes(data)
    return path


def _run(tmp_path: Path, thin_film: Path, liquid: Path) -> dict:
    """The step's ``run`` on two exports, with the registry's outputs and parameters."""
    outputs = {role: tmp_path / "out" / rel for role, rel in STEP.outputs.items()}
    for path in outputs.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    return {n.key: n for n in ec.run({"thin_film": thin_film, "liquid": liquid}, outputs, **PARAMS)}


def test_lf_line_endings_read_as_crlf(exports, tmp_path):
    """An export with LF endings (git checkout) gives exactly the numbers of the CRLF original."""
    original = _run(tmp_path / "crlf", _write(tmp_path, "thin", exports["thin_film_cell"]),
                    _write(tmp_path, "liquid", exports["liquid_cell"]))
    lf = _run(tmp_path / "lf", _write(tmp_path, "thin_lf", _lf(exports["thin_film_cell"])),
              _write(tmp_path, "liquid_lf", _lf(exports["liquid_cell"])))
    assert b"\r" not in _lf(exports["thin_film_cell"])
    assert {k: (n.value, n.text) for k, n in lf.items()} == {k: (n.value, n.text) for k, n in original.items()}


def test_mixed_line_endings_read_as_crlf(exports, tmp_path):
    """Half CRLF, half LF (an editor that saved part of it) reads the same points."""
    data = exports["liquid_cell"]
    half = data.index(b"\r\n", len(data) // 2)
    mixed = data[:half] + _lf(data[half:])
    a, _ = ec.read_mpt(_write(tmp_path, "crlf", data))
    b, _ = ec.read_mpt(_write(tmp_path, "mixed", mixed))
    assert a.dtype == b.dtype and all(np.array_equal(a[n], b[n]) for n in a.dtype.names)


@pytest.mark.parametrize("edit", [_truncated, lambda d: _truncated(_lf(d))], ids=["crlf", "lf"])
def test_truncated_export_is_named(exports, tmp_path, edit):
    """An export cut mid-row, with either line ending, is refused as truncated."""
    bad = _write(tmp_path, "cut", edit(exports["thin_film_cell"]))
    with pytest.raises(InputError, match="ends in the middle of a row: the export is truncated") as caught:
        ec.read_mpt(bad)
    assert str(bad) in str(caught.value)


@pytest.mark.parametrize("edit", [_without_capacity, _capacity_zero], ids=["no-line", "zero"])
def test_export_without_capacity_still_gives_ce(exports, tmp_path, edit):
    """Without a capacity the reader returns none; CE and the steady cycles are unchanged,
    only the C-rates are refused."""
    data, capacity = ec.read_mpt(_write(tmp_path, "with", exports["thin_film_cell"]))
    bare, none = ec.read_mpt(_write(tmp_path, "without", edit(exports["thin_film_cell"])))
    assert capacity > 0 and none is None
    with_rates = ec.per_cycle(data, capacity, TOLERANCE)
    without = ec.per_cycle(bare, none, TOLERANCE)
    np.testing.assert_array_equal(without.ce_pct, with_rates.ce_pct)
    np.testing.assert_array_equal(without.steady, with_rates.steady)
    assert ec.ce_floor(without, 100) == ec.ce_floor(with_rates, 100)
    with pytest.raises(ec.NoCapacityError, match="lacks the cell's capacity"):
        without.rate_C


@pytest.mark.parametrize("edit", [_without_capacity, _capacity_zero], ids=["no-line", "zero"])
def test_thin_film_without_capacity_fails_naming_file_and_rates(exports, tmp_path, edit):
    """The paper quotes the thin-film cell's rates: the step fails, naming the file, the
    missing capacity and the two rate numbers, and says CE does not need it."""
    thin = _write(tmp_path, "thin_film_cell", edit(exports["thin_film_cell"]))
    liquid = _write(tmp_path, "liquid_cell", exports["liquid_cell"])
    with pytest.raises(InputError) as caught:
        _run(tmp_path, thin, liquid)
    message = str(caught.value)
    assert caught.value.path == thin
    assert message.startswith(f"{thin}: header lacks the cell's capacity (no 'Battery capacity' line, or 0")
    assert all(key in message for key in RATE_KEYS) and "Coulombic efficiency does not need it" in message


def test_liquid_cell_without_capacity_builds(exports, tmp_path):
    """The liquid cell gives only a CE: an export without capacity builds, with the same CE."""
    thin = _write(tmp_path, "thin_film_cell", exports["thin_film_cell"])
    reference = _run(tmp_path / "a", thin, _write(tmp_path, "liquid", exports["liquid_cell"]))
    bare = _run(tmp_path / "b", thin, _write(tmp_path, "liquid_bare", _without_capacity(exports["liquid_cell"])))
    assert bare["liquid.ce_max"].value == reference["liquid.ce_max"].value
    assert bare["echem.fast_rate_C"].value == reference["echem.fast_rate_C"].value


@pytest.mark.parametrize("edit, message", [
    (_swap_columns(b"Ewe/V", b"I/mA"),
     r"column I/mA: the current's sign contradicts ox/red in \d+ of \d+ galvanostatic half cycles"),
    (_swap_columns(b"Ewe/V", b"time/s"), r"column Ewe/V holds [-0-9.e+]+ V \(row \d+\), outside the ±10 V"),
    (_zero_current, r"column I/mA is zero throughout galvanostatic half cycle 0"),
], ids=["current-voltage-swapped", "voltage-time-swapped", "zero-current"])
def test_physically_impossible_columns_are_named(exports, tmp_path, edit, message):
    """Swapped or mislabelled columns are refused by physics, naming the file and the column
    (they used to report 'slow_rate_C nan')."""
    bad = _write(tmp_path, "bad", edit(exports["thin_film_cell"]))
    with pytest.raises(InputError, match=message) as caught:
        ec.read_mpt(bad)
    assert str(caught.value).startswith(f"{bad}: column ")


def test_swapped_columns_fail_the_step_by_column_not_by_nan(exports, tmp_path):
    """The whole step stops at the reader with the column named, not at a NaN rate."""
    thin = _write(tmp_path, "thin_film_cell", _swap_columns(b"Ewe/V", b"I/mA")(exports["thin_film_cell"]))
    with pytest.raises(InputError, match="column I/mA") as caught:
        _run(tmp_path, thin, _write(tmp_path, "liquid_cell", exports["liquid_cell"]))
    assert "nan" not in str(caught.value)


@pytest.mark.parametrize("line, message", [
    (b"Battery capacity : -1.9 mA.h", r"header 'Battery capacity' is -1.9 mAh: a capacity must be positive"),
    (b"Battery capacity : 1.9 W.h", r"header 'Battery capacity' has unit 'W.h'; EC-Lab writes A.h, mA.h or µA.h"),
    (b"Battery capacity : many mA.h", r"header 'Battery capacity' value 'many' is not a number"),
], ids=["negative", "unit", "not-a-number"])
def test_malformed_capacity_is_named(exports, tmp_path, line, message):
    """A capacity line that is there but wrong is refused at once, naming the header line."""
    data = re.sub(rb"Battery capacity : [^\r\n]*", line, exports["liquid_cell"])
    bad = _write(tmp_path, "bad", data)
    with pytest.raises(InputError, match=message) as caught:
        ec.read_mpt(bad)
    assert str(caught.value).startswith(f"{bad}: ")


def test_capacity_with_decimal_comma_reads(exports, tmp_path):
    """EC-Lab on a French or German Windows writes '0,8233 mA.h'; it is the same capacity."""
    _, dot = ec.read_mpt(_write(tmp_path, "dot", exports["liquid_cell"]))
    comma = re.sub(rb"(Battery capacity : \d+)\.(\d+)", rb"\1,\2", exports["liquid_cell"])
    assert b"Battery capacity : 0,8233 mA.h" in comma
    _, value = ec.read_mpt(_write(tmp_path, "comma", comma))
    assert value == dot


@pytest.mark.parametrize("edit, message", [
    (_without_capacity, "header lacks the cell's capacity"),
    (_swap_columns(b"Ewe/V", b"I/mA"), "column I/mA: the current's sign contradicts ox/red"),
    (_truncated, "the export is truncated"),
], ids=["no-capacity", "swapped", "truncated"])
def test_failed_step_leaves_the_last_good_outputs(exports, tmp_path, edit, message):
    """A good run of the step, then the same step on a damaged export: one InputError
    naming the file, and every output, numbers file and step record byte for byte as before."""
    from paperbuild.paths import Roots
    from paperbuild.runner import run_step

    raw, build = tmp_path / "raw", tmp_path / "build"
    (raw / "echem").mkdir(parents=True)
    for name, data in exports.items():
        _write(raw / "echem", name, data)
    run_step(STEP, Roots(raw=raw, build=build))
    before = {p: p.read_bytes() for p in sorted(build.rglob("*")) if p.is_file()}
    assert any("numbers" in p.parts for p in before)
    thin = raw / "echem" / "thin_film_cell.mpt"
    thin.write_bytes(edit(exports["thin_film_cell"]))
    with pytest.raises(InputError, match=message) as caught:
        run_step(STEP, Roots(raw=raw, build=build))
    assert caught.value.path == thin
    assert {p: p.read_bytes() for p in sorted(build.rglob("*")) if p.is_file()} == before


# ====================================================================== manifests
NAMES = {"echem/a.mpt": b"alpha", "b.tif": b"beta", "x\\y.tif": b"back slash"}


@pytest.fixture
def tree(tmp_path):
    """A small raw tree (one name with a backslash, which sha256sum escapes)."""
    for rel, data in NAMES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    return tmp_path


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _escaped(name: str) -> tuple[str, str]:
    """sha256sum's escaping: a leading backslash marks a name with backslash or newline."""
    if "\\" in name or "\n" in name:
        return "\\", name.replace("\\", "\\\\").replace("\n", "\\n")
    return "", name


def _line(form: str, rel: str) -> str:
    digest = _digest(NAMES[rel])
    mark, name = _escaped(rel)
    return {
        "text": f"{mark}{digest}  {name}",
        "text-upper": f"{mark}{digest.upper()}  {name}",
        "binary": f"{mark}{digest} *{name}",
        "binary-upper": f"{mark}{digest.upper()} *{name}",
        "tab-text": f"{mark}{digest}\t {name}",
        "tab-binary": f"{mark}{digest}\t*{name}",
        "bsd": f"{mark}SHA256 ({name}) = {digest}",
        "bsd-upper": f"{mark}SHA256 ({name}) = {digest.upper()}",
        "bsd-compact": f"{mark}SHA256({name})={digest}",
        "reversed": f"{mark}{digest} {name}",
        "indented": f"  {mark}{digest}  {name}",
        "dot-slash": f"{mark}{digest}  ./{name}",
    }[form]


FORMS = ["text", "text-upper", "binary", "binary-upper", "tab-text", "tab-binary", "bsd", "bsd-upper",
         "bsd-compact", "reversed", "indented", "dot-slash"]


def _sha256sum_check(root: Path) -> subprocess.CompletedProcess | None:
    if shutil.which("sha256sum") is None:
        return None
    return subprocess.run(["sha256sum", "--strict", "-c", MANIFEST_NAME], cwd=root, capture_output=True, text=True)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("ending", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_manifest_accepts_every_form_sha256sum_accepts(tree, form, ending):
    """Each line form verifies, with LF or CRLF line ends, comments and blank lines, and
    coreutils' ``sha256sum --strict -c`` accepts the same file (so the form is a real one)."""
    lines = ["# written by hand", "", *(_line(form, rel) for rel in NAMES)]
    (tree / MANIFEST_NAME).write_bytes(ending.join(lines).encode("utf-8") + ending.encode())
    assert sorted(verify_manifest(tree)) == sorted(NAMES)
    assert read_manifest(tree) == {rel: _digest(data) for rel, data in NAMES.items()}
    assert sorted(read_manifest_names(tree)) == sorted(NAMES)
    checked = _sha256sum_check(tree)
    if checked is not None:
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_manifest_mixing_forms_line_by_line(tree):
    """Text, binary and BSD lines mixed in one file (as concatenated manifests are)."""
    lines = [_line("text", "echem/a.mpt"), _line("binary-upper", "b.tif"), _line("bsd", "x\\y.tif")]
    (tree / MANIFEST_NAME).write_text("\n".join(lines), encoding="utf-8")  # no final newline either
    assert sorted(verify_manifest(tree)) == sorted(NAMES)


def test_manifest_written_for_awkward_names_is_read_by_sha256sum(tmp_path):
    """The writer escapes backslashes and newlines as sha256sum does, so both tools read it."""
    for name in ("plain.mpt", "back\\slash.mpt", "new\nline.mpt", "carriage\rreturn.mpt", " leading space.mpt"):
        (tmp_path / name).write_bytes(name.encode())
    write_manifest(tmp_path)
    assert sorted(verify_manifest(tmp_path)) == sorted(p.name for p in tmp_path.iterdir() if p.name != MANIFEST_NAME)
    checked = _sha256sum_check(tmp_path)
    if checked is not None:
        assert checked.returncode == 0, checked.stdout + checked.stderr


DIGEST = _digest(b"alpha")


@pytest.mark.parametrize("text, number", [
    ("not-a-hash  echem/a.mpt\n", 1),
    (f"{DIGEST[:-1]}  echem/a.mpt\n", 1),
    (f"{DIGEST}0  echem/a.mpt\n", 1),
    (f"{DIGEST}  echem/a.mpt\n{DIGEST[:-1]}g  b.tif\n", 2),
    (f"SHA512 (echem/a.mpt) = {DIGEST}\n", 1),
    (f"SHA256 (echem/a.mpt) = {DIGEST} \n", 1),
    (f"SHA256 (echem/a.mpt = {DIGEST}\n", 1),
    (f"\\{DIGEST}  x\\qy.tif\n", 1),
    (f"{DIGEST}  echem/a.mpt\n{DIGEST} b.tif\n", 2),
    (f"{DIGEST}\n", 1),
], ids=["not-hex", "short", "long", "bad-digit-line-2", "other-algorithm", "bsd-trailing-space", "bsd-no-paren",
        "bad-escape", "reversed-after-standard", "no-name"])
def test_manifest_refuses_malformed_lines_with_line_number(tree, text, number):
    """Lines sha256sum --strict refuses are refused here too, naming the manifest and the line."""
    (tree / MANIFEST_NAME).write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError, match=rf"{re.escape(str(tree / MANIFEST_NAME))}:{number}: not a checksum line"):
        read_manifest(tree)
    checked = _sha256sum_check(tree)
    if checked is not None:
        assert checked.returncode != 0
        assert "improperly formatted" in checked.stderr or "no properly formatted" in checked.stderr, checked.stderr


def test_manifest_listing_a_file_twice_in_two_forms(tree):
    """'a' and './a' are one file: listing it twice is refused with the second line's number."""
    (tree / MANIFEST_NAME).write_text(f"{DIGEST}  echem/a.mpt\nSHA256 (./echem/a.mpt) = {DIGEST}\n",
                                      encoding="utf-8")
    with pytest.raises(ManifestError, match=r":2: echem/a.mpt is listed twice"):
        read_manifest(tree)


def test_manifest_that_is_not_text_is_named(tree):
    """A binary or wrongly encoded manifest is one message, not a UnicodeDecodeError."""
    (tree / MANIFEST_NAME).write_bytes(b"\xff\xfe" + "x".encode("utf-16-le"))
    with pytest.raises(ManifestError, match=rf"{re.escape(str(tree / MANIFEST_NAME))}: not UTF-8 text"):
        read_manifest(tree)
    assert read_manifest_names(tree) == []


# ====================================================================== the truth file
def _synth(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    override = tmp_path / "bad.yaml"
    override.write_text(text, encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "data.synth", "--truth", str(override), "--out", str(tmp_path / "o")],
                          cwd=ROOT, capture_output=True, text=True)


@pytest.mark.parametrize("text, message", [
    ("echem:\n  cycles: 3\n cycles: 4\n", r"bad\.yaml: line 3, column 2: not valid YAML \(.+\)"),
    ("echem: {cycles: 3\n", r"bad\.yaml: line 2, column 1: not valid YAML \(.+\)"),
    ("echem:\n  cycles: [1, 2\nliquid: 3\n", r"bad\.yaml: line 3, column \d+: not valid YAML \(.+\)"),
    ("echem:\n  cycles: !!python/object/apply:os.system ['touch HACKED']\n",
     r"bad\.yaml: line 2, column 11: YAML tag !!python/object/apply:os\.system refused: the truth is read with "
     r"safe loading, which builds plain values only \(numbers, strings, lists, mappings\)"),
    ("echem: !!python/name:os.getcwd ''\n", r"bad\.yaml: line 1, column 8: YAML tag !!python/name:os\.getcwd refused"),
    ("echem: {cycels: 3}\n", r"bad\.yaml: unknown key echem\.cycels \(did you mean echem\.cycles\?\)$"),
    ("zzz: 3\n", r"bad\.yaml: unknown key zzz$"),
    ("- echem\n", r"bad\.yaml: the override must be a mapping with truth\.yaml's nesting, not a list"),
    ("echem: 3\n", r"bad\.yaml: key echem is a section of truth\.yaml: give a mapping of its keys, not 3"),
    ("seed: {a: 1}\n", r"bad\.yaml: key seed is a value in truth\.yaml, not a section"),
], ids=["bad-indent", "unclosed-brace", "unclosed-list", "python-tag", "python-name", "unknown-key", "unknown-top",
        "not-a-mapping", "section-as-value", "value-as-section"])
def test_truth_override_errors_are_one_line(tmp_path, text, message):
    """Every bad --truth file ends in one line naming the file (and YAML's line), exit 2,
    no traceback, nothing written, and a !!python tag never runs."""
    result = _synth(tmp_path, text)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"data.synth: error: {tmp_path / 'bad.yaml'}: ")
    assert re.search(message, lines[0]), lines[0]
    assert "'" not in lines[0].partition("unknown key")[2] and '"' not in lines[0], lines[0]
    assert not (tmp_path / "o").exists() and not (ROOT / "HACKED").exists() and not (tmp_path / "HACKED").exists()


def test_truth_file_that_is_missing_or_not_text(tmp_path):
    """A missing or binary --truth file is named in one line."""
    missing = subprocess.run([sys.executable, "-m", "data.synth", "--truth", str(tmp_path / "none.yaml"),
                              "--out", str(tmp_path / "o")], cwd=ROOT, capture_output=True, text=True)
    assert missing.returncode == 2 and missing.stderr.strip() == f"data.synth: error: {tmp_path / 'none.yaml'}: cannot read it (No such file or directory)"
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00echem")
    result = subprocess.run([sys.executable, "-m", "data.synth", "--truth", str(binary), "--out", str(tmp_path / "o")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.strip() == f"data.synth: error: {binary}: not UTF-8 text"

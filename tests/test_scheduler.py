"""Chunked EM work: the same numbers and files on this machine's threads and on a Dask cluster."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from analysis.registry import STEPS
from paperbuild import scheduler
from paperbuild.errors import BuildError, InputError
from paperbuild.paths import Roots
from paperbuild.runner import run_step
from tests.conftest import ROOT

CHUNKED = [step for step in STEPS if step.chunked]


def test_the_em_steps_are_the_chunked_ones():
    assert sorted(step.name for step in CHUNKED) == ["eds", "hrtem"]


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "tcp://node-7.cluster.local:8786", "tls://10.0.0.5:8786",
                                     "tcp://[::1]:8786"])
def test_a_scheduler_address_is_taken_as_given(address):
    assert scheduler.check_address(address) == address


def test_no_address_means_this_machine():
    assert scheduler.check_address("") is None


@pytest.mark.parametrize("text", ["127.0.0.1:8786", "tcp://127.0.0.1", "http://host:8786", "tcp://host:port",
                                  "tcp://host:8786/extra", "tcp:// host:8786"])
def test_a_malformed_address_is_refused_with_an_example(text):
    with pytest.raises(BuildError, match=r"scheduler=.*protocol://host:port, e\.g\. scheduler=tcp://"):
        scheduler.check_address(text)


def _square(x: int, offset: int = 0) -> int:
    return x * x + offset


def _refuse(path: Path) -> None:
    raise InputError(path, "holds no lattice fringes")


def test_map_items_keeps_the_order_of_the_items_and_reports_each(capsys):
    assert scheduler.map_items("demo", _square, [3, 1, 2], offset=1) == [10, 2, 5]
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.startswith("  demo: [") for line in lines)
    assert sorted(line.split("] ")[1].split(" (")[0] for line in lines) == ["1", "2", "3"]


def test_an_input_error_inside_a_task_reaches_the_step_with_its_file(tmp_path):
    with pytest.raises(InputError, match=r"region_07\.tif: holds no lattice fringes"):
        scheduler.map_items("demo", _refuse, [tmp_path / "region_07.tif"])


def test_compute_reads_shared_blocks_once_and_returns_in_order():
    import dask.array as da

    cube = da.arange(24, chunks=6).reshape(2, 3, 4)
    total, first = scheduler.compute("demo", "blocks", cube.sum(), cube[0].sum(axis=-1))
    assert total == 276 and first.tolist() == [6, 22, 38]


def test_a_large_graph_reports_each_tenth_and_a_small_one_stays_quiet(capsys):
    import dask.array as da

    scheduler.compute("eds", "blocks reduced", da.ones(3000, chunks=1).sum())
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("] ")[0] for line in lines] == [f"  eds: [{i:>2}/10" for i in range(1, 11)]
    done = [int(line.split("(")[1].split(" of ")[0].replace(",", "")) for line in lines]
    assert done == sorted(done) and lines[-1].endswith(f"blocks reduced ({done[-1]:,} of {done[-1]:,} tasks)")
    scheduler.compute("eds", "blocks reduced", da.ones(30, chunks=1).sum())
    assert capsys.readouterr().out == ""


def test_an_unreachable_cluster_fails_the_step_in_one_line():
    pytest.importorskip("distributed")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scheduler, "CONNECT_TIMEOUT_S", 2)
        with pytest.raises(BuildError, match=r"eds: no Dask scheduler answered at tcp://127\.0\.0\.1:9 within 2 s"):
            with scheduler.connected("tcp://127.0.0.1:9", "eds"):
                pass


@pytest.fixture(scope="module")
def em_tree(tmp_path_factory) -> Path:
    """The committed EDS files and three HRTEM regions: enough to spread over two workers."""
    raw = tmp_path_factory.mktemp("em-raw")
    shutil.copytree(ROOT / "data" / "raw" / "eds", raw / "eds")
    (raw / "hrtem").mkdir()
    for name in ("region_01.tif", "region_02.tif", "region_03.tif"):
        shutil.copy2(ROOT / "data" / "raw" / "hrtem" / name, raw / "hrtem" / name)
    return raw


def _outputs(build: Path) -> dict[str, bytes]:
    return {p.relative_to(build).as_posix(): p.read_bytes() for p in sorted(build.rglob("*"))
            if p.is_file() and p.parent.name in ("data", "numbers")}


def test_a_loopback_cluster_gives_the_local_numbers_and_files(em_tree, tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    local, remote = Roots(raw=em_tree, build=tmp_path / "local"), Roots(raw=em_tree, build=tmp_path / "cluster")
    for step in CHUNKED:
        run_step(step, local)
    with distributed.LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        for step in CHUNKED:
            run_step(step, remote, address)
        # the work ran there: both workers took HRTEM regions
        with distributed.Client(address) as client:
            ran = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert scheduler._client() is None  # the step's connection ended with it: later steps compute here
    out = capsys.readouterr().out
    for step in CHUNKED:
        assert f"{step.name}: chunked work on this machine" in out
        assert f"{step.name}: chunked work on the cluster at {address} (2 workers, 2 threads)" in out
    assert out.count("hrtem: [3/3]") == 2
    assert all(count > 0 for count in ran.values()), ran
    mine, theirs = _outputs(local.build), _outputs(remote.build)
    assert sorted(mine) == sorted(theirs) and len(mine) >= 10
    for name in mine:
        if name.endswith(".npz"):
            a, b = np.load(local.build / name), np.load(remote.build / name)
            assert sorted(a.files) == sorted(b.files)
            for key in a.files:
                assert np.array_equal(a[key], b[key]), (name, key)
        else:
            assert mine[name] == theirs[name], name

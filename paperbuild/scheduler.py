"""Where a step's chunked work runs: this machine's cores, or a ``dask.distributed`` cluster.

A step declared ``chunked`` in the registry hands its large work to Dask (reductions
over a spectrum image's blocks, one task per micrograph) through :func:`compute` and
:func:`map_items`.  By default Dask's threads run it on this machine's cores.  With
``doit scheduler=tcp://HOST:PORT`` the runner connects to that cluster for the
duration of the step (:func:`connected`) and the same calls run on its workers; the
step's code does not change, and neither do its numbers: the task graph, and so every
sum's order, is the same on either scheduler.

The workers must see the raw tree and the build folder at the paths this machine uses
(a shared file system) and run the same environment (``pip install -e .`` of this
checkout), since they import the analysis modules and open the files themselves.

Nothing here imports Dask or ``distributed`` until a step computes, so ``dodo.py`` can
check an address without slowing a no-op build.
"""
from __future__ import annotations

import contextlib
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from paperbuild import progress
from paperbuild.errors import BuildError

T = TypeVar("T")

#: What ``scheduler=`` accepts: a Dask comm address, ``protocol://host:port``.
ADDRESS = re.compile(r"^(tcp|tls|ucx|ws|wss)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")
#: How long the runner waits for a cluster before failing the step (seconds).
CONNECT_TIMEOUT_S = 20
#: Graphs with at least this many tasks print a line at each tenth done (local runs).
REPORTED_TASKS = 2000


def check_address(text: str) -> str | None:
    """The scheduler address a user gave (``doit scheduler=...``), or None for local threads.

    Parameters
    ----------
    text
        The value of ``scheduler=``; empty means this machine.

    Returns
    -------
    str or None
        The address, unchanged.

    Raises
    ------
    BuildError
        ``text`` is not ``protocol://host:port`` with a Dask protocol.
    """
    text = text.strip()
    if not text:
        return None
    if not ADDRESS.match(text):
        raise BuildError(f"scheduler={text}: not a Dask scheduler address; give protocol://host:port, "
                         f"e.g. scheduler=tcp://10.0.0.5:8786 (what `dask scheduler` prints at start)")
    return text


def _client():
    """The current ``distributed`` client, or None: never imports ``distributed`` itself."""
    if "distributed" not in sys.modules:
        return None
    from distributed import get_client

    try:
        return get_client()
    except ValueError:  # no client in this process
        return None


@contextlib.contextmanager
def connected(address: str | None, label: str) -> Iterator[str]:
    """Make the cluster at ``address`` the scheduler of every Dask computation in the block.

    Parameters
    ----------
    address
        ``protocol://host:port`` (see :func:`check_address`), or None to compute with
        Dask's threads on this machine.
    label
        The step, named in the error when the cluster cannot be reached.

    Yields
    ------
    str
        Where the work runs, for the step's log: ``"this machine (2 threads)"`` or the
        address with the cluster's worker and thread counts.

    Raises
    ------
    BuildError
        ``distributed`` is not installed, or no scheduler answers at ``address`` within
        :data:`CONNECT_TIMEOUT_S`.
    """
    if address is None:
        from dask.system import CPU_COUNT

        yield f"this machine ({CPU_COUNT} threads)"
        return
    try:
        from distributed import Client
    except ImportError:
        raise BuildError(f"{label}: scheduler={address} needs the `distributed` package "
                         f"(pip install distributed)") from None
    try:
        client = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=True)
    except (OSError, TimeoutError) as err:
        raise BuildError(f"{label}: no Dask scheduler answered at {address} within {CONNECT_TIMEOUT_S} s "
                         f"({type(err).__name__}); start one (`dask scheduler`) or drop scheduler=") from None
    try:
        workers = client.scheduler_info().get("workers", {})
        threads = sum(w.get("nthreads", 0) for w in workers.values())
        yield f"the cluster at {address} ({len(workers)} workers, {threads} threads)"
    finally:
        client.close()


def _tenths(label: str, what: str, indent: str):
    """A Dask local-scheduler callback printing a line at each tenth of a large graph done."""
    from dask.callbacks import Callback

    seen = {"total": 0, "shown": 0}

    def start_state(dsk, state) -> None:
        seen["total"] = sum(len(state[k]) for k in ("ready", "waiting", "running")) + len(state["finished"])

    def posttask(key, result, dsk, state, worker_id) -> None:
        done = len(state["finished"])
        tenth = done * 10 // max(seen["total"], 1)
        if seen["total"] >= REPORTED_TASKS and tenth > seen["shown"]:
            seen["shown"] = tenth
            progress.show(label, tenth, 10, f"{what} ({done:,} of {seen['total']:,} tasks)", indent)

    return Callback(start_state=start_state, posttask=posttask)


def compute(label: str, what: str, *collections: Any, indent: str = progress.UNDER_TASK) -> tuple[Any, ...]:
    """Compute Dask collections together (their shared blocks are read once) on the current scheduler.

    Parameters
    ----------
    label, what
        Who computes and what, for the progress lines a large graph prints.
    collections
        Dask arrays (or anything ``dask.compute`` takes).
    indent
        The indent of the progress lines.

    Returns
    -------
    tuple
        The computed values, in the order given.
    """
    import dask

    client = _client()
    if client is not None:
        return tuple(client.gather(client.compute(list(collections))))
    with _tenths(label, what, indent):
        return dask.compute(*collections)


def map_items(label: str, func: Callable[..., T], items: Sequence[Any], describe: Callable[[Any], str] = str,
              indent: str = progress.UNDER_TASK, **kwargs: Any) -> list[T]:
    """``[func(item, **kwargs) for item in items]``, one Dask task per item, on the current scheduler.

    A line is printed as each item finishes (in the order they finish); the results
    come back in the order of ``items``.  ``func`` must be importable by name (a module's
    function) when a cluster runs it.

    Parameters
    ----------
    label, describe, indent
        As for :func:`paperbuild.progress.line`: who works, how an item is named.
    func
        The work on one item; pure, so where it runs does not change its result.
    items
        The units of work (file paths, say).
    kwargs
        Passed to every call.

    Returns
    -------
    list
        One result per item, in order.
    """
    items = list(items)
    started = time.perf_counter()

    def finished(done: int, index: int) -> None:
        progress.show(label, done, len(items), f"{describe(items[index])} ({time.perf_counter() - started:.0f} s)",
                      indent)

    client = _client()
    if client is not None:
        from distributed import as_completed

        futures = [client.submit(func, item, pure=False, **kwargs) for item in items]
        where = {future.key: i for i, future in enumerate(futures)}
        for done, future in enumerate(as_completed(futures), start=1):
            future.result()  # a worker's exception is raised here, as it would be locally
            finished(done, where[future.key])
        return client.gather(futures)

    import dask
    from dask.callbacks import Callback

    tasks = [dask.delayed(func, pure=False)(item, **kwargs) for item in items]
    where = {task.key: i for i, task in enumerate(tasks)}
    count = iter(range(1, len(items) + 1))

    def posttask(key, result, dsk, state, worker_id) -> None:
        if key in where:
            finished(next(count), where[key])

    # Dask's threads already fill the cores: a BLAS pool per thread would oversubscribe them
    # (10 HRTEM regions: 12.5 s with it, 9.8 s without, on 2 cores)
    from threadpoolctl import threadpool_limits

    with Callback(posttask=posttask), threadpool_limits(limits=1, user_api="blas"):
        return list(dask.compute(*tasks))

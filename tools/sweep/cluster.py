"""The Dask side of the sweep: a cluster, one task per grid point, a bounded wait, and cancel.

By default a LocalCluster of JOBS worker processes with one thread each; with a scheduler
address (SCHEDULER, or Dask's own DASK_SCHEDULER_ADDRESS) the user's running cluster.
A worker that dies mid-run has its task rescheduled by Dask's scheduler (up to
``distributed.scheduler.allowed-failures`` deaths, 3 by default); a grid point that fails
is a result, not an exception, so it is never rerun. Ctrl-C, SIGTERM or the overall
bound cancel what has not finished and kill the runs' processes on every worker.
"""

import concurrent.futures
import importlib.util
import logging
import math
import signal
import sys
from dataclasses import dataclass

from scratchnet.base.errors import ScratchnetError

from . import task as sweep_task

STOP_TIMEOUT = 15  # seconds to reach the workers and stop their runs, then to close a local cluster


def say(text):
    print(f"sweep: {text}", file=sys.stderr, flush=True)


def duration(seconds):
    seconds = round(seconds)
    if seconds < 120:
        return f"{seconds} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return (f"{hours} h {minutes} min" if minutes else f"{hours} h") if hours else f"{minutes} min"


@dataclass
class Cluster:
    client: object  # distributed.Client
    local: object  # the LocalCluster this sweep started, or None
    where: str  # "a local Dask cluster of 2 worker processes", "the Dask scheduler at tcp://..."
    dashboard: str  # its address, or why there is none


def connect(address, jobs, connect_timeout, dashboard_address):
    """The user's scheduler at ``address``, or a LocalCluster of ``jobs`` processes started here."""
    import cloudpickle
    from distributed import Client, LocalCluster

    cloudpickle.register_pickle_by_value(sweep_task)  # workers need not import tools/
    if address:
        try:
            client = Client(address, timeout=connect_timeout)
        except (OSError, TimeoutError) as e:
            raise ScratchnetError(
                f"no Dask scheduler answered at {address} within {connect_timeout:g} s ({e}): "
                "start one (dask scheduler) or check SCHEDULER"
            ) from None
        try:
            client.wait_for_workers(1, timeout=connect_timeout)
        except TimeoutError:
            client.close(timeout=STOP_TIMEOUT)
            raise ScratchnetError(
                f"the scheduler at {address} has no worker after {connect_timeout:g} s: start "
                f"some (dask worker {address}, in a clone with its venv)"
            ) from None
        return Cluster(client, None, f"the Dask scheduler at {address}", client.dashboard_link or "none")
    # The worker processes inherit an ignored SIGINT: a Ctrl-C on the terminal reaches the whole
    # process group, and workers dying of it mid-cancel only add tracebacks; the sweep stops them.
    # Dask's own warnings (a cancelled task, a worker restarted) only repeat what the sweep says.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        local = LocalCluster(
            n_workers=jobs,
            threads_per_worker=1,
            processes=True,
            dashboard_address=dashboard_address,
            silence_logs=logging.ERROR,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        client = Client(local, timeout=connect_timeout)
    except BaseException:
        local.close(timeout=STOP_TIMEOUT)
        raise
    where = f"a local Dask cluster of {jobs} worker process{'es' if jobs > 1 else ''}"
    if importlib.util.find_spec("bokeh") is None:
        return Cluster(client, local, where, "not served: bokeh is not installed (pip install 'bokeh>=3.1')")
    return Cluster(client, local, where, client.dashboard_link)


def _bounded(what, function, *args):
    """Call ``function(*args)`` in a thread; give up after STOP_TIMEOUT seconds (a worker may not answer)."""
    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        return pool.submit(function, *args).result(timeout=STOP_TIMEOUT)
    except Exception as e:
        say(f"could not {what} within {STOP_TIMEOUT} s ({str(e) or type(e).__name__}); going on")
    finally:
        pool.shutdown(wait=False)


def stop(client, futures, sweep_id):
    """Cancel the futures not finished, and kill this sweep's processes on every worker."""
    client.cancel(futures)
    _bounded("stop the runs on the workers", client.run, sweep_task.stop_sweep, sweep_id)


def close(cluster):
    _bounded("close the connection to the scheduler", cluster.client.close, STOP_TIMEOUT)
    if cluster.local is not None:
        _bounded("stop the local cluster", cluster.local.close, STOP_TIMEOUT)


def _by_value(function):
    """``function`` in a closure, so that a scheduler or worker elsewhere needs no tools/ to run it.

    Dask pickles a task graph with plain pickle when it can, which names a module
    function by reference; a local function cannot be pickled so, and Dask falls back
    to cloudpickle, which sends sweep_task's code by value (register_pickle_by_value).
    """

    def call(*args):
        return function(*args)

    return call


def _outcome(future, name):
    """A task's result dict; a Dask-side failure (workers died, cancelled) as a result too."""
    try:
        return future.result()
    except Exception as e:
        kind = type(e).__name__
        state = "Workers died" if kind == "KilledWorker" else "Error"
        return {"name": name, "state": state, "message": f"{kind}: {e}", "log": "", "host": "", "seconds": 0}


def run(cluster, specs, labels, timeout, progress):
    """Run the specs, one task each; the results in spec order.

    ``labels`` names each spec's point for messages; ``timeout`` bounds a run (the task
    enforces it); the whole wait is bounded by that times the rounds the workers need.
    ``progress(total)`` is a context manager giving ``on_result(result)``, called as each ends.
    """
    from distributed import as_completed

    client = cluster.client
    sweep_id = specs[0]["sweep_id"]
    slots = max(1, sum(client.nthreads().values()))
    bound = timeout * math.ceil(len(specs) / slots) + 600
    keys = [f"{sweep_id}-{spec['name']}" for spec in specs]
    futures = client.map(_by_value(sweep_task.run_point), specs, key=keys, retries=0)
    names = dict(zip(keys, (spec["name"] for spec in specs)))
    at = f" at {client.scheduler.address}" if cluster.local is not None else ""
    say(
        f"waiting for {len(specs)} runs on {cluster.where}{at}, {slots} at a time (dashboard: {cluster.dashboard}); "
        f"at most {duration(timeout)} a run, {duration(bound)} in all; Ctrl-C cancels"
    )
    results = {}
    try:
        with progress(len(specs)) as on_result:
            for future in as_completed(futures, timeout=bound):
                results[future.key] = _outcome(future, names[future.key])
                on_result(results[future.key])
    except (KeyboardInterrupt, TimeoutError) as e:
        for number in (signal.SIGINT, signal.SIGTERM):  # the stop is bounded: let it end, then exit
            signal.signal(number, signal.SIG_IGN)
        stop(client, futures, sweep_id)
        left = [f"{names[k]} ({labels[names[k]]})" for k in keys if k not in results]
        why = "interrupted" if isinstance(e, KeyboardInterrupt) else f"still waiting after {duration(bound)}"
        say(f"{why}: cancelled the {len(left)} runs that did not finish: {', '.join(left)}")
        done = [results[k]["name"] for k in keys if k in results and results[k]["state"] == "Success"]
        if done:
            say(f"finished, and kept as experiments: {', '.join(done)}")
        if isinstance(e, TimeoutError):
            raise ScratchnetError(
                f"the sweep did not finish within {duration(bound)}: runs cancelled (raise --timeout, or add workers)"
            ) from None
        raise
    # every worker: remove what attempts on workers that died left behind
    _bounded("clean up on the workers", client.run, sweep_task.stop_sweep, sweep_id)
    return [results[k] for k in keys]

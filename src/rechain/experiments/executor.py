"""The one executor of rechain's experiments: ``sweep``, ``compare``, ``validate`` and
``calibrate`` all run their model runs through it.

:func:`open_executor` gives one of three, by the same interface:

- :class:`SerialExecutor` (``workers=1``): in this process, one task after the other; no
  start-up cost, easy to debug;
- :class:`ProcessExecutor` (``workers > 1``): a pool of spawned local processes; each
  worker ends soon after the main process is gone (a watchdog thread, see
  :func:`_exit_with_parent`), and a cancelled run terminates the workers at once;
- :class:`DaskExecutor` (``scheduler="local"`` or a scheduler address): the tasks go to a
  Dask cluster; an address that does not answer within :data:`SCHEDULER_CONNECT_S` seconds
  is one line for the user (:class:`~rechain.scenario.OptionError`).

:func:`batches` groups items into tasks of :func:`batch_size` (a sweep's runs: one task a
batch, one part file a batch). ``executor.map(fn, items)`` runs ``fn(item)`` for every item, a few tasks per worker in
flight at a time, and yields ``(index, result)`` as tasks finish, in any order: callers
key results by index (or by what the item says), so results never depend on the number
of workers. An object given as ``shared`` is sent once to each worker, and a task reads
it with :func:`shared`. Use an executor as a context manager: leaving the block by an
exception (Ctrl-C included) cancels what is still running.

:func:`sigterm_as_interrupt` turns SIGTERM into :class:`Terminated`, a KeyboardInterrupt,
so that a command stops as on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import numbers
import os
import signal
import sys
import time
from typing import Any, Callable, Iterable, Iterator

from ..fingerprint import code_fingerprint
from ..scenario import OptionError

__all__ = ["stop_inside", "note_terminated", "was_terminated", "forget_terminated", "was_interrupted", "interrupt_kept", "open_executor", "SerialExecutor", "ProcessExecutor", "DaskExecutor", "shared", "batches",
           "batch_size", "Terminated", "ClusterLost", "exit_stopped", "WORKERS_WAIT_S", "WORKERS_GONE_S", "sigterm_as_interrupt", "SCHEDULER_CONNECT_S", "PARENT_CHECK_S", "MAX_SEEDS",
           "MAX_WORKERS"]

#: how often a worker process checks that the main process is still there, s
PARENT_CHECK_S = 0.5
#: seconds to wait for a Dask scheduler before saying it cannot be reached
SCHEDULER_CONNECT_S = 5
#: seconds to wait for a scheduler's first worker (on a batch cluster they start later)
WORKERS_WAIT_S = 60
#: seconds a cluster may have no worker at all mid-command before the command says so and
#: stops (a worker that comes back sooner carries on the work: the scheduler keeps it)
WORKERS_GONE_S = 60
#: how often a command waiting on Dask looks whether the cluster still has workers, s
WORKERS_WATCH_S = 2


class ClusterLost(RuntimeError):
    """The Dask scheduler, or every worker holding a sweep's work, went away mid-command."""


def exit_stopped(e: BaseException, hint: str) -> None:
    """End a command that many runs stopped (Ctrl-C, SIGTERM, a lost cluster) with one line
    on where its finished runs are and how to continue (``hint``), and the status that says why."""
    import sys
    import click
    if isinstance(e, ClusterLost):
        click.echo(f"error: {e}; {hint}", err=True)
        sys.exit(1)
    click.echo(f"\n{'terminated' if isinstance(e, Terminated) else 'interrupted'}: {hint}", err=True)
    sys.exit(143 if isinstance(e, Terminated) else 130)

#: seeds a command runs each scenario with at most (validate and compare hold every run's
#: tables in memory; --replicates 10**11 took all of it and ended in a MemoryError)
MAX_SEEDS = 1000

#: local worker processes (or local Dask workers) a command starts at most: more than a large
#: server's cores only starts idle processes (--workers 10**6 with a local Dask cluster tried
#: to start them all); a cluster is reached with --scheduler instead
MAX_WORKERS = 256

_SHARED: Any = None


def shared() -> Any:
    """The object the executor sent to this worker as ``shared`` (None if none)."""
    return _SHARED


def _set_shared(obj: Any) -> Any:
    global _SHARED
    old, _SHARED = _SHARED, obj
    return old


def _init_worker(obj: Any, parent_pid: int | None = None) -> None:
    """Set up a worker process: the shared object, and a watchdog for its parent."""
    _set_shared(obj)
    if parent_pid is not None:
        _exit_with_parent(parent_pid)


def _exit_with_parent(parent_pid: int) -> None:
    """End this process soon after ``parent_pid`` (the main process) is gone.

    A worker whose parent was killed (SIGKILL, or a SIGTERM that left no time to clean
    up) would otherwise block for ever writing its result to a pipe nobody reads. An
    orphan is adopted by another process, so ``os.getppid()`` changes: portable, unlike
    Linux's PR_SET_PDEATHSIG, and a daemon thread runs while the main thread is blocked.
    """
    import threading

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_S)
        os._exit(3)    # no clean-up: there is no one left to report to

    threading.Thread(target=watch, name="rechain-parent-watchdog", daemon=True).start()


def _call_with(fn: Callable, obj: Any, item: Any) -> Any:
    """Run ``fn(item)`` with ``obj`` as the shared object (a Dask task)."""
    _set_shared(obj)
    return fn(item)


class _Executor:
    """The interface: ``name``, ``slots`` (tasks that run at once), :meth:`map`, :meth:`close`."""
    name = ""
    slots = 1

    def map(self, fn: Callable[[Any], Any], items: Iterable, window: int | None = None
            ) -> Iterator[tuple[int, Any]]:
        """Run ``fn(item)`` for each item, at most ``window`` (default twice :attr:`slots`)
        at a time, and yield ``(index, result)`` as they finish. A task's exception is
        raised here. ``items`` is read lazily."""
        todo = enumerate(items)
        window = window or 2 * self.slots
        pending: dict = {}
        for i, item in todo:
            pending[self._submit(fn, item)] = i
            if len(pending) >= window:
                break
        while pending:
            for fut in self._next_done(list(pending)):
                i = pending.pop(fut)
                for j, item in todo:
                    pending[self._submit(fn, item)] = j
                    break
                yield i, self._result(fut)

    def _result(self, fut: Any) -> Any:
        return fut.result()

    def _submit(self, fn: Callable, item: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _next_done(self, pending: list) -> list:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self, cancel: bool = False) -> None:
        """Release the workers; ``cancel=True`` stops what is still running."""

    def __enter__(self) -> "_Executor":
        return self

    def __exit__(self, typ, exc, tb) -> None:
        self.close(cancel=typ is not None)


class _Deferred:
    """A task of the serial executor: run when the executor is asked for a finished one."""

    def __init__(self, fn: Callable, item: Any, obj: Any):
        self.fn, self.item, self.obj = fn, item, obj

    def run(self) -> None:
        old = _set_shared(self.obj)
        try:
            self.value = self.fn(self.item)
        finally:
            _set_shared(old)

    def result(self) -> Any:
        return self.value


class SerialExecutor(_Executor):
    """Runs tasks in this process, one by one, in order."""
    name = "this process"

    def __init__(self, shared: Any = None):
        self.obj = shared

    def _submit(self, fn: Callable, item: Any) -> _Deferred:
        return _Deferred(fn, item, self.obj)

    def _next_done(self, pending: list) -> list:
        pending[0].run()
        return pending[:1]


class ProcessExecutor(_Executor):
    """Runs tasks in ``workers`` spawned local processes that end with this one."""
    name = "local processes"

    def __init__(self, workers: int, shared: Any = None):
        import concurrent.futures as cf
        import multiprocessing as mp
        self.cf = cf
        # spawn, stated explicitly: `import mesa` makes it the default anyway, and fork after
        # threads (pyarrow, tqdm) is unsafe
        self.pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                           initializer=_init_worker, initargs=(shared, os.getpid()))
        self.slots = workers

    def _submit(self, fn: Callable, item: Any) -> Any:
        # the pool starts its workers as tasks come: a worker started here begins with Ctrl-C
        # blocked (a terminal's Ctrl-C reaches the whole process group, and a worker still
        # importing the model printed its traceback). This process sees the Ctrl-C once the
        # worker is started and stops them all (close); a blocked signal waits, it is not lost
        with _ctrl_c_blocked():
            return self.pool.submit(fn, item)

    def _next_done(self, pending: list) -> list:
        done, _ = self.cf.wait(pending, return_when=self.cf.FIRST_COMPLETED)
        return [f for f in pending if f in done]       # in submission order

    def close(self, cancel: bool = False) -> None:
        if cancel:
            # stop the tasks under way too (a sweep runs them again on --resume): waiting for
            # them would keep an interrupted or terminated command alive for a whole task.
            # The pool's own process table is the one place that lists exactly its workers.
            for proc in list(getattr(self.pool, "_processes", {}).values()):
                proc.terminate()
        self.pool.shutdown(wait=True, cancel_futures=cancel)


@contextlib.contextmanager
def _ctrl_c_blocked():
    """SIGINT blocked in this thread for the block: processes started in it inherit the block
    (where signal masks exist: not on Windows, whose consoles signal otherwise)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _within(make: Callable[[], Any], seconds: float) -> Any:
    """``make()``, or TimeoutError when it has not returned within ``seconds`` (it runs on in
    a daemon thread, which the process does not wait for)."""
    import threading
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = make()
        except BaseException as e:      # handed back to the caller below
            box["error"] = e
    t = threading.Thread(target=run, daemon=True, name="rechain-dask-connect")
    t.start()
    t.join(seconds)
    if t.is_alive():
        raise TimeoutError(f"no Dask handshake within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def address_problem(address: str) -> str | None:
    """What is wrong with a scheduler address (``tcp://HOST:PORT`` or ``HOST:PORT``) before
    anything is asked of it, or None: empty (an unset variable: never a quiet run elsewhere),
    or a port out of range, a typing slip rather than a scheduler that does not answer."""
    if not str(address).strip():
        return "is empty"
    rest = address.split("://", 1)[-1].rsplit("/", 1)[0]
    if rest.startswith("["):                        # an IPv6 host: [::1]:8786
        rest = rest.partition("]")[2]
    if ":" not in rest:
        return None                                 # Dask's default port
    port = rest.rsplit(":", 1)[1]
    if not port.isdigit():
        return f"port {port!r} is not a number"
    if not 1 <= int(port) <= 65535:
        return f"port {port} is not a valid port"
    return None


def _connect(client_class, address: str):
    """A Dask client of the scheduler at ``address``, or one line saying it cannot be reached
    (the whole start-up bounded: an HTTP server, a scheduler's dashboard say, accepts the
    connection and then never answers Dask's handshake)."""
    try:
        return _within(lambda: client_class(address, timeout=SCHEDULER_CONNECT_S), 3 * SCHEDULER_CONNECT_S)
    except ValueError as e:
        raise OptionError("--scheduler", address, f"is not a scheduler address ({e}); allowed: tcp://HOST:PORT "
                          "or local", kind="scheduler") from None
    except (OSError, TimeoutError) as e:
        why = f"no answer within {SCHEDULER_CONNECT_S} s" if "Timed out" in str(e) else str(e)
        if "no Dask handshake" in str(e):
            why = f"{e}: a web server, such as the scheduler's dashboard?"
        raise OptionError("--scheduler", address, f"cannot reach a Dask scheduler there ({why}); start one "
                          "(`dask scheduler`) and give the address it prints, or use --scheduler local",
                          kind="scheduler") from None
    except TypeError as e:          # tls:// without Dask's TLS settings
        raise OptionError("--scheduler", address, f"cannot connect ({e}); a tls:// address needs Dask's TLS "
                          "settings (distributed.comm.tls.*); allowed: tcp://HOST:PORT or local",
                          kind="scheduler") from None
    except Exception as e:          # something answered that is not a Dask scheduler
        raise OptionError("--scheduler", address, f"is not a Dask scheduler ({type(e).__name__}: {e}); give "
                          "the address `dask scheduler` prints (tcp://HOST:8786 by default, not its dashboard)",
                          kind="scheduler") from None


def _hold(obj: Any) -> Any:
    return obj


def check_workers(client: Any, address: str) -> None:
    """Wait for a first worker, then check every worker runs this rechain code: other code
    gives other numbers under the same seeds, and a sweep folder must not mix them."""
    try:
        client.wait_for_workers(1, timeout=WORKERS_WAIT_S)
    except Exception:
        raise OptionError("--scheduler", address, f"has no workers (waited {WORKERS_WAIT_S} s); start some with "
                          f"`dask worker {address}`", kind="scheduler") from None
    try:
        seen = client.run(code_fingerprint)     # each worker's own
    except Exception as e:
        raise OptionError("--scheduler", address, f"has workers that cannot run rechain ({type(e).__name__}: {e}); "
                          "install the same rechain in the workers' environment", kind="scheduler") from None
    ours = code_fingerprint()
    other = sorted(w for w, fp in seen.items() if fp != ours)
    if other:
        raise OptionError("--scheduler", address, f"has workers running other rechain code ({', '.join(other)}): "
                          "their runs would differ from this code's under the same seeds; install this rechain "
                          "on them", kind="scheduler")


def _lost_errors() -> tuple:
    import asyncio
    import concurrent.futures
    try:
        from distributed.client import FuturesCancelledError
        from distributed.comm.core import CommClosedError
    except ImportError:  # pragma: no cover - depends on the environment
        return (asyncio.CancelledError, concurrent.futures.CancelledError)
    return (asyncio.CancelledError, concurrent.futures.CancelledError, FuturesCancelledError, CommClosedError)


class DaskExecutor(_Executor):
    """Runs tasks on Dask: a local cluster of ``workers`` processes (``address="local"``) or
    the scheduler at ``address``. Connects at once, so an unreachable scheduler is said
    before any work."""
    name = "dask"

    def __init__(self, address: str, workers: int, shared: Any = None):
        problem = address_problem(address)
        if problem:
            raise OptionError("--scheduler", address, f"{problem}; allowed: tcp://HOST:PORT (PORT 1-65535) or local",
                              kind="scheduler")
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - depends on the environment
            raise OptionError("--scheduler", address, "needs dask.distributed: pip install 'rechain[dask]'",
                              kind="scheduler") from None
        self.lost_errors = _lost_errors()
        self.cluster = None
        self._no_workers_since: float | None = None
        if address == "local":
            # any free port for its dashboard: never clashes; its workers' warnings kept quiet
            # (a stopped sweep's cancelled tasks each logged one before the command's own line)
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=":0", silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
        else:
            self.client = _connect(Client, address)
            try:
                check_workers(self.client, address)
            except BaseException:
                self.client.close()
                raise
        self.address = address
        # the shared object as a task's result, not scattered data: if every worker holding
        # it goes (a batch job's allocation ends), the scheduler makes it again from the task
        self.obj = self.client.submit(_hold, shared, pure=False) if shared is not None else None
        self.name = f"dask {self.client.scheduler.address}"
        threads = sum(w.get("nthreads", 1) for w in self.client.scheduler_info().get("workers", {}).values())
        self.slots = max(1, threads)
        # the client logs each failed reconnection to a scheduler that went away, with its
        # tracebacks, before the command's own line says so (ClusterLost): kept quiet while
        # this executor is open (set last: a refused connection leaves the logger as it was)
        self._client_log = logging.getLogger("distributed.client")
        self._client_log_level = self._client_log.level
        self._client_log.setLevel(logging.CRITICAL)

    def _submit(self, fn: Callable, item: Any) -> Any:
        return self.client.submit(_call_with, fn, self.obj, item, pure=False)

    def _next_done(self, pending: list) -> list:
        from distributed import wait
        while True:
            try:
                done = wait(pending, timeout=WORKERS_WATCH_S, return_when="FIRST_COMPLETED").done
            except TimeoutError:
                self._check_workers_left()
                continue
            except self.lost_errors as e:
                raise self._lost(e) from None
            self._no_workers_since = None
            return [f for f in pending if f in done]

    def _check_workers_left(self) -> None:
        """Raise :class:`ClusterLost` once the cluster has had no worker for
        :data:`WORKERS_GONE_S`: the scheduler would wait for one forever, and so would the
        command, saying nothing."""
        try:
            n = len(self.client.scheduler_info().get("workers", {}))
        except self.lost_errors as e:
            raise self._lost(e) from None
        if n:
            self._no_workers_since = None
            return
        now = time.monotonic()
        if self._no_workers_since is None:
            self._no_workers_since = now
        elif now - self._no_workers_since >= WORKERS_GONE_S:
            raise ClusterLost(f"the Dask cluster at {self.address} has had no worker for {WORKERS_GONE_S} s (every "
                              "worker went away)")

    def _result(self, fut: Any) -> Any:
        try:
            return fut.result()
        except self.lost_errors as e:
            raise self._lost(e) from None

    def _lost(self, e: BaseException) -> ClusterLost:
        return ClusterLost(f"lost the Dask cluster at {self.address} ({type(e).__name__}: the scheduler or every "
                           "worker holding the work went away)")

    def close(self, cancel: bool = False) -> None:
        try:
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()
        finally:
            self._client_log.setLevel(self._client_log_level)


def check_count(name: str, value: Any, low: int = 1, high: int | None = None, none_ok: bool = False) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is a whole number within ``low`` ..
    ``high`` (or None where ``none_ok``): what the command line's options allow, for the
    Python API's arguments (0 workers, 1.5 replicates, '2' are refused, not rounded)."""
    if value is None and none_ok:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low \
            or (high is not None and value > high):
        allowed = f"a whole number from {low:,}" + (f" to {high:,}" if high is not None else " up")
        raise ValueError(f"{name}: given {value!r}; allowed: {allowed}" + (", or None" if none_ok else ""))


def open_executor(workers: int | None = 1, scheduler: str | None = None, shared: Any = None,
                  tasks: int | None = None) -> _Executor:
    """The executor for ``workers`` processes, or for a Dask ``scheduler`` ("local" or an
    address). ``tasks``, when known, caps the number of local processes (no idle ones)."""
    check_count("workers", workers, 1, MAX_WORKERS, none_ok=True)
    workers = int(workers if workers is not None else (os.cpu_count() or 1))
    if scheduler is not None:
        return DaskExecutor(scheduler, workers, shared)
    if tasks is not None:
        workers = min(workers, max(1, tasks))
    return ProcessExecutor(workers, shared) if workers > 1 else SerialExecutor(shared)


def batch_size(n_items: int, slots: int, most: int = 16) -> int:
    """Items per task for ``n_items`` on ``slots`` workers: a few tasks per worker and at most
    ``most`` items per task, so progress shows, a task's start-up is shared by many items
    and the tasks (a sweep's part files) stay few."""
    return max(1, min(most, n_items // (4 * slots) or 1))


def batches(items: Iterable, size: int) -> Iterator[list]:
    """``items`` in lists of ``size`` (the last may be shorter), read lazily."""
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def stop_inside(error: BaseException) -> BaseException | None:
    """The SystemExit or KeyboardInterrupt (SIGTERM's :class:`Terminated` included) an error
    was raised while handling, if any: a stop that lands inside a compiled (numba) loop comes
    back as a SystemError caused by it."""
    seen = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, (SystemExit, KeyboardInterrupt)):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that a command stops as it does on Ctrl-C."""


# A SIGTERM once taken stays taken: Python drops an exception raised in a signal handler
# while a clean-up callback runs (a weakref's, a __del__), and the command would go on to
# write its output; what writes outputs asks this before it starts and before it swaps in.
_terminated = False
# Ctrl-C likewise, where a command asks for it (:func:`interrupt_kept`)
_interrupted = False


def note_terminated() -> bool:
    """Remember that SIGTERM came; True the first time."""
    global _terminated
    first, _terminated = not _terminated, True
    return first


def was_terminated() -> bool:
    """Whether SIGTERM came during this command."""
    return _terminated


def forget_terminated() -> None:
    """A command begins or ends (several run in one process under tests or a notebook)."""
    global _terminated, _interrupted
    _terminated = _interrupted = False



def was_interrupted() -> bool:
    """Whether Ctrl-C came during a block under :func:`interrupt_kept`."""
    return _interrupted


@contextlib.contextmanager
def interrupt_kept():
    """While the block runs, Ctrl-C is remembered as well as raised: Python drops a
    KeyboardInterrupt raised while a weakref callback or ``__del__`` runs, and the command
    would go on to write its output. What writes outputs asks :func:`was_interrupted` before
    it starts and before it swaps in; a loop can ask it too. Not for sweeps, which keep what
    is finished on Ctrl-C."""
    import signal

    def handler(signum, frame):
        global _interrupted
        _interrupted = True
        raise KeyboardInterrupt

    def unraisable(report):
        # an object half-built when the interrupt came can fail again as it is collected (a
        # library's __del__): noise of the interrupt itself, not a fault to show the user
        if not _interrupted:
            previous_hook(report)

    installed = False
    try:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:   # else the caller's own: leave it
            old = signal.signal(signal.SIGINT, handler)
            installed = True
    except ValueError:          # not the main thread
        pass
    if not installed:
        # yielded outside the except clause: an error the block raises would otherwise be
        # chained to that ValueError, hiding the stop it carries (executor.stop_inside)
        yield
        return
    previous_hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if not _interrupted:    # else the objects the interrupt broke are still to be collected
            sys.unraisablehook = previous_hook


@contextlib.contextmanager
def sigterm_as_interrupt():
    """While the block runs, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt):
    finished work is kept, workers are stopped, and a sweep can be resumed."""
    import signal

    def handler(signum, frame):
        raise Terminated()

    installed = False
    try:
        old = signal.signal(signal.SIGTERM, handler)
        installed = True
    except ValueError:          # not the main thread: leave SIGTERM as it is
        pass
    if not installed:
        # yielded outside the except clause: an error the block raises would otherwise be
        # chained to that ValueError, hiding the stop it carries
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)

"""Run a solve in the PETSc build it needs when this process has loaded the other one.

One process can load one PETSc build only (:mod:`lindring.solvers.petsc`): the real one for the
Pauli basis, the complex one for the matrix units. ``lindring solve`` loads the build of its
operator basis before PETSc starts, so a point runs in its own process; a process that has already
loaded the other build (the complex fallback after a failed Pauli solve, or a Python session
that solves in both bases) calls :func:`call_in_build`: a child MPI world of as many ranks as
this one (``MPI_Comm_spawn``, this module as its program) loads the build, initialises PETSc with
the same options, calls the function and sends back its result or its exception. The parent
ranks wait without spinning (polling every 20 ms), so the child has the cores; the child world is
therefore allowed to oversubscribe them (:data:`SPAWN_INFO`): Open MPI counts the slots of a
finished child world as taken, so without it the second child of a session on a 2-core machine
(or the first one under ``mpiexec -n 2``) could not start.
"""
from __future__ import annotations

import importlib
import logging
import pickle
import resource
import sys
import time

from lindring.core.diagnostics import get_logger

log = get_logger(__name__)

#: tag of the child's answer
_ANSWER = 17
#: MPI_Info of the spawn: Open MPI's ``map_by`` modifier that lets the child world share the
#: cores of its waiting parent (without it, a second child on a 2-core machine fails with
#: MPI_ERR_SPAWN unless ``OMPI_MCA_rmaps_base_oversubscribe=1`` is exported); other MPI
#: libraries ignore the key
SPAWN_INFO = {"map_by": ":OVERSUBSCRIBE"}
#: peak resident memory (MB, largest rank) of the child worlds this process ran, for the file
_child_peak_mb = [0.0]


def child_peak_mb() -> float:
    """The largest peak resident memory (MB, per rank) of a child world this process ran."""
    return _child_peak_mb[0]


def _wait_all(comm) -> None:
    """A barrier of ``comm`` polled every 20 ms, so that a waiting rank leaves its core to the
    child (MPI's blocking calls spin)."""
    request = comm.Ibarrier()
    while not request.Test():
        time.sleep(0.02)


def call_in_build(scalar: str, function: str, *args, **kwargs):
    """``module.function(*args, **kwargs)`` computed in a child MPI world with the PETSc build of
    ``scalar`` scalars. Collective; every rank gets the result.

    Parameters
    ----------
    scalar : {"real", "complex"}
    function : str
        ``"package.module:name"``, importable in the child.
    *args, **kwargs
        Picklable arguments.

    Returns
    -------
    The function's result (picklable).

    Raises
    ------
    Whatever the function raised in the child (its exception, unpickled).
    """
    from mpi4py import MPI
    from lindring.solvers.petsc import initial_options
    comm = MPI.COMM_WORLD
    t0 = time.time()
    logger = logging.getLogger("lindring")
    level = logger.getEffectiveLevel()
    handler = any(getattr(h, "lindring", False) for h in logger.handlers)
    log.info(f"[build] solving in the {scalar}-scalar PETSc build in a child MPI world of "
             f"{comm.Get_size()} rank(s) (this process has the other build loaded)")
    info = MPI.Info.Create()
    for key, value in SPAWN_INFO.items():
        info.Set(key, value)
    try:
        child = comm.Spawn(sys.executable, args=["-m", __name__], maxprocs=comm.Get_size(),
                           info=info, root=0)
    except MPI.Exception as err:
        from lindring.solvers.steady import SolverError
        raise SolverError(f"could not start a child MPI world of {comm.Get_size()} rank(s) with "
                          f"the {scalar}-scalar PETSc build ({err}): this process has the other "
                          "build loaded; solve this point in a new process (e.g. lindring solve "
                          "... --basis ...)") from None
    finally:
        info.Free()
    try:
        payload = pickle.dumps((scalar, initial_options() or [], level, handler, function, args,
                                kwargs))
        child.bcast(payload, root=MPI.ROOT if comm.Get_rank() == 0 else MPI.PROC_NULL)
        answer = None
        if comm.Get_rank() == 0:
            while not child.Iprobe(source=0, tag=_ANSWER):
                time.sleep(0.02)
            answer = child.recv(source=0, tag=_ANSWER)
        _wait_all(comm)
        ok, value, peak_mb = pickle.loads(comm.bcast(answer, root=0))
    finally:
        child.Disconnect()
    _child_peak_mb[0] = max(_child_peak_mb[0], peak_mb)
    log.info(f"[build] child world done in {time.time() - t0:.1f}s")
    if not ok:
        raise value
    return value


def _child() -> None:
    """The child world's program: receive, initialise the build, call, answer."""
    from mpi4py import MPI
    parent = MPI.Comm.Get_parent()
    scalar, petsc_args, level, handler, function, args, kwargs = pickle.loads(
        parent.bcast(None, root=0))
    if handler:        # the parent shows diagnostics on stderr: so does the child (rank 0)
        importlib.import_module("lindring.api").log_to_stderr(level)
    else:
        logging.getLogger("lindring").setLevel(level)
    from lindring.solvers.petsc import init
    init(petsc_args, scalar=scalar)
    module, name = function.split(":")
    try:
        answer = (True, getattr(importlib.import_module(module), name)(*args, **kwargs))
    except Exception as err:        # sent to the parent, which raises it
        answer = (False, err)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak = MPI.COMM_WORLD.allreduce(peak, op=MPI.MAX)
    if MPI.COMM_WORLD.Get_rank() == 0:
        try:
            message = pickle.dumps(answer + (peak,))
        except Exception as err:    # an unpicklable result or exception: its text
            message = pickle.dumps((False, RuntimeError(f"{type(err).__name__}: {err}; "
                                                        f"{answer[1]!r}"), peak))
        parent.send(message, dest=0, tag=_ANSWER)
    parent.Disconnect()


if __name__ == "__main__":
    _child()

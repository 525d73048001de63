"""lindring's diagnostics: loggers whose records exist on MPI rank 0 only.

Every module logs through :func:`get_logger` (a logger under ``lindring.*``). Its filter drops
records on MPI ranks other than 0 before any handler sees them, so a warning is printed once
under ``mpiexec`` whether or not a handler was installed (:func:`lindring.log_to_stderr`; without
one, Python's last-resort handler prints warnings, from rank 0 only). Warnings are logged, never
also raised as :class:`UserWarning` (which would print them a second time).
"""
from __future__ import annotations

import logging
import os
import sys


def mpi_rank() -> int:
    """This process's MPI rank (0 outside MPI), without starting MPI: mpi4py's if it is
    initialised, else the launcher's environment (OpenMPI, MPICH/Hydra, PMIx)."""
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized():
        return mpi.COMM_WORLD.Get_rank()
    for var in ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"):
        if var in os.environ:
            try:
                return int(os.environ[var])
            except ValueError:
                pass
    return 0


def rank_zero(record: logging.LogRecord) -> bool:
    """Logging filter: keep a record on MPI rank 0 only."""
    return mpi_rank() == 0


def get_logger(name: str) -> logging.Logger:
    """The logger ``name`` (a ``lindring.*`` module), with the rank-0 filter."""
    logger = logging.getLogger(name)
    if rank_zero not in logger.filters:
        logger.addFilter(rank_zero)
    return logger

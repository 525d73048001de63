"""lindring: steady states of driven-dissipative spin chains with non-local dissipation.

The library's entry points (:mod:`lindring.api`): :func:`solve`, :func:`plan`, :func:`gather`, :func:`run_study`,
:func:`scaling`, :func:`show`, :func:`versions` and :func:`log_to_stderr`; the errors they raise:
:class:`ModelError` (bad input, a ``ValueError``), :class:`SolverError` (a solver failed),
:class:`VerificationError` (a steady state failed its checks). The options they take are declared
once in :mod:`lindring.core.options`.

Layers, each importing only those below it (checked by import-linter, ``make test``)::

    lindring.cli        the command line
    lindring.api        solve, plan, gather, run_study, scaling
    lindring.report     figures and captions
    lindring.analysis   finite-size scaling
    lindring.workflow   studies, plans, gather, mean-field maps
    lindring.io         the output schema and NetCDF files
    lindring.solvers    ED (PETSc/SLEPc), mean field, ground state, MPO
    lindring.core       model, bases, observables, option registry (numpy/scipy only)
"""
from lindring.version import __version__
from lindring.api import gather, log_to_stderr, plan, run_study, scaling, show, solve, versions
from lindring.core.model import ModelError
from lindring.solvers.methods import VerificationError
from lindring.solvers.steady import SolverError

__all__ = ["solve", "plan", "gather", "run_study", "scaling", "show", "versions", "log_to_stderr",
           "ModelError", "SolverError", "VerificationError", "__version__"]

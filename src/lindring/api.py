"""lindring as a library: :func:`solve`, :func:`plan`, :func:`gather` and :func:`scaling`.

    >>> import lindring
    >>> ds = lindring.solve("ed", L=4, preset="minimal", alpha=2, delta=1.5)
    >>> float(ds.current_eta.mean())

:func:`solve` returns the :class:`xarray.Dataset` that ``lindring solve`` writes for the same point
(variables, dimensions and attributes; the command line is a thin layer over it). Options are
those of :mod:`lindring.core.options`, physical parameters those of :mod:`lindring.core.model`. Under
``mpiexec`` :func:`solve` is collective and every rank gets the dataset.

Errors: bad input raises :class:`lindring.core.model.ModelError` (a ``ValueError``; the command line's
exit status 2) before any compute, an unknown keyword ``TypeError``; a solver that fails raises
:class:`lindring.solvers.steady.SolverError` (status 3), a steady state that fails its checks
:class:`lindring.solvers.methods.VerificationError` (status 4). Nothing is written then.
"""
from __future__ import annotations

import logging
import math
import os
import resource
import sys
import time
from collections.abc import Mapping, Sequence

from lindring.core import model, options as registry
from lindring.core.diagnostics import get_logger, rank_zero

log = get_logger(__name__)


class _Diagnostics(logging.Formatter):
    """lindring's progress lines as they are; warnings prefixed ``WARNING:``."""

    def format(self, record):
        msg = record.getMessage()
        return f"WARNING: {msg}" if record.levelno >= logging.WARNING else msg


#: the levels :func:`log_to_stderr` takes, by name (any case)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_level(level) -> int:
    """A logging level from a name of :data:`LOG_LEVELS` (any case) or a level number."""
    if isinstance(level, str) and level.strip().upper() in LOG_LEVELS:
        return logging.getLevelName(level.strip().upper())
    if isinstance(level, int) and not isinstance(level, bool) and level >= 0:
        return level
    raise ValueError(f"log_to_stderr: level must be one of {', '.join(LOG_LEVELS)} (any case) "
                     f"or a logging level number, got {level!r}")


def log_to_stderr(level="INFO") -> None:
    """Show lindring's diagnostics (progress, warnings) on stderr, from MPI rank 0 only.

    The command line calls it (``--quiet``: WARNING, ``--verbose``: DEBUG); in a notebook,
    ``lindring.log_to_stderr()`` shows the progress lines, which are otherwise silent
    (warnings reach Python's last-resort handler, on rank 0 only). Calling it again only changes
    the level: there is never more than one handler, so no line is printed twice.

    Parameters
    ----------
    level : str or int
        A :mod:`logging` level: ``"debug"``, ``"info"``, ``"warning"``, ``"error"`` (any case)
        or a level number such as ``logging.DEBUG``.

    Raises
    ------
    ValueError
        An unknown level (named); the handler and level are left as they were.
    """
    number = _log_level(level)
    logger = get_logger("lindring")
    if not any(getattr(h, "lindring", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.lindring = True
        handler.setFormatter(_Diagnostics())
        handler.addFilter(rank_zero)
        logger.addHandler(handler)
    logger.setLevel(number)
    logger.propagate = False


def _split_keywords(function: str, values: dict) -> tuple[dict, dict]:
    """Physical parameters and options from keyword arguments; ``TypeError`` for others."""
    unknown = sorted(k for k in values if k not in model.PHYSICAL_PARAMS and k not in registry.OPTIONS)
    if unknown:
        raise TypeError(f"{function}() got unexpected keyword argument(s) {', '.join(unknown)} "
                        f"(parameters: {', '.join(model.PHYSICAL_PARAMS)}; options: "
                        f"{', '.join(registry.OPTIONS)})")
    params = {k: v for k, v in values.items() if k in model.PHYSICAL_PARAMS}
    opts = {k: v for k, v in values.items() if k in registry.OPTIONS}
    return params, opts


def model_point(method: str, L: int, bc: str, model_file, values: dict | None = None,
                preset: str | None = None, range: int | None = None, params: dict | None = None):
    """A point of a model file (:mod:`lindring.core.modelfile`), checked before any compute.

    Parameters
    ----------
    method : str
        ``ed`` or ``mpo`` (open chains with nearest-neighbour terms) take a model file.
    L, bc
        The chain.
    model_file : str or path
        The YAML model file.
    values : dict, optional
        The model's parameters (numbers or the text of real or complex literals).
    preset, range, params
        The paper's own parameters: refused with a model file (the file has its own).

    Returns
    -------
    lindring.core.modelfile.ModelPoint

    Raises
    ------
    lindring.core.model.ModelError
        An invalid file, an unknown parameter or value, the paper's options, a model without
        jump operators, another method.
    TypeError
        ``values`` that is not a mapping (e.g. the text ``"w=0.2"``).
    """
    from lindring.core import modelfile
    if method not in ("ed", "mpo"):
        raise model.ModelError(f"a model file runs with --method ed or mpo (not {method!r})")
    if values is not None and not isinstance(values, Mapping):
        raise TypeError(f"parameters must be a mapping of the model's parameter names to "
                        f"values, e.g. {{'w': 0.2}}, not {type(values).__name__} {values!r}")
    given = sorted(k for k, v in (params or {}).items() if v is not None)
    if given or preset is not None or range not in (None, 1):
        what = ", ".join([f"--{k.replace('_', '-')}" for k in given]
                         + (["--preset"] if preset is not None else [])
                         + (["--range"] if range not in (None, 1) else []))
        raise model.ModelError(f"{what}: the paper's parameters do not apply to a model file; "
                               "set the model's own parameters with --set NAME=VALUE "
                               "(parameters={...} in Python)")
    point = modelfile.build(modelfile.load(model_file), L, bc, values or {})
    if not point.has_jumps():
        raise model.ModelError(f"{point.file.label}: model {point.file.name}: no jump operator "
                               "acts at these parameters: every function of H is stationary, so "
                               "the steady state is not unique")
    return point


def check_point(method: str, L: int, bc: str = "ring", preset: str | None = None, range: int = 1,
                params: dict | None = None, options: dict | None = None, model_file=None,
                model_values: dict | None = None, fits=None):
    """The point and every option of ``method``, checked as :func:`solve` and :func:`plan`
    check them (one path: :func:`lindring.solvers.methods.check_point`), without compute.

    ``model_file`` (with ``model_values``, the model's parameters) takes the model from a
    model file instead of the paper's parameters (:func:`model_point`); ``fits`` is the
    memory check that :func:`lindring.solvers.methods.check_point` makes before its work per
    site (``mpo``).

    Returns
    -------
    (lindring.core.model.Params or lindring.core.modelfile.ModelPoint, dict)
        The parameters and every option of ``method`` (defaults filled in).

    Raises
    ------
    lindring.core.model.ModelError
        Naming the parameter or option at fault.
    """
    from lindring.solvers.methods import check_point as check_method_point
    values = registry.resolve(method, options or {})
    if model_file is not None:       # a model file (its own parameters: model_values)
        p = model_point(method, L, bc, model_file, model_values, preset, range, params)
    else:
        if model_values:
            raise model.ModelError(f"--set {', '.join(model_values)}: parameters of a model file "
                                   "need --model FILE")
        p = model.make_params(L, bc=bc, preset=preset, range=1 if range is None else range,
                              **(params or {}))
    check_method_point(method, p, values, fits)
    return p, values


def prepare(method: str, L: int, bc: str = "ring", preset: str | None = None, range: int = 1,
            params: dict | None = None, options: dict | None = None,
            petsc_options: Sequence[str] = (), output=None, force: bool = False,
            model_file=None, model_values: dict | None = None, warm=None):
    """Check a point, its options and its output before any compute (collective under MPI):
    :func:`check_point` (a model file with ``model_file``, ``model_values``), then the output,
    the warm start (``warm``: :func:`check_warm_start`), the PETSc options and the memory.

    Returns ``(params, options)`` as :func:`check_point`; raises
    :class:`lindring.core.model.ModelError` naming the parameter, option or output at fault,
    also when an ``ed`` or ``mpo`` point does not fit the memory here (unless ``force``), and
    ``TypeError`` for ``petsc_options`` given as one string.
    """
    if force and method not in ("ed", "mpo"):
        raise model.ModelError(f"not an option of --method {method}: --force (an option of "
                               "--method ed / mpo)")
    if isinstance(petsc_options, (str, bytes)):
        raise TypeError(f"petsc_options must be a sequence of words such as ['-ksp_type', "
                        f"'gmres'], not the string {petsc_options!r}")
    petsc_options = list(petsc_options)
    if petsc_options and method != "ed":
        raise model.ModelError(f"PETSc options {' '.join(petsc_options)} only apply to --method ed")
    # an mpo point's memory is known from L and chi alone: decided before the checks that visit
    # every bond (a chain too long for this machine is refused at once, whatever its length)
    early = method == "mpo" and not force
    p, values = check_point(method, L, bc, preset, range, params, options, model_file,
                            model_values, fits=_refuse_if_too_large_for(method) if early else None)
    if output is not None:
        check_output_path(output)
    check_warm_start(method, p, values, warm, output)
    if method == "ed":
        from lindring.solvers.methods import petsc_scalar
        from lindring.solvers.petsc import initial_options
        from lindring.solvers.petsc_options import check_petsc_options
        before = initial_options()
        if before is not None and before != petsc_options:
            raise model.ModelError(
                f"PETSc options {' '.join(petsc_options) or '(none)'} differ from those this "
                f"process initialised PETSc with ({' '.join(before) or 'none'}); PETSc reads its "
                "options once per process: run this point in a new process (or give the same "
                "options)")
        check_petsc_options(petsc_options, scalar=petsc_scalar(values["basis"]))
    if method == "ed" and not force:
        _refuse_if_too_large(method, p, values)
    return p, values


def warm_start(initial_guess=None, fallback: bool = False, save_state=None):
    """The :class:`lindring.io.state.WarmStart` of ``--initial-guess``,
    ``--initial-guess-fallback`` and ``--save-state`` (``None`` when none is given)."""
    if initial_guess is None and save_state is None and not fallback:
        return None
    from lindring.io.state import WarmStart
    return WarmStart(path=None if initial_guess is None else os.fspath(initial_guess),
                     fallback=bool(fallback),
                     save=None if save_state is None else os.fspath(save_state))


def check_warm_start(method: str, p, values: dict, warm, output=None) -> None:
    """Refuse, before any compute, a warm start that cannot work (collective under MPI).

    ``--initial-guess`` and ``--save-state`` are options of ``ed``; the state file to save
    must be writable and not the output; the fallback needs a guess. A guess without the
    fallback must be a state file (:func:`lindring.io.state.read_header`) of the same L,
    boundary, operator basis (``auto``: pauli) and symmetry sector as this solve; its rows and
    basis fingerprint are checked once the sector is built (before assembly). With the
    fallback, every problem becomes a warning and a cold start, at compute.

    Raises
    ------
    lindring.core.model.ModelError
        Naming the option and the problem.
    """
    if warm is None:
        return
    if method != "ed":
        given = [flag for flag, on in (("--initial-guess", warm.path is not None),
                                       ("--initial-guess-fallback", warm.fallback),
                                       ("--save-state", warm.save is not None)) if on]
        raise model.ModelError(f"not an option of --method {method}: {', '.join(given)} "
                               f"({'an option' if len(given) == 1 else 'options'} of --method ed)")
    if warm.fallback and warm.path is None:
        raise model.ModelError("--initial-guess-fallback needs --initial-guess FILE")
    if warm.save is not None:
        check_output_path(warm.save, "--save-state")
        if output is not None and os.path.abspath(warm.save) == os.path.abspath(os.fspath(output)):
            raise model.ModelError(f"--save-state {warm.save} is the output file; give the state "
                                   "its own file (e.g. point.state.nc)")
    if warm.path is None or warm.fallback:
        return
    from mpi4py import MPI
    from lindring.core.basis import resolve_symmetry
    from lindring.io import state as state_io
    from lindring.solvers.methods import resolve_operator_basis
    comm = MPI.COMM_WORLD
    error = None
    if comm.Get_rank() == 0:
        try:
            header = state_io.read_header(warm.path)
            state_io.check_header(header, dict(
                L=p.L, bc=p.bc, operator_basis=resolve_operator_basis(values["basis"]),
                symmetry=resolve_symmetry(p, values["symmetry"])))
        except state_io.StateError as err:
            error = str(err)
    error = comm.bcast(error, root=0)
    if error:
        raise model.ModelError(f"--initial-guess: {error}")


def check_output_path(path, option: str = "--output") -> None:
    """Refuse, before any compute, an output path that cannot be written.

    Refused: an empty name, ``-`` (standard output: a NetCDF file is binary, give a file name),
    a folder, a path under a file, and a folder that cannot be written. Writability is tried,
    not inferred from permission bits (root passes ``os.access`` on ``/proc``): a temporary file
    is created in the nearest existing folder and removed at once. A missing folder is fine (it
    is created when the result is written); nothing is left behind.

    Parameters
    ----------
    path : str or path-like
    option : str
        The option that gave the path, named in the messages (``--output``, ``--save-state``).

    Raises
    ------
    lindring.core.model.ModelError
        Naming the option, the output and the reason.
    """
    text = os.fspath(path)
    if not isinstance(text, str):
        text = os.fsdecode(text)
    if not text.strip():
        raise model.ModelError(f"{option} {text!r}: empty file name; give a file name (e.g. out.nc)")
    if text == "-":
        raise model.ModelError(f"{option} '-': writing to standard output is not supported (a NetCDF "
                               "file is binary); give a file name (e.g. out.nc)")
    if text.endswith(os.sep) or os.path.isdir(text):
        raise model.ModelError(f"{option} {text!r} is a folder; give a file name (e.g. out.nc)")
    if os.path.exists(text) and not os.path.isfile(text):
        # /dev/null, /dev/stdout, a FIFO: an old output is removed before the compute and the
        # result renamed onto the path, which would delete or replace the device
        raise model.ModelError(f"{option} {text!r} exists and is not a regular file (a device, FIFO "
                               "or socket); give a file name (e.g. out.nc)")
    folder = os.path.dirname(os.path.abspath(text))
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise model.ModelError(f"{option} {text!r}: {folder} is a file, not a folder")
    import tempfile
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".lindring-write-test-"):
            pass
    except OSError as err:
        raise model.ModelError(f"{option} {text!r}: cannot write in folder {folder} "
                               f"({err.strerror or err})") from None


def _refuse_if_too_large(method: str, p: model.Params, values: dict) -> None:
    """ModelError when the plan of this ``ed`` or ``mpo`` point does not fit the memory
    available to the job. Collective."""
    from mpi4py import MPI
    from lindring.workflow.plan import (available_memory_mb, check_fits, dense_bound_mb,
                                        plan_point)
    available = available_memory_mb()
    if method == "ed" and dense_bound_mb(p.L, MPI.COMM_WORLD.Get_size()) <= available:
        return                           # small: fits whatever the plan's details
    # the memory of this job's own ranks (each holds the basis and start-up: memory in all
    # grows with the ranks); the plan of lindring plan and of the workflow's jobs
    plan_ = plan_point(method, p, values, ranks=MPI.COMM_WORLD.Get_size())
    reason = check_fits(plan_, MPI.COMM_WORLD.Get_size(), available)
    if reason:
        raise model.ModelError(reason)


def _refuse_if_too_large_for(method: str):
    """:func:`_refuse_if_too_large` of ``method`` as the ``fits(p, values)`` check of
    :func:`check_point`."""
    return lambda p, values: _refuse_if_too_large(method, p, values)


def clear_output(output) -> None:
    """Remove an old file at ``output`` (rank 0) before a compute: a failed rerun must not leave
    an old file that looks like its result."""
    from mpi4py import MPI
    if output is not None and MPI.COMM_WORLD.Get_rank() == 0 and os.path.isfile(output):
        os.unlink(output)


def clear_outputs(output, warm=None) -> None:
    """:func:`clear_output` of ``output`` and of the state file ``warm`` saves to (unless it is
    also the guess it starts from): a run that saves no state (not unique, not verified) must
    not leave another point's state there."""
    clear_output(output)
    if warm is not None and warm.save is not None and (
            warm.path is None or os.path.abspath(warm.save) != os.path.abspath(warm.path)):
        clear_output(warm.save)


def method_arguments(method: str, values: dict) -> dict:
    """The keyword arguments of :func:`lindring.solvers.methods.run_method` from the options."""
    if method == "ed":
        from lindring.solvers.methods import Thresholds
        from lindring.solvers.steady import Tolerances
        return dict(solver=values["solver"], gap=values["gap"], gap_sectors=values["gap_sectors"],
                    check_unique=values["check_unique"],
                    symmetry=values["symmetry"], basis=values["basis"],
                    preconditioner=values["preconditioner"],
                    tol=Tolerances(rtol=values["rtol"], max_it=values["max_it"]),
                    thresholds=Thresholds(values["max_residual"], values["max_trace_error"],
                                          values["max_hermiticity_error"], values["positivity_tol"],
                                          values["max_error_estimate"]))
    if method == "mpo":
        from lindring.solvers.mpo import MPOThresholds
        return dict(chi=values["chi"], dt=values["dt"], order=values["order"], tol=values["mpo_tol"],
                    t_max=values["t_max"], cutoff=values["cutoff"],
                    max_sweeps=values["refine_sweeps"], check_unique=bool(values["check_unique"]),
                    thresholds=MPOThresholds(residual=values["mpo_max_residual"],
                                             trace=values["max_trace_error"],
                                             hermiticity=values["mpo_max_hermiticity_error"],
                                             bounds=values["mpo_bound_tol"],
                                             agreement=values["mpo_agreement"]))
    return {}


def compute(method: str, p: model.Params, values: dict, petsc_options: Sequence[str] = (),
            warm=None):
    """Compute a prepared point (:func:`prepare`) and return its dataset, on every rank
    (``warm``: the warm start of an ``ed`` point, :func:`warm_start`).

    Raises
    ------
    lindring.core.model.ModelError, lindring.solvers.steady.SolverError, lindring.solvers.methods.VerificationError
    """
    from mpi4py import MPI
    from lindring.solvers.methods import run_method
    from lindring.io.results import build_dataset
    if method == "ed":
        from lindring.solvers.methods import petsc_scalar
        from lindring.solvers.petsc import init
        init(list(petsc_options), scalar=petsc_scalar(values["basis"]))
    comm = MPI.COMM_WORLD
    t0 = time.time()
    extra = {"warm": warm} if warm is not None else {}
    data_vars, attrs = run_method(method, p, **method_arguments(method, values), **extra)
    from lindring.solvers.builds import child_peak_mb     # a solve in a child world (builds.py)
    peak_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, child_peak_mb())
    attrs.update(wall_seconds=time.time() - t0, mpi_ranks=comm.Get_size(),
                 peak_memory_mb_max_rank=comm.allreduce(peak_mb, op=MPI.MAX),
                 peak_memory_mb_total=comm.allreduce(peak_mb, op=MPI.SUM),
                 petsc_options=" ".join(petsc_options) or "none",
                 options=registry.options_attr(method, values))
    from lindring.solvers.petsc import versions       # provenance: the stack that computed it
    stack = versions(petsc=method == "ed")
    attrs.update(mpi_library=stack["MPI"], **({"petsc_version": stack["PETSc"],
                                               "slepc_version": stack["SLEPc"]}
                                              if method == "ed" else {}))
    return build_dataset(p, method, data_vars, attrs)


def solve(method: str = "ed", *, L: int, bc: str = "ring", preset: str | None = None,
          range: int = 1, output=None, petsc_options: Sequence[str] = (), force: bool = False,
          model=None, parameters: dict | None = None, initial_guess=None,
          initial_guess_fallback: bool = False, save_state=None, **values):
    """The steady state (or ground state, or mean field) of one point, as a dataset.

    Parameters
    ----------
    method : {"ed", "cmf", "ground", "mpo"}
        Exact diagonalisation of the Liouvillian (PETSc/SLEPc), the 2-site cluster mean field,
        the Hamiltonian's ground state, or the MPO steady state (open chains).
    L : int
        Number of sites.
    bc : {"ring", "open"}
    preset : {"minimal", None}
        ``minimal``: the model of the paper's Sec. IV (only the non-local jump of Eq. (4) and
        the hopping; see ``../shared/MODEL.md``).
    range : {1, 2}
        Range of the dissipative pair (b, b + range).
    output : str or path, optional
        Also write the dataset there (NetCDF, atomically, by rank 0).
    petsc_options : sequence of str
        PETSc/SLEPc options for ``ed`` (``["-ksp_type", "bcgs"]``); read when PETSc is first
        initialised in the process.
    force : bool
        ``ed``, ``mpo``: run even when the plan says the point does not fit the memory here.
    model : str or path, optional
        A model file (``models/boundary_driven_xxz.yaml``; format in
        :mod:`lindring.core.modelfile`) instead of the paper's model; ``ed`` only. Its
        observables are written as variables of their own, with ``sz`` and the purities.
    parameters : dict, optional
        The model file's parameters (``{"Delta": 0.5, "drive": "0.2"}``: numbers or the text of
        real or complex literals); the others take the file's defaults.
    initial_guess : str or path, optional
        ``ed``: a state file (``save_state`` of another point in the same space: L, boundary,
        operator basis, sector) to start the iterative solve from. The result is the same to
        the solver's tolerance; only the iterations change (attributes ``initial_guess``,
        ``initial_guess_residual``). A guess that does not fit raises ``ModelError``...
    initial_guess_fallback : bool
        ... unless this is set: then a warning and a cold start (``initial_guess_note``).
    save_state : str or path, optional
        ``ed``: write the verified steady state there (:mod:`lindring.io.state`).
    **values
        Physical parameters (``alpha=2, delta=1.5, mu=...``; complex ones as Python complex
        numbers or strings such as ``"1+0.5j"``) and options of :mod:`lindring.core.options`
        (``solver="iterative"``, ``chi=32``, ...), each with its documented default.

    Returns
    -------
    xarray.Dataset
        Variables with dims ``bond`` (L bonds on rings, L - 1 open), ``site`` (L) and, with
        range 2, ``pair``; attributes with parameters, options, verification and provenance:
        the file ``lindring solve`` writes.

    Raises
    ------
    TypeError
        A keyword that is neither a parameter nor an option (named).
    lindring.core.model.ModelError
        Bad input (a ``ValueError``), before any compute.
    lindring.solvers.steady.SolverError
        The solver failed or uniqueness could not be decided.
    lindring.solvers.methods.VerificationError
        The steady state failed its checks (residual, trace, Hermiticity, positivity, ...).
    """
    params, given = _split_keywords("solve", values)
    if parameters is not None and model is None:
        raise model_error("parameters={...} are the parameters of a model file: give model=FILE")
    warm = warm_start(initial_guess, initial_guess_fallback, save_state)
    p, opts = prepare(method, L, bc, preset, range, params, given, petsc_options, output, force,
                      model_file=model, model_values=parameters, warm=warm)
    clear_outputs(output, warm)
    ds = compute(method, p, opts, petsc_options, warm=warm)
    if output is not None:
        from mpi4py import MPI
        if MPI.COMM_WORLD.Get_rank() == 0:
            from lindring.io.results import write_atomic
            write_atomic(ds, output)
        MPI.COMM_WORLD.Barrier()
    return ds


def model_error(text: str):
    """Raise :class:`lindring.core.model.ModelError` (``solve``'s ``model`` argument shadows
    the module there)."""
    raise model.ModelError(text)


def plan(method: str = "ed", *, L: int, bc: str = "ring", preset: str | None = None,
         range: int = 1,
         mem_per_rank_mb: float = registry.PLAN_SETTINGS["mem_per_rank_mb"].default,
         max_tasks: int = registry.PLAN_SETTINGS["max_tasks"].default,
         model=None, parameters: dict | None = None, mem_per_node_mb: float | None = None,
         **values):
    """The resources of one job, as ``lindring plan`` prints them, and whether they fit.

    The point and its options are checked exactly as :func:`solve` checks them (the same
    function, before any compute): what :func:`solve` refuses, :func:`plan` refuses.

    Parameters
    ----------
    method : {"ed", "mpo"}
    L, bc, preset, range
        The point, as for :func:`solve`.
    mem_per_rank_mb : float
        Memory budget per MPI rank (MB).
    max_tasks : int
        Most MPI ranks a job may ask for.
    model : str or path, optional
        A model file instead of the paper's model, as for :func:`solve` (its symmetries and
        local terms then size the sector and the nonzeros).
    parameters : dict, optional
        The model file's parameters, as for :func:`solve`.
    mem_per_node_mb : float, optional
        Memory of one node of the cluster (MB): the plan then says how many of its ranks fit a
        node (``ranks_per_node``) and how many nodes the job needs (``nodes``); ``ed`` only.
    **values
        Physical parameters and options of ``method``, as for :func:`solve`; the plan uses
        ``solver`` and ``symmetry`` (``ed``) or ``chi`` (``mpo``).

    Returns
    -------
    lindring.workflow.plan.Plan
        ``rows``, ``nnz``, ``mem_mb_total``, ``tasks``, ``mem_mb``, ``runtime_min`` (``ed``), or
        the MPO plan; and whether it fits: ``fits_budget`` (each rank within
        ``mem_per_rank_mb``), ``fits_here`` (the whole job within the memory available on this
        machine, ``available_mb``) and ``problems`` (in words). A plan that does not fit is
        still returned (it is meant for a cluster as well); ``as_dict()`` gives the JSON of
        ``lindring plan --json``.

    Raises
    ------
    TypeError
        A keyword that is neither a parameter nor an option (named).
    lindring.core.model.ModelError
        What :func:`solve` refuses (naming it), or a method without a plan (``cmf``,
        ``ground``: one process, small).
    """
    from lindring.workflow.plan import assess, available_memory_mb, plan_point
    params, given = _split_keywords("plan", values)
    if method not in ("ed", "mpo"):
        model_error(f"plan: method must be ed or mpo, got {method!r} (cmf and ground run in one "
                    "small process)")
    mem_per_rank_mb = registry.PLAN_SETTINGS["mem_per_rank_mb"].check(mem_per_rank_mb)
    max_tasks = registry.PLAN_SETTINGS["max_tasks"].check(max_tasks)
    if parameters is not None and model is None:
        model_error("parameters={...} are the parameters of a model file: give model=FILE")
    p, opts = check_point(method, L, bc, preset, range, params, given, model_file=model,
                          model_values=parameters)
    if mem_per_node_mb is not None:
        mem_per_node_mb = _check_node_memory(mem_per_node_mb, mem_per_rank_mb)
    plan_ = plan_point(method, p, opts, mem_per_rank_mb=mem_per_rank_mb, max_tasks=max_tasks,
                       mem_per_node_mb=mem_per_node_mb)
    return assess(plan_, mem_per_rank_mb, max_tasks, available_memory_mb())


def _check_node_memory(value, mem_per_rank_mb: float) -> float:
    """``mem_per_node_mb`` as a float: finite, positive and at least one rank's budget;
    ModelError naming it otherwise."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        model_error(f"--mem-per-node-mb must be a number of MB, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        model_error(f"--mem-per-node-mb must be a positive number of MB, got {value:g}")
    if value >= registry.MAX_PLAN_MB:
        model_error(f"--mem-per-node-mb must be < {registry.MAX_PLAN_MB:g}, got {value:g}: "
                    "that is 10 petabytes per node; give MB, e.g. 256000")
    if value < mem_per_rank_mb:
        model_error(f"--mem-per-node-mb {value:g} is below --mem-per-rank-mb "
                    f"{mem_per_rank_mb:g}: a node must hold at least one rank")
    return value


def gather(study: str, configfile="config/config.yaml", output=None):
    """Merge the point files of one study of a workflow config into one dataset.

    Parameters
    ----------
    study : str
        Name of a study in the config.
    configfile : str or path
        The workflow config (checked as the workflow checks it: strict YAML, schema).
    output : str or path, optional
        Also write the gathered file there.

    Returns
    -------
    xarray.Dataset
        Variables along the study's axes (``L`` and the grid), missing points NaN, with
        ``points_present``, ``points_expected``, ``unchecked_points`` and the thresholds.

    Raises
    ------
    lindring.workflow.studies.StudyError, lindring.workflow.gather.GatherError, lindring.core.model.ModelError
    """
    from lindring.workflow.gather import gather as gather_study, write_gathered
    if output is not None:
        check_output_path(output)
    spec, jobs = _study_jobs(study, configfile)
    ds = gather_study(study, jobs, spec)
    if output is not None:
        write_gathered(ds, output)
    return ds


def _study_jobs(study: str, configfile) -> tuple[dict, list]:
    """The study ``study`` of the workflow config ``configfile`` (checked as the workflow
    checks it: strict YAML, schema, every study expanded) and its jobs. StudyError naming a
    study the config does not have."""
    from lindring.workflow.studies import StudyError, expand, load_config, validate_config
    cfg = validate_config(load_config(configfile))
    studies = cfg.get("studies") or {}
    if study not in studies:
        raise StudyError(f"no study {study!r} in {configfile} "
                         f"(studies: {', '.join(studies) or 'none'})")
    jobs = expand(dict(cfg, run=[study]))[study]
    expand(cfg)          # every study, as the workflow checks them
    return studies[study], jobs


def run_study(study, configfile="config/config.yaml", *, output=None):
    """A study of the workflow solved in this process, point after point, and merged as
    :func:`gather` merges the workflow's files: the same dataset (axes, variables, attributes).

    For studies of small points in a notebook: each ``lindring solve`` job of the workflow
    spends ~1.5 s starting Python, PETSc and xarray, a point at L <= 8 takes milliseconds here.
    Every point is checked before any is computed (as by the workflow), solved by
    :func:`prepare` and :func:`compute` as ``lindring solve`` solves it, written to a temporary
    folder in the workflow's layout and gathered from there. A point whose solve or
    verification fails is NaN, listed in ``missing_points`` and, with its error, in
    ``failed_points``. Warm starts (``warm_start``) are the workflow's: here every point starts
    cold (the results agree to the solver's tolerance). Collective under MPI (every rank solves
    every point with the others and gets the dataset).

    Parameters
    ----------
    study : str or mapping
        The name of a study of ``configfile``, or a study itself (what a config gives under
        ``studies.<name>``: ``methods``, ``bc``, ``L``, ``preset``, ``fixed``, ``grid``, ...;
        named ``study``).
    configfile : str or path
        The workflow config of a named study (checked as the workflow checks it).
    output : str or path, optional
        Also write the gathered file there.

    Returns
    -------
    xarray.Dataset
        As :func:`gather`'s, with ``computed`` (how) and ``failed_points``.

    Raises
    ------
    lindring.workflow.studies.StudyError
        A bad study (naming the key), before any point is computed.
    lindring.core.model.ModelError
        A point its method refuses, or one that does not fit the memory here.
    lindring.solvers.steady.SolverError
        Every point failed (each named with its error).
    """
    import tempfile
    from mpi4py import MPI
    from lindring.io.results import write_atomic
    from lindring.solvers.methods import VerificationError
    from lindring.solvers.steady import SolverError
    from lindring.workflow.gather import gather as gather_study, write_gathered
    from lindring.workflow.studies import expand, validate_config
    if output is not None:
        check_output_path(output)
    if isinstance(study, Mapping):
        name = "study"
        cfg = validate_config({"studies": {name: dict(study)}})
        spec, jobs = cfg["studies"][name], expand(dict(cfg, run=[name]))[name]
    elif isinstance(study, str):
        name = study
        spec, jobs = _study_jobs(name, configfile)
    else:
        raise TypeError(f"run_study() takes a study's name or the study as a mapping, not "
                        f"{type(study).__name__}")
    prepared = [(job, _prepare_job(job)) for job in jobs]     # every point checked first
    failed = []
    with tempfile.TemporaryDirectory(prefix="lindring-study-") as root:
        for i, (job, (p, values)) in enumerate(prepared, 1):
            what = f"{job.method}, {job.bc}, L = {job.L}, {job.point}"
            try:
                ds = compute(job.method, p, values)
            except (SolverError, VerificationError) as err:
                failed.append(f"{job.path}: {err}")
                log.warning(f"[study {name}] {i}/{len(jobs)} {what}: FAILED ({err}); NaN")
                continue
            write_atomic(ds, os.path.join(root, job.path))
            log.info(f"[study {name}] {i}/{len(jobs)} {what} ({ds.attrs['wall_seconds']:.2f}s)")
        if len(failed) == len(jobs):
            raise SolverError(f"study {name}: every point failed: " + "; ".join(failed[:5])
                              + (" ..." if len(failed) > 5 else ""))
        out = gather_study(name, jobs, spec, root=root)
    out.attrs.update(computed="in process (lindring.run_study)",
                     failed_points="; ".join(failed) or "none")
    if output is not None and MPI.COMM_WORLD.Get_rank() == 0:
        write_gathered(out, output)
    return out


def _prepare_job(job):
    """:func:`prepare` of a workflow job (:class:`lindring.workflow.studies.Job`): its point
    and options, as its ``lindring solve`` arguments give them."""
    if job.model is not None:
        return prepare(job.method, job.L, job.bc, job.preset, job.range, None, job.options(),
                       model_file=job.model, model_values=dict(job.params))
    return prepare(job.method, job.L, job.bc, job.preset, job.range, dict(job.params),
                   job.options())


def scaling(ring, open_chain=None, *, include_unchecked: bool = False):
    """Finite-size scaling of a gathered ring study (:func:`lindring.analysis.scaling.scaling_dataset`).

    Parameters
    ----------
    ring : xarray.Dataset or str or path
        A gathered ring study at one parameter point (:func:`gather`), or its file.
    open_chain : xarray.Dataset or path, or a sequence of them, optional
        Gathered open-chain studies (MPO and/or ED).
    include_unchecked : bool
        Keep sizes whose uniqueness was not decided (left out by default, and said so).

    Returns
    -------
    xarray.Dataset
        The scaling dataset the workflow writes to ``results/<study>_scaling.nc``.

    Raises
    ------
    TypeError
        ``ring`` (or an open chain) neither a dataset nor a path.
    ValueError
        No ``ed`` technique, a non-trivial grid axis, or fewer than 2 sizes of a parity.
    """
    from lindring.workflow.gather import open_gathered
    from lindring.analysis.scaling import scaling_dataset

    def load(x):
        if hasattr(x, "data_vars"):
            return x
        if not isinstance(x, (str, os.PathLike)):
            raise TypeError(f"scaling() takes a gathered dataset (lindring.gather) or the path of "
                            f"its file, not {type(x).__name__}")
        return open_gathered(x)
    if open_chain is not None:
        open_chain = ([load(x) for x in open_chain] if isinstance(open_chain, (list, tuple))
                      else load(open_chain))
    return scaling_dataset(load(ring), open_chain, include_unchecked=include_unchecked)


def versions() -> dict:
    """Versions of lindring (with its git commit), PETSc, SLEPc, MPI, mpi4py, numpy and Python,
    as text (PETSc and SLEPc are initialised for it)."""
    from lindring.io.results import git_commit
    from lindring.solvers.petsc import versions as stack
    out = stack()
    out = {"lindring": out.pop("lindring"), "git_commit": git_commit(), **out}
    return out


def show(path) -> str:
    """A readable summary of any lindring NetCDF file: a point file, a gathered study, a
    mean-field map or a finite-size scaling (what ``lindring show`` prints;
    :mod:`lindring.report.show`)."""
    from lindring.report.show import show_text
    return show_text(path)

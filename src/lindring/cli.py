"""Command line: ``lindring solve`` (one point, one file) and ``lindring plan`` (resources).

    lindring solve --method ed --bc ring --L 6 --preset minimal --alpha 2 --delta 1.5 -o out.nc
    mpiexec -n 4 lindring solve ... -ksp_type bcgs -log_view

Arguments with one dash (``-ksp_type gmres``, ``-eps_nev 6``, ``-log_view``) go to PETSc/SLEPc's
options database. Everything else is validated before any compute; bad input exits with status 2
and a message naming the problem, and writes nothing.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import resource
import sys
import time
import warnings

from . import model
from .basis import SYMMETRIES, resolve_symmetry

EXIT_BAD_INPUT, EXIT_SOLVER, EXIT_VERIFICATION = 2, 3, 4
_OWN_SHORT = {"-o", "-h"}
#: a negative number, real or complex (``-1e-05``, ``-2+0.5j``): a value, never an option
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"
                             r"(j|[-+](\d+\.?\d*|\.\d+)([eE][-+]?\d+)?j)?$")

#: defaults of the options of ``lindring solve`` (one place; the parser's defaults are None so
#: that an option the user gave can be told from one left out) and the methods each applies to
SOLVE_DEFAULTS = dict(solver="auto", symmetry="auto", rtol=1e-12, max_it=20000, gap=False,
                      check_unique=True, max_residual=1e-10, max_trace_error=1e-10,
                      max_hermiticity_error=1e-8, positivity_tol=1e-8, max_error_estimate=1e-5,
                      chi=64, dt=None, order=4, mpo_tol=1e-8, mpo_max_residual=1e-6,
                      mpo_max_hermiticity_error=1e-6, mpo_bound_tol=1e-6, mpo_agreement=1e-5,
                      refine_sweeps=12, t_max=200.0, cutoff=1e-12)
METHOD_OPTIONS = {
    "ed": ("solver", "symmetry", "rtol", "max_it", "gap", "check_unique", "max_residual",
           "max_trace_error", "max_hermiticity_error", "positivity_tol", "max_error_estimate"),
    "mpo": ("chi", "dt", "order", "mpo_tol", "mpo_max_residual", "mpo_max_hermiticity_error",
            "mpo_bound_tol", "mpo_agreement", "refine_sweeps", "t_max", "cutoff", "check_unique",
            "max_trace_error"),
    "cmf": (),
    "ground": (),
}
#: allowed range of each numeric option: (lowest, lowest allowed itself?)
_RANGES = dict(rtol=(0, False), max_residual=(0, False), max_trace_error=(0, False),
               max_hermiticity_error=(0, False), positivity_tol=(0, False), dt=(0, False),
               max_error_estimate=(0, False),
               mpo_tol=(0, False), t_max=(0, False), cutoff=(0, True), max_it=(1, True),
               mpo_max_residual=(0, False), mpo_max_hermiticity_error=(0, False),
               mpo_bound_tol=(0, False), mpo_agreement=(0, False), refine_sweeps=(0, True),
               chi=(1, True))


def _is_petsc_option(tok: str) -> bool:
    return (tok.startswith("-") and not tok.startswith("--") and tok not in _OWN_SHORT
            and len(tok) > 2 and tok[1].isalpha())


def split_petsc_options(argv: list[str]) -> tuple[list[str], list[str]]:
    """Separate PETSc-style options (one dash, e.g. ``-ksp_rtol 1e-12``) from lindring's own.

    A PETSc option takes the next word as its value unless that word is an option itself
    (``-ksp_converged_reason --gap`` keeps ``--gap`` for lindring); a negative number
    (``-ksp_atol -1``... or ``-1e-05``) is a value.

    Returns
    -------
    own, petsc : list of str
    """
    own, petsc = [], []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if _is_petsc_option(tok):
            petsc.append(tok)
            nxt = argv[i + 1] if i + 1 < len(argv) else None
            if nxt is not None and (not nxt.startswith("-") or NEGATIVE_NUMBER.match(nxt)):
                petsc.append(nxt)
                i += 1
        else:
            own.append(tok)
        i += 1
    return own, petsc


def _finite(kind):
    """argparse type: a finite number of ``kind`` (int or float); nan and inf are refused."""
    def parse(text):
        try:
            x = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}")
        if not math.isfinite(x):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        return x
    parse.__name__ = kind.__name__
    return parse


def _parser(*args, **kwargs) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(*args, **kwargs)
    # argparse takes '-1e-05' or '-2+0.5j' for an option name (it knows '-1' and '-.5' only)
    ap._negative_number_matcher = NEGATIVE_NUMBER
    return ap


def validate_solve_options(args, petsc_opts: list[str]) -> None:
    """Check the options of ``lindring solve`` before any compute, then fill in their defaults.

    Refuses an option given for a method it does not apply to (``--method ed --chi 8``), a value
    out of range, an output path that is a folder or cannot be written, and PETSc options for
    methods other than ``ed`` or that no solver reads (``-ksp_rtoll``) or PETSc refuses.
    Defaults come from :data:`SOLVE_DEFAULTS`.

    Raises
    ------
    lindring.model.ModelError
        Naming the option.
    """
    applies = METHOD_OPTIONS[args.method]
    wrong = [name for name in SOLVE_DEFAULTS if name not in applies and getattr(args, name) is not None]
    if wrong:
        flags = ", ".join("--" + n.replace("_", "-") for n in wrong)
        users = sorted({m for m, opts in METHOD_OPTIONS.items() for n in wrong if n in opts})
        raise model.ModelError(f"not an option of --method {args.method}: {flags} "
                               f"(an option of --method {' / '.join(users)})")
    if args.force and args.method != "ed":
        raise model.ModelError("not an option of --method " + args.method + ": --force "
                               "(an option of --method ed)")
    for name, (low, inclusive) in _RANGES.items():
        v = getattr(args, name)
        if v is not None and not (v >= low if inclusive else v > low):
            raise model.ModelError(f"--{name.replace('_', '-')} must be {'>=' if inclusive else '>'} "
                                   f"{low}, got {v}")
    for name, default in SOLVE_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    check_output_path(args.output)
    if petsc_opts and args.method != "ed":
        raise model.ModelError(f"PETSc options {' '.join(petsc_opts)} only apply to --method ed")
    if args.method == "ed":
        from .petsc_options import check_petsc_options
        check_petsc_options(petsc_opts)


def option_attrs(args) -> dict:
    """The options that shaped the result, as one file attribute ``options`` (``name=value ...``)."""
    return {"options": " ".join(f"{n}={getattr(args, n)}" for n in METHOD_OPTIONS[args.method]) or "none"}


def check_output_path(path) -> None:
    """Refuse an output path that is a folder, or whose folder cannot be made or written.

    A missing folder is fine (it is created when the result is written).

    Raises
    ------
    lindring.model.ModelError
    """
    text = os.fspath(path)
    if not text or text.endswith(os.sep) or os.path.isdir(text):
        raise model.ModelError(f"output {text!r} is a folder; give a file name (e.g. out.nc)")
    folder = os.path.dirname(os.path.abspath(text))
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise model.ModelError(f"output {text!r}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise model.ModelError(f"output {text!r}: folder {folder} is not writable")


def _add_model_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--bc", choices=model.BOUNDARIES, default="ring", help="boundary (default ring)")
    ap.add_argument("--L", type=_finite(int), required=True, help="number of sites")
    ap.add_argument("--preset", choices=model.PRESETS, help="minimal: the model of Sec. IV")
    ap.add_argument("--range", type=_finite(int), default=1, help="1: f_b on (b, b+1); 2: on (b, b+2)")
    for name in model.PHYSICAL_PARAMS:
        kind = "complex, e.g. 1+0.5j" if name in model.COMPLEX_PARAMS else "real"
        ap.add_argument("--" + name.replace("_", "-"), dest=name, default=None, metavar="X",
                        help=f"{name} ({kind})")


def build_parser() -> argparse.ArgumentParser:
    ap = _parser(prog="lindring", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_parser)
    s = sub.add_parser("solve", help="compute one point and write one NetCDF file",
                       description="Compute one point of the model and write one NetCDF file. "
                                   "One-dash options go to PETSc/SLEPc.")
    s.add_argument("--method", choices=("ed", "cmf", "ground", "mpo"), default="ed")
    _add_model_args(s)
    D, real, integer = SOLVE_DEFAULTS, _finite(float), _finite(int)
    ed, mpo = "ed: ", "mpo: "
    s.add_argument("--solver", choices=("auto", "direct", "iterative"),
                   help=f"{ed}linear solver (default {D['solver']})")
    s.add_argument("--symmetry", choices=SYMMETRIES,
                   help="ed: solve in a symmetry sector of the Liouvillian (default auto: every "
                        "symmetry the model has; parity unless eps_x != 0, momentum on rings)")
    s.add_argument("--rtol", type=real, help=f"{ed}iterative solver relative tolerance (default {D['rtol']})")
    s.add_argument("--max-it", type=integer, help=f"{ed}iterative solver iterations (default {D['max_it']})")
    s.add_argument("--gap", action="store_true", default=None,
                   help=f"{ed}compute the Liouvillian gap (SLEPc)")
    s.add_argument("--check-unique", dest="check_unique", action="store_true", default=None,
                   help="ed, mpo: decide the dimension of the Liouvillian kernel (default: on)")
    s.add_argument("--no-check-unique", dest="check_unique", action="store_false",
                   help="ed, mpo: skip the uniqueness decision (the file then says unique = -1)")
    s.add_argument("--max-residual", type=real, help=f"{ed}verification (default {D['max_residual']})")
    s.add_argument("--max-trace-error", type=real, help=f"{ed}verification (default {D['max_trace_error']})")
    s.add_argument("--max-hermiticity-error", type=real,
                   help=f"{ed}verification (default {D['max_hermiticity_error']})")
    s.add_argument("--positivity-tol", type=real, help=f"{ed}verification (default {D['positivity_tol']})")
    s.add_argument("--max-error-estimate", type=real,
                   help=f"{ed}verification: residual x scale / slowest rate (default "
                        f"{D['max_error_estimate']})")
    s.add_argument("--chi", type=integer, help=f"{mpo}maximum bond dimension (default {D['chi']})")
    s.add_argument("--dt", type=real,
                   help=f"{mpo}time step (default min(0.1, 2/rate) from the fastest bond rate; "
                        "dt * rate > 4 is refused)")
    s.add_argument("--order", type=integer, choices=(2, 4), help=f"{mpo}Trotter order (default {D['order']})")
    s.add_argument("--mpo-tol", type=real,
                   help=f"{mpo}target relative residual ||L rho||/(||rho|| rate) of the refinement "
                        f"(default {D['mpo_tol']})")
    s.add_argument("--mpo-max-residual", type=real,
                   help=f"{mpo}largest relative residual written, else exit 4 (default {D['mpo_max_residual']})")
    s.add_argument("--mpo-max-hermiticity-error", type=real,
                   help=f"{mpo}verification (default {D['mpo_max_hermiticity_error']})")
    s.add_argument("--mpo-bound-tol", type=real,
                   help=f"{mpo}slack on the physical bounds |sz| <= 1, purity, currents "
                        f"(default {D['mpo_bound_tol']})")
    s.add_argument("--mpo-agreement", type=real,
                   help=f"{mpo}largest difference of the observables of two starts (default {D['mpo_agreement']})")
    s.add_argument("--refine-sweeps", type=integer, help=f"{mpo}most refinement sweeps (default {D['refine_sweeps']})")
    s.add_argument("--t-max", type=real, help=f"{mpo}longest evolution time (default {D['t_max']})")
    s.add_argument("--cutoff", type=real, help=f"{mpo}discarded-weight cutoff per SVD (default {D['cutoff']})")
    s.add_argument("--force", action="store_true",
                   help=f"{ed}run even when the plan says the point does not fit the memory "
                        "available here")
    s.add_argument("-o", "--output", required=True, help="NetCDF file to write")

    pl = sub.add_parser("plan", help="estimate rows, nonzeros, memory, MPI ranks, runtime of a job")
    pl.add_argument("--method", choices=("ed", "mpo"), default="ed")
    pl.add_argument("--chi", type=int, default=64, help="mpo: maximum bond dimension")
    _add_model_args(pl)
    pl.add_argument("--solver", choices=("auto", "direct", "iterative"), default="auto")
    pl.add_argument("--symmetry", choices=SYMMETRIES, default="auto",
                    help="ed: the sector the job solves in (as for solve)")
    pl.add_argument("--mem-per-rank-mb", type=float, default=4000.0,
                    help="memory budget per MPI rank (default 4000)")
    pl.add_argument("--max-tasks", type=int, default=64)
    pl.add_argument("--json", action="store_true", help="print JSON")

    g = sub.add_parser("gather", help="merge the job files of a study (missing points are NaN)")
    g.add_argument("--configfile", default="config/config.yaml")
    g.add_argument("--study", required=True)
    g.add_argument("-o", "--output", required=True)
    return ap


def _params(args) -> model.Params:
    values = {name: getattr(args, name) for name in model.PHYSICAL_PARAMS}
    return model.make_params(args.L, bc=args.bc, preset=args.preset, range=args.range, **values)


def _fail(code: int, msg: str):
    print(f"lindring: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


def cmd_solve(args, petsc_opts) -> None:
    from .methods import Thresholds, VerificationError, check_method_bc, run_method
    from .steady import SolverError, Tolerances
    try:
        validate_solve_options(args, petsc_opts)
        p = _params(args)
        check_method_bc(args.method, p.bc)
        if args.method != "ground":
            model.check_dissipative(p)
        if args.method == "ed":
            resolve_symmetry(p, args.symmetry)
    except (model.ModelError, ValueError) as err:
        _fail(EXIT_BAD_INPUT, str(err))
    options = {}
    if args.method == "ed":
        _refuse_if_too_large(args, p)
        from .petsc import init
        init(petsc_opts)
        options = dict(solver=args.solver, gap=args.gap, check_unique=args.check_unique,
                       symmetry=args.symmetry,
                       tol=Tolerances(rtol=args.rtol, max_it=args.max_it),
                       thresholds=Thresholds(args.max_residual, args.max_trace_error,
                                             args.max_hermiticity_error, args.positivity_tol,
                                             args.max_error_estimate))
    if args.method == "mpo":
        from .mpo import MPOThresholds, bond_generators, check_dt, rate_scale
        try:
            if args.chi < 2:
                raise model.ModelError(f"--chi {args.chi}: a bond dimension of 1 is a product "
                                       "state (zero current on every bond); use --chi >= 2")
            if not args.cutoff < 1:        # lower bounds: _RANGES (validate_solve_options)
                raise model.ModelError("--cutoff must be < 1")
            if args.dt is not None:
                check_dt(args.dt, rate_scale(bond_generators(p)), args.order)
        except model.ModelError as err:
            _fail(EXIT_BAD_INPUT, str(err))
        options = dict(chi=args.chi, dt=args.dt, order=args.order, tol=args.mpo_tol,
                       t_max=args.t_max, cutoff=args.cutoff, max_sweeps=args.refine_sweeps,
                       check_unique=bool(args.check_unique),
                       thresholds=MPOThresholds(residual=args.mpo_max_residual,
                                                trace=args.max_trace_error,
                                                hermiticity=args.mpo_max_hermiticity_error,
                                                bounds=args.mpo_bound_tol,
                                                agreement=args.mpo_agreement))
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    from pathlib import Path
    out = Path(args.output)
    if comm.Get_rank() == 0 and out.exists():
        out.unlink()   # a failed rerun must not leave an old file that looks like its result
    t0 = time.time()
    try:
        data_vars, attrs = run_method(args.method, p, **options)
    except model.ModelError as err:
        _fail(EXIT_BAD_INPUT, str(err))
    except (SolverError, VerificationError) as err:
        _fail(EXIT_VERIFICATION if isinstance(err, VerificationError) else EXIT_SOLVER, str(err))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    attrs.update(wall_seconds=time.time() - t0, mpi_ranks=comm.Get_size(),
                 peak_memory_mb_max_rank=comm.allreduce(peak_mb, op=MPI.MAX),
                 peak_memory_mb_total=comm.allreduce(peak_mb, op=MPI.SUM),
                 petsc_options=" ".join(petsc_opts) or "none", **option_attrs(args))
    if comm.Get_rank() == 0:
        from .results import build_dataset, write_atomic
        ds = build_dataset(p, args.method, data_vars, attrs)
        write_atomic(ds, out)
        summary = {k: ds[k].values for k in ("current_eta", "current_J", "sz") if k in ds}
        print(f"wrote {out} ({args.method}, {p.bc}, L={p.L}, {attrs['wall_seconds']:.2f}s)")
        for k, v in summary.items():
            print(f"  {k} = {v}")


def _refuse_if_too_large(args, p: model.Params) -> None:
    """Exit 2 before any allocation when the plan of this ``ed`` point does not fit the memory
    available to the job (unless ``--force``). Collective."""
    from mpi4py import MPI
    from .plan import available_memory_mb, check_fits, plan_ed
    if args.force:
        return
    try:
        plan = plan_ed(p, args.solver, mem_per_rank_mb=float("inf"), max_tasks=1,
                       symmetry=args.symmetry)
    except model.ModelError as err:
        _fail(EXIT_BAD_INPUT, str(err))
    reason = check_fits(plan, MPI.COMM_WORLD.Get_size(), available_memory_mb())
    if reason:
        _fail(EXIT_BAD_INPUT, reason)


def cmd_plan(args) -> None:
    import json
    from .plan import plan_ed, plan_mpo
    try:
        p = _params(args)
        if args.mem_per_rank_mb <= 0 or args.max_tasks < 1:
            raise model.ModelError("--mem-per-rank-mb must be > 0 and --max-tasks >= 1")
        if args.method == "ed":
            resolve_symmetry(p, args.symmetry)
    except (model.ModelError, ValueError) as err:
        _fail(EXIT_BAD_INPUT, str(err))
    if args.method == "mpo":
        plan = plan_mpo(p.L, args.chi)
    else:
        try:
            plan = plan_ed(p, args.solver, mem_per_rank_mb=args.mem_per_rank_mb,
                           max_tasks=args.max_tasks, symmetry=args.symmetry)
        except model.ModelError as err:
            _fail(EXIT_BAD_INPUT, str(err))
    if args.json:
        print(json.dumps(plan.as_dict()))
        return
    if args.method == "mpo":
        print(f"mpo, {p.bc}, L={p.L}, chi={args.chi}: about {plan.mem_mb_total:.0f} MB, one rank; "
              f"job request mem_mb={plan.mem_mb}, runtime={plan.runtime_min} min")
        return
    print(f"ed, {p.bc}, L={p.L}, sector {plan.symmetry}, solver {plan.solver}: {plan.rows} rows, "
          f"{plan.nnz} nonzeros "
          f"({plan.nnz / plan.rows:.1f} per row)")
    print(f"memory {plan.mem_mb_total:.0f} MB in all -> {plan.tasks} MPI rank(s) of "
          f"{plan.mem_mb_per_task:.0f} MB; job request mem_mb={plan.mem_mb}, "
          f"runtime={plan.runtime_min} min")


def cmd_gather(args) -> None:
    """``lindring gather``: the config is read and checked as the workflow does (strict YAML,
    schema, every study expanded), then the files of one study are checked and merged."""
    from .gather import GatherError, gather, write_gathered
    from .studies import StudyError, expand, load_config, validate_config
    try:
        check_output_path(args.output)
        cfg = validate_config(load_config(args.configfile))
        studies = cfg.get("studies") or {}
        if args.study not in studies:
            raise StudyError(f"no study {args.study!r} in {args.configfile} "
                             f"(studies: {', '.join(studies) or 'none'})")
        jobs = expand(dict(cfg, run=[args.study]))[args.study]
        expand(cfg)          # every study, as the workflow checks them
        ds = gather(args.study, jobs, studies[args.study])
    except (StudyError, GatherError, model.ModelError) as err:
        _fail(EXIT_BAD_INPUT, str(err))
    write_gathered(ds, args.output)
    print(f"wrote {args.output}: {ds.attrs['points_present']} of {ds.attrs['points_expected']} points")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    own, petsc_opts = split_petsc_options(argv)
    args = build_parser().parse_args(own)
    warnings.simplefilter("default")
    if args.command != "solve" and petsc_opts:
        _fail(EXIT_BAD_INPUT, f"unknown options {' '.join(petsc_opts)}")
    if args.command == "solve":
        cmd_solve(args, petsc_opts)
    elif args.command == "plan":
        cmd_plan(args)
    elif args.command == "gather":
        cmd_gather(args)


if __name__ == "__main__":
    main()

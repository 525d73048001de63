"""Command line: ``lindring solve`` (one point, one file) and ``lindring plan`` (resources).

    lindring solve --method ed --bc ring --L 6 --preset minimal --alpha 2 --delta 1.5 -o out.nc
    mpiexec -n 4 lindring solve ... -ksp_type bcgs -log_view

Arguments with one dash (``-ksp_type gmres``, ``-eps_nev 6``, ``-log_view``) go to PETSc/SLEPc's
options database. Everything else is validated before any compute; bad input exits with status 2
and a message naming the problem, and writes nothing.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings

from . import model
from .basis import SYMMETRIES, resolve_symmetry

EXIT_BAD_INPUT, EXIT_SOLVER, EXIT_VERIFICATION = 2, 3, 4
_OWN_SHORT = {"-o", "-h"}


def split_petsc_options(argv: list[str]) -> tuple[list[str], list[str]]:
    """Separate PETSc-style options (one dash, e.g. ``-ksp_rtol 1e-12``) from lindring's own."""
    own, petsc = [], []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok.startswith("-") and not tok.startswith("--") and tok not in _OWN_SHORT \
                and len(tok) > 2 and tok[1].isalpha():
            petsc.append(tok)
            nxt = argv[i + 1] if i + 1 < len(argv) else None
            if nxt is not None and not (nxt.startswith("-") and len(nxt) > 1 and nxt[1].isalpha()):
                petsc.append(nxt)
                i += 1
        else:
            own.append(tok)
        i += 1
    return own, petsc


def _add_model_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--bc", choices=model.BOUNDARIES, default="ring", help="boundary (default ring)")
    ap.add_argument("--L", type=int, required=True, help="number of sites")
    ap.add_argument("--preset", choices=model.PRESETS, help="minimal: the model of Sec. IV")
    ap.add_argument("--range", type=int, default=1, help="1: f_b on (b, b+1); 2: on (b, b+2)")
    for name in model.PHYSICAL_PARAMS:
        kind = "complex, e.g. 1+0.5j" if name in model.COMPLEX_PARAMS else "real"
        ap.add_argument("--" + name.replace("_", "-"), dest=name, default=None, metavar="X",
                        help=f"{name} ({kind})")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="lindring", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("solve", help="compute one point and write one NetCDF file",
                       description="Compute one point of the model and write one NetCDF file. "
                                   "One-dash options go to PETSc/SLEPc.")
    s.add_argument("--method", choices=("ed", "cmf", "ground", "mpo"), default="ed")
    _add_model_args(s)
    s.add_argument("--solver", choices=("auto", "direct", "iterative"), default="auto")
    s.add_argument("--symmetry", choices=SYMMETRIES, default="auto",
                   help="ed: solve in a symmetry sector of the Liouvillian (default auto: every "
                        "symmetry the model has; parity unless eps_x != 0, momentum on rings)")
    s.add_argument("--rtol", type=float, default=1e-12, help="iterative solver relative tolerance")
    s.add_argument("--max-it", type=int, default=20000, help="iterative solver iterations")
    s.add_argument("--gap", action="store_true", help="compute the Liouvillian gap (SLEPc)")
    s.add_argument("--check-unique", dest="check_unique", action="store_true", default=None,
                   help="check the kernel dimension (default: for L <= 8)")
    s.add_argument("--no-check-unique", dest="check_unique", action="store_false")
    s.add_argument("--max-residual", type=float, default=1e-9)
    s.add_argument("--max-trace-error", type=float, default=1e-10)
    s.add_argument("--max-hermiticity-error", type=float, default=1e-8)
    s.add_argument("--positivity-tol", type=float, default=1e-8)
    s.add_argument("--chi", type=int, default=64, help="mpo: maximum bond dimension")
    s.add_argument("--dt", type=float, default=None,
                   help="mpo: time step (default min(0.1, 2/rate) from the fastest bond rate; "
                        "dt * rate > 4 is refused)")
    s.add_argument("--order", type=int, choices=(2, 4), default=4, help="mpo: Trotter order")
    s.add_argument("--mpo-tol", type=float, default=1e-8,
                   help="mpo: target relative residual ||L rho||/(||rho|| rate) of the refinement")
    s.add_argument("--mpo-max-residual", type=float, default=1e-6,
                   help="mpo: largest relative residual written (else exit 4)")
    s.add_argument("--mpo-max-hermiticity-error", type=float, default=1e-6)
    s.add_argument("--mpo-bound-tol", type=float, default=1e-6,
                   help="mpo: slack on the physical bounds (|sz| <= 1, purity, currents)")
    s.add_argument("--mpo-agreement", type=float, default=1e-5,
                   help="mpo: largest difference of the observables of two starts")
    s.add_argument("--refine-sweeps", type=int, default=12, help="mpo: most refinement sweeps")
    s.add_argument("--t-max", type=float, default=200.0, help="mpo: longest evolution time")
    s.add_argument("--cutoff", type=float, default=1e-12, help="mpo: discarded-weight cutoff per SVD")
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
        p = _params(args)
        check_method_bc(args.method, p.bc)
        for flag in ("max_residual", "max_trace_error", "max_hermiticity_error", "positivity_tol",
                     "rtol"):
            if not getattr(args, flag) > 0:
                raise model.ModelError(f"--{flag.replace('_', '-')} must be > 0")
        if args.max_it < 1:
            raise model.ModelError("--max-it must be >= 1")
        if args.method == "ed":
            resolve_symmetry(p, args.symmetry)
        elif args.symmetry != "auto":
            raise model.ModelError("--symmetry applies to --method ed only")
    except (model.ModelError, ValueError) as err:
        _fail(EXIT_BAD_INPUT, str(err))
    options = {}
    if args.method == "ed":
        from .petsc import init
        init(petsc_opts)
        options = dict(solver=args.solver, gap=args.gap, check_unique=args.check_unique,
                       symmetry=args.symmetry,
                       tol=Tolerances(rtol=args.rtol, max_it=args.max_it),
                       thresholds=Thresholds(args.max_residual, args.max_trace_error,
                                             args.max_hermiticity_error, args.positivity_tol))
    elif petsc_opts:
        _fail(EXIT_BAD_INPUT, f"PETSc options {' '.join(petsc_opts)} only apply to --method ed")
    if args.method == "mpo":
        from .mpo import MPOThresholds, bond_generators, check_dt, rate_scale
        try:
            if args.chi < 2:
                raise model.ModelError(f"--chi {args.chi}: a bond dimension of 1 is a product "
                                       "state (zero current on every bond); use --chi >= 2")
            for flag in ("mpo_tol", "t_max", "mpo_max_residual", "mpo_max_hermiticity_error",
                         "mpo_bound_tol", "mpo_agreement", "max_trace_error"):
                if not getattr(args, flag) > 0:
                    raise model.ModelError(f"--{flag.replace('_', '-')} must be > 0")
            if args.refine_sweeps < 0 or not 0 <= args.cutoff < 1:
                raise model.ModelError("--refine-sweeps must be >= 0 and 0 <= --cutoff < 1")
            if args.dt is not None:
                if not args.dt > 0:
                    raise model.ModelError("--dt must be > 0")
                check_dt(args.dt, rate_scale(bond_generators(p)), args.order)
        except model.ModelError as err:
            _fail(EXIT_BAD_INPUT, str(err))
        options = dict(chi=args.chi, dt=args.dt, order=args.order, tol=args.mpo_tol,
                       t_max=args.t_max, cutoff=args.cutoff, max_sweeps=args.refine_sweeps,
                       check_unique=args.check_unique is not False,
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
    except (SolverError, VerificationError) as err:
        _fail(EXIT_VERIFICATION if isinstance(err, VerificationError) else EXIT_SOLVER, str(err))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    attrs.update(wall_seconds=time.time() - t0, mpi_ranks=comm.Get_size(),
                 peak_memory_mb_max_rank=comm.allreduce(peak_mb, op=MPI.MAX),
                 peak_memory_mb_total=comm.allreduce(peak_mb, op=MPI.SUM),
                 petsc_options=" ".join(petsc_opts) or "none")
    if comm.Get_rank() == 0:
        from .results import build_dataset, write_atomic
        ds = build_dataset(p, args.method, data_vars, attrs)
        write_atomic(ds, out)
        summary = {k: ds[k].values for k in ("current_eta", "current_J", "sz") if k in ds}
        print(f"wrote {out} ({args.method}, {p.bc}, L={p.L}, {attrs['wall_seconds']:.2f}s)")
        for k, v in summary.items():
            print(f"  {k} = {v}")


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
        plan = plan_ed(p, args.solver, mem_per_rank_mb=args.mem_per_rank_mb,
                       max_tasks=args.max_tasks, symmetry=args.symmetry)
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
    import yaml
    from .gather import gather
    from .results import write_atomic
    from .studies import StudyError, expand_study
    with open(args.configfile) as fh:
        cfg = yaml.safe_load(fh)
    try:
        study = cfg["studies"][args.study]
        jobs = expand_study(args.study, study)
    except KeyError:
        _fail(EXIT_BAD_INPUT, f"no study {args.study!r} in {args.configfile}")
    except StudyError as err:
        _fail(EXIT_BAD_INPUT, str(err))
    ds = gather(args.study, jobs, study)
    write_atomic(ds, args.output)
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

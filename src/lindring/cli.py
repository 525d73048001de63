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
import sys
import warnings

from pathlib import Path

from lindring.core import model
from lindring.core.basis import SYMMETRIES
from lindring.core.options import OPTIONS, PLAN_SETTINGS

EXIT_BAD_INPUT, EXIT_SOLVER, EXIT_VERIFICATION = 2, 3, 4
#: interrupted by Ctrl-C, standard output closed by its reader: the shell's 128 + SIGINT, SIGPIPE
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 130, 141
_OWN_SHORT = {"-o", "-h"}
class _NegativeNumber:
    """Matches a word that is a negative number, real or complex, in any form Python reads
    (``-1e-05``, ``-2+0.5j``, ``-.5``, ``-inf``, ``-nan``): a value, never an option. argparse
    knows only ``-1`` and ``-.5``; this makes ``--alpha -inf`` reach the parameter's own check
    (which names it) instead of "expected one argument"."""

    @staticmethod
    def match(word: str) -> bool:
        if not word.startswith("-") or word.startswith("--"):
            return False
        try:
            complex(word)
        except ValueError:
            return False
        return True


NEGATIVE_NUMBER = _NegativeNumber()


def _is_petsc_option(tok: str) -> bool:
    return (tok.startswith("-") and not tok.startswith("--") and tok not in _OWN_SHORT
            and len(tok) > 2 and tok[1].isalpha() and not NEGATIVE_NUMBER.match(tok))


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
    """argparse type: a finite number of ``kind`` (int or float); nan and inf are refused. An
    integer may be written in exponent form when its value is whole (``--max-it 1e4``)."""
    def parse(text):
        try:
            x = kind(text)
        except ValueError:
            x = _whole(text) if kind is int else None
            if x is None:
                raise argparse.ArgumentTypeError(
                    f"{text!r} is not {'an integer' if kind is int else 'a number'}")
        if kind is float and not math.isfinite(x):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        return x
    parse.__name__ = kind.__name__
    return parse


def _whole(text: str):
    """The integer ``text`` writes in exponent form (``1e4``, ``-1e3``), or None where it is no
    whole finite number (``1.5``, ``1e-300``, ``nan``)."""
    try:
        x = float(text)
    except ValueError:
        return None
    return int(x) if math.isfinite(x) and x.is_integer() else None


def _once(action: type[argparse.Action]) -> type[argparse.Action]:
    """``action`` that refuses its option a second time: argparse would silently keep the last
    of ``--L 6 --L 7`` (or of ``--check-unique --no-check-unique``, which share a name)."""
    class Once(action):
        def __call__(self, parser, namespace, values, option_string=None):
            seen = vars(namespace).setdefault("_given", {})
            if self.dest in seen:
                parser.error(f"argument {option_string}: given twice ({seen[self.dest]} and "
                             f"{option_string}{_shown(values)}); give it once")
            seen[self.dest] = f"{option_string}{_shown(values)}"
            super().__call__(parser, namespace, values, option_string)
    Once.__name__ = f"Once{action.__name__}"
    return Once


def _shown(values) -> str:
    return "" if values is None or values == [] else f" {values}"


_ONCE = {None: _once(argparse._StoreAction), "store": _once(argparse._StoreAction),
         "store_true": _once(argparse._StoreTrueAction),
         "store_false": _once(argparse._StoreFalseAction)}


class _Parser(argparse.ArgumentParser):
    """argparse with lindring's rules: negative numbers (``-1e-05``, ``-inf``) are values, and
    every option may be given once (a repeated one exits with status 2 naming it)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER

    def add_argument(self, *args, **kwargs):
        if args and args[0].startswith("-") and kwargs.get("action") in _ONCE:
            kwargs["action"] = _ONCE[kwargs.get("action")]
        return super().add_argument(*args, **kwargs)

    def parse_args(self, *args, **kwargs):
        ns = super().parse_args(*args, **kwargs)
        vars(ns).pop("_given", None)
        return ns


_parser = _Parser


def solve_options(args) -> dict:
    """The options of ``lindring solve`` the user gave (``None``: left out), by registry name."""
    return {name: getattr(args, name) for name in OPTIONS}


def _add_model_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--bc", choices=model.BOUNDARIES, default="ring",
                    help="boundary: ring (periodic) or open chain (default ring)")
    ap.add_argument("--L", type=_finite(int), required=True,
                    help="number of sites (required; unit: sites)")
    ap.add_argument("--preset", choices=model.PRESETS,
                    help="minimal: the model of Sec. IV (J0 = lam = kappa = 0, mu = 1, gamma = "
                         "conj(alpha), beta = conj(delta)) (default none)")
    ap.add_argument("--range", type=_finite(int), default=None,
                    help="range of the dissipation: 1: f_b on (b, b+1); 2: on (b, b+2) (default 1; "
                         "unit: sites)")
    for name in model.PHYSICAL_PARAMS:
        kind = "complex, e.g. 1+0.5j" if name in model.COMPLEX_PARAMS else "real"
        unit = PARAM_UNITS.get(name, "energy (hbar = 1; one energy unit for all parameters)")
        ap.add_argument("--" + name.replace("_", "-"), dest=name, default=None, metavar="X",
                        help=f"{name} ({kind}; default 0, or the preset's value; unit: {unit})")


def _add_option(ap: argparse.ArgumentParser, opt) -> None:
    """One option of the registry as an argument (default None: "not given")."""
    if opt.kind == "bool":
        ap.add_argument(opt.flag, dest=opt.name, action="store_true", default=None,
                        help=opt.describe())
        if opt.default is True:
            ap.add_argument("--no-" + opt.flag[2:], dest=opt.name, action="store_false",
                            help=f"{', '.join(opt.methods)}: the opposite of {opt.flag} (default: "
                                 f"{opt.flag} is on)")
        return
    kind = {"real": _finite(float), "int": _finite(int)}.get(opt.kind)
    if opt.kind == "choice":
        kind = type(opt.choices[0])
        ap.add_argument(opt.flag, dest=opt.name, type=kind, choices=opt.choices, help=opt.describe())
    else:
        ap.add_argument(opt.flag, dest=opt.name, type=kind, metavar="X", help=opt.describe())


#: units of the physical parameters in the help (the others are energies/rates, MODEL.md)
PARAM_UNITS = {"phi": "radians (the flux through the ring)",
               **{k: "sqrt(energy) (amplitude of the jump operator f_b; rates are products such "
                     "as |alpha|^2)" for k in ("alpha", "beta", "gamma", "delta")},
               "kappa": "rate = energy (hbar = 1)"}


class _Versions(argparse.Action):
    """``lindring --version``: one line per component, then exit."""
    def __call__(self, parser, namespace, values, option_string=None):
        from lindring.api import versions
        for k, v in versions().items():
            print(f"{k:<12} {v}")
        parser.exit()


def _add_model_file_args(ap: argparse.ArgumentParser) -> None:
    """``--model FILE`` and ``--set NAME=VALUE`` (solve and plan)."""
    ap.add_argument("--model", metavar="FILE", default=None,
                    help="ed, mpo: a model file (YAML, e.g. models/boundary_driven_xxz.yaml) "
                         "instead of the paper's model; its parameters are set with --set "
                         "(default: the paper's model, set with --alpha ... )")
    ap.add_argument("--set", dest="set_values", action="append", default=None,
                    metavar="NAME=VALUE",
                    help="a parameter of the --model file, as a number (2, -1e-5, 1+0.5j; never "
                         "an expression); repeat for several (default: the file's defaults)")


def build_parser() -> argparse.ArgumentParser:
    ap = _parser(prog="lindring", description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", action=_Versions, nargs=0,
                    help="print the versions of lindring, PETSc, SLEPc and MPI, and exit")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_parser)
    chatter = _parser(add_help=False)
    quiet = chatter.add_mutually_exclusive_group()
    quiet.add_argument("--quiet", action="store_true",
                       help="print nothing but warnings and errors (on stderr): no progress and "
                            "no summary of what was written; plan and show still print what "
                            "they are asked for (default off)")
    quiet.add_argument("--verbose", action="store_true",
                       help="show every solver iteration too (default: progress every 2 s)")
    s = sub.add_parser("solve", help="compute one point and write one NetCDF file", parents=[chatter],
                       description="Compute one point of the model and write one NetCDF file. "
                                   "One-dash options go to PETSc/SLEPc.")
    s.add_argument("--method", choices=("ed", "cmf", "ground", "mpo"), default="ed",
                   help="ed: exact steady state; cmf: two-site cluster mean field; ground: ground "
                        "state of H; mpo: matrix-product steady state of an open chain (default ed)")
    _add_model_args(s)
    for opt in OPTIONS.values():        # the one registry: lindring.core.options
        _add_option(s, opt)
    s.add_argument("--force", action="store_true",
                   help="ed, mpo: run even when the plan says the point does not fit the memory "
                        "available here (default off)")
    _add_model_file_args(s)
    s.add_argument("--initial-guess", metavar="FILE", default=None,
                   help="ed: start the iterative solve from the steady state in FILE (written "
                        "by --save-state at another point of the same L, boundary, operator "
                        "basis and sector; a mismatch is an error); the result is the same to "
                        "the solver's tolerance, only the iterations change (default: from zero)")
    s.add_argument("--initial-guess-fallback", action="store_true",
                   help="ed: a --initial-guess that cannot be used (missing, corrupt, of another "
                        "space) gives a warning and a cold start instead of an error (default off)")
    s.add_argument("--save-state", metavar="FILE", default=None,
                   help="ed: also write the verified steady state to FILE (a small NetCDF file "
                        "for --initial-guess) (default: not written)")
    s.add_argument("-o", "--output", required=True,
                   help="NetCDF file to write (required; a missing folder is created)")

    pl = sub.add_parser("plan", help="estimate rows, nonzeros, memory, MPI ranks, runtime of a job",
                        parents=[chatter],
                        description="Estimate the resources of a job and say whether it fits "
                                    "--mem-per-rank-mb and this machine. The point and its options "
                                    "are checked as solve checks them (status 2 for what solve "
                                    "refuses); a valid plan that does not fit says so on a line "
                                    "starting 'DOES NOT FIT' and exits 0 (it may be meant for a "
                                    "cluster).")
    pl.add_argument("--method", choices=("ed", "mpo"), default="ed",
                    help="the method of the job to plan (default ed)")
    _add_model_args(pl)
    _add_model_file_args(pl)
    for opt in OPTIONS.values():        # the options of solve, checked as solve checks them
        _add_option(pl, opt)
    for opt in PLAN_SETTINGS.values():
        pl.add_argument(opt.flag, dest=opt.name, type=_finite(float if opt.kind == "real" else int),
                        default=opt.default, metavar="X", help=opt.describe())
    pl.add_argument("--mem-per-node-mb", type=_finite(float), default=None, metavar="X",
                    help="ed: memory of one node of a cluster (MB): also say how many ranks of "
                         "the plan fit a node and how many nodes the job needs (default: not "
                         "said)")
    pl.add_argument("--json", action="store_true",
                    help="print the plan as JSON (memory in MB, runtime in minutes) (default off)")

    g = sub.add_parser("gather", help="merge the job files of a study (missing points are NaN)",
                       parents=[chatter])
    g.add_argument("--configfile", default="config/config.yaml",
                   help="the workflow config that defines the study (default config/config.yaml)")
    g.add_argument("--study", required=True, help="name of a study of the config (required)")
    g.add_argument("-o", "--output", required=True,
                   help="NetCDF file to write (required), e.g. partial.nc")

    sh = sub.add_parser("show", help="print a readable summary of a lindring NetCDF file",
                        parents=[chatter],
                        description="Print what a file holds: a point file (what was computed, "
                                    "parameters, observables per bond/site, verification, "
                                    "uniqueness, provenance), a gathered study, a mean-field map "
                                    "or a finite-size scaling.")
    sh.add_argument("files", nargs="+", metavar="FILE.nc", help="one or more files")
    return ap


def _fail(code: int, msg: str):
    print(f"lindring: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


_SET = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)=(.+)$")


def parse_set_values(items) -> dict:
    """``--set NAME=VALUE`` items as ``{NAME: "VALUE"}`` (the values are read as numbers by the
    model, never evaluated). ModelError for a malformed item or a name given twice."""
    out = {}
    for item in items or ():
        m = _SET.match(item.strip())
        if not m:
            raise model.ModelError(f"--set {item!r}: write NAME=VALUE, e.g. --set Delta=0.5")
        name, value = m.groups()
        if name in out:
            raise model.ModelError(f"--set {name}: given twice")
        out[name] = value.strip()
    return out


def cmd_solve(args, petsc_opts) -> None:
    """``lindring solve``: :func:`lindring.api.prepare` (bad input: status 2, nothing computed),
    :func:`lindring.api.compute` (solver failure: 3, failed verification: 4), then the file."""
    from mpi4py import MPI
    from lindring import api
    from lindring.solvers.methods import VerificationError
    from lindring.solvers.steady import SolverError
    try:
        params = {name: getattr(args, name) for name in model.PHYSICAL_PARAMS}
        model_values = parse_set_values(args.set_values)
        warm = api.warm_start(args.initial_guess, args.initial_guess_fallback, args.save_state)
        p, values = api.prepare(args.method, args.L, args.bc, args.preset, args.range, params,
                                solve_options(args), petsc_opts, args.output, args.force,
                                model_file=args.model, model_values=model_values, warm=warm)
    except (model.ModelError, ValueError) as err:
        _fail(EXIT_BAD_INPUT, str(err))
    comm = MPI.COMM_WORLD
    out = Path(args.output)
    api.clear_outputs(out, warm)    # a failed rerun leaves no old file that looks like its result
    try:
        ds = api.compute(args.method, p, values, petsc_opts, warm=warm)
    except model.ModelError as err:
        _fail(EXIT_BAD_INPUT, str(err))
    except (SolverError, VerificationError) as err:
        _fail(EXIT_VERIFICATION if isinstance(err, VerificationError) else EXIT_SOLVER, str(err))
    if comm.Get_rank() == 0:
        from lindring.io.results import write_atomic
        write_atomic(ds, out)
        if args.quiet:
            return
        print(f"wrote {out} ({args.method}, {p.bc}, L={p.L}, {ds.attrs['wall_seconds']:.2f}s)")
        extra = tuple(p.output_variables()) if hasattr(p, "output_variables") else ()
        for k in ("current_eta", "current_J", "sz") + extra:
            if k in ds:
                print(f"  {k} = {ds[k].values}")
        if ds.attrs.get("unique") == 0:
            from lindring.report.show import uniqueness_text
            print(f"  steady state: {uniqueness_text(ds)}")


def _num(x, decimals: int = 0) -> str:
    """A count or a size for ``lindring plan``'s lines (:func:`lindring.workflow.plan.shown`)."""
    from lindring.workflow.plan import shown
    return shown(x, decimals)


def print_ed_plan(plan, bc: str) -> None:
    """The lines of ``lindring plan`` for an ``ed`` job (the numbers of
    :class:`lindring.workflow.plan.Plan`)."""
    from lindring.workflow.plan import EXTRA_VECTORS, PLANNED_ITERATIONS, RUNTIME_FACTOR
    counted = "counted" if plan.nnz_exact else "sampled"
    print(f"ed, {bc}, L={plan.L}, sector {plan.symmetry}, solver {plan.solver}: "
          f"{_num(plan.rows)} rows, {_num(plan.nnz)} nonzeros ({plan.nnz / plan.rows:.1f} per row, {counted})")
    print(f"memory {_num(plan.mem_mb_total)} MB in all -> {plan.tasks} MPI rank(s) of "
          f"{_num(plan.mem_mb_per_task)} MB; job request mem_mb={_num(plan.mem_mb)}, "
          f"runtime={_num(plan.runtime_min)} min")
    parts = plan.memory_parts_mb
    if "matrix" in parts:
        held = (f"; every rank holds the basis ({_num(parts['basis_held'])} MB) and start-up "
                f"({_num(parts['base'])} MB)" if parts["basis_held"] else "")
        print(f"  per rank at its peak: basis {_num(parts['basis'])} MB, assembly "
              f"{_num(parts['assembly'])} MB (word table {_num(parts['table'])}), solve "
              f"{_num(parts['solve'])} MB (matrix {_num(parts['matrix'])}, ILU(0) {_num(parts['ilu'])}, "
              f"{plan.restart} + {EXTRA_VECTORS} vectors {_num(parts['vectors'])}, ghosts "
              f"{_num(parts['ghosts'])}){held}; least in all {_num(plan.min_mem_mb_total)} MB")
        t = plan.time_parts_s
        print(f"  expected {_num(plan.expected_min, 1)} min: {PLANNED_ITERATIONS} GMRES({plan.restart}) "
              f"and probe iterations of {t['per_iteration']:.3g} s, basis {_num(t['enumeration'])} s,"
              f" assembly {_num(t['assembly'])} s, ILU(0) {_num(t['ilu'])} s (per rank; the "
              f"request is {RUNTIME_FACTOR:g}x that)")
    if "spectrum" in parts:
        sectors = (f"; the largest other sector searched {_num(parts['sectors'])} MB"
                   if "sectors" in parts else "")
        print(f"  the gap (--gap): the search of the steady state's sector {_num(parts['spectrum'])}"
              f" MB per rank{sectors}; {_num(plan.time_parts_s['gap'] / 60, 1)} min expected")
    if plan.mem_per_node_mb:
        if plan.min_mem_mb_total and plan.min_mem_mb_total > plan.mem_per_node_mb:
            print(f"  no number of ranks fits one node of {_num(plan.mem_per_node_mb)} MB: the job "
                  f"needs at least {_num(plan.min_mem_mb_total)} MB in all")
        if plan.ranks_per_node:
            print(f"  nodes of {_num(plan.mem_per_node_mb)} MB: {plan.ranks_per_node} rank(s) of "
                  f"{_num(plan.mem_mb_per_task)} MB per node -> {plan.nodes} node(s)")
        else:
            print(f"  nodes of {_num(plan.mem_per_node_mb)} MB: not one rank of "
                  f"{_num(plan.mem_mb_per_task)} MB fits a node")


def cmd_plan(args) -> None:
    """``lindring plan``: :func:`lindring.api.plan` (what solve refuses: status 2); a plan that
    does not fit the budget or this machine is printed with a ``DOES NOT FIT`` line (status 0)."""
    import json
    from lindring import api
    try:
        params = {name: getattr(args, name) for name in model.PHYSICAL_PARAMS}
        given = {k: v for k, v in solve_options(args).items() if v is not None}
        model_values = parse_set_values(args.set_values)
        if args.model is None and model_values:
            raise model.ModelError(f"--set {', '.join(model_values)}: parameters of a model "
                                   "file need --model FILE")
        plan = api.plan(args.method, L=args.L, bc=args.bc, preset=args.preset, range=args.range,
                        mem_per_rank_mb=args.mem_per_rank_mb, max_tasks=args.max_tasks,
                        model=args.model, parameters=model_values if args.model else None,
                        mem_per_node_mb=args.mem_per_node_mb, **params, **given)
    except (model.ModelError, ValueError) as err:
        _fail(EXIT_BAD_INPUT, str(err))
    if args.json:
        print(json.dumps(plan.as_dict()))
        return
    if args.method == "mpo":
        from lindring.workflow.plan import mpo_bond_dimensions
        chi = given.get('chi', OPTIONS['chi'].default)
        bonds = mpo_bond_dimensions(plan.L, chi)
        capped = (f" (bonds capped at their exact maximum: at most {max(bonds)})"
                  if bonds and max(bonds) < chi else "")
        print(f"mpo, {args.bc}, L={plan.L}, chi={_num(chi)}{capped}: about "
              f"{_num(plan.mem_mb_total)} MB, one rank; job request mem_mb={_num(plan.mem_mb)}, "
              f"runtime={_num(plan.runtime_min)} min")
    else:
        print_ed_plan(plan, args.bc)
    for problem in plan.problems:
        print(f"DOES NOT FIT {problem}")


def cmd_gather(args) -> None:
    """``lindring gather``: the config is read and checked as the workflow does (strict YAML,
    schema, every study expanded), then the files of one study are checked and merged."""
    from lindring import api
    from lindring.workflow.gather import GatherError
    from lindring.workflow.studies import StudyError
    try:
        ds = api.gather(args.study, args.configfile, output=args.output)
    except (StudyError, GatherError, model.ModelError) as err:
        _fail(EXIT_BAD_INPUT, str(err))
    if not args.quiet:
        print(f"wrote {args.output}: {ds.attrs['points_present']} of {ds.attrs['points_expected']} points")


def cmd_show(args) -> None:
    """``lindring show FILE.nc ...``: :func:`lindring.api.show` of each file (status 2 for a file
    that is missing or not NetCDF)."""
    from lindring import api
    failed = False
    for i, path in enumerate(args.files):
        try:
            text = api.show(path)
        except (OSError, ValueError) as err:
            print(f"lindring: error: cannot read {path}: {err}", file=sys.stderr, flush=True)
            failed = True
            continue
        print(("\n" if i else "") + text, end="", flush=True)
    if failed:
        sys.exit(EXIT_BAD_INPUT)


def main(argv: list[str] | None = None) -> None:
    """The command line: :func:`run` with Ctrl-C and a closed standard output (``lindring show
    FILE | head``) reported in one line instead of a traceback."""
    try:
        run(argv)
    except KeyboardInterrupt:
        # a result is written under a temporary name and renamed only when complete (and an
        # old one removed before the compute), so an interrupted solve leaves none
        print("\nlindring: interrupted (an output file is written whole or not at all)",
              file=sys.stderr, flush=True)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # the reader of standard output has gone (e.g. `| head`): nothing more to print; point
        # stdout at /dev/null so that the interpreter's final flush does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)


def run(argv: list[str] | None = None) -> None:
    """Parse ``argv`` and run its command (:func:`main` without the handling of Ctrl-C and a
    closed standard output)."""
    argv = sys.argv[1:] if argv is None else argv
    own, petsc_opts = split_petsc_options(argv)
    args = build_parser().parse_args(own)
    warnings.simplefilter("default")
    from lindring.api import log_to_stderr
    log_to_stderr("WARNING" if args.quiet else "DEBUG" if args.verbose else "INFO")
    if args.command != "solve" and petsc_opts:
        _fail(EXIT_BAD_INPUT, f"unknown options {' '.join(petsc_opts)}")
    if args.command == "solve":
        cmd_solve(args, petsc_opts)
    elif args.command == "plan":
        cmd_plan(args)
    elif args.command == "gather":
        cmd_gather(args)
    elif args.command == "show":
        cmd_show(args)


if __name__ == "__main__":
    main()

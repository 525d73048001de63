"""The one registry of the options of ``lindring solve`` and :func:`lindring.solve`.

Each option is declared once here: its name, kind, default, unit, help, the methods it applies
to and the range of valid values. The argument parser (:mod:`lindring.cli`), the Python API
(:mod:`lindring.api`), the workflow (its job command lines, :mod:`lindring.workflow.studies`; the point
files' ``options`` attribute, :mod:`lindring.workflow.gather`) all read it, so no default is written twice
and an option that does not apply to a method is refused everywhere alike.

Physical parameters (``alpha``, ``mu``, ...) are not options: they live in :mod:`lindring.core.model`.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from lindring.core.model import ModelError


@dataclasses.dataclass(frozen=True)
class Option:
    """One option of a method.

    ``kind`` is ``"real"``, ``"int"``, ``"bool"`` or ``"choice"`` (then ``choices``);
    ``minimum`` with ``inclusive`` and ``below`` (exclusive upper bound) give the valid range;
    ``why`` explains the lower bound in the refusal message; ``requires`` names a bool option
    without which this one shapes nothing (given alone, it is refused)."""
    name: str
    kind: str
    default: object
    methods: tuple
    help: str
    unit: str = ""
    choices: tuple = ()
    minimum: float | None = None
    inclusive: bool = False
    below: float | None = None
    why: str = ""
    why_below: str = ""         # explains the upper bound in the refusal message
    default_text: str = ""      # how the help states a default computed at run time
    requires: str = ""          # a bool option this one needs on (it shapes nothing without it)

    @property
    def flag(self) -> str:
        """The command-line flag: ``--max-residual``."""
        return "--" + self.name.replace("_", "-")

    def describe(self) -> str:
        """Help text: methods, what it is, its default and unit."""
        default = self.default_text or ("on" if self.default is True else "off"
                                        if self.default is False else str(self.default))
        unit = f"; unit: {self.unit}" if self.unit else ""
        return f"{', '.join(self.methods)}: {self.help} (default {default}{unit})"

    def check(self, value):
        """The value converted to the option's kind and checked against its range.

        Raises
        ------
        lindring.core.model.ModelError
            Naming the option (its flag) and the valid range.
        """
        if isinstance(value, np.generic):
            value = value.item()       # numpy scalars as the Python numbers they stand for
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ModelError(f"{self.flag} must be true or false, got {value!r}")
            return value
        if self.kind == "choice":
            if isinstance(value, bool) or value not in self.choices:
                raise ModelError(f"{self.flag} must be one of {', '.join(map(str, self.choices))}, "
                                 f"got {value!r}")
            return self.choices[self.choices.index(value)]
        kind = int if self.kind == "int" else float
        if kind is int:
            from lindring.core.model import _as_integer      # one reading of an integer
            value = _as_integer(self.flag, value)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ModelError(f"{self.flag} must be a real number, got {value!r}")
        value = kind(value)
        if kind is float and not math.isfinite(value):
            raise ModelError(f"{self.flag} must be finite, got {value}")
        if kind is int and abs(value) > MAX_INT:
            from lindring.core.model import _shown_int
            raise ModelError(f"{self.flag} must be an integer of at most {MAX_INT}, got "
                             f"{_shown_int(value)} "
                             "(the solvers count in 32-bit integers)")
        if self.minimum is not None and not (value >= self.minimum if self.inclusive
                                             else value > self.minimum):
            raise ModelError(f"{self.flag} must be {'>=' if self.inclusive else '>'} "
                             f"{self.minimum:g}, got {value:g}" + (f": {self.why}" if self.why else ""))
        if self.below is not None and not value < self.below:
            raise ModelError(f"{self.flag} must be < {self.below:g}, got {value:g}"
                             + (f": {self.why_below}" if self.why_below else ""))
        return value


#: largest value of an integer option (PETSc's and the solvers' counters: iterations, sweeps,
#: states per bond); 1e300 iterations are a slip, and crashed PETSc's 64-bit integers
MAX_INT = 2 ** 31 - 1
_ED, _MPO, _BOTH = ("ed",), ("mpo",), ("ed", "mpo")
_REL = "1 (relative)"
#: every option of ``lindring solve``, in the order of ``--help``
OPTIONS: dict[str, Option] = {o.name: o for o in [
    Option("solver", "choice", "auto", _ED, "linear solver (auto: direct while the basis has at "
           "most 4^6 rows, else iterative)", choices=("auto", "direct", "iterative")),
    Option("symmetry", "choice", "auto", _ED, "solve in a symmetry sector of the Liouvillian "
           "(auto: every symmetry the model has; parity unless eps_x != 0, momentum on rings, "
           "reflection where the model's terms are mirror-symmetric, e.g. real alpha, delta "
           "and phi = 0)",
           choices=("auto", "none", "parity", "momentum", "parity+momentum", "reflection",
                    "parity+reflection", "momentum+reflection", "parity+momentum+reflection")),
    Option("basis", "choice", "auto", _ED, "operator basis of the Liouvillian: pauli (Pauli "
           "strings, a real matrix with fewer nonzeros) or matrix-units (|k><b|, complex); "
           "auto: pauli", choices=("auto", "pauli", "matrix-units")),
    Option("preconditioner", "choice", "auto", _ED, "preconditioner of the iterative solver: "
           "ilu (block Jacobi with ILU(0)) or heff (the inverse of the no-jump Liouvillian from "
           "the effective Hamiltonian, dense, L <= 10); auto: heff alone where the coherent "
           "couplings dominate the jump rates, else ilu, then heff where ilu has not converged "
           "in 300 iterations (the file's preconditioner_choice says which and why)",
           choices=("auto", "heff", "ilu")),
    Option("rtol", "real", 1e-12, _ED, "iterative solver's relative tolerance", _REL, minimum=0,
           below=1),
    Option("max_it", "int", 20000, _ED, "iterative solver's iterations", "iterations",
           minimum=1, inclusive=True),
    Option("gap", "bool", False, _ED, "converge the Liouvillian gap (SLEPc) and write it"),
    Option("gap_sectors", "choice", "all", _ED, "with --gap: the sectors the gap is searched in: "
           "all (every parity, momentum and reflection: the physical gap, written with the "
           "sector it lives in) or solved (the steady state's sector only, cheaper)",
           choices=("all", "solved"), requires="gap"),
    Option("check_unique", "bool", True, _BOTH, "decide the dimension of the Liouvillian "
           "kernel (--no-check-unique: the file says unique = -1)"),
    Option("max_residual", "real", 1e-10, _ED, "largest residual ||L rho|| / (scale ||rho||) "
           "written", "1 (relative to the scale of L)", minimum=0),
    Option("max_trace_error", "real", 1e-10, _BOTH, "largest |Tr rho - 1| written", "1",
           minimum=0),
    Option("max_hermiticity_error", "real", 1e-8, _ED, "largest ||rho - rho^+|| / ||rho|| "
           "written", _REL, minimum=0),
    Option("positivity_tol", "real", 1e-8, _ED, "smallest eigenvalue of rho allowed is "
           "-positivity_tol (L <= 8)", "1", minimum=0),
    Option("max_error_estimate", "real", 1e-5, _ED, "largest estimated relative error of rho "
           "(Hilbert-Schmidt norm, not of an observable) written: residual x scale / slowest rate", _REL, minimum=0),
    Option("chi", "int", 64, _MPO, "maximum bond dimension", "states per bond", minimum=2, inclusive=True,
           why="a bond dimension of 1 is a product state (zero current on every bond)"),
    Option("dt", "real", None, _MPO, "time step; dt x rate > 4 is refused", "1 / rate (time)",
           minimum=0, default_text="min(0.1, 2 / rate) from the fastest bond rate"),
    Option("order", "choice", 4, _MPO, "Trotter order", choices=(2, 4)),
    Option("mpo_tol", "real", 1e-8, _MPO, "target relative residual ||L rho|| / (||rho|| rate) "
           "of the refinement", _REL, minimum=0, below=1),
    Option("mpo_max_residual", "real", 1e-6, _MPO, "largest relative residual written, else "
           "exit 4", _REL, minimum=0),
    Option("mpo_max_hermiticity_error", "real", 1e-6, _MPO, "largest ||rho - rho^+|| / ||rho|| "
           "written", _REL, minimum=0),
    Option("mpo_bound_tol", "real", 1e-6, _MPO, "slack on the physical bounds |sz| <= 1, "
           "purity, currents", "1", minimum=0),
    Option("mpo_agreement", "real", 1e-5, _MPO, "largest difference of the observables of two "
           "starts", "1", minimum=0),
    Option("refine_sweeps", "int", 12, _MPO, "most refinement sweeps", "sweeps", minimum=0,
           inclusive=True),
    Option("t_max", "real", 200.0, _MPO, "longest evolution time", "1 / rate (time)", minimum=0),
    Option("cutoff", "real", 1e-12, _MPO, "discarded weight per SVD", "1", minimum=0,
           inclusive=True, below=1),
]}
METHODS = ("ed", "cmf", "ground", "mpo")

#: settings of a job's plan (``lindring plan``, :func:`lindring.plan`, the workflow config's
#: top-level keys); ``max_tasks`` defaults to a laptop's 2 ranks (the Slurm profile sets 64)
#: largest memory of a rank or node a plan takes (MB): 1e10 MB is 10 petabytes, far beyond any
#: node (a larger value is a slip of the unit or the exponent, and printed numbers ran long)
MAX_PLAN_MB = 1e10
#: most MPI ranks a plan takes (the largest machines have ~1e7 cores)
MAX_PLAN_TASKS = 10 ** 7
PLAN_SETTINGS: dict[str, Option] = {o.name: o for o in [
    Option("mem_per_rank_mb", "real", 4000.0, ("ed",), "memory budget per MPI rank used to "
           "choose the ranks of a job", "MB", minimum=1, inclusive=True,
           why="a budget in MB (4000 is 4 GB); below 1 MB no process starts",
           below=MAX_PLAN_MB, why_below="that is 10 petabytes per rank: give MB, e.g. 4000"),
    Option("max_tasks", "int", 2, ("ed",), "most MPI ranks per job", "ranks", minimum=1,
           inclusive=True, below=MAX_PLAN_TASKS,
           why_below=f"no machine has more than ~{MAX_PLAN_TASKS:.0e} cores"),
]}


def method_options(method: str) -> tuple[str, ...]:
    """Names of the options of ``method``, in registry order."""
    return tuple(n for n, o in OPTIONS.items() if method in o.methods)


def defaults(method: str) -> dict:
    """Default value of every option of ``method``."""
    return {n: OPTIONS[n].default for n in method_options(method)}


def resolve(method: str, given: dict) -> dict:
    """Every option of ``method``: the ``given`` ones checked, the others at their defaults.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    given : dict
        Option name -> value; ``None`` stands for "not given".

    Returns
    -------
    dict
        Option name -> value, for every option of ``method``.

    Raises
    ------
    lindring.core.model.ModelError
        For an unknown method, an option that is not one of ``method`` (naming the methods it
        belongs to), a value of the wrong kind or out of range, or an option given without the
        one it ``requires``.
    """
    if method not in METHODS:
        raise ModelError(f"unknown method {method!r} (one of {', '.join(METHODS)})")
    given = {k: v for k, v in given.items() if v is not None}
    unknown = [k for k in given if k not in OPTIONS]
    if unknown:
        raise ModelError(f"unknown option(s) {', '.join(map(repr, unknown))} "
                         f"(options: {', '.join(OPTIONS)})")
    applies = method_options(method)
    wrong = [k for k in given if k not in applies]
    if wrong:
        users = sorted({m for k in wrong for m in OPTIONS[k].methods})
        raise ModelError(f"not an option of --method {method}: "
                         f"{', '.join(OPTIONS[k].flag for k in wrong)} "
                         f"(an option of --method {' / '.join(users)})")
    values = defaults(method)
    values.update({k: OPTIONS[k].check(v) for k, v in given.items()})
    idle = [k for k in given if OPTIONS[k].requires and not values[OPTIONS[k].requires]]
    if idle:
        raise ModelError(f"{', '.join(OPTIONS[k].flag for k in idle)} applies with "
                         f"{', '.join(OPTIONS[OPTIONS[k].requires].flag for k in idle)} only: "
                         "give that too")
    return values


def options_attr(method: str, values: dict) -> str:
    """The options that shaped a result, as the file attribute ``options`` (``name=value ...``)."""
    return " ".join(f"{n}={values[n]}" for n in method_options(method)) or "none"


def json_schema(opt: Option) -> dict:
    """The JSON-schema of one option's values (the workflow config; :mod:`lindring.workflow`)."""
    if opt.kind == "bool":
        out = {"type": "boolean"}
    elif opt.kind == "choice":
        out = {"enum": list(opt.choices)}
    else:
        out = {"type": "integer" if opt.kind == "int" else "number"}
        if opt.minimum is not None:
            out["minimum" if opt.inclusive else "exclusiveMinimum"] = opt.minimum
        if opt.below is not None:
            out["exclusiveMaximum"] = opt.below
    out["description"] = opt.describe()
    return out

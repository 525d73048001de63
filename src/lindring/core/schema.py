"""The output schema: one table of every variable and attribute any method writes.

Each variable is declared once: long name, units, dimensions, the methods that write it and its
fill value where it does not apply. The methods build their results with :func:`data_vars`
(which refuses a variable the table does not declare for that method), and the files
(:mod:`lindring.io.results`) take long names and units from the same table. Every file of a
method has the same variables and attributes whatever the outcome (unique, non-unique, not
checked; small or large L): :func:`missing_variables` and :func:`complete_attributes` fill what
an outcome did not compute with the declared fill value (NaN, -1 or ``"none"``), and an attribute
the table does not declare is refused. Dimensions: ``bond`` (b: sites b, b+1; L bonds on rings, L - 1 on open
chains, 2 for the mean field's unit cell), ``site`` (j), ``pair`` (the dissipative pairs
(b, b + range) of range 2).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from lindring.core.model import COMPLEX_PARAMS, PHYSICAL_PARAMS
from lindring.core.options import OPTIONS


@dataclasses.dataclass(frozen=True)
class Variable:
    """One output variable: ``long_name``, ``units``, ``dims``, ``methods`` that write it, and
    ``fill``, its value where an outcome does not compute it (NaN; -1 for counts). A variable
    on the ``pair`` dimension exists with range-2 dissipation only (there is no ``pair``
    otherwise)."""
    long_name: str
    units: str
    dims: tuple
    methods: tuple
    fill: float = np.nan


_ALL = ("ed", "cmf", "ground", "mpo")
_STEADY = ("ed", "cmf", "mpo")
_CHECKED = ("ed", "mpo")

#: every variable, by name (see the module docstring)
VARIABLES: dict[str, Variable] = {
    "current_eta": Variable("dissipative current <I_eta> on the nearest-neighbour bond (b, b+1), "
                            "Eq. 14", "1", ("bond",), _STEADY),
    "current_eta_pair": Variable("the operator I_eta of Eq. 14 on the dissipative pair (b, b+2) "
                                 "(range 2)", "1", ("pair",), ("ed",)),
    "current_J": Variable("coherent current <I_J> on bond (b, b+1), Eq. 14", "1", ("bond",), _ALL),
    "sz": Variable("magnetisation <sigma^z_j>", "1", ("site",), _ALL),
    "purity": Variable("purity Tr rho^2 of the whole state", "1", (), _STEADY),
    "purity_pair": Variable("purity of the reduced state of sites (0, 1)", "1", (), _ALL),
    "negativity_pair": Variable("negativity of the reduced state of sites (0, 1), transpose on "
                                "site 0", "1", (), _ALL),
    "negativity_half": Variable("negativity of the half|half bipartition, transpose on the first "
                                "half", "1", (), ("ed",)),
    "entropy_pair": Variable("von Neumann entropy S(rho_pair) of sites (0, 1)", "nat", (),
                             ("ground",)),
    "energy": Variable("ground-state energy", "1", (), ("ground",)),
    "degeneracy": Variable("ground-state degeneracy", "1", (), ("ground",), fill=-1),
    "residual": Variable("residual of the steady state: ED ||L(rho)|| / (scale ||rho||) (scale: "
                         "liouvillian_scale); MPO ||L(x)|| (relative_residual: / (||x|| "
                         "rate_scale))", "1", (), _CHECKED),
    "relative_residual": Variable("||L(x)|| / (||x|| rate_scale) of the MPO steady state", "1",
                                  (), ("mpo",)),
    "discarded_weight": Variable("sum over the MPO's truncating SVDs (time evolution and "
                                 "refinement) of the relative weight each dropped: each term is "
                                 "in [0, 1], the sum can exceed 1; the written state's accuracy "
                                 "is certified by its residual, not by this", "1", (), ("mpo",)),
    "trace_error": Variable("|Tr rho - 1|", "1", (), _CHECKED),
    "evolution_trace_error": Variable("largest |Tr rho - 1| during the MPO time evolution", "1",
                                      (), ("mpo",)),
    "error_estimate": Variable("estimate of ||rho - rho_exact|| / ||rho|| (Hilbert-Schmidt "
                               "norm; not the relative error of an observable): residual x scale "
                               "/ slowest_rate (attribute; NaN: uniqueness not decided or "
                               "non-unique)", "1", (), _CHECKED),
    "hermiticity_error": Variable("||rho - rho^+|| / ||rho||", "1", (), _CHECKED),
    "imag_error": Variable("largest imaginary part of a real MPO observable", "1", (), ("mpo",)),
    "start_distance": Variable("||x1 - x2|| / ||x1|| of the MPO's two starts' states "
                               "(Hilbert-Schmidt; NaN: one start)", "1", (), ("mpo",)),
    "start_difference": Variable("largest difference of the observables of the MPO's two starts",
                                 "1", (), ("mpo",)),
    "slow_rate_bound": Variable("||L(x1 - x2)|| / ||x1 - x2|| of the two starts' states, relative "
                                "to rate_scale: a bound on the slowest rate seen (NaN: the "
                                "starts agreed, not computed)", "1", (), ("mpo",)),
    "slow_rate_seen": Variable("slowest relaxation rate of the MPO's refined problem (second "
                               "eigenvalue of the projected Liouvillian), relative to rate_scale",
                               "1", (), ("mpo",)),
    "min_eigenvalue": Variable("smallest eigenvalue of rho (small L only)", "1", (), ("ed",)),
    "kernel_dim": Variable("dimension of the Liouvillian kernel: ED in the solved sector, or "
                           "summed over every sector where they were searched (kernel_by_sector; "
                           "-1: not checked)", "1", (), _CHECKED, fill=-1),
    "gap": Variable("Liouvillian gap: -Re(lambda) of the rightmost eigenvalue off the imaginary "
                    "axis, over the sectors of gap_sectors (NaN: not computed, or a sector's "
                    "search did not converge: gap_complete)", "1", (), ("ed",)),
    "gap_parity": Variable("parity of the sector of the gap: +1 even, -1 odd, 0 not split (not "
                           "a symmetry of the model, or the full space solved; NaN: no gap)", "1", (), ("ed",)),
    "gap_momentum": Variable("|k| of the momentum sector of the gap (the pair +-k), 2 pi m / L "
                             "(NaN: no translation symmetry, or no gap)", "rad", (), ("ed",)),
    "gap_reflection": Variable("reflection of the sector of the gap: +1 even, -1 odd, 0 not split "
                               "(not a symmetry, or 0 < |k| < pi; NaN: no gap)", "1", (),
                               ("ed",)),
}
#: suffixes of variants of a variable: the method that writes them, their meaning, and the
#: variables that have them
VARIANTS = {"_symmetric": ("cmf", "symmetric solution",
                           ("current_eta", "current_J", "sz", "purity", "purity_pair",
                            "negativity_pair")),
            "_mixed": ("ground", "mixed solution",
                       ("current_J", "sz", "purity_pair", "negativity_pair", "entropy_pair"))}


def variable_names(method: str, range: int = 1) -> list[str]:
    """Every variable a file of ``method`` has (with dissipation of range ``range``), variants
    included: the same for every outcome."""
    names = [n for n, v in VARIABLES.items()
             if method in v.methods and ("pair" not in v.dims or range == 2)]
    for suffix, (writer, _, bases) in VARIANTS.items():
        if writer == method:
            names += [b + suffix for b in bases]
    return names


def missing_variables(method: str, range: int, present, sizes: dict) -> dict:
    """The variables of :func:`variable_names` not in ``present``, as ``name -> (dims, array)``
    of their fill value, shaped by ``sizes`` (dimension -> length)."""
    out = {}
    for name in variable_names(method, range):
        if name not in present:
            var, _ = describe(name)
            out[name] = (var.dims, np.full(tuple(sizes[d] for d in var.dims), var.fill))
    return out


@dataclasses.dataclass(frozen=True)
class Attribute:
    """One file attribute: what it is, the methods whose files have it (``"all"``: every
    method) and ``fill``, its value where an outcome does not set it."""
    description: str
    methods: tuple
    fill: object = np.nan


_ED, _MPO, _CMF, _GROUND = ("ed",), ("mpo",), ("cmf",), ("ground",)
_NONE, _NO = "none", -1


def _attributes() -> dict[str, Attribute]:
    out = {"L": Attribute("number of sites", _ALL, _NO),
           "bc": Attribute("boundary: ring or open", _ALL, _NONE),
           "range": Attribute("range of the dissipative pairs (b, b + range)", _ALL, _NO),
           "preset": Attribute("preset of the parameters (none or minimal)", _ALL, _NONE)}
    for name in PHYSICAL_PARAMS + ("eta",):
        parts = ("_re", "_im") if name in COMPLEX_PARAMS + ("eta",) else ("",)
        for part in parts:
            out[name + part] = Attribute(f"parameter {name}" + (f" ({'real' if part == '_re' else 'imaginary'} part)"
                                                                if part else ""), _ALL)
    table = [
        # provenance and run (every method)
        ("method", "the method: ed, cmf, ground or mpo", _ALL, _NONE),
        ("options", "every option of the method, name=value (defaults included)", _ALL, _NONE),
        ("petsc_options", "PETSc/SLEPc options given (none for other methods)", _ALL, _NONE),
        ("physics_version", "version of the definitions of the observables", _ALL, _NO),
        ("lindring_version", "lindring's version", _ALL, _NONE),
        ("git_commit", "lindring's git commit (-dirty: with local changes)", _ALL, _NONE),
        ("created", "UTC time the dataset was made", _ALL, _NONE),
        ("Conventions", "CF conventions followed", _ALL, _NONE),
        ("mpi_library", "the MPI library", _ALL, _NONE),
        ("mpi_ranks", "MPI ranks of the run", _ALL, _NO),
        ("wall_seconds", "wall time of the compute (s)", _ALL, np.nan),
        ("precision_note", "where the rates span beyond what double precision resolves "
         "(lindring.core.model.precision_note): how well what the smallest rates set is known, "
         "which the checks of the state do not see (none: the rates span less than 1e10)",
         ("ed", "cmf", "mpo"), _NONE),
        ("peak_memory_mb_max_rank", "peak resident memory of the largest rank (MB)", _ALL, np.nan),
        ("peak_memory_mb_total", "peak resident memory summed over ranks (MB)", _ALL, np.nan),
        # ed
        ("petsc_version", "PETSc version", _ED, _NONE),
        ("slepc_version", "SLEPc version", _ED, _NONE),
        ("solver", "solver used (ed: direct or iterative; ground: the eigensolver)",
         ("ed", "ground"), _NONE),
        ("symmetry", "symmetry sector solved in", _ED, _NONE),
        ("operator_basis", "operator basis of the Liouvillian: pauli or matrix-units", _ED, _NONE),
        ("petsc_scalar", "scalar type of the PETSc build that solved it: real (Pauli basis) or "
         "complex (matrix units)", _ED, _NONE),
        ("pauli_fallback", "why the Pauli solve failed and the matrix units were used (empty: "
         "it did not)", _ED, ""),
        ("preconditioner", "preconditioner that solved it: ilu or heff (empty: direct solver)",
         _ED, ""),
        ("preconditioner_choice", "why those preconditioners were tried, in words (auto: from "
         "the regime; empty: direct solver)", _ED, ""),
        ("direct_fallback", "why auto's iterative solve gave way to the direct one (MUMPS LU, "
         "where it fits; empty: it did not)", _ED, ""),
        ("failed_attempt_iterations", "iterations of the preconditioners tried before the one "
         "that solved it (counted in solver_iterations)", _ED, _NO),
        ("rtol", OPTIONS["rtol"].help, _ED, np.nan),
        ("kernel_tol", "kernel cutoff relative to the scale (mpo: of ||L(x1-x2)||)", ("ed", "mpo"),
         np.nan),
        ("residual_target", "residual the solve refines to", _ED, np.nan),
        ("uniqueness_checked", "ed: 1 if the kernel dimension was decided; mpo: how", ("ed", "mpo"),
         _NO),
        ("spectrum_sector", "what the uniqueness decision covered (and the gap with "
         "gap_sectors = solved): the solved sector only, or the full operator space where every "
         "sector's kernel was counted (kernel_by_sector)", _ED, _NONE),
        ("kernel_by_sector", "the sectors holding kernel vectors of L and how many, where every "
         "sector was searched (with --gap, gap_sectors = all; without, where L <= 5); the "
         "solved one marked (solved); none: not searched (spectrum_sector)", _ED, _NONE),
        ("gap_sectors", "sectors the gap was searched in: all (every parity, momentum, "
         "reflection) or solved (none: no gap)", _ED, _NONE),
        ("gap_sector", "the sector of the gap, in words (ties named)", _ED, _NONE),
        ("gap_complete", "1: every sector's search converged; 0: not (gap NaN, gap_failures); "
         "-1: no gap", _ED, _NO),
        ("gap_failures", "the sectors whose search did not converge, and why", _ED, ""),
        ("gap_by_sector", "the gap of each sector searched (rows, how)", _ED, ""),
        ("gap_sectors_searched", "number of sectors in the gap (-1: no gap)", _ED, _NO),
        ("gap_kernel_dim", "dimension of the Liouvillian kernel summed over the sectors "
         "searched (the full space with gap_sectors = all; > 1: the steady state is not unique "
         "there; -1: not known)", _ED, _NO),
        ("gap_seconds", "time of the search of the other sectors (s)", _ED, np.nan),
        *[(name, OPTIONS[name].help, ("ed", "mpo") if name in ("max_trace_error",
                                                               "max_hermiticity_error") else _ED,
           np.nan)
          for name in ("max_residual", "max_trace_error", "max_hermiticity_error",
                       "positivity_tol", "max_error_estimate")],     # the options' own words
        ("basis_size", "rows of the Liouvillian in its sector", _ED, _NO),
        ("nnz", "nonzeros of the assembled matrix", _ED, _NO),
        ("assembly_seconds", "assembly time (s)", _ED, np.nan),
        ("liouvillian_scale", "scale of L: its largest matrix element (a rate)", _ED, np.nan),
        ("solver_iterations", "iterations of the linear solve (-1: it failed)", _ED, _NO),
        ("solve_seconds", "time of the linear solve (s)", _ED, np.nan),
        ("ksp_type", "PETSc KSP type of the solve (none: it failed)", _ED, _NONE),
        ("pc_type", "PETSc PC type of the solve (none: it failed)", _ED, _NONE),
        ("initial_guess", "the state file the iterative solve started from (--initial-guess) "
         "and the point it was saved at (none: a cold start from zero)", _ED, _NONE),
        ("initial_guess_residual", "||L' x0 - b|| / ||b|| of the initial guess, the residual "
         "GMRES started from (NaN: a cold start, where it is 1)", _ED, np.nan),
        ("initial_guess_note", "why a given initial guess was not used (empty: none given, or "
         "used)", _ED, ""),
        ("saved_state", "the state file the steady state was saved to (--save-state; none: not "
         "saved)", _ED, _NONE),
        ("probe_iterations", "iterations of the probe solve (-1: no probe)", _ED, _NO),
        ("probe_residual", "relative residual of the probe solve (NaN: no probe)", _ED, np.nan),
        ("probe_tol", "tolerance of the probe solve (NaN: no probe)", _ED, np.nan),
        ("probes", "every probe solve of the uniqueness decision with its numbers, in words "
         "(empty: none)", _ED, ""),
        ("shift_invert", "why the spectrum search factorised L (shift-and-invert) or why not "
         "(empty: no search)", _ED, ""),
        ("rightmost_eigenvalues", "rightmost eigenvalues found by the spectrum search (none: no "
         "search)", _ED, _NONE),
        ("undamped_coherences", "undamped coherences deflated (-1: no search)", _ED, _NO),
        ("uniqueness_method", "what decided uniqueness: probe solve, Krylov-Schur, "
         "shift-and-invert (none: not checked)", _ED, _NONE),
        ("uniqueness_seconds", "time of the uniqueness decision (s; NaN: not checked)", _ED,
         np.nan),
        ("unique", "1: unique; 0: non-unique (observables NaN; ED where only other sectors "
         "than the solved one hold the extra kernel vectors, kernel_by_sector: the observables "
         "of the solved sector's steady state, the one every initial state with its symmetries "
         "relaxes to); -1: not checked", ("ed", "mpo"), _NO),
        ("slowest_rate", "slowest relaxation rate used by error_estimate (NaN: not decided or "
         "non-unique)", _ED, np.nan),
        # cmf
        ("cluster_size", "sites of the mean-field cluster", _CMF, _NO),
        ("parity_symmetric_model", "1 if the model is parity symmetric", _CMF, _NO),
        ("kernel_dim_linear", "kernel dimension of the linear cluster Liouvillian", _CMF, _NO),
        ("t_evolution_symmetric", "evolution time to the symmetric solution (NaN: not evolved)",
         _CMF, np.nan),
        ("converged_symmetric", "1 if the symmetric evolution converged (-1: not evolved)", _CMF,
         _NO),
        ("cmf_residual_symmetric", "||F(rho)|| of the symmetric solution", _CMF, np.nan),
        ("stability_symmetric", "largest real part of the linearised spectrum, symmetric "
         "solution", _CMF, np.nan),
        ("t_evolution", "evolution time used", _CMF, np.nan),
        ("converged", "1 if converged", ("cmf", "mpo"), _NO),
        ("cmf_residual", "||F(rho)|| of the solution", _CMF, np.nan),
        ("newton_iterations", "Newton iterations", _CMF, _NO),
        ("stability", "largest real part of the linearised spectrum", _CMF, np.nan),
        ("abs_sm", "largest |<sigma^-_j>|", _CMF, np.nan),
        ("min_eig", "smallest eigenvalue of the cluster state", _CMF, np.nan),
        ("trace_error", "|Tr rho - 1| of the cluster state", _CMF, np.nan),
        ("distance_to_symmetric", "distance of the solution to the symmetric one (NaN: none)",
         _CMF, np.nan),
        ("branch", "symmetric or broken", _CMF, _NONE),
        ("branch_consistent", "1 if the branch agrees with the symmetric solution's stability "
         "(-1: no symmetric solution)", _CMF, _NO),
        ("min_eig_symmetric", "smallest eigenvalue of the symmetric cluster state", _CMF, np.nan),
        # ground
        ("degenerate", "1 if the ground level is degenerate", _GROUND, _NO),
        ("degeneracy", "degeneracy of the ground level", _GROUND, _NO),
        ("gap", "E1 - E0", _GROUND, np.nan),
        ("gap_above_ground_level", "gap above the (degenerate) ground level", _GROUND, np.nan),
        ("hilbert_dim", "dimension of the Hilbert space", _GROUND, _NO),
        ("degeneracy_tol", "energy tolerance of the degeneracy", _GROUND, np.nan),
        ("degeneracy_is_lower_bound", "1 if the degeneracy is only a lower bound", _GROUND, _NO),
        ("note", "a remark on the outcome (none: nothing to note)", _GROUND, _NONE),
        # mpo
        ("dt", "time step", _MPO, np.nan),
        ("dt_source", "given or the default", _MPO, _NONE),
        ("rate_scale", "fastest bond rate", _MPO, np.nan),
        ("chi", "maximum bond dimension", _MPO, _NO),
        ("chi_reached", "largest bond dimension of the state", _MPO, _NO),
        ("chi_max_during_run", "largest bond dimension during the run", _MPO, _NO),
        ("t_final", "final evolution time", _MPO, np.nan),
        ("steps", "time steps", _MPO, _NO),
        ("dt_final", "final time step", _MPO, np.nan),
        ("order", "Trotter order", _MPO, _NO),
        ("cutoff", "discarded weight per SVD", _MPO, np.nan),
        ("tol", "target relative residual", _MPO, np.nan),
        ("t_max", "longest evolution time", _MPO, np.nan),
        ("initial", "initial state", _MPO, _NONE),
        ("refine_sweeps", "refinement sweeps done", _MPO, _NO),
        ("max_sweeps", "most refinement sweeps", _MPO, _NO),
        ("lsqr_iters", "LSQR iterations per local problem", _MPO, _NO),
        ("target_residual", "relative residual refined to", _MPO, np.nan),
        ("tebd_residual", "residual after the time evolution", _MPO, np.nan),
        ("evolve_seconds", "time evolution time (s)", _MPO, np.nan),
        ("refine_seconds", "refinement time (s)", _MPO, np.nan),
        ("max_relative_residual", "threshold on relative_residual", _MPO, np.nan),
        ("bound_tol", "slack on the physical bounds", _MPO, np.nan),
        ("agreement_tol", "threshold on start_difference", _MPO, np.nan),
        ("spectral_kernel_tol", "eigenvalues of the projected Liouvillian below this x "
         "rate_scale count as zero (ED's kernel_tol); between it and kernel_tol a second "
         "kernel vector cannot be told from a slow mode", _MPO, np.nan),
        ("spectrum_bond", "bond whose two-site space gave the refined problem's spectrum", _MPO,
         _NO),
        ("spectrum_complete", "1 if that space is the whole operator space (the spectrum is "
         "exact)", _MPO, _NO),
        ("spectrum_unknowns", "unknowns of the projected problem", _MPO, _NO),
    ]
    out.update({n: Attribute(d, m, f) for n, d, m, f in table})
    return out


#: every attribute of a point file, by name
ATTRIBUTES: dict[str, Attribute] = _attributes()


#: the verification figures of the point files: (variable, which end is the worst, "max" or
#: "min", {method: the attribute that holds its threshold in that method's point files}). One
#: table for ``lindring show`` of a point file, the summary of a gathered study
#: (:func:`lindring.report.quicklook.verification`) and the gather, which keeps these
#: attributes per technique (:func:`lindring.workflow.gather.gather`). An MPO point's
#: ``error_estimate`` and ``start_difference`` are both held to ``--mpo-agreement``
#: (``agreement_tol``); its ``residual`` (``||L x|| / ||x||``, as ED's) has no threshold of its
#: own: ``relative_residual`` is the one bounded.
CHECKS = (
    ("residual", "max", {"ed": "max_residual"}),
    ("error_estimate", "max", {"ed": "max_error_estimate", "mpo": "agreement_tol"}),
    ("trace_error", "max", {"ed": "max_trace_error", "mpo": "max_trace_error"}),
    ("hermiticity_error", "max", {"ed": "max_hermiticity_error", "mpo": "max_hermiticity_error"}),
    ("min_eigenvalue", "min", {"ed": "positivity_tol"}),
    ("relative_residual", "max", {"mpo": "max_relative_residual"}),
    ("start_difference", "max", {"mpo": "agreement_tol"}),
)


def threshold_attributes() -> tuple[str, ...]:
    """Every attribute :data:`CHECKS` reads a threshold from, in table order."""
    return tuple(dict.fromkeys(a for _, _, by_method in CHECKS for a in by_method.values()))


def attribute_names(method: str) -> list[str]:
    """Every attribute a file of ``method`` has, whatever the outcome."""
    return [n for n, a in ATTRIBUTES.items() if method in a.methods]


def complete_attributes(method: str, attrs: dict, extra=()) -> dict:
    """``attrs`` with every attribute of ``method`` (:func:`attribute_names`): those an
    outcome did not set take their fill value. ``extra``: names a model file declares (its
    parameters and provenance, :meth:`lindring.core.modelfile.ModelPoint.as_attrs`).

    Raises
    ------
    KeyError
        An attribute the schema does not declare for ``method`` (add it to the table).
    """
    wrong = sorted(k for k in attrs if k not in extra
                   and (k not in ATTRIBUTES or method not in ATTRIBUTES[k].methods))
    if wrong:
        raise KeyError(f"the output schema does not declare attribute(s) {', '.join(wrong)} for "
                       f"method {method}")
    return {**{n: ATTRIBUTES[n].fill for n in attribute_names(method)}, **attrs}


def describe(name: str, extra: dict | None = None) -> tuple[Variable, str]:
    """The schema entry of ``name`` (a variable or a variant of one) and the variant's words
    (``""`` for a plain variable). ``KeyError`` for a name not in the schema.

    ``extra``: variables declared by a model file (name -> :class:`Variable`,
    ``ModelPoint.output_variables``), which never shadow the table's names.
    """
    if extra and name in extra and name not in VARIABLES:
        return extra[name], ""
    for suffix, (_, words, _bases) in VARIANTS.items():
        if name.endswith(suffix) and name[:-len(suffix)] in VARIABLES:
            return VARIABLES[name[:-len(suffix)]], words
    return VARIABLES[name], ""


def data_vars(method: str, values: dict, extra: dict | None = None) -> dict:
    """A method's results as ``name -> (dims, array)``, dims from the schema.

    Parameters
    ----------
    method : str
        The method writing them (``ed``, ``cmf``, ``ground``, ``mpo``).
    values : dict
        Name -> value (scalar or array; ``None`` is left out).
    extra : dict, optional
        Variables a model file declares (see :func:`describe`).

    Raises
    ------
    KeyError
        A name the schema does not declare for ``method`` (add it to :data:`VARIABLES`).
    ValueError
        A value whose number of dimensions differs from the schema's.
    """
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        var, _ = describe(name, extra)
        declared = (extra and name in extra and name not in VARIABLES) or \
            name in variable_names(method, range=2)
        if not declared:
            raise KeyError(f"the output schema does not declare {name!r} for method {method}")
        value = np.asarray(value)
        if value.ndim != len(var.dims):
            raise ValueError(f"{name}: {value.ndim} dimensions, the schema says {var.dims}")
        out[name] = (var.dims, value)
    return out

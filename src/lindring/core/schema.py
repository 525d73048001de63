"""The output schema: one table of every variable any method writes.

Each variable is declared once: long name, units, dimensions and the methods that write it. The
methods build their results with :func:`data_vars` (which refuses a variable the table does not
declare for that method), and the files (:mod:`lindring.io.results`) take long names and units
from the same table. Dimensions: ``bond`` (b: sites b, b+1; L bonds on rings, L - 1 on open
chains, 2 for the mean field's unit cell), ``site`` (j), ``pair`` (the dissipative pairs
(b, b + range) of range 2).
"""
from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Variable:
    """One output variable: ``long_name``, ``units``, ``dims``, ``methods`` that write it."""
    long_name: str
    units: str
    dims: tuple
    methods: tuple


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
    "degeneracy": Variable("ground-state degeneracy", "1", (), ("ground",)),
    "residual": Variable("residual of the steady state: ED ||L(rho)|| / (scale ||rho||) (scale: "
                         "liouvillian_scale); MPO ||L(x)|| (relative_residual: / (||x|| "
                         "rate_scale))", "1", (), _CHECKED),
    "relative_residual": Variable("||L(x)|| / (||x|| rate_scale) of the MPO steady state", "1",
                                  (), ("mpo",)),
    "discarded_weight": Variable("weight discarded by the MPO truncations", "1", (), ("mpo",)),
    "trace_error": Variable("|Tr rho - 1|", "1", (), _CHECKED),
    "evolution_trace_error": Variable("largest |Tr rho - 1| during the MPO time evolution", "1",
                                      (), ("mpo",)),
    "error_estimate": Variable("estimated relative error of rho: residual x scale / slowest_rate "
                               "(attribute; NaN: uniqueness not decided)", "1", (), _CHECKED),
    "hermiticity_error": Variable("||rho - rho^+|| / ||rho||", "1", (), _CHECKED),
    "imag_error": Variable("largest imaginary part of a real MPO observable", "1", (), ("mpo",)),
    "start_difference": Variable("largest difference of the observables of the MPO's two starts",
                                 "1", (), ("mpo",)),
    "slow_rate_bound": Variable("||L(x1 - x2)|| / ||x1 - x2|| of the two starts' states, relative "
                                "to rate_scale: a bound on the slowest rate seen (NaN: the "
                                "starts agreed, not computed)", "1", (), ("mpo",)),
    "slow_rate_seen": Variable("slowest relaxation rate of the MPO's refined problem (second "
                               "eigenvalue of the projected Liouvillian), relative to rate_scale",
                               "1", (), ("mpo",)),
    "min_eigenvalue": Variable("smallest eigenvalue of rho (small L only)", "1", (), ("ed",)),
    "kernel_dim": Variable("dimension of the Liouvillian kernel (-1: not checked)", "1", (),
                           _CHECKED),
    "gap": Variable("Liouvillian gap: -Re(lambda) of the rightmost nonzero eigenvalue (NaN: not "
                    "computed)", "1", (), ("ed",)),
}
#: suffixes of variants of a variable, with the method that writes them and their meaning
VARIANTS = {"_symmetric": ("cmf", "symmetric solution"), "_mixed": ("ground", "mixed solution")}


def describe(name: str, extra: dict | None = None) -> tuple[Variable, str]:
    """The schema entry of ``name`` (a variable or a variant of one) and the variant's words
    (``""`` for a plain variable). ``KeyError`` for a name not in the schema.

    ``extra``: variables declared by a model file (name -> :class:`Variable`,
    ``ModelPoint.output_variables``), which never shadow the table's names.
    """
    if extra and name in extra and name not in VARIABLES:
        return extra[name], ""
    for suffix, (_, words) in VARIANTS.items():
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
        variant = None if extra and name in extra and name not in VARIABLES else next(
            (s for s in VARIANTS if name.endswith(s) and name != name[:-len(s)]
             and name[:-len(s)] in VARIABLES), None)
        writers = (VARIANTS[variant][0],) if variant else var.methods
        if method not in writers or method not in var.methods:
            raise KeyError(f"the output schema does not declare {name!r} for method {method}")
        value = np.asarray(value)
        if value.ndim != len(var.dims):
            raise ValueError(f"{name}: {value.ndim} dimensions, the schema says {var.dims}")
        out[name] = (var.dims, value)
    return out

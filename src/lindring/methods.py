"""The methods of ``lindring solve``: each turns validated parameters into named results.

Every method returns ``(data_vars, attrs)``: ``data_vars`` maps a variable name to
``(dims, values)`` with dims among ``bond`` and ``site`` (see :mod:`lindring.results`), ``attrs``
holds method-specific metadata. Data flows one way: parameters -> operator -> steady state ->
observables -> verification -> file.
"""
from __future__ import annotations

import dataclasses
import sys
import time
import warnings

import numpy as np

from . import model
from .basis import make_basis, resolve_symmetry, transpose_words
from .observables import (GATHER_MAX_L, LocalState, gathered_density_matrix, negativity,
                          steady_observables)
from .steady import Tolerances, resolve_solver, spectrum_near_zero, steady_state

METHODS = ("ed", "cmf", "ground", "mpo")
#: boundaries each method supports
METHOD_BC = {"ed": ("ring", "open"), "cmf": ("ring",), "ground": ("ring", "open"),
             "mpo": ("open",)}
#: basis size up to which ed checks uniqueness of the steady state by default (full space: L = 8)
UNIQUE_CHECK_MAX_SIZE = 4 ** 8


class VerificationError(RuntimeError):
    """A computed steady state failed its checks; nothing is written."""


@dataclasses.dataclass
class Thresholds:
    """Acceptance thresholds of a steady state (all options of ``lindring solve``)."""
    residual: float = 1e-9        # ||L rho|| / ||rho||
    trace: float = 1e-10          # |Tr rho - 1|
    hermiticity: float = 1e-8     # ||rho - rho^+|| / ||rho||
    positivity: float = 1e-8      # smallest eigenvalue of rho >= -positivity (L <= 8)


def check_method_bc(method: str, bc: str) -> None:
    if method not in METHOD_BC:
        raise model.ModelError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if bc not in METHOD_BC[method]:
        raise model.ModelError(f"method {method!r} does not support bc={bc!r} "
                               f"(supported: {', '.join(METHOD_BC[method])})")


def _say(comm, msg):
    if comm.Get_rank() == 0:
        print(msg, file=sys.stderr, flush=True)


def _nan_observables(p: model.Params) -> dict:
    nb = p.n_bonds
    return dict(current_eta=np.full(nb, np.nan), current_J=np.full(nb, np.nan),
                sz=np.full(p.L, np.nan), purity=np.nan, purity_pair=np.nan,
                negativity_pair=np.nan)


def _values_at(x, index: np.ndarray) -> np.ndarray:
    """Entries ``x[index]`` of a distributed PETSc vector, fetched from whichever rank holds them."""
    from .petsc import init
    PETSc, _ = init()
    src = PETSc.IS().createGeneral(np.asarray(index).astype(PETSc.IntType), comm=PETSc.COMM_SELF)
    y = PETSc.Vec().createSeq(len(index), comm=PETSc.COMM_SELF)
    dst = PETSc.IS().createStride(len(index), 0, 1, comm=PETSc.COMM_SELF)
    PETSc.Scatter().create(x, src, y, dst).scatter(x, y, PETSc.InsertMode.INSERT_VALUES)
    return y.getArray().copy()


def _hermiticity_error(x, basis, rows, values) -> float:
    """``||x - (x^T)^*||^2`` on this rank's rows, x^T fetched from whichever rank holds it."""
    tw, _ = basis.locate(transpose_words(basis.words(rows), basis.L))
    d = values - np.conj(_values_at(x, tw))
    return float(np.vdot(d, d).real)


def _liouvillian_times(Ac, x, p, basis):
    """``L x`` from the trace-constrained matrix: ``Ac`` is L with row 0 replaced by the trace
    functional, so row 0 of L is built again (one row) and applied to the entries it needs.
    This keeps a single matrix in memory."""
    from .liouvillian import rows_block
    r = Ac.createVecLeft()
    Ac.mult(x, r)
    row0 = rows_block(p, basis, np.zeros(1, dtype=np.int64))
    value = np.dot(row0.data, _values_at(x, row0.indices))   # collective: every rank fetches
    if r.getOwnershipRange()[0] == 0:
        r.setValue(0, value)
    r.assemble()
    return r


def run_ed(p: model.Params, solver="auto", tol: Tolerances | None = None,
           thresholds: Thresholds | None = None, gap=False, check_unique=None, symmetry="auto"):
    """Exact steady state of Eq. 11 on a ring or open chain (distributed over MPI ranks).

    ``symmetry`` (``auto``, ``none``, ``parity``, ``momentum``, ``parity+momentum``) restricts the
    Liouvillian to the sector of the steady state (basis.py); ``auto`` takes every symmetry the
    model has. The uniqueness check and the gap then cover that sector only (attribute
    ``spectrum_sector``): a second steady state in another sector is not seen.
    """
    from .liouvillian import assemble
    from .petsc import init
    PETSc, _ = init()
    tol = tol or Tolerances()
    thresholds = thresholds or Thresholds()
    comm = PETSc.COMM_WORLD.tompi4py()
    try:
        sector = resolve_symmetry(p, symmetry)
    except ValueError as err:
        raise model.ModelError(str(err)) from None
    t0 = time.time()
    basis = make_basis(p.L, sector, comm)
    if sector != "none":
        _say(comm, f"[basis] sector {sector}: {basis.size} of {4 ** p.L} rows "
                   f"in {time.time() - t0:.1f}s")
    if check_unique is None:
        check_unique = basis.size <= UNIQUE_CHECK_MAX_SIZE
    name = resolve_solver(solver, p.L, basis.size)
    attrs = dict(solver=name, symmetry=basis.name, rtol=tol.rtol, kernel_tol=tol.kernel_tol,
                 uniqueness_checked=int(bool(check_unique or gap)),
                 spectrum_sector=_sector_description(sector) if (check_unique or gap) else "")

    def build(trace_row):
        t0 = time.time()
        M = assemble(p, basis, trace_row=trace_row)
        nnz = int(M.getInfo(PETSc.Mat.InfoType.GLOBAL_SUM)["nz_used"])
        attrs.update(basis_size=basis.size, nnz=nnz, assembly_seconds=time.time() - t0)
        _say(comm, f"[assemble] {basis.size} rows, {nnz} nonzeros "
                   f"in {time.time() - t0:.1f}s on {comm.Get_size()} rank(s)")
        return M

    kernel_dim, gap_value = -1, np.nan
    if check_unique or gap:
        A = build(trace_row=False)
        kernel_dim, gap_value, lams = spectrum_near_zero(A, tol)
        attrs["rightmost_eigenvalues"] = ", ".join(f"{z.real:.6e}{z.imag:+.6e}j" for z in lams)
        A.destroy()                     # one matrix in memory at a time
    if kernel_dim > 1:
        msg = (f"non-unique steady state: the Liouvillian kernel has dimension {kernel_dim}; "
               "observables written as NaN")
        _say(comm, "WARNING: " + msg)
        warnings.warn(msg)
        obs = _nan_observables(p)
        checks = dict(residual=np.nan, trace_error=np.nan, hermiticity_error=np.nan,
                      min_eigenvalue=np.nan)
        attrs["unique"] = 0
    else:
        Ac = build(trace_row=True)
        x, sinfo = steady_state(Ac, name, p.L, tol)
        attrs.update(sinfo)
        r = _liouvillian_times(Ac, x, p, basis)
        rows = np.arange(*x.getOwnershipRange(), dtype=np.int64)
        values = x.getArray().copy()
        state = LocalState(*basis.expand(rows, values), p.L, comm)
        xnorm = x.norm()
        checks = dict(residual=r.norm() / xnorm, trace_error=abs(state.trace() - 1),
                      hermiticity_error=np.sqrt(comm.allreduce(
                          _hermiticity_error(x, basis, rows, values))) / xnorm,
                      min_eigenvalue=np.nan)
        obs = steady_observables(state, p)
        if p.L <= GATHER_MAX_L:
            rho = gathered_density_matrix(state)
            if rho is not None:
                rho = 0.5 * (rho + rho.conj().T)
                checks["min_eigenvalue"] = float(np.linalg.eigvalsh(rho)[0])
                obs["negativity_half"] = negativity(rho, 2 ** (p.L // 2))
            checks["min_eigenvalue"] = comm.bcast(checks["min_eigenvalue"])
            obs["negativity_half"] = comm.bcast(obs.get("negativity_half"))
        attrs["unique"] = 1 if kernel_dim == 1 else -1  # -1: not checked
        _say(comm, "[verify] residual {residual:.2e}  |Tr-1| {trace_error:.2e}  "
                   "herm {hermiticity_error:.2e}  min eig {min_eigenvalue:.2e}".format(**checks))
        verify(checks, thresholds)
    obs.update(checks)
    obs["kernel_dim"] = kernel_dim
    obs["gap"] = gap_value
    return _to_vars(obs), attrs


def _sector_description(sector: str) -> str:
    """What the uniqueness check and the gap covered, in words (written to the file)."""
    parts = {"none": "the full operator space",
             "parity": "the parity-even sector (P rho P = rho) only",
             "momentum": "the momentum-zero sector (T rho T^+ = rho) only",
             "parity+momentum": "the parity-even, momentum-zero sector only"}
    return parts[sector]


def verify(checks: dict, th: Thresholds) -> None:
    """Raise :class:`VerificationError` naming every failed check."""
    bad = []
    if not checks["residual"] <= th.residual:
        bad.append(f"residual ||L rho||/||rho|| = {checks['residual']:.3e} > {th.residual:g}")
    if not checks["trace_error"] <= th.trace:
        bad.append(f"|Tr rho - 1| = {checks['trace_error']:.3e} > {th.trace:g}")
    if not checks["hermiticity_error"] <= th.hermiticity:
        bad.append(f"||rho - rho^+||/||rho|| = {checks['hermiticity_error']:.3e} > {th.hermiticity:g}")
    me = checks.get("min_eigenvalue", np.nan)
    if np.isfinite(me) and me < -th.positivity:
        bad.append(f"smallest eigenvalue of rho = {me:.3e} < -{th.positivity:g}")
    if bad:
        raise VerificationError("steady state failed verification: " + "; ".join(bad))


def _to_vars(obs: dict) -> dict:
    """ED observables as ``name -> (dims, values)``."""
    dims = {"current_eta": ("bond",), "current_J": ("bond",), "sz": ("site",)}
    return {k: (dims.get(k, ()), np.asarray(v)) for k, v in obs.items() if v is not None}


def run_method(method: str, p: model.Params, **options):
    """Dispatch to a method by name (``ed``, ``cmf``, ``ground``, ``mpo``)."""
    check_method_bc(method, p.bc)
    if method == "ed":
        return run_ed(p, **options)
    if method == "cmf":
        from .meanfield import cmf_observables
        return cmf_observables(p)
    if method == "ground":
        from .ground import ground_observables
        return ground_observables(p)
    if method == "mpo":
        from .mpo import MPOFailure, mpo_observables
        try:
            return mpo_observables(p, **options)
        except MPOFailure as err:       # blow-up, not converged, chi too small, check failed
            raise VerificationError(str(err)) from None
    raise model.ModelError(f"unknown method {method!r}")

"""Steady state of the Liouvillian: null vector with trace 1, uniqueness, and the gap.

Solvers are chosen by name, like QuTiP's ``steadystate``:

``direct``
    MUMPS LU (parallel) of the trace-constrained system ``L' x = e_0``, where the first row of L
    (the equation for the diagonal element |0..0><0..0|) is replaced by the trace functional.
    Since the rows of L for the diagonal elements sum to zero (trace preservation), the
    replaced equation is implied by the others, and L' is regular exactly when the kernel of L
    is one-dimensional.
``iterative``
    Restarted GMRES on the same system with a block-Jacobi/ILU preconditioner (all PETSc
    ``-ksp_*``/``-pc_*`` options apply); memory stays at the size of the matrix.
``auto``
    ``direct`` while the LU fits comfortably (4^L <= 4^AUTO_DIRECT_MAX_L), else ``iterative``.

Uniqueness and the gap (:func:`spectrum_near_zero`) come from SLEPc Krylov-Schur for the
eigenvalues of L with the largest real part (all have Re <= 0). Their number below
``kernel_tol`` is the kernel dimension; the largest real part among the others is -gap (the
slowest relaxation rate).
"""
from __future__ import annotations

import dataclasses
import sys
import time

import numpy as np

from .petsc import init

#: largest L for which ``auto`` picks the direct solver (measured: benchmarks/README.md)
AUTO_DIRECT_MAX_L = 6
SOLVERS = ("auto", "direct", "iterative")


class SolverError(RuntimeError):
    """The solver did not converge or the problem is ill-posed."""


@dataclasses.dataclass
class Tolerances:
    rtol: float = 1e-12          # KSP relative tolerance (iterative)
    residual_target: float = 1e-10  # iterative: refine until ||L' x - e_0|| / ||x|| <= this
    max_it: int = 20000          # KSP iterations (iterative)
    restart: int = 200           # GMRES restart (iterative)
    kernel_tol: float = 1e-8     # |lambda| below this (relative to ||L||) counts as kernel
    eps_tol: float = 1e-10       # SLEPc tolerance for the spectrum near zero
    nev: int = 4                 # rightmost eigenvalues to compute (uniqueness, gap)
    eps_max_it: int = 5000       # Krylov-Schur restarts


def _rank0_print(comm, *args):
    if comm.getRank() == 0:
        print(*args, file=sys.stderr, flush=True)


def _progress_monitor(comm, label, every_s=2.0):
    """A KSP/EPS monitor that prints on rank 0 at most every ``every_s`` seconds."""
    last = [0.0]
    t0 = time.time()

    def monitor(obj, its, rnorm, *extra):
        now = time.time()
        if its == 0 or now - last[0] >= every_s:
            last[0] = now
            _rank0_print(comm, f"[{label}] it {its:6d}  residual {float(np.real(rnorm)):.3e}  "
                               f"t={now - t0:.1f}s")
    return monitor


def resolve_solver(name: str, L: int, size: int | None = None) -> str:
    """Map a solver name (``auto`` included) to ``direct`` or ``iterative``; ``auto`` is direct
    while the basis (``size``, default the full 4^L) has at most 4^AUTO_DIRECT_MAX_L rows."""
    if name not in SOLVERS:
        raise ValueError(f"unknown solver {name!r}; choose one of {', '.join(SOLVERS)}")
    if name == "auto":
        size = 4 ** L if size is None else size
        return "direct" if size <= 4 ** AUTO_DIRECT_MAX_L else "iterative"
    return name


def solve_direct(Lc, tol: Tolerances):
    """Steady state by MUMPS LU of the trace-constrained matrix ``Lc``."""
    PETSc, _ = init()
    ksp = PETSc.KSP().create(comm=Lc.getComm())
    ksp.setOperators(Lc)
    ksp.setType("preonly")
    pc = ksp.getPC()
    pc.setType("lu")
    pc.setFactorSolverType("mumps")
    ksp.setFromOptions()
    return _solve(ksp, Lc, "direct")


def solve_iterative(Lc, tol: Tolerances):
    """Steady state by preconditioned GMRES on the trace-constrained matrix ``Lc``."""
    PETSc, _ = init()
    ksp = PETSc.KSP().create(comm=Lc.getComm())
    ksp.setOperators(Lc)
    ksp.setType("gmres")
    ksp.setGMRESRestart(tol.restart)
    ksp.getPC().setType("bjacobi")
    ksp.setPCSide(PETSc.PC.Side.RIGHT)          # monitor and test the true residual
    ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
    ksp.setTolerances(rtol=tol.rtol, atol=0.0, max_it=tol.max_it)
    ksp.setMonitor(_progress_monitor(Lc.getComm(), ksp.getType()))
    ksp.setFromOptions()
    return _solve(ksp, Lc, "iterative", refine_to=tol.residual_target)


def _solve(ksp, Lc, label, refine_to=None):
    """Solve ``Lc x = e_0``. With ``refine_to``, tighten the tolerance and continue from x until
    ``||Lc x - e_0|| / ||x|| <= refine_to`` (the trace-normalised x is small, ~2^(-L/2), so a
    relative tolerance on the right-hand side alone is not enough)."""
    PETSc, _ = init()
    x, b = Lc.createVecs()
    b.set(0.0)
    if b.getOwnershipRange()[0] == 0:
        b.setValue(0, 1.0)
    b.assemble()
    t0 = time.time()
    its = 0
    r = b.duplicate()
    for attempt in range(4):
        try:
            ksp.solve(b, x)
        except PETSc.Error as err:
            raise SolverError(f"{label} solve failed in PETSc (error {err.ierr}); "
                              "a singular system means the steady state is not unique") from err
        its += ksp.getIterationNumber()
        reason = ksp.getConvergedReason()
        if reason < 0:
            raise SolverError(f"{label} solver did not converge (KSP reason {reason}, {its} "
                              f"iterations, residual {ksp.getResidualNorm():.3e}); try more "
                              "iterations (--max-it), another -ksp_type/-pc_type, or --solver direct")
        if refine_to is None:
            break
        Lc.mult(x, r)
        r.axpy(-1.0, b)
        ratio = r.norm() / x.norm()
        if ratio <= refine_to:
            break
        rtol = ksp.getTolerances()[0]
        ksp.setTolerances(rtol=max(rtol * refine_to / ratio * 0.1, 1e-15))
        ksp.setInitialGuessNonzero(True)
        _rank0_print(Lc.getComm(), f"[{label}] ||r||/||x|| = {ratio:.2e} > {refine_to:.1e}: "
                                   f"continuing with rtol {ksp.getTolerances()[0]:.1e}")
    info = dict(solver_iterations=int(its), solve_seconds=time.time() - t0,
                ksp_type=ksp.getType(), pc_type=ksp.getPC().getType())
    return x, info


SOLVE = {"direct": solve_direct, "iterative": solve_iterative}


def steady_state(Lc, solver: str, L: int, tol: Tolerances | None = None):
    """The steady state (trace 1) from the trace-constrained Liouvillian; returns (vec, info)."""
    tol = tol or Tolerances()
    name = resolve_solver(solver, L)
    x, info = SOLVE[name](Lc, tol)
    info["solver"] = name
    return x, info


def spectrum_near_zero(A, tol: Tolerances | None = None):
    """Rightmost eigenvalues of the Liouvillian ``A`` (SLEPc Krylov-Schur, largest real part).

    Returns ``(kernel_dim, gap, eigenvalues)``: the number of eigenvalues with
    ``|lambda| < kernel_tol * ||A||_inf``, the gap ``-max Re lambda`` over the others (the
    slowest relaxation rate; NaN if none was found), and all eigenvalues computed. Only
    matrix-vector products are needed (no factorisation), so this scales like the iterative
    solver; ``-eps_*`` and ``-st_*`` options override the defaults (e.g. ``-st_type sinvert``).
    """
    tol = tol or Tolerances()
    PETSc, SLEPc = init()
    comm = A.getComm()
    eps = SLEPc.EPS().create(comm=comm)
    eps.setOperators(A)
    eps.setProblemType(SLEPc.EPS.ProblemType.NHEP)
    eps.setType(SLEPc.EPS.Type.KRYLOVSCHUR)
    eps.setDimensions(nev=tol.nev, ncv=max(4 * tol.nev, 32))
    eps.setWhichEigenpairs(SLEPc.EPS.Which.LARGEST_REAL)
    eps.setTolerances(tol=tol.eps_tol, max_it=tol.eps_max_it)
    eps.setMonitor(_progress_monitor_eps(comm))
    eps.setFromOptions()
    scale = A.norm(PETSc.NormType.INFINITY)
    cutoff = tol.kernel_tol * max(1.0, scale)
    # A Krylov space holds only one direction of each eigenspace, and eigenvalues on the
    # imaginary axis (undamped coherences, e.g. +-i mu beside a dark state) tie with zero for
    # "largest real part". So after each solve the eigenvectors with Re(lambda) ~ 0 are
    # deflated and the solve repeated, until a solve finds nothing more on the imaginary axis.
    t0 = time.time()
    deflate, found = [], []
    kernel_dim = 0
    for _ in range(16):
        if deflate:
            eps.setDeflationSpace(deflate)
            eps.setDimensions(nev=2, ncv=max(2 * tol.nev, 16))
        eps.solve()
        nconv = eps.getConverged()
        if nconv < 2 and not found:
            raise SolverError(f"SLEPc converged only {nconv} eigenvalue(s) of the Liouvillian; "
                              "cannot check uniqueness (try -eps_ncv 128 -eps_max_it 10000)")
        on_axis = 0
        for i in range(nconv):
            lam = eps.getEigenvalue(i)
            found.append(lam)
            if abs(lam.real) < cutoff:
                v = A.createVecRight()
                eps.getEigenvector(i, v)
                deflate.append(v)
                on_axis += 1
                kernel_dim += abs(lam) < cutoff
        if on_axis == 0:
            break
    lams = np.array(found, dtype=complex)
    lams = lams[np.argsort(-lams.real)]
    _rank0_print(comm, f"[spectrum] rightmost eigenvalues in {time.time() - t0:.1f}s: "
                       + ", ".join(f"{z.real:.3e}{z.imag:+.3e}j" for z in lams[:8]))
    in_kernel = np.abs(lams) < cutoff
    others = lams[~in_kernel]
    gap = float(-others.real.max()) if others.size else float("nan")
    return kernel_dim, gap, lams


def _progress_monitor_eps(comm, every_s=2.0):
    last = [time.time()]

    def monitor(eps, its, nconv, eig, err):
        now = time.time()
        if now - last[0] >= every_s:
            last[0] = now
            _rank0_print(comm, f"[spectrum] restart {its}  converged {nconv}")
    return monitor

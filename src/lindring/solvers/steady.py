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
    ``-ksp_*``/``-pc_*`` options apply); the restart keeps the Krylov basis within the memory
    of the matrix (:func:`gmres_restart`).
``auto``
    ``direct`` while the LU fits comfortably (4^L <= 4^AUTO_DIRECT_MAX_L), else ``iterative``.

Every tolerance is relative to the scale of the problem, the largest matrix
element of L (a rate, computed at assembly): scaling every rate by s leaves every decision unchanged.
The trace row of the constrained system is multiplied by that scale too, so that ``L'`` is
homogeneous in s.

Uniqueness is decided first by probe solves (:func:`probe_nonsingular`): L' is regular exactly
when the kernel is one-dimensional, and a probe with a Gaussian right-hand side converges only on
a regular L'. Each probe gets :func:`probe_budget` iterations; the first uses the solver of the
steady state, a second the no-jump preconditioner where the first was ILU(0)
(:func:`lindring.solvers.methods._probe_stages`). Where no probe decides, and for the gap,
:func:`decide_kernel` searches the spectrum: with shift-and-invert (a MUMPS factorisation) where
it fits (:func:`sinvert_refusal`: rows and planned memory), else with SLEPc Krylov-Schur for the
eigenvalues of L with the largest real part (all have Re <= 0), with the steady state already
found deflated: the first eigenvalue left is either a second kernel vector (|lambda| below
``kernel_tol`` times the scale), an undamped coherence on the imaginary axis (deflated in turn,
and the search repeated), or -gap. The probe adds 38-47 % to the time of the solve at L = 10-12,
the search 140-240 % (benchmarks/README.md); where nothing decides, the error says so with the
numbers of every step (:func:`lindring.solvers.methods.undecided_message`).
"""
from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np

from lindring.core.options import OPTIONS
from lindring.solvers.petsc import init

from lindring.core.diagnostics import get_logger

log = get_logger(__name__)

#: largest L for which ``auto`` picks the direct solver (measured: benchmarks/README.md)
AUTO_DIRECT_MAX_L = 6
SOLVERS = ("auto", "direct", "iterative")


class SolverError(RuntimeError):
    """The solver did not converge or the problem is ill-posed."""


class PrecisionError(SolverError):
    """Double precision cannot decide the question at this point in any operator basis (rates
    too far apart for the kernel cutoff): not retried in another basis."""


@dataclasses.dataclass
class Tolerances:
    """Solver tolerances, each relative to the scale of L (its largest matrix element)."""
    rtol: float = OPTIONS["rtol"].default  # KSP relative tolerance (iterative)
    residual_target: float = 1e-12  # iterative: refine until ||L' x - b|| / (scale ||x||) <= this
    max_it: int = OPTIONS["max_it"].default  # KSP iterations (iterative)
    restart: int | None = None   # GMRES restart (iterative); None: gmres_restart(), by memory
    kernel_tol: float = 1e-12    # |lambda| / scale below this counts as kernel
    eps_tol: float = 1e-10       # SLEPc residual / scale for the gap (--gap)
    margin: float = 10.0         # on the axis: residual below kernel_tol / margin * scale
    nev: int = 4                 # eigenvalues per Krylov-Schur search (the rightmost decides;
                                 # one eigenvalue per search missed a double zero at mu = 1e4)
    ncv: int = 16                # Krylov-Schur subspace size, doubled while nothing converges
    ncv_max: int = 256           # ... up to this
    eps_max_it: int = 500        # Krylov-Schur restarts per attempt
    probe_max_it: int | None = None   # iterations of each probe solve; None: probe_budget()
    sinvert_max_rows: int | None = None  # largest system the uniqueness decision may factorise
                                         # (MUMPS); None: SINVERT_MAX_ROWS; 0: never

    @property
    def rate_resolution(self) -> float:
        """The smallest ratio of two rates of the model at which a kernel of dimension > 1 is
        called "non-unique" rather than "cannot decide": ``kernel_tol ** (1/3)``. Slow modes
        made by a small rate r next to a large jump rate R are of order R (r/R)^k: up to third order
        they lie above the kernel cutoff when r/R >= this. Measured (L = 4-6, rings and open
        chains): alpha 2, delta 1.5, mu 1e-6 has an eigenvalue 1.6e-13 (5e-15 of the scale),
        alpha 300, delta 1.5, mu 1 one of 5e-10 (7e-16 of the scale): both below the cutoff,
        both within a factor 10 of the rounding of true zeros; r/R = 2.5e-7 and 1.1e-5."""
        return self.kernel_tol ** (1 / 3)


#: bounds of the GMRES restart chosen by :func:`gmres_restart`
RESTART_MIN, RESTART_MAX = 30, 200
#: vectors GMRES keeps beside its Krylov basis (PETSc: work vectors), for the budget
KRYLOV_EXTRA = 5
#: memory the Krylov basis may always take (bytes), however small the matrix
KRYLOV_FLOOR_BYTES = 256 * 2 ** 20


def gmres_restart(rows: int, nnz: int, value_bytes: int, index_bytes: int = 8) -> int:
    """The GMRES restart whose Krylov basis (``restart + KRYLOV_EXTRA`` vectors of ``rows``
    values) takes at most the memory of the matrix (``nnz`` values and indices) or
    ``KRYLOV_FLOOR_BYTES``, whichever is larger, within ``RESTART_MIN .. RESTART_MAX``: with the
    ILU(0) copy, a large solve then holds at most three times the matrix, and a small one keeps
    GMRES(200) (measured: at open L = 7, 16,384 rows, GMRES(30) left the probe solve at 3e-7
    after the solve's 63 iterations, GMRES(200) converged it in 59). Measured (benchmarks/README.md, issue 14; L = 12 Pauli sector, real build,
    ILU(0)): GMRES(20) 116 iterations, (30) 74, (40) 67, (60) 51, (200) 51, at the same time per
    iteration within 20 %; LGMRES(30) 84; BiCGStab, BiCGStab(2) and TFQMR break down on the
    right-hand side ``e_0``. The rule gives 86 there (the floor: 2.8 MB per vector), 55 at
    L = 13 and 60 at L = 14 (2.5 GB of vectors, the 12 GB target kept)."""
    budget = max(nnz * (value_bytes + index_bytes), KRYLOV_FLOOR_BYTES)
    m = int(budget / (max(rows, 1) * value_bytes)) - KRYLOV_EXTRA
    return max(RESTART_MIN, min(RESTART_MAX, m))


def _progress_monitor(label, every_s=2.0):
    """A KSP monitor: the residual at INFO at most every ``every_s`` seconds, at DEBUG
    (``--verbose``) every iteration. (The handler shows rank 0 only: :mod:`lindring.api`.)"""
    last = [0.0]
    t0 = time.time()

    def monitor(obj, its, rnorm, *extra):
        now = time.time()
        level = logging.INFO if its == 0 or now - last[0] >= every_s else logging.DEBUG
        if log.isEnabledFor(level):
            if level == logging.INFO:
                last[0] = now
            log.log(level, f"[{label}] it {its:6d}  residual {float(np.real(rnorm)):.3e}  "
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


#: PETSc error codes (petscerror.h) seen from these solvers, in words, with what to change
PETSC_ERRORS = {
    55: ("out of memory", "use more MPI ranks, a sector (--symmetry auto), or --solver iterative"),
    56: ("operation not supported by this matrix or solver", "change -ksp_type/-pc_type"),
    62: ("invalid argument", "check the one-dash PETSc options"),
    71: ("zero pivot in the factorisation", "the matrix is singular or needs pivoting: "
         "try --solver iterative or -pc_factor_shift_type nonzero"),
    73: ("object in the wrong state", "check the one-dash PETSc options"),
    76: ("error in an external library (MUMPS)", "try --solver iterative, or more memory "
         "(-mat_mumps_icntl_14 50)"),
    77: ("error in a PETSc library routine", "try another -ksp_type/-pc_type or --solver"),
    82: ("the solver diverged or broke down", "try another -ksp_type/-pc_type or --solver"),
    86: ("unknown type name", "check the -ksp_type/-pc_type/-eps_type value"),
    92: ("the requested factorisation package is not in this PETSc build",
         "choose another -pc_factor_mat_solver_type (mumps is built in)"),
}


def petsc_error_message(label: str, err) -> str:
    """Words for a PETSc error raised in the solve of ``label``, naming the option to change."""
    code = getattr(err, "ierr", None)
    what, advice = PETSC_ERRORS.get(code, ("PETSc error", "see the PETSc message above"))
    return f"{label} solve failed: PETSc error {code} ({what}); {advice}"


def solve_direct(Lc, tol: Tolerances, scale: float = 1.0):
    """Steady state by MUMPS LU of the trace-constrained matrix ``Lc``."""
    PETSc, _ = init()
    ksp = PETSc.KSP().create(comm=Lc.getComm())
    ksp.setOperators(Lc)
    ksp.setType("preonly")
    pc = ksp.getPC()
    pc.setType("lu")
    pc.setFactorSolverType("mumps")
    ksp.setFromOptions()
    try:
        return _solve(ksp, Lc, "direct", scale), ksp
    except BaseException:
        ksp.destroy()      # not kept alive by the traceback past PETSc's finalisation
        raise


def iterative_ksp(Lc, tol: Tolerances, preconditioner=None):
    """The GMRES solver of :func:`solve_iterative` for ``Lc`` (not yet solved): restart by
    :func:`gmres_restart` (or ``tol.restart``), block Jacobi with ILU(0) per rank or
    ``preconditioner`` (a petsc4py ``python`` PC context), right preconditioning (the true
    residual is monitored and tested), the PETSc options applied."""
    PETSc, _ = init()
    ksp = PETSc.KSP().create(comm=Lc.getComm())
    ksp.setOperators(Lc)
    ksp.setType("gmres")
    restart = tol.restart
    if restart is None:
        value = np.dtype(PETSc.ScalarType).itemsize
        restart = gmres_restart(Lc.getSize()[0], int(Lc.getInfo(
            PETSc.Mat.InfoType.GLOBAL_SUM)["nz_used"]), value, np.dtype(PETSc.IntType).itemsize)
    ksp.setGMRESRestart(restart)
    if preconditioner is None:
        ksp.getPC().setType("bjacobi")
    else:
        ksp.getPC().setType("python")
        ksp.getPC().setPythonContext(preconditioner)
    ksp.setPCSide(PETSc.PC.Side.RIGHT)          # monitor and test the true residual
    ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
    ksp.setTolerances(rtol=tol.rtol, atol=0.0, max_it=tol.max_it)
    ksp.setMonitor(_progress_monitor(ksp.getType()))
    ksp.setFromOptions()
    return ksp


def solve_iterative(Lc, tol: Tolerances, scale: float = 1.0, preconditioner=None, x0=None):
    """Steady state by preconditioned GMRES on the trace-constrained matrix ``Lc``: block
    Jacobi with ILU(0) per rank, or ``preconditioner``, a petsc4py ``python`` PC context (e.g.
    :class:`lindring.solvers.heff.EffectiveHamiltonianPC`); the solver: :func:`iterative_ksp`.
    ``x0``: a PETSc Vec to start from (a warm start, ``KSPSetInitialGuessNonzero``; copied, not
    changed), else zero. The convergence test is PETSc's default, ``||r|| <= rtol ||b||``,
    whatever the start: a guess changes the iterations, not the accuracy."""
    ksp = iterative_ksp(Lc, tol, preconditioner)
    try:
        return _solve(ksp, Lc, "iterative", scale, refine_to=tol.residual_target, x0=x0), ksp
    except BaseException:
        ksp.destroy()      # not kept alive by the traceback past PETSc's finalisation
        raise


def _rhs(Lc, scale):
    """The right-hand side ``scale e_0`` of the trace-constrained system."""
    b = Lc.createVecLeft()
    b.set(0.0)
    if b.getOwnershipRange()[0] == 0:
        b.setValue(0, scale)
    b.assemble()
    return b


def _solve(ksp, Lc, label, scale, refine_to=None, x0=None):
    """Solve ``Lc x = scale e_0`` (from ``x0`` if given: iterative solvers only), then (with
    ``refine_to``) :func:`refine` x.

    Raises :class:`SolverError` naming the PETSc error or the KSP reason."""
    x = Lc.createVecRight()
    if x0 is not None:
        x0.copy(x)
        ksp.setInitialGuessNonzero(True)
    b = _rhs(Lc, scale)
    t0 = time.time()
    try:
        its = _ksp_solve(ksp, b, x, label)
    finally:
        b.destroy()
    if refine_to is not None:
        its += refine(ksp, Lc, x, scale, refine_to, label)
    info = dict(solver_iterations=int(its), solve_seconds=time.time() - t0,
                ksp_type=ksp.getType(), pc_type=ksp.getPC().getType())
    return x, info


def _ksp_solve(ksp, b, x, label) -> int:
    """One KSP solve; its iterations. Raises :class:`SolverError` on a PETSc error or a
    negative converged reason."""
    PETSc, _ = init()
    try:
        ksp.solve(b, x)
    except PETSc.Error as err:
        raise SolverError(petsc_error_message(label, err)) from err
    reason = ksp.getConvergedReason()
    if reason < 0:
        advice = ("try more iterations (--max-it), another -ksp_type/-pc_type, or --solver "
                  "direct" if label == "iterative" else "the factorisation failed (a "
                  "singular matrix?); try --solver iterative")
        raise SolverError(f"{label} solver did not converge (KSP reason {reason}, "
                          f"{ksp.getIterationNumber()} iterations, residual "
                          f"{ksp.getResidualNorm():.3e}); {advice}")
    return ksp.getIterationNumber()


def refine(ksp, Lc, x, scale, target, label="iterative", attempts=4, max_it=None) -> int:
    """Continue the solve of ``Lc x = scale e_0`` from ``x`` with a tighter relative tolerance
    until ``||Lc x - b|| / (scale ||x||) <= target`` (the trace-normalised x is small,
    ~2^(-L/2), so a relative tolerance on the right-hand side alone is not enough), at most
    ``attempts`` times; returns the iterations taken. Stops without error where rounding
    stalls it (the caller's verification judges the result). ``max_it``: the KSP's iteration
    limit per attempt (unchanged if None)."""
    b = _rhs(Lc, scale)
    r = b.duplicate()
    its = 0
    try:
        for _ in range(attempts):
            Lc.mult(x, r)
            r.axpy(-1.0, b)
            ratio = r.norm() / (scale * x.norm())
            if ratio <= target:
                break
            # PETSc's test is ||r|| <= rtol ||b||, ||b|| = scale; a tenth of what is needed
            ksp.setTolerances(rtol=max(0.1 * target * x.norm(), 1e-15), atol=0.0,
                              max_it=max_it or ksp.getTolerances()[3])
            ksp.setInitialGuessNonzero(True)
            log.info(f"[{label}] ||r||/(scale ||x||) = {ratio:.2e} > {target:.1e}: "
                     f"continuing with rtol {ksp.getTolerances()[0]:.1e}")
            its += _ksp_solve(ksp, b, x, label)
    finally:
        b.destroy()
        r.destroy()
    return its


def steady_state(Lc, solver: str, L: int, tol: Tolerances | None = None, scale: float = 1.0,
                 preconditioner=None, x0=None):
    """The steady state (trace 1) from the trace-constrained Liouvillian ``Lc``.

    ``Lc`` is L with its first row replaced by ``scale`` times the trace functional
    (:func:`lindring.solvers.liouvillian.assemble`); returns ``(x, info, ksp)`` with ``x`` a distributed
    PETSc vector and ``ksp`` the solver, set up (for :func:`probe_nonsingular`; the caller
    destroys both); ``preconditioner`` and the initial guess ``x0`` go to
    :func:`solve_iterative` (the direct solver has no use for a guess). Raises
    :class:`SolverError`."""
    tol = tol or Tolerances()
    name = resolve_solver(solver, L)
    if name == "iterative":
        (x, info), ksp = solve_iterative(Lc, tol, scale, preconditioner, x0)
    else:
        (x, info), ksp = solve_direct(Lc, tol, scale)
    info["solver"] = name
    return x, info, ksp


#: chance that the probe calls a degenerate kernel unique (see :func:`probe_nonsingular`)
PROBE_FAILURE = 1e-6
#: loosest relative residual of the probe solve
PROBE_TOL_MAX = 1e-6
#: fewest iterations the probe may take before it gives up (iterative solver)
PROBE_MIN_IT = 30
#: iterations of a probe solve as a multiple of the steady-state solve's (:func:`probe_budget`).
#: The Gaussian right-hand side excites every slow mode, e_0 few, and the real build's probe
#: tolerance (2.4e-9 at 262,656 rows) is tighter than the complex one's: with the solve's own
#: count (54 iterations, open L = 10, alpha / delta = 0.96) the probe stopped short and
#: Krylov-Schur took 706 s (benchmarks/README.md, "Parameter regimes")
PROBE_BUDGET_FACTOR = 3
#: continuations of a probe whose GMRES stopped at its tolerance while the true residual was not
#: there yet (:func:`probe_nonsingular`)
PROBE_CONTINUATIONS = 3
#: a first probe whose residual stayed above this many times its tolerance stalled: only then is
#: a probe with another preconditioner tried (near balance ILU(0)'s probe comes within a factor
#: 2 and heff's stalls at 2e-2 after 135 iterations, ring L = 8; methods._probe_stages)
PROBE_STALLED = 1e3
#: seed of the probe's right-hand side (the same vector on any number of ranks)
PROBE_SEED = 20261130


@dataclasses.dataclass
class Probe:
    """What :func:`probe_nonsingular` found: ``converged`` (the probe solve reached ``tol``),
    ``iterations``, ``residual`` (||b - Lc y|| / ||b||), ``tol``, ``smallest`` (a low
    estimate of the smallest singular value of ``Lc``, a rate: ||b|| / (sqrt(N) ||y||)),
    ``seconds``, ``chance`` (:func:`degenerate_chance` of the residual reached: were the kernel
    degenerate, the chance of a residual this small) and ``kind`` (the solver: ``ilu``,
    ``heff``, ``lu``)."""
    converged: bool
    iterations: int
    residual: float
    tol: float
    smallest: float
    seconds: float
    chance: float = float("nan")
    kind: str = ""

    def describe(self) -> str:
        """One line with the numbers, for logs and error messages."""
        what = f"probe solve ({self.kind})" if self.kind else "probe solve"
        if not np.isfinite(self.residual):
            return f"{what}: failed in PETSc after {self.iterations} iterations"
        text = (f"{what}: residual {self.residual:.2e} after {self.iterations} iterations "
                f"(needed {self.tol:.1e}")
        if self.converged:
            return text + f"; smallest singular value >~ {self.smallest:.2e})"
        return text + f"; were the kernel degenerate, a residual this small had a chance of " \
                      f"{self.chance:.1e})"


def probe_budget(solve_iterations: int, tol: Tolerances) -> int:
    """Iterations of a probe solve: ``tol.probe_max_it`` if set, else ``PROBE_BUDGET_FACTOR``
    times the steady-state solve's, at least ``PROBE_MIN_IT``, at most ``tol.max_it``."""
    if tol.probe_max_it is not None:
        return int(tol.probe_max_it)
    return int(min(tol.max_it, max(PROBE_MIN_IT, PROBE_BUDGET_FACTOR * int(solve_iterations))))


def probe_tolerance(size: int, real: bool = False) -> float:
    """Relative residual the probe solve must reach on a system of ``size`` rows: small enough
    that a Gaussian right-hand side has more than this of its norm outside the range of a
    singular matrix except with probability ``PROBE_FAILURE``.

    Against a complement of dimension 1, the component of ``b`` there is one standard Gaussian
    while ``||b|| ~ sqrt(size)``: for a complex one ``P(|z| < t sqrt(N)) ~ N t^2``, so
    ``t = sqrt(PROBE_FAILURE / N)``; for a real one (``real``: a real matrix and a real ``b``,
    the real PETSc build) ``P(|g| < t sqrt(N)) ~ t sqrt(2 N / pi)``, so
    ``t = PROBE_FAILURE sqrt(pi / (2 N))``. Both at most ``PROBE_TOL_MAX``."""
    if real:
        return min(PROBE_TOL_MAX, PROBE_FAILURE * float(np.sqrt(np.pi / (2 * size))))
    return min(PROBE_TOL_MAX, float(np.sqrt(PROBE_FAILURE / size)))


def degenerate_chance(size: int, residual: float, real: bool = False) -> float:
    """The chance that a Gaussian right-hand side of ``size`` rows leaves a relative residual
    as small as ``residual`` on a singular trace-constrained system (one missing direction; the
    inverse of :func:`probe_tolerance`): ``N r^2`` (complex), ``r sqrt(2 N / pi)`` (real), at
    most 1. NaN for a NaN residual."""
    if not np.isfinite(residual):
        return float("nan")
    if real:
        return float(min(1.0, residual * np.sqrt(2 * size / np.pi)))
    return float(min(1.0, size * residual ** 2))


def gaussian_vector(v, seed: int = PROBE_SEED) -> None:
    """Fill the PETSc Vec ``v`` with independent standard Gaussians (E |b_i|^2 = 1), complex in a
    complex build and real in a real one, a function of the global row index only (the same
    vector on any number of ranks): Box-Muller from a PCG64 stream advanced to the rank's first
    row (the real ones are the real parts of the complex ones times sqrt 2)."""
    lo, hi = v.getOwnershipRange()
    bits = np.random.PCG64(seed)
    bits.advance(2 * lo)
    u = np.random.Generator(bits).random(2 * (hi - lo)).reshape(-1, 2)
    z = np.sqrt(-2.0 * np.log1p(-u[:, 0])) * np.exp(2j * np.pi * u[:, 1])
    if np.iscomplexobj(v.getArray(readonly=True)):
        v.setArray(z / np.sqrt(2.0))
    else:
        v.setArray(z.real)


def cold_iterations(iterations: int, guess_residual: float | None, rtol: float) -> int:
    """The iterations a solve from zero would have taken where a solve of ``iterations`` started
    from a guess: the count :func:`probe_budget` scales (a regular system converges the probe in
    about as many as a solve from zero, a singular one never).

    A warm-started solve (``guess_residual`` = ||L' x0 - b|| / ||b|| < 1) took fewer than a
    cold one; at the same rate per iteration a cold solve reduces the residual from 1 rather
    than from ``guess_residual`` to ``rtol``, ``iterations x log(rtol) / log(rtol /
    guess_residual)`` (at most 10x), which the probe, started from zero, gets instead: with the
    warm solve's own count the probe would run out of iterations and send a unique point to the
    costly spectrum search."""
    if guess_residual is None or not 0 < guess_residual < 1 or not 0 < rtol < guess_residual:
        return int(iterations)
    factor = min(10.0, float(np.log(rtol) / np.log(rtol / guess_residual)))
    return int(np.ceil(iterations * max(factor, 1.0)))


def probe_nonsingular(ksp, Lc, scale: float, max_it: int, kind: str = "") -> Probe:
    """Decide that the trace-constrained ``Lc`` is regular (the steady state unique) with one
    more solve, from the solver ``ksp`` of the steady state (its preconditioner or LU reused).

    Parameters
    ----------
    ksp : PETSc KSP
        The solver of :func:`steady_state`, set up with ``Lc``.
    Lc : PETSc Mat
        L with its first row replaced by ``scale`` times the trace functional, N x N.
    scale : float
        The largest |matrix element| of L (a rate).
    max_it : int
        Iterations after which the probe gives up (unconverged: not decided here); see
        :func:`probe_budget`.
    kind : str
        The solver in words (``ilu``, ``heff``, ``lu``), for :meth:`Probe.describe`.

    Returns
    -------
    Probe

    Notes
    -----
    ``Lc`` is singular exactly when the kernel of L has dimension >= 2 (module docstring). For a
    right-hand side ``b`` of independent Gaussians (complex, or real in the real build), the part of ``b`` outside the range
    of a singular ``Lc`` is, with probability ``1 - PROBE_FAILURE``, above
    :func:`probe_tolerance` of ``||b||``, and no solve can bring the residual below it; so a probe
    that converges decides "regular". Rounding does the same near a singular matrix: a residual
    below tol needs ||y|| ~ ||b|| / sigma_min, whose rounding error eps scale ||y|| exceeds tol
    ||b|| once sigma_min < eps scale / tol. The size of ``y`` estimates ``||Lc^-1||``:
    E ||Lc^-1 b||^2 = ||Lc^-1||_F^2 ||b||^2 / N >= ||Lc^-1||_2^2 ||b||^2 / N, so
    ``||b|| / (sqrt(N) ||y||)`` is a low (cautious) estimate of the smallest singular value,
    the rate through which a residual becomes an error of rho. (A statistical condition
    estimate: C. Kenney and A. Laub, SIAM J. Sci. Comput. 15, 36 (1994).)
    """
    PETSc, _ = init()
    t0 = time.time()
    size = Lc.getSize()[0]
    real = not np.iscomplexobj(PETSc.ScalarType())
    tol = probe_tolerance(size, real=real)
    b, y, r = Lc.createVecLeft(), Lc.createVecRight(), Lc.createVecLeft()
    try:
        gaussian_vector(b)
        iterative = ksp.getType() != "preonly"
        if iterative:
            ksp.setInitialGuessNonzero(False)
            ksp.setTolerances(rtol=tol, atol=0.0, max_it=max(int(max_it), 1))
        try:
            ksp.solve(b, y)
        except PETSc.Error:            # e.g. a zero pivot: not decided here
            return Probe(False, ksp.getIterationNumber(), float("nan"), tol, float("nan"),
                         time.time() - t0, kind=kind)
        its = ksp.getIterationNumber()
        Lc.mult(y, r)
        r.axpy(-1.0, b)
        bnorm, residual = b.norm(), r.norm() / b.norm()
        rtol = tol
        for _ in range(PROBE_CONTINUATIONS if iterative else 0):
            # GMRES's recurrence said "converged" while the true residual is above tol (rounding
            # near a clustered spectrum: 5.2e-8 against 2.6e-8 after 34 of 135 iterations, ring
            # L = 8, alpha / delta = 0.9): continue from y with a tighter tolerance
            if not (tol < residual < 1.0) or its >= max_it or ksp.getConvergedReason() <= 0:
                break
            rtol = max(0.5 * rtol * tol / residual, 1e-15)
            ksp.setInitialGuessNonzero(True)
            ksp.setTolerances(rtol=rtol, atol=0.0, max_it=int(max_it) - its)
            try:
                ksp.solve(b, y)
            except PETSc.Error:
                break
            its += ksp.getIterationNumber()
            Lc.mult(y, r)
            r.axpy(-1.0, b)
            residual = r.norm() / bnorm
        if iterative:
            ksp.setInitialGuessNonzero(False)
        ynorm = y.norm()
        converged = bool(np.isfinite(residual) and residual <= tol and ynorm > 0
                         and np.isfinite(ynorm))
        smallest = bnorm / (np.sqrt(size) * ynorm) if converged else float("nan")
        probe = Probe(converged, int(its), float(residual), tol, float(smallest),
                      time.time() - t0, degenerate_chance(size, residual, real), kind)
        log.info(f"[probe] {'converged' if converged else 'not converged'}: "
                 f"{probe.describe()} ({probe.seconds:.1f}s; scale {scale:.2e})")
        return probe
    finally:
        for v in (b, y, r):
            v.destroy()


#: largest system the uniqueness decision factorises (MUMPS LU for shift-and-invert) where the
#: probe solves did not decide, unless ``Tolerances.sinvert_max_rows`` says otherwise: the LU of
#: 16,384 rows (full space, L = 7) took 36 s and 1.7 GB here, of 65,536 rows (L = 8) more than
#: 10 minutes and 14 GB (benchmarks/README.md); LU time grows ~ rows^2
SINVERT_MAX_ROWS = 2 * 4 ** 7
#: MUMPS fill relative to the matrix at 4^6 rows (measured ~100: 250 MB at L = 6), modelled as
#: growing with the rows (:func:`lu_bytes`)
FILL_FACTOR_L6 = 100.0
#: share of the available memory a factorisation for the uniqueness decision may plan to take
SINVERT_MEMORY_SHARE = 0.5


def lu_bytes(rows: int, nnz: int, value_bytes: int, index_bytes: int = 8) -> float:
    """Planned memory (bytes) of the MUMPS LU of a Liouvillian with ``rows`` rows and ``nnz``
    nonzeros: ``FILL_FACTOR_L6 * rows / 4^6`` times the matrix. Cautious: it plans 5.6 GB for
    the full space at L = 7, where 1.7 GB was measured (benchmarks/README.md)."""
    return float(nnz) * (value_bytes + index_bytes) * FILL_FACTOR_L6 * rows / 4.0 ** 6


def available_memory_mb(comm=None) -> float:
    """Memory the job can use: ``MemAvailable`` of /proc/meminfo on each node the MPI ranks run
    on, summed over the nodes (one reading per node). Collective over ``comm`` (mpi4py)."""
    from mpi4py import MPI
    comm = comm or MPI.COMM_WORLD
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    mine = 0.0
    if node.Get_rank() == 0:
        try:
            with open("/proc/meminfo") as fh:
                info = dict(line.split(":", 1) for line in fh)
            mine = float(info["MemAvailable"].split()[0]) / 1024
        except (OSError, KeyError, ValueError):
            mine = float("inf")      # unknown: do not refuse
    node.Free()
    return comm.allreduce(mine)


def sinvert_refusal(rows: int, nnz: int, value_bytes: int, available_mb: float,
                    tol: Tolerances) -> str | None:
    """``None`` if the uniqueness decision may factorise a system of ``rows`` rows and ``nnz``
    nonzeros (shift-and-invert with MUMPS), else why not, with the numbers: more rows than
    ``tol.sinvert_max_rows`` (default ``SINVERT_MAX_ROWS``), or a planned LU (:func:`lu_bytes`)
    above ``SINVERT_MEMORY_SHARE`` of ``available_mb``."""
    limit = SINVERT_MAX_ROWS if tol.sinvert_max_rows is None else int(tol.sinvert_max_rows)
    if rows > limit:
        return f"{rows} rows, above the {limit} a factorisation may take here"
    need_mb = lu_bytes(rows, nnz, value_bytes) / 2 ** 20
    if need_mb > SINVERT_MEMORY_SHARE * available_mb:
        return (f"its LU is planned at {need_mb:.0f} MB, above {SINVERT_MEMORY_SHARE:g} of the "
                f"{available_mb:.0f} MB available")
    return None


#: shift of the shift-and-invert search, relative to the scale of L
SHIFT = 1e-2
#: kernel cutoff (relative to the scale) of the shift-and-invert search: the LU resolves
#: eigenvalues near zero to rounding (measured: a gap of 2.5e-8 at alpha = 100, delta = 1, L = 4,
#: scale ~2e4, is found as -2.503e-8, on the trend of alpha = 10, 30)
SINVERT_KERNEL_TOL = 1e-14


@dataclasses.dataclass
class KernelDecision:
    """What :func:`decide_kernel` found: ``kernel_dim`` (counting the deflated steady state),
    ``gap`` (-Re of the rightmost eigenvalue off the imaginary axis, to the accuracy that decided
    it, or to ``gap_tol``; NaN from shift-and-invert), ``undamped`` (eigenvalues on the
    imaginary axis other than 0), ``eigenvalues`` (the Ritz values that decided)."""
    kernel_dim: int
    gap: float
    undamped: list
    eigenvalues: np.ndarray
    kernel_eigenvalues: list = dataclasses.field(default_factory=list)  # found, not deflated in
    slowest: float = float("nan")   # |rate| of the slowest mode off the axis (gap, or from
                                    # shift-and-invert the eigenvalue nearest zero): error estimates


def decide_kernel(A, scale: float, deflate=(), tol: Tolerances | None = None, gap_tol=None,
                  shift_invert: bool = False):
    """Decide the dimension of the kernel of the Liouvillian ``A`` (a PETSc Mat, shell or AIJ).

    Parameters
    ----------
    A : PETSc Mat
        The Liouvillian in the space the steady state was solved in (full space or sector).
    scale : float
        The largest |matrix element| of L; every threshold is relative to it (a rate).
    deflate : sequence of PETSc Vec
        Known kernel vectors (the steady state found by the linear solve), deflated from the
        search and counted in ``kernel_dim``.
    tol : Tolerances
        ``kernel_tol`` (cutoff: |lambda| < kernel_tol * scale is zero), ``margin``, ``nev``,
        ``ncv``/``ncv_max``, ``eps_max_it``.
    gap_tol : float, optional
        With a value, the gap is converged to this relative tolerance too (``--gap``).
    shift_invert : bool
        ``A`` is an assembled matrix small enough to factorise (the ``direct`` regime): search
        with the shift-and-invert transformation at ``sigma = SHIFT * scale`` (MUMPS), which maps
        the kernel to the largest |1/(lambda - sigma)| = 1/sigma, above every other eigenvalue
        whatever the imaginary parts (undamped coherences at +-i mu with mu >> rates are where
        Krylov-Schur on A itself stalls). One tight tolerance then decides.

    Returns
    -------
    KernelDecision

    Raises
    ------
    SolverError
        If Krylov-Schur converges no eigenvalue even with the largest subspace.

    Notes
    -----
    A Krylov space holds only one direction of each eigenspace, and eigenvalues on the imaginary
    axis (undamped coherences, e.g. +-i mu beside a dark state) tie with zero for "largest real
    part"; so every eigenvector with Re(lambda) ~ 0 is deflated and the search repeated until it
    finds nothing more on the axis. The convergence test is absolute (residual <= tol * scale):
    SLEPc's default relative test cannot converge an eigenvalue that is exactly zero. A pair on
    the axis must converge to ``kernel_tol / margin`` (so that its real part is known to within
    the cutoff). Every search runs to convergence: stopping as soon as the leading, still
    unconverged Ritz value looked off the axis (an earlier shortcut) answered "unique" before
    the Krylov space had found a second zero eigenvalue (alpha = 0, L = 4 ring, nothing
    deflated: kernel 1 instead of 2).
    """
    tol = tol or Tolerances()
    comm = A.getComm()
    deflate = [v.copy() for v in deflate]
    for v in deflate:
        v.normalize()
    t0 = time.time()
    try:
        return _search(A, scale, deflate, tol, gap_tol, shift_invert, comm, t0)
    finally:
        for v in deflate:
            v.destroy()


def _search(A, scale, deflate, tol, gap_tol, shift_invert, comm, t0):
    """The deflation loop of :func:`decide_kernel`."""
    PETSc, SLEPc = init()
    # a factorisation resolves eigenvalues near zero to rounding (~1e-16 of the scale); the
    # Krylov search to the residual it converges to
    cutoff = (SINVERT_KERNEL_TOL if shift_invert else tol.kernel_tol) * scale
    tight = tol.kernel_tol / tol.margin      # on the axis: residual below cutoff / margin
    if gap_tol:
        tight = min(tight, gap_tol)
    kernel_dim, undamped, found, kernel_found = len(deflate), [], [], []
    gap = slowest = float("nan")
    size = A.getSize()[0]
    ncv = min(tol.ncv, size)
    real = not np.iscomplexobj(PETSc.ScalarType())
    for _ in range(64):
        eps = SLEPc.EPS().create(comm=comm)
        eps.setOperators(A)
        eps.setProblemType(SLEPc.EPS.ProblemType.NHEP)
        eps.setType(SLEPc.EPS.Type.KRYLOVSCHUR)
        eps.setDimensions(nev=tol.nev, ncv=ncv)
        if shift_invert:
            eps.setWhichEigenpairs(SLEPc.EPS.Which.TARGET_MAGNITUDE)
            eps.setTarget(SHIFT * scale)
            st = eps.getST()
            st.setType(SLEPc.ST.Type.SINVERT)
            ksp = st.getKSP()
            ksp.setType("preonly")
            ksp.getPC().setType("lu")
            ksp.getPC().setFactorSolverType("mumps")
            eps.setTolerances(tol=1e-12, max_it=tol.eps_max_it)
        else:
            eps.setWhichEigenpairs(SLEPc.EPS.Which.LARGEST_REAL)
            eps.setConvergenceTest(SLEPc.EPS.Conv.ABS)
            eps.setTolerances(tol=tight * scale, max_it=tol.eps_max_it)
        if deflate:
            eps.setDeflationSpace(deflate)
        eps.setMonitor(_progress_monitor_eps(comm))
        eps.setFromOptions()
        try:
            eps.solve()
        except PETSc.Error as err:
            eps.destroy()
            raise SolverError(petsc_error_message("uniqueness decision (SLEPc)", err)) from err
        nconv = eps.getConverged()
        if nconv == 0:
            restarts = eps.getIterationNumber()
            eps.destroy()
            if ncv < min(tol.ncv_max, size):
                # clustered eigenvalues (e.g. near +-i mu with mu >> rates): a larger subspace
                ncv = min(2 * ncv, tol.ncv_max, size)
                log.info(f"[spectrum] nothing converged in {restarts} restarts; "
                                   f"subspace size {ncv}")
                continue
            raise SolverError("uniqueness could not be decided: SLEPc Krylov-Schur converged no "
                              f"eigenvalue of the Liouvillian in {restarts} restarts with a "
                              f"subspace of {ncv} (try -eps_max_it 20000)")
        pairs = [(complex(eps.getEigenvalue(i)), i) for i in range(nconv)]
        found += [lam for lam, _ in pairs]
        on_axis = [(lam, i) for lam, i in pairs if abs(lam.real) < cutoff]
        if on_axis:
            # on the imaginary axis: kernel vectors (lambda ~ 0) or undamped coherences, all
            # deflated at once (one search may converge both directions of a double zero, which
            # a search for one eigenvalue at a time, deflating each, was seen to miss: open
            # L = 5, delta = 0, mu = 1e4)
            for lam, i in on_axis:
                deflate += _eigenvectors(eps, i, A, lam, real)
                if abs(lam) < cutoff:
                    kernel_dim += 1
                    kernel_found.append(lam)
                else:
                    undamped.append(lam)
            eps.destroy()
            continue
        lam = max((z for z, _ in pairs), key=lambda z: z.real)
        eps.destroy()
        # off the axis, converged: the gap (not from shift-and-invert: nearest to sigma, not
        # necessarily the rightmost)
        gap = -lam.real if not shift_invert else float("nan")
        slowest = -lam.real if not shift_invert else abs(lam)
        break
    else:
        raise SolverError("uniqueness could not be decided: more than 64 eigenvalues on the "
                          "imaginary axis")
    lams = np.array(found, dtype=complex)
    lams = lams[np.argsort(-lams.real)]
    log.info(f"[spectrum] kernel dimension {kernel_dim}, gap {gap:.4e} in "
                       f"{time.time() - t0:.1f}s; rightmost eigenvalues: "
                       + ", ".join(f"{z.real:.3e}{z.imag:+.3e}j" for z in lams[:6]))
    return KernelDecision(kernel_dim, gap, undamped, lams, kernel_found, slowest)


def _eigenvectors(eps, i, A, lam, real: bool) -> list:
    """The normalised eigenvector(s) of SLEPc's eigenpair ``i`` (eigenvalue ``lam``) to deflate.
    In a complex build, the eigenvector; in a real build (a real matrix), the real and imaginary
    parts of a complex one, which span the real invariant subspace of the conjugate pair
    ``lam, conj(lam)`` (SLEPc returns both eigenvalues; deflating the subspace at the first
    removes the second, and deflating it again at the second changes nothing)."""
    vr, vi = A.createVecRight(), A.createVecRight()
    eps.getEigenvector(i, vr, vi if real else None)
    keep = (vr, vi) if real and lam.imag != 0 else (vr,)
    out = []
    for v in (vr, vi):
        if any(v is k for k in keep) and v.norm() > 0:
            v.normalize()
            out.append(v)
        else:
            v.destroy()
    return out


def _progress_monitor_eps(comm, every_s=2.0):
    last = [time.time()]

    def monitor(eps, its, nconv, eig, err):
        now = time.time()
        if now - last[0] >= every_s:
            last[0] = now
            log.info(f"[spectrum] restart {its}  converged {nconv}")
    return monitor

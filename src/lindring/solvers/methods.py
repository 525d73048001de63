"""The methods of ``lindring solve``: each turns validated parameters into named results.

Every method returns ``(data_vars, attrs)``: ``data_vars`` maps a variable name to
``(dims, values)`` with dims among ``bond`` and ``site`` (see :mod:`lindring.io.results`), ``attrs``
holds method-specific metadata. Data flows one way: parameters -> operator -> steady state ->
observables -> verification -> file.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from lindring.core import model
from lindring.core.options import OPTIONS
from lindring.core.schema import data_vars
from lindring.core.basis import basis_fingerprint, make_basis, resolve_symmetry, transpose_words
from lindring.core.pauli import PauliBasis, PauliState, density_matrix
from lindring.core.observables import (GATHER_MAX_L, LocalState, gathered_density_matrix, negativity,
                          model_observables, steady_observables)
from lindring.solvers.steady import (PROBE_STALLED, PrecisionError, SolverError, Tolerances,
                                     available_memory_mb, cold_iterations, decide_kernel,
                                     iterative_ksp, probe_budget, probe_nonsingular, refine,
                                     resolve_solver, sinvert_refusal, steady_state)

from lindring.core.diagnostics import get_logger
from lindring.solvers.gap import KERNEL_CHECK_MAX_WORDS

log = get_logger(__name__)

METHODS = ("ed", "cmf", "ground", "mpo")
#: boundaries each method supports
METHOD_BC = {"ed": ("ring", "open"), "cmf": ("ring",), "ground": ("ring", "open"),
             "mpo": ("open",)}


class VerificationError(RuntimeError):
    """A computed steady state failed its checks; nothing is written."""


@dataclasses.dataclass
class Thresholds:
    """Acceptance thresholds of a steady state (all options of ``lindring solve``), each
    scale-free: the residual is relative to the scale of L (its largest matrix element)."""
    residual: float = OPTIONS["max_residual"].default          # ||L rho|| / (scale ||rho||)
    trace: float = OPTIONS["max_trace_error"].default          # |Tr rho - 1|
    hermiticity: float = OPTIONS["max_hermiticity_error"].default  # ||rho - rho^+|| / ||rho||
    positivity: float = OPTIONS["positivity_tol"].default      # min eigenvalue >= -positivity
    error_estimate: float = OPTIONS["max_error_estimate"].default  # residual x scale / slowest

    def as_attrs(self) -> dict:
        """The thresholds as file attributes (names of the command-line options)."""
        return dict(max_residual=self.residual, max_trace_error=self.trace,
                    max_hermiticity_error=self.hermiticity, positivity_tol=self.positivity,
                    max_error_estimate=self.error_estimate)


def check_method_bc(method: str, bc: str) -> None:
    if method not in METHOD_BC:
        raise model.ModelError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if bc not in METHOD_BC[method]:
        raise model.ModelError(f"method {method!r} does not support bc={bc!r} "
                               f"(supported: {', '.join(METHOD_BC[method])})")


#: sizes refused by ``ed`` before anything is built: any sector has at least 4^L / (8 L) rows,
#: far beyond any machine and any floating-point estimate (the plan's MAX_PLANNED_NNZ), and the
#: symmetry check alone built every site's terms (90 s and gigabytes at L = 10^6)
MAX_ED_L = 2000


def check_ed_size(L: int) -> None:
    """Refuse an ``ed`` point of more than :data:`MAX_ED_L` sites, naming its size (ModelError)."""
    if L > MAX_ED_L:
        raise model.ModelError(
            f"L = {L}: the Liouvillian has 4^{L} (about 10^{int(L * np.log10(4))}) rows in the "
            "whole operator space, at least a 1/(8 L) of that in any sector, beyond the "
            "floating-point range of any memory or time estimate; no machine can hold it")


def check_point(method: str, p: model.Params, values: dict, fits=None) -> None:
    """Refuse what ``method`` cannot compute at point ``p`` with options ``values``, before any
    compute: the one check that :func:`lindring.solve`, :func:`lindring.plan`, their command
    lines and the workflow's config check share.

    Parameters
    ----------
    method : {"ed", "cmf", "ground", "mpo"}
    p : lindring.core.model.Params
        A point built by :func:`lindring.core.model.make_params` (its own checks done).
    values : dict
        Every option of ``method`` (:func:`lindring.core.options.resolve`).
    fits : callable, optional
        ``fits(p, values)``: refuses a point too large for the memory (``lindring solve``'s
        check, :func:`lindring.api.prepare`). ``mpo``: called once the point is known to be one
        the method takes and before the checks that visit every bond (the rates: 25 s at
        L = 10^5), so that a chain too long for the machine is refused at once.

    Raises
    ------
    lindring.core.model.ModelError
        The boundary the method does not support, no dissipation at all (a steady state is never
        unique then; not for ``ground``), a symmetry sector the model lacks (``ed``), a ring,
        range 2 or a time step too large for the rates (``mpo``), range 2 (``cmf``), L beyond
        the exact ground state or a jump parameter, which does not enter it (``ground``).
    """
    check_method_bc(method, p.bc)
    if method != "ground" and not hasattr(p, "has_jumps"):   # a model file checks its own
        model.check_dissipative(p)
    if method == "ground":
        from lindring.solvers.ground import check_ground_params, check_no_jumps
        check_ground_params(p)
        check_no_jumps(p)
    elif method == "ed":
        check_ed_size(p.L)
        try:
            resolve_symmetry(p, values["symmetry"])
        except ValueError as err:
            raise model.ModelError(str(err)) from None
    elif method == "cmf":
        from lindring.solvers.meanfield import check_cmf_params
        check_cmf_params(p)
    elif method == "mpo":
        from lindring.solvers.mpo import (bond_generators, check_dt, check_steps, check_supported,
                                          default_dt, rate_scale)
        check_supported(p)
        if fits is not None:
            fits(p, values)          # from L and chi alone, before the work per bond below
        rate = rate_scale(bond_generators(p))
        dt = values["dt"] if values["dt"] is not None else default_dt(rate)
        if values["dt"] is not None:
            check_dt(dt, rate, values["order"])
        check_steps(dt, values["t_max"], model.largest_jump_rate(p), rate)


def _nan_observables(p: model.Params) -> dict:
    if hasattr(p, "observables"):           # a model-file point
        out = dict(sz=np.full(p.L, np.nan), purity=np.nan, purity_pair=np.nan,
                   negativity_pair=np.nan)
        out.update({name: np.full(len(placed), np.nan) for name, _, placed in p.observables})
        out.update({name: np.full(c.length, np.nan) for c in p.correlations
                    for name in c.outputs})
        return out
    nb = p.n_bonds
    out = dict(current_eta=np.full(nb, np.nan), current_J=np.full(nb, np.nan),
               sz=np.full(p.L, np.nan), purity=np.nan, purity_pair=np.nan,
               negativity_pair=np.nan)
    if p.range != 1:
        out["current_eta_pair"] = np.full(len(p.dissipative_bonds()), np.nan)
    return out


def _values_at(x, index: np.ndarray) -> np.ndarray:
    """Entries ``x[index]`` of a distributed PETSc vector, fetched from whichever rank holds them."""
    from lindring.solvers.petsc import init
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


def state_space(basis, operator_basis: str, p, comm) -> dict:
    """The space a steady state of this solve lives in, as a state file records it
    (:data:`lindring.io.state.MATCHED`): L, boundary, operator basis, sector, rows and the
    fingerprint of the rows (:func:`lindring.core.basis.basis_fingerprint`). Collective."""
    n, r = comm.Get_size(), comm.Get_rank()
    lo, hi = basis.size * r // n, basis.size * (r + 1) // n
    return dict(L=p.L, bc=p.bc, operator_basis=operator_basis, symmetry=basis.name,
                rows=int(basis.size), basis_fingerprint=basis_fingerprint(basis, lo, hi, comm))


def _vector_from_zero(A, values):
    """A vector of ``A``'s column layout filled with ``values``, held whole on rank 0 (``None``
    on the others): PETSc's scatter from rank 0."""
    from lindring.solvers.petsc import init
    PETSc, _ = init()
    x = A.createVecRight()
    scatter, seq = PETSc.Scatter.toZero(x)
    try:
        if values is not None:
            seq.setArray(np.asarray(values).astype(PETSc.ScalarType))
        scatter.scatter(seq, x, PETSc.InsertMode.INSERT_VALUES, PETSc.ScatterMode.REVERSE)
    finally:
        scatter.destroy()
        seq.destroy()
    return x


def _gather_to_zero(x):
    """The whole distributed vector ``x`` as a numpy array on rank 0 (``None`` elsewhere)."""
    from lindring.solvers.petsc import init
    PETSc, _ = init()
    scatter, seq = PETSc.Scatter.toZero(x)
    try:
        scatter.scatter(x, seq, PETSc.InsertMode.INSERT_VALUES, PETSc.ScatterMode.FORWARD)
        return seq.getArray().copy() if x.getComm().getRank() == 0 else None
    finally:
        scatter.destroy()
        seq.destroy()


def _guess_residual(Ac, x0, scale: float) -> float:
    """``||Ac x0 - b|| / ||b||`` of an initial guess (``b = scale e_0``): the residual GMRES
    starts from, relative to what its tolerance ``rtol`` is measured against."""
    from lindring.solvers.steady import _rhs
    b = _rhs(Ac, scale)
    r = b.duplicate()
    try:
        Ac.mult(x0, r)
        r.axpy(-1.0, b)
        return float(r.norm() / b.norm())
    finally:
        b.destroy()
        r.destroy()


def run_ed(p: model.Params, solver=OPTIONS["solver"].default, tol: Tolerances | None = None,
           thresholds: Thresholds | None = None, gap=OPTIONS["gap"].default,
           check_unique=OPTIONS["check_unique"].default, symmetry=OPTIONS["symmetry"].default,
           basis=OPTIONS["basis"].default, preconditioner=OPTIONS["preconditioner"].default,
           gap_sectors=OPTIONS["gap_sectors"].default, warm=None):
    """Exact steady state of Eq. 11 on a ring or open chain (distributed over MPI ranks).

    Parameters
    ----------
    p : model.Params
    solver : {"auto", "direct", "iterative"}
    tol : steady.Tolerances
        Solver and decision tolerances, each relative to the scale of L.
    thresholds : Thresholds
        Acceptance thresholds of the steady state (:func:`verify`).
    gap : bool
        Converge the gap (-Re of the rightmost eigenvalue off the imaginary axis) to
        ``tol.eps_tol``.
    gap_sectors : {"all", "solved"}
        With ``gap``: search every symmetry sector (the physical gap, with the sector it lives
        in: :mod:`lindring.solvers.gap`) or the solved sector only.
    check_unique : bool
        Decide the dimension of the kernel (default). ``False`` is an explicit opt-out: the file
        then says ``unique = -1`` and ``kernel_dim = -1``.
    symmetry : str
        ``auto``, ``none``, ``parity``, ``momentum``, ``parity+momentum``: the sector of the
        Liouvillian to solve in (basis.py); ``auto`` takes every symmetry the model has. The
        solve decides uniqueness in that sector; the kernel of every other sector is then
        counted with ``gap`` (``gap_sectors = all``) or, without it, densely where 4^L <=
        ``gap.KERNEL_CHECK_MAX_WORDS`` (L <= 5), deciding it in the full space
        (:func:`_full_space_uniqueness`; attributes ``spectrum_sector``, ``kernel_by_sector``).
        The gap with ``gap_sectors = solved`` covers the solved sector only.
    basis : {"auto", "pauli", "matrix-units"}
        Operator basis (attribute ``operator_basis``): Pauli strings (:mod:`lindring.core.pauli`,
        a real Liouvillian, 2.25 L + 1 nonzeros per row in the minimal model) or the matrix
        units ``|k><b|`` of :mod:`lindring.core.basis` (5 L + 1). ``auto`` is ``pauli``: every
        steady state (momentum zero) is a real vector of Pauli components, whatever the
        couplings; where the Pauli solve or its verification fails, ``auto`` solves again in
        the matrix units (attribute ``pauli_fallback``: why; empty otherwise). The Pauli basis
        is solved in the real-scalar PETSc build, the matrix units in the complex one
        (attribute ``petsc_scalar``; :mod:`lindring.solvers.petsc`, benchmarks/README.md).
    preconditioner : {"auto", "heff", "ilu"}
        Of the iterative solver: ``heff`` inverts the no-jump Liouvillian from the effective
        Hamiltonian (:mod:`lindring.solvers.heff`), robust across regimes, dense work on rank 0,
        ``O(8^L)`` per application; ``ilu`` block Jacobi with ILU(0); ``auto`` ILU(0) first,
        then heff (where :func:`heff.affordable`) where ILU has not converged in
        ``ILU_BUDGET`` iterations, or heff alone where the coherent couplings dominate
        (:func:`preconditioner_plan`; its reason is the attribute ``preconditioner_choice``).
    warm : lindring.io.state.WarmStart, optional
        A state file to start the iterative solve from (``--initial-guess``) and one to save
        the steady state to (``--save-state``); its ``load`` and ``store`` read and write them
        (:mod:`lindring.io.state`).

    Returns
    -------
    (data_vars, attrs)

    Raises
    ------
    model.ModelError, steady.SolverError, VerificationError

    Notes
    -----
    One matrix is assembled, the trace-constrained ``Ac`` (steady.py); L itself is a shell on it
    (:func:`lindring.solvers.liouvillian.liouvillian_from_constrained`). The linear solve comes first;
    its steady state is then deflated from the search for a second kernel vector
    (:func:`steady.decide_kernel`). A solve that fails in PETSc is reported as such unless the
    decision finds the kernel degenerate (a singular system).
    """
    tol = tol or Tolerances()
    thresholds = thresholds or Thresholds()
    try:
        sector = resolve_symmetry(p, symmetry)
    except ValueError as err:
        raise model.ModelError(str(err)) from None
    operator_basis = resolve_operator_basis(basis)
    gap_sectors = OPTIONS["gap_sectors"].check(gap_sectors)
    args = (p, sector, solver, tol, thresholds, gap, check_unique, preconditioner, gap_sectors)
    if basis != "auto":
        return _run_ed_in(operator_basis, *args, warm)
    try:
        return _run_ed_in("pauli", *args, warm)
    except PrecisionError:
        raise                            # the same in every basis
    except (SolverError, VerificationError) as err:
        # the complex path where the real one fails: ILU(0) on the Pauli matrix, whose largest
        # Hamiltonian entries (mu, J) rotate x into y off the diagonal, is weaker than on the
        # matrix units, where they sit on the diagonal (measured: GMRES breaks down at mu = 100,
        # converges in the matrix units; benchmarks/README.md)
        log.warning(f"[basis] the real Pauli path failed ({err}); solving again in the "
                    "complex matrix units")
        # a guess saved in the Pauli basis does not fit the matrix units: a cold start there
        data, attrs = _run_ed_in("matrix-units", *args,
                                 warm and dataclasses.replace(warm, fallback=True))
        attrs["pauli_fallback"] = str(err)
        return data, attrs


def petsc_scalar(basis: str) -> str:
    """The scalar type ("real" or "complex") of the PETSc build that solves in the operator
    basis ``basis`` (a ``--basis`` value): :data:`lindring.solvers.petsc.SCALAR_OF_BASIS`."""
    from lindring.solvers.petsc import SCALAR_OF_BASIS
    return SCALAR_OF_BASIS[resolve_operator_basis(basis)]


def _run_ed_in(operator_basis, p, sector, solver, tol, thresholds, gap, check_unique,
               preconditioner, gap_sectors=OPTIONS["gap_sectors"].default, warm=None):
    """:func:`run_ed` in one operator basis (``pauli`` or ``matrix-units``), in the PETSc build
    of that basis: in this process if it has that build loaded (or none yet), else in a child
    MPI world (:func:`lindring.solvers.builds.call_in_build`)."""
    from lindring.solvers.liouvillian import assemble, liouvillian_from_constrained
    from lindring.solvers.petsc import choose_scalar, init, loaded_scalar
    wanted = petsc_scalar(operator_basis)
    PETSc, _ = init(scalar=wanted)
    if loaded_scalar() != choose_scalar(wanted):
        from lindring.solvers.builds import call_in_build
        return call_in_build(wanted, f"{__name__}:_run_ed_in", operator_basis, p, sector, solver,
                             tol, thresholds, gap, check_unique, preconditioner, gap_sectors,
                             warm)
    comm = PETSc.COMM_WORLD.tompi4py()
    t0 = time.time()
    basis = make_basis(p.L, sector, comm, bc=p.bc)
    if operator_basis == "pauli":
        basis = PauliBasis(basis)
    if sector != "none":
        log.info(f"[basis] sector {sector}: {basis.size} of {4 ** p.L} rows "
                   f"in {time.time() - t0:.1f}s")
    check_unique = bool(check_unique)
    name = resolve_solver(solver, p.L, basis.size)
    chain, why = preconditioner_plan(preconditioner, p) if name == "iterative" else ([""], "")
    if why:
        log.info(f"[solve] preconditioner {why}")
    space = state_space(basis, operator_basis, p, comm) if warm else None
    guess, source, note = warm.load(space, name, comm) if warm and warm.path else (None, None, "")
    attrs = dict(solver=name, symmetry=basis.name, operator_basis=operator_basis,
                 petsc_scalar=loaded_scalar(), pauli_fallback="", direct_fallback="",
                 preconditioner=chain[0],
                 preconditioner_choice=why, rtol=tol.rtol,
                 kernel_tol=tol.kernel_tol,
                 residual_target=tol.residual_target,
                 uniqueness_checked=int(check_unique or gap),
                 spectrum_sector=_sector_description(sector) if (check_unique or gap) else "",
                 initial_guess_note=note, **thresholds.as_attrs())

    t0 = time.time()
    Ac, scale = assemble(p, basis, trace_row=True)    # trace row x scale (steady.py)
    nnz = int(Ac.getInfo(PETSc.Mat.InfoType.GLOBAL_SUM)["nz_used"])
    if not scale > 0:
        raise model.ModelError("the Liouvillian is zero: every rate is 0")
    A = liouvillian_from_constrained(Ac, p, basis)
    attrs.update(basis_size=basis.size, nnz=nnz, assembly_seconds=time.time() - t0,
                 liouvillian_scale=scale)
    log.info(f"[assemble] {basis.size} rows, {nnz} nonzeros, scale {scale:.3e} "
               f"in {time.time() - t0:.1f}s on {comm.Get_size()} rank(s)")
    held = [A, Ac]
    x0 = None
    if source is not None:
        x0 = _vector_from_zero(Ac, guess)        # rank 0 holds the values; every rank its rows
        held.append(x0)
        attrs.update(initial_guess=source,
                     initial_guess_residual=_guess_residual(Ac, x0, scale))
        log.info(f"[warm start] from {attrs['initial_guess']}: relative residual "
                 f"||L' x0 - b|| / ||b|| = {attrs['initial_guess_residual']:.2e}")
    try:
        data, attrs = _solve_and_check(p, basis, A, Ac, scale, name, tol, thresholds, gap,
                                       check_unique, attrs, comm, held, chain, x0=x0,
                                       save=(warm, space) if warm and warm.save else None,
                                       direct_fallback=solver == "auto")
    except (SolverError, VerificationError) as err:
        if "regime:" in str(err).lower():
            raise
        # every failure says which regime it is in (issue 15)
        raise type(err)(f"{err}. Regime: {model.regime(p)}") from None
    finally:
        for obj in held:       # PETSc objects freed here, not after PETSc's finalisation
            obj.destroy()      # (an exception's traceback would keep them alive until exit)
    sectors = None             # every sector's search, where the full space is searched
    if gap:                    # the solve's matrices freed first: the sectors take their place
        sectors = _gap_over(gap_sectors, p, sector, scale, tol, data, attrs)
    if sectors is None and int(data["kernel_dim"][1]) >= 1 and sector != "none" \
            and 4 ** p.L <= KERNEL_CHECK_MAX_WORDS:
        from lindring.solvers.gap import kernel_over_sectors
        sectors = kernel_over_sectors(p, scale, tol,
                                      known=_known_sector(p, sector, data, attrs, tol,
                                                         need_gap=False))
    if sectors is not None:
        _full_space_uniqueness(p, sector, sectors, scale, tol, data, attrs)
    elif int(data["kernel_dim"][1]) >= 1 and sector != "none":
        log.info(f"[kernel] uniqueness decided in {_sector_description(sector)} (the other "
                 "sectors' kernels are counted with --gap)")
    return data, attrs


def _solved_sector(p, sector, data, attrs, tol):
    """The solved sector's search as a :class:`lindring.solvers.gap.SectorGap`: its gap and
    kernel as the solve decided them (in ``data``, ``attrs``), the gap's accuracy by
    :func:`lindring.solvers.gap.gap_accuracy`."""
    from lindring.solvers.gap import SectorGap, gap_accuracy, solved_label
    gap = float(data["gap"][1])
    return SectorGap(solved_label(p, sector), attrs["basis_size"], gap,
                     int(data["kernel_dim"][1]), max(int(attrs.get("undamped_coherences", 0)), 0),
                     how="steady-state solve",
                     accuracy=gap_accuracy(gap, attrs["liouvillian_scale"], tol))


def _known_sector(p, sector, data, attrs, tol, need_gap: bool = True) -> dict:
    """The solved sector's :func:`_solved_sector` keyed by its label, where it is one of the
    sectors of the model (``--symmetry auto``'s) and (``need_gap``) its search found the gap;
    else empty (every sector is searched). Its kernel is the solve's decision (probe or
    shift-and-invert), not searched again."""
    solved = _solved_sector(p, sector, data, attrs, tol)
    same = sector != "none" and sector == resolve_symmetry(p, "auto")
    return {solved.label: solved} if same and (np.isfinite(solved.gap) or not need_gap) else {}


def _gap_over(mode, p, sector, scale, tol, data, attrs):
    """The gap of ``mode`` (``all`` sectors or the ``solved`` one, :mod:`lindring.solvers.gap`)
    into ``data`` (variables ``gap``, ``gap_parity``, ``gap_momentum``, ``gap_reflection``) and
    ``attrs`` (``gap_*``), from the solved sector's gap and kernel already in ``data``. Returns
    every sector's :class:`lindring.solvers.gap.SectorGap` with ``all`` (None with ``solved``)."""
    from lindring.solvers.gap import gap_of_solved_sector, gap_over_sectors
    if mode == "solved":
        result = gap_of_solved_sector(p, sector, _solved_sector(p, sector, data, attrs, tol))
    else:
        # the solved sector's search is reused where it is one of the sectors of the model
        result = gap_over_sectors(p, scale, tol, known=_known_sector(p, sector, data, attrs, tol))
    data.update(_to_vars(result.variables(), p))
    attrs.update(result.attrs())
    return result.sectors if mode == "all" else None


def _full_space_uniqueness(p, sector, sectors, scale, tol, data, attrs) -> None:
    """The uniqueness in the full operator space from every sector's kernel (``sectors``:
    :class:`lindring.solvers.gap.SectorGap`): attribute ``kernel_by_sector``; where the sectors
    hold more kernel vectors than the solved one (``kernel_dim``), the steady state is not
    unique in the full space: ``unique = 0``, ``kernel_dim`` the full count (a lower bound where
    a sector's search failed) and a warning naming the sectors (:class:`PrecisionError` where
    double precision cannot tell them from slow modes). The observables stay those of
    the solved sector's steady state, verified: the one state of that sector, the average over
    the symmetry group of every steady state, and the one every initial state with the sector's
    symmetries (the vacuum, the fully mixed state) relaxes to."""
    from lindring.solvers.gap import full_space_kernel, solved_label
    found = full_space_kernel(sectors, p.L, solved_label(p, sector))
    solved = int(data["kernel_dim"][1])
    attrs["kernel_by_sector"] = found.by_sector
    if found.complete and sector != "none":
        attrs["spectrum_sector"] = ("the full operator space (solved in "
                                    + _sector_description(sector).removesuffix(" only")
                                    + "; every sector's kernel: kernel_by_sector)")
    if found.solved >= 0 and found.solved != solved:
        log.warning(f"the solved sector's kernel is {solved} by the solve's decision but "
                    f"{found.solved} by the search of every sector; the larger is kept")
    if solved < 1 or found.dim <= solved:
        return
    _refuse_unresolved(p, found.dim, scale, tol)
    bound = "" if found.complete else " at least (a sector's search did not converge)"
    data["kernel_dim"] = (data["kernel_dim"][0], found.dim)
    if solved == 1:
        attrs["unique"] = 0
        log.warning(
            f"non-unique steady state in the full operator space: the Liouvillian kernel has "
            f"dimension {found.dim}{bound} over all symmetry sectors, 1 in the solved sector; "
            f"zero modes in: {found.by_sector}. The observables written are those of the solved "
            "sector's steady state (the one every initial state with its symmetries relaxes "
            "to); other steady states break the symmetry (file: unique = 0, kernel_dim "
            f"{found.dim}, kernel_by_sector)")
    else:
        log.info(f"[kernel] over all symmetry sectors the kernel has dimension {found.dim}"
                 f"{bound}: {found.by_sector}")


def _solve_and_check(p, basis, A, Ac, scale, name, tol, thresholds, gap, check_unique, attrs,
                     comm, held, chain=("",), x0=None, save=None, direct_fallback=False):
    """The part of :func:`run_ed` after assembly: solve (from ``x0`` if given; with
    ``direct_fallback``, by LU where every preconditioner failed and it fits), decide the
    kernel, verify, and (``save``: ``(warm start, space)``) save the verified steady state."""
    from lindring.solvers.liouvillian import assemble

    x, ksp, solve_error = None, None, None
    try:
        x, sinfo, ksp = _solve_with(chain, p, basis, Ac, scale, name, tol, attrs, x0,
                                    direct_fallback=direct_fallback)
        held += [x, ksp]
        attrs.update(sinfo)
        name = attrs["solver"]       # direct where the fallback solved it
    except SolverError as err:
        if not check_unique:
            raise err from None
        solve_error = err          # a singular system? the kernel decision tells
        log.info(f"[solve] {err}; deciding the kernel dimension")

    kernel_dim, gap_value, slowest, residual = -1, np.nan, np.nan, np.nan
    if x is not None:
        residual = _residual(A, x, scale)
    if check_unique or gap:
        t1 = time.time()
        decided_by, eigenvalues, undamped, probes = "", "", -1, []
        if check_unique and not gap and x is not None:
            # cheap first: more solves with a Gaussian right-hand side decide "regular" when one
            # converges and the error it implies passes (steady.py, _probe_stages)
            kernel_dim, slowest, decided_by, residual = _probe_stages(
                p, basis, A, Ac, x, ksp, scale, name, tol, thresholds, attrs, residual, probes)
        if kernel_dim < 0:       # not decided by a probe: search the spectrum
            refusal = _sinvert_refusal(Ac, name, tol, comm)
            sinvert = refusal is None
            if sinvert and name == "direct":
                attrs["shift_invert"] = "the direct solver's regime"
            elif sinvert and gap:         # no probe solve ran: the gap needs the spectrum
                attrs["shift_invert"] = "--gap (the spectral search decides; no probe solve)"
            elif sinvert and x is None:
                attrs["shift_invert"] = "the steady-state solve failed (no probe solve)"
            elif sinvert:
                attrs["shift_invert"] = "the probe solves did not decide"
            else:
                attrs["shift_invert"] = f"not taken: {refusal}"
            if sinvert:      # small enough: factorise L itself (shift-and-invert, steady.py)
                A = assemble(p, basis)[0]
                held.append(A)
            try:
                decision = decide_kernel(A, scale, deflate=[x] if x is not None else [],
                                         tol=tol, gap_tol=tol.eps_tol if gap else None,
                                         shift_invert=sinvert)
            except SolverError as err:
                raise SolverError(undecided_message(p, err, probes, refusal)) from None
            kernel_dim, slowest = decision.kernel_dim, decision.slowest
            decided_by = "shift-and-invert" if sinvert else "Krylov-Schur"
            if gap and sinvert and kernel_dim == 1:
                gap_value = _gap_below_cutoff(
                    decide_kernel(A, scale, deflate=[x], tol=tol, gap_tol=tol.eps_tol).gap,
                    decision.eigenvalues, scale)
            elif gap:
                gap_value = decision.gap
            eigenvalues = ", ".join(f"{z.real:.6e}{z.imag:+.6e}j" for z in decision.eigenvalues)
            undamped = len(decision.undamped)
            if kernel_dim == 1 and name == "iterative" and x is not None and slowest > 0:
                residual, refined = _refine_for_error(Ac, A, x, ksp, scale, residual, slowest,
                                                      thresholds, tol)
                attrs["solver_iterations"] += refined
        attrs.update(rightmost_eigenvalues=eigenvalues, undamped_coherences=undamped,
                     uniqueness_method=decided_by, uniqueness_seconds=time.time() - t1)
        if kernel_dim > 1 and decided_by == "Krylov-Schur":
            floor = tol.kernel_tol / tol.margin * scale     # what the Krylov search resolves
            small = [z for z in decision.kernel_eigenvalues if abs(z) > floor]
            if small:
                raise SolverError(
                    "double precision cannot decide whether the steady state is unique: the "
                    f"eigenvalue {small[0].real:.3e}{small[0].imag:+.3e}j is below the kernel "
                    f"cutoff ({tol.kernel_tol:g} x scale {scale:.3e}) but above what the Krylov "
                    "search resolves; --solver direct (shift-and-invert) resolves it if the "
                    "point fits, or rescale the rates")
        if kernel_dim > 1:
            _refuse_unresolved(p, kernel_dim, scale, tol)
    if solve_error is not None and kernel_dim <= 1:
        raise solve_error from None
    if not check_unique and not gap:
        log.warning("uniqueness not checked (--no-check-unique): the file says unique = -1")
    if kernel_dim > 1:
        msg = (f"non-unique steady state: the Liouvillian kernel has dimension {kernel_dim}; "
               "observables written as NaN")
        log.warning(msg)
        obs = _nan_observables(p)
        checks = dict(residual=np.nan, trace_error=np.nan, hermiticity_error=np.nan,
                      min_eigenvalue=np.nan, error_estimate=np.nan)
        attrs["unique"] = 0
    else:
        rows = np.arange(*x.getOwnershipRange(), dtype=np.int64)
        values = x.getArray().copy()
        xnorm = x.norm()
        if getattr(basis, "operator_basis", "") == "pauli":
            # rho = 2^(-L/2) sum_w x_w P_w is Hermitian exactly when every x_w is real
            state = PauliState(basis, lambda index: _values_at(x, index), xnorm ** 2)
            herm2 = float(np.vdot(values.imag, values.imag))
        else:
            state = LocalState(*basis.expand(rows, values), p.L, comm)
            herm2 = _hermiticity_error(x, basis, rows, values)
        checks = dict(residual=residual, trace_error=abs(state.trace() - 1),
                      hermiticity_error=np.sqrt(comm.allreduce(herm2)) / xnorm,
                      min_eigenvalue=np.nan)
        # a residual bounds the error of rho only through the slowest rate: ||rho - rho_exact||
        # / ||rho|| <= ||L rho|| / (sigma_min(L') ||rho||) ~ residual x scale / slowest
        # (Hilbert-Schmidt norms; slowest estimates sigma_min: an estimate, not a bound, and
        # of rho, not of an observable's relative error; README "Verification"). A gap of
        # 1e-11 of the scale turns a residual of 1e-13 into 1e-2.
        checks["error_estimate"] = checks["residual"] * scale / slowest
        attrs["slowest_rate"] = slowest
        obs = model_observables(state, p) if hasattr(p, "observables") else \
            steady_observables(state, p)
        if p.L <= GATHER_MAX_L and isinstance(state, PauliState):
            rho = density_matrix(state.components(np.arange(4 ** p.L, dtype=np.int64)), p.L)
            rho = 0.5 * (rho + rho.conj().T)
            checks["min_eigenvalue"] = float(np.linalg.eigvalsh(rho)[0])
            obs["negativity_half"] = negativity(rho, 2 ** (p.L // 2))
        elif p.L <= GATHER_MAX_L:
            rho = gathered_density_matrix(state)
            if rho is not None:
                rho = 0.5 * (rho + rho.conj().T)
                checks["min_eigenvalue"] = float(np.linalg.eigvalsh(rho)[0])
                obs["negativity_half"] = negativity(rho, 2 ** (p.L // 2))
            checks["min_eigenvalue"] = comm.bcast(checks["min_eigenvalue"])
            obs["negativity_half"] = comm.bcast(obs.get("negativity_half"))
        attrs["unique"] = 1 if kernel_dim == 1 else -1  # -1: not checked
        log.info("[verify] residual {residual:.2e}  error estimate {error_estimate:.2e}  "
                   "|Tr-1| {trace_error:.2e}  herm {hermiticity_error:.2e}  "
                   "min eig {min_eigenvalue:.2e}".format(**checks))
        verify(checks, thresholds, solver=name)
        if save is not None:            # verified: (warm start, space)
            attrs["saved_state"] = save[0].store(_gather_to_zero(x), save[1], p, comm)
    if save is not None and kernel_dim > 1:
        log.warning("--save-state: no state saved (the steady state is not unique)")
    obs.update(checks)
    obs["kernel_dim"] = kernel_dim
    obs["gap"] = gap_value
    return _to_vars(obs, p), attrs


def _gap_below_cutoff(krylov_gap: float, sinvert_eigenvalues, scale: float) -> float:
    """The gap where shift-and-invert decided the kernel: the Krylov search's (rightmost
    eigenvalue off the axis), unless an eigenvalue the shift-and-invert resolved off the axis
    (below the Krylov cutoff, ``kernel_tol`` x scale, which takes it for a kernel vector) is
    slower. Ring L = 4, alpha 100, delta 1: the Krylov search gave 5861 (its cutoff 8e-8 held the
    slowest mode, -2.503e-8, as a second kernel vector), the dense spectrum 2.503e-8."""
    from lindring.solvers.steady import SINVERT_KERNEL_TOL
    slower = [-z.real for z in sinvert_eigenvalues if -z.real >= SINVERT_KERNEL_TOL * scale]
    return min([krylov_gap] + slower) if np.isfinite(krylov_gap) else krylov_gap


def _refuse_unresolved(p, kernel_dim: int, scale: float, tol: Tolerances) -> None:
    """Raise :class:`PrecisionError` where a kernel of dimension ``kernel_dim`` > 1 cannot be
    told from slow modes in double precision (every rate too small against the scale, or some
    rate below ``tol.rate_resolution`` of the largest jump rate)."""
    resolution = tol.rate_resolution
    jump = model.largest_jump_rate(p)
    if jump < tol.kernel_tol / resolution * scale:
        # every relaxation rate is O(jump): below the cutoff x 1/resolution it cannot be
        # told from the kernel (mu = 1e15 beside alpha = 1 claimed a kernel of 10)
        raise PrecisionError(
            "double precision cannot decide whether the steady state is unique: the "
            f"Liouvillian has {kernel_dim} eigenvalues within {tol.kernel_tol:g} x scale "
            f"({scale:.3e}) of zero, but its largest jump rate ({jump:.3e}) is only "
            f"{jump / scale:.1e} of that scale ({model.regime(p)}): every relaxation "
            "rate is of the order of the jump rates, so none can be told from zero. "
            "Rescale the parameters so that the largest coupling is less than "
            f"{resolution / tol.kernel_tol:g} times the largest jump rate")
    unresolved = model.unresolved_rates(p, resolution)
    if unresolved:
        raise PrecisionError(
            "double precision cannot decide whether the steady state is unique: the "
            f"Liouvillian has {kernel_dim} eigenvalues within {tol.kernel_tol:g} x scale "
            f"({scale:.3e}) of zero, and {', '.join(unresolved)} "
            f"{'is' if len(unresolved) == 1 else 'are'} below {resolution:g} of the "
            "largest jump rate: a relaxation rate made by so small a rate (third order in the "
            "ratio) cannot be told from zero, so the kernel found may be an artefact of "
            "rounding. Rescale the parameters so that the rates span less than "
            f"{1 / resolution:g}, or set the small ones to 0")


#: GMRES iterations ILU(0) gets under ``preconditioner = auto`` before heff takes over (the
#: paper's points need ~100 at L <= 9; the hard regimes thousands or never converge; 600 cost
#: ~60 s of a 90 s solve at open L = 8, J0 / rate 10, under load)
ILU_BUDGET = 300


#: largest coupling / largest jump rate (:func:`model.coherence_ratio`) from which ``auto`` starts
#: with heff, skipping ILU(0). Measured at L = 8 (benchmarks/README.md, "Parameter regimes"):
#: at ratio 3 ILU(0) converges (216 iterations, 2.0 CPU s open; 111, 0.9 s ring) and is cheaper
#: than heff (3.0 s, 2.4 s); from 10 on (J0 / rate 10 .. 1000, local decay kappa 0.2, 0.02, the
#: issue's inputs at 25-500) it has not converged in 300 iterations, or at all in 200 s
HEFF_FIRST_RATIO = 5.0


def preconditioner_plan(name: str, p) -> tuple[list[str], str]:
    """The preconditioners to try in turn for the point ``p``, and why, in words (logged and
    written to the file as ``preconditioner_choice``). ``auto``: where the coherent couplings
    dominate (:func:`model.coherence_ratio` >= ``HEFF_FIRST_RATIO``) and heff is affordable
    (:func:`lindring.solvers.heff.affordable`: its dense work per application, the cubes of the
    symmetry blocks of H_eff, within a budget), heff alone (ILU(0) needs thousands of iterations
    or stalls there); elsewhere ILU(0) first (cheap per iteration, fast where the rates are
    balanced), then heff where affordable if ILU has not converged in ``ILU_BUDGET``
    iterations. Measured across regimes: benchmarks/README.md, "Parameter regimes"."""
    from lindring.solvers import heff
    if name not in OPTIONS["preconditioner"].choices:
        raise ValueError(f"unknown preconditioner {name!r}; choose one of "
                         f"{', '.join(OPTIONS['preconditioner'].choices)}")
    if name != "auto":
        return [name], f"{name}: asked for"
    ratio = model.coherence_ratio(p)
    coherent = f"largest coupling / largest jump rate {ratio:.3g}"
    if not heff.affordable(p):
        return ["ilu"], (f"auto: ilu only ({coherent}); heff is not affordable here (L = {p.L}, "
                         "its dense blocks beyond the budget of heff.affordable)")
    if ratio >= HEFF_FIRST_RATIO:
        return ["heff"], (f"auto: heff directly, coherent-dominated ({coherent} >= "
                          f"{HEFF_FIRST_RATIO:g}, where ILU(0) needs > {ILU_BUDGET} iterations)")
    return ["ilu", "heff"], (f"auto: ilu first ({coherent} < {HEFF_FIRST_RATIO:g}), heff if "
                             f"ilu has not converged in {ILU_BUDGET} iterations")


def preconditioner_chain(name: str, p) -> list[str]:
    """The preconditioners of :func:`preconditioner_plan`, without the reason."""
    return preconditioner_plan(name, p)[0]


def _solve_with(chain, p, basis, Ac, scale, name, tol, attrs, x0=None, direct_fallback=False):
    """:func:`steady_state` with each preconditioner of ``chain`` in turn (all but the last
    with at most ``ILU_BUDGET`` iterations), each from the initial guess ``x0`` (or zero); the
    one that converged is ``attrs["preconditioner"]``. With ``direct_fallback`` (``--solver
    auto``), where every one failed and the LU fits (:func:`_sinvert_refusal`: rows and planned
    memory, as for the uniqueness decision), the direct solver last (``info["solver"]`` then
    ``direct``, ``info["direct_fallback"]`` why). Raises a :class:`SolverError` naming every
    attempt and, where heff was not among them and is affordable, suggesting it."""
    from lindring.solvers import heff
    spent, t0, failures = 0, time.time(), []
    for i, kind in enumerate(chain):
        last = i == len(chain) - 1
        pc = None
        if kind == "heff":
            from lindring.solvers.heff import EffectiveHamiltonianPC
            pc = EffectiveHamiltonianPC(p, basis, scale)
        attempt = tol if last else dataclasses.replace(tol, max_it=min(tol.max_it, ILU_BUDGET))
        try:
            x, info, ksp = steady_state(Ac, name, p.L, attempt, scale, preconditioner=pc, x0=x0)
        except SolverError as err:
            failures.append(f"{kind}: {err}" if kind else str(err))
            if last:
                if direct_fallback and name == "iterative":
                    solved = _direct_fallback(p, Ac, scale, tol, failures, t0)
                    if solved is not None:
                        return solved
                if name == "iterative" and "heff" not in chain and heff.affordable(p):
                    failures.append("try --preconditioner heff (the no-jump inverse converges "
                                    "where ILU(0) stalls: strong coherent terms, local decay)")
                raise SolverError("; ".join(failures)) from None
            spent += attempt.max_it
            log.info(f"[solve] {kind}: {err}; trying the preconditioner {chain[i + 1]}")
            continue
        attrs["preconditioner"] = kind
        info["solver_iterations"] += spent
        info["failed_attempt_iterations"] = spent
        info["solve_seconds"] = time.time() - t0        # the attempts that failed included
        return x, info, ksp


def _direct_fallback(p, Ac, scale, tol, failures, t0):
    """The direct solve of ``Ac`` after every iterative attempt (``failures``) failed, where
    :func:`_sinvert_refusal` lets it factorise; ``(x, info, ksp)`` or ``None`` (the reason
    appended to ``failures``)."""
    refusal = _sinvert_refusal(Ac, "iterative", tol, Ac.getComm().tompi4py())
    if refusal is not None:
        failures.append(f"direct: not tried ({refusal})")
        return None
    why = "; ".join(failures)
    log.warning(f"[solve] the iterative solve failed ({why}); solving by LU (it fits)")
    try:
        x, info, ksp = steady_state(Ac, "direct", p.L, tol, scale)
    except SolverError as err:
        failures.append(f"direct: {err}")
        return None
    info.update(solver="direct", direct_fallback=why, preconditioner="",
                solve_seconds=time.time() - t0)
    return x, info, ksp


def _probe_stages(p, basis, A, Ac, x, ksp, scale, name, tol, thresholds, attrs, residual, probes):
    """Decide "unique" by probe solves (:func:`steady.probe_nonsingular`), each with a Gaussian
    right-hand side and :func:`steady.probe_budget` iterations: first with the steady state's
    own solver (its LU, or its preconditioner), then, where that was ILU(0), its probe stalled
    (residual above ``PROBE_STALLED`` times its tolerance) and :func:`heff.affordable`, with the
    no-jump inverse (a different preconditioner converges where ILU stalls: weak dissipation,
    local decay). The first probe that converges decides
    "regular"; if the error estimate it gives then fails, the spectrum decides (the caller).

    Returns ``(kernel_dim, slowest, decided_by, residual)``: ``(1, smallest, "probe solve",
    residual)`` when decided, ``kernel_dim = -1`` otherwise. Appends each :class:`steady.Probe`
    to ``probes`` and writes the last one's numbers (and all in words) to ``attrs``."""
    from lindring.solvers import heff
    own = attrs["solver_iterations"] - attrs.get("failed_attempt_iterations", 0)
    # a warm-started solve took fewer than a cold one: the probe starts from zero
    own = cold_iterations(own, attrs.get("initial_guess_residual"), tol.rtol)
    budget = probe_budget(own, tol)
    stages = [(attrs.get("preconditioner") or "lu", ksp)]
    if name == "iterative" and attrs.get("preconditioner") == "ilu" and heff.affordable(p):
        stages.append(("heff", None))
    for kind, solver in stages:
        built = solver is None
        if built:
            solver = iterative_ksp(Ac, tol, heff.EffectiveHamiltonianPC(p, basis, scale))
        try:
            probe = probe_nonsingular(solver, Ac, scale, max_it=budget, kind=kind)
        finally:
            if built:
                solver.destroy()
        probes.append(probe)
        attrs.update(probe_iterations=probe.iterations, probe_residual=probe.residual,
                     probe_tol=probe.tol, probes="; ".join(q.describe() for q in probes))
        if not probe.converged:
            if not probe.residual > PROBE_STALLED * probe.tol:
                break     # it came close: another preconditioner is no better (near balance)
            continue
        if name == "iterative":
            # a small slowest rate needs a smaller residual for the same error of rho
            residual, refined = _refine_for_error(Ac, A, x, ksp, scale, residual,
                                                  probe.smallest, thresholds, tol)
            attrs["solver_iterations"] += refined
        if residual * scale / probe.smallest <= thresholds.error_estimate:
            by = "probe solve" if len(probes) == 1 else f"probe solve ({kind})"
            return 1, probe.smallest, by, residual
        break           # regular, but the error estimate needs the slowest rate: the spectrum
    return -1, np.nan, "", residual


def _sinvert_refusal(Ac, name, tol, comm) -> str | None:
    """``None`` where the spectral search may factorise (the direct solver's regime always;
    the iterative one within :func:`steady.sinvert_refusal`: rows and planned memory), else why
    not."""
    if name == "direct":
        return None
    from lindring.solvers.petsc import init
    PETSc, _ = init()
    rows = Ac.getSize()[0]
    limit = tol.sinvert_max_rows
    if limit is not None and rows > limit:         # no memory reading needed
        return sinvert_refusal(rows, 0, 8, float("inf"), tol)
    nnz = int(Ac.getInfo(PETSc.Mat.InfoType.GLOBAL_SUM)["nz_used"])
    return sinvert_refusal(rows, nnz, np.dtype(PETSc.ScalarType).itemsize,
                           available_memory_mb(comm), tol)


def undecided_message(p, err, probes, refusal) -> str:
    """Why the uniqueness could not be decided at ``p``, with the numbers of every step (the
    probes, the factorisation not taken, the spectral search's error ``err``), the regime
    (:func:`model.regime`) and what to try."""
    steps = [q.describe() for q in probes] or ["no probe solve (the steady-state solve failed)"]
    if refusal:
        steps.append(f"shift-and-invert not taken ({refusal})")
    steps.append(f"Krylov-Schur: {err}")
    advice = ["-eps_max_it 20000 -eps_ncv 64 (a longer Krylov-Schur search)"]
    if refusal:
        advice.append("more memory or MPI ranks, or a smaller sector (--symmetry auto), so that "
                      "the shift-and-invert factorisation fits")
    if not any(q.kind == "heff" for q in probes):
        advice.append("--preconditioner heff (L <= 10)")
    regime = model.regime(p)
    if "near balance" in regime:
        advice.append("moving away from |alpha| = |delta|, where the slowest relaxation rates "
                      "cluster at zero")
    return (f"uniqueness could not be decided (regime: {regime}): " + "; ".join(steps)
            + ". Try " + ", or ".join(advice))


def _refine_for_error(Ac, A, x, ksp, scale, residual, slowest, thresholds, tol):
    """Continue the iterative solve until the error estimate residual x scale / slowest is a
    tenth of its threshold (or rounding stops it): the solver's own target (1e-12) is not
    enough where the slowest rate is small (alpha 30, delta 1.5, L = 4: error estimate 3.5e-5,
    ||rho - rho^+|| 3e-8, refused). Returns the new residual and the iterations it took."""
    target = 0.1 * thresholds.error_estimate * slowest / scale
    if residual <= target:
        return residual, 0
    its = refine(ksp, Ac, x, scale, max(target, 1e-16), max_it=tol.max_it)
    return _residual(A, x, scale), its


def _residual(A, x, scale: float) -> float:
    """||L x|| / (scale ||x||): the residual of a steady state relative to the scale of L."""
    r = A.createVecLeft()
    try:
        A.mult(x, r)
        return r.norm() / (scale * x.norm())
    finally:
        r.destroy()


def _sector_description(sector: str) -> str:
    """What the uniqueness check and the gap covered, in words (written to the file)."""
    if sector == "none":
        return "the full operator space"
    words = {"parity": "parity-even", "momentum": "momentum-zero", "reflection": "reflection-even"}
    rules = {"parity": "P rho P = rho", "momentum": "T rho T^+ = rho",
             "reflection": "R rho R^+ = rho"}
    parts = sector.split("+")
    if len(parts) == 1:
        return f"the {words[parts[0]]} sector ({rules[parts[0]]}) only"
    return f"the {', '.join(words[n] for n in parts)} sector only"


def resolve_operator_basis(name: str) -> str:
    """``pauli`` or ``matrix-units`` for a ``--basis`` value (``auto``: ``pauli``, real for
    every model: :mod:`lindring.core.pauli`)."""
    choices = OPTIONS["basis"].choices            # the registry's list, written once
    if name not in choices:
        raise model.ModelError(f"unknown operator basis {name!r}; choose one of "
                               f"{', '.join(choices)}")
    return "pauli" if name == "auto" else name


def verify(checks: dict, th: Thresholds, solver: str = "") -> None:
    """Raise :class:`VerificationError` naming every failed check (``solver``: the one used,
    for the advice)."""
    bad = []
    if not checks["residual"] <= th.residual:
        bad.append(f"residual ||L rho||/(scale ||rho||) = {checks['residual']:.3e} > {th.residual:g}")
    if not checks["trace_error"] <= th.trace:
        bad.append(f"|Tr rho - 1| = {checks['trace_error']:.3e} > {th.trace:g}")
    if not checks["hermiticity_error"] <= th.hermiticity:
        bad.append(f"||rho - rho^+||/||rho|| = {checks['hermiticity_error']:.3e} > {th.hermiticity:g}")
    ee = checks.get("error_estimate", np.nan)
    if np.isfinite(ee) and ee > th.error_estimate:
        advice = ("double precision cannot give this steady state more accurately: the "
                  "point is too close to one where the steady state is not unique; move away "
                  "from it"
                  if solver == "direct" else "--solver direct, if the point fits, is more "
                  "accurate")
        bad.append(f"estimated error of rho (relative, Hilbert-Schmidt norm) = residual x "
                   f"scale / slowest rate = {ee:.3e} > "
                   f"{th.error_estimate:g} (the slowest relaxation rate is small against the "
                   f"scale of L; {advice})")
    me = checks.get("min_eigenvalue", np.nan)
    if np.isfinite(me) and me < -th.positivity:
        bad.append(f"smallest eigenvalue of rho = {me:.3e} < -{th.positivity:g}")
    if bad:
        raise VerificationError("steady state failed verification: " + "; ".join(bad))


def _to_vars(obs: dict, p=None) -> dict:
    """ED observables as ``name -> (dims, values)`` (dims from the output schema, and from the
    model file for its own observables)."""
    extra = p.output_variables() if hasattr(p, "output_variables") else None
    return data_vars("ed", obs, extra)


#: largest ||F(rho)|| / rate of a mean-field solution that is written (the solutions found
#: reach 1e-15; rate = sum of the squared jump amplitudes and kappa, meanfield._Cluster.rate)
CMF_MAX_RESIDUAL = 1e-8


def check_cmf_solution(attrs: dict, p: model.Params) -> None:
    """Refuse a mean-field state that is not a fixed point of the self-consistent equations
    (:class:`VerificationError`): its residual ``cmf_residual`` (and that of the symmetric
    solution) relative to the rates above :data:`CMF_MAX_RESIDUAL`."""
    from lindring.solvers.meanfield import cluster_rate
    rate = cluster_rate(p)
    for key, what in (("cmf_residual", "stable"), ("cmf_residual_symmetric", "symmetric")):
        value = attrs.get(key, float("nan"))
        if np.isfinite(value) and value > CMF_MAX_RESIDUAL * rate:
            raise VerificationError(
                f"check failed: the {what} mean-field solution is not a fixed point: "
                f"||F(rho)|| = {value:.3e} is {value / rate:.1e} of the rates ({rate:.3e}), above "
                f"{CMF_MAX_RESIDUAL:g}; nothing written")


def run_method(method: str, p: model.Params, **options):
    """Dispatch to a method by name (``ed``, ``cmf``, ``ground``, ``mpo``); a warning first
    where the rates span beyond what double precision resolves (:func:`model.precision_note`),
    also written to the file (attribute ``precision_note``; ``none`` otherwise)."""
    check_method_bc(method, p.bc)
    if method == "ground":
        from lindring.solvers.ground import ground_observables
        return ground_observables(p)
    note = model.precision_note(p)
    if note:
        log.warning(note)
    if method == "ed":
        data, attrs = run_ed(p, **options)
    elif method == "cmf":
        from lindring.solvers.meanfield import cmf_observables
        data, attrs = cmf_observables(p)
        check_cmf_solution(attrs, p)
    elif method == "mpo":
        from lindring.solvers.mpo import MPOFailure, mpo_observables
        try:
            data, attrs = mpo_observables(p, **options)
        except MPOFailure as err:       # blow-up, not converged, chi too small, check failed
            raise VerificationError(str(err)) from None
    else:
        raise model.ModelError(f"unknown method {method!r}")
    attrs["precision_note"] = note or "none"      # in the file too, not only in the log
    return data, attrs

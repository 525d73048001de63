"""The Liouvillian gap over every symmetry sector, with the sector it lives in (``--gap``).

The gap is ``-Re(lambda)`` of the rightmost eigenvalue of L off the imaginary axis (the kernel
and undamped coherences excluded: :func:`lindring.solvers.steady.decide_kernel`, the definition
the solved sector has always used). The steady state is solved in one sector; the slowest mode
may live in another, so ``gap_sectors = all`` (the default) searches every sector of
:func:`lindring.core.sectors.sector_labels` (both parities, every momentum pair +-k, both
reflections where they split) and reports the smallest gap and its sector; ``solved`` keeps the
solved sector's gap (cheaper: measured in benchmarks/README.md, "Gap over all sectors").

Each sector is assembled in the Pauli basis and searched with SLEPc Krylov-Schur
(:func:`decide_kernel`), one after the other, each matrix freed before the next; a sector of at
most ``DENSE_MAX_ROWS`` rows is diagonalised densely. In the real PETSc build a ``0 < k < pi``
sector is made real by the reflection where the model has it
(:class:`lindring.core.sectors.MirrorRealForm`: its own size and eigenvalues), else held as the
real form of the pair +-k (:class:`lindring.core.sectors.RealForm`); in the complex build as the
complex matrix of k. A sector whose search does not converge is named in ``gap_failures``, and
the gap is then NaN (``gap_complete = 0``, a warning): a minimum over fewer sectors is never
reported as the gap.

The kernel summed over every sector (``gap_kernel_dim``) above the solved sector's means a steady
state that is not unique in the full space even where its sector's kernel is 1 (a conserved
quantity odd under a symmetry: open L = 3, J0 = lam = 1, gamma = -1.23 conserves sigma^x_0, whose
steady states are exchanged by the parity): :func:`full_space_kernel` names the sectors,
:func:`lindring.solvers.methods.run_ed` writes ``unique = 0`` and warns. Without ``--gap`` the
kernel of every sector is still counted where each is small (:data:`KERNEL_CHECK_MAX_WORDS`,
:func:`kernel_over_sectors`, dense), so small points are decided in the full space.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from lindring.core.diagnostics import get_logger
from lindring.core.basis import symmetries_of
from lindring.core.sectors import (CharacterBasis, MirrorRealForm, RealForm, SectorLabel,
                                   sector_labels, sector_projector)
from lindring.solvers.steady import SINVERT_KERNEL_TOL, SolverError, Tolerances, decide_kernel

log = get_logger(__name__)

#: a sector of at most this many rows is diagonalised densely (Krylov-Schur's default subspace
#: would be half of it or more)
DENSE_MAX_ROWS = 32

#: without ``--gap``, the kernel of every sector is counted (densely) with each solve where the
#: operator space has at most this many words: L <= 5, sectors of at most 512 rows, measured
#: 0.001-0.33 s over every sector, the most at open L = 5 with complex alpha (two sectors of 512
#: rows; benchmarks/README.md, "The full-space check from one matrix"), against L = 6's
#: 2048-row sectors
KERNEL_CHECK_MAX_WORDS = 4 ** 5


@dataclasses.dataclass
class SectorGap:
    """One sector's search: its label, the rows of the matrix searched, ``gap`` (inf: every
    eigenvalue on the imaginary axis; NaN: failed), kernel and undamped eigenvalues found,
    ``how`` (``dense``, ``Krylov-Schur``, ``steady-state solve``), ``error`` (empty: converged),
    ``accuracy`` of the gap (absolute, a rate; NaN: that of a Krylov-Schur search,
    :func:`gap_accuracy`)."""
    label: SectorLabel
    rows: int
    gap: float
    kernel_dim: int = 0
    undamped: int = 0
    seconds: float = 0.0
    how: str = ""
    error: str = ""
    accuracy: float = np.nan


@dataclasses.dataclass
class GapResult:
    """The gap (NaN where not every sector converged), the ``label`` of its sector, the mode
    (``all`` or ``solved``) and every sector's :class:`SectorGap`."""
    mode: str
    gap: float
    label: SectorLabel | None
    sectors: list
    L: int
    ties: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> list:
        return [s for s in self.sectors if s.error]

    @property
    def kernel_dim(self) -> int:
        """The kernel dimension summed over the sectors (the full space with ``all``; -1 where
        a sector's is not known)."""
        if any(s.kernel_dim < 0 for s in self.sectors):
            return -1
        return sum(s.kernel_dim for s in self.sectors)

    def variables(self) -> dict:
        """The output variables: ``gap`` and the quantum numbers of its sector (NaN where not
        known; momentum |k| in radians per site, NaN without translation symmetry)."""
        lab = self.label
        return dict(gap=self.gap,
                    gap_parity=float(lab.parity) if lab else np.nan,
                    gap_momentum=lab.k(self.L) if lab else np.nan,
                    gap_reflection=float(lab.reflection) if lab else np.nan)

    def attrs(self) -> dict:
        """The file attributes (output schema: ``gap_*``)."""
        sector = self.label.describe(self.L) if self.label else "none"
        if self.ties:
            sector += " (the same gap within the tolerance in: " + "; ".join(
                t.describe(self.L) for t in self.ties) + ")"
        by = "; ".join(f"{s.label.describe(self.L)}: "
                       + (f"{s.gap:.10g}" if np.isfinite(s.gap) else
                          "no decaying mode" if s.gap == np.inf else "not converged")
                       + f" ({s.rows} rows, {s.how})" for s in self.sectors)
        fails = "; ".join(f"{s.label.describe(self.L)}: {s.error}" for s in self.failures)
        return dict(gap_sectors=self.mode, gap_sector=sector, gap_complete=int(not self.failures),
                    gap_failures=fails, gap_by_sector=by,
                    gap_sectors_searched=len(self.sectors),
                    gap_kernel_dim=self.kernel_dim if not self.failures else -1,
                    gap_seconds=self.seconds)


@dataclasses.dataclass
class FullKernel:
    """The kernel of L over every sector searched (:func:`full_space_kernel`): ``dim`` summed
    over the sectors whose search converged (a lower bound where ``complete`` is False),
    ``by_sector`` each sector holding kernel vectors with their number, in words (``none``:
    no kernel vector anywhere), ``solved`` the solved sector's count among them (-1: not one of
    the sectors, e.g. ``--symmetry parity`` where the model also has the reflection)."""
    dim: int
    complete: bool
    by_sector: str
    solved: int


def full_space_kernel(sectors: list, L: int, solved: SectorLabel) -> FullKernel:
    """The kernel over every sector of ``sectors`` (:class:`SectorGap`, each ``0 < k < pi``
    sector's count already doubled for its -k), and the sectors that hold it in words
    (``parity odd, reflection not split: 1; ...``; the solved one marked ``(solved)``)."""
    done = [s for s in sectors if not s.error and s.kernel_dim >= 0]
    holding = [s for s in done if s.kernel_dim > 0]
    by = "; ".join(f"{s.label.describe(L)}{' (solved)' if s.label == solved else ''}: "
                   f"{s.kernel_dim}" for s in holding) or "none"
    mine = [s.kernel_dim for s in done if s.label == solved]
    return FullKernel(sum(s.kernel_dim for s in done), len(done) == len(sectors), by,
                      mine[0] if mine else -1)


def kernel_over_sectors(p, scale: float, tol: Tolerances | None = None,
                        known: dict | None = None) -> list:
    """The kernel of every sector of ``p`` (:func:`lindring.core.sectors.sector_labels`),
    densely: the full-space uniqueness check without ``--gap``, for operator spaces of at most
    :data:`KERNEL_CHECK_MAX_WORDS` words.

    The whole space's Pauli matrix ``M`` (4^L x 4^L, sparse, real) is built once and each
    sector's block taken from it as ``C M C^+`` (:func:`lindring.core.sectors.sector_projector`,
    built once for each L), then decided by :func:`_dense_block` (singular values first).

    Parameters
    ----------
    p : model.Params or modelfile.ModelPoint
    scale : float
        The scale of L (a rate): the kernel cutoff is relative to it.
    tol : Tolerances, optional
    known : dict, optional
        ``SectorLabel -> SectorGap`` not searched again (the solved sector's, by its solve).

    Returns
    -------
    list of SectorGap
        One per sector, in the order of ``sector_labels(p)``; the gap NaN where the singular
        values alone decided "no kernel".

    Raises
    ------
    ValueError
        Where 4^L > :data:`KERNEL_CHECK_MAX_WORDS`.
    """
    if 4 ** p.L > KERNEL_CHECK_MAX_WORDS:
        raise ValueError(f"the dense kernel check of every sector is for L <= "
                         f"{round(np.log(KERNEL_CHECK_MAX_WORDS) / np.log(4))}, not {p.L}")
    known = known or {}
    labels = sector_labels(p)
    M = full_pauli_matrix(p) if any(label not in known for label in labels) else None
    out = []
    for label in labels:
        if label in known:
            out.append(known[label])
            continue
        t1 = time.time()
        C = sector_projector(p.L, p.bc, label)
        if C.shape[0] == 0:          # no orbit with this character (small L)
            out.append(SectorGap(label, 0, np.inf, how="empty"))
            continue
        found = _dense_block(label, (C @ M @ C.conj().T).toarray(), p.L, scale,
                             kernel_only=True)
        found.seconds = time.time() - t1
        out.append(found)
        log.debug(f"[kernel] {label.describe(p.L)}: {found.rows} rows, "
                  f"{found.kernel_dim} kernel vector(s) ({found.how}, {found.seconds:.1e}s)")
    return out


def full_pauli_matrix(p):
    """The Liouvillian of ``p`` on the whole operator space in the Pauli basis: a real sparse
    matrix (CSR), shape ``(4^L, 4^L)``, rows and columns the Pauli words
    (:mod:`lindring.core.pauli`; :func:`lindring.core.terms.rows_block`)."""
    from lindring.core.basis import FullBasis
    from lindring.core.pauli import PauliBasis, pauli_terms
    from lindring.core.terms import rows_block
    full = PauliBasis(FullBasis(p.L))
    return rows_block(p, full, np.arange(full.size), pauli_terms(p))


def solved_label(p, sector: str) -> SectorLabel:
    """The :class:`SectorLabel` of the sector the steady state was solved in (a resolved
    ``--symmetry`` name): even in each symmetry it uses, 0 (not split) in the others."""
    parts = sector.split("+")
    return SectorLabel(parity=1 if "parity" in parts else 0,
                       momentum=0 if "momentum" in parts else None,
                       reflection=1 if "reflection" in parts else 0)


def gap_of_solved_sector(p, sector: str, solved: SectorGap) -> GapResult:
    """``gap_sectors = solved``: the gap of the solved sector (its :class:`SectorGap`), as a
    :class:`GapResult`."""
    return GapResult("solved", solved.gap, solved.label if np.isfinite(solved.gap) else None,
                     [solved], p.L)


def gap_over_sectors(p, scale: float, tol: Tolerances | None = None,
                     known: dict | None = None) -> GapResult:
    """The gap over every sector of ``p`` (:func:`lindring.core.sectors.sector_labels`).

    Parameters
    ----------
    p : model.Params or modelfile.ModelPoint
    scale : float
        The scale of L (largest |matrix element|, a rate) of the steady-state solve: every
        tolerance is relative to it (:class:`Tolerances`: ``kernel_tol``, ``eps_tol``).
    tol : Tolerances
    known : dict, optional
        ``SectorLabel -> SectorGap`` of sectors already searched (the steady state's, by its
        solve): not searched again.

    Returns
    -------
    GapResult
        ``gap`` NaN and ``failures`` not empty where a sector's search did not converge.
    """
    tol = tol or Tolerances()
    t0 = time.time()
    out = _search_sectors(p, scale, tol, known or {})
    done = [s for s in out if not s.error and np.isfinite(s.gap)]
    best = min(done, key=lambda s: s.gap, default=None)
    result = GapResult("all", np.nan, None, out, p.L, seconds=time.time() - t0)
    if best is not None:
        result.label = best.label
        krylov = gap_accuracy(np.inf, scale, tol)
        acc = {id(s): s.accuracy if np.isfinite(s.accuracy) else krylov for s in done}
        result.ties = [s.label for s in done if s is not best
                       and abs(s.gap - best.gap) <= acc[id(s)] + acc[id(best)]]
    if result.failures:
        bound = f"; the sectors that converged give {best.gap:.6e}, an upper bound" \
            if best is not None else ""
        log.warning(f"[gap] the gap over all sectors is not known: {len(result.failures)} "
                    "sector search(es) did not converge (gap_failures)" + bound)
    elif best is not None:
        result.gap = best.gap
    return result


def gap_accuracy(gap: float, scale: float, tol: Tolerances) -> float:
    """How well a gap is known (absolute): 10 x ``tol.eps_tol`` x scale from a Krylov-Schur
    search (its convergence test), 10 x ``SINVERT_KERNEL_TOL`` x scale where it lies below the
    Krylov cutoff (``kernel_tol`` x scale: only dense eigenvalues or shift-and-invert resolve
    it, to rounding). Two sectors' gaps closer than the sum of their accuracies are a tie
    (``gap_sector`` names both): ring L = 4, alpha 100, delta 1, the solved sector's 2.503e-8 and
    the parity-odd k = pi sector's 3.26e-7 are two gaps, not one within 10 x 1e-10 x 8e4."""
    fine = 10 * SINVERT_KERNEL_TOL * scale
    return fine if gap < tol.kernel_tol * scale else 10 * tol.eps_tol * scale


def _search_sectors(p, scale: float, tol: Tolerances, known: dict):
    """Every sector's :class:`SectorGap` (``known`` reused): densely up to ``DENSE_MAX_ROWS``
    rows, else by Krylov-Schur in this process's build."""
    from lindring.solvers.petsc import init
    PETSc, _ = init()
    comm = PETSc.COMM_WORLD.tompi4py()     # the world of the steady state's solve
    real_build = not np.iscomplexobj(PETSc.ScalarType())
    mirror = symmetries_of(p)["reflection"]
    out = []
    for label in sector_labels(p):
        t1 = time.time()
        if label in known:
            out.append(known[label])
            continue
        basis = CharacterBasis(p.L, p.bc, label, comm)
        if basis.size == 0:          # no orbit with this character (small L)
            out.append(SectorGap(label, 0, np.inf, how="empty"))
            continue
        if basis.size <= DENSE_MAX_ROWS:
            found = _dense_sector(p, basis, scale, tol)
        else:
            found = _krylov_sector(p, basis, scale, tol, real_build, mirror)
        found.seconds = time.time() - t1
        out.append(found)
        log.info(f"[gap] {label.describe(p.L)}: {found.rows} "
                 "rows, " + (f"gap {found.gap:.6e}" if not found.error else
                             f"FAILED ({found.error})")
                 + (f", {found.kernel_dim} kernel vector(s)" if found.kernel_dim else "")
                 + f" ({found.how}, {found.seconds:.1f}s)")
    return out


def _decide(eigenvalues: np.ndarray, scale: float):
    """Kernel, undamped and gap from dense eigenvalues: zero (kernel) and on the imaginary axis
    (undamped) below ``SINVERT_KERNEL_TOL`` x scale, the cutoff of the shift-and-invert
    decision (:func:`decide_kernel`): dense eigenvalues, like the LU, are resolved to rounding
    (measured: the rightmost real parts of ring L = 4 at alpha = 100, delta = 1 are 0 and -3.1e-13
    of the scale, the true -2.5e-8; undamped pairs at +-0.2i within 5e-16), so a slow mode
    above it is not taken for a kernel vector as by the coarser Krylov cutoff (1e-12)."""
    cutoff = SINVERT_KERNEL_TOL * scale
    on_axis = np.abs(eigenvalues.real) < cutoff
    kernel = int(np.sum(np.abs(eigenvalues) < cutoff))
    off = eigenvalues[~on_axis]
    gap = float(-off.real.max()) if len(off) else np.inf
    return kernel, int(on_axis.sum()) - kernel, gap


#: how far above the kernel cutoff the smallest singular value of a sector must be for
#: :func:`_dense_block` to say "no kernel" without the eigenvalues (rounding of the singular
#: values: ~1e-14 of the largest at 4^5 rows)
SCREEN_MARGIN = 1e4


def _dense_sector(p, basis: CharacterBasis, scale: float, tol: Tolerances) -> SectorGap:
    """A small sector's eigenvalues by numpy (:func:`_dense_block`), its matrix built from its
    rows (:func:`lindring.core.terms.rows_block`), on every rank alike."""
    from lindring.core.pauli import pauli_terms
    from lindring.core.terms import rows_block
    M = rows_block(p, basis, np.arange(basis.size), pauli_terms(p)).toarray()
    return _dense_block(basis.label, M, p.L, scale)


def _dense_block(label: SectorLabel, M: np.ndarray, L: int, scale: float,
                 kernel_only: bool = False) -> SectorGap:
    """The kernel, undamped modes and gap of one sector's dense matrix ``M`` (square, the rows
    of the sector ``label``) from its eigenvalues (:func:`_decide`); a ``0 < k < pi`` sector's
    counts doubled: it stands for k and -k.

    ``kernel_only`` (the full-space uniqueness check, :func:`kernel_over_sectors`): the
    singular values first, several times cheaper than the eigenvalues. Every eigenvalue has
    ``|lambda| >= sigma_min``, and the computed singular values are within ``n eps sigma_max``
    of the true ones (they are perfectly conditioned), so ``sigma_min`` at least
    ``SCREEN_MARGIN`` times the kernel cutoff (of ``max(scale, sigma_max)``) proves that the
    sector has no eigenvalue within the cutoff: kernel 0, the gap not computed (NaN). Else
    (a kernel, a slow mode, a non-normal block) the eigenvalues decide, as without it."""
    twice = 2 if label.is_complex(L) else 1
    if kernel_only:
        sv = np.linalg.svd(M, compute_uv=False)
        if sv[-1] >= SCREEN_MARGIN * SINVERT_KERNEL_TOL * max(scale, sv[0]):
            return SectorGap(label, len(M), np.nan, 0, 0, how="dense singular values")
    kernel, undamped, gap = _decide(np.linalg.eigvals(M), scale)
    return SectorGap(label, len(M), gap, twice * kernel, twice * undamped,
                     how="dense", accuracy=10 * SINVERT_KERNEL_TOL * scale)


def _krylov_sector(p, basis: CharacterBasis, scale: float, tol: Tolerances, real_build: bool,
                   mirror: bool) -> SectorGap:
    """A sector's gap by SLEPc Krylov-Schur (:func:`decide_kernel`), assembled in this
    process's build; in the real build a ``0 < k < pi`` sector real by the reflection
    (``mirror``: :class:`MirrorRealForm`), else as the real form of the pair +-k
    (:class:`RealForm`: measured 8-15x slower at ring L = 10, its eigenvalues doubled)."""
    from lindring.solvers.liouvillian import assemble
    held = basis
    if real_build and basis.label.is_complex(p.L):
        # real: by the reflection where the model has it (the sector's own size), else the
        # real form of +-k (twice the rows, every eigenvalue with its conjugate)
        held = MirrorRealForm(basis) if mirror else RealForm(basis)
    A, _ = assemble(p, held)            # on PETSc's world, as the steady state
    try:
        d = decide_kernel(A, scale, tol=tol, gap_tol=tol.eps_tol)
        twice = 2 if basis.label.is_complex(p.L) and not isinstance(held, RealForm) else 1
        return SectorGap(basis.label, held.size, d.gap, twice * d.kernel_dim,
                         twice * len(d.undamped), how="Krylov-Schur")
    except SolverError as err:
        return SectorGap(basis.label, held.size, np.nan, how="Krylov-Schur",
                         error=f"the search did not converge ({err})")
    finally:
        A.destroy()

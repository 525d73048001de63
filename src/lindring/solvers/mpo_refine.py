"""Certified MPO steady states: exact residual by QR sweeps, and variational refinement.

The steady state x (vectorised rho, a :class:`~lindring.solvers.mpo.VectorisedMPS`) solves ``L x = 0`` with
``Tr x = 1``. A time evolution reaches it only up to the Trotter error of its fixed point and the
slowest relaxation time. This module refines x in MPS form by minimising ``||L x||`` at fixed trace
with one-site sweeps (as a DMRG on ``L^+ L``, but without ever forming ``L^+ L``):

- ``L x`` is the MPS with tensors ``B_j = W_j . A_j`` (``W``: the exact MPO of ``L = sum_b G_b``,
  :func:`lindring.solvers.mpo.liouvillian_mpo`; bond dimension ``D w``). Its norm is computed by a sweep of QR
  decompositions (left-canonicalising ``L x``): ``||L x|| = |R_L|``, with rounding errors of order
  ``eps * sum_j ||B_j||`` instead of the ``sqrt(eps)`` floor of the contraction
  ``<x|L^+ L|x>`` (:func:`lindring.solvers.mpo.residual`).
- At site j (all other tensors fixed, the MPS in mixed canonical form around j) ``L x`` is linear in
  the local tensor ``theta``: ``L x = Q_left (R_l W_j theta R_r) Q_right`` with isometries Q, so
  ``||L x|| = ||M_j theta||`` with ``M_j theta = R_l . W_j . theta . R_r`` (the triangular factors
  of the two QR sweeps). The constrained least-squares problem ``min ||M_j theta||`` with
  ``Tr x = c^+ theta = 1`` is solved by LSQR (Paige and Saunders, ACM TOMS 8, 43 (1982);
  ``scipy.sparse.linalg.lsqr``) for a correction ``theta + P delta`` (P: projector on
  ``c^+ delta = 0``), never by the normal equations, so its accuracy is not squared.
- Each local step can only lower ``||L x||`` at fixed trace (LSQR from ``delta = 0`` is monotone),
  so the sweeps decrease the residual monotonically; they stop when it is below the target or
  when a sweep gains less than a factor ``stall``.

This is the variational approach of Cui, Cirac and Banuls, PRL 114, 220601 (2015) (minimise
``||L rho||`` over MPOs), here with the trace fixed instead of the norm, local least squares
instead of local eigenproblems of ``L^+ L``, and bond generators on nearest-neighbour pairs with
two-site jump operators.
"""
from __future__ import annotations

import math
import time

import numpy as np
import scipy.linalg as sla
import scipy.sparse.linalg as spla

from lindring.solvers.mpo import VectorisedMPS, at_chi, full_bonds


#: local problems up to this many unknowns (and entries of the dense M) are solved densely
DENSE_MAX_N, DENSE_MAX_ENTRIES = 512, 2e7


def _apply_w(A: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``B = W . A``: (Dl, 4, Dr) and (wl, wr, out, in) -> (Dl wl, 4, Dr wr), pairs (a, u)."""
    Dl, _, Dr = A.shape
    wl, wr = w.shape[:2]
    B = np.tensordot(A, w, axes=(1, 3))                    # Dl, Dr, wl, wr, out
    return B.transpose(0, 2, 4, 1, 3).reshape(Dl * wl, 4, Dr * wr)


def _left_step(R: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Triangular factor of ``R . B`` reshaped (r 4, Dr wr): the left part of ``L x`` compressed."""
    T = np.tensordot(R, B, axes=(1, 0))                    # r, 4, Dr wr
    T = T.reshape(-1, T.shape[2])
    Rn = np.linalg.qr(T, mode="r")
    return Rn


def _right_step(R: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Triangular factor (transposed) of ``B . R`` reshaped (Dl wl, 4 r)."""
    T = np.tensordot(B, R, axes=(2, 0))                    # Dl wl, 4, r
    T = T.reshape(T.shape[0], -1)
    Rn = np.linalg.qr(T.T, mode="r")                       # T = Rn^T Q^T
    return Rn.T


def residual_norm(state: VectorisedMPS, W: list[np.ndarray]) -> float:
    """``||L x||_2`` by a QR sweep over the MPS ``L x`` (no squaring of the rounding error)."""
    R = np.ones((1, 1), dtype=state.dtype)
    for A, w in zip(state.A, W):
        R = _left_step(R, _apply_w(A, w))
    return float(np.linalg.norm(R))


def relative_residual(state: VectorisedMPS, W: list[np.ndarray]) -> float:
    """``||L x|| / ||x||`` (same quantity as ED's ``residual``), QR-accurate numerator."""
    n2 = state.norm2()
    return residual_norm(state, W) / math.sqrt(n2) if n2 > 0 else float("nan")


class _Local:
    """The linear map ``theta -> R_l W_j theta R_r`` at one site, and its adjoint."""

    def __init__(self, Rl, w, Rr, shape):
        Dl, _, Dr = shape
        wl, wr = w.shape[:2]
        self.Rl = Rl.reshape(Rl.shape[0], Dl, wl)
        self.Rr = Rr.reshape(Dr, wr, Rr.shape[1])
        self.w = w
        self.shape = shape
        self.out_shape = (self.Rl.shape[0], 4, self.Rr.shape[2])

    def mv(self, theta):
        t = np.tensordot(self.Rl, theta.reshape(self.shape), axes=(1, 0))   # rl, wl, in, Dr
        t = np.tensordot(t, self.w, axes=((1, 2), (0, 3)))                   # rl, Dr, wr, out
        t = np.tensordot(t, self.Rr, axes=((1, 2), (0, 1)))                  # rl, out, rr
        return t.reshape(-1)

    def rmv(self, y):
        y = y.reshape(self.out_shape)
        t = np.tensordot(y, self.Rr.conj(), axes=(2, 2))                     # rl, out, Dr, wr
        t = np.tensordot(t, self.w.conj(), axes=((1, 3), (2, 1)))            # rl, Dr, wl, in
        t = np.tensordot(self.Rl.conj(), t, axes=((0, 2), (0, 2)))           # Dl, Dr, in
        return t.transpose(0, 2, 1).reshape(-1)


class _Local2:
    """The linear map ``theta -> R_l W_j W_j+1 theta R_r`` on a two-site tensor, and its adjoint."""

    def __init__(self, Rl, w1, w2, Rr, shape):
        Dl, _, _, Dr = shape
        self.Rl = Rl.reshape(Rl.shape[0], Dl, w1.shape[0])
        self.Rr = Rr.reshape(Dr, w2.shape[1], Rr.shape[1])
        self.w1, self.w2 = w1, w2
        self.shape = shape
        self.out_shape = (self.Rl.shape[0], 4, 4, self.Rr.shape[2])

    def mv(self, theta):
        t = np.tensordot(self.Rl, theta.reshape(self.shape), axes=(1, 0))   # rl, wl, i1, i2, Dr
        t = np.tensordot(t, self.w1, axes=((1, 2), (0, 3)))                  # rl, i2, Dr, wm, o1
        t = np.tensordot(t, self.w2, axes=((3, 1), (0, 3)))                  # rl, Dr, o1, wr, o2
        t = np.tensordot(t, self.Rr, axes=((1, 3), (0, 1)))                  # rl, o1, o2, rr
        return t.reshape(-1)

    def rmv(self, y):
        y = y.reshape(self.out_shape)
        t = np.tensordot(y, self.Rr.conj(), axes=(3, 2))                     # rl, o1, o2, Dr, wr
        t = np.tensordot(t, self.w2.conj(), axes=((2, 4), (2, 1)))           # rl, o1, Dr, wm, i2
        t = np.tensordot(t, self.w1.conj(), axes=((1, 3), (2, 1)))           # rl, Dr, i2, wl, i1
        t = np.tensordot(self.Rl.conj(), t, axes=((0, 2), (0, 3)))           # Dl, Dr, i2, i1
        return t.transpose(0, 3, 2, 1).reshape(-1)


def _solve_local(op: _Local, theta: np.ndarray, c: np.ndarray, iters: int) -> np.ndarray:
    """``argmin ||M theta'||`` over ``theta' = theta + P delta`` (``c^+ theta'`` = ``c^+ theta``)."""
    n = theta.size
    cn = c / np.linalg.norm(c)
    m = int(np.prod(op.out_shape))
    if n <= DENSE_MAX_N and m * n <= DENSE_MAX_ENTRIES:
        # small problem: dense M, least squares by QR/SVD (LSQR converges slowly when M is
        # ill-conditioned, i.e. near slow modes, even for a few hundred unknowns)
        M = np.stack([op.mv(e) for e in np.eye(n, dtype=theta.dtype)], axis=1)
        N = sla.null_space(cn.conj()[None, :])                   # n x (n-1), c^+ N = 0
        z = np.linalg.lstsq(M @ N, -(M @ theta.reshape(-1)), rcond=None)[0]
        new = theta.reshape(-1) + N @ z
        if np.linalg.norm(M @ new) > np.linalg.norm(M @ theta.reshape(-1)):
            return theta
        return new.reshape(theta.shape)

    def proj(v):
        return v - cn * np.vdot(cn, v)

    A = spla.LinearOperator((int(np.prod(op.out_shape)), n), dtype=theta.dtype,
                            matvec=lambda v: op.mv(proj(v)), rmatvec=lambda y: proj(op.rmv(y)))
    b = -op.mv(theta.reshape(-1))
    delta = spla.lsqr(A, b, atol=1e-16, btol=1e-16, conlim=0, iter_lim=iters)[0]
    new = theta.reshape(-1) + proj(delta)
    # LSQR is monotone in exact arithmetic; keep the old tensor if rounding says otherwise
    if np.linalg.norm(op.mv(new)) > np.linalg.norm(b):
        return theta
    return new.reshape(theta.shape)


def refine(state: VectorisedMPS, W: list[np.ndarray], target: float, max_sweeps: int = 20,
           lsqr_iters: int = 60, stall: float = 0.9, say=None, scale: float = 1.0,
           chi: int = 0, cutoff: float | None = None, max_lsqr_iters: int = 800) -> dict:
    """Minimise ``||L x||`` at ``Tr x = 1`` by one-site sweeps (in place); see the module docstring.

    Parameters
    ----------
    state : VectorisedMPS
        Start (e.g. a TEBD steady state), trace 1; modified in place, bond dimensions unchanged.
    W : list of ndarray
        Exact MPO of the Liouvillian, ``W_j[w_left, w_right, out, in]``.
    target : float
        Stop when ``||L x|| / (||x|| scale)`` is at or below this.
    max_sweeps, lsqr_iters, stall, max_lsqr_iters
        At most ``max_sweeps`` sweeps (each left-to-right and back), ``lsqr_iters`` LSQR
        iterations per local solve; when a sweep lowers the residual by less than ``stall`` times
        the iterations are doubled (up to ``max_lsqr_iters``), after that the sweeps stop; they
        stop at once if some bond is at ``chi`` (the truncation then sets the floor).
    scale : float
        Scale of L by which the reported relative residual is divided (e.g. the largest bond rate).
    chi, cutoff
        Two-site sweeps (bond dimension up to ``chi``, SVD tail of relative weight below
        ``cutoff`` dropped, default ``min(1e-20, (target / 1000)^2)``); ``chi = 0``: one-site sweeps at fixed
        bond dimensions (measured at L = 6: they gain 2x per sweep against 8x for two-site
        sweeps at 2/3 of the cost, so two-site sweeps are the default).

    Returns
    -------
    dict
        ``residual`` (``||L x||/||x||``, final), ``history`` (after each half-sweep), ``sweeps``.
    """
    state.move_center(0)
    tr0 = state.trace()
    state.scale(1.0 / tr0)
    history = [relative_residual(state, W)]
    t0 = time.time()
    sweeps = 0
    sites = 2 if chi else 1
    if cutoff is None:
        # dropping a tail of amplitude a moves x by a, and near a slow mode the observables by
        # a / (slowest rate): keep the discarded amplitude far below the target residual
        cutoff = min(1e-20, (1e-3 * min(target, 1.0)) ** 2)   # target 1e300 overflowed
    while history[-1] / scale > target and sweeps < max_sweeps:
        before = history[-1]
        for direction in (+1, -1):
            if sites == 2:
                _half_sweep2(state, W, direction, lsqr_iters, chi, cutoff, say)
            else:
                _half_sweep(state, W, direction, lsqr_iters)
            history.append(relative_residual(state, W))
        sweeps += 1
        if say:
            say(f"[refine] sweep {sweeps} ({sites}-site, chi {state.max_bond}): residual "
                f"||L x||/||x|| = {history[-1]:.3e} (relative {history[-1] / scale:.2e}, target "
                f"{target:.1e})  {time.time() - t0:.1f}s")
        if history[-1] > stall * before:
            # inexact local solves stall first where L is ill-conditioned (slow modes): give
            # LSQR more iterations before giving up
            if lsqr_iters >= max_lsqr_iters or (chi and at_chi(state, chi)):
                break       # truncation to chi, not the local solves, sets the floor
            lsqr_iters = min(2 * lsqr_iters, max_lsqr_iters)
            if say:
                say(f"[refine] stalled: LSQR iterations per site -> {lsqr_iters}")
    return dict(residual=history[-1], history=history, sweeps=sweeps)


def _identity_env_left(A, env, identity):
    return env @ np.tensordot(A, identity, axes=(1, 0))


def _identity_env_right(A, env, identity):
    return np.tensordot(A, identity, axes=(1, 0)) @ env


def _half_sweep(state: VectorisedMPS, W, direction: int, iters: int) -> None:
    """One sweep of local solves; ``direction`` +1: site 0 -> L-1 (centre must be at 0), -1: back."""
    L = state.L
    A = state.A
    one = np.ones((1, 1), dtype=state.dtype)
    one1 = state.identity
    sites = range(L) if direction > 0 else range(L - 1, -1, -1)
    start = sites[0]
    assert state.center == start
    # precompute the far side (compressed L x and identity environments)
    if direction > 0:
        far = [None] * (L + 1)
        far[L] = one
        far_tr = [None] * (L + 1)
        far_tr[L] = np.ones(1, dtype=state.dtype)
        for j in range(L - 1, 0, -1):
            far[j] = _right_step(far[j + 1], _apply_w(A[j], W[j]))
            far_tr[j] = _identity_env_right(A[j], far_tr[j + 1], one1)
        near, near_tr = one, np.ones(1, dtype=state.dtype)
    else:
        far = [None] * (L + 1)
        far[0] = one
        far_tr = [None] * (L + 1)
        far_tr[0] = np.ones(1, dtype=state.dtype)
        for j in range(0, L - 1):
            far[j + 1] = _left_step(far[j], _apply_w(A[j], W[j]))
            far_tr[j + 1] = _identity_env_left(A[j], far_tr[j], one1)
        near, near_tr = one, np.ones(1, dtype=state.dtype)
    for j in sites:
        if direction > 0:
            Rl, Rr, tl, trr = near, far[j + 1], near_tr, far_tr[j + 1]
        else:
            Rl, Rr, tl, trr = far[j], near, far_tr[j], near_tr
        theta = A[j]
        c = np.conj(np.einsum("a,i,b->aib", tl, one1, trr)).reshape(-1)
        op = _Local(Rl, W[j], Rr, theta.shape)
        theta = _solve_local(op, theta, c, iters)
        Dl, d, Dr = theta.shape
        last = (j == L - 1) if direction > 0 else (j == 0)
        if last:
            A[j] = theta
            state.center = j
            break
        if direction > 0:
            Q, R = np.linalg.qr(theta.reshape(Dl * d, Dr))
            A[j] = Q.reshape(Dl, d, Q.shape[1])
            A[j + 1] = np.tensordot(R, A[j + 1], axes=(1, 0))
            near = _left_step(near, _apply_w(A[j], W[j]))
            near_tr = _identity_env_left(A[j], near_tr, one1)
            state.center = j + 1
        else:
            Q, R = np.linalg.qr(theta.reshape(Dl, d * Dr).T)
            A[j] = Q.T.reshape(Q.shape[1], d, Dr)
            A[j - 1] = np.tensordot(A[j - 1], R.T, axes=(2, 0))
            near = _right_step(near, _apply_w(A[j], W[j]))
            near_tr = _identity_env_right(A[j], near_tr, one1)
            state.center = j - 1


def split_two_site(theta: np.ndarray, chi: int, cutoff: float) -> tuple:
    """SVD of a two-site tensor ``(Dl, 4, 4, Dr)``, truncated to at most ``chi`` singular values
    and dropping a tail of relative weight (sum of s^2 over all s^2) below ``cutoff``.

    Returns
    -------
    tuple
        ``U (Dl 4, k)``, ``s (k,)``, ``Vh (k, 4 Dr)`` and the discarded relative weight.
    """
    Dl, _, _, Dr = theta.shape
    M = theta.reshape(Dl * 4, 4 * Dr)
    try:
        U, s, Vh = np.linalg.svd(M, full_matrices=False)
    except np.linalg.LinAlgError:
        U, s, Vh = sla.svd(M, full_matrices=False, lapack_driver="gesvd")
    s2 = s * s
    tail = np.cumsum(s2[::-1])[::-1] / s2.sum()
    ok = np.flatnonzero(tail <= cutoff)
    keep = max(1, min(chi, int(ok[0]) if ok.size else len(s)))
    dropped = float(tail[keep]) if keep < len(s) else 0.0
    return U[:, :keep], s[:keep], Vh[:keep], dropped


def _two_site_sweep(state: VectorisedMPS, W, direction: int, chi: int, cutoff: float,
                    one: np.ndarray, env_left, env_right, solve, say=None) -> float:
    """The skeleton of a two-site sweep: bonds (j, j+1) left to right (+1, centre at 0) or
    right to left (-1, centre at L-1). ``env_left(E, A_j, W_j)`` / ``env_right(E, A_j, W_j)``
    extend the environments of ``L x`` (starting from ``one``), ``solve(E_left, E_right,
    theta, c)`` returns the new two-site tensor (``c``: the trace functional); it is split by
    SVD, keeping at most ``chi`` singular values and dropping a tail of relative weight below
    ``cutoff``. Returns the largest weight dropped at one bond."""
    L = state.L
    A = state.A
    one1 = state.identity
    bonds = range(L - 1) if direction > 0 else range(L - 2, -1, -1)
    far = [None] * (L + 1)
    far_tr = [None] * (L + 1)
    if direction > 0:
        assert state.center == 0
        far[L], far_tr[L] = one, np.ones(1, dtype=state.dtype)
        for j in range(L - 1, 1, -1):
            far[j] = env_right(far[j + 1], A[j], W[j])
            far_tr[j] = _identity_env_right(A[j], far_tr[j + 1], one1)
    else:
        assert state.center == L - 1
        far[0], far_tr[0] = one, np.ones(1, dtype=state.dtype)
        for j in range(0, L - 2):
            far[j + 1] = env_left(far[j], A[j], W[j])
            far_tr[j + 1] = _identity_env_left(A[j], far_tr[j], one1)
    near, near_tr = one, np.ones(1, dtype=state.dtype)
    last_print = time.time()
    largest = 0.0
    for b in bonds:
        if say and time.time() - last_print >= 10.0:
            last_print = time.time()
            say(f"[refine]   bond {b} of {L - 1} ({'->' if direction > 0 else '<-'}), "
                f"bond dimension {state.max_bond}")
        if direction > 0:
            El, Er, tl, trr = near, far[b + 2], near_tr, far_tr[b + 2]
        else:
            El, Er, tl, trr = far[b], near, far_tr[b], near_tr
        theta = np.tensordot(A[b], A[b + 1], axes=(2, 0))                  # Dl, 4, 4, Dr
        c = np.conj(np.einsum("a,i,k,b->aikb", tl, one1, one1, trr)).reshape(-1)
        theta = solve(El, Er, theta, c, b)
        Dl, _, _, Dr = theta.shape
        U, s, Vh, dropped = split_two_site(theta, chi, cutoff)
        keep = len(s)
        state.discarded += dropped
        largest = max(largest, dropped)
        if direction > 0:
            A[b] = U.reshape(Dl, 4, keep)
            A[b + 1] = (s[:, None] * Vh).reshape(keep, 4, Dr)
            state.center = b + 1
            near = env_left(near, A[b], W[b])
            near_tr = _identity_env_left(A[b], near_tr, one1)
        else:
            A[b] = (U * s[None, :]).reshape(Dl, 4, keep)
            A[b + 1] = Vh.reshape(keep, 4, Dr)
            state.center = b
            near = env_right(near, A[b + 1], W[b + 1])
            near_tr = _identity_env_right(A[b + 1], near_tr, one1)
    # the split may change the trace by the truncation: restore Tr x = 1
    state.scale(1.0 / state.trace())
    return largest


def _half_sweep2(state: VectorisedMPS, W, direction: int, iters: int, chi: int,
                 cutoff: float, say=None) -> None:
    """Two-site least-squares sweep (:func:`_two_site_sweep`): the local problem is
    ``min ||R_l W_j W_j+1 theta R_r||`` at fixed trace, the environments the QR factors of
    ``L x``."""
    def solve(Rl, Rr, theta, c, b):
        return _solve_local(_Local2(Rl, W[b], W[b + 1], Rr, theta.shape), theta, c, iters)

    _two_site_sweep(state, W, direction, chi, cutoff, np.ones((1, 1), dtype=state.dtype),
                    lambda R, A, w: _left_step(R, _apply_w(A, w)),
                    lambda R, A, w: _right_step(R, _apply_w(A, w)), solve, say)


# ----------------------------------------------------------------------------- Galerkin solver
# Two-site sweeps of local *linear solves* of the steady-state equation (ALS / DMRG for a linear
# system, Galerkin projection): with the MPS in mixed canonical form around the bond (b, b+1),
# x = P theta with P an isometry, and the local problem is
#
#     (P^+ L P + sigma theta0 c^+) theta = sigma theta0,       c^+ theta = Tr x,
#
# the projection of the regular global system (L + sigma x0 <1|) x = sigma x0, whose unique solution
# is the steady state with trace 1 (<1| L = 0, so the rank-one term moves the eigenvalue 0 of L to
# sigma and leaves the others). P^+ L P is applied with single-layer environments <x|L|x>
# (cost O(D^3 w d^2) per application, no squaring of the condition number) and the local system
# is solved by GMRES from the current tensor, to a relative residual that follows the global one
# (1e-3 of it, at least 1e-3 of the target).
#
# A preconditioner (the exact inverse of X (x) 1 (x) 1 + 1 (x) G_b (x) 1 + 1 (x) 1 (x) Z, with X, Z
# the projected Liouvillians of the left and right blocks, by Sylvester solves) was measured and
# dropped: the same number of GMRES iterations (L = 12, chi 32), 30 % more time.
#
# Unlike the least-squares sweeps of :func:`refine` the local steps are not monotone in ||L x||;
# convergence is decided by the true residual (QR sweeps) after each sweep and the best state
# is kept.

#: local Galerkin problems up to this many unknowns are solved densely
GALERKIN_DENSE_N = 1024


def _genv_left(E: np.ndarray, A: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``E[a', u, a]`` (bra, MPO channel, ket) of sites < j -> sites <= j."""
    T = np.tensordot(E, A, axes=(2, 0))                           # a', u, i, b
    T = np.tensordot(T, w, axes=((1, 2), (0, 3)))                 # a', b, v, o
    T = np.tensordot(A.conj(), T, axes=((0, 1), (0, 3)))          # b', b, v
    return np.ascontiguousarray(T.transpose(0, 2, 1))


def _genv_right(E: np.ndarray, A: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``E[b', v, b]`` of sites > j -> sites >= j."""
    T = np.tensordot(A, E, axes=(2, 2))                           # a, i, b', v
    T = np.tensordot(T, w, axes=((1, 3), (3, 1)))                 # a, b', u, o
    T = np.tensordot(A.conj(), T, axes=((1, 2), (3, 1)))          # a', a, u
    return np.ascontiguousarray(T.transpose(0, 2, 1))


class _Galerkin2:
    """``theta -> P^+ L P theta`` at bond (b, b+1) (environments ``El``, ``Er`` of <x|L|x>).

    The MPO of :func:`lindring.solvers.mpo.liouvillian_mpo` has, on the bond between the two
    sites, channel 0 (nothing applied yet: identity on site b), channel 1 (a term completed at
    or left of site b: identity on site b+1) and channels ``2 + k`` (the bond term
    ``G_b = sum_k A_k (x) B_k`` half applied). So the local operator is a sum of three products::

        P^+ L P = H_left (x) E_1  +  E_0 (x) H_right  +  E_0 (x) G_b (x) E_1

    with ``E_0 = El[:, 0, :]`` and ``E_1`` (the right environment in channel 1) the projected
    identities (exact identities in a canonical gauge), ``H_left`` = the left block and site b
    (terms inside the block and across bond b-1, a ``4 Dl x 4 Dl`` matrix) and ``H_right`` = site
    b+1 and the right block (``4 Dr x 4 Dr``). Built once per bond, they make an application two
    GEMMs of ``(4D)^3`` and three of ``16 D^3`` (94 Mflop at D = 64, real), against four
    tensordots over all MPO channels (200 Mflop and three transposed copies of an array of
    ``16 D^2 w`` numbers).
    """

    def __init__(self, El, w1, w2, Er, shape):
        self.El, self.w1, self.w2, self.Er = El, w1, w2, Er
        self.shape = shape
        # the channel "completed" on the right bond of site b+1 (the chain's end keeps only it)
        j1 = 0 if w2.shape[1] == 1 else 1
        eye = np.eye(4)
        if not (np.array_equal(w1[0, 0], eye) and not np.any(w1[1:, 0]) and not np.any(w1[1:, 2:])
                and np.array_equal(w2[1, j1], eye) and not np.any(np.delete(w2[1], j1, axis=0))
                and not np.any(np.delete(w2[2:], j1, axis=1))):
            raise ValueError("_Galerkin2 needs the channel structure of liouvillian_mpo")
        Dl, _, _, Dr = shape
        self.E0 = El[:, 0, :]
        self.E1T = Er[:, j1, :].T.copy()
        self.G = np.einsum("moi,mpj->opij", w1[0, 2:], w2[2:, j1]).reshape(16, 16)
        self.left = np.einsum("xua,uoi->xoai", El, w1[:, 1]).reshape(Dl * 4, Dl * 4)
        self.right = np.einsum("vpj,yvb->pyjb", w2[0], Er).reshape(4 * Dr, 4 * Dr)

    def mv(self, theta):
        Dl, _, _, Dr = self.shape
        T = theta.reshape(Dl * 4, 4 * Dr)
        out = ((self.left @ T).reshape(Dl * 16, Dr) @ self.E1T).reshape(Dl, 16 * Dr)
        mid = (T @ self.right.T).reshape(Dl, 16, Dr)
        mid += (np.matmul(self.G, theta.reshape(Dl, 16, Dr)).reshape(Dl * 16, Dr)
                @ self.E1T).reshape(Dl, 16, Dr)
        out += self.E0 @ mid.reshape(Dl, 16 * Dr)
        return out.reshape(-1)


def _solve_galerkin(op: _Galerkin2, theta0: np.ndarray, c: np.ndarray, sigma: float, rtol: float,
                    maxiter: int, stats: dict) -> np.ndarray:
    """GMRES for ``(P^+LP + sigma u c^+) theta = sigma u``, ``u = theta0 / (c^+ theta0)``."""
    n = theta0.size
    u = theta0.reshape(-1) / np.vdot(c, theta0.reshape(-1))

    def mv(v):
        return op.mv(v) + sigma * u * np.vdot(c, v)

    b = sigma * u
    if n <= GALERKIN_DENSE_N:
        # small local problem: the dense matrix and an LU solve (exact; a singular system, i.e.
        # a degenerate kernel, falls back to least squares)
        Dl, _, _, Dr = op.shape
        M = np.einsum("xua,umoi,mvpj,yvb->xopyaijb", op.El, op.w1, op.w2, op.Er,
                      optimize=True).reshape(n, n) + sigma * np.outer(u, c.conj())
        try:
            x = np.linalg.solve(M, b)
            ok = np.all(np.isfinite(x)) and np.linalg.norm(M @ x - b) <= 1e-10 * np.linalg.norm(b)
        except np.linalg.LinAlgError:
            ok = False
        if not ok:
            x = np.linalg.lstsq(M, b, rcond=None)[0]
        stats["solves"] = stats.get("solves", 0) + 1
        return x.reshape(theta0.shape)
    A = spla.LinearOperator((n, n), dtype=np.result_type(theta0, op.w1), matvec=mv)
    count = [0]

    def cb(_):
        count[0] += 1

    x, info = spla.gmres(A, b, x0=u.copy(), rtol=rtol, atol=0.0, restart=min(n, 40),
                         maxiter=maxiter, callback=cb, callback_type="pr_norm")
    stats["iterations"] = stats.get("iterations", 0) + count[0]
    stats["solves"] = stats.get("solves", 0) + 1
    if not np.all(np.isfinite(x)):
        return theta0
    return x.reshape(theta0.shape)


def _half_sweep_galerkin(state: VectorisedMPS, W, direction: int, chi: int, cutoff: float,
                         sigma: float, rtol: float, maxiter: int, stats: dict,
                         say=None) -> None:
    """One two-site Galerkin sweep (:func:`_two_site_sweep`; +1: left to right from centre 0,
    -1: back from L-1); the largest weight dropped is kept in ``stats["sweep_tail"]``."""
    def solve(El, Er, theta, c, b):
        op = _Galerkin2(El, W[b], W[b + 1], Er, theta.shape)
        return _solve_galerkin(op, theta, c, sigma, rtol, maxiter, stats)

    dropped = _two_site_sweep(state, W, direction, chi, cutoff,
                              np.ones((1, 1, 1), dtype=state.dtype), _genv_left, _genv_right,
                              solve, say)
    stats["sweep_tail"] = max(stats.get("sweep_tail", 0.0), dropped)


def solve_galerkin(state: VectorisedMPS, W: list[np.ndarray], target: float, chi: int,
                   scale: float, max_sweeps: int = 20, cutoff: float | None = None, say=None,
                   sigma: float | None = None, maxiter: int = 10,
                   chi_start: int | None = None, local_tol: float = 1e-3) -> dict:
    """Two-site Galerkin sweeps until ``||L x|| / (||x|| scale) <= target`` (in place).

    See the section comment above for the local problem. The bond dimension is grown during the
    sweeps: the first sweeps keep at most ``chi_start`` states per bond (default ``min(chi,
    16)``); after a sweep that leaves some bond at the present cap the cap is doubled (up to
    ``chi``), so each cap is swept once on the way up. The sweeps stop at the target, after
    ``max_sweeps``, when a sweep at ``chi`` gains less than 2x with some bond at ``chi`` or
    leaves a residual within 3x of the square root of the largest discarded weight (the
    truncation sets the floor), or when two sweeps in a row gain less than 2x.

    Parameters
    ----------
    state : VectorisedMPS
        Start (e.g. a short TEBD run); replaced in place by the best state seen (smallest true
        residual, computed by QR sweeps after every sweep), trace 1.
    W : list of ndarray
        Exact MPO of the Liouvillian, ``W_j[w_left, w_right, out, in]``.
    target : float
        Relative residual at which to stop.
    chi : int
        Largest bond dimension.
    scale : float
        Rate by which the residual is made relative (``rate_scale``).
    max_sweeps : int
        Most sweeps (each left to right and back).
    cutoff : float, optional
        Discarded relative weight per SVD; default ``min(1e-20, (1e-3 target)^2)``.
    say : callable, optional
        Progress messages.
    sigma : float, optional
        Weight of the trace term (default ``-scale``).
    maxiter : int
        GMRES restarts (of 40 iterations) per local solve.
    chi_start : int, optional
        Bond dimension cap of the first sweeps.
    local_tol : float
        GMRES tolerance of the local solves relative to the present relative residual.

    Returns
    -------
    dict
        ``residual`` (``||L x|| / ||x||`` of the returned state), ``history`` (after each sweep),
        ``sweeps``, ``chi_history`` (cap of each sweep), ``stop`` (``target``, ``chi floor``,
        ``stalled`` or ``max sweeps``), ``iterations`` (GMRES iterations), ``solves``.
    """
    if cutoff is None:
        cutoff = min(1e-20, (1e-3 * min(target, 1.0)) ** 2)   # target 1e300 overflowed
    sigma = -scale if sigma is None else sigma
    cap = min(chi, chi_start or 16)
    state.move_center(0)
    state.scale(1.0 / state.trace())
    history = [relative_residual(state, W)]
    chi_history = []
    best, best_res = state.copy(), history[0]
    stats: dict = {}
    t0 = time.time()
    sweeps, slow = 0, 0
    stop = "target" if best_res / scale <= target else "max sweeps"
    while best_res / scale > target and sweeps < max_sweeps:
        # local tolerance: 1e-3 of the present relative residual (the local residual
        # ||P^+ L x|| / (|sigma| ||x||) is at most the global one), at least 1e-3 of the target
        rtol = max(1e-3 * target, local_tol * history[-1] / scale, 1e-14)
        stats["sweep_tail"] = 0.0
        for direction in (+1, -1):
            _half_sweep_galerkin(state, W, direction, cap, cutoff, sigma, rtol, maxiter, stats,
                                 say)
        sweeps += 1
        chi_history.append(cap)
        res = relative_residual(state, W)
        history.append(res)
        if say:
            say(f"[refine] sweep {sweeps} (Galerkin, chi {state.max_bond} of {cap}): residual "
                f"||L x||/||x|| = {res:.3e} (relative {res / scale:.2e}, target {target:.1e}), "
                f"{stats.get('iterations', 0)} GMRES iterations, largest discarded weight "
                f"{stats['sweep_tail']:.1e}  {time.time() - t0:.1f}s")
        gained = res < 0.5 * best_res
        if res < best_res:
            best, best_res = state.copy(), res
        at_cap = at_chi(state, cap)
        if best_res / scale <= target:
            stop = "target"
            break
        if cap < chi and at_cap:
            # the truncation to the cap is felt: the next sweep at twice the cap (one sweep
            # per cap; the cheap sweeps at small caps do the coarse work)
            cap = min(chi, 2 * cap)
            slow = 0
            if say:
                say(f"[refine] bonds at the cap: chi -> {cap}")
            continue
        if at_cap and res / scale <= 3 * math.sqrt(stats["sweep_tail"]):
            # the residual is that of the truncation (measured: relative residual 1.2-1.9 x
            # sqrt(largest discarded weight) at the floor, L = 8, 10, chi 16, 32): one more
            # sweep at chi would not lower it
            stop = "chi floor"
            break
        if gained:
            slow = 0
            continue
        if at_cap:
            stop = "chi floor"
            break           # at chi: the truncation, not the local solves, sets the floor
        slow += 1
        if slow >= 2:
            stop = "stalled"
            break
    state.A, state.center, state.discarded = best.A, best.center, best.discarded
    return dict(residual=best_res, history=history, sweeps=sweeps, chi_history=chi_history,
                stop=stop, **stats)


#: largest projected problem of :func:`local_spectrum` (a dense real matrix of SPECTRUM_MAX_N^2
#: numbers, 128 MB, and LAPACK's copy of it: the peak of an MPO run up to L ~ 20 at chi 64)
SPECTRUM_MAX_N = 4096


def local_spectrum(state: VectorisedMPS, W: list[np.ndarray], nmax: int = SPECTRUM_MAX_N,
                   ndense: int = 1024, k: int = 6) -> dict:
    """Eigenvalues of the Liouvillian projected on the two-site variational space of ``state``.

    At a bond (b, b+1) with the state in mixed canonical form, ``P`` (left block basis x two
    sites x right block basis, an isometry) spans every MPS that differs from ``x`` in sites b,
    b+1 only; ``K = P^+ L P`` is the Galerkin matrix of the refinement. At a refined steady state
    one eigenvalue of K is ~0 (the steady state); the next ones are the slowest relaxation rates
    that this space holds. Where ``P`` spans the whole space (every bond dimension at its
    maximum 4^min(j, L-j), e.g. L <= 5 with chi 16) they are exactly those of L. The bond is the
    one with the most unknowns ``n = D_b 16 D_b+2`` up to ``nmax``, the most central among
    equals (a larger space holds more of the slow modes: the rates found are upper bounds of
    the slowest rates of L, as in a Rayleigh-Ritz method). Up to ``ndense`` unknowns every
    eigenvalue is computed (LAPACK); above, the ``k`` nearest to zero by shift-and-invert
    Arnoldi (ARPACK) about a point just right of zero (no eigenvalue of L has a positive real
    part), on the dense LU of K.

    Parameters
    ----------
    state : VectorisedMPS
        The refined state (its gauge is moved).
    W : list of ndarray
        Exact MPO of the Liouvillian.
    nmax : int
        Largest projected problem.
    ndense : int
        Largest problem whose every eigenvalue is computed.
    k : int
        Eigenvalues nearest zero computed above ``ndense``.

    Returns
    -------
    dict
        ``eigenvalues`` (sorted by modulus), ``bond``, ``n``, ``complete`` (P spans the whole
        space).
    """
    L = state.L
    dims = [1] + state.bond_dims + [1]
    cands = [(dims[b] * 16 * dims[b + 2], -abs(b - (L - 2) / 2), b) for b in range(L - 1)]
    fit = [c for c in cands if c[0] <= nmax] or [min(cands)]
    n, _, b = max(fit)
    state.move_center(b)
    A = state.A
    one3 = np.ones((1, 1, 1), dtype=state.dtype)
    El = one3
    for j in range(b):
        El = _genv_left(El, A[j], W[j])
    Er = one3
    for j in range(L - 1, b + 1, -1):
        Er = _genv_right(Er, A[j], W[j])
    K = np.einsum("xua,umoi,mvpj,yvb->xopyaijb", El, W[b], W[b + 1], Er,
                  optimize=True).reshape(n, n)
    if n <= ndense:
        ev = np.linalg.eigvals(K)
    else:
        shift = 1e-6 * np.abs(K).max()
        K[np.diag_indices(n)] -= shift
        dtype = K.dtype
        lu = sla.lu_factor(K, overwrite_a=True, check_finite=False)
        del K
        op = spla.LinearOperator((n, n), dtype=dtype, matvec=lambda v: sla.lu_solve(lu, v))
        mu = spla.eigs(op, k=k, which="LM", return_eigenvectors=False, tol=1e-10)
        ev = shift + 1.0 / mu
    ev = ev[np.argsort(np.abs(ev))]
    full = full_bonds(L)
    complete = all(D >= f for D, f in zip(state.bond_dims, full))
    return dict(eigenvalues=ev, bond=int(b), n=int(n), complete=bool(complete))

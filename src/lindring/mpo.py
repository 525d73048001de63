"""The ``mpo`` method: steady state of an open chain by TEBD of the vectorised density matrix.

The density matrix is a vector over words of letters ``a_j = 2 k_j + b_j`` (ket bit, bra bit; see
:mod:`lindring.basis`), written as a matrix-product state with local dimension 4::

    x[a_0 a_1 ... a_{L-1}] = A_0[a_0] A_1[a_1] ... A_{L-1}[a_{L-1}]     (1 x D_1, ..., D_{L-1} x 1)

and evolved with ``d|rho>>/dt = L|rho>>`` until the observables stop changing. The Liouvillian is
split into bond generators ``G_b`` on the pairs (b, b+1): the two-site terms of
:func:`lindring.liouvillian.local_terms` on that bond plus the one-site terms folded in, half on each
bond touching a site and full weight at the chain ends. Gates ``exp(tau G_b)`` are computed with
``scipy.linalg.expm`` of the non-Hermitian 16x16 superoperator. Even and odd bonds commute among
themselves; a second-order (Strang) step is ``E(dt/2) O(dt) E(dt/2)``, adjacent half-steps are fused;
``order=4`` composes five second-order steps (Suzuki's fractal; it contains a backward step, which a
dissipative evolution tolerates only for small dt).

Gates are applied in sweeps with a moving orthogonality centre, so each SVD truncation is optimal in
the Frobenius norm of rho: at most ``chi`` singular values, and those whose discarded relative weight
(sum of s^2 over all s^2) stays below ``cutoff`` are dropped. The discarded weights are summed.

Every gate is trace preserving (``<<1| G_b = 0``), so the raw trace after a step deviates from 1 only
through truncation; it is recorded (``trace_error``, the largest deviation over one check interval)
and the state is renormalised to ``Tr rho = 1`` after each interval. ``Tr(O rho)`` is the contraction with the vectorised
identity (letters 0 and 3 weight 1) on all other sites and the transposed weights of O (letter
``(k, b)`` gets ``O[b, k]``) on its own sites.

The residual ``||L x|| / ||x||`` of the final state (ED's quality measure, MODEL.md) is contracted
exactly with an MPO of ``L = sum_b G_b`` (:func:`residual`), without dense vectors.

Range-2 dissipation and rings are refused (they need longer-range gates).
"""
from __future__ import annotations

import collections
import math
import sys
import time
import warnings

import numpy as np
import scipy.linalg as sla

from . import model
from .liouvillian import local_terms

#: vectorised identity on one site: letters 0 (|0><0|) and 3 (|1><1|)
IDENTITY_LETTERS = np.array([1.0, 0.0, 0.0, 1.0], dtype=complex)
#: letter of the transposed operator (swap ket and bra: 1 <-> 2)
TRANSPOSE_LETTERS = np.array([0, 2, 1, 3])
#: Suzuki's fourth-order composition of second-order steps: p, p, 1 - 4p, p, p
_P4 = 1.0 / (4.0 - 4.0 ** (1.0 / 3.0))
SUZUKI4 = (_P4, _P4, 1.0 - 4.0 * _P4, _P4, _P4)


# ----------------------------------------------------------------------------- operator weights
def one_site_weights(op: np.ndarray) -> np.ndarray:
    """Letter weights w with ``Tr(O rho_j) = sum_a w[a] x[a]``: ``w[2k + b] = O[b, k]``."""
    return np.asarray(op).T.reshape(4).astype(complex)


def two_site_weights(op: np.ndarray) -> np.ndarray:
    """4x4 letter weights of a two-site operator (basis |s_b s_{b+1}>): ``W[a1, a2] = O[b1 b2, k1 k2]``."""
    return np.asarray(op).reshape(2, 2, 2, 2).transpose(2, 0, 3, 1).reshape(4, 4).astype(complex)


# ----------------------------------------------------------------------------- generators and gates
def check_supported(p: model.Params) -> None:
    """Raise :class:`~lindring.model.ModelError` unless ``p`` is an open chain with range 1."""
    if p.bc != "open":
        raise model.ModelError(f"method 'mpo' supports only open chains (bc='open'), got bc={p.bc!r}; "
                               "use 'ed' for rings")
    if p.range != 1:
        raise model.ModelError(f"method 'mpo' supports only nearest-neighbour dissipation (range = 1), "
                               f"got range = {p.range}; range 2 needs next-nearest-neighbour gates")


def bond_generators(p: model.Params) -> list[np.ndarray]:
    """The 16x16 generators ``G_b`` (letter order) of bonds b = 0..L-2, summing to the Liouvillian."""
    check_supported(p)
    L = p.L
    one = [np.zeros((4, 4), dtype=complex) for _ in range(L)]
    two = [np.zeros((16, 16), dtype=complex) for _ in range(L - 1)]
    for sites, S in local_terms(p):
        if len(sites) == 1:
            one[sites[0]] += S
        elif len(sites) == 2 and sites[1] == sites[0] + 1:
            two[sites[0]] += S
        else:  # pragma: no cover - guarded by check_supported
            raise model.ModelError(f"method 'mpo': term on sites {sites} is not nearest-neighbour")
    eye = np.eye(4)
    gens = []
    for b in range(L - 1):
        wl = 1.0 if b == 0 else 0.5
        wr = 1.0 if b + 1 == L - 1 else 0.5
        gens.append(two[b] + wl * np.kron(one[b], eye) + wr * np.kron(eye, one[b + 1]))
    return gens


def trotter_layers(n_steps: int, dt: float, order: int) -> list[tuple[int, float]]:
    """Layers ``(parity, tau)`` of ``n_steps`` Trotter steps, adjacent layers of one parity fused."""
    if order == 2:
        subs = [dt]
    elif order == 4:
        subs = [c * dt for c in SUZUKI4]
    else:
        raise model.ModelError(f"method 'mpo': order must be 2 or 4, got {order!r}")
    layers: list[list] = []

    def push(parity, tau):
        if layers and layers[-1][0] == parity:
            layers[-1][1] += tau
        else:
            layers.append([parity, tau])

    for _ in range(n_steps):
        for h in subs:
            push(0, h / 2)
            push(1, h)
            push(0, h / 2)
    return [(par, tau) for par, tau in layers if tau != 0.0]


# ----------------------------------------------------------------------------- the state
class VectorisedMPS:
    """Matrix-product state of a vectorised density matrix (local dimension 4) with a moving centre.

    Tensors ``A[j]`` have shape ``(D_left, 4, D_right)``; tensors left of ``center`` are left-
    orthonormal and those right of it right-orthonormal, so the SVD of a two-site block containing
    the centre gives the optimal truncation.
    """

    def __init__(self, tensors: list[np.ndarray], center: int = 0):
        self.A = [np.asarray(t, dtype=complex) for t in tensors]
        self.L = len(self.A)
        self.center = center
        self.discarded = 0.0          # accumulated discarded relative weight

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def product(cls, letters_per_site: list[np.ndarray]) -> "VectorisedMPS":
        """Product state; each tensor is normalised and the overall norm sits on site 0."""
        tensors, scale = [], 1.0
        for v in letters_per_site:
            v = np.asarray(v, dtype=complex)
            n = np.linalg.norm(v)
            tensors.append((v / n).reshape(1, 4, 1))
            scale *= n
        tensors[0] = tensors[0] * scale
        return cls(tensors, center=0)

    @classmethod
    def initial(cls, L: int, kind: str = "mixed") -> "VectorisedMPS":
        """``mixed`` (identity / 2^L), ``vacuum`` (all |0><0|) or ``full`` (all |1><1|)."""
        if kind == "mixed":
            v = IDENTITY_LETTERS / 2
        elif kind == "vacuum":
            v = np.array([1, 0, 0, 0], dtype=complex)
        elif kind == "full":
            v = np.array([0, 0, 0, 1], dtype=complex)
        else:
            raise model.ModelError(f"method 'mpo': unknown initial state {kind!r} "
                                   "(choose mixed, vacuum or full)")
        return cls.product([v] * L)

    @property
    def bond_dims(self) -> list[int]:
        return [t.shape[2] for t in self.A[:-1]]

    @property
    def max_bond(self) -> int:
        return max(self.bond_dims, default=1)

    def to_vector(self) -> np.ndarray:
        """The full vector over words (small L only; site 0 most significant)."""
        x = np.ones((1, 1), dtype=complex)
        for t in self.A:
            x = np.tensordot(x, t, axes=(1, 0)).reshape(-1, t.shape[2])
        return x.reshape(-1)

    # -- gauge ------------------------------------------------------------------------------
    def move_center(self, to: int) -> None:
        while self.center < to:
            c = self.center
            Dl, d, Dr = self.A[c].shape
            Q, R = np.linalg.qr(self.A[c].reshape(Dl * d, Dr))
            self.A[c] = Q.reshape(Dl, d, Q.shape[1])
            self.A[c + 1] = np.tensordot(R, self.A[c + 1], axes=(1, 0))
            self.center = c + 1
        while self.center > to:
            c = self.center
            Dl, d, Dr = self.A[c].shape
            Q, R = np.linalg.qr(self.A[c].reshape(Dl, d * Dr).T)
            self.A[c] = Q.T.reshape(Q.shape[1], d, Dr)
            self.A[c - 1] = np.tensordot(self.A[c - 1], R.T, axes=(2, 0))
            self.center = c - 1

    def scale(self, factor) -> None:
        self.A[self.center] = self.A[self.center] * factor

    # -- gates ------------------------------------------------------------------------------
    def apply_gate(self, b: int, gate: np.ndarray, chi: int, cutoff: float, right: bool) -> None:
        """Apply a 16x16 gate to sites (b, b+1) and truncate; the centre ends on b+1 if ``right``."""
        if self.center < b:
            self.move_center(b)
        elif self.center > b + 1:
            self.move_center(b + 1)
        A, B = self.A[b], self.A[b + 1]
        Dl, Dr = A.shape[0], B.shape[2]
        theta = np.tensordot(A, B, axes=(2, 0))                          # (Dl, 4, 4, Dr)
        theta = np.tensordot(gate.reshape(4, 4, 4, 4), theta, axes=((2, 3), (1, 2)))  # (4,4,Dl,Dr)
        theta = theta.transpose(2, 0, 1, 3).reshape(Dl * 4, 4 * Dr)
        try:
            U, s, Vh = np.linalg.svd(theta, full_matrices=False)
        except np.linalg.LinAlgError:
            U, s, Vh = sla.svd(theta, full_matrices=False, lapack_driver="gesvd")
        s2 = s * s
        total = s2.sum()
        if total == 0.0:
            keep = 1
        else:
            tail = np.cumsum(s2[::-1])[::-1] / total                 # tail[k] = weight of s[k:]
            ok = np.flatnonzero(tail <= cutoff)
            keep = int(ok[0]) if ok.size else len(s)
            keep = max(1, min(chi, keep))
            if keep < len(s):
                self.discarded += float(tail[keep])
        U, s, Vh = U[:, :keep], s[:keep], Vh[:keep]
        if right:
            self.A[b] = U.reshape(Dl, 4, keep)
            self.A[b + 1] = (s[:, None] * Vh).reshape(keep, 4, Dr)
            self.center = b + 1
        else:
            self.A[b] = (U * s[None, :]).reshape(Dl, 4, keep)
            self.A[b + 1] = Vh.reshape(keep, 4, Dr)
            self.center = b

    # -- contractions -----------------------------------------------------------------------
    def identity_envs(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``left[j]``: sites < j contracted with the identity; ``right[j]``: sites >= j."""
        L = self.L
        left = [np.ones(1, dtype=complex)]
        for t in self.A:
            left.append(left[-1] @ np.tensordot(t, IDENTITY_LETTERS, axes=(1, 0)))
        right = [None] * (L + 1)
        right[L] = np.ones(1, dtype=complex)
        for j in range(L - 1, -1, -1):
            right[j] = np.tensordot(self.A[j], IDENTITY_LETTERS, axes=(1, 0)) @ right[j + 1]
        return left, right

    def trace(self) -> complex:
        env = np.ones(1, dtype=complex)
        for t in self.A:
            env = env @ np.tensordot(t, IDENTITY_LETTERS, axes=(1, 0))
        return complex(env[0])

    def _transfer(self, conj: bool, transpose: bool) -> complex:
        """``sum_w f(x[w]) x[w']``: f = conj or identity, w' = w or the transposed word."""
        env = np.ones((1, 1), dtype=complex)
        for t in self.A:
            top = t.conj() if conj else t
            bot = t[:, TRANSPOSE_LETTERS, :] if transpose else t
            env = np.tensordot(env, top, axes=(0, 0))                     # (b, s, c)
            env = np.tensordot(env, bot, axes=((0, 1), (0, 1)))           # (c, d)
        return complex(env[0, 0])

    def norm2(self) -> float:
        """``sum |x|^2 = Tr(rho^+ rho)``."""
        return self._transfer(True, False).real

    def trace_rho2(self) -> complex:
        """``Tr(rho^2) = sum_w x[w] x[transpose(w)]`` (bilinear, no conjugation)."""
        return self._transfer(False, True)


# ----------------------------------------------------------------------------- observables
def measure(state: VectorisedMPS, p: model.Params) -> dict:
    """Observables of MODEL.md, normalised by the trace (``Tr(O rho)/Tr rho``)."""
    L = state.L
    left, right = state.identity_envs()
    tr = left[L][0]
    w_sz = one_site_weights(model.SZ)
    w_eta = two_site_weights(model.current_eta_operator(p))
    w_J = two_site_weights(model.current_J_operator(p))
    # <sp_b sm_{b+1}> and <sm_b sp_{b+1}>: equal up to conjugation for a Hermitian rho
    w_pm = two_site_weights(np.kron(model.SP, model.SM))
    w_mp = two_site_weights(np.kron(model.SM, model.SP))

    sz = np.empty(L, dtype=complex)
    for j in range(L):
        sz[j] = left[j] @ np.tensordot(state.A[j], w_sz, axes=(1, 0)) @ right[j + 1]
    cur_eta = np.empty(L - 1, dtype=complex)
    cur_J = np.empty(L - 1, dtype=complex)
    herm = 0.0
    rho_pair = None
    for b in range(L - 1):
        two = np.tensordot(state.A[b], state.A[b + 1], axes=(2, 0))      # (Dl, 4, 4, Dr)
        red = np.einsum("i,istj,j->st", left[b], two, right[b + 2])      # letters (a_b, a_{b+1})
        cur_eta[b] = np.sum(w_eta * red)
        cur_J[b] = np.sum(w_J * red)
        herm = max(herm, abs(np.sum(w_pm * red) - np.conj(np.sum(w_mp * red))) / abs(tr))
        if b == 0:
            rho_pair = red
    sz, cur_eta, cur_J = sz / tr, cur_eta / tr, cur_J / tr
    # reduced state of sites (0, 1): letters (2 k0 + b0, 2 k1 + b1) -> rho[k0 k1, b0 b1]
    rp = (rho_pair / tr).reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)
    imag = max(np.abs(sz.imag).max(), np.abs(cur_eta.imag).max(initial=0.0),
               np.abs(cur_J.imag).max(initial=0.0))
    return dict(current_eta=cur_eta.real, current_J=cur_J.real, sz=sz.real, trace=tr,
                rho_pair=rp, imag=float(imag), pair_hermiticity=float(herm))


def global_checks(state: VectorisedMPS) -> dict:
    """Purity ``Tr rho^2 / (Tr rho)^2`` and ``||rho - rho^+|| / ||rho||`` (exact MPS contractions).

    ``||rho - rho^+||^2 = 2 (Tr rho^+ rho - Re Tr rho^2)`` is a difference of two nearly equal
    numbers: relative errors below ~1e-8 are not resolved (reported as 0 when rounding makes the
    difference negative). The per-bond check ``<sp_b sm_b+1> = conj<sm_b sp_b+1>`` of
    :func:`measure` (``imag_error``) has no such floor.
    """
    tr = state.trace()
    n2 = state.norm2()
    t2 = state.trace_rho2()
    herm2 = max(0.0, 2.0 * (n2 - t2.real))          # ||x - x'||^2 with x'[w] = conj(x[T w])
    return dict(purity=float(t2.real / abs(tr) ** 2), purity_imag=float(t2.imag / abs(tr) ** 2),
                hermiticity_error=float(math.sqrt(herm2 / n2)) if n2 > 0 else float("nan"))


# ----------------------------------------------------------------------------- residual ||L x||
def operator_schmidt(G: np.ndarray, rtol: float = 1e-14) -> tuple[list, list]:
    """Split a 16x16 two-site superoperator (letter order) as ``G = sum_k kron(A_k, B_k)``.

    ``A_k`` acts on the left site, ``B_k`` on the right one (4x4, ``[out, in]``); terms whose
    singular value is below ``rtol`` times the largest are dropped (exact zeros in practice).
    """
    M = np.asarray(G).reshape(4, 4, 4, 4).transpose(0, 2, 1, 3).reshape(16, 16)   # (o1 i1), (o2 i2)
    U, s, Vh = np.linalg.svd(M)
    keep = s > rtol * s[0] if s[0] > 0 else np.zeros(len(s), dtype=bool)
    A = [(U[:, k] * s[k]).reshape(4, 4) for k in np.flatnonzero(keep)]
    B = [Vh[k].reshape(4, 4) for k in np.flatnonzero(keep)]
    return A, B


def liouvillian_mpo(generators: list[np.ndarray]) -> list[np.ndarray]:
    """The Liouvillian ``L = sum_b G_b`` of an open chain as a matrix-product operator.

    Returns tensors ``W_j[w_left, w_right, out, in]``. The channels on a bond (j, j+1) are
    ``0``: nothing applied yet (identity), ``1``: a bond term completed further left (identity),
    ``2 + k``: the term of bond j half applied (``A_k`` on site j, ``B_k`` follows on j+1), with
    ``G_j = sum_k kron(A_k, B_k)`` (:func:`operator_schmidt`). The chain's left end starts in
    channel 0 and its right end must be in channel 1, so the product is exactly ``sum_b G_b``.
    """
    L = len(generators) + 1
    split = [operator_schmidt(G) for G in generators]
    width = [1] + [2 + len(A) for A, _ in split] + [1]        # width[j]: bond left of site j
    eye = np.eye(4, dtype=complex)
    W = []
    for j in range(L):
        # full channel sets on both sides, the chain's ends sliced off below
        wl = 2 + (len(split[j - 1][0]) if j >= 1 else 0)
        wr = 2 + (len(split[j][0]) if j < L - 1 else 0)
        w = np.zeros((wl, wr, 4, 4), dtype=complex)
        w[0, 0] = eye                                            # still nothing applied
        w[1, 1] = eye                                            # a term already completed
        if j < L - 1:
            for k, A in enumerate(split[j][0]):
                w[0, 2 + k] = A                                  # bond j starts here
        if j >= 1:
            for k, B in enumerate(split[j - 1][1]):
                w[2 + k, 1] = B                                  # bond j-1 ends here
        if j == 0:
            w = w[:1]                                            # left end: channel 0 only
        if j == L - 1:
            w = w[:, 1:2]                                        # right end: channel 1 only
        assert w.shape[:2] == (width[j], width[j + 1])
        W.append(w)
    return W


def mpo_norm2(state: VectorisedMPS, W: list[np.ndarray]) -> float:
    """``||W x||^2 = <x| W^+ W |x>`` by one left-to-right sweep of environments.

    ``E[a, u, v, a']`` joins the bonds of ``conj(x)``, ``conj(W)``, ``W`` and ``x``; each site
    costs ``O(D^3 w^2 d + D^2 w^3 d^2)`` (D: bond dimension of x, w: of W, d = 4). No dense vector.
    """
    E = np.ones((1, 1, 1, 1), dtype=complex)
    for A, w in zip(state.A, W):
        T = np.tensordot(E, A, axes=(3, 0))                        # a, u, v, p, c'
        T = np.tensordot(T, w, axes=((2, 3), (0, 3)))              # a, u, c', v', q
        T = np.tensordot(T, w.conj(), axes=((1, 4), (0, 2)))       # a, c', v', u', r
        T = np.tensordot(T, A.conj(), axes=((0, 4), (0, 1)))       # c', v', u', c
        E = T.transpose(3, 2, 1, 0)                                # c, u', v', c'
    return float(E[0, 0, 0, 0].real)


def residual(state: VectorisedMPS, generators: list[np.ndarray]) -> float:
    """``||L x||_2 / ||x||_2`` of the vectorised rho, the quantity ED reports as ``residual``.

    ``L = sum_b G_b`` (:func:`bond_generators`, i.e. Eq. 11 of the paper split over bonds as in
    MODEL.md) is applied as the exact MPO of :func:`liouvillian_mpo`, and ``||L x||^2`` is
    contracted exactly; the norm ``||x||^2 = Tr(rho^+ rho)`` likewise (:meth:`VectorisedMPS.norm2`).
    Nothing is truncated and no Trotter step is involved, so this is the true residual of the
    stored MPS, Trotter and truncation errors included: at the same vector it equals the dense
    ``||L vec(rho)|| / ||vec(rho)||`` of ED (the norm does not depend on the basis order).

    Accuracy: ``||L x||^2`` is a sum of cross terms ``<G_b x|G_b' x>`` that cancel at a steady
    state, so rounding leaves an absolute error of about ``eps * (sum_b ||G_b x||)^2``; the
    residual is resolved down to ``~ sqrt(eps) * sum_b ||G_b x|| / ||x||``. That floor grows
    linearly with L: 1.8e-8 at L = 4 and 3.3e-8 at L = 6 for the minimal model (alpha = 2,
    delta = 1), whose TEBD steady states have residuals ~1e-3 (fourth order, dt = 0.1: Trotter
    error). A negative ``||L x||^2`` from rounding is reported as 0.
    """
    n2 = state.norm2()
    r2 = mpo_norm2(state, liouvillian_mpo(generators))
    return math.sqrt(max(r2, 0.0) / n2) if n2 > 0 else float("nan")


# ----------------------------------------------------------------------------- evolution
class TEBD:
    """Second- (or fourth-) order TEBD of ``d|rho>>/dt = L|rho>>`` for an open chain."""

    def __init__(self, p: model.Params, chi: int = 64, dt: float = 0.05, cutoff: float = 1e-12,
                 order: int = 2, initial: str | VectorisedMPS = "mixed"):
        check_supported(p)
        if chi < 1:
            raise model.ModelError(f"method 'mpo': chi must be >= 1, got {chi}")
        if not dt > 0:
            raise model.ModelError(f"method 'mpo': dt must be > 0, got {dt}")
        if order not in (2, 4):
            raise model.ModelError(f"method 'mpo': order must be 2 or 4, got {order!r}")
        self.p, self.chi, self.dt, self.cutoff, self.order = p, int(chi), float(dt), float(cutoff), order
        self.generators = bond_generators(p)
        self._gates: dict[tuple[int, float], np.ndarray] = {}
        self.state = (initial if isinstance(initial, VectorisedMPS)
                      else VectorisedMPS.initial(p.L, initial))
        self.t = 0.0
        self.steps = 0
        self.trace_error = 0.0       # largest |Tr - 1| before renormalisation (per evolve call)
        self.chi_max = self.state.max_bond

    def gate(self, b: int, tau: float) -> np.ndarray:
        key = (b, round(tau, 14))
        g = self._gates.get(key)
        if g is None:
            g = sla.expm(tau * self.generators[b])   # non-Hermitian: no eigendecomposition
            self._gates[key] = g
        return g

    def _layer(self, parity: int, tau: float) -> None:
        st = self.state
        bonds = list(range(parity, st.L - 1, 2))
        if not bonds:
            return
        right = st.center <= (st.L - 1) / 2          # sweep away from the nearer end
        if not right:
            bonds.reverse()
        for b in bonds:
            st.apply_gate(b, self.gate(b, tau), self.chi, self.cutoff, right)
        self.chi_max = max(self.chi_max, st.max_bond)

    def evolve(self, n_steps: int) -> None:
        """``n_steps`` Trotter steps of ``dt`` (half-steps of neighbouring steps fused); then the
        raw trace is recorded and the state renormalised to trace 1.

        Every call starts from the centre on site 0, so a call is one fixed map (truncations in
        the same gauges): otherwise the observables of successive calls differ by the truncation
        noise of different sweep directions and never settle below it."""
        self.state.move_center(0)
        for parity, tau in trotter_layers(n_steps, self.dt, self.order):
            self._layer(parity, tau)
        tr = self.state.trace()
        self.trace_error = max(self.trace_error, abs(tr - 1.0))
        self.state.scale(1.0 / tr)
        self.steps += n_steps
        self.t = self.steps * self.dt


def mpo_observables(p: model.Params, chi: int = 64, dt: float = 0.05, tol: float = 1e-6,
                    t_max: float = 200.0, cutoff: float = 1e-12, order: int = 2,
                    progress: bool = True, initial: str = "mixed", check_every: float = 1.0,
                    window: int = 3, t_min: float = 0.0, compute_residual: bool = True):
    """Steady state of an open chain by TEBD of the vectorised density matrix (``mpo`` method).

    Evolves from the product state ``initial`` (``mixed``, ``vacuum`` or ``full``) with Trotter order
    ``order`` (2 or 4) and step ``dt``, keeping at most ``chi`` states per bond and dropping
    singular values of relative weight below ``cutoff``. Every ``check_every`` time units (rounded
    to whole steps) the observables are measured; the run stops when their largest change per unit
    time (``observable_rate``) has stayed below ``tol`` for ``window`` consecutive checks (and
    ``t >= t_min``), or at ``t_max`` (then ``attrs['converged'] = 0`` and a warning is issued).

    Returns ``(data_vars, attrs)`` like the other methods: ``current_eta``, ``current_J``
    (``('bond',)``), ``sz`` (``('site',)``), and scalars ``purity``, ``purity_pair``,
    ``negativity_pair``, ``observable_rate``, ``discarded_weight`` (summed relative SVD weight),
    ``trace_error`` (largest deviation of the raw trace from 1 over one check interval; the state is
    renormalised to trace 1 after each), ``hermiticity_error`` (``||rho - rho^+||/||rho||``),
    ``imag_error`` (largest imaginary part of a Hermitian observable) and ``residual``
    (``||L x|| / ||x||`` of the final MPS, the same quantity as ED's ``residual``; exact MPO
    contraction, see :func:`residual`; NaN when ``compute_residual`` is False). For a TEBD steady
    state it measures the Trotter and truncation error (fourth order, dt = 0.1, L = 4: 7e-4 for
    the minimal model alpha = 2, delta = 1; 1e-5 with the milder couplings of the tests).
    """
    from .observables import negativity

    check_supported(p)
    if not tol > 0 or not t_max > 0:
        raise model.ModelError(f"method 'mpo': tol and t_max must be > 0, got {tol}, {t_max}")
    t0 = time.time()
    run = TEBD(p, chi=chi, dt=dt, cutoff=cutoff, order=order, initial=initial)
    n_check = max(1, int(round(check_every / dt)))
    window = max(1, int(window))
    rates: collections.deque = collections.deque(maxlen=window)
    prev = measure(run.state, p)
    rate = float("nan")
    converged = False
    last_print = time.time()

    def vec(obs):
        return np.concatenate([obs["current_eta"], obs["current_J"], obs["sz"]])

    def say(msg):
        if progress:
            print(msg, file=sys.stderr, flush=True)

    say(f"[mpo] L={p.L} chi={chi} dt={dt} order={order} cutoff={cutoff:g} tol={tol:g} "
        f"t_max={t_max} initial={initial}")
    while run.t < t_max - 1e-12:
        n = min(n_check, max(1, int(round((t_max - run.t) / dt))))
        t_before = run.t
        run.evolve(n)
        obs = measure(run.state, p)
        rate = float(np.max(np.abs(vec(obs) - vec(prev)))) / (run.t - t_before)
        cur_change = float(np.max(np.abs(np.concatenate([obs["current_eta"] - prev["current_eta"],
                                                          obs["current_J"] - prev["current_J"]]))))
        prev = obs
        rates.append(rate)
        now = time.time()
        if now - last_print >= 5.0:
            last_print = now
            say(f"[mpo] t={run.t:8.3f}  chi={run.state.max_bond:4d}  d(current)={cur_change:.2e}  "
                f"rate={rate:.2e}  discarded={run.state.discarded:.2e}  {now - t0:.0f}s")
        if len(rates) == window and max(rates) < tol and run.t >= t_min:
            converged = True
            break

    checks = global_checks(run.state)
    res = residual(run.state, run.generators) if compute_residual else float("nan")
    wall = time.time() - t0
    say(f"[mpo] {'converged' if converged else 'NOT converged'} at t={run.t:.3f} after {run.steps} "
        f"steps, {wall:.1f}s: chi={run.state.max_bond} rate={rate:.2e} discarded="
        f"{run.state.discarded:.2e} |Tr-1|max={run.trace_error:.1e} "
        f"herm={checks['hermiticity_error']:.1e} residual={res:.1e}")
    if not converged:
        warnings.warn(f"mpo: observables still change by {rate:.3e} per unit time at t_max = {t_max} "
                      f"(tol {tol:g})")
    rho_pair = 0.5 * (prev["rho_pair"] + prev["rho_pair"].conj().T)
    data = {
        "current_eta": (("bond",), np.asarray(prev["current_eta"])),
        "current_J": (("bond",), np.asarray(prev["current_J"])),
        "sz": (("site",), np.asarray(prev["sz"])),
        "purity": ((), np.asarray(checks["purity"])),
        "purity_pair": ((), np.asarray(float(np.real(np.trace(rho_pair @ rho_pair))))),
        "negativity_pair": ((), np.asarray(negativity(rho_pair, 2))),
        "observable_rate": ((), np.asarray(rate)),
        "discarded_weight": ((), np.asarray(run.state.discarded)),
        "trace_error": ((), np.asarray(run.trace_error)),
        "hermiticity_error": ((), np.asarray(checks["hermiticity_error"])),
        "imag_error": ((), np.asarray(max(prev["imag"], prev["pair_hermiticity"]))),
        "residual": ((), np.asarray(res)),
    }
    attrs = dict(dt=float(dt), chi=int(chi), chi_reached=int(run.state.max_bond),
                 chi_max_during_run=int(run.chi_max), t_final=float(run.t), steps=int(run.steps),
                 order=int(order), cutoff=float(cutoff), tol=float(tol), t_max=float(t_max),
                 converged=int(converged), initial=str(initial), check_every=float(n_check * dt),
                 window=int(window), wall_seconds=float(wall))
    return data, attrs

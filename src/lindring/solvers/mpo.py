"""The ``mpo`` method: steady state of an open chain by TEBD of the vectorised density matrix.

The density matrix is a vector over words of letters ``a_j = 2 k_j + b_j`` (ket bit, bra bit; see
:mod:`lindring.core.basis`), written as a matrix-product state with local dimension 4::

    x[a_0 a_1 ... a_{L-1}] = A_0[a_0] A_1[a_1] ... A_{L-1}[a_{L-1}]     (1 x D_1, ..., D_{L-1} x 1)

and evolved with ``d|rho>>/dt = L|rho>>`` until the observables stop changing. The Liouvillian is
split into bond generators ``G_b`` on the pairs (b, b+1): the two-site terms of
:func:`lindring.solvers.liouvillian.local_terms` on that bond plus the one-site terms folded in, half on each
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

The certified pipeline (:func:`mpo_observables`) keeps the state, the generators, the gates and the
MPO of L in the normalised Pauli basis of each site (:mod:`lindring.core.pauli`; ``basis`` of
:class:`VectorisedMPS`): there a Hermitian rho and every Liouvillian are real, so every contraction,
SVD, QR and local solve is real (measured: 3x less time than in the complex letters). The local
change of basis is unitary (same norms, canonical forms and truncations); the observables are
measured after changing back to the letters.

Range-2 dissipation and rings are refused (they need longer-range gates).
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import scipy.linalg as sla

from lindring.core import model
from lindring.core.options import OPTIONS
from lindring.core.pauli import letter_to_pauli, pauli_superoperator
from lindring.core.schema import data_vars
from lindring.solvers.liouvillian import local_terms
from lindring.solvers.steady import Tolerances

from lindring.core.diagnostics import get_logger

log = get_logger(__name__)

#: vectorised identity on one site: letters 0 (|0><0|) and 3 (|1><1|)
IDENTITY_LETTERS = np.array([1.0, 0.0, 0.0, 1.0], dtype=complex)
#: letter of the transposed operator (swap ket and bra: 1 <-> 2)
TRANSPOSE_LETTERS = np.array([0, 2, 1, 3])
#: the same identity in the normalised Pauli letters (1, sigma^x, sigma^y, sigma^z) / sqrt(2) of
#: :mod:`lindring.core.pauli`: ``Tr rho_j = sqrt(2) x_0``
IDENTITY_PAULI = np.array([math.sqrt(2.0), 0.0, 0.0, 0.0])
#: local bases of a :class:`VectorisedMPS`: matrix-unit letters (complex components) or
#: normalised Pauli letters (real components for a Hermitian rho, and every Liouvillian real)
BASES = ("letters", "pauli")
#: Suzuki's fourth-order composition of second-order steps: p, p, 1 - 4p, p, p
_P4 = 1.0 / (4.0 - 4.0 ** (1.0 / 3.0))
SUZUKI4 = (_P4, _P4, 1.0 - 4.0 * _P4, _P4, _P4)


#: exponents of 4 beyond this are capped (4^32 ~ 1.8e19 exceeds any bond dimension): at
#: L = 100000 the exact powers were integers of 1e5 bits, and the plan took 23 s
MAX_EXPONENT = 32


def full_bonds(L: int) -> list[int]:
    """The largest Schmidt rank of a vectorised rho of ``L`` sites at each bond j (between
    sites j and j+1): ``4^min(j+1, L-j-1)``, the dimension of the smaller side (capped at
    ``4^MAX_EXPONENT``)."""
    return [4 ** min(j + 1, L - j - 1, MAX_EXPONENT) for j in range(L - 1)]


# ----------------------------------------------------------------------------- operator weights
def one_site_weights(op: np.ndarray) -> np.ndarray:
    """Letter weights w with ``Tr(O rho_j) = sum_a w[a] x[a]``: ``w[2k + b] = O[b, k]``."""
    return np.asarray(op).T.reshape(4).astype(complex)


def two_site_weights(op: np.ndarray) -> np.ndarray:
    """4x4 letter weights of a two-site operator (basis |s_b s_{b+1}>): ``W[a1, a2] = O[b1 b2, k1 k2]``."""
    return np.asarray(op).reshape(2, 2, 2, 2).transpose(2, 0, 3, 1).reshape(4, 4).astype(complex)


# ----------------------------------------------------------------------------- generators and gates
def check_supported(p: model.Params) -> None:
    """Raise :class:`~lindring.core.model.ModelError` unless ``p`` is an open chain with range 1."""
    if p.bc != "open":
        raise model.ModelError(f"method 'mpo' supports only open chains (bc='open'), got bc={p.bc!r}; "
                               "use 'ed' for rings")
    if p.range > 1 and hasattr(p, "terms"):          # a model file: name the term
        t = next(t for t in p.terms if max(t.offsets) > 1)
        raise model.ModelError(f"method 'mpo' supports only nearest-neighbour terms, got range = "
                               f"{p.range}: {t.kind} term {t.name!r} acts on sites {t.sites}; use "
                               "--method ed")
    if p.range > 1:
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

    ``basis`` is the local basis of the physical index: ``letters`` (matrix units, ``a = 2k + b``,
    complex tensors) or ``pauli`` (normalised Pauli letters of :mod:`lindring.core.pauli`). The
    two differ by the unitary ``U`` of :func:`lindring.core.pauli.letter_to_pauli` on every site,
    so norms, canonical forms and truncations are the same; in the Pauli basis a Hermitian rho
    and every Liouvillian are real, so a state evolved and refined there keeps real tensors
    (real arithmetic: about 3x less work per contraction than complex). Observables are
    measured in the letters (:meth:`in_basis`).
    """

    def __init__(self, tensors: list[np.ndarray], center: int = 0, basis: str = "letters"):
        if basis not in BASES:
            raise ValueError(f"unknown local basis {basis!r} (choose one of {BASES})")
        self.A = []
        for t in tensors:
            t = np.asarray(t)
            self.A.append(t.astype(np.result_type(t.dtype, np.float64), copy=False))
        self.L = len(self.A)
        self.center = center
        self.basis = basis
        self.discarded = 0.0          # accumulated discarded relative weight (sum over SVDs)
        self.largest_discard = 0.0    # largest relative weight dropped by one SVD (in [0, 1])
        self.truncations = 0          # SVDs that dropped something

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def product(cls, letters_per_site: list[np.ndarray], basis: str = "letters") -> "VectorisedMPS":
        """Product state; each tensor is normalised and the overall norm sits on site 0.

        ``letters_per_site`` are given in ``basis``."""
        tensors, scale = [], 1.0
        for v in letters_per_site:
            v = np.asarray(v)
            n = np.linalg.norm(v)
            tensors.append((v / n).reshape(1, 4, 1))
            scale *= n
        tensors[0] = tensors[0] * scale
        return cls(tensors, center=0, basis=basis)

    @classmethod
    def initial(cls, L: int, kind: str = "mixed", basis: str = "letters") -> "VectorisedMPS":
        """``mixed`` (identity / 2^L), ``vacuum`` (all |0><0|), ``full`` (all |1><1|) or ``random``
        (a product of pure states |psi_j><psi_j| with random Bloch vectors, fixed seed: it breaks
        every symmetry, so it overlaps with every steady state), in the local ``basis`` (real
        tensors in the Pauli basis: every one of these is Hermitian)."""
        if basis != "letters":
            return cls.initial(L, kind).in_basis(basis)
        if kind == "random":
            rng = np.random.default_rng(20261130)
            letters = []
            for _ in range(L):
                psi = rng.normal(size=2) + 1j * rng.normal(size=2)
                psi /= np.linalg.norm(psi)
                rho = np.outer(psi, psi.conj())                  # rho[k, b]
                letters.append(rho.reshape(4))                   # letter 2 k + b
            return cls.product(letters)
        if kind == "mixed":
            v = IDENTITY_LETTERS / 2
        elif kind == "vacuum":
            v = np.array([1, 0, 0, 0], dtype=complex)
        elif kind == "full":
            v = np.array([0, 0, 0, 1], dtype=complex)
        else:
            raise model.ModelError(f"method 'mpo': unknown initial state {kind!r} "
                                   "(choose mixed, vacuum, full or random)")
        return cls.product([v] * L)

    @property
    def bond_dims(self) -> list[int]:
        return [t.shape[2] for t in self.A[:-1]]

    @property
    def max_bond(self) -> int:
        return max(self.bond_dims, default=1)

    @property
    def identity(self) -> np.ndarray:
        """The vectorised one-site identity in this basis: ``Tr rho_j = identity . x_j``."""
        return IDENTITY_PAULI if self.basis == "pauli" else IDENTITY_LETTERS

    @property
    def dtype(self):
        """Common dtype of the tensors (float64 for a real state in the Pauli basis)."""
        return np.result_type(*self.A)

    def in_basis(self, basis: str) -> "VectorisedMPS":
        """A copy in the local ``basis`` (``letters`` or ``pauli``; same centre, same bonds).

        Components whose imaginary part is at rounding level (64 eps of the largest) are made
        real, so a Hermitian product state in the letters becomes a real one in the Pauli basis.
        """
        if basis not in BASES:
            raise ValueError(f"unknown local basis {basis!r} (choose one of {BASES})")
        if basis == self.basis:
            return self.copy()
        U = letter_to_pauli(1)
        T = U if basis == "pauli" else U.conj().T
        tensors = []
        for A in self.A:
            B = np.tensordot(T, A, axes=(1, 1)).transpose(1, 0, 2)
            if np.abs(B.imag).max(initial=0.0) <= 64 * np.finfo(float).eps * np.abs(B).max(initial=0.0):
                B = B.real.copy()
            tensors.append(B)
        new = VectorisedMPS(tensors, self.center, basis)
        new.discarded = self.discarded
        return new

    def to_vector(self) -> np.ndarray:
        """The full vector over words of matrix-unit letters, whatever the basis (small L only;
        site 0 most significant)."""
        if self.basis != "letters":
            return self.in_basis("letters").to_vector()
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
        """Multiply the state by ``factor`` (on the centre tensor); a real state stays real
        when the factor is real (e.g. ``1 / trace`` of a real Pauli-basis state)."""
        if np.isrealobj(self.A[self.center]) and np.imag(factor) == 0:
            factor = float(np.real(factor))
        self.A[self.center] = self.A[self.center] * factor

    def copy(self) -> "VectorisedMPS":
        new = VectorisedMPS([t.copy() for t in self.A], self.center, self.basis)
        new.discarded = self.discarded
        return new

    def padded(self, dims: list[int]) -> "VectorisedMPS":
        """The same vector with bond j of dimension ``max(dims[j], D_j)`` (at most the largest
        Schmidt rank 4^min(j+1, L-j-1)): zero blocks, then a sweep of QR decompositions, whose
        Householder factors complete every block basis to orthonormal vectors of that number.
        Where every bond is at its largest Schmidt rank the block bases span the whole space
        (:func:`lindring.solvers.mpo_refine.local_spectrum` is then exact). Centre at 0."""
        L = self.L
        new_dims = [1] + [min(f, max(d, D)) for f, d, D in
                          zip(full_bonds(L), dims, self.bond_dims)] + [1]
        tensors = []
        for j, A in enumerate(self.A):
            t = np.zeros((new_dims[j], 4, new_dims[j + 1]), dtype=A.dtype)
            t[:A.shape[0], :, :A.shape[2]] = A
            tensors.append(t)
        out = VectorisedMPS(tensors, center=L - 1, basis=self.basis)
        out.move_center(0)      # QR from the right end: every site > 0 right-orthonormal
        out.discarded = self.discarded
        return out

    def minus(self, other: "VectorisedMPS") -> "VectorisedMPS":
        """The MPS of ``x - y`` (direct sum of the bond spaces; bond dimensions add)."""
        if other.basis != self.basis:
            other = other.in_basis(self.basis)
        L = self.L
        out = []
        for j, (a, b) in enumerate(zip(self.A, other.A)):
            if L == 1:
                out.append(a - b)
            elif j == 0:
                out.append(np.concatenate([a, -b], axis=2))
            elif j == L - 1:
                out.append(np.concatenate([a, b], axis=0))
            else:
                t = np.zeros((a.shape[0] + b.shape[0], 4, a.shape[2] + b.shape[2]),
                             dtype=np.result_type(a, b))
                t[:a.shape[0], :, :a.shape[2]] = a
                t[a.shape[0]:, :, a.shape[2]:] = b
                out.append(t)
        return VectorisedMPS(out, center=0, basis=self.basis)

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
                self.largest_discard = max(self.largest_discard, float(tail[keep]))
                self.truncations += 1
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
        one = self.identity
        left = [np.ones(1, dtype=self.dtype)]
        for t in self.A:
            left.append(left[-1] @ np.tensordot(t, one, axes=(1, 0)))
        right = [None] * (L + 1)
        right[L] = np.ones(1, dtype=self.dtype)
        for j in range(L - 1, -1, -1):
            right[j] = np.tensordot(self.A[j], one, axes=(1, 0)) @ right[j + 1]
        return left, right

    def trace(self) -> complex:
        env = np.ones(1, dtype=self.dtype)
        for t in self.A:
            env = env @ np.tensordot(t, self.identity, axes=(1, 0))
        return complex(env[0])

    def _transfer(self, conj: bool, transpose: bool) -> complex:
        """``sum_w f(x[w]) x[w']``: f = conj or identity, w' = w or the word of the transposed
        operator (in the Pauli basis ``Tr rho^2 = sum_w x[w]^2``: no permutation)."""
        env = np.ones((1, 1), dtype=self.dtype)
        for t in self.A:
            top = t.conj() if conj else t
            bot = t[:, TRANSPOSE_LETTERS, :] if transpose and self.basis == "letters" else t
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
def observable_bounds(p) -> dict:
    """The operator norm of each written observable, which bounds it: ``|<I_eta>| <= |eta|``,
    ``|<I_J>| <= 2|J|`` (Eq. 14); for a model file (:class:`lindring.core.modelfile.ModelPoint`)
    the largest spectral norm of each observable's local operators, and ``||A|| ||B||`` (twice
    that when connected) for each correlation function."""
    if not hasattr(p, "observables"):
        return {"current_eta": abs(p.eta), "current_J": 2 * abs(p.J)}
    out = {name: max(float(np.linalg.norm(t.operator, 2)) for t in placed)
           for name, _, placed in p.observables}
    for c in p.correlations:       # each part of a complex one is bounded by its modulus
        a, b = (float(np.linalg.norm(o, 2)) for o in c.operators)
        out.update({name: (2.0 if c.connected else 1.0) * a * b for name in c.outputs})
    return out


def _defined(p, obs: dict) -> dict:
    """The written observables (:func:`observable_bounds`) without the NaN that pads a model
    file's correlation on the distances that leave the open chain
    (:class:`lindring.core.modelfile.Correlation`)."""
    out = {name: np.asarray(obs[name]) for name in observable_bounds(p)}
    for c in getattr(p, "correlations", ()):
        for name in c.outputs:
            out[name] = out[name][:len(c.pairs)]
    return out


def _model_file_observables(state: VectorisedMPS, p, left, right, reds, tr) -> dict:
    """A model file's observables (per site or per bond) and correlation functions against
    distance, ``Tr(O rho)`` unnormalised, from the identity environments and the two-site
    reduced letters ``reds[b]`` of each bond."""
    out = {}
    for name, _, placed in p.observables:
        vals = []
        for t in placed:
            if len(t.sites) == 1:
                j = t.sites[0]
                vals.append(left[j] @ np.tensordot(state.A[j], one_site_weights(t.operator),
                                                   axes=(1, 0)) @ right[j + 1])
            else:
                vals.append(np.sum(two_site_weights(t.operator) * reds[t.sites[0]]))
        out[name] = np.array(vals, dtype=complex)
    for c in p.correlations:
        wa, wb = (one_site_weights(o) for o in c.operators)

        def point(i, j, wi, wj):
            v = left[i] @ np.tensordot(state.A[i], wi, axes=(1, 0))
            for k in range(i + 1, j):
                v = v @ np.tensordot(state.A[k], IDENTITY_LETTERS, axes=(1, 0))
            return v @ np.tensordot(state.A[j], wj, axes=(1, 0)) @ right[j + 1]

        ident = IDENTITY_LETTERS
        vals = []
        for i, j in c.pairs:
            v = point(i, j, wa, wb)
            if c.connected:
                v = v - point(i, j, wa, ident) * point(i, j, ident, wb) / tr
            vals.append(v)
        out[c.name] = np.array(vals, dtype=complex)
    return out


def measure(state: VectorisedMPS, p: model.Params) -> dict:
    """Observables of MODEL.md, normalised by the trace (``Tr(O rho)/Tr rho``); for a model
    file, its own observables and correlation functions instead of the paper's currents."""
    if state.basis != "letters":
        state = state.in_basis("letters")
    L = state.L
    left, right = state.identity_envs()
    tr = left[L][0]
    w_sz = one_site_weights(model.SZ)
    model_file = hasattr(p, "observables")
    w_eta = None if model_file else two_site_weights(model.current_eta_operator(p))
    w_J = None if model_file else two_site_weights(model.current_J_operator(p))
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
    reds = []
    for b in range(L - 1):
        two = np.tensordot(state.A[b], state.A[b + 1], axes=(2, 0))      # (Dl, 4, 4, Dr)
        red = np.einsum("i,istj,j->st", left[b], two, right[b + 2])      # letters (a_b, a_{b+1})
        reds.append(red)
        if not model_file:
            cur_eta[b] = np.sum(w_eta * red)
            cur_J[b] = np.sum(w_J * red)
        herm = max(herm, abs(np.sum(w_pm * red) - np.conj(np.sum(w_mp * red))) / abs(tr))
        if b == 0:
            rho_pair = red
    named = (_model_file_observables(state, p, left, right, reds, tr) if model_file
             else dict(current_eta=cur_eta, current_J=cur_J))
    named = {k: v / tr for k, v in named.items()}
    imag_corr = 0.0
    for c in (p.correlations if model_file else ()):
        values = named.pop(c.name)       # real parts, or real and imaginary parts of a complex
        if len(c.outputs) == 1:          # one, on the file's distance dimension (NaN-padded)
            imag_corr = max(imag_corr, float(np.abs(values.imag).max(initial=0.0)))
        named.update(c.split(values))
    sz = sz / tr
    # reduced state of sites (0, 1): letters (2 k0 + b0, 2 k1 + b1) -> rho[k0 k1, b0 b1]
    rp = (rho_pair / tr).reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)
    imag = max([np.abs(sz.imag).max(), imag_corr]
               + [np.abs(v.imag).max(initial=0.0) for v in named.values()])
    return dict({k: v.real for k, v in named.items()}, sz=sz.real, trace=tr,
                rho_pair=rp, imag=float(imag), pair_hermiticity=float(herm))


def global_checks(state: VectorisedMPS) -> dict:
    """Purity ``Tr rho^2 / (Tr rho)^2`` and ``||rho - rho^+|| / ||rho||`` (exact MPS contractions).

    ``||rho - rho^+||^2 = 2 (Tr rho^+ rho - Re Tr rho^2)`` is a difference of two nearly equal
    numbers: relative errors below ~1e-8 are not resolved (reported as 0 when rounding makes the
    difference negative). The per-bond check ``<sp_b sm_b+1> = conj<sm_b sp_b+1>`` of
    :func:`measure` (``imag_error``) has no such floor. A state with real tensors in the Pauli
    basis is Hermitian by construction: its ``hermiticity_error`` is 0.
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
    dtype = np.result_type(np.float64, *generators)          # real generators: a real MPO
    eye = np.eye(4, dtype=dtype)
    W = []
    for j in range(L):
        # full channel sets on both sides, the chain's ends sliced off below
        wl = 2 + (len(split[j - 1][0]) if j >= 1 else 0)
        wr = 2 + (len(split[j][0]) if j < L - 1 else 0)
        w = np.zeros((wl, wr, 4, 4), dtype=dtype)
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
    """Second- (or fourth-) order TEBD of ``d|rho>>/dt = L|rho>>`` for an open chain.

    ``basis``: local basis of the state and of ``generators`` (``letters``, or ``pauli``: real
    generators, gates and tensors; :class:`VectorisedMPS`). A given ``initial`` state is moved
    to it.
    """

    def __init__(self, p: model.Params, *, chi: int, dt: float, order: int,
                 cutoff: float = OPTIONS["cutoff"].default, initial: str | VectorisedMPS = "mixed",
                 basis: str = "letters"):
        check_supported(p)
        if chi < 1:
            raise model.ModelError(f"method 'mpo': chi must be >= 1, got {chi}")
        if not dt > 0:
            raise model.ModelError(f"method 'mpo': dt must be > 0, got {dt}")
        if order not in (2, 4):
            raise model.ModelError(f"method 'mpo': order must be 2 or 4, got {order!r}")
        self.p, self.chi, self.dt, self.cutoff, self.order = p, int(chi), float(dt), float(cutoff), order
        self.generators = bond_generators(p)
        if basis == "pauli":
            self.generators = [pauli_superoperator(G, 2) for G in self.generators]
        self._gates: dict[tuple[int, float], np.ndarray] = {}
        if isinstance(initial, VectorisedMPS):
            self.state = initial if initial.basis == basis else initial.in_basis(basis)
        else:
            self.state = VectorisedMPS.initial(p.L, initial, basis)
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
        self.t += n_steps * self.dt


# ----------------------------------------------------------------------------- the certified pipeline
class MPOFailure(RuntimeError):
    """The MPO did not give a verified steady state; nothing is written.

    ``kind`` says what happened: ``blow-up`` (the time evolution became unphysical: lower dt),
    ``not converged`` (residual above its threshold with bond dimension to spare, or two starts
    disagree while the state is not provably degenerate), ``bond dimension too small`` (residual
    above its threshold with every bond at chi), ``cutoff too large`` (the SVD cutoff, not chi,
    spoils the evolution: chi holds the state exactly), ``check failed`` (a physical bound
    violated).
    """

    def __init__(self, kind: str, msg: str):
        super().__init__(f"mpo {kind}: {msg}")
        self.kind = kind


@dataclasses.dataclass
class MPOThresholds:
    """Acceptance thresholds of an MPO steady state (options of ``lindring solve``, written as attrs).

    ``residual`` bounds the relative residual ``||L x|| / (||x|| rate_scale)``; ``trace`` bounds
    ``|Tr rho - 1|`` of the written state; ``hermiticity`` bounds ``||rho - rho^+|| / ||rho||``
    (resolved down to ~1e-8, :func:`global_checks`); ``bounds`` is the slack allowed on the physical
    bounds (|sz| <= 1, 0 < purity <= 1, eigenvalues of the two-site state >= 0, |current_eta| <=
    |eta|, |current_J| <= 2 |J|); ``agreement`` bounds the difference of the observables of two
    starts (sz, and each current divided by its bound); ``kernel`` is the relative rate below which
    two distinct steady states (``||L (x1 - x2)|| / (||x1 - x2|| rate)``, limited by the residuals
    the refinement reaches) count as a degenerate kernel; ``spectral_kernel`` (ED's
    ``kernel_tol``) the relative modulus below which an eigenvalue of the projected Liouvillian
    is zero. A slow mode between the two cannot be told from a kernel by the two starts: the
    point is refused rather than called non-unique (measured: L = 4, J0 = 1, kappa = 1e-9, whose
    vacuum is the unique steady state with slowest rate 2.5e-10 x rate, was written as NaN).
    """
    residual: float = OPTIONS["mpo_max_residual"].default
    trace: float = OPTIONS["max_trace_error"].default
    hermiticity: float = OPTIONS["mpo_max_hermiticity_error"].default
    bounds: float = OPTIONS["mpo_bound_tol"].default
    agreement: float = OPTIONS["mpo_agreement"].default
    kernel: float = 1e-8
    spectral_kernel: float = Tolerances.kernel_tol


def rate_scale(generators: list[np.ndarray]) -> float:
    """Largest ``|lambda|`` over the eigenvalues of the bond generators ``G_b`` (units of 1/time).

    The fastest decay rate or frequency of any bond; it sets the time step (:func:`default_dt`)
    and the scale by which the residual is made relative.
    """
    return float(max(np.abs(np.linalg.eigvals(G)).max() for G in generators))


#: relative residual at which the time evolution hands over to the Galerkin sweeps, and its
#: bond dimension (the sweeps grow it): measured in benchmarks/MPO.md
HANDOVER, CHI_TEBD = 1e-2, 16

#: dt * rate_scale of the default time step and the largest accepted one
DT_RATE_DEFAULT, DT_RATE_MAX = 2.0, 4.0


def default_dt(rate: float) -> float:
    """``min(0.1, 2 / rate)``: the 4th-order step has a backward sub-step ``-0.658 dt``, which
    amplifies the fastest decaying mode by ``exp(0.658 dt rate)`` (3.7 at dt rate = 2)."""
    return min(0.1, DT_RATE_DEFAULT / rate) if rate > 0 else 0.1


#: relaxation times (1 / largest jump rate) the evolution may need, and the most time steps
#: that are accepted for them (the L = 100 benchmark takes ~600 steps per start)
RELAXATION_TIMES, MAX_STEPS = 10.0, 1_000_000
#: time steps of the first check interval (doubled at each check up to ``check_every``), and the
#: most steps of an evolution that is only a start for the sweeps (``handover`` > 0)
FIRST_CHECK_STEPS, WARM_MAX_STEPS = 128, 10_000
#: time between two checks of the evolution (units of the parameters) and the most time steps
#: accepted for it (their Trotter layers are listed: rates x 1e80 made 1e80 of them, 23 GB)
CHECK_EVERY, MAX_CHECK_STEPS = 1.0, 20_000


def check_steps(dt: float, t_max: float, jump_rate: float, rate: float) -> None:
    """Refuse an evolution that would need more than ``MAX_STEPS`` steps of ``dt`` to relax
    (:class:`~lindring.core.model.ModelError`): the steady state is approached on the time scale
    of the jump rates (every relaxation rate is at most of their order), ``min(t_max,
    RELAXATION_TIMES / jump_rate)``, while dt is set by the fastest bond rate ``rate``. Measured:
    mu = 1e15 beside alpha = 1 made dt = 1.3e-15 and an evolution that never ended."""
    if CHECK_EVERY / dt > MAX_CHECK_STEPS:
        raise model.ModelError(
            f"method 'mpo': the fastest bond rate {rate:.4g} needs dt = {dt:.3g}, so one check "
            f"interval of the evolution (t = {CHECK_EVERY:g}, like --t-max in the units of the "
            f"parameters) would be {CHECK_EVERY / dt:.1e} steps (> {MAX_CHECK_STEPS:.0e}). "
            "Rescale the parameters (the steady state does not change when every rate is "
            "multiplied by the same factor) so that the rates are of order 1 to 1e4")
    if jump_rate <= 0:
        return
    steps = min(t_max, RELAXATION_TIMES / jump_rate) / dt
    if steps > MAX_STEPS:
        raise model.ModelError(
            f"method 'mpo': the evolution would need ~{steps:.1e} time steps (> {MAX_STEPS:.0e}): "
            f"dt = {dt:.3g} is set by the fastest bond rate {rate:.4g}, but the state relaxes on "
            f"the time scale of the largest jump rate {jump_rate:.4g} (1 / rate = "
            f"{1 / jump_rate:.3g}). Rescale the parameters so that the couplings are within "
            f"~1e5 of the jump rates, or use --method ed")


def check_dt(dt: float, rate: float, order: int) -> None:
    """Refuse a time step with ``dt * rate > 4`` (:class:`~lindring.core.model.ModelError`).

    Order 4: the backward sub-step amplifies the fastest mode by ``exp(0.658 dt rate) > 14`` per
    step, and truncation errors with it (a blow-up). Order 2 is stable (a product of CPTP bond
    maps) but its splitting error ``~ (dt rate)^2`` is then of order 10: the evolution does not
    approach the steady state (measured: 0.07 off ED at dt = 0.5, alpha = 2, delta = 1).
    """
    if dt * rate > DT_RATE_MAX:
        x = dt * rate            # a huge dt (1e3, 1e300) must be refused, not overflow here
        growth = f"{math.exp(0.658 * x):.3g}" if 0.658 * x < 700 else f"e^{0.658 * x:.3g}"
        why = ("the backward sub-step of the fourth-order step amplifies the fastest mode by "
               f"exp(0.658 dt rate) = {growth} per step (blow-up)"
               if order == 4 else
               f"the second-order splitting error ~ (dt rate)^2 = {x * x:.3g} is not small")
        raise model.ModelError(
            f"method 'mpo': dt = {dt:g} is too large for this model: its fastest bond rate is "
            f"{rate:.4g}, dt * rate = {dt * rate:.3g} > {DT_RATE_MAX:g}; {why}. "
            f"Use dt <= {DT_RATE_MAX / rate:.3g} (default {default_dt(rate):.3g})")


def physical_bounds(obs: dict, purity: float, p: model.Params, slack: float) -> list[str]:
    """Violations of the physical bounds of the written observables (empty if none).

    |sz_j| <= 1; 0 < purity <= 1 (whole state and the pair (0, 1)); eigenvalues of the two-site
    state >= 0; |<I_eta>| <= |eta| and |<I_J>| <= 2|J| (operator norms of Eq. 14's operators),
    or a model file's observables within their operator norms (:func:`observable_bounds`)."""
    bad = []
    sz = np.abs(obs["sz"]).max()
    if not sz <= 1 + slack:
        bad.append(f"|sz| = {sz:.6g} > 1")
    if not 0 < purity <= 1 + slack:
        bad.append(f"purity Tr rho^2 = {purity:.6g} not in (0, 1]")
    rp = 0.5 * (obs["rho_pair"] + obs["rho_pair"].conj().T)
    ev = np.linalg.eigvalsh(rp)
    if not ev[0] >= -slack:
        bad.append(f"two-site state of sites (0, 1) has eigenvalue {ev[0]:.3e} < 0")
    pp = float(np.sum(ev ** 2))
    if not 0 < pp <= 1 + slack:
        bad.append(f"two-site purity = {pp:.6g} not in (0, 1]")
    defined = _defined(p, obs)
    for name, bound in observable_bounds(p).items():
        c = np.abs(defined[name]).max(initial=0.0)
        if not c <= bound * (1 + slack) + slack:
            bad.append(f"|{name}| = {c:.6g} > {bound:.6g} (operator norm)")
    if not np.all(np.isfinite(obs["sz"])):
        bad.append("non-finite observables")
    return bad


def _relative(state, W):
    from lindring.solvers.mpo_refine import relative_residual
    return relative_residual(state, W)


def truncation_failure(state: VectorisedMPS, chi: int, cutoff: float, initial: str,
                       what: str, discarded: float, t: float) -> "MPOFailure":
    """The :class:`MPOFailure` of an evolution whose truncations made the state unphysical
    over one interval (``what``: e.g. the trace changed by more than 1e-2):
    ``bond dimension too small`` where some bond is at ``chi`` below its exact dimension
    4^min(j+1, L-j-1) (:func:`at_chi`), else (``chi`` exact: only the SVD ``cutoff`` drops
    anything) ``cutoff too large``.

    ``discarded`` is the sum of the relative weights dropped by the ``state.truncations`` SVDs
    of the interval (each in [0, 1], the sum not); ``state.largest_discard`` the largest one.
    """
    what = (f"the {state.truncations} truncating SVDs of one interval (t = {t:.3g}) from the "
            f"{initial} state each drop up to a relative weight {state.largest_discard:.2e} "
            f"(summed: {discarded:.2e}) and make the state unphysical ({what})")
    if at_chi(state, chi):
        return MPOFailure("bond dimension too small",
                          f"truncation to chi = {chi}: {what}: raise --chi")
    held = (f"chi = {chi} holds the state exactly" if exact_chi(state.L, chi) else
            f"no bond is at chi = {chi}")
    return MPOFailure("cutoff too large",
                      f"{held}, but the SVD cutoff {cutoff:g}: {what}: lower --cutoff "
                      f"(default {OPTIONS['cutoff'].default:g})")


def evolve_and_refine(p: model.Params, initial: str, chi: int, dt: float, order: int,
                      cutoff: float, t_max: float, check_every: float, target: float,
                      max_sweeps: int, lsqr_iters: int, th: MPOThresholds, say,
                      dt_halvings: int = 2, do_refine: bool = True,
                      handover: float = 0.0, chi_tebd: int | None = None,
                      basis: str = "pauli") -> tuple:
    """TEBD from ``initial`` until the residual stops falling, then refinement (mpo_refine).

    Returns ``(state, info)``. The evolution is checked after every interval of ``check_every``
    (the first intervals :data:`FIRST_CHECK_STEPS` steps, doubled up to that):
    a raw ``|Tr - 1| > 0.01`` (gates preserve the trace, so only amplified truncation errors
    change it), non-finite numbers, a physical bound violated by more than 0.01 or a relative
    residual above 1e-3 and 100 times its minimum raise :class:`MPOFailure` ``blow-up``. The evolution hands over to the refinement
    when the relative residual is below ``target``, or has fallen by less than 10 % over an
    interval (the Trotter floor) ``dt_halvings`` times, dt being halved at each floor (the floor
    falls as dt^order), or at ``t_max``, or (``handover`` > 0) as soon as the relative residual
    is at most ``handover`` or after :data:`WARM_MAX_STEPS` steps.
    The evolution keeps at most ``chi_tebd`` (default ``chi``) states
    per bond. ``basis``: local basis of the state and of ``info["W"]`` (default ``pauli``: real
    tensors throughout, :class:`VectorisedMPS`).
    """
    run = TEBD(p, chi=chi_tebd or chi, dt=dt, cutoff=cutoff, order=order, initial=initial,
               basis=basis)
    W = liouvillian_mpo(run.generators)
    scale = rate_scale(run.generators)
    # at most MAX_CHECK_STEPS steps between checks: check_every is a time, and with every rate
    # scaled by 1e80 (dt ~ 1e-80) its steps made a list of 1e80 Trotter layers (23 GB)
    n_full = max(1, min(MAX_CHECK_STEPS, int(round(check_every / dt))))
    # the first intervals are short and double up to check_every (measured: at J0 = 1e4 an
    # interval of t = 1 was 1e4 steps, 48 s at L = 6, for a residual reached in far fewer)
    n_check = min(n_full, FIRST_CHECK_STEPS)
    t0 = time.time()
    res = _relative(run.state, W) / scale
    best = res
    history = [(0.0, res)]
    last_print = time.time()
    halvings = 0
    steps_spoiled = 0           # steps of evolutions started again at a larger bond dimension
    while run.t < t_max - 1e-12:
        n = min(n_check, max(1, int(round((t_max - run.t) / run.dt))))
        run.trace_error = 0.0
        discarded_before = run.state.discarded
        run.state.largest_discard, run.state.truncations = 0.0, 0
        run.evolve(n)
        interval_trace = run.trace_error
        interval_discarded = run.state.discarded - discarded_before
        obs = measure(run.state, p)
        new = _relative(run.state, W) / scale
        history.append((run.t, new))
        purity = global_checks(run.state)["purity"]
        bad = physical_bounds(obs, purity, p, 1e-2)
        grew = new > 100 * best and new > 1e-3
        if not np.isfinite(new) or interval_trace > 1e-2 or grew or bad:
            what = "; ".join(bad + ([f"raw |Tr rho - 1| = {interval_trace:.2e} over one interval"]
                                    if interval_trace > 1e-2 else [])
                             + ([f"relative residual grew from {best:.2e} to {new:.2e}"]
                                if grew else []))
            if interval_discarded > 1e-4 and run.chi < chi:
                # the evolution is only a start for the sweeps, kept at chi_tebd < chi for
                # speed; here its truncation spoiled it (measured: the random start at L = 6,
                # J0 = 2, chi_tebd 16 changed the trace by 5e-2 per interval, although chi 64
                # is exact there): start again with twice the states (the spoiled state heals
                # only on the slowest relaxation time, so it is not continued)
                more = min(chi, 2 * run.chi)
                say(f"[mpo] {initial}: t={run.t:.3f}: the truncation to {run.chi} states per "
                    f"bond made the state unphysical ({what}): starting again with {more}")
                steps_spoiled += run.steps
                run = TEBD(p, chi=more, dt=dt, cutoff=cutoff, order=order, initial=initial,
                           basis=basis)
                n_full = max(1, min(MAX_CHECK_STEPS, int(round(check_every / dt))))
                n_check = min(n_full, FIRST_CHECK_STEPS)
                res = best = _relative(run.state, W) / scale
                history.append((0.0, res))
                halvings = 0
                continue
            if interval_discarded > 1e-4:
                # gates are trace preserving and CPTP-close: what the truncation dropped did it
                raise truncation_failure(run.state, chi, cutoff, initial, what,
                                         interval_discarded, run.t)
            raise MPOFailure("blow-up", f"the time evolution from the {initial} state became "
                             f"unphysical at t = {run.t:.3g} ({what}); dt = {dt:g} with fastest "
                             f"bond rate {scale:.4g} (dt * rate = {dt * scale:.3g}): lower --dt")
        if time.time() - last_print >= 5.0:
            last_print = time.time()
            say(f"[mpo] {initial}: t={run.t:8.3f}  chi={run.state.max_bond:4d}  relative residual "
                f"{new:.2e}  summed discarded weight {run.state.discarded:.2e}  {time.time() - t0:.0f}s")
        stalled = new > 0.9 * res and n_check >= n_full    # a floor over a full interval
        res, best = new, min(best, new)
        n_check = min(n_full, 2 * n_check)
        if res <= max(target, handover):
            break
        if handover > 0 and run.steps >= WARM_MAX_STEPS:
            # a start for the sweeps only: at a large coupling / jump rate ratio the state
            # relaxes over ~rate_scale / jump rate steps (measured: L = 3, J0 = 1e4, kappa 0.2,
            # the random start needed 2e5 steps, 200 s, to reach the hand-over residual)
            say(f"[mpo] {initial}: t={run.t:.3f}: {run.steps} steps (residual {res:.2e}): "
                "handed over to the sweeps")
            break
        if stalled:
            if halvings >= dt_halvings:
                break
            # Trotter floor ~ dt^order: halve dt (a step of the 4th order gains 16x)
            halvings += 1
            run.dt /= 2
            n_full *= 2
            n_check = n_full
            say(f"[mpo] {initial}: t={run.t:.3f}: residual {res:.2e} at its Trotter floor; "
                f"dt -> {run.dt:g}")
    t_evolve = time.time() - t0
    say(f"[mpo] {initial}: evolved to t={run.t:.3f} in {t_evolve:.1f}s, relative residual {res:.2e}"
        f" (dt={dt:g} to {run.dt:g}, order {order})")
    state = run.state
    state.move_center(0)
    state.scale(1.0 / state.trace())
    info = dict(t_final=run.t, steps=run.steps + steps_spoiled, dt_final=run.dt, evolve_seconds=t_evolve,
                tebd_residual=res * scale, chi_max_during_run=run.chi_max, W=W, scale=scale,
                trace_error=run.trace_error, sweeps=0, residual=res * scale, refine_seconds=0.0)
    if do_refine:
        refine_state(state, info, target, chi, max_sweeps, lsqr_iters, say)
    return state, info


def largest_bond(L: int) -> int:
    """The largest Schmidt rank of a vectorised rho of ``L`` sites over all bonds
    (:func:`full_bonds`), ``4^(L // 2)`` (64 at L = 6; capped at ``4^MAX_EXPONENT``): a
    larger chi changes nothing."""
    return 4 ** min(L // 2, MAX_EXPONENT)


def exact_chi(L: int, chi: int) -> bool:
    """``chi`` holds every vectorised rho of ``L`` sites exactly (:func:`largest_bond`)."""
    return chi >= largest_bond(L)


def at_chi(state: VectorisedMPS, chi: int) -> bool:
    """Some bond is at ``chi`` where the exact state could need more (:func:`full_bonds`): the
    truncation to ``chi`` may limit the state."""
    return any(D >= chi and chi < f for D, f in zip(state.bond_dims, full_bonds(state.L)))


def refine_state(state, info: dict, target: float, chi: int, max_sweeps: int, lsqr_iters: int,
                 say, chi_start: int | None = None) -> None:
    """Refine ``state`` in place to a relative residual ``target``, trace 1; update ``info``.

    Two-site Galerkin sweeps with the bond dimension grown up to ``chi``
    (:func:`lindring.solvers.mpo_refine.solve_galerkin`); where they stall above the target
    with bond dimension to spare, the least-squares sweeps of
    :func:`lindring.solvers.mpo_refine.refine` (slower, but monotone in ``||L x||``) continue.
    The first sweeps keep at most ``chi_start`` states per bond (default: what the state
    reached before, at least ``min(chi, 16)``).
    """
    from lindring.solvers.mpo_refine import refine, solve_galerkin
    t0 = time.time()
    out = solve_galerkin(state, info["W"], target=target, chi=chi, scale=info["scale"],
                         max_sweeps=max_sweeps, say=say,
                         chi_start=chi_start or max(info.get("chi_grown", 0), min(chi, 16)))
    if out["residual"] / info["scale"] > target and not at_chi(state, chi):
        more = refine(state, info["W"], target=target, max_sweeps=max_sweeps,
                      lsqr_iters=lsqr_iters, say=say, scale=info["scale"], chi=chi)
        out = dict(out, residual=more["residual"], sweeps=out["sweeps"] + more["sweeps"])
    state.move_center(0)
    state.scale(1.0 / state.trace())
    info.update(residual=out["residual"], sweeps=info["sweeps"] + out["sweeps"],
                refine_seconds=info["refine_seconds"] + time.time() - t0,
                discarded=state.discarded, chi_grown=state.max_bond,
                stop=out.get("stop", "lsqr"),
                chi_max_during_run=max(info["chi_max_during_run"], state.max_bond))


#: chains up to this length have their slowest rates and kernel from the whole space (the
#: block bases completed: at most 4096 unknowns at L = 6); beyond, a small space that claims a
#: kernel is checked again with its block bases completed to ``PAD_SPECTRUM`` states per bond
PAD_WHOLE_MAX_L, PAD_SPECTRUM = 6, 16


def spectrum_decision(state: VectorisedMPS, W: list[np.ndarray], scale: float,
                      kernel_tol: float) -> dict:
    """Slowest relaxation rate and kernel dimension from the refined problem's spectrum.

    The eigenvalues of the projected Liouvillian ``P^+ L P`` at one bond
    (:func:`lindring.solvers.mpo_refine.local_spectrum`), relative to ``scale``: ``kernel`` is
    the number of them with modulus at most ``kernel_tol`` (the steady state itself is one),
    ``slow`` the modulus of the first one above (the slowest relaxation rate that the
    variational space holds; exact where it spans the whole space). Up to
    :data:`PAD_WHOLE_MAX_L` sites the block bases are completed to the whole space
    (:meth:`VectorisedMPS.padded`, ``padded = 1``), so the decision is exact; beyond, a space
    that shows two or more eigenvalues at zero is completed to :data:`PAD_SPECTRUM` states per
    bond and the decision made again (a second kernel vector outside the space is missed
    there: the two starts' states are the other check).

    Returns
    -------
    dict
        ``kernel``, ``slow``, ``bond``, ``n``, ``complete`` (and ``padded``).
    """
    from lindring.solvers.mpo_refine import local_spectrum

    def decide(st):
        sp = local_spectrum(st, W)
        lam = np.abs(sp["eigenvalues"]) / scale
        kernel = max(1, int(np.count_nonzero(lam <= kernel_tol)))
        slow = float(lam[kernel]) if kernel < len(lam) else float("nan")
        return dict(kernel=kernel, slow=slow, bond=sp["bond"], n=sp["n"],
                    complete=sp["complete"])

    L = state.L
    full = full_bonds(L)
    if L <= PAD_WHOLE_MAX_L and state.bond_dims != full:
        # a small space around a nearly product state (bonds of 1-4) shows neither the slow
        # modes nor a second kernel vector outside it (measured, L = 3: a kernel of dimension 2
        # by the dense Liouvillian, both starts refined to one product state and its space of
        # 16 unknowns gave 'unique'; and a unique state whose small space had two eigenvalues
        # below 1e-12 x rate, written as NaN): the whole space, where it fits
        out = dict(decide(state.padded(full)), padded=1)
    else:
        out = decide(state)
        if out["kernel"] >= 2 and not out["complete"]:
            # a Ritz value of a space that is not the whole one is no proof of a kernel: again
            # in larger block bases
            out = dict(decide(state.padded([PAD_SPECTRUM] * (L - 1))), padded=1)
    state.move_center(0)
    return out


def _distance(x: VectorisedMPS, y: VectorisedMPS) -> float:
    """``||x - y|| / ||x||`` (Hilbert-Schmidt; the squared norm of the difference MPS is
    contracted, so distances below ~1e-8 are rounding)."""
    return math.sqrt(max(x.minus(y).norm2(), 0.0) / x.norm2())


def _agreement(a: dict, b: dict, p: model.Params) -> float:
    """Largest difference of sz and of the currents, or of a model file's observables (each
    divided by its operator-norm bound, :func:`observable_bounds`)."""
    d = np.abs(a["sz"] - b["sz"]).max()
    for name, bound in observable_bounds(p).items():
        da, db = _defined(p, a)[name], _defined(p, b)[name]
        if bound > 0 and len(da):
            d = max(d, np.abs(da - db).max() / bound)
    return float(d)


def mpo_observables(p: model.Params, chi: int = OPTIONS["chi"].default,
                    dt: float | None = OPTIONS["dt"].default, tol: float = OPTIONS["mpo_tol"].default,
                    t_max: float = OPTIONS["t_max"].default, cutoff: float = OPTIONS["cutoff"].default,
                    order: int = OPTIONS["order"].default, progress: bool = True,
                    initial: str = "mixed", check_every: float = CHECK_EVERY,
                    max_sweeps: int = OPTIONS["refine_sweeps"].default, lsqr_iters: int = 100,
                    check_unique: bool = OPTIONS["check_unique"].default,
                    second_initial: str = "random",
                    thresholds: MPOThresholds | None = None):
    """Certified steady state of an open chain in MPS form (the ``mpo`` method).

    1. Time evolution (TEBD of the vectorised rho, order ``order``, step ``dt``; default
       :func:`default_dt` from the fastest bond rate, a larger one refused by :func:`check_dt`)
       from ``initial``, at most :data:`CHI_TEBD` states per bond, until the relative residual
       is at most :data:`HANDOVER` or stops falling (Trotter floor), checked for blow-up.
    2. Refinement (:func:`refine_state`): two-site Galerkin sweeps of the steady-state equation
       at ``Tr x = 1``, the bond dimension grown up to ``chi``, until the relative residual
       ``||L x|| / (||x|| rate_scale)`` is at most ``tol`` (the target) or stops falling.
    3. Slowest rate (:func:`spectrum_decision`): eigenvalues of the Liouvillian projected on the
       two-site variational space of the refined state (exact where that space is the whole
       space: up to L = 6 its block bases are completed to it). Two or more at zero (``<= thresholds.spectral_kernel``,
       ED's kernel cutoff): a kernel of
       dimension >= 2 (``unique = 0``, observables NaN, as ED). Otherwise the first nonzero one
       is the slowest relaxation rate ``slow_rate_seen``; the residual bounds the error of rho
       only to ``error_estimate = relative residual / slow_rate_seen``, so the state is refined
       further until that is below a tenth of ``thresholds.agreement``.
    4. Uniqueness (``check_unique``): steps 1-2 again from ``second_initial`` (a random product
       state, which overlaps with every steady state), ending its time evolution at a 2x larger
       dt, refined at half the bond dimension (at least ``min(chi, 16)``; at ``chi`` if that
       leaves its residual above ``thresholds.residual``, or if the two disagree). If the observables of the two agree within ``thresholds.agreement`` and
       ``error_estimate <= thresholds.agreement`` the state is written (``unique = 1``,
       ``kernel_dim = 1``, ``start_difference``). If they, or the states themselves
       (``start_distance = ||x1 - x2|| / ||x1||`` above ``thresholds.agreement``: observables
       may not see a second steady state), differ and ``||L (x1 - x2)|| /
       (||x1 - x2|| rate_scale) <= thresholds.kernel``, the two are distinct steady states
       (``kernel_dim = 2``, ``unique = 0``), unless the slowest rate seen is below
       ``thresholds.kernel`` too (a slow mode the starts cannot tell from a kernel: refused).
       Otherwise :class:`MPOFailure` ``not converged``.
    5. Verification of the written state against ``thresholds`` (:class:`MPOThresholds`):
       relative residual, trace, Hermiticity and physical bounds; failure raises
       :class:`MPOFailure` (``bond dimension too small`` if every bond reached chi).

    Convergence is decided by the residual only (never by the rate of change of observables).
    ``chi = 1`` is refused (a product state has no current).

    Returns ``(data_vars, attrs)``: ``current_eta``, ``current_J`` (bond), ``sz`` (site),
    ``purity``, ``purity_pair``, ``negativity_pair``, ``residual`` (``||L x|| / ||x||`` as ED),
    ``relative_residual``, ``trace_error``, ``hermiticity_error``, ``imag_error``,
    ``discarded_weight``, ``start_difference``, ``kernel_dim``, ``slow_rate_seen``,
    ``error_estimate``; attrs include ``dt``, ``rate_scale``,
    the thresholds, ``unique``, ``uniqueness_checked``, sweeps and times.

    Raises
    ------
    lindring.core.model.ModelError
        Unsupported model (ring, range 2) or options (chi < 2, dt too large, bad order).
    MPOFailure
        No verified steady state (see its ``kind``).
    """
    from lindring.core.observables import negativity

    th = thresholds or MPOThresholds()
    check_supported(p)
    if chi < 2:
        raise model.ModelError(f"method 'mpo': chi = {chi} cannot describe a steady state with "
                               "correlations (chi = 1 is a product state: zero current on every "
                               "bond); use chi >= 2 (e.g. 16-64)")
    if order not in (2, 4):
        raise model.ModelError(f"method 'mpo': order must be 2 or 4, got {order!r}")
    if not t_max > 0 or not 0 < tol < 1:
        raise model.ModelError(f"method 'mpo': t_max must be > 0 and tol (a relative residual) in "
                               f"(0, 1), got {t_max}, {tol}")
    gens = bond_generators(p)
    scale = rate_scale(gens)
    dt_given = dt is not None
    dt = float(dt) if dt_given else default_dt(scale)
    if not dt > 0:
        raise model.ModelError(f"method 'mpo': dt must be > 0, got {dt}")
    check_dt(dt, scale, order)
    check_steps(dt, t_max, model.largest_jump_rate(p), scale)

    def say(msg):
        if progress:
            log.info(msg)

    say(f"[mpo] L={p.L} chi={chi} dt={dt:g} ({'given' if dt_given else 'from the fastest rate'} "
        f"{scale:.4g}) order={order} target relative residual {tol:g}")
    t0 = time.time()
    kw = dict(chi=chi, dt=dt, order=order, cutoff=cutoff, t_max=t_max, check_every=check_every,
              target=tol, max_sweeps=max_sweeps, lsqr_iters=lsqr_iters, th=th, say=say)
    def residual_failure(rel_, state_, info_, start, chi_=chi):
        if at_chi(state_, chi_):
            return MPOFailure("bond dimension too small", (
                f"relative residual ||L rho||/(||rho|| rate) = {rel_:.3e} > {th.residual:g} after "
                f"{info_['sweeps']} refinement sweeps from the {start} state, with every bond at "
                f"chi = {chi_}: raise --chi"))
        if max_sweeps == 0:
            return MPOFailure("not converged", (
                f"relative residual ||L rho||/(||rho|| rate) = {rel_:.3e} > {th.residual:g} "
                f"from the time evolution alone (--refine-sweeps 0, from the {start} state): "
                f"allow refinement sweeps (default {OPTIONS['refine_sweeps'].default})"))
        return MPOFailure("not converged", (
            f"relative residual ||L rho||/(||rho|| rate) = {rel_:.3e} > {th.residual:g} after "
            f"{info_['sweeps']} refinement sweeps from the {start} state (largest bond "
            f"{state_.max_bond}, not limited by chi = {chi_}): the local solves did not converge "
            f"(ill-conditioned: a slow mode; regime: {model.regime(p)}); raise --refine-sweeps"))

    # 1. a short time evolution (to a relative residual HANDOVER, at most 16 states per bond),
    #    then Galerkin sweeps with the bond dimension grown up to chi
    kw["chi_tebd"] = min(chi, CHI_TEBD)
    kw["handover"] = HANDOVER
    state, info = evolve_and_refine(p, initial, do_refine=False, **kw)
    W = info["W"]
    refine_state(state, info, tol, chi, max_sweeps, lsqr_iters, say)
    # 2. the slowest relaxation rate of the refined problem: the residual certifies rho only to
    #    ~ residual / slow_rate, so refine until that is below a tenth of the agreement
    spec = spectrum_decision(state, W, scale, th.spectral_kernel)
    target = tol
    if spec["kernel"] < 2 and spec["slow"] > 0:
        target = max(min(tol, 0.1 * th.agreement * spec["slow"]), 1e-14)
    say(f"[mpo] projected Liouvillian at bond {spec['bond']} ({spec['n']} unknowns"
        f"{', the whole space' if spec['complete'] else ''}): slowest rate "
        f"{spec['slow']:.2e} x rate, {spec['kernel']} eigenvalue(s) <= {th.spectral_kernel:g} x "
        "rate")
    if info["residual"] / scale > target and info["stop"] != "chi floor":
        say(f"[mpo] refining to a relative residual of {target:.1e} (slow mode)")
        refine_state(state, info, target, chi, max_sweeps, lsqr_iters, say)
        spec = spectrum_decision(state, W, scale, th.spectral_kernel)
    slow_rate = spec["slow"]
    obs = measure(state, p)
    rel = info["residual"] / scale
    if not rel <= th.residual:
        raise residual_failure(rel, state, info, initial)
    kernel_dim, start_diff, slow_bound = -1, float("nan"), float("nan")
    start_dist = float("nan")
    unique = -1
    error_est = rel / slow_rate if slow_rate > 0 else float("inf")
    if check_unique:
        # 3. a second, independent start: another initial state, evolved at a 2x larger final
        #    dt (another Trotter fixed point) and refined to the same target at half the bond
        #    dimension (at least min(chi, 16)): a different fixed point of the sweeps, at a
        #    quarter to an eighth of the cost of the first
        chi2 = max(min(chi, CHI_TEBD), chi // 2)
        state2, info2 = evolve_and_refine(p, second_initial, dt_halvings=1, do_refine=False, **kw)
        refine_state(state2, info2, target, chi2, max_sweeps, lsqr_iters, say)
        rel2 = info2["residual"] / scale
        if not rel2 <= th.residual and chi2 < chi:
            # the half bond dimension does not hold the state: the second start at chi
            refine_state(state2, info2, target, chi, max_sweeps, lsqr_iters, say, chi_start=chi)
            rel2, chi2 = info2["residual"] / scale, chi
        if not rel2 <= th.residual:
            raise residual_failure(rel2, state2, info2, second_initial, chi2)
        obs2 = measure(state2, p)
        start_diff = _agreement(obs, obs2, p)
        start_dist = _distance(state, state2)
        if start_diff > th.agreement or start_dist > th.agreement:
            # only needed to tell distinct steady states from a slow mode; the QR sweeps of
            # L (x1 - x2) at bond dimension chi + chi2 cost minutes at L = 30, chi 64
            slow_bound = _relative(state.minus(state2), W) / scale
        say(f"[mpo] two starts ({initial}, {second_initial}): observables differ by "
            f"{start_diff:.2e}, states by ||x1-x2||/||x1|| = {start_dist:.2e}; "
            f"||L(x1-x2)||/(||x1-x2|| rate) = {slow_bound:.2e}")
        if start_diff > th.agreement and spec["kernel"] < 2:
            # distinct steady states, or a slow mode? Only residuals far below the kernel
            # threshold can tell: refine both further, then measure L (x1 - x2) again
            deeper = 0.01 * th.kernel
            say(f"[mpo] the two starts disagree: refining both to {deeper:g} to decide")
            for st, inf in ((state, info), (state2, info2)):
                refine_state(st, inf, deeper, chi, max_sweeps, lsqr_iters, say)
            chi2 = chi
            obs, obs2 = measure(state, p), measure(state2, p)
            rel, rel2 = info["residual"] / scale, info2["residual"] / scale
            error_est = rel / slow_rate if slow_rate > 0 else float("inf")
            start_diff = _agreement(obs, obs2, p)
            start_dist = _distance(state, state2)
            slow_bound = _relative(state.minus(state2), W) / scale
            say(f"[mpo] after refining: residuals {rel:.2e}, {rel2:.2e}; observables differ by "
                f"{start_diff:.2e}; ||L(x1-x2)||/(||x1-x2|| rate) = {slow_bound:.2e}")
        distinct = slow_bound <= th.kernel and not slow_rate <= th.kernel
        if spec["kernel"] >= 2:
            kernel_dim, unique = spec["kernel"], 0
        elif start_diff <= th.agreement and (start_dist <= th.agreement or not distinct):
            # (states apart with the same observables, their difference not stationary: the
            # refinement's error, bounded by error_estimate below)
            kernel_dim, unique = 1, 1
        elif start_diff <= th.agreement:
            # the observables do not tell them apart, the states do (measured, L = 7: a free
            # spin on site 0, <sigma^x_0> conserved, the two starts differ only there)
            kernel_dim, unique = 2, 0
        elif distinct:
            kernel_dim, unique = 2, 0
        elif slow_bound <= th.kernel:
            raise MPOFailure(
                "not converged",
                f"the steady states refined from the {initial} and the {second_initial} state "
                f"differ by {start_diff:.3e} (> agreement {th.agreement:g}), and their difference "
                f"relaxes at a rate <= {slow_bound:.2e} x {scale:.3g}; but the projected "
                f"Liouvillian has a slow mode at {slow_rate:.2e} x rate, also below the "
                f"{th.kernel:g} x rate that the MPO resolves (ED's kernel cutoff is "
                f"{th.spectral_kernel:g}): a second steady state cannot be told from a slow "
                f"mode (regime: {model.regime(p)}); use ED (L <= 12)")
        else:
            raise MPOFailure(
                "not converged",
                f"the steady states refined from the {initial} and the {second_initial} state "
                f"differ by {start_diff:.3e} (> agreement {th.agreement:g}) with relative residuals "
                f"{rel:.2e} and {rel2:.2e}; their difference relaxes at a rate <= {slow_bound:.2e}"
                f" x {scale:.3g}: a slow mode (near-degenerate steady state) that the refinement "
                f"did not resolve (largest bond {max(state.max_bond, state2.max_bond)}, chi = "
                f"{chi}; regime: {model.regime(p)}); use ED (L <= 12) or more --refine-sweeps "
                "and a larger --chi")
    if unique != 0 and not error_est <= th.agreement:
        raise MPOFailure(
            "not converged",
            f"relative residual {rel:.2e} with a slowest relaxation rate of {slow_rate:.2e} x "
            f"{scale:.3g} (projected Liouvillian at bond {spec['bond']}): the state is "
            f"certified only to ||rho - rho_ss|| / ||rho|| <= {error_est:.1e} > "
            f"{th.agreement:g}, a slow mode (near-degenerate steady state) that the "
            f"refinement did not resolve (regime: {model.regime(p)}); use ED (L <= 12) or more "
            "--refine-sweeps")
    checks = global_checks(state)
    trace_err = abs(state.trace() - 1.0)
    if unique == 0:
        how = (f"the projected Liouvillian has {spec['kernel']} eigenvalues <= "
               f"{th.spectral_kernel:g} x rate" if spec["kernel"] >= 2 else
               f"two starts refine to distinct states (||x1-x2||/||x1|| = {start_dist:.1e}, "
               f"||L(x1-x2)|| relative {slow_bound:.1e} <= {th.kernel:g})")
        msg = (f"non-unique steady state: {how}; the kernel has dimension >= 2; observables "
               "written as NaN")
        log.warning(msg)
    else:
        bad = []
        if not trace_err <= th.trace:
            bad.append(f"|Tr rho - 1| = {trace_err:.3e} > {th.trace:g}")
        if not checks["hermiticity_error"] <= th.hermiticity:
            bad.append(f"||rho - rho^+||/||rho|| = {checks['hermiticity_error']:.3e} > "
                       f"{th.hermiticity:g}")
        bad += physical_bounds(obs, checks["purity"], p, th.bounds)
        if bad:
            raise MPOFailure("check failed", "steady state failed verification: " + "; ".join(bad))
    wall = time.time() - t0
    say(f"[mpo] done in {wall:.1f}s: relative residual {rel:.2e} (residual {info['residual']:.2e}),"
        f" chi reached {state.max_bond}, |Tr-1| {trace_err:.1e}, herm "
        f"{checks['hermiticity_error']:.1e}, unique={unique}")
    rho_pair = 0.5 * (obs["rho_pair"] + obs["rho_pair"].conj().T)
    named = list(observable_bounds(p))      # the paper's currents, or a model file's observables
    values = dict({k: obs[k] for k in named}, sz=obs["sz"],
                  purity=checks["purity"],
                  purity_pair=float(np.real(np.trace(rho_pair @ rho_pair))),
                  negativity_pair=negativity(rho_pair, 2))
    if unique == 0:
        values = {k: np.full(np.shape(v), np.nan) for k, v in values.items()}
    data = data_vars("mpo", dict(
        values, residual=info["residual"], relative_residual=rel, start_distance=start_dist,
        discarded_weight=info["discarded"], trace_error=trace_err,
        evolution_trace_error=info["trace_error"],
        hermiticity_error=checks["hermiticity_error"],
        imag_error=max(obs["imag"], obs["pair_hermiticity"]), start_difference=start_diff,
        slow_rate_bound=slow_bound, slow_rate_seen=slow_rate, kernel_dim=kernel_dim,
        error_estimate=error_est if unique != 0 else float("nan")),
        p.output_variables() if hasattr(p, "output_variables") else None)
    attrs = dict(dt=float(dt), dt_source="given" if dt_given else "default min(0.1, 2/rate_scale)",
                 rate_scale=float(scale), chi=int(chi), chi_reached=int(state.max_bond),
                 chi_max_during_run=int(info["chi_max_during_run"]), t_final=float(info["t_final"]),
                 steps=int(info["steps"]), dt_final=float(info["dt_final"]), order=int(order), cutoff=float(cutoff), tol=float(tol),
                 t_max=float(t_max), converged=1, initial=str(initial),
                 refine_sweeps=int(info["sweeps"]), max_sweeps=int(max_sweeps),
                 lsqr_iters=int(lsqr_iters), target_residual=float(target),
                 tebd_residual=float(info["tebd_residual"]),
                 evolve_seconds=float(info["evolve_seconds"]),
                 refine_seconds=float(info["refine_seconds"]),
                 max_relative_residual=th.residual, max_trace_error=th.trace,
                 max_hermiticity_error=th.hermiticity, bound_tol=th.bounds,
                 agreement_tol=th.agreement, kernel_tol=th.kernel,
                 spectral_kernel_tol=th.spectral_kernel, unique=int(unique),
                 uniqueness_checked=(
                     f"spectrum of the projected Liouvillian (bond {spec['bond']}, {spec['n']} "
                     f"unknowns{', whole space' if spec['complete'] else ''}"
                     f"{', block bases completed' if spec.get('padded') else ''}) and two starts "
                     f"({initial} at chi {chi}, {second_initial} at chi {chi2})"
                     if check_unique else "no"),
                 spectrum_bond=int(spec["bond"]), spectrum_unknowns=int(spec["n"]),
                 spectrum_complete=int(spec["complete"]),
                 wall_seconds=float(time.time() - t0))
    return data, attrs

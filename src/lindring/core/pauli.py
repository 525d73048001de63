"""The basis of normalised Pauli strings, in which every Liouvillian is a real matrix.

**Basis.** A Pauli string is a word of L letters ``p_j`` in {0: 1, 1: sigma^x, 2: sigma^y,
3: sigma^z} (signs of MODEL.md: ``sigma^z |1> = |1>``), indexed like the matrix-unit words of :mod:`lindring.core.basis` (``w = sum_j p_j
4^(L-1-j)``, site 0 most significant), and the basis vector is ``P_w / 2^(L/2)``
(``P_w = sigma^(p_0) x ... x sigma^(p_(L-1))``): orthonormal for the Hilbert-Schmidt product
``Tr(A^+ B)``. The component of rho is ``x_w = Tr(P_w rho) / 2^(L/2)``, so
``rho = 2^(-L/2) sum_w x_w P_w``, ``<P_w> = 2^(L/2) x_w``, ``Tr rho = 2^(L/2) x_0`` and
``Tr rho^2 = sum_w x_w^2``. For a Hermitian rho every ``x_w`` is real.

**Why the Liouvillian is real.** The Lindblad generator of Eq. 11 maps Hermitian operators to
Hermitian operators (``L(rho)^+ = L(rho^+)``, term by term: ``(-i[H, rho])^+ = -i[H, rho^+]`` and
``D[f](rho)^+ = D[f](rho^+)``). A Hermitian operator has real components in a basis of Hermitian
operators, so the image of each (Hermitian) basis vector ``P_w`` has real components: every
matrix element ``<P_v, L(P_w)> / 2^L`` is real, for any complex couplings. The same holds term by
term for the local superoperators, which :func:`pauli_superoperator` transforms with the unitary
``U`` of one site (``x = U y`` for the matrix-unit letters ``y_(2k+b) = rho[k, b]``):
``U[p, 2k + b] = sigma^p[b, k] / sqrt(2)``.

**Sectors.** Parity ``P rho P`` (``P = prod_j sigma^z_j``) multiplies ``P_w`` by ``(-1)`` to the
number of letters x, y, which are the letters 1 and 2 as for the matrix units (ket != bra);
translations and reflections permute the sites of ``P_w`` without a sign. So the sector bases of
:mod:`lindring.core.basis` (:class:`~lindring.core.basis.SectorBasis`) apply to Pauli words
unchanged; only the trace functional differs (:class:`PauliBasis`).

**Sparsity** (tests/integration/test_pauli.py): the minimal model has ``2.25 L + 1`` nonzeros per
row in the full space of Pauli strings, against ``5 L + 1`` complex ones in the matrix units.
"""
from __future__ import annotations

import functools

import numpy as np

from lindring.core import model
from lindring.core.terms import cached_per_point, frozen, local_terms

#: the Pauli matrices by letter: 1, sigma^x, sigma^y, sigma^z in the local basis (|0>, |1>) of
#: MODEL.md (|1> up: sigma^z = diag(-1, 1), sigma^y = -i (sp - sm))
PAULI = np.array([model.ID2, model.SX, -1j * (model.SP - model.SM), model.SZ], dtype=complex)
#: name of the operator basis, in files (attribute ``operator_basis``)
NAME = "pauli"


def letter_to_pauli(nsites: int = 1) -> np.ndarray:
    """The unitary ``U`` (``4^n x 4^n``) with ``x = U y``: matrix-unit letters ``y`` (basis.py)
    to normalised Pauli letters ``x`` on ``nsites`` sites (``U[p, 2k + b] = sigma^p[b, k] /
    sqrt(2)`` on one site, Kronecker products in site order)."""
    one = np.array([[PAULI[q][b, k] for k in range(2) for b in range(2)] for q in range(4)])
    one = one / np.sqrt(2)
    U = np.ones((1, 1), dtype=complex)
    for _ in range(nsites):
        U = np.kron(U, one)
    return U


def pauli_superoperator(S: np.ndarray, nsites: int) -> np.ndarray:
    """A local superoperator in matrix-unit letters (:mod:`lindring.core.superoperator`) as the
    real matrix ``U S U^+`` on Pauli letters.

    Entries below the rounding of the transformation (64 eps of the largest) are set to zero,
    so that the sparsity is exact.

    Raises
    ------
    ValueError
        If ``S`` does not map Hermitian operators to Hermitian ones (an imaginary part above
        rounding): not a Lindblad generator.
    """
    U = letter_to_pauli(nsites)
    T = U @ S @ U.conj().T
    big = float(np.abs(T).max()) if T.size else 0.0
    noise = 64 * np.finfo(float).eps * big
    if np.abs(T.imag).max(initial=0.0) > noise:
        raise ValueError("the superoperator does not preserve Hermiticity: its Pauli matrix is "
                         f"not real (imaginary part {np.abs(T.imag).max():.3e} of {big:.3e})")
    R = T.real.copy()
    R[np.abs(R) <= noise] = 0.0
    return R


def pauli_terms(p: model.Params) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """The Liouvillian of Eq. 11 as ``(sites, real superoperator on Pauli letters)``
    (:func:`lindring.core.terms.local_terms` transformed; for a :class:`model.Params`, computed
    once per point: :func:`lindring.core.terms.cached_per_point`)."""
    return list(_pauli_terms(p))


@cached_per_point
def _pauli_terms(p):
    """:func:`pauli_terms` as a read-only tuple."""
    out = []
    for sites, S in local_terms(p):
        R = pauli_superoperator(S, len(sites))
        if np.any(R != 0):
            out.append((sites, R))
    return frozen(out)


class PauliBasis:
    """A basis of Pauli words: the full space or a sector (``inner``, from
    :func:`lindring.core.basis.make_basis`), with the Pauli trace functional
    ``Tr rho = 2^(L/2) x_(1...1)``. Everything else is ``inner``'s (module docstring)."""
    operator_basis = NAME

    def __init__(self, inner):
        self.inner = inner
        self.L, self.size, self.name = inner.L, inner.size, inner.name

    def words(self, index):
        return self.inner.words(index)

    def locate(self, words):
        return self.inner.locate(words)

    def row_scale(self, index):
        return self.inner.row_scale(index)

    def expand(self, index, values):
        return self.inner.expand(index, values)

    def trace_support(self) -> tuple[np.ndarray, np.ndarray]:
        """The basis index of the identity string and its trace weight ``2^(L/2) <index|0>``."""
        idx, coef = self.inner.locate(np.zeros(1, dtype=np.int64))
        return idx, 2.0 ** (self.L / 2) * coef


@functools.lru_cache(maxsize=4)
def pauli_products(k: int) -> np.ndarray:
    """The ``4^k`` Pauli strings on ``k`` sites as matrices, shape ``(4^k, 2^k, 2^k)``, in
    letter order (the first site most significant); read-only."""
    ops = np.ones((1, 1, 1), dtype=complex)
    for _ in range(k):
        ops = np.einsum("aij,bkl->abikjl", ops, PAULI).reshape(
            ops.shape[0] * 4, ops.shape[1] * 2, ops.shape[2] * 2)
    ops.setflags(write=False)
    return ops


def site_words(sites: tuple[int, ...], L: int) -> np.ndarray:
    """The ``4^k`` Pauli words that act on ``sites`` only (identity elsewhere), in the order of
    the letters on ``sites`` (``sites[0]`` most significant)."""
    w = np.zeros(1, dtype=np.int64)
    for s in sites:
        w = (w[:, None] + np.arange(4)[None, :] * 4 ** (L - 1 - s)).reshape(-1)
    return w


class PauliState:
    """A steady state given by its components in a Pauli basis, with the interface of
    :class:`lindring.core.observables.LocalState` (``reduced``, ``expectation``, ``trace``,
    ``norm2``) for :func:`lindring.core.observables.steady_observables`.

    Parameters
    ----------
    basis : PauliBasis
    fetch : callable
        ``fetch(index) -> values``: the components at the basis indices ``index`` (collective:
        every rank calls it with the same indices, in the same order).
    norm2 : float
        ``sum |x|^2`` of the whole vector (``Tr rho^2``: the basis is orthonormal).
    """

    def __init__(self, basis, fetch, norm2: float):
        self.basis, self.fetch, self.L, self._norm2 = basis, fetch, basis.L, float(norm2)

    def components(self, words: np.ndarray) -> np.ndarray:
        """Full-space Pauli components ``x_w`` of ``words``: ``<index|w> x[index]``."""
        idx, coef = self.basis.locate(words)
        return np.asarray(self.fetch(idx)) * coef

    def reduced(self, sites: tuple[int, ...]) -> np.ndarray:
        """Reduced density matrix of ``sites`` (basis ``|s_sites[0] s_sites[1] ...>``):
        ``rho_S = 2^(-k) sum_q <P_q> P_q`` over the ``4^k`` strings ``q`` on ``sites``."""
        return self.reduced_many([sites])[tuple(sites)]

    def reduced_many(self, sites_list) -> dict:
        """:meth:`reduced` of each tuple of sites in ``sites_list``, keyed by it, from one
        ``locate`` and one (collective) fetch of all their strings."""
        keys = list(dict.fromkeys(tuple(s) for s in sites_list))
        words = [site_words(s, self.L) for s in keys]
        expect = 2.0 ** (self.L / 2) * self.components(np.concatenate(words))
        out, start = {}, 0
        for sites, w in zip(keys, words):
            k = len(sites)
            out[sites] = np.tensordot(expect[start:start + len(w)], pauli_products(k),
                                      axes=1) / 2 ** k
            start += len(w)
        return out

    def expectation(self, sites: tuple[int, ...], op: np.ndarray) -> complex:
        """``Tr(O rho)`` for an operator on ``sites`` (matrix in the basis ``|s_sites...>``)."""
        return complex(np.trace(op @ self.reduced(sites)))

    def trace(self) -> complex:
        return complex(2.0 ** (self.L / 2) * self.components(np.zeros(1, np.int64))[0])

    def norm2(self) -> float:
        return self._norm2


def density_matrix(x: np.ndarray, L: int) -> np.ndarray:
    """The ``2^L x 2^L`` density matrix ``2^(-L/2) sum_w x_w P_w`` of a full-space Pauli vector
    ``x`` (length ``4^L``; small L only), one site at a time."""
    T = np.asarray(x, dtype=complex).reshape((4,) * L) / 2.0 ** (L / 2)
    for _ in range(L):
        # contract the leading Pauli letter; its (ket, bra) pair goes to the end
        T = np.tensordot(T, PAULI, axes=([0], [0]))
    # axes now (k_0, b_0, k_1, b_1, ...)
    T = T.transpose([2 * j for j in range(L)] + [2 * j + 1 for j in range(L)])
    return T.reshape(2 ** L, 2 ** L)

"""Bases of operator space: how a density matrix becomes a vector.

**The vectorisation convention (the one place it is fixed).** An operator on L spin-1/2 sites is a
vector over *words* of L letters, one letter per site: ``a_j = 2 k_j + b_j`` with ``k_j`` the ket bit
and ``b_j`` the bra bit of site j (0 = down/empty, 1 = up). The word index is
``w = sum_j a_j 4^(L-1-j)`` (site 0 most significant), so ``x[w] = rho[k, b]`` with
``k = sum_j k_j 2^(L-1-j)`` and likewise ``b``. With letters per site, the Liouvillian is a sum of
one- and two-site terms of a chain with local dimension 4 (the same local space as the MPO), and a
one-site superoperator ``rho -> A rho B`` is the 4x4 matrix ``kron(A, B.T)`` on the letter.
:func:`rowmajor_to_words` converts to and from the row-major ``vec(rho)[k 2^L + b]``.

A basis object answers three questions for the code that assembles and measures: which word each
basis vector is (``words``), where a word lands in the basis (``locate``: index and coefficient),
and how big the space is (``size``). :class:`FullBasis` is the whole space, word = index.
Symmetry sectors (parity, momentum) are further implementations of the same small interface.
"""
from __future__ import annotations

import numpy as np

#: letters of a diagonal element (k_j == b_j): 0 = |0><0|, 3 = |1><1|
DIAGONAL_LETTERS = (0, 3)


def letter(words: np.ndarray, site: int, L: int) -> np.ndarray:
    """The letter (2 ket + bra) of ``site`` in each word."""
    return (words // (4 ** (L - 1 - site))) % 4


def transpose_words(words: np.ndarray, L: int) -> np.ndarray:
    """Word of the transposed operator (swap ket and bra bits: letters 1 <-> 2 on every site)."""
    out = np.array(words, dtype=np.int64, copy=True)
    for site in range(L):
        p = 4 ** (L - 1 - site)
        a = (words // p) % 4
        out += np.where(a == 1, p, 0) - np.where(a == 2, p, 0)
    return out


def is_diagonal(words: np.ndarray, L: int) -> np.ndarray:
    """True where the word is a diagonal matrix element (ket == bra on every site)."""
    ok = np.ones(np.shape(words), dtype=bool)
    for site in range(L):
        a = letter(words, site, L)
        ok &= (a == 0) | (a == 3)
    return ok


def diagonal_words(L: int) -> np.ndarray:
    """Words of the 2^L diagonal elements |s><s| (in order of s)."""
    s = np.arange(2 ** L, dtype=np.int64)
    w = np.zeros_like(s)
    for site in range(L):
        bit = (s >> (L - 1 - site)) & 1
        w += 3 * bit * 4 ** (L - 1 - site)
    return w


def rowmajor_to_words(L: int) -> np.ndarray:
    """Permutation ``perm`` with ``x_words = vec_rowmajor[perm]`` (for small-L checks only)."""
    w = np.arange(4 ** L, dtype=np.int64)
    k = np.zeros_like(w)
    b = np.zeros_like(w)
    for site in range(L):
        a = letter(w, site, L)
        k = 2 * k + a // 2
        b = 2 * b + a % 2
    return k * 2 ** L + b


class FullBasis:
    """The whole operator space: 4^L words, basis index = word."""
    name = "none"

    def __init__(self, L: int):
        self.L = L
        self.size = 4 ** L

    def words(self, index: np.ndarray) -> np.ndarray:
        return np.asarray(index, dtype=np.int64)

    def locate(self, words: np.ndarray):
        """Basis index and coefficient of each word (coefficient 0 means: not in this basis)."""
        words = np.asarray(words, dtype=np.int64)
        return words, np.ones(words.shape)

    def trace_weights(self, index: np.ndarray) -> np.ndarray:
        """w with ``Tr rho = sum_i w_i x_i``."""
        return is_diagonal(self.words(index), self.L).astype(float)

    def trace_support(self) -> tuple[np.ndarray, np.ndarray]:
        """All basis indices with nonzero trace weight, and the weights (2^L of them)."""
        w = diagonal_words(self.L)
        return w, np.ones(w.shape)


def make_basis(L: int, symmetry: str = "none") -> FullBasis:
    """The operator-space basis for a symmetry choice (only ``none`` so far)."""
    if symmetry in ("none", "auto"):
        return FullBasis(L)
    raise ValueError(f"symmetry {symmetry!r} is not available yet; use 'none'")

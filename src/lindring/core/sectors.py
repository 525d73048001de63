"""Every symmetry sector of the Liouvillian, each with its quantum numbers: for the spectrum.

The steady state lives in one sector (parity-even, momentum zero, reflection-even:
:mod:`lindring.core.basis`); the slowest relaxation mode, whose rate is the Liouvillian gap, may
live in any other (L = 4 ring, alpha 2, delta 1.5: 0.156 in the steady state's sector, 0.068 in
the full space). This module gives a basis of every sector, labelled by :class:`SectorLabel`:

* **parity** ``P rho P = p rho`` with ``p = +-1`` (the sign of a word: ``(-1)`` to the number of
  its letters 1, 2, in Pauli and matrix-unit letters alike); ``0`` where the model has no parity;
* **momentum** ``k = 2 pi m / L``, ``m = 0 .. floor(L/2)`` (rings): the sector of ``m`` and
  that of ``-m`` have complex-conjugate spectra (L is real in the Pauli basis), so one ``m``
  stands for the pair ``+-k``;
* **reflection** ``R rho R^+ = r rho``, ``r = +-1``, where the model has it and, on a ring, only at
  ``k = 0`` and ``k = pi`` (elsewhere R maps ``k`` to ``-k`` and splits nothing new); ``0``: not
  split.

**Basis of a sector.** For a group G of site permutations (translations, and the reflection)
with a one-dimensional character chi (``chi(T^j) = exp(2 pi i m j / L)``, ``chi(T^j R) = r
chi(T^j)``), each orbit O of words whose stabiliser has a trivial character gives one basis
vector ``|O> = n_O^(-1/2) sum_{w in O} chi(h_w) |w>`` (``w = h_w r_O``, ``r_O`` the smallest word
of O, ``n_O`` the number of words of O); an orbit whose stabiliser has a nontrivial character has
no vector in the sector. Where L commutes with G, its matrix element is
``<O'|L|O> = sqrt(n_O') sum_w L[r_O', w] <w|O>``, ``<w|O> = chi(h_w) / sqrt(n_O)``: the interface
of :class:`lindring.core.basis.SectorBasis` (``words``, ``locate``, ``row_scale``), so
:func:`lindring.core.terms.rows_block` builds its rows unchanged. (The steady state's sector is
the trivial character: ``SectorBasis`` itself.)

**Real arithmetic.** For ``0 < k < pi`` the coefficients are complex. The span of the sectors k and
-k is a real invariant subspace of the real Pauli Liouvillian (the cos and sin combinations of the
translated strings); in the coordinates ``z = x + i y`` of the sector k, ``M = A + i B`` acts on
``(x, y)`` as the real matrix ``[[A, -B], [B, A]]`` (:class:`RealForm`), whose eigenvalues are those
of M and their conjugates: the union of the k and -k sectors, found in the real PETSc build.
Sectors at ``k = 0, pi`` and without momentum have real coefficients already.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import scipy.sparse as sp

from lindring.core.basis import (LOCATE_BLOCK, _rotate_by, parity_odd, reflect,
                                 symmetries_of)


@dataclasses.dataclass(frozen=True)
class SectorLabel:
    """The quantum numbers of a sector: ``parity`` and ``reflection`` +1, -1 or 0 (not split),
    ``momentum`` the integer m of ``k = 2 pi m / L`` (standing for +-k), or None (no translation
    symmetry: an open chain)."""
    parity: int = 0
    momentum: int | None = None
    reflection: int = 0

    def k(self, L: int) -> float:
        """|k| = 2 pi m / L in radians per site (NaN without momentum)."""
        return float("nan") if self.momentum is None else 2 * np.pi * self.momentum / L

    def describe(self, L: int) -> str:
        """The sector in words, e.g. ``parity odd, k = +-2pi*1/4, reflection not split``."""
        sign = {1: "even", -1: "odd"}
        if not self.parity and self.momentum is None and not self.reflection:
            return "the full operator space"
        parts = [f"parity {sign[self.parity]}" if self.parity else "parity not split"]
        if self.momentum is not None:
            m = self.momentum
            parts.append("k = 0" if m == 0 else "k = pi" if 2 * m == L
                         else f"k = +-2pi*{m}/{L}")
        parts.append(f"reflection {sign[self.reflection]}" if self.reflection
                     else "reflection not split")
        return ", ".join(parts)

    def is_complex(self, L: int) -> bool:
        """Whether the sector's coefficients are complex (``0 < k < pi``)."""
        return self.momentum is not None and (2 * self.momentum) % L != 0


def sector_labels(p) -> list[SectorLabel]:
    """Every sector of the Liouvillian of ``p`` by the symmetries it has
    (:func:`lindring.core.basis.symmetries_of`, never assumed), steady state's sector first.
    Together their bases span the whole operator space (each ``0 < k < pi`` sector with its -k)."""
    has = symmetries_of(p)
    parities = (1, -1) if has["parity"] else (0,)
    momenta = range(p.L // 2 + 1) if has["momentum"] else (None,)
    out = []
    for parity in parities:
        for m in momenta:
            split = has["reflection"] and (m is None or (2 * m) % p.L == 0)
            for r in ((1, -1) if split else (0,)):
                out.append(SectorLabel(parity, m, r))
    return out


class CharacterBasis:
    """The basis of one sector (:class:`SectorLabel`) of operators on ``L`` sites with boundary
    ``bc``: the interface of :class:`lindring.core.basis.SectorBasis` (module docstring), with
    complex coefficients where ``0 < k < pi``. Pauli words (``operator_basis``); the
    representatives are enumerated by each rank on a slice of the words, then an allgather."""
    operator_basis = "pauli"
    orbits = True

    def __init__(self, L: int, bc: str, label: SectorLabel, comm=None, chunk: int = 1 << 18):
        self.L, self.bc, self.label = L, bc, label
        self.name = label.describe(L)
        self._lookup = None
        m = label.momentum
        shifts = range(L) if m is not None else (0,)
        if m is None:
            tchar = np.ones(1)
        elif (2 * m) % L == 0:       # k = 0 or pi: exactly +-1
            tchar = np.where((2 * m // L) * np.arange(L) % 2 == 1, -1.0, 1.0)
        else:
            tchar = np.exp(2j * np.pi * m * np.arange(L) / L)
        # the group's elements g (as functions on words) and chi(g): T^j, then T^j R
        self._elements = [lambda w, j=j: _rotate_by(w, j, L) if j else np.asarray(w, np.int64)
                          for j in shifts]
        chars = list(tchar)
        if label.reflection:
            self._elements += [lambda w, j=j: _rotate_by(reflect(w, L, bc), j, L) if j
                               else reflect(w, L, bc) for j in shifts]
            chars += [label.reflection * c for c in tchar]
        self.chars = np.array(chars)
        self.reps, self.orbit = self._representatives(comm, chunk)
        self.size = len(self.reps)

    def _images(self, w: np.ndarray) -> np.ndarray:
        """``g w`` for every element g of the group: (words, group size)."""
        return np.stack([g(w) for g in self._elements], axis=1)

    def _in_parity(self, w: np.ndarray) -> np.ndarray:
        if not self.label.parity:
            return np.ones(len(w), dtype=bool)
        return parity_odd(w) == (0 if self.label.parity == 1 else 1)

    def _representatives(self, comm, chunk):
        """Sorted representatives (smallest word of each orbit whose stabiliser has a trivial
        character) and their orbit sizes |G| / |stabiliser|."""
        N = 4 ** self.L
        rank, nranks = (comm.Get_rank(), comm.Get_size()) if comm is not None else (0, 1)
        lo, hi = N * rank // nranks, N * (rank + 1) // nranks
        reps, sizes = [], []
        for c0 in range(lo, hi, chunk):
            w = np.arange(c0, min(c0 + chunk, hi), dtype=np.int64)
            w = w[self._in_parity(w)]
            for g in self._elements[1:]:         # smallest of its orbit (most fall early)
                w = w[w <= g(w)]
            fixed = self._images(w) == w[:, None]            # the stabiliser of each
            trivial = np.all(np.where(fixed, np.abs(self.chars - 1) < 1e-9, True), axis=1)
            reps.append(w[trivial])
            sizes.append(len(self.chars) // fixed[trivial].sum(axis=1))
        reps = np.concatenate(reps) if reps else np.zeros(0, np.int64)
        sizes = np.concatenate(sizes).astype(np.int64) if sizes else np.zeros(0, np.int64)
        if comm is not None and nranks > 1:
            reps = np.concatenate(comm.allgather(reps))
            sizes = np.concatenate(comm.allgather(sizes))
        return reps, sizes

    def words(self, index: np.ndarray) -> np.ndarray:
        """The representative word of each basis vector."""
        return self.reps[np.asarray(index, dtype=np.int64)]

    def row_scale(self, index: np.ndarray) -> np.ndarray:
        """``sqrt(n_O')`` of each row (module docstring)."""
        return np.sqrt(self.orbit[np.asarray(index, dtype=np.int64)])

    def locate(self, words: np.ndarray):
        """Basis index and coefficient ``<index|w> = chi(h_w) / sqrt(n_O)`` of each word (0:
        outside the sector), by the table of :meth:`build_lookup` where it is built, else from
        the words' images (blocks of ``LOCATE_BLOCK``)."""
        words = np.asarray(words, dtype=np.int64)
        if self._lookup is not None:
            table, element = self._lookup
            idx = table[words]
            inside = idx >= 0
            idx = np.where(inside, idx, 0).astype(np.int64)
            coef = self.chars[element[words]] / np.sqrt(self.orbit[idx])
            return idx, np.where(inside, coef, 0)
        if len(words) > LOCATE_BLOCK:
            idx = np.empty(len(words), np.int64)
            coef = np.empty(len(words), self.chars.dtype)
            for b in range(0, len(words), LOCATE_BLOCK):
                idx[b:b + LOCATE_BLOCK], coef[b:b + LOCATE_BLOCK] = \
                    self.locate(words[b:b + LOCATE_BLOCK])
            return idx, coef
        images = self._images(words)
        g = np.argmin(images, axis=1)                 # g w = r: w = g^-1 r, chi(h_w) = conj
        rep = images[np.arange(len(words)), g]
        idx = np.minimum(np.searchsorted(self.reps, rep), max(self.size - 1, 0))
        inside = self._in_parity(words) & (self.size > 0)
        if self.size:
            inside &= self.reps[idx] == rep
        coef = np.conj(self.chars[g]) / np.sqrt(self.orbit[idx] if self.size else 1)
        return np.where(inside, idx, 0), np.where(inside, coef, 0)

    def build_lookup(self) -> None:
        """A table of every word's basis index (-1 outside the sector) and of the element g with
        ``w = g r`` (coefficient ``chi(g) / sqrt(n)``), 5 bytes a word, from the images of the
        representatives; for :func:`lindring.core.basis.lookup_table` (the assembly)."""
        table = np.full(4 ** self.L, -1, dtype=np.int32)
        element = np.zeros(4 ** self.L, dtype=np.uint8)
        index = np.arange(self.size, dtype=np.int32)
        for b in range(0, self.size, 1 << 20):
            reps, idx = self.reps[b:b + (1 << 20)], index[b:b + (1 << 20)]
            for e in range(len(self._elements) - 1, -1, -1):   # the identity written last
                w = self._elements[e](reps)
                table[w], element[w] = idx, e
        self._lookup = (table, element)


@functools.lru_cache(maxsize=128)
def sector_projector(L: int, bc: str, label: SectorLabel) -> sp.csr_matrix:
    """The basis of the sector ``label`` as the rows of a sparse matrix ``C``, shape
    ``(sector size, 4^L)``, ``C[i, w] = conj(<w|O_i>)`` (module docstring: ``<w|O> =
    chi(h_w) / sqrt(n_O)``), so that the sector's block of a full-space matrix ``M`` (Pauli
    words) is ``C M C^+`` and ``C C^+ = 1``. Built once for each ``(L, bc, label)`` (read-only,
    shared). Every element g of the group maps a representative r to ``g r`` with ``chi(g)``;
    the ``|G| / n_O`` elements of the stabiliser give the same word with the same character
    (trivial on the stabiliser), so ``chi(g) sqrt(n_O) / |G|`` summed over them is
    ``chi(h_w) / sqrt(n_O)``."""
    basis = CharacterBasis(L, bc, label)
    group = len(basis.chars)
    rows = np.repeat(np.arange(basis.size, dtype=np.int64), group)
    cols = np.stack([g(basis.reps) for g in basis._elements], axis=1).ravel() if basis.size \
        else np.zeros(0, np.int64)
    vals = (basis.chars[None, :] * np.sqrt(basis.orbit)[:, None] / group).ravel()
    C = sp.coo_matrix((np.conj(vals), (rows, cols)), shape=(basis.size, 4 ** L)).tocsr()
    C.sum_duplicates()
    C.data.setflags(write=False)
    return C


class RealForm:
    """A complex sector (``0 < k < pi``, :class:`CharacterBasis`) as the real invariant subspace
    of the sectors k and -k: the matrix ``M = A + i B`` of the sector as ``[[A, -B], [B, A]]`` on
    ``(x, y)``, ``z = x + i y``, rows and columns interleaved (``2 i``: x_i, ``2 i + 1``: y_i),
    so a rank's rows are near its own columns. Its eigenvalues are those of M and of conj(M).
    Gives :func:`lindring.solvers.liouvillian.assemble` its rows (``rows_block``) and a bound of
    their entries (``nonzero_bound``)."""
    operator_basis = "pauli"

    def __init__(self, inner: CharacterBasis):
        self.inner, self.L, self.size = inner, inner.L, 2 * inner.size
        self.name = inner.name + " (real form of +-k)"

    def words(self, index):
        return self.inner.words(np.asarray(index, dtype=np.int64) // 2)

    def rows_block(self, p, rows: np.ndarray, terms) -> sp.csr_matrix:
        """Real rows ``rows`` of ``[[A, -B], [B, A]]`` (interleaved), all columns."""
        from lindring.core.terms import rows_block
        rows = np.asarray(rows, dtype=np.int64)
        uniq, inv = np.unique(rows // 2, return_inverse=True)
        M = rows_block(p, self.inner, uniq, terms)[inv].tocoo()
        imag_row = (rows % 2 == 1)[M.row]
        re, im = M.data.real, M.data.imag
        r = np.concatenate([M.row, M.row])
        c = np.concatenate([2 * M.col, 2 * M.col + 1])
        v = np.concatenate([np.where(imag_row, im, re), np.where(imag_row, re, -im)])
        block = sp.coo_matrix((v, (r, c)), shape=(len(rows), self.size)).tocsr()
        block.sum_duplicates()
        block.eliminate_zeros()
        return block

    def nonzero_bound(self, rows: np.ndarray, terms) -> np.ndarray:
        """Twice the bound of the complex row (:func:`lindring.core.terms.nonzero_bound`)."""
        from lindring.core.terms import nonzero_bound
        return 2 * nonzero_bound(self.inner, np.asarray(rows, dtype=np.int64) // 2, terms,
                                 self.L)


class MirrorRealForm:
    """A complex sector (``0 < k < pi``) of a reflection-symmetric model as a real matrix of the
    sector's own size, with the sector's eigenvalues only (no doubling, unlike :class:`RealForm`).

    The antiunitary ``C = R K`` (the reflection R after complex conjugation K of the Pauli
    components) commutes with L (L is real and commutes with R) and maps the sector k to itself
    (R maps k to -k, K maps -k back to k), with ``C^2 = 1``. In a basis of vectors fixed by C
    every matrix element ``<e|L|e'>`` is real. On the orbit vectors ``|a>`` of the sector,
    ``C|a> = phi_a |b>`` with ``b`` the orbit of ``R r_a = T^s r_b`` and ``phi_a = w^-s``
    (``w = exp(2 pi i m / L)``); the fixed vectors are ``(|a> + phi_a |b>) / sqrt 2`` and
    ``i (|a> - phi_a |b>) / sqrt 2`` (at the places a < b) where b != a, ``sqrt(phi_a) |a>``
    where b = a: the columns of a unitary S, and the matrix is ``S^+ M S``. Rows and a bound of
    their entries for :func:`lindring.solvers.liouvillian.assemble`, like :class:`RealForm`."""
    operator_basis = "pauli"

    def __init__(self, inner: CharacterBasis):
        self.inner, self.L, self.size = inner, inner.L, inner.size
        self.name = inner.name + " (real by the reflection)"
        n = inner.size
        r = reflect(inner.reps, inner.L, inner.bc)
        b, coef = inner.locate(r)
        if np.any(coef == 0):
            raise ValueError("the reflection does not map the sector onto itself")
        phi = np.conj(coef * np.sqrt(inner.orbit[b]))        # C|a> = phi_a |b>
        a = np.arange(n)
        low, high, self_ = a < b, a > b, a == b
        s2 = 1 / np.sqrt(2)
        # each index writes its own column: a < b the column (|a> + phi_a |b>)/sqrt2, a > b
        # (the pair's second) the column i (|b> - phi_b |a>)/sqrt2, a = b sqrt(phi_a) |a>
        rows = [a[low], b[low], b[high], a[high], a[self_]]
        cols = [a[low], a[low], a[high], a[high], a[self_]]
        vals = [np.full(low.sum(), s2 + 0j), phi[low] * s2,
                np.full(high.sum(), 1j * s2), -1j * phi[b[high]] * s2, np.sqrt(phi[self_])]
        self.S = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                               shape=(n, n))
        self.SH = self.S.conj().T.tocsr()

    def words(self, index):
        return self.inner.words(index)

    def rows_block(self, p, rows: np.ndarray, terms) -> sp.csr_matrix:
        """Rows ``rows`` of ``S^+ M S`` (real), all columns.

        Raises
        ------
        ValueError
            If an entry has an imaginary part above rounding (the model is not reflection
            symmetric, or the sector's phases are wrong): never silently dropped."""
        from lindring.core.terms import rows_block
        rows = np.asarray(rows, dtype=np.int64)
        SH = self.SH[rows]
        needed = np.unique(SH.indices)
        M = rows_block(p, self.inner, needed, terms)
        block = (SH[:, needed] @ M @ self.S).tocsr()
        big = float(np.abs(block.data).max()) if block.nnz else 0.0
        noise = 64 * np.finfo(float).eps * max(big, 1e-300)
        if np.abs(block.data.imag).max(initial=0.0) > noise * 1e3:
            raise ValueError("the sector's matrix is not real in the reflection's basis "
                             f"(imaginary part {np.abs(block.data.imag).max():.3e} of {big:.3e})")
        block = sp.csr_matrix((np.where(np.abs(block.data) > noise, block.data.real, 0.0),
                               block.indices, block.indptr), shape=block.shape)
        block.eliminate_zeros()
        return block

    def nonzero_bound(self, rows: np.ndarray, terms) -> np.ndarray:
        """Twice the bounds of the (one or two) complex rows each row combines."""
        from lindring.core.terms import nonzero_bound
        SH = self.SH[np.asarray(rows, dtype=np.int64)]
        bound = nonzero_bound(self.inner, SH.indices.astype(np.int64), terms, self.L)
        return 2 * np.add.reduceat(bound, SH.indptr[:-1]) + 1

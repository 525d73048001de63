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
Symmetry sectors are further implementations of the same small interface (:class:`SectorBasis`):

* **parity**: every jump operator flips one spin and every Hamiltonian term changes the number of
  up spins by 0 or 2 (unless ``eps_x != 0``), so the superoperator ``rho -> P rho P`` with
  ``P = prod_j sigma^z_j`` commutes with the Liouvillian. Its eigenvalue on a word is
  ``(-1)^(number of letters 1 or 2)`` (ket and bra differ on that site); trace-one states, and so a
  unique steady state, live in the even sector: half the words.
* **momentum** (rings): translation ``rho -> T rho T^+`` shifts the letters cyclically and commutes
  with the Liouvillian; a unique steady state is translation invariant, so it lives at momentum
  zero. Its basis vectors are the normalised orbit sums ``|R> = n_R^(-1/2) sum_{w in orbit(R)} |w>``
  with the smallest word of the orbit as representative ``R`` and ``n_R`` the orbit size.

The sector bases are orthonormal (an isometric embedding into the full space), so norms, residuals
and purities computed in a sector are those of the full space.
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

    def trace_support(self) -> tuple[np.ndarray, np.ndarray]:
        """All basis indices with nonzero trace weight, and the weights (2^L of them)."""
        w = diagonal_words(self.L)
        return w, np.ones(w.shape)

    def row_scale(self, index: np.ndarray) -> np.ndarray:
        """Factor applied to each assembled row (1 here; see SectorBasis.row_scale)."""
        return np.ones(np.shape(index))

    def expand(self, index: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Full-space words and values of the components at ``index`` (the identity here)."""
        return self.words(index), np.asarray(values)


def rotate(words: np.ndarray, L: int) -> np.ndarray:
    """Words translated by one site: the letter of site j moves to site j - 1 (mod L)."""
    top = 4 ** (L - 1)
    return (words % top) * 4 + words // top


def odd_letters(words: np.ndarray, L: int) -> np.ndarray:
    """Number of sites whose ket and bra bits differ (letters 1, 2): the parity of ``P rho P``."""
    n = np.zeros(np.shape(words), dtype=np.int64)
    for site in range(L):
        a = letter(words, site, L)
        n += (a == 1) | (a == 2)
    return n


def representative(words: np.ndarray, L: int) -> np.ndarray:
    """The smallest word of each word's translation orbit (the basis label of momentum sectors)."""
    rep = np.array(words, dtype=np.int64, copy=True)
    r = rep.copy()
    for _ in range(L - 1):
        r = rotate(r, L)
        np.minimum(rep, r, out=rep)
    return rep


def orbit_size(words: np.ndarray, L: int) -> np.ndarray:
    """Size of each word's translation orbit: the smallest m > 0 with T^m w = w (it divides L)."""
    w = np.asarray(words, dtype=np.int64)
    size = np.full(w.shape, L, dtype=np.int64)
    r = w
    for m in range(1, L):
        r = rotate(r, L)
        size = np.where((r == w) & (size == L), m, size)
    return size


def momentum_sector_size(L: int, parity: bool = True) -> int:
    """Number of translation orbits of words of L letters (even ones with ``parity``), by Burnside:
    rotation by m fixes the 4^g words of period g = gcd(m, L); of these, all are even when L/g is
    even, half when L/g is odd."""
    from math import gcd
    total = 0
    for m in range(L):
        g = gcd(m, L)
        fixed = 4 ** g
        if parity and (L // g) % 2 == 1:
            fixed //= 2
        total += fixed
    return total // L


class SectorBasis:
    """Parity-even sector (``parity``) and/or momentum-zero orbits on a ring (``momentum``).

    ``parity`` alone has a closed-form index: of the words with the same first L - 1 letters, the
    even ones have last letter 0 or 3 (even prefix) or 1 or 2 (odd prefix); ``index = 2 (w // 4) +
    last // 2``. With ``momentum``, the representatives are enumerated once (each rank a slice of
    the words, then an allgather) and located by binary search.
    """

    def __init__(self, L: int, parity: bool, momentum: bool, comm=None, chunk: int = 1 << 20):
        if not (parity or momentum):
            raise ValueError("a SectorBasis needs parity or momentum; use FullBasis")
        self.L, self.parity, self.momentum = L, parity, momentum
        self.name = "+".join(n for n, on in (("parity", parity), ("momentum", momentum)) if on)
        if momentum:
            self.reps, self.orbit = self._representatives(comm, chunk)
            self.size = len(self.reps)
        else:
            self.size = 4 ** L // 2

    def _representatives(self, comm, chunk):
        L = self.L
        N = 4 ** L
        rank, nranks = (comm.Get_rank(), comm.Get_size()) if comm is not None else (0, 1)
        lo, hi = N * rank // nranks, N * (rank + 1) // nranks
        reps, sizes = [], []
        for c0 in range(lo, hi, chunk):
            w = np.arange(c0, min(c0 + chunk, hi), dtype=np.int64)
            if self.parity:
                w = w[odd_letters(w, L) % 2 == 0]
            w = w[representative(w, L) == w]
            reps.append(w)
            sizes.append(orbit_size(w, L))
        reps = np.concatenate(reps) if reps else np.zeros(0, np.int64)
        sizes = np.concatenate(sizes) if sizes else np.zeros(0, np.int64)
        if comm is not None and nranks > 1:
            reps = np.concatenate(comm.allgather(reps))
            sizes = np.concatenate(comm.allgather(sizes))
        return reps, sizes

    def words(self, index: np.ndarray) -> np.ndarray:
        """Word of each basis vector (the orbit representative with ``momentum``)."""
        index = np.asarray(index, dtype=np.int64)
        if self.momentum:
            return self.reps[index]
        prefix, s = index // 2, index % 2
        even = odd_letters(prefix, self.L - 1) % 2 == 0 if self.L > 1 else np.ones(index.shape, bool)
        last = np.where(even, 3 * s, 1 + s)
        return 4 * prefix + last

    def locate(self, words: np.ndarray):
        """Basis index and coefficient ``<index|w>`` of each word (0: outside the sector)."""
        words = np.asarray(words, dtype=np.int64)
        inside = np.ones(words.shape, dtype=bool)
        if self.parity:
            inside = odd_letters(words, self.L) % 2 == 0
        if not self.momentum:
            return np.where(inside, 2 * (words // 4) + (words % 4) // 2, 0), inside.astype(float)
        rep = representative(words, self.L)
        idx = np.minimum(np.searchsorted(self.reps, rep), self.size - 1)
        inside &= self.reps[idx] == rep
        return np.where(inside, idx, 0), np.where(inside, 1.0 / np.sqrt(self.orbit[idx]), 0.0)

    def row_scale(self, index: np.ndarray) -> np.ndarray:
        """Factor of each row of the sector Liouvillian built from its representative's full row:
        ``<R'|L|R> = sqrt(n_R') sum_{w in R} n_R^(-1/2) L[r', w]`` (L commutes with T)."""
        if not self.momentum:
            return np.ones(np.shape(index))
        return np.sqrt(self.orbit[np.asarray(index, dtype=np.int64)])

    def trace_support(self) -> tuple[np.ndarray, np.ndarray]:
        """All basis indices with nonzero trace weight, and the weights."""
        idx, coef = self.locate(diagonal_words(self.L))
        idx, first = np.unique(idx, return_index=True)
        return idx, 1.0 / coef[first]

    def expand(self, index: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The full-space words and values of the vector whose sector components at ``index``
        are ``values`` (for observables: every member of each orbit gets ``x_R / sqrt(n_R)``)."""
        index = np.asarray(index, dtype=np.int64)
        values = np.asarray(values)
        if not self.momentum:
            return self.words(index), values
        reps, n = self.reps[index], self.orbit[index]
        amp = values / np.sqrt(n)
        words, vals = [], []
        r = reps
        for m in range(self.L):
            keep = n > m
            words.append(r[keep])
            vals.append(amp[keep])
            r = rotate(r, self.L)
        return np.concatenate(words), np.concatenate(vals)


#: the names accepted by ``--symmetry``
SYMMETRIES = ("auto", "none", "parity", "momentum", "parity+momentum")


def symmetries_of(p) -> tuple[bool, bool]:
    """(parity, momentum): which of the two symmetries the model ``p`` (model.Params) has.

    Parity holds unless ``eps_x != 0`` (the only term that flips a spin on one side of rho);
    momentum on rings of L >= 3 (all couplings are uniform, the flux included). A model-file
    point (:class:`lindring.core.modelfile.ModelPoint`) checks its terms' superoperators.
    """
    if hasattr(p, "symmetries"):
        return p.symmetries()
    return p.eps_x == 0, p.bc == "ring" and p.L >= 3


def resolve_symmetry(p, requested: str = "auto") -> str:
    """The sector name for a request, or a ValueError naming the symmetry that does not hold."""
    if requested not in SYMMETRIES:
        raise ValueError(f"unknown symmetry {requested!r}; choose one of {', '.join(SYMMETRIES)}")
    has_parity, has_momentum = symmetries_of(p)
    if requested == "auto":
        parts = [n for n, ok in (("parity", has_parity), ("momentum", has_momentum)) if ok]
        return "+".join(parts) or "none"
    if "parity" in requested and not has_parity and hasattr(p, "broken_symmetry"):
        raise ValueError(f"symmetry {requested!r} does not hold: {p.broken_symmetry('parity')}; "
                         "use --symmetry " + ("momentum" if has_momentum else "none"))
    if "momentum" in requested and not has_momentum and hasattr(p, "broken_symmetry"):
        raise ValueError(f"symmetry {requested!r} does not hold: {p.broken_symmetry('momentum')}; "
                         "use --symmetry " + ("parity" if has_parity else "none"))
    if "parity" in requested and not has_parity:
        raise ValueError(f"symmetry {requested!r} does not hold: eps_x = {p.eps_x:g} breaks parity "
                         "(sigma^x flips one spin); use --symmetry "
                         + ("momentum" if has_momentum else "none"))
    if "momentum" in requested and not has_momentum:
        why = "an open chain has no translation symmetry" if p.bc != "ring" else \
            f"a ring of L = {p.L} < 3 sites is not handled with momentum"
        raise ValueError(f"symmetry {requested!r} does not hold: {why}; use --symmetry "
                         + ("parity" if has_parity else "none"))
    return requested


def make_basis(L: int, symmetry: str = "none", comm=None):
    """The operator-space basis for a resolved symmetry name (see :func:`resolve_symmetry`)."""
    if symmetry == "none":
        return FullBasis(L)
    if symmetry in ("parity", "momentum", "parity+momentum"):
        return SectorBasis(L, parity="parity" in symmetry, momentum="momentum" in symmetry,
                           comm=comm)
    raise ValueError(f"unknown symmetry {symmetry!r}; resolve it with resolve_symmetry first")

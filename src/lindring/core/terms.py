"""The Liouvillian of Eq. 11 as local superoperators, and its rows in any basis (numpy/scipy).

The Liouvillian is a sum of local superoperators (:func:`local_terms`): one-site terms
(``mu n + eps_x sigma^x`` and ``kappa D[sm]``) and two-site terms (the bond Hamiltonian and
``D[f_b]`` of Eq. 12). Each is a small matrix on the letters of its sites, in the matrix-unit
letters of :mod:`lindring.core.basis` or, transformed, in the Pauli letters of
:mod:`lindring.core.pauli`. :func:`rows_block` turns them into rows of the Liouvillian in a basis
(full space or a sector); the PETSc assembly (:mod:`lindring.solvers.liouvillian`) calls it
chunk by chunk on each rank.
"""
from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

from lindring.core import model
from lindring.core.basis import letter
from lindring.core.superoperator import superoperator


def local_terms(p: model.Params) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """The Liouvillian of Eq. 11 as a list of ``(sites, superoperator)``; terms on the same sites merged.

    A model-file point (:class:`lindring.core.modelfile.ModelPoint`) gives its own terms.
    """
    if hasattr(p, "local_terms"):
        return p.local_terms()
    return list(_params_terms(p))


def cacheable(p) -> bool:
    """Whether the terms of ``p`` may be kept: a :class:`model.Params` (frozen) whose values are
    all hashable (a numpy array given for a parameter is not)."""
    if not isinstance(p, model.Params):
        return False
    try:
        hash(p)
    except TypeError:
        return False
    return True


def frozen(terms) -> tuple[tuple[tuple[int, ...], np.ndarray], ...]:
    """``terms`` as a tuple whose matrices are read-only: what the caches of a point's terms
    hold (a caller that changed one in place would change every later point's)."""
    terms = tuple(terms)
    for _, S in terms:
        S.setflags(write=False)
    return terms


#: points whose terms are kept (a sweep's job builds them 4-6 times: the plan, the reflection
#: check, the assembly; 2.6 ms each at L = 4, a fifth of a whole point: benchmarks/README.md)
CACHED_POINTS = 8


def cached_per_point(function):
    """``function(p, ...)`` computed once for each of the last ``CACHED_POINTS`` points ``p``
    that are :func:`cacheable`, every time for the others (``__wrapped__``: uncached). What it
    returns is shared between callers: it must not be changed (:func:`frozen`)."""
    cached = functools.lru_cache(maxsize=CACHED_POINTS)(function)

    @functools.wraps(function)
    def per_point(p, *args, **kwargs):
        return (cached if cacheable(p) else function)(p, *args, **kwargs)

    return per_point


@cached_per_point
def _params_terms(p: model.Params):
    """:func:`local_terms` of a (frozen, hashable) :class:`model.Params`, computed once."""
    terms: dict[tuple[int, ...], np.ndarray] = {}

    def add(sites, S):
        terms[sites] = terms.get(sites, 0) + S

    one_site = superoperator(model.site_hamiltonian(p), model.site_jumps(p), 1)
    for j in range(p.L):
        add((j,), one_site)
    bond_H = superoperator(model.bond_hamiltonian(p), [], 2)
    for pair in p.hamiltonian_bonds():
        add(pair, bond_H)
    bond_D = superoperator(None, [model.bond_jump(p)], 2)
    for pair in p.dissipative_bonds():
        add(pair, bond_D)
    return frozen((sites, S) for sites, S in terms.items() if np.any(S != 0))


def rows_block(p: model.Params, basis, rows: np.ndarray, terms=None) -> sp.csr_matrix:
    """CSR block of the Liouvillian for the basis indices ``rows`` (all columns).

    Row ``r`` is the full-space row of its word, each column word ``w`` moved to its basis index
    with the coefficient ``<index|w>`` (``basis.locate``), times ``basis.row_scale`` (1 in the full
    space and the parity sector, ``sqrt(n_R)`` for momentum orbits; see :mod:`lindring.core.basis`).
    Vectorised over the rows: for each term, every row's nonzeros come from the row of the local
    superoperator at the row's letters on the term's sites (:func:`_term_entries`); one
    ``locate`` for all of them.
    """
    terms = local_terms(p) if terms is None else terms
    words = basis.words(rows)
    parts = [_term_entries(words, sites, S, p.L) for sites, S in terms]
    r = np.concatenate([e[0] for e in parts]) if parts else np.zeros(0, np.int64)
    w = np.concatenate([e[1] for e in parts]) if parts else np.zeros(0, np.int64)
    dtype = np.result_type(*[S for _, S in terms], np.float64)
    v = np.concatenate([e[2] for e in parts]) if parts else np.zeros(0, dtype)
    del parts
    col, coef = basis.locate(w)
    del w
    v = v * coef * basis.row_scale(rows)[r]
    keep = coef != 0
    if not keep.all():
        r, col, v = r[keep], col[keep], v[keep]
    block = sp.coo_matrix((v, (r, col)), shape=(len(rows), basis.size)).tocsr()
    block.sum_duplicates()
    block.eliminate_zeros()
    return block


def nonzero_bound(basis, rows: np.ndarray, terms, L: int) -> np.ndarray:
    """An upper bound of the stored entries of each row of :func:`rows_block` with its diagonal
    (the PETSc assembly stores every diagonal entry): one for the diagonal, and for each term the
    off-diagonal nonzeros of the local superoperator's row at the row's letters. Without
    ``locate``, so cheap; entries of two terms that land on the same column make it an
    overestimate (measured: 14-20 % at L = 8)."""
    words = basis.words(rows)
    bound = np.ones(len(words), dtype=np.int64)
    for sites, S in terms:
        pattern = np.zeros(len(words), dtype=np.int64)
        for s in sites:
            pattern = 4 * pattern + letter(words, s, L)
        off = (S != 0) & ~np.eye(len(S), dtype=bool)
        bound += off.sum(axis=1)[pattern]
    return bound


def _term_entries(words: np.ndarray, sites: tuple[int, ...], S: np.ndarray, L: int):
    """The nonzeros of the local superoperator ``S`` on ``sites`` in the rows of ``words``:
    ``(row position, column word, value)``, without a loop over rows or letters. The row of
    ``S`` is the pattern of the word's letters on ``sites`` (``sites[0]`` most significant), and
    each nonzero ``S[pattern, q]`` changes those letters to ``q``: the column word is the row's
    word plus the difference of the two patterns placed on the sites."""
    k = len(sites)
    pattern = np.zeros(len(words), dtype=np.int64)
    for s in sites:
        pattern = 4 * pattern + letter(words, s, L)
    Ssp = _CSR(S)
    # the word change of each (pattern, q): sum over the sites of (q_s - pattern_s) 4^(L-1-s)
    place = np.zeros((4 ** k, 4 ** k), dtype=np.int64)
    for j, s in enumerate(sites):
        digit = (np.arange(4 ** k) >> (2 * (k - 1 - j))) & 3
        place += (digit[None, :] - digit[:, None]) << (2 * (L - 1 - s))
    counts = np.diff(Ssp.indptr)[pattern]
    position = np.repeat(np.arange(len(words), dtype=np.int64), counts)
    first = np.repeat(Ssp.indptr[pattern] - np.cumsum(counts) + counts, counts)
    entry = first + np.arange(len(position), dtype=np.int64)
    q = Ssp.indices[entry]
    row_pattern = pattern[position]
    return position, words[position] + place[row_pattern, q], Ssp.data[entry]


class _CSR:
    """The nonzeros of a small dense matrix in compressed rows (``indptr``, ``indices``,
    ``data``), without scipy's format checks (0.1 ms each: a tenth of a small point's work,
    with a dozen terms per block)."""

    def __init__(self, S: np.ndarray):
        row, self.indices = np.nonzero(S)
        self.data = S[row, self.indices]
        self.indptr = np.zeros(len(S) + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=len(S)), out=self.indptr[1:])


def swap_sites(S: np.ndarray) -> np.ndarray:
    """A two-site superoperator (16 x 16, letters ``4 a_0 + a_1``) with its two sites exchanged."""
    T = S.reshape(4, 4, 4, 4)
    return T.transpose(1, 0, 3, 2).reshape(16, 16)


def _canonical(terms) -> dict:
    """Terms keyed by their sorted sites (a two-site term given as (b, a), b > a, is swapped);
    terms on the same sites summed."""
    out: dict[tuple[int, ...], np.ndarray] = {}
    for sites, S in terms:
        if len(sites) == 2 and sites[0] > sites[1]:
            sites, S = (sites[1], sites[0]), swap_sites(S)
        out[sites] = out.get(sites, 0) + S
    return out


@cached_per_point
def reflection_symmetric(p: model.Params, rtol: float = 1e-13) -> tuple[bool, str]:
    """Whether the reflection ``j -> -j (mod L)`` (ring) or ``j -> L - 1 - j`` (open chain)
    commutes with the Liouvillian of ``p``, decided from its local terms; and why not.

    Parameters
    ----------
    p : model.Params
    rtol : float
        Terms equal to within ``rtol`` times the largest matrix element count as equal.

    Returns
    -------
    (bool, str)
        ``True, ""`` when the symmetry holds, else ``False`` and a sentence naming the term.

    Notes
    -----
    The Liouvillian of Eq. 11 is the sum ``sum_t S_t`` of the local superoperators of
    :func:`local_terms` (one per site and per pair of sites). The reflection ``R`` permutes the
    sites, so ``R S_t R^+`` is the same matrix on the reflected sites (with its two site factors
    exchanged when the reflection reverses their order). If every reflected term equals the term
    of the model on the reflected sites, ``R L R^+ = sum_t R S_t R^+ = L``: the condition checked
    here is sufficient, exactly and for this L. (It is tested against the assembled Liouvillian
    in tests/integration/test_pauli.py.) It is not necessary (a one-site part could move
    between bonds), so a model refused here may still be symmetric; it is then solved without the
    reflection. Examples: the minimal model with real alpha, delta (gamma = alpha, beta = delta:
    f_b is symmetric in its two sites), with the eps perturbations and a real J = J0, phi = 0,
    holds; a complex J (phi != 0, a flux: the current I_J is odd under reflection) or complex
    alpha, delta in general (f_b and its reflection differ by more than a phase) do not.
    """
    L = p.L
    image = (lambda j: (-j) % L) if p.bc == "ring" else (lambda j: L - 1 - j)
    terms = _canonical(local_terms(p))
    reflected = _canonical([(tuple(image(j) for j in sites), S) for sites, S in terms.items()])
    scale = max((float(np.abs(S).max()) for S in terms.values()), default=0.0)
    for sites in sorted(set(terms) | set(reflected)):
        a, b = terms.get(sites, 0), reflected.get(sites, 0)
        if np.max(np.abs(np.asarray(a) - np.asarray(b)), initial=0.0) > rtol * scale:
            what = "site" if len(sites) == 1 else "pair"
            suspects = (p.reflection_suspects(sites, tuple(sorted(image(j) for j in sites)))
                        if hasattr(p, "reflection_suspects") else _suspects(p))
            return False, (f"the reflection {'j -> -j' if p.bc == 'ring' else 'j -> L-1-j'} does "
                           f"not map the model's terms onto themselves (the {what} {sites}: "
                           f"{suspects})")
    return True, ""


def _suspects(p: model.Params) -> str:
    """Which of the model's pair terms differs from its mirror image, in words (the refusal
    message): the bond Hamiltonian and the dissipator D[f_b] are each compared with their two
    sites exchanged."""
    out = []
    H = superoperator(model.bond_hamiltonian(p), [], 2)
    if not np.allclose(H, swap_sites(H), rtol=0, atol=1e-13 * max(np.abs(H).max(), 1e-300)):
        out.append(f"the bond Hamiltonian is not symmetric: J = J0 exp(i phi/L) = {p.J:.4g} "
                   f"(J0 = {p.J0:g}, phi = {p.phi:g}) must be real (a flux phi != 0 or a "
                   "complex J0 breaks the reflection)")
    D = superoperator(None, [model.bond_jump(p)], 2)
    if not np.allclose(D, swap_sites(D), rtol=0, atol=1e-13 * max(np.abs(D).max(), 1e-300)):
        out.append(f"D[f_b] is not symmetric: f_b = alpha sm_b + beta sp_b + gamma sm_b' + "
                   f"delta sp_b' with (alpha, beta, gamma, delta) = ({p.alpha:g}, {p.beta:g}, "
                   f"{p.gamma:g}, {p.delta:g}) must be +- its mirror image (gamma, delta, alpha, "
                   "beta), e.g. real alpha and delta in the minimal model")
    return "; ".join(out) or "the terms differ from their mirror images"

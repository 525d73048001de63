"""Observables of a steady state, computed where the data lives.

Each rank holds a contiguous slice of the vectorised density matrix (words and values, see
:mod:`lindring.core.basis`). An expectation value ``<O> = Tr(O rho)`` of an operator acting on a few sites
is a sum over the local words whose other sites are diagonal (``k_j = b_j``), weighted by the
operator's transposed matrix elements; each rank sums its part and one ``allreduce`` finishes.
Only the half|half negativity and the smallest eigenvalue of rho gather the state (small L only).

Currents follow Eq. 14 with the conventions of MODEL.md (model.current_eta_operator and
model.current_J_operator). Negativities use the partial transpose on the first part.
"""
from __future__ import annotations

import numpy as np

from lindring.core import model
from lindring.core.basis import letter, odd_letters

#: L up to which the full state may be gathered on one rank (half|half negativity, min eigenvalue)
GATHER_MAX_L = 8


class LocalState:
    """The part of a vectorised density matrix that one rank holds."""

    def __init__(self, words: np.ndarray, values: np.ndarray, L: int, comm):
        self.words = np.asarray(words, dtype=np.int64)
        self.values = np.asarray(values, dtype=complex)
        self.L = L
        self.comm = comm  # an mpi4py communicator
        self._n_off = odd_letters(self.words, L)   # sites with ket != bra

    def allsum(self, value):
        return self.comm.allreduce(value)

    def reduced(self, sites: tuple[int, ...]) -> np.ndarray:
        """Reduced density matrix of ``sites`` (basis |s_{sites[0]} s_{sites[1]} ...>)."""
        L, k = self.L, len(sites)
        n_here = np.zeros(len(self.words), dtype=np.int64)
        ket = np.zeros(len(self.words), dtype=np.int64)
        bra = np.zeros(len(self.words), dtype=np.int64)
        for s in sites:
            a = letter(self.words, s, L)
            n_here += (a == 1) | (a == 2)
            ket = 2 * ket + a // 2
            bra = 2 * bra + a % 2
        sel = self._n_off == n_here          # every other site diagonal: partial trace
        d = 2 ** k
        flat = np.bincount(ket[sel] * d + bra[sel], weights=self.values[sel].real, minlength=d * d) \
            + 1j * np.bincount(ket[sel] * d + bra[sel], weights=self.values[sel].imag, minlength=d * d)
        return self.allsum(flat).reshape(d, d)

    def reduced_many(self, sites_list) -> dict:
        """:meth:`reduced` of each tuple of sites in ``sites_list``, keyed by it."""
        return {tuple(s): self.reduced(tuple(s)) for s in dict.fromkeys(map(tuple, sites_list))}

    def expectation(self, sites: tuple[int, ...], op: np.ndarray) -> complex:
        """``Tr(O rho)`` for an operator on ``sites`` (matrix in the basis |s_sites...>)."""
        return complex(np.trace(op @ self.reduced(sites)))

    def trace(self) -> complex:
        diag = self._n_off == 0
        return complex(self.allsum(self.values[diag].sum()))

    def norm2(self) -> float:
        """``sum |x|^2`` = Tr(rho^+ rho), the purity for a Hermitian rho."""
        return float(self.allsum(np.vdot(self.values, self.values).real))


def negativity(rho2: np.ndarray, dA: int) -> float:
    """``(||rho^{T_A}||_1 - 1)/2`` with the partial transpose on the first factor (dimension dA)."""
    dB = rho2.shape[0] // dA
    pt = rho2.reshape(dA, dB, dA, dB).transpose(2, 1, 0, 3).reshape(dA * dB, dA * dB)
    ev = np.linalg.eigvalsh(0.5 * (pt + pt.conj().T))
    return float((np.abs(ev).sum() - 1) / 2)


def purity(rho: np.ndarray) -> float:
    return float(np.real(np.trace(rho @ rho)))


def entropy(rho: np.ndarray) -> float:
    """von Neumann entropy in nats."""
    ev = np.linalg.eigvalsh(0.5 * (rho + rho.conj().T))
    ev = ev[ev > 1e-15]
    return float(-(ev * np.log(ev)).sum())


def steady_observables(state: LocalState, p: model.Params) -> dict:
    """``current_eta``, ``current_J`` (per bond), ``sz`` (per site), purities, negativity_pair,
    and with range 2 ``current_eta_pair`` (per dissipative pair).

    ``current_eta[b]``: Eq. 14, ``-eta sp_j sm_{j-1} + h.c.`` on the nearest-neighbour bond
    (j-1, j) = (b, b+1), whatever the range (MODEL.md, "Currents when the dissipation has range
    2": the paper's Sec. IV C (iii) current). ``current_eta_pair[b]``: the same operator on the
    dissipative pair (b, b+2), written only for range 2. ``current_J[b]``: Eq. 14 on (b, b+1).
    """
    I_eta = model.current_eta_operator(p)
    I_J = model.current_J_operator(p)
    bonds = [tuple(b) for b in p.hamiltonian_bonds()]
    pairs = [tuple(b) for b in p.dissipative_bonds()] if p.range != 1 else []
    sites = [(j,) for j in range(p.L)]
    rho = state.reduced_many(bonds + pairs + sites + [(0, 1)])   # one collective fetch

    def expect(where, op):
        return np.array([np.trace(op @ rho[s]).real for s in where])

    out = dict(current_eta=expect(bonds, I_eta), current_J=expect(bonds, I_J),
               sz=expect(sites, model.SZ))
    if p.range != 1:
        out["current_eta_pair"] = expect(pairs, I_eta)
    rho_pair = rho[(0, 1)]
    out.update(purity=state.norm2(), purity_pair=purity(rho_pair),
               negativity_pair=negativity(rho_pair, 2))
    return out


def model_observables(state: LocalState, point) -> dict:
    """Observables of a model-file point (:class:`lindring.core.modelfile.ModelPoint`): ``sz``
    per site, each of the file's observables per site or per bond (real part of ``Tr(O rho)``;
    the file's observables are Hermitian), its correlations (:func:`correlation`), the purities
    and ``negativity_pair``; every reduced state from one (collective) fetch."""
    L = state.L
    sites = [(j,) for j in range(L)]
    where = sites + [(0, 1)]
    for _, _, placed in point.observables:
        where += [tuple(t.sites) for t in placed]
    correlations = getattr(point, "correlations", ())
    for c in correlations:
        where += [w for i, j in c.pairs for w in ((i, j), (i,), (j,))]
    rho = state.reduced_many(where)

    def expect(where_, op):
        return np.trace(op @ rho[tuple(where_)])

    out = dict(sz=np.array([expect(s, model.SZ).real for s in sites]))
    for name, _, placed in point.observables:
        out[name] = np.array([expect(t.sites, t.operator).real for t in placed])
    for c in correlations:
        out.update(c.split(correlation(rho, c)))
    rho_pair = rho[(0, 1)]
    out.update(purity=state.norm2(), purity_pair=purity(rho_pair),
               negativity_pair=negativity(rho_pair, 2))
    return out


def correlation(rho: dict, c) -> np.ndarray:
    """A model file's correlation function against distance
    (:class:`lindring.core.modelfile.Correlation`): ``<A_i B_j> [- <A_i><B_j>]`` for each of its
    pairs ``(i, j)``, from the reduced states ``rho`` (keyed by their sites: ``(i, j)``,
    ``(i,)``, ``(j,)``); complex (real up to rounding when A and B are Hermitian;
    :meth:`~lindring.core.modelfile.Correlation.split` writes it)."""
    A, B = c.operators
    AB = np.kron(A, B)
    out = []
    for i, j in c.pairs:
        value = np.trace(AB @ rho[(i, j)])
        if c.connected:
            value -= np.trace(A @ rho[(i,)]) * np.trace(B @ rho[(j,)])
        out.append(value)
    return np.array(out, dtype=complex)


def gathered_density_matrix(state: LocalState) -> np.ndarray | None:
    """The full 2^L x 2^L density matrix on rank 0 (None elsewhere); for L <= GATHER_MAX_L."""
    L = state.L
    parts = state.comm.gather((state.words, state.values), root=0)
    if parts is None:
        return None
    words = np.concatenate([w for w, _ in parts])
    vals = np.concatenate([v for _, v in parts])
    ket = np.zeros(len(words), dtype=np.int64)
    bra = np.zeros(len(words), dtype=np.int64)
    for s in range(L):
        a = letter(words, s, L)
        ket = 2 * ket + a // 2
        bra = 2 * bra + a % 2
    rho = np.zeros((2 ** L, 2 ** L), dtype=complex)
    rho[ket, bra] = vals
    return rho

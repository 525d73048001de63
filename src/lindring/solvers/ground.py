"""Method ``ground``: ground state of the closed-system Hamiltonian (paper App. B, Fig. 7).

The dissipation is ignored and the Hamiltonian of ``MODEL.md``::

    H = sum_b ( J sp_b sm_{b+1} + lam sp_b sp_{b+1} + h.c. ) + mu sum_j n_j
        + eps_x sum_j sigma^x_j + eps_zz sum_b sigma^z_b sigma^z_{b+1},   J = J0 exp(i phi / L)

is diagonalised exactly on the 2^L states of a ring or an open chain. With ``lam = mu = eps = 0``
this is the tight-binding ring of Eq. (B1); App. B / Fig. 7 plot, for ``L = 4``, ``J0 = 1``, the
ground-state current of Eq. (B2) and the von Neumann entropy ``S(rho_12)`` of two neighbouring sites
against the flux ``phi``.

Conventions (all taken from :mod:`lindring.core.model`, nothing is redefined here):

* basis index ``s = sum_j s_j 2^(L-1-j)``: site 0 is the most significant bit; the local state
  ``|0>`` (index 0) is down/empty and ``|1>`` is up;
* the bond and site terms are :func:`lindring.core.model.bond_hamiltonian` (on the pairs of
  :meth:`Params.hamiltonian_bonds`, basis ``|s_b s_{b+1}>``, so the ring's closing bond is
  ``(L-1, 0)``) and :func:`lindring.core.model.site_hamiltonian`;
* the current on bond ``(b, b+1)`` is :func:`lindring.core.model.current_J_operator` on that pair,
  ``<I_J> = -4 Im(J <sm_{b+1} sp_b>)`` (Eq. 14; Eq. B2 writes it with the neighbour on the other
  side, which gives the same value except at the level crossing ``phi = +-pi`` of Fig. 7, where the
  ground state is degenerate anyway). Hellmann-Feynman gives ``sum_b <I_J,b> = 2 L dE0/dphi``.

Degeneracy: the ground state is a single vector only if no other eigenvalue lies within
``degeneracy_tol`` (default ``1e-8 * max(|E0|, h)``, ``h`` the largest matrix element of H: relative
to the Hamiltonian's own energy scale, so that scaling every coupling by s scales the spectrum and
the tolerance alike; an absolute floor of 1 declared J0 = 1e-6 rings with a gap of 1e-6 J0
degenerate) of ``E0``. If the ground level is degenerate
(as at the crossing ``phi = pi`` of Fig. 7) no vector of it is picked: the state-dependent
observables are NaN, the attribute ``degenerate`` is 1, and the ``*_mixed`` variables give the
observables of the equal-weight mixture of the degenerate ground states (the zero-temperature limit
of the Gibbs state), which is well defined. ``energy`` (E0) and ``degeneracy`` are always given.
"""
from __future__ import annotations

import math
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from lindring.core.diagnostics import get_logger
from lindring.core.observables import entropy, negativity, purity
from lindring.core.schema import data_vars
from lindring.core.model import (ModelError, Params, bond_hamiltonian, current_J_operator,
                                 site_hamiltonian)

log = get_logger(__name__)

#: up to this Hilbert-space dimension the spectrum is computed densely (numpy eigh)
DENSE_MAX_DIM = 4096
#: number of lowest eigenvalues asked from the sparse solver (doubled while all are degenerate)
SPARSE_K = 6
#: refuse larger systems: 2^L complex vectors and a sparse H beyond this do not fit in memory
MAX_L = 24

#: the state-dependent observables, which are NaN (and also given as ``*_mixed``) when degenerate
STATE_OBSERVABLES = ("current_J", "sz", "entropy_pair", "purity_pair", "negativity_pair")


# ----------------------------------------------------------------------------- operators
def _bit(states: np.ndarray, site: int, L: int) -> np.ndarray:
    """Local state (0 or 1) of ``site`` in each basis index (site 0 = most significant bit)."""
    return (states >> (L - 1 - site)) & 1


def _local_terms(op: np.ndarray, sites: tuple[int, ...], L: int):
    """COO triplets ``(rows, cols, vals)`` of the k-site operator ``op`` (2^k x 2^k, basis
    ``|s_{sites[0]} s_{sites[1]} ...>``, first site most significant) embedded in 2^L states.

    For each column (basis state ``s``) and each nonzero ``op[out, in]`` whose ``in`` matches the
    bits of ``s`` on ``sites``, the row is ``s`` with those bits replaced by ``out``. This is the
    same matrix as the ``kron`` of ``op`` with identities, built without forming products.
    """
    if len(set(sites)) != len(sites):
        raise ValueError("the sites of a local operator must be different")
    k = len(sites)
    op = np.asarray(op, dtype=complex).reshape(2 ** k, 2 ** k)
    states = np.arange(2 ** L, dtype=np.int64)
    local_in = np.zeros_like(states)
    cleared = states.copy()
    for site in sites:
        bit = _bit(states, site, L)
        local_in = 2 * local_in + bit
        cleared -= bit << (L - 1 - site)
    rows, cols, vals = [], [], []
    for a_out, a_in in zip(*np.nonzero(op)):
        sel = local_in == a_in
        r = cleared[sel].copy()
        for pos, site in enumerate(sites):
            r += ((a_out >> (k - 1 - pos)) & 1) << (L - 1 - site)
        rows.append(r)
        cols.append(states[sel])
        vals.append(np.full(r.shape, op[a_out, a_in]))
    return rows, cols, vals


def embed(op: np.ndarray, sites: tuple[int, ...], L: int) -> sp.csr_matrix:
    """Sparse 2^L operator of the local ``op`` acting on ``sites`` (in that order), e.g. a 4x4
    bond operator in the basis ``|s_i s_j>`` on the pair ``(i, j)``, including the ring's closing
    bond ``(L-1, 0)``."""
    rows, cols, vals = _local_terms(op, tuple(sites), L)
    dim = 2 ** L
    if not rows:
        return sp.csr_matrix((dim, dim), dtype=complex)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(dim, dim))


#: parameters of the jumps (MODEL.md, Eqs. 4, 12 and the local decay): none enters H
JUMP_PARAMS = ("alpha", "beta", "gamma", "delta", "kappa")


def check_ground_params(p: Params) -> None:
    """Raise :class:`~lindring.core.model.ModelError` if the exact ground state of ``p`` is out
    of reach (L > :data:`MAX_L`: 2^L states)."""
    if p.L > MAX_L:
        raise ModelError(f"method 'ground': L = {p.L} needs 2^{p.L} states; the exact ground "
                         f"state is limited to L <= {MAX_L}")


def check_no_jumps(p: Params) -> None:
    """Raise :class:`~lindring.core.model.ModelError` if a point of ``--method ground`` sets a
    jump parameter (:data:`JUMP_PARAMS`): the closed-system Hamiltonian does not contain them,
    so they would be written to the file without having entered the result."""
    values = {name: complex(getattr(p, name)) for name in JUMP_PARAMS}
    given = [f"{name} = {z.real if z.imag == 0 else z:g}" for name, z in values.items() if z != 0]
    if given:
        raise ModelError(f"method 'ground' is the ground state of the Hamiltonian (App. B): the "
                         f"jump parameters {', '.join(given)} do not enter it; leave them out "
                         "(and --preset, whose jumps they are)")


def hamiltonian(p: Params) -> sp.csr_matrix:
    """The closed-system Hamiltonian H of ``MODEL.md`` (App. B, Eq. B1 when lam = mu = eps = 0)
    as a sparse 2^L x 2^L matrix (site 0 = most significant bit), built from
    :func:`lindring.core.model.bond_hamiltonian` on each pair of :meth:`Params.hamiltonian_bonds` and
    :func:`lindring.core.model.site_hamiltonian` on each site."""
    L = p.L
    check_ground_params(p)
    dim = 2 ** L
    rows, cols, vals = [], [], []
    hb = bond_hamiltonian(p)
    for i, j in p.hamiltonian_bonds():
        r, c, v = _local_terms(hb, (i, j), L)
        rows += r; cols += c; vals += v
    hs = site_hamiltonian(p)
    for j in range(L):
        r, c, v = _local_terms(hs, (j,), L)
        rows += r; cols += c; vals += v
    if not rows:
        return sp.csr_matrix((dim, dim), dtype=complex)
    H = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(dim, dim)).tocsr()  # duplicates are summed
    H.sum_duplicates()
    H.eliminate_zeros()
    return H


# ----------------------------------------------------------------------------- spectrum
def lowest_states(p: Params, degeneracy_tol: float | None = None):
    """Lowest eigenpairs of H and the ground-level degeneracy.

    Returns ``(evals, evecs, degeneracy, info)``: ascending eigenvalues (all of them if the
    dimension is <= ``DENSE_MAX_DIM``, else the ``k`` lowest from ``eigsh``), the matching
    orthonormal columns, the number of eigenvalues within the tolerance of ``E0``, and a dict with
    ``solver``, ``degeneracy_tol`` and ``degeneracy_is_lower_bound``.
    """
    H = hamiltonian(p)
    dim = H.shape[0]
    scale = float(abs(H).max()) if H.nnz else 0.0
    lower_bound = False
    if dim <= DENSE_MAX_DIM:
        Hd = H.toarray()
        if not np.allclose(Hd, Hd.conj().T, atol=1e-12):
            raise RuntimeError("ground: the Hamiltonian is not Hermitian")
        evals, evecs = np.linalg.eigh(Hd)
        solver = "dense_eigh"
    else:
        k = SPARSE_K
        rng = np.random.default_rng(12345)
        v0 = rng.standard_normal(dim) + 1j * rng.standard_normal(dim)
        while True:
            evals, evecs = spla.eigsh(H, k=k, which="SA", v0=v0, tol=0,
                                      ncv=min(dim - 1, max(2 * k + 1, 40)))
            order = np.argsort(evals)
            evals, evecs = evals[order], evecs[:, order]
            tol = _tol(evals[0], degeneracy_tol, scale)
            if np.count_nonzero(evals - evals[0] <= tol) < k or k >= 64:
                break
            k *= 2
        solver = f"eigsh(k={k}, which='SA')"
    tol = _tol(evals[0], degeneracy_tol, scale)
    g = int(np.count_nonzero(evals - evals[0] <= tol))
    if solver != "dense_eigh" and g == len(evals):
        lower_bound = True
    info = dict(solver=solver, degeneracy_tol=float(tol), degeneracy_is_lower_bound=int(lower_bound))
    return evals, evecs, g, info


def _tol(E0: float, degeneracy_tol: float | None, scale: float) -> float:
    """The degeneracy tolerance: ``degeneracy_tol`` or ``1e-8 max(|E0|, scale)`` (module
    docstring; ``scale`` is the largest matrix element of H)."""
    if degeneracy_tol is None:
        return 1e-8 * max(abs(float(E0)), scale)
    if not degeneracy_tol >= 0:
        raise ValueError(f"degeneracy_tol must be >= 0, got {degeneracy_tol!r}")
    return float(degeneracy_tol)


# ----------------------------------------------------------------------------- reduced states
def reduced_density_matrix(vecs: np.ndarray, sites: tuple[int, ...], L: int) -> np.ndarray:
    """Reduced state on ``sites`` (in that order, first = most significant) of the equal-weight
    mixture of the orthonormal columns of ``vecs`` (a single column: a pure state)."""
    vecs = np.asarray(vecs).reshape(2 ** L, -1)
    g = vecs.shape[1]
    t = vecs.T.reshape((g,) + (2,) * L)
    axes = [1 + s for s in sites]
    t = np.moveaxis(t, axes, list(range(1, 1 + len(sites))))
    m = t.reshape(g, 2 ** len(sites), -1)
    rho = np.einsum("gia,gja->ij", m, m.conj()) / g
    return 0.5 * (rho + rho.conj().T)


def _state_observables(p: Params, vecs: np.ndarray) -> dict[str, np.ndarray]:
    """Observables of the equal-weight mixture of the columns of ``vecs``."""
    L = p.L
    IJ = current_J_operator(p)
    cur = np.array([np.real(np.trace(reduced_density_matrix(vecs, (i, j), L) @ IJ))
                    for i, j in p.hamiltonian_bonds()])
    sz = np.array([np.real(rho[1, 1] - rho[0, 0])
                   for rho in (reduced_density_matrix(vecs, (j,), L) for j in range(L))])
    rp = reduced_density_matrix(vecs, (0, 1), L)
    return dict(current_J=cur, sz=sz,
                entropy_pair=np.float64(entropy(rp)),
                purity_pair=np.float64(purity(rp)),
                negativity_pair=np.float64(negativity(rp, 2)))


# ----------------------------------------------------------------------------- public API
def ground_observables(p: Params, degeneracy_tol: float | None = None) -> tuple[dict, dict]:
    """Ground state of the closed-system Hamiltonian and its observables (App. B, Fig. 7).

    Returns ``(data, attrs)``. ``data`` maps a name to ``(dims, array)``:

    * ``current_J`` ``('bond',)``: ``<I_J>`` of Eq. (14)/(B2) on each bond ``(b, b+1)`` of
      :meth:`Params.hamiltonian_bonds`, ``-4 Im(J <sm_{b+1} sp_b>)``;
    * ``sz`` ``('site',)``: ``<sigma^z_j>``;
    * ``entropy_pair`` ``()``: von Neumann entropy (nats) of the reduced state of sites (0, 1),
      the ``S(rho_12)`` of Fig. 7;
    * ``purity_pair`` ``()``, ``negativity_pair`` ``()`` (partial transpose on site 0) of that
      reduced state;
    * ``energy`` ``()``: E0; ``degeneracy`` ``()``: number of eigenvalues within the tolerance;
    * ``<name>_mixed`` for each state observable above: the same for the equal-weight mixture of
      the degenerate ground states (equal to the pure-state value when the ground state is unique).

    If the ground level is degenerate the state observables (not ``energy``/``degeneracy``) are NaN.
    ``attrs``: ``method``, ``degenerate`` (0/1), ``degeneracy``, ``degeneracy_tol``,
    ``degeneracy_is_lower_bound`` (sparse solver found only degenerate values), ``gap`` = E1 - E0
    (0 when degenerate), ``gap_above_ground_level`` (first eigenvalue outside the ground level
    minus E0; NaN if not computed), ``solver``, ``hilbert_dim``.
    """
    evals, evecs, g, info = lowest_states(p, degeneracy_tol)
    E0 = float(evals[0])
    ground = evecs[:, :g]
    if g > 1:  # make sure the degenerate columns are orthonormal before mixing
        ground, _ = np.linalg.qr(ground)
    mixed = _state_observables(p, ground)
    if g == 1:
        pure = mixed
    else:
        pure = {k: np.full_like(np.asarray(v, dtype=float), np.nan) for k, v in mixed.items()}

    values = {}
    for name in STATE_OBSERVABLES:
        values[name] = np.asarray(pure[name], dtype=float)
        values[name + "_mixed"] = np.asarray(mixed[name], dtype=float)
    values.update(energy=E0, degeneracy=np.asarray(g, dtype=np.int64))
    data = data_vars("ground", values)

    attrs = dict(
        method="ground",
        degenerate=int(g > 1),
        degeneracy=int(g),
        gap=float(evals[1] - E0) if len(evals) > 1 else math.nan,
        gap_above_ground_level=float(evals[g] - E0) if len(evals) > g else math.nan,
        hilbert_dim=int(2 ** p.L),
        **info,
    )
    if g > 1:
        attrs["note"] = ("degenerate ground level: state observables are NaN; *_mixed are those "
                         "of the equal-weight mixture of the degenerate ground states")
        # said as the ed method says a non-unique steady state (a NaN result, exit status 0)
        log.warning(f"degenerate ground state: {g} levels within {info['degeneracy_tol']:.3g} of "
                    f"E0 = {E0:.6g}; state observables written as NaN (*_mixed: their equal "
                    "mixture)")
    return data, attrs

"""Independent dense reference implementation of the lindring model (tests only).

Everything here is built from ``/work/shared/MODEL.md`` with plain numpy Kronecker
products; nothing is imported from ``lindring`` on purpose, so that tests can use it to
check the distributed PETSc code against an implementation that shares no code with it.
Only small systems are meant (the Liouvillian is a dense ``4**L x 4**L`` matrix; L <= 5 is
quick, L = 6 already needs a few GB and minutes for the SVD).

Conventions (MODEL.md)
----------------------
* Sites ``0..L-1``; in a ket index ``k`` of the ``D = 2**L`` dimensional space site 0 is
  the most significant bit. Local state ``|0>`` = down/empty (bit 0), ``|1>`` = up (bit 1).
  ``sp = |1><0|``, ``sm = |0><1|``, ``n = sp sm``, ``sz = diag(-1, +1)``,
  ``sx = sp + sm``, ``sy = -i (sp - sm)``.
* Row-major vectorisation: ``vec(rho)[k * D + b] = rho[k, b]``, i.e. ``rho.reshape(-1)``.
  Then ``vec(A rho B) = kron(A, B.T) vec(rho)``.
* Master equation::

      d rho/dt = -i[H, rho] + kappa sum_j D[sm_j] rho + sum_b D[f_b] rho
      D[O] rho = O rho O^+ - (1/2){O^+ O, rho}
      H = sum_b (J sp_b sm_{b+1} + lam sp_b sp_{b+1} + h.c.) + mu sum_j n_j
          + eps_x sum_j sx_j + eps_zz sum_b sz_b sz_{b+1}
      f_b = alpha sm_b + beta sp_b + gamma sm_{b+r} + delta sp_{b+r}
      J = J0 exp(i phi / L)

  Hamiltonian bonds are always nearest neighbour (``L`` on a ring, ``L-1`` open).
  The dissipative pairs are ``(b, b+r)`` with ``r = range`` in {1, 2}: ``L`` of them on a
  ring (``b+r`` taken mod L) and ``L-r`` on an open chain.

Observables (``dense_observables``)
-----------------------------------
* ``current_eta[b] = -2 Re(eta <sp_{b+1} sm_b>)`` with ``eta = alpha conj(gamma) -
  delta conj(beta)``, over the nearest-neighbour bonds (b, b+1) whatever the range (MODEL.md,
  "Currents when the dissipation has range 2"); ``current_eta_pair[b]``, the same over the
  dissipative pairs ``(b, b+r)`` (``L`` on a ring, ``L-r`` open).
* ``current_J[b] = -4 Im(J <sm_{b+1} sp_b>)`` over the nearest-neighbour bonds.
* ``sz`` per site, ``purity`` = Tr rho^2, ``rho_pair`` (sites 0, 1; basis ``|s0 s1>``),
  ``purity_pair``, ``negativity_pair`` (partial transpose on site 0), ``negativity_half``
  (sites ``[0, L//2)`` | ``[L//2, L)``, partial transpose on the first half), ``min_eig``.
"""

from __future__ import annotations

import builtins

import numpy as np

_srange = builtins.range  # the public functions take a parameter called ``range``

__all__ = [
    "SP", "SM", "SZ", "SX", "SY", "NUM", "ID2",
    "site_op", "nn_bonds", "diss_pairs", "coupling_J",
    "minimal_params", "dense_hamiltonian", "dense_jumps", "dense_liouvillian",
    "lindblad_superop", "apply_lindblad", "dense_steady_state", "dense_observables",
    "expect", "partial_trace_keep_first", "partial_transpose_first", "negativity",
]

# ---------------------------------------------------------------- local operators
ID2 = np.eye(2, dtype=complex)
SP = np.array([[0, 0], [1, 0]], dtype=complex)  # |1><0|
SM = SP.T.copy()                                 # |0><1|
NUM = SP @ SM                                    # |1><1|
SZ = np.diag([-1.0, 1.0]).astype(complex)        # sz|0> = -|0>, sz|1> = +|1>
SX = SP + SM
SY = -1j * (SP - SM)

_PARAM_DEFAULTS = dict(J0=0, phi=0, lam=0, mu=0, kappa=0, eps_x=0, eps_zz=0,
                       alpha=0, beta=0, gamma=0, delta=0, range=1)


def _params(kw):
    unknown = set(kw) - set(_PARAM_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown parameters: {sorted(unknown)}")
    p = dict(_PARAM_DEFAULTS)
    p.update(kw)
    return p


def _check_lattice(L, bc, rng=1):
    if bc not in ("ring", "open"):
        raise ValueError(f"bc must be 'ring' or 'open', got {bc!r}")
    if rng not in (1, 2):
        raise ValueError(f"range must be 1 or 2, got {rng!r}")
    if bc == "ring" and L < 3:
        raise ValueError("a ring needs L >= 3")
    if bc == "open" and L < rng + 1:
        raise ValueError(f"an open chain with range {rng} needs L >= {rng + 1}")


def site_op(op, j, L):
    """``op`` acting on site ``j`` of ``L`` (site 0 = most significant bit)."""
    return np.kron(np.kron(np.eye(2 ** j), op), np.eye(2 ** (L - j - 1)))


def nn_bonds(L, bc):
    """Nearest-neighbour (Hamiltonian) bonds as (b, b+1 mod L)."""
    nb = L if bc == "ring" else L - 1
    return [(b, (b + 1) % L) for b in _srange(nb)]


def diss_pairs(L, bc, rng=1):
    """Dissipative pairs (b, b+rng) (mod L on a ring)."""
    nb = L if bc == "ring" else L - rng
    return [(b, (b + rng) % L) for b in _srange(nb)]


def coupling_J(L, J0=0, phi=0):
    return J0 * np.exp(1j * phi / L)


def minimal_params(alpha, delta, mu=1.0):
    """Parameters of the minimal model: J0 = lam = kappa = 0, gamma = conj(alpha),
    beta = conj(delta)."""
    return dict(J0=0, lam=0, kappa=0, mu=mu, alpha=alpha, delta=delta,
                gamma=np.conj(alpha), beta=np.conj(delta))


# ---------------------------------------------------------------- Hamiltonian / jumps
def dense_hamiltonian(L, bc, J0=0, phi=0, lam=0, mu=0, kappa=0, eps_x=0, eps_zz=0,
                      alpha=0, beta=0, gamma=0, delta=0, range=1):
    """The 2^L x 2^L Hamiltonian of MODEL.md (dissipative parameters are ignored)."""
    _check_lattice(L, bc, range)
    D = 2 ** L
    J = coupling_J(L, J0, phi)
    sp = [site_op(SP, j, L) for j in _srange(L)]
    sm = [site_op(SM, j, L) for j in _srange(L)]
    sz = [site_op(SZ, j, L) for j in _srange(L)]
    H = np.zeros((D, D), dtype=complex)
    for b, c in nn_bonds(L, bc):
        hop = J * sp[b] @ sm[c] + lam * sp[b] @ sp[c]
        H += hop + hop.conj().T
        H += eps_zz * sz[b] @ sz[c]
    for j in _srange(L):
        H += mu * site_op(NUM, j, L) + eps_x * site_op(SX, j, L)
    return H


def dense_jumps(L, bc, J0=0, phi=0, lam=0, mu=0, kappa=0, eps_x=0, eps_zz=0,
                alpha=0, beta=0, gamma=0, delta=0, range=1):
    """All jump operators: sqrt(kappa) sm_j on every site (if kappa > 0), then f_b."""
    _check_lattice(L, bc, range)
    if kappa < 0:
        raise ValueError("kappa must be >= 0")
    jumps = []
    if kappa > 0:
        jumps += [np.sqrt(kappa) * site_op(SM, j, L) for j in _srange(L)]
    if any(x != 0 for x in (alpha, beta, gamma, delta)):
        for b, c in diss_pairs(L, bc, range):
            jumps.append(alpha * site_op(SM, b, L) + beta * site_op(SP, b, L)
                         + gamma * site_op(SM, c, L) + delta * site_op(SP, c, L))
    return jumps


def lindblad_superop(H, jumps):
    """Row-major superoperator: vec(A rho B) = kron(A, B.T) vec(rho)."""
    D = H.shape[0]
    I = np.eye(D)
    Lm = -1j * np.kron(H, I) + 1j * np.kron(I, H.T)
    for O in jumps:
        OdO = O.conj().T @ O
        Lm += np.kron(O, O.conj()) - 0.5 * np.kron(OdO, I) - 0.5 * np.kron(I, OdO.T)
    return Lm


def apply_lindblad(H, jumps, rho):
    """Direct (matrix-product) action of the Lindbladian on a matrix rho."""
    out = -1j * (H @ rho - rho @ H)
    for O in jumps:
        Od = O.conj().T
        out += O @ rho @ Od - 0.5 * (Od @ O @ rho + rho @ Od @ O)
    return out


def dense_liouvillian(L, bc, J0=0, phi=0, lam=0, mu=0, kappa=0, eps_x=0, eps_zz=0,
                      alpha=0, beta=0, gamma=0, delta=0, range=1):
    """Dense 4^L x 4^L Liouvillian acting on the row-major vec(rho)."""
    kw = dict(J0=J0, phi=phi, lam=lam, mu=mu, kappa=kappa, eps_x=eps_x, eps_zz=eps_zz,
              alpha=alpha, beta=beta, gamma=gamma, delta=delta, range=range)
    return lindblad_superop(dense_hamiltonian(L, bc, **kw), dense_jumps(L, bc, **kw))


# ---------------------------------------------------------------- steady state
def dense_steady_state(Lmat, tol=1e-9):
    """Null vector of the Liouvillian via SVD.

    Returns ``(rho, kernel_dim)``; ``kernel_dim`` counts singular values below
    ``tol * s_max``. If ``kernel_dim != 1`` then ``rho`` is None. Otherwise rho is the
    D x D matrix (row-major un-vec) normalised to trace 1. A slow mode below the cutoff counts
    as kernel (ring L = 4, alpha 100, delta 1: its -2.5e-8 is 3e-13 of the scale, so the
    default says 2 where the steady state is unique): use the eigenvalues there.
    """
    n = Lmat.shape[0]
    D = int(round(np.sqrt(n)))
    if D * D != n:
        raise ValueError("Liouvillian dimension is not a square")
    _, s, Vh = np.linalg.svd(Lmat)
    kernel_dim = int(np.sum(s < tol * s[0]))
    if kernel_dim != 1:
        return None, kernel_dim
    rho = Vh[-1].conj().reshape(D, D)
    rho = rho / np.trace(rho)
    return rho, kernel_dim


# ---------------------------------------------------------------- observables
def expect(O, rho):
    return np.trace(O @ rho)


def partial_trace_keep_first(rho, n_keep, L):
    """Reduced density matrix of sites [0, n_keep)."""
    dA, dB = 2 ** n_keep, 2 ** (L - n_keep)
    return np.einsum("aibi->ab", rho.reshape(dA, dB, dA, dB))


def partial_transpose_first(rho, n_first, L):
    """Partial transpose on sites [0, n_first)."""
    dA, dB = 2 ** n_first, 2 ** (L - n_first)
    r = rho.reshape(dA, dB, dA, dB).transpose(2, 1, 0, 3)
    return r.reshape(dA * dB, dA * dB)


def negativity(rho, n_first, L):
    """(||rho^{T_A}||_1 - 1)/2 with A = sites [0, n_first)."""
    rt = partial_transpose_first(rho, n_first, L)
    ev = np.linalg.eigvalsh(0.5 * (rt + rt.conj().T))
    return 0.5 * (np.sum(np.abs(ev)) - 1.0)


def dense_observables(rho, L, bc, **params):
    """Observables of MODEL.md for a D x D density matrix (see module docstring)."""
    p = _params(params)
    _check_lattice(L, bc, p["range"])
    alpha, beta, gamma, delta = p["alpha"], p["beta"], p["gamma"], p["delta"]
    eta = alpha * np.conj(gamma) - delta * np.conj(beta)
    xi = alpha * np.conj(delta) - np.conj(gamma) * beta
    J = coupling_J(L, p["J0"], p["phi"])
    sp = [site_op(SP, j, L) for j in _srange(L)]
    sm = [site_op(SM, j, L) for j in _srange(L)]

    cur_eta = np.array([-2.0 * np.real(eta * expect(sp[c] @ sm[b], rho))
                        for b, c in nn_bonds(L, bc)])
    cur_eta_pair = np.array([-2.0 * np.real(eta * expect(sp[c] @ sm[b], rho))
                             for b, c in diss_pairs(L, bc, p["range"])])
    cur_J = np.array([-4.0 * np.imag(J * expect(sm[c] @ sp[b], rho))
                      for b, c in nn_bonds(L, bc)])
    sz = np.array([np.real(expect(site_op(SZ, j, L), rho)) for j in _srange(L)])
    rho_pair = partial_trace_keep_first(rho, 2, L)
    rh = 0.5 * (rho + rho.conj().T)
    return dict(
        eta=eta,
        xi=xi,
        current_eta=cur_eta,
        current_eta_pair=cur_eta_pair,
        current_J=cur_J,
        sz=sz,
        trace=np.trace(rho),
        purity=float(np.real(np.trace(rho @ rho))),
        rho_pair=rho_pair,
        purity_pair=float(np.real(np.trace(rho_pair @ rho_pair))),
        negativity_pair=float(negativity(rho_pair, 1, 2)),
        negativity_half=float(negativity(rho, L // 2, L)),
        min_eig=float(np.linalg.eigvalsh(rh)[0]),
    )

"""Two-site cluster mean field, method ``cmf`` (paper Sec. IV A, Eq. 23-24, App. C).

Ansatz (Eq. 23 / C1)
--------------------
The density matrix of the infinite, translation-invariant chain is a product of identical
two-site cluster states, ``rho = ... (x) rho_C (x) rho_C (x) ...`` with clusters
{0,1}, {2,3}, ... .  ``rho_C`` is a 4x4 matrix in the basis ``|s_0 s_1>`` of
:mod:`lindring.core.model` (site 0 most significant, ``|0>`` = down/empty).  ``Params.L`` is recorded
by the caller but does not enter (except through ``J = J0 exp(i phi / L)``, which is taken as
given); only ``bc = 'ring'`` (the infinite translation-invariant lattice) and ``range = 1`` are
supported, anything else raises :class:`~lindring.core.model.ModelError`.

Cluster equation
----------------
Everything inside the cluster is exact: the bond Hamiltonian and ``D[f]`` on (0, 1), and the
one-site terms ``mu n + eps_x sx`` and ``kappa D[sm]`` on both sites.  A bond *between* clusters
joins site 1 of this cluster to site 0' of the next one.  Its jump operator (Eq. 12) splits as
``f = A + B`` with ``A = alpha sm_1 + beta sp_1`` (this cluster) and
``B = gamma sm_0' + delta sp_0'`` (next cluster).  Tracing the next cluster out of
``D[A + B] (rho_C (x) rho_C')`` gives::

    D[A] rho_C - i [H_A, rho_C],   H_A = i (<B>* A - <B> A^+) / 2,

and the same bond seen from the next cluster gives ``D[B]`` on its site 0' and
``H_B = i (<A>* B - <A> B^+) / 2``.  By translation invariance both contributions act on the one
cluster we keep: ``D[A] - i[H_A, .]`` on site 1 and ``D[B] - i[H_B, .]`` on site 0, with
``<B> = gamma <sm_0> + delta <sp_0>`` and ``<A> = alpha <sm_1> + beta <sp_1>`` taken from
``rho_C`` itself (self-consistency).  The Hamiltonian part of the inter-cluster bond
(``J``, ``lam``, ``eps_zz``) is decoupled in the standard way,
``X_1 Y_0' -> X_1 <Y_0> + <X_1> Y_0`` (the constant ``-<X_1><Y_0>`` is dropped), i.e. site 1 gets
``Tr_0'[h_b (1 (x) rho_0)]`` and site 0 gets ``Tr_1[h_b (rho_1 (x) 1)]``.  The resulting
master equation ``d rho_C/dt = F(rho_C)`` is quadratic in ``rho_C``.

Solutions
---------
* **symmetric** (model with parity symmetry, ``eps_x = 0``): the solution with
  ``<sp> = <sm> = 0`` ("X structure", App. C).  There ``H_A = H_B = 0`` and the ``J``, ``lam``
  mean fields vanish, so for ``eps_zz = 0`` it is the null vector of the linear cluster
  Liouvillian; with ``eps_zz != 0`` it is found self-consistently inside the parity-even sector.
* **stable**: the state reached by integrating ``F`` in time from the symmetric solution mixed
  with a little of a parity-broken pure product state (generic, different Bloch vectors on the
  two sites, so that every unstable mode is seeded), then
  refined by Newton's method on ``F = 0`` (attribute ``cmf_residual`` is ``||F||_Frobenius``).
  ``branch = 'symmetric'`` if it coincides with the symmetric solution, ``'broken'`` if not.
  When ``eps_x != 0`` the model has no parity symmetry, there is only one branch: ``branch`` is
  ``'broken'`` (parity is broken explicitly) and the ``*_symmetric`` outputs are NaN.

Checks against the paper (see ``MODEL.md``, "What we verified about the paper")
---------------------------------------------------------------------------
For real ``a = alpha``, ``d = delta`` in the minimal model, the symmetric solution has the
intra-cluster current ::

    <I_eta> = 2 a^2 d^2 (a^2 - d^2)^3 / Z,
    Z = (a^2 - d^2)^2 (a^4 + d^4 + 3 a^2 d^2) + mu^2 (a^2 + d^2)^2          (Eq. C3),

(:func:`closed_form_current`).  The printed Eq. 24, ``4 a^2 d^2 (d^2 - a^2)^3 / Z``, is this times
``-2``: it has a factor and sign slip.  App. C (Eq. C2-C8, basis ``|11>, |10>, |01>, |00>``, i.e.
paper index 1 = our ``|11>``, 4 = our ``|00>``): ``rho11``, ``rho44`` and ``Z`` are right as
printed; ``rho22 = a^2 d^2 [5 (a^2 - d^2)^2 + 4 mu^2] / 4`` (printed with an extra ``a^2`` and an
unsquared ``(a^2 - d^2)``); ``rho23`` has the opposite sign; ``rho14`` lacks a factor
``(a^2 - d^2)`` and, with our ``H = +mu n``, is the complex conjugate of the printed form
(``-i mu`` for ``+i mu``; not listed in ``MODEL.md``) (:func:`closed_form_rho`).  With those,
``rho = (matrix) / Z`` has unit trace.
The operators here are those of ``MODEL.md``; no definition is bent to match a printed formula.
The symmetric solution is not always stable: for larger ``r`` (e.g. ``r = 2`` near
``theta = pi/8``, ``r = 5`` for most ``theta``) the dynamics flows to a parity-broken state.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

from lindring.core.observables import negativity, purity
from lindring.core.schema import data_vars
from lindring.core.superoperator import lindblad_rowmajor
from lindring.core.model import (ID2, SM, SP, SX, SZ, ModelError, Params, bond_hamiltonian, bond_jump,
                    current_eta_operator, current_J_operator, site_hamiltonian, site_jumps)

__all__ = ["cmf_observables", "cmf_solve", "cmf_symmetric_state", "CMFResult",
           "closed_form_current", "closed_form_rho", "cmf_rhs", "check_cmf_params"]

# ----------------------------------------------------------------------------- Pauli coordinates
_SY = 1j * (SM - SP)  # Hermitian; any Hermitian trace-orthogonal basis would do
_PAULI = (ID2, SX, _SY, SZ)
#: 16 Hermitian basis matrices P_k = P_a (x) P_b (k = 4a + b), Tr(P_k P_l) = 4 delta_kl
_BASIS = np.array([np.kron(_PAULI[a], _PAULI[b]) for a in range(4) for b in range(4)])
#: parity-even coordinates: P_k commutes with sz (x) sz (an even number of sx/sy factors)
_EVEN = np.array([((a in (1, 2)) + (b in (1, 2))) % 2 == 0 for a in range(4) for b in range(4)])
_PARITY = np.kron(SZ, SZ)


def _bloch(nx: float, ny: float, nz: float) -> np.ndarray:
    n = np.array([nx, ny, nz]) / math.sqrt(nx * nx + ny * ny + nz * nz)
    return 0.5 * (ID2 + n[0] * SX + n[1] * _SY + n[2] * SZ)


#: seed of the time evolution: a pure product state with generic, different Bloch vectors on
#: the two sites, so that it overlaps every unstable mode (a seed like |++> does not: the
#: instability of the symmetric solution is typically staggered, <sx_0> = -<sx_1>)
_SEED = np.kron(_bloch(1.0, 0.37, 0.11), _bloch(-0.53, 1.0, -0.23))


def _to_coords(m: np.ndarray) -> np.ndarray:
    """x_k = Tr(m P_k) (real for Hermitian m)."""
    return np.einsum("kij,ji->k", _BASIS, m).real


def _from_coords(x: np.ndarray) -> np.ndarray:
    return np.einsum("k,kij->ij", x, _BASIS) / 4


def _site_states(rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-site reduced states (rho_0, rho_1) of a cluster state in basis |s_0 s_1>."""
    r = rho.reshape(2, 2, 2, 2)
    return np.einsum("ikjk->ij", r), np.einsum("kikj->ij", r)


def _dissipator(jump: np.ndarray, rho: np.ndarray) -> np.ndarray:
    jd = jump.conj().T
    jdj = jd @ jump
    return jump @ rho @ jd - 0.5 * (jdj @ rho + rho @ jdj)


def check_cmf_params(p: Params) -> None:
    """Raise :class:`ModelError` if ``cmf`` cannot treat ``p``."""
    if p.bc != "ring":
        raise ModelError(f"method 'cmf' describes the infinite translation-invariant lattice and "
                         f"needs bc = 'ring', got bc = {p.bc!r}")
    if p.range != 1:
        raise ModelError(f"method 'cmf' supports only nearest-neighbour dissipation (range = 1), "
                         f"got range = {p.range}")
    rate = sum(abs(complex(z)) ** 2 for z in (p.alpha, p.beta, p.gamma, p.delta)) + p.kappa
    if rate == 0:
        raise ModelError("method 'cmf' needs dissipation (alpha, beta, gamma, delta or kappa "
                         "nonzero): without it the steady state is not unique")


class _Cluster:
    """The self-consistent cluster master equation ``d rho_C/dt = F(rho_C)``."""

    def __init__(self, p: Params):
        check_cmf_params(p)
        self.p = p
        hs = site_hamiltonian(p)
        self.hb = bond_hamiltonian(p)
        self.hb4 = self.hb.reshape(2, 2, 2, 2)  # (s_1, s_0', s_1, s_0') of the bond (1, 0')
        self.H0 = self.hb + np.kron(hs, ID2) + np.kron(ID2, hs)
        #: A on site 1 of this cluster, B on site 0 (the copy of site 0')
        self.A = p.alpha * SM + p.beta * SP
        self.B = p.gamma * SM + p.delta * SP
        jumps = [bond_jump(p), np.kron(ID2, self.A), np.kron(self.B, ID2)]
        for k in site_jumps(p):
            jumps += [np.kron(k, ID2), np.kron(ID2, k)]
        self.jumps = [j for j in jumps if np.any(j)]
        self.rate = cluster_rate(p)
        self._quadratic_form()

    # -- the equations ---------------------------------------------------------------------
    def mf_hamiltonian(self, rho: np.ndarray) -> np.ndarray:
        """Mean-field Hamiltonian: H_B + (bond MF) on site 0, H_A + (bond MF) on site 1."""
        p = self.p
        r0, r1 = _site_states(rho)
        b_mean = p.gamma * np.trace(r0 @ SM) + p.delta * np.trace(r0 @ SP)   # <B> on site 0'
        a_mean = p.alpha * np.trace(r1 @ SM) + p.beta * np.trace(r1 @ SP)    # <A> on site 1
        h1 = 0.5j * (np.conj(b_mean) * self.A - b_mean * self.A.conj().T)
        h0 = 0.5j * (np.conj(a_mean) * self.B - a_mean * self.B.conj().T)
        h1 = h1 + np.einsum("iajb,ba->ij", self.hb4, r0)   # Tr_0'[h_b (1 (x) rho_0')]
        h0 = h0 + np.einsum("iajb,ji->ab", self.hb4, r1)   # Tr_1[h_b (rho_1 (x) 1)]
        return np.kron(h0, ID2) + np.kron(ID2, h1)

    def rhs(self, rho: np.ndarray) -> np.ndarray:
        h = self.H0 + self.mf_hamiltonian(rho)
        out = -1j * (h @ rho - rho @ h)
        for j in self.jumps:
            out = out + _dissipator(j, rho)
        return out

    def linear_superoperator(self) -> np.ndarray:
        """16x16 Liouvillian of the cluster without mean-field Hamiltonian (row-major vec)."""
        return lindblad_rowmajor(self.H0, self.jumps)

    # -- real coordinates (rho = sum_k x_k P_k / 4, x_0 = 1) ----------------------------------
    def _f_direct(self, y: np.ndarray) -> np.ndarray:
        rho = _from_coords(np.concatenate(([1.0], y)))
        return _to_coords(self.rhs(rho))[1:]

    def _quadratic_form(self) -> None:
        """F(y) = c + M y + Q(y, y) exactly (F is quadratic); coefficients by polarisation."""
        n = 15
        eye = np.eye(n)
        c = self._f_direct(np.zeros(n))
        fp = np.array([self._f_direct(eye[j]) for j in range(n)])
        fm = np.array([self._f_direct(-eye[j]) for j in range(n)])
        m = ((fp - fm) / 2).T                         # m[:, j] = M e_j
        q = np.zeros((n, n, n))
        qd = (fp + fm) / 2 - c                        # qd[j] = Q(e_j, e_j)
        for j in range(n):
            q[:, j, j] = qd[j]
            for k in range(j + 1, n):
                fjk = self._f_direct(eye[j] + eye[k])
                q[:, j, k] = q[:, k, j] = (fjk - c - m[:, j] - m[:, k] - qd[j] - qd[k]) / 2
        self._c, self._m, self._q = c, m, q
        self._qs = q + q.transpose(0, 2, 1)

    def f(self, y: np.ndarray) -> np.ndarray:
        """F in coordinates: 15 real numbers (the trace part of F vanishes)."""
        return self._c + self._m @ y + (self._q @ y) @ y

    def jacobian(self, y: np.ndarray) -> np.ndarray:
        """dF/dy (exact)."""
        return self._m + self._qs @ y

    def residual(self, rho: np.ndarray) -> float:
        return float(np.linalg.norm(self.rhs(rho)))


def cluster_rate(p: Params) -> float:
    """The rate every tolerance of the mean field is relative to: ``|alpha|^2 + |beta|^2 +
    |gamma|^2 + |delta|^2 + kappa`` (scaling every rate by s scales F by s)."""
    return float(sum(abs(complex(z)) ** 2 for z in (p.alpha, p.beta, p.gamma, p.delta))
                 + p.kappa)


def cmf_rhs(p: Params, rho: np.ndarray) -> np.ndarray:
    """``F(rho_C)``: right-hand side of the self-consistent cluster master equation."""
    return _Cluster(p).rhs(np.asarray(rho, dtype=complex))


# ----------------------------------------------------------------------------- solvers
def _newton(cl: _Cluster, y: np.ndarray, mask: np.ndarray | None = None, tol: float = 1e-13,
            maxiter: int = 60) -> tuple[np.ndarray, float, int]:
    """Newton's method on F = 0 (optionally only in the coordinates ``mask``)."""
    best_y, best_r = y.copy(), np.linalg.norm(cl.f(y))
    it = 0
    for it in range(1, maxiter + 1):
        fy = cl.f(y)
        jac = cl.jacobian(y)
        if mask is not None:
            step = np.zeros(15)
            step[mask] = np.linalg.lstsq(jac[np.ix_(mask, mask)], -fy[mask], rcond=None)[0]
        else:
            step = np.linalg.lstsq(jac, -fy, rcond=None)[0]
        y = y + step
        r = np.linalg.norm(cl.f(y))
        if r < best_r:
            best_y, best_r = y.copy(), r
        if r < tol * cl.rate or np.linalg.norm(step) < 1e-15:
            break
    rho = _from_coords(np.concatenate(([1.0], best_y)))
    return best_y, cl.residual(rho), it


def _stability(cl: _Cluster, y: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Largest real part of the eigenvalues of dF/dy at y (< 0: linearly stable).

    With ``mask``, only the coordinates in ``mask`` (an invariant subspace) are considered.
    """
    jac = cl.jacobian(y)
    if mask is not None:
        jac = jac[np.ix_(mask, mask)]
    return float(np.max(np.linalg.eigvals(jac).real))


def _evolve(cl: _Cluster, y0: np.ndarray, mask: np.ndarray | None, t_max: float,
            accept_dist: float = 1e-2) -> tuple[np.ndarray, float, bool]:
    """Follow dy/dt = F(y) (projected on ``mask``) from y0 to a linearly stable fixed point.

    The equations are integrated (Radau, exact Jacobian) in chunks of growing length.  After
    each chunk the state is refined by Newton's method; the fixed point found is accepted if
    Newton converged, it lies within ``accept_dist`` of the evolved state (Pauli coordinates)
    and it is linearly stable (largest real part of the Jacobian's eigenvalues <= 1e-9 rate;
    marginal points such as the pure states at theta = 0, pi/2, where the linearised coherences
    oscillate undamped, count as stable).  Otherwise (e.g. the state lingers near the unstable
    symmetric solution) the integration goes on, up to ``t_max``.
    Returns (y, time used, converged).
    """
    if mask is None:
        def fun(t, y):
            return cl.f(y)

        def jac(t, y):
            return cl.jacobian(y)
    else:
        def fun(t, y):
            out = cl.f(y)
            out[~mask] = 0.0
            return out

        def jac(t, y):
            out = cl.jacobian(y)
            out[~mask, :] = 0.0
            return out
    res_tol = 1e-11 * cl.rate
    chunk = 5.0 / cl.rate
    t, y = 0.0, y0.copy()
    while True:
        if t > 0:
            yn, res, _ = _newton(cl, y, mask)
            if (res < res_tol and np.linalg.norm(yn - y) < accept_dist
                    and _stability(cl, yn, mask) <= 1e-9 * cl.rate):
                return yn, t, True
            if t >= t_max:
                return y, t, False
        step = min(chunk, t_max - t)
        sol = solve_ivp(fun, (0.0, step), y, method="Radau", jac=jac, rtol=1e-7, atol=1e-10)
        if not sol.success:
            raise RuntimeError(f"cmf time evolution failed: {sol.message}")
        y = sol.y[:, -1]
        t += step
        chunk = min(2 * chunk, 100.0 / cl.rate)


class CMFResult:
    """Solutions of the cluster mean field for one parameter point."""

    def __init__(self, rho: np.ndarray, rho_symmetric: np.ndarray | None, attrs: dict):
        #: stable solution (4x4, basis |s_0 s_1>)
        self.rho = rho
        #: parity-symmetric solution, or None when eps_x breaks parity
        self.rho_symmetric = rho_symmetric
        self.attrs = attrs


def _linear_steady_state(cl: _Cluster) -> tuple[np.ndarray, int]:
    """Null vector of the cluster Liouvillian without mean-field Hamiltonian, and kernel size."""
    _, sv, vh = np.linalg.svd(cl.linear_superoperator())
    kernel_dim = int(np.sum(sv < 1e-10 * sv[0]))
    rho = vh[-1].conj().reshape(4, 4)
    rho = rho / np.trace(rho)
    return _to_coords(0.5 * (rho + rho.conj().T))[1:], kernel_dim


def _symmetric_solution(cl: _Cluster, y_lin: np.ndarray, t_max: float,
                        accept_dist: float) -> tuple[np.ndarray, dict]:
    """Parity-symmetric solution (model with eps_x = 0).

    ``<sp> = <sm> = 0`` makes ``H_A``, ``H_B`` and the ``J``, ``lam`` mean fields vanish, so for
    ``eps_zz = 0`` it is the null vector of the linear cluster Liouvillian.  With ``eps_zz != 0``
    the mean field ``eps_zz (<sz_0> sz_1 + <sz_1> sz_0)`` survives and the solution is found by
    evolving inside the parity-even sector (to its stable point there) and Newton's method.
    """
    attrs = {}
    even = _EVEN[1:]
    y = y_lin.copy()
    y[~even] = 0.0
    if np.linalg.norm(cl.f(y)) > 1e-12 * cl.rate:
        y, t_sym, conv_sym = _evolve(cl, y, even, t_max, accept_dist)
        attrs["t_evolution_symmetric"] = t_sym
        attrs["converged_symmetric"] = int(conv_sym)
    y, res, _ = _newton(cl, y, mask=even)
    attrs["cmf_residual_symmetric"] = res
    return y, attrs


def cmf_symmetric_state(p: Params, t_max: float | None = None) -> np.ndarray:
    """The parity-symmetric cluster state (4x4, basis |s_0 s_1>) alone; needs ``eps_x = 0``."""
    if p.eps_x != 0:
        raise ModelError("eps_x != 0 breaks parity: there is no parity-symmetric cmf solution")
    cl = _Cluster(p)
    y_lin, _ = _linear_steady_state(cl)
    y, _ = _symmetric_solution(cl, y_lin, 1e4 / cl.rate if t_max is None else t_max, 1e-2)
    return _from_coords(np.concatenate(([1.0], y)))


def cmf_solve(p: Params, *, seed_weight: float = 1e-3, t_max: float | None = None,
              accept_dist: float = 1e-2, branch_tol: float = 1e-6) -> CMFResult:
    """Find the symmetric and the stable solution of the cluster mean field (see module doc).

    ``seed_weight``: weight of a generic pure product state mixed into the start of the time
    evolution; ``t_max``: longest evolution (default ``1e4 / rate``, rate = |alpha|^2 + |beta|^2 +
    |gamma|^2 + |delta|^2 + kappa); ``accept_dist``: the evolution stops when Newton's method
    finds a linearly stable fixed point this close to the evolved state (Pauli coordinates);
    ``branch_tol``: the stable solution is the symmetric one if ``||rho - rho_sym|| < branch_tol``
    (Frobenius norm, up to the parity image ``P rho P``, P = sz (x) sz).
    """
    cl = _Cluster(p)
    if t_max is None:
        t_max = 1e4 / cl.rate
    attrs: dict = {"method": "cmf", "cluster_size": 2}
    parity = p.eps_x == 0
    attrs["parity_symmetric_model"] = int(parity)

    y_lin, kernel_dim = _linear_steady_state(cl)
    attrs["kernel_dim_linear"] = kernel_dim
    rho_lin = _from_coords(np.concatenate(([1.0], y_lin)))
    rho_sym = None
    if parity:
        y_sym, sym_attrs = _symmetric_solution(cl, y_lin, t_max, accept_dist)
        attrs.update(sym_attrs)
        rho_sym = _from_coords(np.concatenate(([1.0], y_sym)))
        attrs["stability_symmetric"] = _stability(cl, y_sym)
    else:
        attrs["cmf_residual_symmetric"] = float("nan")
        attrs["stability_symmetric"] = float("nan")

    # stable solution: evolve from a slightly parity-broken state
    start = rho_sym if rho_sym is not None else rho_lin
    seed = (1 - seed_weight) * start + seed_weight * _SEED
    y, t_used, converged = _evolve(cl, _to_coords(seed)[1:], None, t_max, accept_dist)
    attrs["t_evolution"] = t_used
    attrs["converged"] = int(converged)
    y, res, n_newton = _newton(cl, y)
    rho = _from_coords(np.concatenate(([1.0], y)))
    attrs["cmf_residual"] = res
    attrs["newton_iterations"] = n_newton
    attrs["stability"] = _stability(cl, y)
    r0, r1 = _site_states(rho)
    attrs["abs_sm"] = float(max(abs(np.trace(r0 @ SM)), abs(np.trace(r1 @ SM))))
    attrs["min_eig"] = float(np.linalg.eigvalsh(rho).min())
    attrs["trace_error"] = float(abs(np.trace(rho) - 1))
    if rho_sym is not None:
        dist = min(np.linalg.norm(rho - rho_sym),
                   np.linalg.norm(_PARITY @ rho @ _PARITY - rho_sym))
        attrs["distance_to_symmetric"] = float(dist)
        attrs["branch"] = "symmetric" if dist < branch_tol else "broken"
        # the symmetric solution should be the stable one iff it is linearly stable
        attrs["branch_consistent"] = int((attrs["branch"] == "symmetric")
                                         == (attrs["stability_symmetric"] <= 1e-9 * cl.rate))
        attrs["min_eig_symmetric"] = float(np.linalg.eigvalsh(rho_sym).min())
    else:
        attrs["distance_to_symmetric"] = float("nan")
        attrs["branch"] = "broken"
        attrs["min_eig_symmetric"] = float("nan")
    return CMFResult(rho, rho_sym, attrs)


# ----------------------------------------------------------------------------- observables
def _observables(p: Params, rho: np.ndarray) -> dict:
    r0, r1 = _site_states(rho)
    inter = np.kron(r1, r0)  # product state of the pair (1, 0') of neighbouring clusters
    ieta, ij = current_eta_operator(p), current_J_operator(p)
    return {
        "current_eta": np.array([np.trace(rho @ ieta).real, np.trace(inter @ ieta).real]),
        "current_J": np.array([np.trace(rho @ ij).real, np.trace(inter @ ij).real]),
        "sz": np.array([np.trace(r0 @ SZ).real, np.trace(r1 @ SZ).real]),
        "purity_pair": purity(rho),
        "negativity_pair": negativity(rho, 2),
        "purity": purity(rho),
    }


def cmf_observables(p: Params, **solver_options) -> tuple[dict, dict]:
    """Observables of the cluster mean field (Sec. IV A, App. C) for ``p``.

    Returns ``(variables, attrs)``.  ``variables`` maps a name to ``(dims, array)``:

    * ``current_eta``, ``current_J`` (dims ``('bond',)``): on the intra-cluster bond (0, 1) and
      on the inter-cluster bond (1, 0'), the latter in the product state of two neighbouring
      clusters (``<sp_0' sm_1> = <sp_0><sm_1>``); operators of :mod:`lindring.core.model` (Eq. 14);
    * ``sz`` (``('site',)``), sites 0 and 1 of the cluster;
    * ``purity_pair``, ``negativity_pair`` (partial transpose on site 0) and ``purity``
      (all of the 2-site cluster state; ``purity`` = ``purity_pair``);
    * the same names with suffix ``_symmetric`` for the parity-symmetric solution (NaN when
      ``eps_x != 0``).

    ``attrs`` has ``branch`` (``'symmetric'`` / ``'broken'``), ``cmf_residual`` and
    ``cmf_residual_symmetric`` (``||F(rho)||``), ``t_evolution`` (integration time used),
    ``converged``, ``stability`` / ``stability_symmetric`` (largest real part of the eigenvalues
    of the linearised equations), ``abs_sm`` (largest ``|<sm_j>|``), ``distance_to_symmetric``,
    ``min_eig``, ``kernel_dim_linear`` and more.  ``solver_options`` go to :func:`cmf_solve`.
    """
    res = cmf_solve(p, **solver_options)
    values = _observables(p, res.rho)
    if res.rho_symmetric is not None:
        sym = _observables(p, res.rho_symmetric)
    else:
        sym = {k: np.full(np.shape(v), np.nan) for k, v in values.items()}
    values.update({k + "_symmetric": v for k, v in sym.items()})
    return data_vars("cmf", values), res.attrs


# ----------------------------------------------------------------------------- closed forms
def _z(a, d, mu):
    a2, d2 = a * a, d * d
    return (a2 - d2) ** 2 * (a2 * a2 + d2 * d2 + 3 * a2 * d2) + mu ** 2 * (a2 + d2) ** 2


def closed_form_current(a, d, mu):
    """Intra-cluster current at the symmetric solution, minimal model, real ``a``, ``d``.

    ``2 a^2 d^2 (a^2 - d^2)^3 / Z`` with ``Z`` of Eq. C3, as stated in ``MODEL.md``.  The
    paper's Eq. 24 prints ``4 a^2 d^2 (d^2 - a^2)^3 / Z``, i.e. ``-2`` times this value.
    """
    a2, d2 = a * a, d * d
    return 2 * a2 * d2 * (a2 - d2) ** 3 / _z(a, d, mu)


def closed_form_rho(a, d, mu) -> np.ndarray:
    """Symmetric-solution cluster state of App. C (Eq. C2-C8) with the corrections of ``MODEL.md``.

    Returned in the basis of :mod:`lindring.core.model` (``|00>, |01>, |10>, |11>``); the paper's
    index 1 is ``|11>`` and 4 is ``|00>``.  Entries (before the ``1/Z`` of Eq. C2)::

        rho11 = d^2 [(4 d^2 + a^2)(a^2 - d^2)^2 + 4 d^2 mu^2] / 4          (C4, as printed)
        rho44 = a^2 [(4 a^2 + d^2)(a^2 - d^2)^2 + 4 a^2 mu^2] / 4          (C6, as printed)
        rho22 = a^2 d^2 [5 (a^2 - d^2)^2 + 4 mu^2] / 4                      (C5, corrected)
        rho23 = -a^2 d^2 (a^2 - d^2)^2                                       (C7, sign corrected)
        rho14 = (a^2 + d^2 - i mu)(d^2 - a^2)(a^2 - d^2) a d / 2             (C8, corrected)

    with ``rho14 = <11| rho |00>`` (paper's row 1, column 4).  Besides the missing factor
    ``(a^2 - d^2)`` noted in ``MODEL.md``, with the conventions of ``MODEL.md``
    (``H = +mu n``, ``d rho/dt = -i[H, rho] + ...``) this element carries ``-i mu`` where C8
    prints ``+i mu``: the printed value (times ``(a^2 - d^2)``) is ``<00| rho |11>``, the complex
    conjugate.  This only fixes which of the two off-diagonal corners is which.
    """
    a2, d2 = a * a, d * d
    z = _z(a, d, mu)
    r11 = d2 * ((4 * d2 + a2) * (a2 - d2) ** 2 + 4 * d2 * mu ** 2) / 4
    r44 = a2 * ((4 * a2 + d2) * (a2 - d2) ** 2 + 4 * a2 * mu ** 2) / 4
    r22 = a2 * d2 * (5 * (a2 - d2) ** 2 + 4 * mu ** 2) / 4
    r23 = -a2 * d2 * (a2 - d2) ** 2
    r14 = (a2 + d2 - 1j * mu) * (d2 - a2) * (a2 - d2) * a * d / 2
    m = np.zeros((4, 4), dtype=complex)
    m[3, 3], m[0, 0] = r11, r44
    m[1, 1] = m[2, 2] = r22
    m[1, 2] = m[2, 1] = r23
    m[3, 0] = r14
    m[0, 3] = np.conj(r14)
    return m / z

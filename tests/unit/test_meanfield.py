"""Tests of the two-site cluster mean field (``lindring.solvers.meanfield``, paper Sec. IV A, App. C).

The reference values are (i) the closed forms of ``MODEL.md`` (the corrected Eq. 24 / App. C)
and (ii) an independent implementation of the self-consistent equations written here from
``MODEL.md`` alone: the product state of two neighbouring clusters, the exact Lindbladian of the
bond between them on the 16-dimensional space, and partial traces, integrated with a plain RK4
loop.  It shares no code with ``lindring.solvers.meanfield`` (it does not use the split of f into A, B
or the explicit mean-field Hamiltonians).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from lindring.solvers.meanfield import (closed_form_current, closed_form_rho, cmf_observables,
                                cmf_rhs, cmf_solve, cmf_symmetric_state)
from lindring.core.model import ModelError, make_params, polar

# ----------------------------------------------------------------------------- independent reference
# Conventions of MODEL.md, written out again: |0> = down = index 0, sp = |1><0|.
_sp = np.array([[0, 0], [1, 0]], dtype=complex)
_sm = _sp.T.copy()
_n = _sp @ _sm
_sz = np.diag([-1.0, 1.0]).astype(complex)
_sx = _sp + _sm
_i2 = np.eye(2, dtype=complex)


def _op(single: np.ndarray, site: int, nsites: int) -> np.ndarray:
    out = np.ones((1, 1), dtype=complex)
    for j in range(nsites):
        out = np.kron(out, single if j == site else _i2)
    return out


def _lindblad_parts(p, i: int, j: int, nsites: int):
    """Hamiltonian and jump of the bond (i, j) (i left, j right) as nsites-site operators."""
    s = lambda o, k: _op(o, k, nsites)  # noqa: E731
    h = p.J * s(_sp, i) @ s(_sm, j) + p.lam * s(_sp, i) @ s(_sp, j)
    h = h + h.conj().T + p.eps_zz * s(_sz, i) @ s(_sz, j)
    f = p.alpha * s(_sm, i) + p.beta * s(_sp, i) + p.gamma * s(_sm, j) + p.delta * s(_sp, j)
    return h, f


def _apply(h, jumps, rho):
    out = -1j * (h @ rho - rho @ h)
    for f in jumps:
        fd = f.conj().T
        out = out + f @ rho @ fd - 0.5 * (fd @ f @ rho + rho @ fd @ f)
    return out


class _Reference:
    """d rho_C/dt = L_intra(rho_C) + Tr_C'[L_b(rho_C x rho_C')] + Tr_C[L_b(rho_C x rho_C')]."""

    def __init__(self, p):
        # intra-cluster: sites (0, 1)
        h, f = _lindblad_parts(p, 0, 1, 2)
        for k in (0, 1):
            h = h + p.mu * _op(_n, k, 2) + p.eps_x * _op(_sx, k, 2)
        self.h_in = h
        self.j_in = [f] + [math.sqrt(p.kappa) * _op(_sm, k, 2) for k in (0, 1) if p.kappa > 0]
        # the bond between clusters C = (0, 1) and C' = (2, 3) joins sites 1 and 2
        self.h_b, f_b = _lindblad_parts(p, 1, 2, 4)
        self.j_b = [f_b]

    def rhs(self, rho):
        out = _apply(self.h_in, self.j_in, rho)
        big = _apply(self.h_b, self.j_b, np.kron(rho, rho)).reshape(4, 4, 4, 4)
        out = out + np.einsum("akbk->ab", big)   # trace out C': acts on site 1 of C
        out = out + np.einsum("kakb->ab", big)   # trace out C: acts on site 0 of C' ~ C
        return out


def _rk4_steady(ref, rho, dt, tol=1e-11, max_steps=40000):
    for _ in range(max_steps):
        k1 = ref.rhs(rho)
        if np.linalg.norm(k1) < tol:
            return rho
        k2 = ref.rhs(rho + 0.5 * dt * k1)
        k3 = ref.rhs(rho + 0.5 * dt * k2)
        k4 = ref.rhs(rho + dt * k3)
        rho = rho + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    raise AssertionError(f"RK4 reference did not converge, ||F|| = {np.linalg.norm(k1)}")


def _ref_observables(p, rho):
    r = rho.reshape(2, 2, 2, 2)
    r0, r1 = np.einsum("ikjk->ij", r), np.einsum("kikj->ij", r)
    eta = p.eta
    intra = -2 * (eta * np.trace(rho @ np.kron(_sm, _sp))).real          # <sp_1 sm_0>
    inter = -2 * (eta * np.trace(r0 @ _sp) * np.trace(r1 @ _sm)).real    # <sp_0'><sm_1>
    return np.array([intra, inter]), np.array([np.trace(r0 @ _sz).real, np.trace(r1 @ _sz).real])


_PAR = np.kron(_sz, _sz)


def _dist_mod_parity(a, b):
    return min(np.linalg.norm(a - b), np.linalg.norm(_PAR @ a @ _PAR - b))


def _minimal(r=None, theta=None, alpha=None, delta=None, **kw):
    if r is not None:
        alpha, delta = polar(r, theta)
    return make_params(4, preset="minimal", alpha=alpha, delta=delta, **kw)


# ----------------------------------------------------------------------------- the equations
@pytest.mark.parametrize("kw", [
    dict(preset="minimal", alpha=1.3, delta=0.4),
    dict(preset="minimal", alpha=1.2 + 0.3j, delta=0.5 - 0.2j, J0=0.7, phi=0.4, lam=0.2 + 0.1j,
         eps_zz=0.2, eps_x=0.15, kappa=0.1, mu=0.8),
    dict(alpha=1.0, beta=0.3 - 0.1j, gamma=0.2j, delta=0.5, mu=-0.3, J0=0.4, lam=0.3, kappa=0.2),
])
def test_rhs_matches_two_cluster_partial_trace(kw):
    """The A/B split with mean-field Hamiltonians equals tracing out the neighbour cluster."""
    p = make_params(5, **kw)
    ref = _Reference(p)
    rng = np.random.default_rng(1)
    for _ in range(3):
        m = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
        rho = m @ m.conj().T
        rho /= np.trace(rho)
        np.testing.assert_allclose(cmf_rhs(p, rho), ref.rhs(rho), atol=1e-13)


# ----------------------------------------------------------------------------- closed forms
_GRID = [0.15, 0.4, 0.8, 1.0, 1.3, 1.9, 2.6]


@pytest.mark.parametrize("mu", [1.0, 0.5])
def test_symmetric_current_closed_form(mu):
    """Intra-cluster current at the symmetric solution = 2 a^2 d^2 (a^2-d^2)^3 / Z (MODEL.md)."""
    for a in _GRID:
        for d in _GRID:
            p = _minimal(alpha=a, delta=d, mu=mu)
            rho = cmf_symmetric_state(p)
            cur = _ref_observables(p, rho)[0][0]
            assert cur == pytest.approx(closed_form_current(a, d, mu), abs=1e-10, rel=1e-10)
            # the printed Eq. 24 is -2 times the true value
            z = (a * a - d * d) ** 2 * (a ** 4 + d ** 4 + 3 * a * a * d * d) \
                + mu ** 2 * (a * a + d * d) ** 2
            eq24_printed = 4 * a * a * d * d * (d * d - a * a) ** 3 / z
            assert eq24_printed == pytest.approx(-2 * cur, abs=1e-10, rel=1e-10)


@pytest.mark.parametrize("mu", [1.0, 0.5])
def test_appendix_c_density_matrix(mu):
    """App. C, Eq. C2-C8, paper index 1 = |11>, 4 = |00> (rho11 grows with delta)."""
    for a in _GRID[::2]:
        for d in _GRID[1::2]:
            p = _minimal(alpha=a, delta=d, mu=mu)
            rho = cmf_symmetric_state(p)
            a2, d2 = a * a, d * d
            z = (a2 - d2) ** 2 * (a2 * a2 + d2 * d2 + 3 * a2 * d2) + mu ** 2 * (a2 + d2) ** 2
            rho11 = d2 * ((4 * d2 + a2) * (a2 - d2) ** 2 + 4 * d2 * mu ** 2) / 4       # as printed
            rho44 = a2 * ((4 * a2 + d2) * (a2 - d2) ** 2 + 4 * a2 * mu ** 2) / 4       # as printed
            rho22_printed = a2 * (a2 * d2 * (5 * (a2 - d2) + 4 * mu ** 2)) / 4
            rho22 = a2 * d2 * (5 * (a2 - d2) ** 2 + 4 * mu ** 2) / 4                  # corrected
            rho23_printed = a2 * d2 * (a2 - d2) ** 2
            rho14_printed = (a2 + d2 + 1j * mu) * (d2 - a2) * a * d / 2
            # normalisation of Eq. C2: rho = matrix / Z, Tr = 1 <=> rho11 + 2 rho22 + rho44 = Z
            assert rho11 + 2 * rho22 + rho44 == pytest.approx(z, rel=1e-12)
            assert abs(rho11 + 2 * rho22_printed + rho44 - z) > 1e-6 * z   # printed C5 is off
            tol = dict(abs=1e-12)
            assert rho[3, 3].real == pytest.approx(rho11 / z, **tol)
            assert rho[0, 0].real == pytest.approx(rho44 / z, **tol)
            assert rho[1, 1].real == pytest.approx(rho22 / z, **tol)
            assert rho[2, 2].real == pytest.approx(rho22 / z, **tol)
            assert rho[1, 2] == pytest.approx(-rho23_printed / z, **tol)      # sign flipped
            assert rho[2, 1] == pytest.approx(-rho23_printed / z, **tol)
            # rho14 lacks a factor (a^2 - d^2); with H = +mu n the printed expression is the
            # (4, 1) element <00|rho|11>, i.e. <11|rho|00> carries -i mu (not in MODEL.md)
            assert rho[0, 3] == pytest.approx(rho14_printed * (a2 - d2) / z, **tol)
            assert rho[3, 0] == pytest.approx(np.conj(rho14_printed) * (a2 - d2) / z, **tol)
            # X structure: everything else vanishes
            mask = np.ones((4, 4), bool)
            mask[[0, 1, 1, 2, 2, 3, 0, 3], [0, 1, 2, 1, 2, 3, 3, 0]] = False
            assert np.abs(rho[mask]).max() < 1e-13
            np.testing.assert_allclose(closed_form_rho(a, d, mu), rho, atol=1e-12)


# ----------------------------------------------------------------------------- branches
_BROKEN = [(2.0, math.pi / 8), (5.0, math.pi / 16), (5.0, math.pi / 8), (5.0, 3 * math.pi / 16),
           (5.0, 5 * math.pi / 16), (5.0, 7 * math.pi / 16)]


@pytest.mark.parametrize("r,theta", _BROKEN)
def test_broken_branch(r, theta):
    p = _minimal(r, theta)
    res = cmf_solve(p)
    v, at = cmf_observables(p)
    assert at["branch"] == "broken"
    assert at["branch_consistent"] == 1
    assert at["stability_symmetric"] > 0.01      # the symmetric solution is unstable ...
    assert at["stability"] < 0                   # ... the one found is stable
    assert at["cmf_residual"] < 1e-12
    assert at["cmf_residual_symmetric"] < 1e-12
    assert at["abs_sm"] > 0.1
    cur, cur_sym = v["current_eta"][1], v["current_eta_symmetric"][1]
    assert abs(cur[0] - cur_sym[0]) > 0.05
    assert abs(cur[1]) > 0.05 and cur_sym[1] == pytest.approx(0, abs=1e-12)
    alpha, delta = polar(r, theta)
    assert cur_sym[0] == pytest.approx(closed_form_current(alpha, delta, 1.0), abs=1e-10)

    # independent reference: plain RK4 on the two-cluster formulation, from a state of its own
    ref = _Reference(p)
    psi0 = np.array([1.0, 0.6 + 0.2j]) / np.linalg.norm([1.0, 0.6 + 0.2j])
    psi1 = np.array([0.4, -1.0 + 0.5j]) / np.linalg.norm([0.4, -1.0 + 0.5j])
    psi = np.kron(psi0, psi1)
    rho0 = 0.99 * np.eye(4) / 4 + 0.01 * np.outer(psi, psi.conj())
    rho_ref = _rk4_steady(ref, rho0, dt=0.6 / (2 * r * r))
    assert np.linalg.norm(ref.rhs(res.rho)) < 1e-11
    assert _dist_mod_parity(res.rho, rho_ref) < 1e-6
    cur_ref, sz_ref = _ref_observables(p, rho_ref)
    np.testing.assert_allclose(cur, cur_ref, atol=1e-6)
    np.testing.assert_allclose(v["sz"][1], sz_ref, atol=1e-6)
    np.testing.assert_allclose(v["purity"][1], np.trace(rho_ref @ rho_ref).real, atol=1e-6)


@pytest.mark.parametrize("theta", [0.0, math.pi / 16, math.pi / 8, math.pi / 4, 3 * math.pi / 8,
                                   math.pi / 2])
def test_r1_is_symmetric(theta):
    alpha, delta = polar(1.0, theta)
    v, at = cmf_observables(_minimal(1.0, theta))
    assert at["branch"] == "symmetric"
    assert at["cmf_residual"] < 1e-12
    assert at["abs_sm"] < 1e-10
    cur = v["current_eta"][1]
    assert cur[0] == pytest.approx(closed_form_current(alpha, delta, 1.0), abs=1e-10)
    assert cur[1] == pytest.approx(0, abs=1e-12)
    for name in ("current_eta", "current_J", "sz", "purity", "purity_pair", "negativity_pair"):
        np.testing.assert_allclose(v[name][1], v[name + "_symmetric"][1], atol=1e-9)


def test_r1_against_reference_integration():
    p = _minimal(1.0, math.pi / 8)
    ref = _Reference(p)
    rho_ref = _rk4_steady(ref, np.eye(4, dtype=complex) / 4, dt=0.3)
    v, _ = cmf_observables(p)
    cur_ref, sz_ref = _ref_observables(p, rho_ref)
    np.testing.assert_allclose(v["current_eta"][1], cur_ref, atol=1e-9)
    np.testing.assert_allclose(v["sz"][1], sz_ref, atol=1e-9)


@pytest.mark.parametrize("s", [1e-12, 1e-20, 1e12])
def test_every_rate_scaled_gives_the_same_state(s):
    """Scaling every rate by s (alpha, delta by sqrt(s), mu by s) scales F by s: the same
    stable state, current / s and sz. Newton's and the evolution's tolerances had an absolute
    floor (max(1, rate)), so below rates of ~1e-11 a point that was not a fixed point
    (||F|| / rate = 3e-3) was accepted and written: current 0.537 instead of 0.569 at
    r = 2.5, theta = atan(3/4), exit status 0. The state is checked against the independent
    two-cluster equations (_Reference) at its own scale."""
    alpha, delta = 2.0, 1.5
    p1 = make_params(4, preset="minimal", alpha=alpha, delta=delta)
    ps = make_params(4, preset="minimal", alpha=alpha * math.sqrt(s), delta=delta * math.sqrt(s),
                     mu=s)
    one, at1 = cmf_observables(p1)
    v, at = cmf_observables(ps)
    rho = cmf_solve(ps).rho
    assert np.linalg.norm(_Reference(ps).rhs(rho)) / s < 1e-11
    assert at["branch"] == at1["branch"] == "broken"
    np.testing.assert_allclose(v["current_eta"][1] / s, one["current_eta"][1], atol=1e-9)
    np.testing.assert_allclose(v["sz"][1], one["sz"][1], atol=1e-9)
    assert at["cmf_residual"] / s < 1e-13


def test_a_state_that_is_not_a_fixed_point_is_refused():
    """The check run_method makes before a cmf result is written (methods.check_cmf_solution)."""
    from lindring.solvers.methods import VerificationError, check_cmf_solution
    p = make_params(4, preset="minimal", alpha=2e-6, delta=1.5e-6, mu=1e-12)
    check_cmf_solution({"cmf_residual": 1e-24, "cmf_residual_symmetric": float("nan")}, p)
    with pytest.raises(VerificationError, match="stable mean-field solution is not a fixed point"):
        check_cmf_solution({"cmf_residual": 3e-15, "cmf_residual_symmetric": 1e-27}, p)


# ----------------------------------------------------------------------------- output and errors
def test_output_structure():
    v, at = cmf_observables(_minimal(2.0, math.pi / 8))
    for base in ("current_eta", "current_J", "sz", "purity_pair", "negativity_pair", "purity"):
        for name in (base, base + "_symmetric"):
            dims, arr = v[name]
            assert isinstance(dims, tuple) and np.ndim(arr) == len(dims)
            assert np.all(np.isfinite(arr))
    assert v["current_eta"][0] == ("bond",) and v["current_eta"][1].shape == (2,)
    assert v["sz"][0] == ("site",) and v["sz"][1].shape == (2,)
    assert v["purity"][1] == pytest.approx(v["purity_pair"][1])
    assert at["branch"] in ("symmetric", "broken")
    for key in ("cmf_residual", "cmf_residual_symmetric", "t_evolution", "converged"):
        assert key in at
    assert at["min_eig"] > -1e-12 and at["trace_error"] < 1e-12


def test_eps_zz_symmetric_solution_is_self_consistent():
    """With eps_zz the mean field eps_zz <sz> sz survives at the symmetric solution."""
    p = _minimal(1.0, math.pi / 8, eps_zz=0.3)
    rho = cmf_symmetric_state(p)
    assert np.linalg.norm(cmf_rhs(p, rho)) < 1e-12
    assert np.linalg.norm(_Reference(p).rhs(rho)) < 1e-12
    assert abs(rho[0, 1]) + abs(rho[0, 2]) + abs(rho[1, 3]) + abs(rho[2, 3]) < 1e-13


def test_eps_x_has_one_branch():
    p = _minimal(1.0, math.pi / 8, eps_x=0.2)
    v, at = cmf_observables(p)
    assert at["parity_symmetric_model"] == 0 and at["branch"] == "broken"
    assert at["cmf_residual"] < 1e-12
    assert np.all(np.isnan(v["current_eta_symmetric"][1]))
    ref = _Reference(p)
    assert np.linalg.norm(ref.rhs(cmf_solve(p).rho)) < 1e-11
    with pytest.raises(ModelError, match="parity"):
        cmf_symmetric_state(p)


@pytest.mark.parametrize("kw,match", [(dict(bc="open"), "ring"), (dict(range=2), "range")])
def test_unsupported(kw, match):
    p = make_params(6, preset="minimal", alpha=1.0, delta=0.5, **kw)
    with pytest.raises(ModelError, match=match):
        cmf_observables(p)


def test_no_dissipation_is_rejected():
    p = make_params(4, J0=1.0, mu=1.0)
    with pytest.raises(ModelError, match="dissipation"):
        cmf_observables(p)

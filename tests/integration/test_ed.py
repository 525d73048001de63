"""ED steady states against the independent dense reference, analytic cases and symmetries."""
import math

import numpy as np
import pytest
import scipy.sparse as sps
import scipy.sparse.linalg as spla

from dense_reference import dense_liouvillian, dense_observables, dense_steady_state
from lindring.core import model
from lindring.solvers.methods import run_ed

#: every term switched on, complex where the model allows it
FULL = dict(J0=0.7 + 0.2j, phi=0.9, lam=0.3 - 0.1j, mu=0.8, kappa=0.25, eps_x=0.15, eps_zz=0.2,
            alpha=1.3 + 0.4j, beta=0.35 - 0.2j, gamma=0.6 + 0.5j, delta=0.9 - 0.3j)


def ed(L, bc, solver="direct", **kw):
    p = model.make_params(L, bc=bc, **kw)
    data, attrs = run_ed(p, solver=solver)
    return {k: v for k, (dims, v) in data.items()}, attrs, p


def dense(L, bc, **kw):
    rho, kdim = dense_steady_state(dense_liouvillian(L, bc, **kw))
    assert kdim == 1
    return dense_observables(rho, L, bc, **kw)


def assert_same(ours, ref, keys=("current_eta", "current_J", "sz", "purity", "purity_pair",
                                 "negativity_pair", "negativity_half"), atol=1e-10):
    for k in keys:
        np.testing.assert_allclose(ours[k], ref[k], atol=atol, rtol=0, err_msg=k)
    np.testing.assert_allclose(ours["min_eigenvalue"], ref["min_eig"], atol=atol)


@pytest.mark.parametrize("L,bc,rng", [(3, "ring", 1), (4, "ring", 1), (5, "ring", 1),
                                      (2, "open", 1), (4, "open", 1), (5, "open", 1),
                                      (4, "ring", 2), (5, "open", 2)])
def test_ed_matches_dense_reference_all_terms(L, bc, rng):
    ours, attrs, _ = ed(L, bc, range=rng, **FULL)
    ref = dense(L, bc, range=rng, **FULL)
    keys = ("current_eta", "current_J", "sz", "purity", "purity_pair", "negativity_pair",
            "negativity_half") + (("current_eta_pair",) if rng == 2 else ())
    assert_same(ours, ref, keys=keys)
    if rng == 1:
        assert "current_eta_pair" not in ours
    assert ours["kernel_dim"] == 1
    assert ours["residual"] < 1e-12 and ours["trace_error"] < 1e-12


@pytest.mark.slow
@pytest.mark.parametrize("solver", ["direct", "iterative"])
def test_ed_L6_ring_against_sparse_reference(solver):
    """L = 6: the reference matrix (independent construction) solved with scipy's sparse LU.

    Opt-in (``-m slow``): building the dense 4^6 reference and its LU take about a minute."""
    kw = dict(FULL, kappa=0.1)
    ours, _, _ = ed(6, "ring", solver=solver, **kw)
    Lm = sps.csr_matrix(dense_liouvillian(6, "ring", **kw)).tolil()
    D = 2 ** 6
    Lm[0, :] = 0
    Lm[0, [k * D + k for k in range(D)]] = 1.0
    rhs = np.zeros(D * D, complex)
    rhs[0] = 1
    rho = spla.spsolve(Lm.tocsc(), rhs).reshape(D, D)
    ref = dense_observables(rho, 6, "ring", **kw)
    assert_same(ours, ref, atol=1e-9 if solver == "iterative" else 1e-10)


def test_two_site_resonance_fluorescence_analytic():
    """Only one-site terms: each site is a driven, damped two-level atom (Bloch equations).

    H = mu n + eps_x sx, decay kappa: sz = -(mu^2 + kappa^2/4) / (mu^2 + kappa^2/4 + 2 eps_x^2).
    """
    mu, kappa, ex = 0.7, 0.9, 0.4
    ours, _, _ = ed(2, "open", mu=mu, kappa=kappa, eps_x=ex)
    expected = -(mu ** 2 + kappa ** 2 / 4) / (mu ** 2 + kappa ** 2 / 4 + 2 * ex ** 2)
    np.testing.assert_allclose(ours["sz"], [expected, expected], atol=1e-12)
    # a product state: no entanglement, and the pair purity is the square of one site's purity
    p1 = (1 + expected ** 2 + (2 * ex * math.hypot(mu, kappa / 2)
                               / (mu ** 2 + kappa ** 2 / 4 + 2 * ex ** 2)) ** 2) / 2
    np.testing.assert_allclose(ours["purity_pair"], p1 ** 2, atol=1e-12)
    assert abs(ours["negativity_pair"]) < 1e-12


def test_two_site_singlet_is_dark():
    """Minimal model on two sites: the singlet is a second steady state (MODEL.md)."""
    ours, attrs, _ = ed(2, "open", preset="minimal", alpha=2, delta=1.5)
    assert ours["kernel_dim"] == 2
    assert np.isnan(ours["current_eta"]).all() and np.isnan(ours["sz"]).all()
    assert attrs["unique"] == 0


@pytest.mark.parametrize("L", [3, 4, 5])
def test_ring_current_uniform_and_antisymmetric(L):
    a, d = 2.0, 1.5
    fwd, _, _ = ed(L, "ring", preset="minimal", alpha=a, delta=d)
    bwd, _, _ = ed(L, "ring", preset="minimal", alpha=d, delta=a)
    np.testing.assert_allclose(fwd["current_eta"], fwd["current_eta"][0], atol=1e-12)
    assert abs(fwd["current_eta"][0]) > 0.1
    np.testing.assert_allclose(bwd["current_eta"], -fwd["current_eta"], atol=1e-11)
    np.testing.assert_allclose(bwd["sz"], -fwd["sz"], atol=1e-11)  # particle-hole
    same, _, _ = ed(L, "ring", preset="minimal", alpha=1.2, delta=1.2)
    np.testing.assert_allclose(same["current_eta"], 0, atol=1e-12)


@pytest.mark.parametrize("L", [4, 6])
def test_even_ring_dark_state_at_delta_zero(L):
    ours, attrs, _ = ed(L, "ring", preset="minimal", alpha=1.0, delta=0.0)
    assert ours["kernel_dim"] == 2
    assert np.isnan(ours["current_eta"]).all()


def test_odd_ring_unique_at_delta_zero():
    ours, _, _ = ed(5, "ring", preset="minimal", alpha=1.0, delta=0.0)
    assert ours["kernel_dim"] == 1


def test_flux_current_odd_in_phi_and_periodic_in_2_pi_L():
    """Fig. 2 model. Complex conjugation maps L(phi) to L(-phi) (real lam, kappa), so the flux
    current is odd in phi. J = J0 exp(i phi/L) makes it 2 pi L periodic; with lam != 0 particle
    number is not conserved and no gauge transformation shortens the period to 2 pi (measured:
    I(0.8) and I(0.8 + 2 pi) differ), so only the exact statements are asserted."""
    base = dict(J0=1.5, lam=0.5, mu=1.0, kappa=0.1)
    cur = {phi: ed(4, "ring", phi=phi, **base)[0]["current_J"]
           for phi in (0.0, 0.8, -0.8, 0.8 + 8 * np.pi)}
    assert abs(cur[0.8][0]) > 1e-3
    np.testing.assert_allclose(cur[0.0], 0, atol=1e-12)
    np.testing.assert_allclose(cur[-0.8], -cur[0.8], atol=1e-10)
    np.testing.assert_allclose(cur[0.8 + 8 * np.pi], cur[0.8], atol=1e-10)
    np.testing.assert_allclose(cur[0.8], cur[0.8][0], atol=1e-12)


def test_gap_matches_dense_spectrum():
    p = model.make_params(4, bc="ring", preset="minimal", alpha=2, delta=1.5)
    data, _ = run_ed(p, solver="direct", gap=True, symmetry="none")   # the full-space gap
    ev = np.linalg.eigvals(dense_liouvillian(4, "ring", **dict(mu=1.0, alpha=2, delta=1.5,
                                                               gamma=2, beta=1.5)))
    ev = ev[np.abs(ev) > 1e-8]
    assert data["gap"][1] == pytest.approx(-ev.real.max(), abs=1e-8)

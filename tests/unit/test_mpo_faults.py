"""Faults of the MPO solver found by a new user's runs (helper branch ``mpofix``).

References: the independent dense construction in ``dense_reference.py`` (no lindring code);
at L <= 5 a bond dimension of 16 holds every state exactly.
"""
import numpy as np
import pytest
from dense_reference import dense_liouvillian, dense_observables, dense_steady_state

import lindring.solvers.mpo as mpo
from lindring.core.model import make_params
from lindring.solvers.mpo import MPOFailure, MPOThresholds, evolve_and_refine, mpo_observables

#: the new user's point (F3a): coherent hopping with flux, local decay, both perturbations
F3A = dict(J0=2, phi=0.7, mu=1, kappa=0.2, eps_x=0.5, eps_zz=0.5)


def _evolve(p, initial, chi, chi_tebd, cutoff=1e-12, t_max=4.0):
    return evolve_and_refine(p, initial, chi=chi, chi_tebd=chi_tebd, dt=0.1, order=4,
                             cutoff=cutoff, t_max=t_max, check_every=1.0, target=1e-2,
                             max_sweeps=2, lsqr_iters=20, th=MPOThresholds(),
                             say=lambda m: None, do_refine=False)


def test_small_evolution_chi_below_an_exact_chi_is_raised_not_refused():
    """F3a: the evolution keeps fewer states (chi_tebd) than the exact chi for speed; from the
    random start its truncation changed the trace by 5e-2 and the point was refused as 'bond
    dimension too small' although chi was exact. Now the evolution's bond dimension grows
    (up to chi) instead; the same truncation at the user's own (inexact) chi is still refused."""
    p = make_params(4, bc="open", **F3A)
    state, info = _evolve(p, "random", chi=16, chi_tebd=2)
    assert state.max_bond > 2 and info["chi_max_during_run"] <= 16
    with pytest.raises(MPOFailure) as err:
        _evolve(p, "random", chi=2, chi_tebd=2)
    assert err.value.kind == "bond dimension too small" and "raise --chi" in str(err.value)


def test_the_discarded_weight_is_named_per_svd_and_summed():
    """F3b: 'a relative weight 2.81' was the sum of the relative weights dropped by all the SVDs
    of one interval (each in [0, 1], thousands of them); the message now gives the largest one
    (a relative weight, <= 1) and calls the sum a sum."""
    p = make_params(4, bc="open", **F3A)
    with pytest.raises(MPOFailure) as err:
        _evolve(p, "random", chi=2, chi_tebd=2)
    msg = str(err.value)
    per_svd = float(msg.split("up to a relative weight ")[1].split()[0])
    summed = float(msg.split("(summed: ")[1].split(")")[0])
    assert 0 < per_svd <= 1 and summed >= per_svd and "truncating SVDs" in msg


def test_a_cutoff_that_spoils_an_exact_chi_is_named_as_the_cutoff():
    """At an exact chi only the SVD cutoff drops anything: a huge --cutoff is refused as 'cutoff
    too large', never as 'bond dimension too small'."""
    p = make_params(4, bc="open", **F3A)
    with pytest.raises(MPOFailure) as err:
        _evolve(p, "random", chi=16, chi_tebd=16, cutoff=0.3)
    assert err.value.kind == "cutoff too large" and "lower --cutoff" in str(err.value)


def test_exact_chi_with_a_small_evolution_chi_agrees_with_dense(monkeypatch):
    """The whole pipeline of F3a (two starts, the second from the random state) at L = 4 with
    the evolution's bond dimension lowered to 4 below the exact chi 16 (the L = 6, chi 64 case
    in miniature): unique, and within its written error estimate of the dense steady state."""
    monkeypatch.setattr(mpo, "CHI_TEBD", 4)
    L = 4
    data, attrs = mpo_observables(make_params(L, bc="open", **F3A), chi=16, progress=False)
    _within_estimate_of_dense(data, attrs, L, F3A, rounding=1e-11)


def _within_estimate_of_dense(data, attrs, L, model, rounding, **dense):
    """The MPO point is unique, as the dense steady state, and its sz and current_J are within
    its written error estimate of it: |<O>_1 - <O>_2| <= ||O|| ||rho_1 - rho_2||_1 <= 2^(L/2)
    ||rho|| est (||O|| <= 1; the current_J operator has norm 2|J|), plus the dense reference's
    own ``rounding``."""
    rho, kdim = dense_steady_state(dense_liouvillian(L, "open", **model), **dense)
    ref = dense_observables(rho, L, "open", **model)
    assert kdim == 1 and attrs["unique"] == 1
    bound = 2 ** (L / 2) * float(data["error_estimate"][1]) + rounding
    assert np.abs(data["sz"][1] - ref["sz"]).max() <= bound
    assert np.abs(data["current_J"][1] - ref["current_J"]).max() <= bound * 2 * model["J0"]


def test_a_target_residual_of_one_or_more_is_refused_before_compute():
    """--mpo-tol 1e300 ended in an OverflowError traceback (the SVD cutoff is derived from the
    target's square); a relative residual target must be below 1, refused as a ModelError by the
    option registry (exit 2 on the command line) and by the solver itself."""
    from lindring.core.model import ModelError
    from lindring.core.options import OPTIONS
    with pytest.raises(ModelError, match="--mpo-tol must be < 1"):
        OPTIONS["mpo_tol"].check(1e300)
    with pytest.raises(ModelError, match="in \\(0, 1\\)"):
        mpo_observables(make_params(3, bc="open", **F3A), tol=1e300, progress=False)


def test_the_plan_of_a_huge_chi_is_that_of_the_exact_chi():
    """--chi 1000000 at L = 4 was refused for needing 7.8e9 MB although no bond of 4 sites
    holds more than 4^2 = 16 states: the plan counts min(chi, 4^(L // 2))."""
    from lindring.solvers.mpo import exact_chi, largest_bond
    from lindring.workflow.plan import plan_mpo
    assert [largest_bond(L) for L in (2, 3, 4, 5, 6)] == [4, 4, 16, 16, 64]
    assert exact_chi(6, 64) and exact_chi(7, 64) and not exact_chi(6, 63) and not exact_chi(8, 64)
    assert plan_mpo(4, 10 ** 6).mem_mb_total == plan_mpo(4, 16).mem_mb_total < 1000
    assert plan_mpo(30, 128).mem_mb_total > plan_mpo(30, 64).mem_mb_total


def test_a_slow_mode_between_the_kernel_cutoffs_is_not_called_non_unique():
    """L = 4, J0 = 1, kappa = 1e-9: hopping conserves the number of excitations and the decay
    empties the chain, so the vacuum is the unique steady state (dense reference: kernel 1,
    slowest rate 2.5e-10 x rate). The projected Liouvillian's slow modes at 5e-10 x rate were
    counted as kernel (cutoff 1e-8) and the point written as NaN, 'non-unique'. Now eigenvalues
    are zero below ED's cutoff (1e-12), the slow mode bounds the error, and the state is the
    vacuum within its written error estimate."""
    L, model = 4, dict(J0=1, kappa=1e-9)
    rho, kdim = dense_steady_state(dense_liouvillian(L, "open", **model), tol=1e-13)
    ref = dense_observables(rho, L, "open", **model)
    assert kdim == 1 and np.allclose(ref["sz"], -1)
    data, attrs = mpo_observables(make_params(L, bc="open", **model), progress=False)
    assert attrs["unique"] == 1 and int(data["kernel_dim"][1]) == 1
    assert attrs["spectral_kernel_tol"] == 1e-12
    slow = float(data["slow_rate_seen"][1])
    assert 1e-12 < slow < 1e-8
    est = float(data["error_estimate"][1])
    assert est <= attrs["agreement_tol"]
    assert np.abs(data["sz"][1] - ref["sz"]).max() <= 2 ** (L / 2) * est


def test_a_small_variational_space_does_not_make_a_kernel():
    """L = 3, mu = -73, gamma = 0.013, J0 = -0.035, eps_x = -2.3e-4 (found by fuzzing against the
    dense reference): the steady state is nearly the vacuum, refined at bonds (1, 2); the
    projected Liouvillian of that small space had two eigenvalues below 1e-12 x rate and the
    point was written as NaN, 'non-unique', while the dense Liouvillian has one zero and its
    slowest rate at 7.8e-7 x rate. The decision is now made again in the completed space
    (the whole space at L <= 6), and the point agrees with the dense steady state."""
    L = 3
    model = dict(J0=-0.03524042329502177, mu=-72.79817018388812, eps_x=-0.00022513472237881742,
                 gamma=0.013038350705929744)
    rho, kdim = dense_steady_state(dense_liouvillian(L, "open", **model), tol=1e-13)
    ref = dense_observables(rho, L, "open", **model)
    data, attrs = mpo_observables(make_params(L, bc="open", **model), progress=False)
    assert kdim == 1 and attrs["unique"] == 1 and attrs["spectrum_complete"] == 1
    assert "block bases completed" in attrs["uniqueness_checked"]
    est = float(data["error_estimate"][1])
    assert np.abs(data["sz"][1] - ref["sz"]).max() <= 2 ** (L / 2) * est + 1e-12


def test_padding_keeps_the_vector_and_completes_the_bases():
    """VectorisedMPS.padded: the same vector, bonds at their largest Schmidt rank, right-
    orthonormal tensors (so the projected space at any bond is the whole space)."""
    from lindring.solvers.mpo import VectorisedMPS
    rng = np.random.default_rng(5)
    dims = [1, 2, 3, 1]
    st = VectorisedMPS([rng.normal(size=(dims[j], 4, dims[j + 1])) for j in range(3)])
    big = st.padded([64, 64])
    assert big.bond_dims == [4, 4]
    assert np.allclose(big.to_vector(), st.to_vector(), atol=1e-13)
    for A in big.A[1:]:
        M = A.reshape(A.shape[0], -1)
        assert np.allclose(M @ M.T, np.eye(A.shape[0]), atol=1e-12)


def test_a_kernel_outside_the_small_space_of_a_product_state_is_found():
    """L = 3, eps_x 5.3, gamma 14-18.8j, delta -32.6+6.9j (found by fuzzing): the dense
    Liouvillian has a kernel of dimension 2 (ED: NaN), but both starts refined to the same
    product steady state, whose two-site space (16 unknowns) showed one zero: the MPO wrote
    numbers with unique = 1. Up to L = 6 the decision is now made in the whole space."""
    L = 3
    model = dict(eps_x=5.31943179906221, gamma=13.99244851215634 - 18.793606664746633j,
                 delta=-32.59868330937276 + 6.859084002965181j)
    _, kdim = dense_steady_state(dense_liouvillian(L, "open", **model), tol=1e-12)
    assert kdim == 2
    data, attrs = mpo_observables(make_params(L, bc="open", **model), progress=False)
    assert attrs["unique"] == 0 and int(data["kernel_dim"][1]) == 2
    assert np.all(np.isnan(data["sz"][1]))


def test_two_starts_that_differ_only_in_an_unobserved_state_are_distinct(monkeypatch):
    """The same free spin (site 0: eps_x only, no dissipation, <sigma^x_0> conserved) at L = 4
    with the whole-space spectrum switched off (as beyond L = 6, where the MPO wrote numbers
    with unique = 1 at L = 7): the two starts refine to steady states with the same sz and
    currents but different <sigma^x_0>; their distance ||x1 - x2|| / ||x1|| (start_distance)
    with a stationary difference now makes the point non-unique (dense: kernel 2)."""
    monkeypatch.setattr(mpo, "PAD_WHOLE_MAX_L", 0)
    L = 4
    model = dict(eps_x=5.31943179906221, gamma=13.99244851215634 - 18.793606664746633j,
                 delta=-32.59868330937276 + 6.859084002965181j)
    assert dense_steady_state(dense_liouvillian(L, "open", **model), tol=1e-12)[1] == 2
    data, attrs = mpo_observables(make_params(L, bc="open", **model), progress=False)
    assert attrs["spectrum_complete"] == 0 and "completed" not in attrs["uniqueness_checked"]
    assert float(data["start_difference"][1]) <= attrs["agreement_tol"]
    assert float(data["start_distance"][1]) > attrs["agreement_tol"]
    assert float(data["slow_rate_bound"][1]) <= attrs["kernel_tol"]
    assert attrs["unique"] == 0 and int(data["kernel_dim"][1]) == 2


def test_weak_dissipation_hands_the_evolution_over_after_a_step_budget(monkeypatch):
    """J0 = 1e4 beside kappa = 0.2 (coupling / jump rate 5e4): dt follows the fastest rate
    (1e-4) while the state relaxes at the rate kappa, so the random start evolved 2e5 steps
    (200 s at L = 3) before reaching the hand-over residual. The evolution is a start for the
    sweeps only: it now checks after 128 steps, doubling the interval, and hands over after
    WARM_MAX_STEPS steps (here lowered to 500 to keep the test short); the point agrees with
    the dense steady state within its written error estimate."""
    monkeypatch.setattr(mpo, "WARM_MAX_STEPS", 500)
    L, model = 3, dict(J0=1e4, kappa=0.2, eps_x=0.5)
    data, attrs = mpo_observables(make_params(L, bc="open", **model), progress=False)
    assert attrs["dt"] == pytest.approx(1e-4) and attrs["steps"] <= 128 + 256 + 512
    _within_estimate_of_dense(data, attrs, L, model, rounding=1e-12, tol=1e-13)


def test_no_refinement_sweeps_is_named_as_the_reason():
    """--refine-sweeps 0 left the evolution's residual above the threshold; the refusal said
    'the local solves did not converge (a slow mode)': it now names the option."""
    with pytest.raises(MPOFailure, match="--refine-sweeps 0"):
        mpo_observables(make_params(3, bc="open", preset="minimal", alpha=2, delta=1),
                        max_sweeps=0, progress=False)


def test_a_warm_start_option_given_to_the_mpo_is_named_alone():
    """--initial-guess given to --method mpo was refused as 'not an option of --method mpo:
    --initial-guess, --save-state', naming an option that was not given."""
    from lindring import api
    from lindring.core.model import ModelError
    p = make_params(3, bc="open", **F3A)
    with pytest.raises(ModelError) as err:
        api.check_warm_start("mpo", p, {}, api.warm_start(initial_guess="/nonexistent"))
    assert "--initial-guess (an option of --method ed)" in str(err.value)
    assert "--save-state" not in str(err.value)
    with pytest.raises(ModelError, match="--save-state \\(an option"):
        api.check_warm_start("mpo", p, {}, api.warm_start(save_state="/tmp/x.h5"))

"""Certified MPO steady states (issue 12): exact residual, refinement, time step from the rates,
physical checks, uniqueness from two starts, and the failure modes.

References: the independent dense construction in ``dense_reference.py`` (no lindring code). At
L <= 5 a bond dimension of 16 holds every state exactly, so there the refined MPO must reproduce the
dense steady state to rounding; larger L against ED runs through the CLI (test_mpo_cli.py).
"""
import functools

import numpy as np
import pytest
from dense_reference import (dense_liouvillian, dense_observables, dense_steady_state,
                             minimal_params)
from test_mpo import ALL_TERMS, _dense_residual, _pauli_unitary

from lindring.core.model import ModelError, make_params
from lindring.core.basis import rowmajor_to_words
from lindring.solvers.mpo import (TEBD, MPOFailure, MPOThresholds, VectorisedMPS, bond_generators,
                                  check_dt, default_dt, evolve_and_refine, global_checks,
                                  liouvillian_mpo, measure, mpo_observables, physical_bounds,
                                  rate_scale, refine_state, residual, spectrum_decision)
from lindring.solvers.mpo_refine import (_Galerkin2, _genv_left, _genv_right, local_spectrum, refine,
                                        relative_residual)


def IDENTITY_WORDS(L):
    """Indices (letter order) of the words of the diagonal of rho (every letter 0 or 3)."""
    idx = np.array([0])
    for _ in range(L):
        idx = np.concatenate([4 * idx, 4 * idx + 3])
    return idx


def _random_mps(L, dims, seed=3):
    rng = np.random.default_rng(seed)
    return VectorisedMPS([rng.normal(size=(dims[j], 4, dims[j + 1]))
                          + 1j * rng.normal(size=(dims[j], 4, dims[j + 1])) for j in range(L)])


def _kw(model):
    """Dense-reference keywords of a model given as make_params keywords."""
    if model.get("preset") == "minimal":
        return minimal_params(model["alpha"], model["delta"])
    return model


def _dense(L, model):
    rho, kdim = _dense_rho_and_kernel(L, model)
    return kdim, (dense_observables(rho, L, "open", **_kw(model)) if kdim == 1 else None)


# ----------------------------------------------------------------------------- building blocks
def test_qr_residual_equals_dense_and_beats_the_squared_contraction():
    """||L x|| by QR sweeps equals the dense value, for an arbitrary MPS and at the refined
    steady state, where it resolves residuals of 1e-15 (far below the sqrt(eps) floor of the
    contraction <x|L^+L|x>, which returns noise there)."""
    L = 5
    p = make_params(L, bc="open", **ALL_TERMS)
    W = liouvillian_mpo(bond_generators(p))
    st = _random_mps(L, [1, 3, 7, 6, 2, 1])
    assert relative_residual(st, W) == pytest.approx(_dense_residual(st, L, ALL_TERMS), rel=1e-12)
    # the exact steady state (L = 4, chi 16 holds it): dense says ~1e-15
    p4 = make_params(4, bc="open", **ALL_TERMS)
    run = TEBD(p4, chi=16, dt=0.1, order=4)
    run.evolve(50)
    W4 = liouvillian_mpo(run.generators)
    refine(run.state, W4, target=1e-14, chi=16, scale=rate_scale(run.generators))
    dense = _dense_residual(run.state, 4, ALL_TERMS)
    assert dense < 1e-12
    assert relative_residual(run.state, W4) < 1e-12
    assert abs(relative_residual(run.state, W4) - dense) < 1e-13
    # the squared contraction <x|L^+L|x> cannot resolve this: it returns rounding noise
    # (here clipped to 0); its floor is ~sqrt(eps) sum_b ||G_b x|| / ||x|| ~ 1e-8
    assert abs(residual(run.state, run.generators) - dense) < 1e-7


def test_mps_difference_is_the_dense_difference():
    a, b = _random_mps(4, [1, 2, 3, 2, 1], 1), _random_mps(4, [1, 3, 2, 4, 1], 2)
    assert np.allclose(a.minus(b).to_vector(), a.to_vector() - b.to_vector(), atol=1e-13)


def test_refinement_is_monotone_and_reaches_the_dense_steady_state():
    """From a short TEBD run (residual ~1e-2), the sweeps lower ||L x|| at every half-sweep and
    reach the dense steady state (L = 4, all range-1 terms, complex couplings)."""
    L = 4
    p = make_params(L, bc="open", **ALL_TERMS)
    _, ref = _dense(L, ALL_TERMS)
    run = TEBD(p, chi=16, dt=0.1, order=2)
    run.evolve(20)
    W = liouvillian_mpo(run.generators)
    info = refine(run.state, W, target=1e-13, chi=16, scale=rate_scale(run.generators))
    hist = info["history"]
    assert hist[0] > 1e-4
    assert all(b <= a * (1 + 1e-9) for a, b in zip(hist, hist[1:])), hist
    assert hist[-1] / rate_scale(run.generators) < 1e-13
    assert abs(run.state.trace() - 1) < 1e-13
    obs = measure(run.state, p)
    for k in ("sz", "current_eta", "current_J"):
        assert np.abs(obs[k] - ref[k]).max() < 1e-11, k


# ----------------------------------------------------------------------------- time step
def test_default_dt_follows_the_fastest_rate_and_large_dt_is_refused():
    fast = make_params(4, bc="open", preset="minimal", alpha=5, delta=4)
    rate = rate_scale(bond_generators(fast))
    assert 100 < rate < 300                          # ~ r^2 = 41 times a few
    assert default_dt(rate) == pytest.approx(2 / rate)
    slow = make_params(4, bc="open", preset="minimal", alpha=0.3, delta=0.1)
    assert default_dt(rate_scale(bond_generators(slow))) == 0.1
    with pytest.raises(ModelError, match="backward sub-step"):
        check_dt(0.1, rate, 4)                       # the issue's blow-up: dt rate = 16
    mid = make_params(4, bc="open", preset="minimal", alpha=2, delta=1)
    with pytest.raises(ModelError, match="splitting error"):
        check_dt(0.5, rate_scale(bond_generators(mid)), 2)     # the issue's order 2, dt 0.5
    check_dt(0.1, rate_scale(bond_generators(mid)), 4)         # the CLI default there: accepted
    for dt in (1e3, 1e300):              # refused with the numbers, not an OverflowError
        for order, words in ((4, r"e\^"), (2, "splitting error")):
            with pytest.raises(ModelError, match=words):
                check_dt(dt, rate, order)


def test_an_evolution_of_too_many_steps_is_refused_before_compute():
    """mu = 1e15 beside alpha = 1: dt follows the fastest rate (~1e-15) while the state relaxes
    on the time scale of the jump rates (~1): ~1e16 steps, which ran without end before. Refused
    by the point check that solve, plan and the workflow share; mu = 1e4 (5e4 steps) passes."""
    from lindring.solvers.methods import check_point
    from lindring.solvers.mpo import MAX_STEPS, check_steps
    from lindring.core.options import defaults
    values = defaults("mpo")
    huge = make_params(4, bc="open", preset="minimal", alpha=1, delta=0.5, mu=1e15)
    with pytest.raises(ModelError, match="steps"):
        check_point("mpo", huge, values)
    # the relaxation branch alone: dt 1e-4 (a check interval of 1e4 steps is fine), but jumps
    # of rate 1e-9 relax only by t_max = 200: 2e6 steps
    with pytest.raises(ModelError, match="largest jump rate 1e-09"):
        check_steps(1e-4, 200.0, 1e-9, 2e4)
    # every rate x 1e8 (the same steady state): one check interval of t = 1 would be 9e8
    # steps (rates x 1e80 listed 1e80 Trotter layers, 23 GB): refused, saying to rescale
    scaled = make_params(4, bc="open", preset="minimal", alpha=2e4, delta=1e4, mu=1e8)
    with pytest.raises(ModelError, match="Rescale the parameters"):
        check_point("mpo", scaled, values)
    fine = make_params(4, bc="open", preset="minimal", alpha=1, delta=0.5, mu=1e4)
    check_point("mpo", fine, values)
    rate = rate_scale(bond_generators(fine))
    assert 10 / 1.0 / default_dt(rate) < MAX_STEPS


def test_blow_up_is_detected_and_named():
    """Bypassing check_dt (dt = 0.1 at alpha 5, delta 4): the evolution is stopped as a blow-up
    at the first check, with the reason and 'lower --dt' (not 't-max')."""
    p = make_params(4, bc="open", preset="minimal", alpha=5, delta=4)
    with pytest.raises(MPOFailure) as err:
        evolve_and_refine(p, "mixed", chi=16, dt=0.1, order=4, cutoff=1e-12, t_max=10,
                          check_every=1.0, target=1e-8, max_sweeps=2, lsqr_iters=20,
                          th=MPOThresholds(), say=lambda m: None)
    assert err.value.kind == "blow-up"
    assert "lower --dt" in str(err.value) and "t-max" not in str(err.value)


# ----------------------------------------------------------------------------- physical checks
def test_physical_bounds_catch_the_issue_numbers():
    """sz = -1.44 and a current of -78.5 at eta = 9 (the issue's alpha 5, delta 4 file) fail."""
    p = make_params(6, bc="open", preset="minimal", alpha=5, delta=4)
    assert abs(p.eta) == pytest.approx(9)
    good = dict(sz=np.full(6, -0.1), current_eta=np.full(5, 3.0), current_J=np.zeros(5),
                rho_pair=np.eye(4) / 4)
    assert physical_bounds(good, 0.01, p, 1e-6) == []
    bad = dict(good, sz=np.array([-1.44, -1.44, 0, 0, 0, 0]), current_eta=np.full(5, -78.5))
    msgs = " ".join(physical_bounds(bad, 0.01, p, 1e-6))
    assert "|sz| = 1.44" in msgs and "current_eta" in msgs
    assert physical_bounds(good, 1.5, p, 1e-6)                 # purity > 1
    neg = dict(good, rho_pair=np.diag([0.6, 0.5, -0.1, 0.0]))
    assert "eigenvalue" in " ".join(physical_bounds(neg, 0.01, p, 1e-6))


@pytest.mark.parametrize("chi", [3, 6])
def test_chi_too_small_is_named(chi):
    """L = 5, alpha 2, delta 1: chi = 3 truncates so much that the trace drifts during the
    evolution; chi = 6 evolves, but the refined residual stays far above 1e-6 with bonds at chi.
    Both are reported as 'bond dimension too small' (not a blow-up, not 'raise --t-max')."""
    p = make_params(5, bc="open", preset="minimal", alpha=2, delta=1)
    with pytest.raises(MPOFailure) as err:
        mpo_observables(p, chi=chi, progress=False, max_sweeps=2)
    assert err.value.kind == "bond dimension too small" and "raise --chi" in str(err.value)


# ----------------------------------------------------------------------------- uniqueness
def test_non_unique_steady_state_is_written_as_nan(caplog, recwarn):
    """alpha 1, delta 0 (minimal, open): the dense kernel has dimension 2; the two starts refine to
    distinct exact steady states, so the MPO writes NaN with kernel_dim 2, unique 0, and says so
    once (a logged warning, not also a UserWarning)."""
    L = 4
    model = dict(preset="minimal", alpha=1, delta=0)
    assert _dense(L, model)[0] == 2
    with caplog.at_level("WARNING", logger="lindring"):
        data, attrs = mpo_observables(make_params(L, bc="open", **model), chi=16, progress=False)
    said = [r for r in caplog.records if "non-unique" in r.getMessage()]
    assert len(said) == 1 and said[0].levelname == "WARNING"
    assert not [w for w in recwarn if "non-unique" in str(w.message)]
    assert attrs["unique"] == 0 and int(data["kernel_dim"][1]) == 2
    assert np.all(np.isnan(data["current_eta"][1])) and np.all(np.isnan(data["sz"][1]))
    assert float(data["start_difference"][1]) > 1e-3
    assert float(data["slow_rate_bound"][1]) < 1e-8


# a grid of regimes (name, model); all minimal unless noted
REGIMES = [
    ("large rates", dict(preset="minimal", alpha=5, delta=4)),
    ("small rates", dict(preset="minimal", alpha=0.3, delta=0.1)),
    ("near alpha = delta", dict(preset="minimal", alpha=1.0, delta=0.9)),
    ("delta -> 0", dict(preset="minimal", alpha=1.0, delta=0.05)),
    ("near-degenerate delta 1e-3", dict(preset="minimal", alpha=1.0, delta=1e-3)),
    ("complex couplings", dict(preset="minimal", alpha=1 + 0.5j, delta=0.3 - 0.2j)),
]


@pytest.mark.parametrize("name, model", REGIMES, ids=[r[0] for r in REGIMES])
def test_regimes_agree_with_dense_or_refuse(name, model):
    """L = 4 (chi 16: exact representation): the MPO either writes observables that agree with the
    dense steady state to within its own claims (residual below threshold, two starts agreeing),
    or refuses with MPOFailure. A refusal is only accepted where the state is ill-conditioned
    (delta = 1e-3: slowest relaxation ~1e-6, measured); elsewhere the answer must come."""
    L = 4
    kdim, ref = _dense(L, model)
    assert kdim == 1
    p = make_params(L, bc="open", **model)
    try:
        data, attrs = mpo_observables(p, chi=16, progress=False)
    except MPOFailure as err:
        assert "1e-3" in name, err
        assert err.kind == "not converged" and "slow mode" in str(err)
        return
    assert attrs["unique"] == 1
    rel = float(data["relative_residual"][1])
    assert rel <= attrs["max_relative_residual"]
    claim = max(10 * float(data["start_difference"][1]), 1e-9)
    for k in ("sz", "current_eta", "current_J"):
        assert np.abs(data[k][1] - ref[k]).max() <= claim, (k, data[k][1], ref[k])
    # dt from the rates (no dt given): dt * rate = 2 or dt = 0.1
    assert attrs["dt"] == pytest.approx(default_dt(attrs["rate_scale"]))


# ----------------------------------------------------------------------------- the refined problem's spectrum
def _refined(L, model, chi=16, target=1e-13):
    """A short TEBD run refined by the pipeline's Galerkin sweeps (refine_state)."""
    p = make_params(L, bc="open", **model)
    state, info = evolve_and_refine(p, "mixed", chi=chi, dt=default_dt(rate_scale(
        bond_generators(p))), order=4, cutoff=1e-12, t_max=2.0, check_every=1.0, target=1e-2,
        max_sweeps=8, lsqr_iters=60, th=MPOThresholds(), say=lambda m: None, do_refine=False)
    if target is not None:
        refine_state(state, info, target, chi, 8, 60, lambda m: None)
    return p, state, info


@functools.lru_cache
def _dense_spectrum_cached(L, items):
    ev = np.linalg.eigvals(dense_liouvillian(L, "open", **_kw(dict(items))))
    return np.sort(np.abs(ev))


def _dense_spectrum(L, model):
    return _dense_spectrum_cached(L, tuple(sorted(model.items())))


@functools.lru_cache
def _dense_rho_cached(L, items):
    return dense_steady_state(dense_liouvillian(L, "open", **_kw(dict(items))))


def _dense_rho_and_kernel(L, model):
    return _dense_rho_cached(L, tuple(sorted(model.items())))


@pytest.mark.parametrize("L, model", [(4, ALL_TERMS), (5, dict(preset="minimal", alpha=1, delta=1e-3))],
                         ids=["L4-all-terms", "L5-delta-1e-3"])
def test_projected_spectrum_is_the_dense_spectrum_where_complete(L, model):
    """Where the two-site variational space is the whole space (chi 16, L <= 5), the eigenvalues
    of P^+ L P are those of the dense Liouvillian: the slowest rates (8.3e-7 x rate at delta
    1e-3, the near-degenerate point) come out exactly."""
    p, state, info = _refined(L, model)
    sp = local_spectrum(state, info["W"])
    assert sp["complete"] and sp["n"] == 4 ** L
    dense = _dense_spectrum(L, model)
    mine = np.sort(np.abs(sp["eigenvalues"]))
    scale = info["scale"]
    assert np.abs(mine[1:6] - dense[1:6]).max() < 1e-9 * scale, (mine[:6], dense[:6])
    assert mine[0] < 1e-12 * scale


@pytest.mark.parametrize("L, model, kdim", [(5, dict(preset="minimal", alpha=1, delta=0), 2),
                                            (5, dict(preset="minimal", alpha=1, delta=1e-3), 1),
                                            (4, dict(preset="minimal", alpha=2, delta=1), 1)])
def test_spectrum_decision_counts_the_dense_kernel(L, model, kdim):
    """The kernel dimension decided from the refined problem's spectrum is the dense one (SVD
    of the 4^L x 4^L Liouvillian), and the slowest rate the dense one."""
    assert _dense(L, model)[0] == kdim
    p, state, info = _refined(L, model)
    dec = spectrum_decision(state, info["W"], info["scale"], MPOThresholds().kernel)
    assert dec["kernel"] == kdim
    if kdim == 1:
        dense = _dense_spectrum(L, model)
        assert dec["slow"] == pytest.approx(dense[1] / info["scale"], rel=1e-6)


@pytest.mark.parametrize("L, model", [
    (5, dict(preset="minimal", alpha=1, delta=1e-3)),
    (4, dict(preset="minimal", alpha=5, delta=4)),
    (4, ALL_TERMS),
    (4, dict(preset="minimal", alpha=1 + 0.5j, delta=0.3 - 0.2j))],
    ids=["L5-delta-1e-3", "L4-alpha5-delta4", "L4-all-terms", "L4-complex"])
def test_error_estimate_bounds_the_distance_to_the_dense_steady_state(L, model):
    """error_estimate = relative residual / slowest rate (what the file says) bounds the measured
    ||rho - rho_dense|| / ||rho||, both at the time evolution's hand-over state (error ~1e-3,
    far above rounding) and at the refined state; the observables' errors are within
    2^(L/2) sqrt(purity) times it (Cauchy-Schwarz: ||O x 1|| ||rho|| for an operator of norm
    <= 1, currents divided by |eta|)."""
    p, state, info = _refined(L, model, target=None)           # the time evolution only
    rho_dense, kdim = _dense_rho_and_kernel(L, model)
    ref = rho_dense.reshape(-1)[rowmajor_to_words(L)]
    ref_obs = dense_observables(rho_dense, L, "open", **_kw(model))
    errors = []
    for target in (None, 1e-12):
        if target:
            refine_state(state, info, target, 16, 8, 60, lambda m: None)
        dec = spectrum_decision(state, info["W"], info["scale"], MPOThresholds().kernel)
        est = relative_residual(state, info["W"]) / info["scale"] / dec["slow"]
        x = state.to_vector()
        x = x / x[IDENTITY_WORDS(L)].sum()
        err = np.linalg.norm(x - ref) / np.linalg.norm(x)
        assert err <= est, (target, err, est)
        obs = measure(state, p)
        bound = 2 ** (L / 2) * np.sqrt(global_checks(state)["purity"]) * est
        assert np.abs(obs["sz"] - ref_obs["sz"]).max() <= bound
        assert np.abs(obs["current_eta"] - ref_obs["current_eta"]).max() <= bound * abs(p.eta)
        errors.append(err)
    # the check saw a real error, then none beyond what the dense reference itself resolves
    # (its error ~ eps / slowest rate: ~1e-10 at delta 1e-3, measured 3.7e-10 on one machine)
    assert errors[0] > 1e-6 > 1e-9 > errors[1]


def test_unresolved_slow_mode_is_refused():
    """Asking for an agreement that the residual cannot certify (1e-12 at delta 1e-3, slowest rate
    6e-7: residual / rate would have to reach 1e-19, below rounding) ends in 'not converged',
    naming the certified error, instead of writing numbers; this holds with one start (the
    spectrum of the refined problem decides, not the agreement of two starts)."""
    p = make_params(4, bc="open", preset="minimal", alpha=1, delta=1e-3)
    with pytest.raises(MPOFailure) as err:
        mpo_observables(p, chi=16, progress=False, check_unique=False,
                        thresholds=MPOThresholds(agreement=1e-12))
    assert err.value.kind == "not converged" and "certified only to" in str(err.value)


@pytest.mark.parametrize("basis", ["letters", "pauli"])
@pytest.mark.parametrize("b", [0, 1, 3])
def test_galerkin_operator_is_the_dense_projected_liouvillian(basis, b):
    """The local operator of the Galerkin sweeps (split into left block, bond and right block)
    applied to a two-site tensor equals P^+ L P theta with P the dense isometry of the MPS in
    mixed canonical form around bond (b, b+1) and L the dense Liouvillian (every range-1 term,
    complex couplings; L = 5, chain ends included)."""
    L = 5
    p = make_params(L, bc="open", **ALL_TERMS)
    st = _random_mps(L, [1, 3, 7, 6, 2, 1], seed=11)
    if basis == "pauli":
        st = VectorisedMPS([a.real for a in st.A], basis="pauli")
        gens = TEBD(p, chi=16, dt=0.1, order=4, basis="pauli").generators
    else:
        gens = bond_generators(p)
    W = liouvillian_mpo(gens)
    st.move_center(L - 1)                    # every tensor left-orthonormal, then
    st.move_center(b)                        # right-orthonormal right of the bond
    A = st.A
    left = np.ones((1, 1))
    for j in range(b):
        left = np.tensordot(left, A[j], axes=(1, 0)).reshape(-1, A[j].shape[2])
    right = np.ones((1, 1))
    for j in range(L - 1, b + 1, -1):
        right = np.tensordot(A[j], right, axes=(2, 0)).reshape(A[j].shape[0], -1)
    Dl, Dr = left.shape[1], right.shape[0]
    P = np.einsum("xa,ik,jl,by->xijyaklb", left, np.eye(4), np.eye(4), right).reshape(
        4 ** L, Dl * 16 * Dr)
    perm = rowmajor_to_words(L)
    Lw = dense_liouvillian(L, "open", **ALL_TERMS)[np.ix_(perm, perm)]
    if basis == "pauli":
        U = _pauli_unitary(L)
        Lw = U @ Lw @ U.conj().T
    K = P.conj().T @ Lw @ P
    El = np.ones((1, 1, 1))
    for j in range(b):
        El = _genv_left(El, A[j], W[j])
    Er = np.ones((1, 1, 1))
    for j in range(L - 1, b + 1, -1):
        Er = _genv_right(Er, A[j], W[j])
    rng = np.random.default_rng(5)
    theta = rng.normal(size=(Dl, 4, 4, Dr)) + 1j * rng.normal(size=(Dl, 4, 4, Dr))
    op = _Galerkin2(El, W[b], W[b + 1], Er, theta.shape)
    ref = K @ theta.reshape(-1)
    assert np.abs(op.mv(theta) - ref).max() < 1e-12 * np.abs(ref).max()

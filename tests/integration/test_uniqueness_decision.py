"""Issue 15, item 2: the uniqueness decision does not hang on Krylov-Schur finding the rightmost
eigenvalues where the spectrum near zero is clustered (alpha / delta near 1, delta -> 0 where
the open chain's kernel becomes 2-dimensional, small rates): probe solves with a budget, then
the no-jump preconditioner, then a shift-and-invert factorisation where it fits, decide it; where
nothing decides, the message carries the regime, the numbers and what to try. Right answers:
the kernel dimension and the state of the independent dense reference (SVD)."""
import numpy as np
import pytest

from dense_reference import dense_liouvillian, dense_observables, dense_steady_state, minimal_params
from lindring.core import model
from lindring.solvers import methods, steady
from lindring.solvers.methods import run_ed
from lindring.solvers.steady import SolverError, Tolerances

#: name -> (alpha, delta, mu) of the minimal model, each a spectrum clustered near zero
CLUSTERED = {
    "near balance a/d 0.96": (5.0, 5.2, 1.0),
    "near balance a/d 0.99": (5.0, 5.0 / 0.99, 1.0),
    "delta 0.1": (1.0, 0.1, 1.0),
    "delta 0.01": (1.0, 0.01, 1.0),
    "delta 0 (kernel 2)": (1.0, 0.0, 1.0),
    "small rates": (0.2, 0.05, 1.0),
    "every rate x 1e-2": (0.2, 0.15, 1e-2),
}


def dense_answer(L, bc, alpha, delta, mu):
    kw = dict(minimal_params(alpha, delta), mu=mu)
    rho, kernel = dense_steady_state(dense_liouvillian(L, bc, **kw), tol=1e-12)
    return kernel, (dense_observables(rho, L, bc, **kw) if kernel == 1 else None)


def check_against_dense(data, attrs, L, bc, point):
    kernel, ref = dense_answer(L, bc, *point)
    assert data["kernel_dim"][1] == kernel
    assert attrs["unique"] == (1 if kernel == 1 else 0)
    if kernel == 1:
        for k in ("sz", "current_eta"):
            np.testing.assert_allclose(data[k][1], ref[k], atol=1e-8, err_msg=k)
    return kernel


@pytest.mark.parametrize("name", list(CLUSTERED))
@pytest.mark.parametrize("L,bc", [(5, "open"), (4, "ring")])
def test_clustered_spectrum_decided_without_krylov_schur(name, L, bc):
    """The iterative path (probes, then shift-and-invert where the LU fits) gives the dense
    kernel dimension and state; Krylov-Schur never decides at these sizes."""
    alpha, delta, mu = CLUSTERED[name]
    p = model.make_params(L, bc=bc, preset="minimal", alpha=alpha, delta=delta, mu=mu)
    data, attrs = run_ed(p, solver="iterative")
    kernel = check_against_dense(data, attrs, L, bc, CLUSTERED[name])
    assert attrs["uniqueness_method"] != "Krylov-Schur"
    if kernel == 1:
        assert attrs["uniqueness_method"].startswith("probe solve") or \
            attrs["shift_invert"] == "the probe solves did not decide"


@pytest.mark.parametrize("name", [n for n in CLUSTERED if "kernel 2" not in n])
def test_probes_alone_decide_the_unique_clustered_points(name):
    """With no factorisation allowed (sinvert_max_rows = 0), the probe solves alone decide the
    unique points: the decision does not rest on the spectral search."""
    alpha, delta, mu = CLUSTERED[name]
    p = model.make_params(5, bc="open", preset="minimal", alpha=alpha, delta=delta, mu=mu)
    data, attrs = run_ed(p, solver="iterative", tol=Tolerances(sinvert_max_rows=0))
    check_against_dense(data, attrs, 5, "open", CLUSTERED[name])
    assert attrs["uniqueness_method"].startswith("probe solve")
    assert attrs["probe_residual"] <= attrs["probe_tol"]


def test_degenerate_kernel_at_delta_zero_by_shift_and_invert():
    """delta = 0 on the open chain: kernel 2 (dense SVD); the probes cannot converge on the
    singular system, and the factorisation (it fits at L = 5) finds both zero eigenvalues."""
    p = model.make_params(5, bc="open", preset="minimal", alpha=1.0, delta=0.0)
    data, attrs = run_ed(p, solver="iterative")
    assert dense_answer(5, "open", 1.0, 0.0, 1.0)[0] == 2
    assert data["kernel_dim"][1] == 2 and attrs["unique"] == 0
    assert attrs["uniqueness_method"] == "shift-and-invert"
    assert "residual" in attrs["probes"] and not attrs["probe_residual"] <= attrs["probe_tol"]


def test_undecided_message_carries_the_numbers():
    """Forced failure (one probe iteration, no factorisation, a Krylov-Schur search of one
    restart in a subspace of 2): the error names the regime, each probe's residual, iterations,
    needed tolerance and the chance a degenerate kernel had of that residual, why the
    factorisation was not taken, the spectral search's failure and what to try."""
    p = model.make_params(5, bc="open", preset="minimal", alpha=5.0, delta=5.2)
    tol = Tolerances(probe_max_it=1, sinvert_max_rows=0, nev=1, ncv=2, ncv_max=2, eps_max_it=1)
    with pytest.raises(SolverError) as err:
        run_ed(p, solver="iterative", tol=tol)
    msg = str(err.value)
    assert "uniqueness could not be decided" in msg
    assert "regime: strong dissipation" in msg and "near balance (|alpha| / |delta| = 0.962)" in msg
    assert "probe solve (ilu): residual" in msg and "after 1 iterations" in msg
    assert "needed" in msg and "had a chance of" in msg
    assert "shift-and-invert not taken" in msg and "above the 0 a factorisation" in msg
    assert "Krylov-Schur" in msg and "restarts" in msg
    assert "Try -eps_max_it" in msg and "moving away from |alpha| = |delta|" in msg


# ---------------------------------------------------------------- pure pieces
def test_probe_budget():
    assert steady.probe_budget(54, Tolerances()) == 3 * 54 == steady.PROBE_BUDGET_FACTOR * 54
    assert steady.probe_budget(2, Tolerances()) == steady.PROBE_MIN_IT
    assert steady.probe_budget(54, Tolerances(max_it=100)) == 100
    assert steady.probe_budget(54, Tolerances(probe_max_it=7)) == 7


@pytest.mark.parametrize("real", [False, True])
def test_degenerate_chance_at_the_probe_tolerance_is_the_failure_rate(real):
    """The chance that a singular system leaves a residual at the probe's tolerance is the
    probe's designed failure rate (both from the Gaussian tail, ``probe_tolerance``'s notes)."""
    for n in (100, 262656):
        tol = steady.probe_tolerance(n, real=real)
        assert steady.degenerate_chance(n, tol, real) <= steady.PROBE_FAILURE * (1 + 1e-12)
    assert steady.degenerate_chance(1000, 0.5, real) == 1.0
    assert np.isnan(steady.degenerate_chance(1000, float("nan"), real))


def test_sinvert_refusal_names_the_numbers():
    tol = Tolerances()
    assert steady.sinvert_refusal(4096, 100_000, 8, 10_000.0, tol) is None
    why = steady.sinvert_refusal(steady.SINVERT_MAX_ROWS + 1, 10, 8, 1e9, tol)
    assert f"{steady.SINVERT_MAX_ROWS + 1} rows" in why
    # 16,384 rows, 600k nonzeros, complex: planned 5.6 GB against 2 GB available
    why = steady.sinvert_refusal(16384, 600_000, 16, 2000.0, tol)
    assert "planned at" in why and "2000 MB available" in why
    assert steady.lu_bytes(16384, 600_000, 16) == pytest.approx(600_000 * 24 * 100 * 4)


def test_probe_continues_past_gmres_recurrence():
    """Near balance GMRES's recurrence residual reached the probe tolerance while the true one
    was 2x above it (ring L = 8, alpha / delta = 0.9: 5.2e-8 against 2.6e-8 after 34 iterations),
    and the factorisation decided instead; the probe now continues from its iterate and decides.
    The state equals the direct (LU) solve of the same sector."""
    p = model.make_params(8, bc="ring", preset="minimal", alpha=5.0, delta=5.0 / 0.9)
    it, attrs = run_ed(p, solver="iterative", basis="pauli")
    assert attrs["uniqueness_method"] == "probe solve"
    assert attrs["probe_residual"] <= attrs["probe_tol"]
    lu, _ = run_ed(p, solver="direct", basis="pauli")
    np.testing.assert_allclose(it["sz"][1], lu["sz"][1], atol=1e-8)
    np.testing.assert_allclose(it["current_eta"][1], lu["current_eta"][1], atol=1e-8)

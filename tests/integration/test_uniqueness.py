"""Issue 10: the kernel of L decided at every size, scale-free tolerances, the range-2 current,
and errors that say what happened. Right values come from the independent dense reference
(its SVD kernel and spectrum), exact symmetries and analytic statements."""
import numpy as np
import pytest
import xarray as xr

from conftest import run_cli
from dense_reference import dense_liouvillian, dense_observables, dense_steady_state, minimal_params
from lindring.core import model
from lindring.solvers.methods import run_ed


def ed(L, bc, solver="auto", symmetry="auto", check_unique=True, gap=False, basis="auto", **kw):
    p = model.make_params(L, bc=bc, **kw)
    data, attrs = run_ed(p, solver=solver, symmetry=symmetry, check_unique=check_unique, gap=gap,
                         basis=basis)
    return {k: v for k, (dims, v) in data.items()}, attrs


def dense_kernel_dim(L, bc, alpha, delta, mu):
    kw = dict(minimal_params(alpha, delta), mu=mu)
    return dense_steady_state(dense_liouvillian(L, bc, **kw))[1]


# ---------------------------------------------------------------- 1, 2: kernel decided everywhere
@pytest.mark.parametrize("mu", [1e-2, 1.0, 1e2, 1e4])
@pytest.mark.parametrize("bc", ["ring", "open"])
@pytest.mark.parametrize("symmetry", ["none", "auto"])
@pytest.mark.parametrize("solver", ["direct", "iterative"])
def test_degenerate_kernel_found_whatever_mu(mu, bc, symmetry, solver):
    """At delta = 0 (L = 4, ring and open chain) the kernel is 2-dimensional (dense SVD), with
    undamped coherences at +-i mu: found at any distance from zero, by the shift-and-invert
    search (direct) and by Krylov-Schur on L itself (iterative), in the full space and the
    sector of the steady state."""
    assert dense_kernel_dim(4, bc, 1.0, 0.0, mu) == 2
    ours, attrs = ed(4, bc, solver=solver, symmetry=symmetry, preset="minimal", alpha=1.0,
                     delta=0.0, mu=mu)
    assert ours["kernel_dim"] == 2 and attrs["unique"] == 0
    assert np.isnan(ours["current_eta"]).all() and np.isnan(ours["sz"]).all()
    # the probe solve (a Gaussian right-hand side) never converges on the singular system
    assert attrs["uniqueness_method"] in ("Krylov-Schur", "shift-and-invert")
    assert not attrs.get("probe_residual", np.inf) <= attrs.get("probe_tol", 0)


@pytest.mark.parametrize("symmetry", ["none", "auto"])
@pytest.mark.parametrize("solver", ["direct", "iterative"])
@pytest.mark.parametrize("L,bc,alpha,delta,mu", [(4, "ring", 0.0, 1.5, 1.0),     # theta = pi/2
                                                 (5, "open", 1.0, 0.0, 1e4)])
def test_degenerate_kernel_found_when_the_solve_fails(L, bc, alpha, delta, mu, solver, symmetry):
    """Where the trace-constrained system is singular the solve itself fails (LU: zero pivot;
    GMRES/ILU: no diagonal entry at alpha = 0), so nothing is deflated and the spectral search
    alone must find both zero eigenvalues. It used to stop at one: an early stop on a leading
    Ritz value off the axis (alpha = 0) and one eigenvalue per search (mu = 1e4), then report
    the solver's failure (exit 3) instead of "non-unique". Dense SVD: kernel 2."""
    assert dense_kernel_dim(L, bc, alpha, delta, mu) == 2
    ours, attrs = ed(L, bc, solver=solver, symmetry=symmetry, preset="minimal", alpha=alpha,
                     delta=delta, mu=mu)
    assert ours["kernel_dim"] == 2 and attrs["unique"] == 0
    assert np.isnan(ours["sz"]).all()


@pytest.mark.parametrize("solver", ["direct", "iterative"])
@pytest.mark.parametrize("bc", ["ring", "open"])
@pytest.mark.parametrize("kw,small", [(dict(alpha=2.0, delta=1.5, mu=1e-6), "mu"),
                                      (dict(alpha=300.0, delta=1.5, mu=1.0), "delta")])
def test_slow_modes_below_rounding_are_said_undecidable(tmp_path, kw, small, bc, solver):
    """Unique points whose slowest relaxation rate lies below the kernel cutoff (1e-12 x scale)
    although no single rate is that small: a small rate next to a large one makes a slow mode
    of higher order in their ratio. The dense spectrum shows the second eigenvalue nonzero but
    below the cutoff, within a factor ~20 of how far true zeros are computed from 0, so double
    precision cannot decide: lindring says so (exit 3, no file), never "non-unique"."""
    L = 4
    Lm = dense_liouvillian(L, bc, **dict(minimal_params(kw["alpha"], kw["delta"]), mu=kw["mu"]))
    scale = np.abs(Lm).max()
    second = np.sort(np.abs(np.linalg.eigvals(Lm)))[1]
    assert second < 1e-12 * scale
    out = tmp_path / "x.nc"
    args = ["solve", "--L", L, "--bc", bc, "--preset", "minimal", "--solver", solver, "-o", out]
    for k, v in kw.items():
        args += [f"--{k}={v}"]
    proc = run_cli(args, check=False)
    assert "non-unique" not in proc.stderr
    if proc.returncode == 4:
        assert solver == "direct" and "estimated error of rho" in proc.stderr
        assert "double precision cannot give this steady state" in proc.stderr
    else:
        assert proc.returncode == 3, proc.stderr
        assert "double precision cannot decide" in proc.stderr and small in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("solver", ["direct", "iterative"])
@pytest.mark.parametrize("bc", ["ring", "open"])
def test_small_slowest_rate_refined_not_refused(bc, solver):
    """alpha = 30, delta = 1.5: unique, but the slowest rate is ~1e-9 of the scale, so the
    iterative solver's own target (residual 1e-12) left an error estimate of 3.5e-5 and
    ||rho - rho^+|| of 3e-8: refused (exit 4) at a well-posed point. The solve is now refined
    until the error estimate is a tenth of its threshold; the state agrees with the dense one."""
    kw = minimal_params(30.0, 1.5)
    ours, attrs = ed(4, bc, solver=solver, preset="minimal", alpha=30.0, delta=1.5)
    assert ours["kernel_dim"] == 1 and attrs["unique"] == 1
    assert ours["error_estimate"] <= attrs["max_error_estimate"]
    rho, kernel = dense_steady_state(dense_liouvillian(4, bc, **kw), tol=1e-14)  # gap ~1e-10
    assert kernel == 1
    ref = dense_observables(rho, 4, bc, **kw)
    # to the accuracy the file claims: error estimate <= max_error_estimate (1e-5), relative
    np.testing.assert_allclose(ours["sz"], ref["sz"], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(ours["current_eta"], ref["current_eta"], rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("solver", ["direct", "iterative"])
def test_unique_point_next_to_degenerate_one(solver):
    """delta = 0.05 lifts the dark state: unique (dense SVD), and our state is the dense one."""
    assert dense_kernel_dim(4, "ring", 1.0, 0.05, 1.0) == 1
    ours, attrs = ed(4, "ring", solver=solver, preset="minimal", alpha=1.0, delta=0.05)
    assert ours["kernel_dim"] == 1 and attrs["unique"] == 1
    kw = minimal_params(1.0, 0.05)
    ref = dense_observables(dense_steady_state(dense_liouvillian(4, "ring", **kw))[0], 4, "ring", **kw)
    np.testing.assert_allclose(ours["sz"], ref["sz"], atol=1e-9)


@pytest.mark.parametrize("solver", ["direct", "iterative"])
@pytest.mark.parametrize("bc,kw", [("ring", dict(alpha=1.0, delta=0.05)),
                                   ("open", dict(alpha=2.0, delta=1.0, mu=100.0)),
                                   ("ring", dict(alpha=0.3, delta=0.3, mu=1e-2))])
def test_unique_points_decided_by_the_probe_solve(solver, bc, kw):
    """At unique points one more solve with a Gaussian right-hand side decides (the cheap path,
    benchmarks/README.md), and the rate it gives for the error estimate is a cautious estimate
    of the smallest singular value of the trace-constrained L' of the dense reference (first row
    replaced by the scale times the trace): between sigma_min / sqrt(N) (the Frobenius bound)
    and sigma_min, with a factor 3 for the one random sample. (In the matrix units, whose L' is
    the dense one; the Pauli L': test_pauli.py.)"""
    L = 4
    ours, attrs = ed(L, bc, solver=solver, symmetry="none", basis="matrix-units",
                     preset="minimal", **kw)
    assert ours["kernel_dim"] == 1 and attrs["unique"] == 1
    assert attrs["uniqueness_method"] == "probe solve"
    assert attrs["probe_residual"] <= attrs["probe_tol"] <= 1e-6
    Lm = dense_liouvillian(L, bc, **dict(minimal_params(kw["alpha"], kw["delta"]),
                                         **{k: v for k, v in kw.items() if k == "mu"}))
    scale = np.abs(Lm).max()
    assert attrs["liouvillian_scale"] == pytest.approx(scale, rel=1e-12)
    Lc = Lm.copy()
    d = 2 ** L
    Lc[0, :] = 0
    Lc[0, np.arange(d) * (d + 1)] = scale          # rho_00's row: the trace, times the scale
    sigma_min = np.linalg.svd(Lc, compute_uv=False)[-1]
    assert sigma_min / np.sqrt(d * d) / 3 <= attrs["slowest_rate"] <= 3 * sigma_min
    np.testing.assert_allclose(ours["error_estimate"],
                               ours["residual"] * scale / attrs["slowest_rate"], rtol=1e-12)


def test_degenerate_open_chain_in_iterative_regime_via_cli(tmp_path):
    """The instance of the issue at a size CI affords: an open chain solved by GMRES (the regime
    where uniqueness used to be skipped) at delta = 0 is written as non-unique, not as the
    vacuum; the kernel dimension agrees with the dense SVD."""
    assert dense_kernel_dim(5, "open", 1.0, 0.0, 1.0) == 2
    out = tmp_path / "o5.nc"
    run_cli(["solve", "--method", "ed", "--bc", "open", "--L", 5, "--preset", "minimal",
             "--alpha", 1, "--delta", 0, "--solver", "iterative", "-o", out])
    with xr.open_dataset(out) as ds:
        assert int(ds.kernel_dim) == 2 and ds.attrs["unique"] == 0
        assert np.isnan(ds.sz.values).all()


def test_opting_out_is_flagged():
    """--no-check-unique is explicit: the file says unique = -1 and kernel_dim = -1."""
    ours, attrs = ed(4, "ring", check_unique=False, preset="minimal", alpha=2.0, delta=1.5)
    assert attrs["unique"] == -1 and ours["kernel_dim"] == -1
    assert attrs["uniqueness_checked"] == 0


def test_rates_beyond_double_precision_are_said_so(tmp_path):
    """delta^2 = 1e-14 of the largest rate: the dark state's splitting is below rounding. The
    answer is 'cannot decide', never 'non-unique' nor a number."""
    out = tmp_path / "x.nc"
    proc = run_cli(["solve", "--L", 4, "--preset", "minimal", "--alpha", 1, "--delta=1e-7",
                    "-o", out], check=False)
    assert proc.returncode == 3, proc.stderr
    assert "double precision cannot decide" in proc.stderr and "delta" in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("bc", ["ring", "open"])
@pytest.mark.parametrize("mu", ["1e15", "1e99"])
def test_coupling_beyond_the_jump_rates_resolution_is_said_so(tmp_path, bc, mu):
    """mu = 1e15 beside alpha = 1: every relaxation rate is O(1), 1e-15 of the scale of L, far
    below the kernel cutoff (the dense spectrum: no eigenvalue but 0 has modulus below 1e-3,
    so the state is unique). lindring called this "non-unique, kernel 7-10" before; now it says
    double precision cannot decide (exit 3, no file), in the Pauli basis and without retrying
    in the matrix units."""
    if mu == "1e15":
        Lm = dense_liouvillian(4, bc, **dict(minimal_params(1.0, 0.5), mu=float(mu)))
        assert np.sort(np.abs(np.linalg.eigvals(Lm)))[1] > 1e-3      # rates O(1): unique
    out = tmp_path / "x.nc"
    proc = run_cli(["solve", "--L", 4, "--bc", bc, "--preset", "minimal", "--alpha", 1,
                    "--delta", 0.5, "--mu", mu, "-o", out], check=False)
    assert proc.returncode == 3, proc.stderr
    assert "double precision cannot decide" in proc.stderr and "largest jump rate" in proc.stderr
    assert "non-unique" not in proc.stderr and "matrix units" not in proc.stderr
    assert not out.exists()


# ---------------------------------------------------------------- 3: scale-free tolerances
@pytest.mark.parametrize("bc,symmetry,solver", [("ring", "auto", "direct"), ("ring", "none", "direct"),
                                                ("open", "auto", "direct"),
                                                ("ring", "auto", "iterative"),
                                                ("open", "none", "iterative")])
def test_scaling_every_rate_changes_only_the_unit_of_time(bc, symmetry, solver):
    """alpha, delta -> sqrt(s) alpha, sqrt(s) delta and mu -> s mu multiply L by s: the steady
    state is the same, currents and the gap scale with s. Exact statement, s = 1e-8 .. 1e8."""
    def at(s):
        ours, attrs = ed(4, bc, solver=solver, symmetry=symmetry, gap=True, preset="minimal",
                         alpha=2.0 * np.sqrt(s), delta=1.5 * np.sqrt(s), mu=s)
        assert ours["kernel_dim"] == 1 and attrs["unique"] == 1
        return ours
    ref = at(1.0)
    assert ref["gap"] > 0.05
    for s in (1e-8, 1e-4, 1e4, 1e8):
        o = at(s)
        np.testing.assert_allclose(o["sz"], ref["sz"], rtol=1e-8, atol=1e-10, err_msg=f"s={s}")
        np.testing.assert_allclose(o["current_eta"] / s, ref["current_eta"], rtol=1e-8,
                                   atol=1e-10, err_msg=f"s={s}")
        assert o["gap"] / s == pytest.approx(ref["gap"], rel=1e-6), s
        assert o["residual"] < 1e-10      # relative to the scale of L


# ---------------------------------------------------------------- 4: range-2 current (MODEL.md)
@pytest.mark.parametrize("L,bc", [(4, "ring"), (5, "ring"), (5, "open")])
def test_range_two_currents_against_dense_reference(L, bc):
    """current_eta on the nearest-neighbour bonds, current_eta_pair on (b, b+2), both against
    the dense reference (minimal model plus a little hopping and local decay, which make the
    kernel 1-dimensional: the L = 4 ring with hopping alone still has a 4-dimensional one)."""
    kw = dict(minimal_params(2.0, 1.5), J0=0.3, kappa=0.2, range=2)
    rho, kdim = dense_steady_state(dense_liouvillian(L, bc, **kw))
    assert kdim == 1
    ref = dense_observables(rho, L, bc, **kw)
    ours, _ = ed(L, bc, preset="minimal", alpha=2.0, delta=1.5, J0=0.3, kappa=0.2, range=2)
    assert len(ours["current_eta"]) == (L if bc == "ring" else L - 1)
    assert len(ours["current_eta_pair"]) == (L if bc == "ring" else L - 2)
    np.testing.assert_allclose(ours["current_eta"], ref["current_eta"], atol=1e-10)
    np.testing.assert_allclose(ours["current_eta_pair"], ref["current_eta_pair"], atol=1e-10)


def test_range_two_nearest_neighbour_current_vanishes_on_even_rings():
    """Sec. IV C (iii): with range-2 dissipation the even ring splits into two sublattices, no
    current flows between nearest neighbours (parity of each sublattice), while the pair current
    does; on the odd ring a nearest-neighbour current flows."""
    even, _ = ed(6, "ring", preset="minimal", alpha=2.0, delta=1.5, range=2)
    assert even["kernel_dim"] == 1
    np.testing.assert_allclose(even["current_eta"], 0, atol=1e-12)
    assert abs(even["current_eta_pair"][0]) > 0.1
    odd, _ = ed(5, "ring", preset="minimal", alpha=2.0, delta=1.5, range=2)
    assert abs(odd["current_eta"][0]) > 1e-4
    np.testing.assert_allclose(odd["current_eta"], odd["current_eta"][0], atol=1e-12)


# ---------------------------------------------------------------- 5: errors that say what happened
@pytest.mark.parametrize("option,name", [("--alpha=1e160", "alpha"), ("--mu=1e300", "mu"),
                                         ("--delta=1e-160", "delta")])
def test_magnitudes_beyond_double_precision_refused(tmp_path, option, name):
    point = {"--alpha": 1, "--delta": 1}
    point.pop(option.split("=")[0], None)          # each option once (a repeated one is refused)
    proc = run_cli(["solve", "--L", 4, "--preset", "minimal",
                    *[w for kv in point.items() for w in kv], option, "-o", tmp_path / "x.nc"],
                   check=False)
    assert proc.returncode == 2 and f"'{name}'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.nc").exists()


def test_petsc_failure_is_not_called_non_unique(tmp_path):
    """A solve broken by a PETSc option at a unique point: the message names what failed and
    says nothing about uniqueness."""
    proc = run_cli(["solve", "--L", 6, "--preset", "minimal", "--alpha", 2, "--delta", 1.5,
                    "--solver", "iterative", "-o", tmp_path / "x.nc", "-ksp_type", "preonly"],
                   check=False)
    assert proc.returncode in (3, 4), proc.stderr
    assert "not unique" not in proc.stderr and "singular" not in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.nc").exists()


@pytest.mark.parametrize("L", [32, 40])
def test_plan_any_size(L):
    """Rows of the parity-even, momentum-zero, reflection-even sector are exact (Burnside,
    Python integers)."""
    from lindring.core.basis import dihedral_sector_size
    proc = run_cli(["plan", "--L", L, "--preset", "minimal", "--alpha", 2, "--delta", 1.5, "--json"])
    import json
    plan = json.loads(proc.stdout)
    assert plan["rows"] == dihedral_sector_size(L, parity=True)
    assert plan["nnz"] > 2 * L * plan["rows"]          # Pauli strings: ~2.25 L + 1 per row


def test_solve_refuses_a_point_that_cannot_fit(tmp_path):
    out = tmp_path / "big.nc"
    proc = run_cli(["solve", "--L", 20, "--preset", "minimal", "--alpha", 2, "--delta", 1.5,
                    "-o", out], check=False, timeout=120)
    assert proc.returncode == 2
    assert "plan" in proc.stderr and "cluster" in proc.stderr and "--force" in proc.stderr
    assert not out.exists()


def test_thresholds_are_attributes(tmp_path):
    out = tmp_path / "t.nc"
    run_cli(["solve", "--L", 4, "--preset", "minimal", "--alpha", 2, "--delta", 1.5,
             "--max-residual", "1e-9", "-o", out])
    with xr.open_dataset(out) as ds:
        assert ds.attrs["max_residual"] == 1e-9
        for k in ("max_trace_error", "max_hermiticity_error", "positivity_tol", "kernel_tol",
                  "liouvillian_scale", "residual_target"):
            assert k in ds.attrs, k
        assert ds.attrs["liouvillian_scale"] > 0


@pytest.mark.parametrize("L2,L1", [(5, 5), (7, 7), (6, 3), (8, 4)])
def test_range_two_pair_current_is_a_relabelled_range_one_ring(L2, L1):
    """The pairs (b, b+2) of an odd ring form one cycle 0, 2, 4, ..., 1, 3, ... of L sites: the
    minimal model with range 2 is the range-1 ring on relabelled sites (same pair current and
    sz). An even ring splits into two decoupled rings of L/2 sites."""
    two, _ = ed(L2, "ring", preset="minimal", alpha=2.0, delta=1.5, range=2)
    one, _ = ed(L1, "ring", preset="minimal", alpha=2.0, delta=1.5)
    np.testing.assert_allclose(two["current_eta_pair"], one["current_eta"][0], atol=1e-10)
    np.testing.assert_allclose(two["sz"], one["sz"][0], atol=1e-10)


def test_gather_lists_unchecked_points_and_keeps_thresholds(tmp_path):
    """A study that opts out (check_unique: false) writes files with unique = -1; the gather
    lists them under unchecked_points, keeps their values, and carries the thresholds; the
    finite-size scaling would leave them out (test_scaling)."""
    from lindring.workflow.gather import gather
    from lindring.workflow.studies import expand_study
    st = {"methods": ["ed"], "bc": "ring", "L": [3, 4], "preset": "minimal",
          "grid": {"alpha": [2.0], "delta": [1.5]}}
    jobs = expand_study("s", dict(st, check_unique=False)) + expand_study("s", st)[1:]
    jobs = [jobs[0], jobs[2]]          # L = 3 unchecked, L = 4 checked
    for job in jobs:
        run_cli(["solve", *job.cli_args(), "-o", tmp_path / job.path])
    assert "--no-check-unique" in jobs[0].cli_args()
    ds = gather("s", jobs, st, root=str(tmp_path))
    assert ds.attrs["unchecked_points"] == jobs[0].path
    assert float(ds.kernel_dim.sel(L=3).squeeze()) == -1
    assert float(ds.kernel_dim.sel(L=4).squeeze()) == 1
    assert np.isfinite(ds.current_eta.sel(L=3).isel(bond=0)).all()
    assert ds.attrs["max_residual"] == "1e-10" and "kernel_tol" in ds.attrs


def test_small_physical_gap_is_unique_not_degenerate(tmp_path):
    """alpha 1, delta 0.01, mu 0.001 (L = 4 ring): the slowest rate is 2.5e-10, a true gap (dense
    SVD: singular values 1e-17 and 2.4e-10 of the largest): unique, and the state of the direct
    solver is the dense one. GMRES reaches a residual of ~1e-13 of the scale, which bounds the
    error of rho only to ~1e-3 with so small a gap (measured: sz off by 4.5e-4): refused by the
    error estimate (status 4), never written; on machines whose rounding lets the refinement
    reach ~1e-16 (measured: estimate 4.6e-6, sz off by 8e-7) written within its estimate. (The direct solve in the matrix units; in the Pauli
    sector it is off by 5.7e-7, within its error estimate but not within 1e-7.)"""
    kw = minimal_params(1.0, 0.01, mu=0.001)
    rho, kdim = dense_steady_state(dense_liouvillian(4, "ring", **kw), tol=1e-13)
    assert kdim == 1
    ref = dense_observables(rho, 4, "ring", **kw)
    ours, attrs = ed(4, "ring", solver="direct", preset="minimal", alpha=1.0, delta=0.01, mu=0.001,
                     basis="matrix-units")
    assert ours["kernel_dim"] == 1 and attrs["unique"] == 1
    np.testing.assert_allclose(ours["sz"], ref["sz"], atol=1e-7)
    np.testing.assert_allclose(ours["current_eta"], ref["current_eta"], atol=1e-7)
    assert ours["error_estimate"] < 1e-5
    proc = run_cli(["solve", "--L", 4, "--preset", "minimal", "--alpha", 1, "--delta", 0.01,
                    "--mu", 0.001, "--solver", "iterative", "-o", tmp_path / "x.nc"], check=False)
    # whether GMRES's refinement gets below ~1e-15 of the scale depends on the machine's
    # rounding: either it is refused by the error estimate and nothing is written, or the
    # written state is within what its error estimate claims (2^(L/2) x estimate bounds the
    # observables, Cauchy-Schwarz) and below the threshold
    if proc.returncode == 4:
        assert "estimated error" in proc.stderr
        assert not (tmp_path / "x.nc").exists()
    else:
        assert proc.returncode == 0, proc.stderr
        with xr.open_dataset(tmp_path / "x.nc") as ds:
            est = float(ds["error_estimate"])
            assert est <= float(ds.attrs["max_error_estimate"])
            for k in ("sz", "current_eta"):
                np.testing.assert_allclose(ds[k].values, ref[k], atol=2 ** 2 * est)


def test_gap_below_krylov_resolution_is_said_so(tmp_path):
    """alpha 100, delta 1 (L = 4 ring): the gap is 2.5e-8 against a scale of 8e4 (dense
    eigenvalues). Shift-and-invert (direct) resolves it: unique. The Krylov search cannot: it
    says so (status 3), never 'non-unique' (forced here: no factorisation allowed). With the
    iterative solver the factorisation now decides (it fits, issue 15): unique, and the GMRES
    state is refused by its error estimate (status 4), with the advice --solver direct."""
    kw = minimal_params(100.0, 1.0)
    ev = np.sort(np.abs(np.linalg.eigvals(dense_liouvillian(4, "ring", **kw))))
    assert ev[0] < 1e-9 and 2.4e-8 < ev[1] < 2.6e-8
    ours, attrs = ed(4, "ring", solver="direct", preset="minimal", alpha=100.0, delta=1.0)
    assert ours["kernel_dim"] == 1 and attrs["unique"] == 1
    proc = run_cli(["solve", "--L", 4, "--preset", "minimal", "--alpha", 100, "--delta", 1,
                    "--solver", "iterative", "-o", tmp_path / "x.nc"], check=False)
    assert proc.returncode == 4 and "estimated error" in proc.stderr
    assert "--solver direct" in proc.stderr and "Regime: strong dissipation" in proc.stderr
    assert not (tmp_path / "x.nc").exists()
    from lindring.solvers.steady import SolverError, Tolerances
    p = model.make_params(4, bc="ring", preset="minimal", alpha=100.0, delta=1.0)
    with pytest.raises(SolverError, match="cannot decide"):
        run_ed(p, solver="iterative", basis="pauli", tol=Tolerances(sinvert_max_rows=0))


@pytest.mark.parametrize("args", [["--preset", "minimal", "--alpha", 0, "--delta", 0],
                                  ["--mu", 1, "--solver", "iterative"],
                                  ["--bc", "open", "--J0", 1, "--mu", 1, "--eps-zz", 0.3]])
def test_no_dissipation_refused(tmp_path, args):
    """No jump operator: every function of H is stationary; refused before compute."""
    proc = run_cli(["solve", "--L", 4, *args, "-o", tmp_path / "x.nc"], check=False)
    assert proc.returncode == 2 and "no dissipation" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("L,rows", [(600, "10^357 rows"), (1000, "10^598 rows"),
                                    (10 ** 6, "--L must be <= 100000")])
def test_plan_and_solve_beyond_floating_point(tmp_path, L, rows):
    """Refused with the size in words, before any compute (solve's quick dense bound overflowed
    from L = 512 on, with a traceback; the plan's digit count of 10^6 sites hit Python's
    4300-digit limit of int-to-text conversion, after 90 s of counting the sector; 10^6 sites
    are now above the limit of --L itself)."""
    for cmd in (["plan"], ["solve", "-o", tmp_path / "x.nc"]):
        proc = run_cli([*cmd, "--L", L, "--preset", "minimal", "--alpha", 2, "--delta", 1],
                       check=False)
        assert proc.returncode == 2 and rows in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("method", ["cmf", "mpo"])
def test_range_two_refused_where_unsupported(tmp_path, method):
    proc = run_cli(["solve", "--method", method, "--bc", "ring" if method == "cmf" else "open",
                    "--L", 4, "--preset", "minimal", "--alpha", 2, "--delta", 0.8, "--range", 2,
                    "-o", tmp_path / "x.nc"], check=False)
    assert proc.returncode == 2 and "range" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("method", ["ed", "cmf"])
def test_rates_spanning_beyond_double_precision_are_said_so(tmp_path, method):
    """Ring L = 3, minimal model, delta = 1.5: the current tends to a finite limit as alpha
    grows (dense reference: 1.99805 at alpha = 100, 1.99998 at 1000), but at alpha = 1e8 it is
    -2 Re(eta <sp sm>) with |eta| = 1e16 and <sp sm> ~ 1e-16, below rounding: ED wrote 1.10 and
    the mean field's symmetric branch 6.36 (closed form 4.50), every check of the state passed
    and nothing was said. The span of the rates (1e16) is said in a warning; points whose rates
    span less (the uniform scale s = 1e8 included) say nothing."""
    kw = minimal_params(1e3, 1.5)
    near = dense_observables(dense_steady_state(dense_liouvillian(3, "ring", **kw))[0], 3, "ring",
                             **kw)["current_eta"][0]
    args = ["solve", "--method", method, "--L", 3, "--preset", "minimal", "--quiet"]
    proc = run_cli(args + ["--alpha", "1e8", "--delta", 1.5, "-o", tmp_path / "far.nc"])
    assert "the rates span 1.0e+16" in proc.stderr and "alpha" in proc.stderr, proc.stderr
    with xr.open_dataset(tmp_path / "far.nc") as ds:      # the file says it too
        assert ds.attrs["precision_note"].startswith("the rates span 1.0e+16")
        if method == "ed":       # the number it warns about
            assert abs(float(ds.current_eta[0]) - near) > 0.1, (float(ds.current_eta[0]), near)
    for point in (["--alpha", 2, "--delta", 1.5], ["--alpha", 2e4, "--delta", 1.5e4, "--mu", 1e8]):
        proc = run_cli(args + point + ["-o", tmp_path / "ok.nc"])
        assert "rates span" not in proc.stderr, proc.stderr
        with xr.open_dataset(tmp_path / "ok.nc") as ds:
            assert ds.attrs["precision_note"] == "none"

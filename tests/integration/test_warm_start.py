"""Warm starts of ED (``--save-state``, ``--initial-guess``): the same steady state as a cold
solve and as the dense reference, on 1 and 2 ranks under real mpiexec; every unusable guess
refused by name, or (``--initial-guess-fallback``) a cold start."""
import shutil

import numpy as np
import pytest
import xarray as xr

from conftest import run_cli
from dense_reference import dense_liouvillian, dense_observables, dense_steady_state, minimal_params

L = 5
#: two neighbouring points of a theta scan at r = 2 (Fig. 4's parametrisation)
THETA_A, THETA_B = 0.6, 0.65


def point(theta):
    return 2 * np.cos(theta), 2 * np.sin(theta)


def solve(out, theta, *extra, ranks=None, check=True, Ls=L):
    alpha, delta = point(theta)
    return run_cli(["solve", "--method", "ed", "--L", Ls, "--preset", "minimal",
                    f"--alpha={alpha!r}", f"--delta={delta!r}", "--solver", "iterative",
                    "-o", out, *extra], ranks=ranks, check=check)


def dense(theta):
    alpha, delta = point(theta)
    kw = minimal_params(alpha, delta)
    rho, kdim = dense_steady_state(dense_liouvillian(L, "ring", **kw))
    assert kdim == 1
    return dense_observables(rho, L, "ring", **kw)


OBSERVABLES = ("current_eta", "current_J", "sz", "purity", "purity_pair", "negativity_pair")


@pytest.fixture(scope="module")
def states(tmp_path_factory):
    """A cold solve of point A saving its state, and the cold solve of point B."""
    d = tmp_path_factory.mktemp("warm")
    solve(d / "a.nc", THETA_A, "--save-state", d / "a.state.nc")
    solve(d / "b_cold.nc", THETA_B)
    return d


@pytest.mark.parametrize("ranks", [None, 2])
def test_warm_start_equals_cold_and_dense(states, tmp_path, ranks):
    out = tmp_path / "b_warm.nc"
    solve(out, THETA_B, "--initial-guess", states / "a.state.nc", "--save-state",
          tmp_path / "b.state.nc", ranks=ranks)
    warm, cold = xr.open_dataset(out), xr.open_dataset(states / "b_cold.nc")
    ref = dense(THETA_B)
    for k in OBSERVABLES:
        np.testing.assert_allclose(warm[k].values, cold[k].values, atol=1e-10, err_msg=k)
        np.testing.assert_allclose(warm[k].values, ref[k], atol=1e-10, err_msg=k)
    assert str(states / "a.state.nc") in warm.attrs["initial_guess"]
    assert "alpha_re=" in warm.attrs["initial_guess"]       # the point it came from
    assert warm.attrs["initial_guess_note"] == ""
    assert 0 < warm.attrs["initial_guess_residual"] < 1     # a neighbour is closer than zero
    assert cold.attrs["initial_guess"] == "none" and np.isnan(cold.attrs["initial_guess_residual"])
    assert warm.attrs["saved_state"] == str(tmp_path / "b.state.nc")
    assert warm.attrs["unique"] == 1 and warm.attrs["mpi_ranks"] == (ranks or 1)
    # the saved state is the trace-1 steady state whatever the ranks: the same values
    sa = xr.open_dataset(tmp_path / "b.state.nc")
    assert sa.attrs["format"] == "lindring-steady-state" and sa.attrs["rows"] == sa.sizes["row"]
    assert sa.attrs["L"] == L and sa.attrs["bc"] == "ring"
    assert sa.attrs["operator_basis"] == warm.attrs["operator_basis"]
    assert sa.attrs["symmetry"] == warm.attrs["symmetry"]
    assert sa.attrs["rows"] == warm.attrs["basis_size"]


def test_own_state_as_guess_needs_almost_no_iterations(states, tmp_path):
    """Starting from the point's own steady state: the solve starts converged."""
    first = tmp_path / "first.nc"
    solve(first, THETA_A, "--save-state", tmp_path / "s.nc")
    again = tmp_path / "again.nc"
    solve(again, THETA_A, "--initial-guess", tmp_path / "s.nc")
    a, b = xr.open_dataset(first), xr.open_dataset(again)
    assert b.attrs["initial_guess_residual"] < 1e-11
    assert b.attrs["solver_iterations"] < a.attrs["solver_iterations"]
    for k in OBSERVABLES:
        np.testing.assert_allclose(a[k].values, b[k].values, atol=1e-10, err_msg=k)


@pytest.mark.parametrize("extra, words", [
    (["--L", 6], "L 5 in the file, 6 here"),
    (["--symmetry", "none"], "symmetry"),
    (["--basis", "matrix-units"], "operator_basis pauli in the file, matrix-units here"),
])
def test_guess_of_another_space_is_refused(states, tmp_path, extra, words):
    args = [] if extra[0] == "--L" else extra
    proc = solve(tmp_path / "x.nc", THETA_B, "--initial-guess", states / "a.state.nc", *args,
                 check=False, Ls=extra[1] if extra[0] == "--L" else L)
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr and "--initial-guess" in proc.stderr
    assert not (tmp_path / "x.nc").exists()


def _truncated(states, tmp_path):
    bad = tmp_path / "bad.state.nc"
    data = (states / "a.state.nc").read_bytes()
    bad.write_bytes(data[:len(data) // 2])
    return bad


def _altered(states, tmp_path):
    """A state file whose values were changed after it was written (checksum no longer fits)."""
    bad = tmp_path / "altered.state.nc"
    with xr.open_dataset(states / "a.state.nc") as ds:
        ds = ds.load()
    ds["state"].values[3] += 1e-3
    ds.to_netcdf(bad)
    return bad


@pytest.mark.parametrize("make, words", [
    (lambda s, t: t / "missing.nc", "not found"),
    (_truncated, "cannot be read as NetCDF"),
    (_altered, "checksum"),
    (lambda s, t: s / "b_cold.nc", "not a lindring steady state"),
])
def test_unusable_guess_refused_or_cold_start(states, tmp_path, make, words):
    bad = make(states, tmp_path)
    proc = solve(tmp_path / "x.nc", THETA_B, "--initial-guess", bad, check=False)
    assert proc.returncode == 2 and words in proc.stderr, proc.stderr
    assert "lindring: error: --initial-guess: " in proc.stderr, proc.stderr    # names its option
    assert not (tmp_path / "x.nc").exists()
    # with the fallback: a warning, a cold start, the cold result
    out = tmp_path / "y.nc"
    proc = solve(out, THETA_B, "--initial-guess", bad, "--initial-guess-fallback")
    assert "WARNING: [warm start]" in proc.stderr and words in proc.stderr
    ds, cold = xr.open_dataset(out), xr.open_dataset(states / "b_cold.nc")
    assert ds.attrs["initial_guess"] == "none" and words in ds.attrs["initial_guess_note"]
    for k in OBSERVABLES:
        np.testing.assert_allclose(ds[k].values, cold[k].values, atol=1e-10, err_msg=k)


def test_direct_solver_does_not_use_the_guess(states, tmp_path):
    out = tmp_path / "d.nc"
    alpha, delta = point(THETA_B)
    run_cli(["solve", "--method", "ed", "--L", L, "--preset", "minimal", f"--alpha={alpha!r}",
             f"--delta={delta!r}", "--solver", "direct", "--initial-guess",
             states / "a.state.nc", "-o", out])
    ds = xr.open_dataset(out)
    assert ds.attrs["initial_guess"] == "none" and "direct" in ds.attrs["initial_guess_note"]


@pytest.mark.parametrize("args, words", [
    (["--method", "cmf", "--save-state", "s.nc"], "--save-state (an option of --method ed)"),
    (["--initial-guess-fallback"], "needs --initial-guess"),
    (["--save-state", "OUT"], "is the output file"),
    (["--save-state", "/proc/x/s.nc"], "cannot write"),
])
def test_bad_warm_start_options(tmp_path, args, words):
    out = tmp_path / "o.nc"
    args = [str(out) if a == "OUT" else str(tmp_path / a) if a == "s.nc" else a for a in args]
    method = [] if "--method" in args else ["--method", "ed"]
    proc = run_cli(["solve", *method, "--L", 4, "--preset", "minimal", "--alpha", 2, "--delta",
                    1.5, "-o", out, *args], check=False)
    assert proc.returncode == 2 and words in proc.stderr, proc.stderr
    assert not out.exists()


def test_state_survives_a_path_with_spaces(states, tmp_path):
    folder = tmp_path / "a folder; $(x)"
    folder.mkdir()
    shutil.copy(states / "a.state.nc", folder / "s t.nc")
    out = folder / "o.nc"
    solve(out, THETA_B, "--initial-guess", folder / "s t.nc")
    assert str(folder / "s t.nc") in xr.open_dataset(out).attrs["initial_guess"]


def test_probe_budget_after_a_warm_start():
    """The probe gets the iterations of a cold solve at the warm solve's rate, not the warm
    solve's own count (which would send unique points to the spectrum search)."""
    from lindring.solvers.steady import cold_iterations
    assert cold_iterations(50, None, 1e-12) == 50                 # cold start
    assert cold_iterations(40, 1e-6, 1e-12) == 80                 # half the way left: twice
    assert cold_iterations(5, 1e-14, 1e-12) == 5                  # below rtol: nothing to scale
    assert cold_iterations(10, 1e-11, 1e-12) == 100               # at most 10x
    assert cold_iterations(50, 1.5, 1e-12) == 50                  # a guess worse than zero


def test_a_run_that_saves_no_state_leaves_no_old_one(states, tmp_path):
    """An old file at --save-state (another point's state) is removed before the compute: a run
    that saves nothing (here a non-unique point, alpha 1, delta 0: the dense kernel is 2) leaves
    no state that looks like its own, and says so."""
    old = tmp_path / "old.state.nc"
    shutil.copy(states / "a.state.nc", old)
    out = tmp_path / "o.nc"
    proc = run_cli(["solve", "--method", "ed", "--L", 4, "--preset", "minimal", "--alpha", 1,
                    "--delta", 0, "--save-state", old, "-o", out])
    assert not old.exists() and "no state saved" in proc.stderr
    with xr.open_dataset(out) as ds:
        assert ds.attrs["unique"] == 0

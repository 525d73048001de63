"""MPO through the command line, against ED on the same open chain (two independent methods).

Issue 12's inputs: what the MPO writes agrees with ED to the accuracy it claims, or it refuses
(exit 2 before any compute for options that cannot give a steady state, exit 4 and no file for a
failed run, NaN with ``kernel_dim`` 2 for a non-unique steady state).
"""
import numpy as np
import pytest
import xarray as xr

from conftest import run_cli

RANGE1_ALL = ["--J0", "0.6+0.2j", "--phi", "0.4", "--lam", "0.2-0.1j", "--mu", "0.8",
              "--kappa", "0.2", "--eps-x", "0.1", "--eps-zz", "0.15", "--alpha", "1.2+0.3j",
              "--beta", "0.3-0.2j", "--gamma", "0.5+0.4j", "--delta", "0.8-0.2j"]
MINIMAL = ["--bc", "open", "--preset", "minimal"]


def _obs(tmp_path, name, args):
    out = tmp_path / f"{name}.nc"
    run_cli(["solve", *args, "-o", out])
    with xr.open_dataset(out) as ds:
        return ds.load()


def _claim(mpo):
    """What an MPO file claims about its observables' error (sz, currents / |eta|): 10x the
    difference of its two starts, or the error of rho its residual certifies, ``error_estimate``
    (relative residual / slowest rate) times ``2^(L/2) sqrt(purity)`` (Cauchy-Schwarz:
    ``|Tr(O d rho)| <= ||O x 1|| ||d rho||``), whichever is larger; at least 1e-8."""
    L = mpo.sizes["site"]
    cs = 2 ** (L / 2) * np.sqrt(float(mpo["purity"])) * float(mpo["error_estimate"])
    return max(10 * float(mpo["start_difference"]), cs, 1e-8)


def _scale(mpo, k):
    """Operator-norm bound of an observable (|eta| for current_eta, 2|J| for current_J, 1 for
    sz): the claim is made on the observables divided by it (J = 0: both methods write 0)."""
    if k == "current_eta":
        return abs(complex(mpo.attrs["eta_re"], mpo.attrs["eta_im"]))
    if k == "current_J":
        return 2 * abs(complex(mpo.attrs["J0_re"], mpo.attrs["J0_im"]))       # |J| = |J0|
    return 1.0


def _agree_or_refuse(tmp_path, base, mpo_args=()):
    """Run ED and MPO on one point: the MPO must agree with ED within its own claim
    (:func:`_claim`) or exit 4 without a file."""
    ed = _obs(tmp_path, "ed", ["--method", "ed", *base])
    out = tmp_path / "mpo.nc"
    proc = run_cli(["solve", "--method", "mpo", *base, *mpo_args, "-o", out], check=False)
    if proc.returncode == 4:
        assert not out.exists() and "mpo " in proc.stderr and "t-max" not in proc.stderr
        return ed, None, proc
    assert proc.returncode == 0, proc.stderr
    with xr.open_dataset(out) as ds:
        mpo = ds.load()
    assert mpo.attrs["unique"] == 1 and int(mpo["kernel_dim"]) == 1
    assert float(mpo["relative_residual"]) <= mpo.attrs["max_relative_residual"]
    assert float(mpo["error_estimate"]) <= mpo.attrs["agreement_tol"]
    claim = _claim(mpo)
    for k in ("current_eta", "current_J", "sz"):
        np.testing.assert_allclose(mpo[k].values, ed[k].values, atol=claim * _scale(mpo, k),
                                   rtol=0, err_msg=k)
    return ed, mpo, proc


@pytest.mark.slow
@pytest.mark.parametrize("L", [6, 7, 8])
def test_mpo_matches_ed_on_open_chains(tmp_path, L):
    """Every range-1 term on, complex couplings (chi 64: 1-5 minutes each)."""
    ed, mpo, _ = _agree_or_refuse(tmp_path, ["--bc", "open", "--L", L, *RANGE1_ALL])
    assert mpo is not None, "the MPO refused a well-conditioned point"
    assert mpo.attrs["method"] == "mpo" and mpo.attrs["dt_source"].startswith("default")


def test_mpo_refuses_options_that_cannot_give_a_steady_state(tmp_path):
    """Exit 2 before any compute, with the reason: rings, chi = 1, order 2 with dt = 0.5, and a
    dt above 4 / (fastest rate) (alpha 5, delta 4: the issue's blow-up at dt = 0.1)."""
    out = tmp_path / "x.nc"
    cases = [(["--bc", "ring", "--L", 6, "--alpha", 1], "does not support bc='ring'"),
             ([*MINIMAL, "--L", 6, "--alpha", 2, "--delta", 1, "--chi", 1], "product state"),
             ([*MINIMAL, "--L", 6, "--alpha", 2, "--delta", 1, "--order", 2, "--dt", 0.5],
              "splitting error"),
             ([*MINIMAL, "--L", 6, "--alpha", 5, "--delta", 4, "--dt", 0.1], "backward sub-step")]
    for args, msg in cases:
        proc = run_cli(["solve", "--method", "mpo", *args, "-o", out], check=False)
        assert proc.returncode == 2 and msg in proc.stderr, (args, proc.stderr)
        assert not out.exists()


def test_mpo_failure_writes_nothing_and_says_why(tmp_path):
    """chi = 3 cannot hold the L = 5 steady state: exit 4, no file, 'bond dimension too small'."""
    out = tmp_path / "x.nc"
    proc = run_cli(["solve", "--method", "mpo", *MINIMAL, "--L", 5, "--alpha", 2, "--delta", 1,
                    "--chi", 3, "-o", out], check=False)
    assert proc.returncode == 4 and "bond dimension too small" in proc.stderr
    assert "t-max" not in proc.stderr and not out.exists()


def test_mpo_non_unique_steady_state_is_nan_like_ed(tmp_path):
    """alpha 1, delta 0, open chain (L = 5): ED finds a kernel of dimension 2 and writes NaN; so
    does the MPO (two starts, distinct exact steady states)."""
    base = [*MINIMAL, "--L", 5, "--alpha", 1, "--delta", 0]
    ed = _obs(tmp_path, "ed", ["--method", "ed", *base, "--symmetry", "none"])
    mpo = _obs(tmp_path, "mpo", ["--method", "mpo", *base, "--chi", 16])
    assert int(ed["kernel_dim"]) == 2 and int(mpo["kernel_dim"]) == 2
    assert mpo.attrs["unique"] == 0 and np.all(np.isnan(mpo["current_eta"].values))


@pytest.mark.parametrize("alpha, delta", [pytest.param(5, 4, marks=pytest.mark.slow), (1, 1e-3)])
def test_issue_inputs_agree_with_ed_or_refuse(tmp_path, alpha, delta):
    """The issue's failing inputs at L = 5 (chi 16): alpha 5, delta 4 (fast rates: dt from the
    rates; 2 minutes, opt-in) and alpha 1, delta 1e-3 (slow relaxation): agree with ED within the
    claim or exit 4."""
    ed, mpo, proc = _agree_or_refuse(tmp_path, [*MINIMAL, "--L", 5, "--alpha", alpha,
                                                "--delta", delta], ["--chi", 16])
    if mpo is not None:
        assert np.abs(mpo["sz"].values).max() <= 1
        assert mpo.attrs["dt"] * mpo.attrs["rate_scale"] <= 2 + 1e-12


@pytest.mark.slow
@pytest.mark.parametrize("alpha, delta", [(5, 4), (1, 1e-3), (1, 0), (2, 1)])
def test_issue_inputs_at_L6(tmp_path, alpha, delta):
    """The issue's inputs at L = 6 (chi 64): agree with ED within the claim, refuse, or (delta 0)
    NaN with kernel_dim 2 as ED."""
    base = [*MINIMAL, "--L", 6, "--alpha", alpha, "--delta", delta]
    if delta == 0:
        ed = _obs(tmp_path, "ed", ["--method", "ed", *base, "--symmetry", "none"])
        mpo = _obs(tmp_path, "mpo", ["--method", "mpo", *base])
        assert int(ed["kernel_dim"]) == 2 and int(mpo["kernel_dim"]) == 2
        return
    _agree_or_refuse(tmp_path, base)


@pytest.mark.slow
def test_mpo_converged_in_chi_at_L12(tmp_path):
    """Two certified runs at L = 12 (chi 24 and 32) agree within their claims; the current is
    mirror symmetric and largest at the edges (Fig. 5)."""
    base = ["--method", "mpo", *MINIMAL, "--L", 12, "--alpha", 2, "--delta", 1]
    a = _obs(tmp_path, "a", [*base, "--chi", 24])
    b = _obs(tmp_path, "b", [*base, "--chi", 32])
    claim = 10 * max(float(a["start_difference"]), float(b["start_difference"]), 1e-9)
    assert np.abs(a["current_eta"].values - b["current_eta"].values).max() <= claim
    cur = b["current_eta"].values
    np.testing.assert_allclose(cur, cur[::-1], atol=1e-6)
    assert cur[0] > cur[len(cur) // 2]

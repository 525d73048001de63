"""MPO through the command line, against ED on the same open chain (two independent methods)."""
import numpy as np
import pytest
import xarray as xr

from conftest import run_cli

RANGE1_ALL = ["--J0", "0.6+0.2j", "--phi", "0.4", "--lam", "0.2-0.1j", "--mu", "0.8",
              "--kappa", "0.2", "--eps-x", "0.1", "--eps-zz", "0.15", "--alpha", "1.2+0.3j",
              "--beta", "0.3-0.2j", "--gamma", "0.5+0.4j", "--delta", "0.8-0.2j"]


def _obs(tmp_path, name, args):
    out = tmp_path / f"{name}.nc"
    run_cli(["solve", *args, "-o", out])
    with xr.open_dataset(out) as ds:
        return ds.load()


@pytest.mark.parametrize("L", [6, pytest.param(7, marks=pytest.mark.slow),
                               pytest.param(8, marks=pytest.mark.slow)])
def test_mpo_matches_ed_on_open_chains(tmp_path, L):
    base = ["--bc", "open", "--L", L, *RANGE1_ALL]
    ed = _obs(tmp_path, "ed", ["--method", "ed", *base])
    mpo = _obs(tmp_path, "mpo", ["--method", "mpo", *base, "--chi", 32, "--dt", 0.05, "--order", 4])
    for k in ("current_eta", "current_J", "sz"):
        np.testing.assert_allclose(mpo[k].values, ed[k].values, atol=1e-4, rtol=0, err_msg=k)
    assert mpo.attrs["converged"] == 1 and mpo.attrs["method"] == "mpo"
    assert float(mpo["discarded_weight"]) < 1e-6


def test_mpo_refuses_rings_and_non_convergence_writes_nothing(tmp_path):
    out = tmp_path / "x.nc"
    proc = run_cli(["solve", "--method", "mpo", "--bc", "ring", "--L", 6, "--alpha", 1, "-o", out],
                   check=False)
    assert proc.returncode == 2 and "does not support bc='ring'" in proc.stderr
    proc = run_cli(["solve", "--method", "mpo", "--bc", "open", "--L", 6, "--preset", "minimal",
                    "--alpha", 2, "--delta", 1, "--t-max", 0.5, "-o", out], check=False)
    assert proc.returncode == 4 and "did not reach a steady state" in proc.stderr
    assert not out.exists()


@pytest.mark.slow
def test_mpo_converged_in_dt_and_chi_at_L12(tmp_path):
    """Halving dt and doubling chi changes the L = 12 site-resolved current by < 2e-4.

    Opt-in (``-m slow``): 3-10 minutes. Measured: 9.2e-5 (chi 16 -> 32, dt 0.1 -> 0.05, 4th order)."""
    base = ["--method", "mpo", "--bc", "open", "--L", 12, "--preset", "minimal", "--alpha", 2,
            "--delta", 1, "--order", 4]
    coarse = _obs(tmp_path, "c", [*base, "--chi", 16, "--dt", 0.1])
    fine = _obs(tmp_path, "f", [*base, "--chi", 32, "--dt", 0.05])
    diff = np.abs(fine["current_eta"].values - coarse["current_eta"].values).max()
    print(f"L=12: max change of current_eta {diff:.2e}")
    assert diff < 2e-4
    cur = fine["current_eta"].values
    np.testing.assert_allclose(cur, cur[::-1], atol=1e-5)   # mirror symmetry of the chain
    assert cur[0] > cur[len(cur) // 2]                     # largest at the edges (Fig. 5)

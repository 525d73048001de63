"""The command line: MPI consistency under real mpiexec, the file it writes, and bad input."""
import numpy as np
import pytest
import xarray as xr

from conftest import run_cli

FULL_ARGS = ["--J0", "0.7+0.2j", "--phi", "0.9", "--lam", "0.3-0.1j", "--mu", "0.8",
             "--kappa", "0.25", "--eps-x", "0.15", "--eps-zz", "0.2", "--alpha", "1.3+0.4j",
             "--beta", "0.35-0.2j", "--gamma", "0.6+0.5j", "--delta", "0.9-0.3j"]
OBS = ("current_eta", "current_J", "sz", "purity", "purity_pair", "negativity_pair",
       "negativity_half", "min_eigenvalue")


def _solve(tmp_path, name, args, ranks=None):
    out = tmp_path / f"{name}.nc"
    run_cli(["solve", *args, "-o", out], ranks=ranks)
    with xr.open_dataset(out) as ds:
        return ds.load()


@pytest.mark.parametrize("bc,L", [("ring", 5), ("open", 5)])
def test_one_and_two_ranks_agree(tmp_path, bc, L):
    args = ["--method", "ed", "--bc", bc, "--L", L, *FULL_ARGS]
    one = _solve(tmp_path, "one", args)
    two = _solve(tmp_path, "two", args, ranks=2)
    assert one.attrs["mpi_ranks"] == 1 and two.attrs["mpi_ranks"] == 2
    # the probe's Gaussian right-hand side is a function of the global row only
    assert one.attrs["uniqueness_method"] == two.attrs["uniqueness_method"] == "probe solve"
    np.testing.assert_allclose(two.attrs["slowest_rate"], one.attrs["slowest_rate"], rtol=1e-8)
    for k in OBS:
        np.testing.assert_allclose(two[k].values, one[k].values, atol=1e-10, rtol=0, err_msg=k)


def test_iterative_on_two_ranks_agrees_with_direct(tmp_path):
    base = ["--bc", "ring", "--L", 6, "--preset", "minimal", "--alpha", 2, "--delta", 1.5]
    d = _solve(tmp_path, "d", base + ["--solver", "direct"])
    it = _solve(tmp_path, "it", base + ["--solver", "iterative", "-ksp_gmres_restart", "100"], ranks=2)
    assert it.attrs["solver"] == "iterative" and it.attrs["ksp_type"] == "gmres"
    assert "-ksp_gmres_restart 100" in it.attrs["petsc_options"]
    for k in ("current_eta", "sz", "purity"):
        np.testing.assert_allclose(it[k].values, d[k].values, atol=1e-9, err_msg=k)


def test_file_is_self_describing(tmp_path):
    ds = _solve(tmp_path, "f", ["--L", 4, "--preset", "minimal", "--alpha", "2", "--delta", "1.5+0.5j",
                                "--gap"])
    assert ds.sizes == {"bond": 4, "site": 4}
    for k in ("current_eta", "current_J", "sz", "residual", "trace_error", "hermiticity_error",
              "min_eigenvalue", "kernel_dim", "gap"):
        assert k in ds and "long_name" in ds[k].attrs and "units" in ds[k].attrs, k
    a = ds.attrs
    assert (a["alpha_re"], a["alpha_im"], a["delta_re"], a["delta_im"]) == (2, 0, 1.5, 0.5)
    assert (a["gamma_re"], a["gamma_im"], a["beta_re"], a["beta_im"]) == (2, 0, 1.5, -0.5)
    assert a["method"] == "ed" and a["preset"] == "minimal" and a["unique"] == 1
    for k in ("solver", "rtol", "mpi_ranks", "wall_seconds", "peak_memory_mb_max_rank",
              "lindring_version", "git_commit"):
        assert k in a, k
    assert int(ds["kernel_dim"]) == 1 and float(ds["gap"]) > 0


def test_cmf_and_ground_through_the_command(tmp_path):
    cmf = _solve(tmp_path, "cmf", ["--method", "cmf", "--L", 4, "--preset", "minimal",
                                   "--alpha", 2, "--delta", 1])
    a, d = 2.0, 1.0
    Z = (a * a - d * d) ** 2 * (a ** 4 + d ** 4 + 3 * a * a * d * d) + (a * a + d * d) ** 2
    assert cmf.sizes["bond"] == 2
    np.testing.assert_allclose(cmf["current_eta_symmetric"][0], 2 * a * a * d * d * (a * a - d * d) ** 3 / Z,
                               atol=1e-10)
    assert cmf.attrs["branch"] in ("symmetric", "broken")
    g = _solve(tmp_path, "g", ["--method", "ground", "--L", 4, "--J0", 1, "--phi", 1.0])
    np.testing.assert_allclose(g["current_J"], np.sqrt(2) * np.sin(0.25), atol=1e-10)  # free fermions
    assert int(g["degeneracy"]) == 1 and float(g["entropy_pair"]) > 0


BAD = [
    (["--L", 1, "--bc", "open", "--alpha", 1], "L must be >= 2"),
    (["--L", 2, "--bc", "ring", "--alpha", 1], "ring needs L >= 3"),
    (["--L", 4, "--kappa", -0.1, "--alpha", 1], "kappa must be >= 0"),
    (["--L", 2, "--bc", "open", "--range", 2, "--alpha", 1], "range = 2 needs L >= 3"),
    (["--L", 4, "--range", 3, "--alpha", 1], "range must be 1 or 2"),
    (["--L", 4, "--mu", "1+1j", "--alpha", 1], "'mu' must be real"),
    (["--L", 4, "--alpha", "abc"], "'alpha'"),
    (["--L", 4, "--preset", "minimal", "--alpha", 1], "needs 'delta'"),
    (["--L", 4, "--preset", "minimal", "--alpha", 1, "--delta", 1, "--beta", 1], "do not give beta"),
    (["--L", 4, "--method", "cmf", "--bc", "open", "--alpha", 1], "does not support bc='open'"),
    (["--L", 4, "--alpha", 1, "--foo", 2], "unrecognized arguments: --foo"),
    (["--L", 4, "--alpha", 1, "--solver", "magic"], "invalid choice: 'magic'"),
    (["--L", 4, "--alpha", 1, "--max-residual", "0"], "--max-residual must be > 0"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[m for _, m in BAD])
def test_bad_input_is_refused_before_compute(tmp_path, args, message):
    out = tmp_path / "bad.nc"
    proc = run_cli(["solve", *args, "-o", out], check=False)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "[assemble]" not in proc.stderr      # nothing was computed
    assert list(tmp_path.iterdir()) == []      # and nothing was written


def test_failed_verification_exits_nonzero_and_writes_nothing(tmp_path):
    out = tmp_path / "strict.nc"
    out.write_text("stale result of an earlier run")
    proc = run_cli(["solve", "--L", 4, "--preset", "minimal", "--alpha", 2, "--delta", 1.5,
                    "--solver", "iterative", "--max-residual", "1e-30", "-o", out], check=False)
    assert proc.returncode == 4
    assert "failed verification" in proc.stderr and "residual" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_non_convergence_exits_nonzero_and_writes_nothing(tmp_path):
    out = tmp_path / "nc.nc"
    proc = run_cli(["solve", "--L", 5, "--preset", "minimal", "--alpha", 2, "--delta", 1.5,
                    "--solver", "iterative", "--max-it", 2, "-o", out], check=False)
    assert proc.returncode == 3
    assert "did not converge" in proc.stderr
    # the failure names its regime (issue 15): mu = 1 against alpha^2 = 4
    assert "Regime: coherent and dissipative rates comparable" in proc.stderr
    assert "= 0.25)" in proc.stderr
    assert not out.exists()


def test_plan_counts_the_nonzeros_of_the_assembled_matrix(tmp_path):
    """`lindring plan` samples rows; the assembled PETSc matrix has (about) that many nonzeros."""
    import json
    for sym, rows in (("none", 4 ** 6), ("auto", None)):    # auto: momentum (eps_x breaks parity)
        args = ["--bc", "ring", "--L", 6, *FULL_ARGS, "--symmetry", sym]
        plan = json.loads(run_cli(["plan", *args, "--json"]).stdout)
        ds = _solve(tmp_path, "p" + sym, args)
        assert plan["symmetry"] == ds.attrs["symmetry"] == ("none" if sym == "none" else "momentum")
        assert plan["rows"] == ds.attrs["basis_size"] == (rows or plan["rows"])
        assert abs(plan["nnz"] - ds.attrs["nnz"]) <= 0.05 * ds.attrs["nnz"]
    minimal = ["--L", 10, "--preset", "minimal", "--alpha", 2, "--delta", 1.5]
    sector = json.loads(run_cli(["plan", *minimal, "--json"]).stdout)
    # almost every orbit of the 4^10 / 2 even words has the full length 2 x 10 (the dihedral group)
    assert sector["symmetry"] == "parity+momentum+reflection"
    assert 4 ** 10 / 40 <= sector["rows"] <= 1.05 * 4 ** 10 / 40
    small = json.loads(run_cli(["plan", "--bc", "open", "--L", 4, *FULL_ARGS, "--json"]).stdout)
    exact = _solve(tmp_path, "q", ["--bc", "open", "--L", 4, *FULL_ARGS])
    # all rows sampled: exact, up to row 0, which the solved matrix replaces by the trace (2^L terms)
    assert abs(small["nnz"] - exact.attrs["nnz"]) <= 2 ** 4
    assert plan["tasks"] == 1
    big = json.loads(run_cli(["plan", "--L", 11, "--preset", "minimal", "--alpha", 2,
                              "--delta", 1.5, "--symmetry", "none", "--mem-per-rank-mb", 2000, "--max-tasks", 64,
                              "--json"]).stdout)
    assert big["tasks"] > 1 and big["mem_mb_per_task"] <= 2000

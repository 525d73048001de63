"""Issue 16: ``lindring solve --model FILE --set NAME=VALUE`` and ``lindring.solve(model=...)``.

* models/paper.yaml against today's path (``--preset minimal`` and the paper's options, itself
  tested against the dense reference in test_ed.py): every observable to 1e-12, uniqueness
  decisions equal, at representative test points (ring and open, every perturbation, range 2,
  a degenerate kernel).
* models/boundary_driven_xxz.yaml at Delta = 0 against the closed form of the XX chain
  (see tests/unit/test_modelfile.py::test_boundary_driven_xx_chain_closed_form for the
  derivation and the published solution it agrees with).
* Bad input exits with status 2 before any compute and writes nothing.
"""
import numpy as np
import pytest
import xarray as xr

import lindring
from conftest import ROOT, run_cli

PAPER = ROOT / "models" / "paper.yaml"
XXZ = ROOT / "models" / "boundary_driven_xxz.yaml"
DISORDERED = ROOT / "models" / "disordered_ring.yaml"

#: (today's keywords, the model file's parameters) of the same point
POINTS = [
    (dict(L=4, bc="ring", preset="minimal", alpha=2.0, delta="1.5+0.5j"),
     dict(alpha=2.0, delta="1.5+0.5j")),
    (dict(L=4, bc="open", J0="0.7+0.2j", phi=0.9, mu=0.8, kappa=0.25, alpha="1.3+0.4j",
          delta=0.9),
     dict(J0="0.7+0.2j", phi=0.9, mu=0.8, kappa=0.25, alpha="1.3+0.4j", delta=0.9, beta=0,
          gamma=0)),
    (dict(L=5, bc="ring", preset="minimal", alpha=1.0, delta=0.6, eps_x=0.2, eps_zz=0.1,
          lam="0.3-0.1j", range=2),
     dict(alpha=1.0, delta=0.6, eps_x=0.2, eps_zz=0.1, lam="0.3-0.1j", range=2)),
    (dict(L=4, bc="ring", preset="minimal", alpha=1.0, delta=0.0),      # even ring, theta = 0:
     dict(alpha=1.0, delta=0.0)),                                       # dark state, kernel 2
]
SAME = {"current_eta": "I_eta", "current_J": "I_J", "sz": "sz", "purity": "purity",
        "purity_pair": "purity_pair", "negativity_pair": "negativity_pair",
        "negativity_half": "negativity_half", "kernel_dim": "kernel_dim"}


@pytest.mark.parametrize("today, values", POINTS)
def test_paper_model_file_reproduces_todays_results(today, values):
    ref = lindring.solve("ed", **today)
    got = lindring.solve("ed", L=today["L"], bc=today["bc"], model=PAPER, parameters=values)
    for a, b in SAME.items():
        assert a in ref, a        # the paper's files have every variable (NaN: not computed)
        if b not in got:          # a model file writes what it computed: negativity_half is
            assert np.isnan(ref[a].values).all(), a    # not, where the state is not unique
            continue
        x, y = np.asarray(ref[a].values), np.asarray(got[b].values)
        assert x.shape == y.shape
        assert np.array_equal(np.isnan(x), np.isnan(y)), a
        np.testing.assert_allclose(y[~np.isnan(y)], x[~np.isnan(x)], rtol=0, atol=1e-12,
                                   err_msg=a)
    assert got.attrs["unique"] == ref.attrs["unique"]
    assert got.attrs["symmetry"] == ref.attrs["symmetry"]
    assert got.attrs["model"] == "paper" and len(got.attrs["model_sha256"]) == 64
    assert got["I_eta"].dims == ("bond",) and "model file" in got["I_eta"].attrs["long_name"]


@pytest.mark.parametrize("symmetry", ["auto", "none"])
def test_xx_chain_through_the_command_line(tmp_path, symmetry):
    out = tmp_path / "xx.nc"
    J, Gamma, drive, L = 0.8, 1.7, 0.6, 5
    run_cli(["solve", "--method", "ed", "--model", XXZ, "--bc", "open", "--L", L,
             "--set", f"J={J}", "--set", "Delta=0", "--set", f"Gamma={Gamma}",
             "--set", f"drive={drive}", "--symmetry", symmetry, "-o", out])
    with xr.open_dataset(out) as ds:
        z1 = Gamma ** 2 * drive / (16 * J ** 2 + Gamma ** 2)
        np.testing.assert_allclose(ds.sz.values, [z1, 0, 0, 0, -z1], atol=1e-10)
        np.testing.assert_allclose(ds.j_spin.values, 16 * J * Gamma * drive / (16 * J ** 2 + Gamma ** 2),
                                   atol=1e-10)
        assert ds.attrs["symmetry"] == ("parity" if symmetry == "auto" else "none")
        assert ds.attrs["unique"] == 1
        assert ds.attrs["Delta_re"] == 0 and ds.attrs["Gamma_re"] == Gamma


def test_disordered_ring_runs_in_the_parity_sector_and_its_clean_limit():
    dis = lindring.solve("ed", L=4, bc="ring", model=DISORDERED, parameters=dict(w=0.3, seed=2))
    assert dis.attrs["symmetry"] == "parity" and dis.attrs["unique"] == 1
    assert np.ptp(dis.I_eta.values) > 1e-3          # the disorder shows in the currents
    clean = lindring.solve("ed", L=4, bc="ring", model=DISORDERED, parameters=dict(w=0))
    ref = lindring.solve("ed", L=4, bc="ring", preset="minimal", alpha=2, delta=1.5)
    np.testing.assert_allclose(clean.I_eta.values, ref.current_eta.values, atol=1e-12)


@pytest.mark.parametrize("args, message", [
    (["--model", PAPER, "--set", "zeta=1"], "unknown parameter"),
    (["--model", PAPER, "--set", "alpha=2*3"], "cannot read '2\\*3' as a number"),
    (["--model", PAPER, "--set", "alpha=__import__('os')"], "cannot read"),
    (["--model", PAPER, "--set", "alpha"], "write NAME=VALUE"),
    (["--model", PAPER, "--alpha", "2"], "--alpha: the paper's parameters do not apply"),
    (["--model", PAPER, "--preset", "minimal"], "--preset"),
    (["--model", PAPER, "--set", "eps_x=0.1", "--symmetry", "parity"],
     "hamiltonian term 'onsite' at site 0 does not commute with parity"),
    (["--model", XXZ, "--symmetry", "momentum"], "open chain"),
    (["--model", PAPER, "--method", "cmf"], "--method ed"),
    (["--model", ROOT / "models" / "missing.yaml"], "not found"),
    (["--set", "alpha=1"], "need --model"),
    (["--model", PAPER, "--set", "alpha=0", "--set", "delta=0"], "no jump operator"),
])
def test_bad_model_input_exits_2_before_compute(tmp_path, args, message):
    out = tmp_path / "bad.nc"
    bc = "open" if XXZ in args else "ring"
    proc = run_cli(["solve", "--L", 4, "--bc", bc] + args + ["-o", out], check=False)
    assert proc.returncode == 2, proc.stderr
    assert __import__("re").search(message, proc.stderr), proc.stderr
    assert not out.exists()
    assert "[assemble]" not in proc.stderr


def test_api_refuses_paper_keywords_with_a_model():
    with pytest.raises(lindring.core.model.ModelError, match="--alpha"):
        lindring.solve("ed", L=4, model=PAPER, alpha=2)
    with pytest.raises(lindring.core.model.ModelError, match="model=FILE"):
        lindring.solve("ed", L=4, parameters=dict(alpha=2))


def test_model_file_under_mpiexec_matches_one_rank(tmp_path):
    """Two ranks, iterative solver, a disordered ring (every rank draws the same couplings from
    the seed) against one rank with the direct solver."""
    args = ["solve", "--model", DISORDERED, "--L", 5, "--set", "w=0.3", "--set", "seed=4"]
    run_cli(args + ["--solver", "iterative", "-o", tmp_path / "two.nc"], ranks=2)
    run_cli(args + ["-o", tmp_path / "one.nc"])
    with xr.open_dataset(tmp_path / "two.nc") as two, xr.open_dataset(tmp_path / "one.nc") as one:
        assert two.attrs["mpi_ranks"] == 2 and two.attrs["solver"] == "iterative"
        assert np.ptp(one.I_eta.values) > 1e-2
        for name in ("I_eta", "sz", "purity"):
            np.testing.assert_allclose(two[name].values, one[name].values, rtol=0, atol=1e-8)

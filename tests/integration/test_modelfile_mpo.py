"""Issue 16, item 4: ``--method mpo`` with a model file (open chains, nearest-neighbour terms),
with the MPO's own verification, uniqueness decision and output schema.

* models/boundary_driven_xxz.yaml: every observable of the file (sz, j_spin per bond, C_zz
  against distance) against ED of the same point (ED itself is checked against the dense
  reference and against Prosen's exact solution in test_modelfile_ed.py).
* models/paper.yaml against ``--preset minimal`` and the paper's options through the MPO: the
  same values and the same uniqueness decision (a unique point with every range-1 term, and
  the degenerate open chain at delta = 0), and the same variables up to the observables' names.
* A ring or range-2 terms are refused with status 2 before any compute.
"""
import numpy as np
import pytest
import xarray as xr

import lindring
from conftest import ROOT, run_cli

PAPER = ROOT / "models" / "paper.yaml"
XXZ = ROOT / "models" / "boundary_driven_xxz.yaml"


@pytest.mark.parametrize("values", [dict(J=0.8, Delta=0.6, Gamma=1.3, drive=0.4),
                                    dict(J=1.0, Delta=1.0, Gamma=1.4, drive=1.0)])
def test_xxz_by_mpo_against_ed(values):
    mpo = lindring.solve("mpo", L=4, bc="open", model=XXZ, parameters=values, chi=16)
    ed = lindring.solve("ed", L=4, bc="open", model=XXZ, parameters=values)
    assert mpo.attrs["unique"] == 1 and int(mpo.kernel_dim) == 1
    assert mpo.attrs["model"] == "boundary_driven_xxz" and mpo.attrs["method"] == "mpo"
    for name in ("sz", "j_spin", "C_zz", "purity", "purity_pair", "negativity_pair"):
        assert mpo[name].dims == ed[name].dims, name
        np.testing.assert_allclose(mpo[name].values, ed[name].values, rtol=0, atol=1e-9,
                                   err_msg=name)
    assert float(mpo.error_estimate) < 1e-8 and float(mpo.relative_residual) < 1e-8
    assert "model file" in mpo.j_spin.attrs["long_name"]


def test_mpo_of_a_model_file_through_the_command_line(tmp_path):
    out = tmp_path / "xxz_mpo.nc"
    run_cli(["solve", "--method", "mpo", "--model", XXZ, "--bc", "open", "--L", 4,
             "--set", "Delta=0.5", "--set", "drive=0.3", "--chi", 16, "-o", out])
    ref = lindring.solve("ed", L=4, bc="open", model=XXZ, parameters=dict(Delta=0.5, drive=0.3))
    with xr.open_dataset(out) as ds:
        assert ds.attrs["Delta_re"] == 0.5 and ds.attrs["model_sha256"] == ref.attrs["model_sha256"]
        np.testing.assert_allclose(ds.j_spin.values, ref.j_spin.values, rtol=0, atol=1e-9)
        np.testing.assert_allclose(ds.C_zz.values, ref.C_zz.values, rtol=0, atol=1e-9)
        assert list(ds.distance.values) == [1, 2, 3]


@pytest.mark.parametrize("today, values", [
    (dict(preset="minimal", alpha="2+0.3j", delta=1.0, J0=0.4, phi=0.5, eps_zz=0.2, kappa=0.1),
     dict(alpha="2+0.3j", delta=1.0, J0=0.4, phi=0.5, eps_zz=0.2, kappa=0.1)),
    (dict(preset="minimal", alpha=1.0, delta=0.0), dict(alpha=1.0, delta=0.0)),   # kernel 2
])
def test_paper_model_file_by_mpo_equals_todays_mpo(today, values):
    ref = lindring.solve("mpo", L=4, bc="open", chi=16, **today)
    got = lindring.solve("mpo", L=4, bc="open", chi=16, model=PAPER, parameters=values)
    assert got.attrs["unique"] == ref.attrs["unique"]
    assert int(got.kernel_dim) == int(ref.kernel_dim)
    for a, b in (("current_eta", "I_eta"), ("current_J", "I_J"), ("sz", "sz"),
                 ("purity", "purity")):
        x, y = ref[a].values, got[b].values
        assert np.array_equal(np.isnan(x), np.isnan(y)), a
        np.testing.assert_allclose(y[~np.isnan(y)], x[~np.isnan(x)], rtol=0, atol=1e-10)
    renamed = {"I_eta": "current_eta", "I_J": "current_J"}
    assert {renamed.get(v, v) for v in got.data_vars} == set(ref.data_vars)


@pytest.mark.parametrize("args, message", [
    (["--model", PAPER, "--bc", "ring"], "does not support bc='ring'"),
    (["--model", PAPER, "--bc", "open", "--set", "range=2"],
     "range = 2: jumps term 'f' acts on sites (0, 2)"),
    (["--model", XXZ, "--bc", "open", "--chi", 1], "--chi must be >= 2"),
])
def test_mpo_of_a_model_file_refuses_before_compute(tmp_path, args, message):
    out = tmp_path / "bad.nc"
    proc = run_cli(["solve", "--method", "mpo", "--L", 4] + args + ["-o", out], check=False)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr, proc.stderr
    assert not out.exists() and "[mpo] L=" not in proc.stderr

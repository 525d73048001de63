"""Issue 16, a new user's sweep: a model file of one's own (models/dissipative_ising.yaml) under a
file name with spaces and shell characters, swept by a real Snakemake run over one of its
parameters (an exponent-form negative value included) and over ``seed``; then the model file
is edited and its jobs, and only they, are planned again.

Nothing of the config reaches a shell: the file name is one argument of ``lindring solve``
(a ``$(touch ...)`` in it must create nothing). The gathered values are compared with
``lindring.solve`` of each point (itself checked against the dense reference in
tests/integration/test_modelfile_user.py).
"""
import shutil

import numpy as np
import xarray as xr

import lindring
from conftest import ROOT, run_cli
from lindring.report.quicklook import fmt
from test_workflow import planned, snakemake

#: a folder and a file name that a shell would split, expand and run
NAME = "new user's models/ising; $(touch PWNED) `touch PWNED2` & x.yaml"


def test_a_users_model_file_sweeps_through_snakemake(tmp_path):
    model = tmp_path / NAME
    model.parent.mkdir()
    shutil.copy(ROOT / "models" / "dissipative_ising.yaml", model)
    cfg = {"studies": {
        "ising": dict(methods=["ed"], bc="open", L=[3], model=NAME,
                      fixed=dict(w=0.4, g=0.7), grid=dict(h=[-1e-05, 0.5], seed=[0, 1])),
        "paper": dict(methods=["ed"], bc="ring", L=[3], preset="minimal",
                      fixed=dict(alpha=2.0), grid=dict(delta=[1.0]))}}
    snakemake(tmp_path, cfg)
    assert not list(tmp_path.rglob("PWNED*")) and not list(ROOT.glob("PWNED*"))
    with xr.open_dataset(tmp_path / "results" / "ising.nc") as ds:
        assert ds.attrs["points_present"] == 4 and ds.attrs["model_file"] == NAME
        assert list(ds.h.values) == [-1e-05, 0.5] and list(ds.seed.values) == [0, 1]
        for h in (-1e-05, 0.5):
            for seed in (0, 1):
                ref = lindring.solve("ed", L=3, bc="open", model=model,
                                     parameters=dict(w=0.4, g=0.7, h=h, seed=seed))
                for name in ("mx", "zz", "C_xx", "G_pm_re", "G_pm_im", "sz"):
                    got = ds[name].sel(technique="ed", L=3, h=h, seed=seed).values
                    np.testing.assert_allclose(got, ref[name].values, rtol=0, atol=1e-12,
                                               err_msg=name)
        assert "G_pm_re_seed_mean" in ds and (ds.n_seeds.sel(L=3, h=0.5).values == 2).all()
        assert not np.allclose(ds.mx.sel(seed=0).values, ds.mx.sel(seed=1).values)
    # lindring show of the gathered study: the model file and its own observables, each with
    # the smallest and largest value of the file (numpy here)
    text = run_cli(["show", tmp_path / "results" / "ising.nc"]).stdout
    assert f"model file: {NAME}" in text and "no current in this study" not in text
    with xr.open_dataset(tmp_path / "results" / "ising.nc") as ds:
        for name, dim in (("mx", "site"), ("zz", "bond"), ("C_xx", "distance"),
                          ("G_pm_im", "distance")):
            line = next(l for l in text.splitlines() if l.strip().startswith(name + " "))
            v = ds[name].sel(technique="ed").values
            assert f"ED {fmt(np.nanmin(v))} .. {fmt(np.nanmax(v))}" in line, line
            assert line.endswith(f"(per {dim})")
        assert "n_seeds" not in text and "_seed_mean" not in text
    assert planned(snakemake(tmp_path, cfg, "-n")) == {}
    # an edited model file reruns its own jobs (its sha256 is in the rule's params), and no other
    model.write_text(model.read_text().replace("g: {default: 0.5", "g: {default: 0.6"))
    assert planned(snakemake(tmp_path, cfg, "-n")) == {"solve": 4, "gather": 1, "all": 1}

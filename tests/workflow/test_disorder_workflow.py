"""Issue 16, item 5: disorder in the workflow, run for real by Snakemake at small L.

A ring over disorder realisations (``models/disordered_ring.yaml``, grid axis ``seed``) beside
the clean ring, the finite-size scaling of the disordered one and the figure of the two
(``figures: {disorder: ...}``), then ``snakemake --report``. The disorder means and standard
errors of the gathered file and of the scaling are checked against numpy on the per-seed point
files, read directly (not through the gather).
"""
import numpy as np
import pytest
import xarray as xr

from conftest import ROOT
from test_workflow import snakemake

MODEL = str(ROOT / "models" / "disordered_ring.yaml")
SIZES = [3, 4, 5, 6]
SEEDS = [0, 1, 2, 3]
CONFIG = {
    "studies": {
        "dis": {"methods": ["ed"], "bc": "ring", "L": SIZES, "model": MODEL,
                "fixed": {"alpha": 2.0, "delta": 1.5, "w": 0.3}, "grid": {"seed": SEEDS}},
        "clean": {"methods": ["ed"], "bc": "ring", "L": SIZES, "model": MODEL,
                  "fixed": {"alpha": 2.0, "delta": 1.5, "w": 0.0}, "grid": {"seed": [0]}},
    },
    "scaling": {"dis": {"ring": "dis"}},
    "figures": {"disorder": {"disordered": "dis", "clean": "clean"}},
    "quicklook": True,
}


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    work = tmp_path_factory.mktemp("disorder")
    snakemake(work, CONFIG)
    return work


def _per_seed(work, study="dis"):
    """L -> (seeds, I_eta per bond of each seed), read from the point files themselves."""
    out = {}
    for L in SIZES:
        files = sorted((work / "results" / study / "ed" / "ring" / f"L{L}").glob("*.nc"))
        rows, seeds = [], []
        for f in files:
            with xr.open_dataset(f) as ds:
                assert ds.attrs["unique"] == 1
                seeds.append(int(ds.attrs["seed_re"]))
                rows.append(ds["I_eta"].values.copy())
        out[L] = (seeds, np.array(rows))
    return out


def test_gathered_disorder_means_and_standard_errors_against_numpy(done):
    raw = _per_seed(done)
    with xr.open_dataset(done / "results" / "dis.nc") as ds:
        for L, (seeds, I) in raw.items():
            assert sorted(seeds) == SEEDS and I.shape == (len(SEEDS), L)
            mean = ds["I_eta_seed_mean"].sel(technique="ed", L=L).values[:L]
            sem = ds["I_eta_seed_sem"].sel(technique="ed", L=L).values[:L]
            np.testing.assert_allclose(mean, I.mean(axis=0), rtol=0, atol=1e-14)
            np.testing.assert_allclose(sem, I.std(axis=0, ddof=1) / np.sqrt(len(SEEDS)),
                                       rtol=1e-10, atol=0)
            assert float(ds["n_seeds"].sel(technique="ed", L=L)) == len(SEEDS)
            assert np.all(sem > 1e-4)          # the disorder shows: the seeds differ
        assert "residual_seed_mean" not in ds  # verification figures are not averaged


def test_scaling_of_the_disordered_ring_against_numpy(done):
    raw = _per_seed(done)
    with xr.open_dataset(done / "results" / "dis_scaling.nc") as sc:
        assert list(sc.L.values) == SIZES
        for L, (seeds, I) in raw.items():
            ring = I.mean(axis=1)                   # each realisation: mean over its bonds
            assert float(sc.current_ring.sel(L=L)) == pytest.approx(ring.mean(), abs=1e-14)
            assert float(sc.current_ring_sem.sel(L=L)) == pytest.approx(
                ring.std(ddof=1) / np.sqrt(len(ring)), rel=1e-10)
            np.testing.assert_allclose(
                sc.current_ring_by_seed.sel(L=L, seed=np.array(seeds, float)).values, ring,
                rtol=0, atol=1e-14)
            assert int(sc.n_seeds.sel(L=L)) == len(SEEDS)
        assert "standard errors" in sc.attrs["disorder"]
        assert np.isfinite(float(sc.current_inf)) and float(sc.current_inf_err) > 0


def test_disorder_figure_and_report(done):
    fig = done / "results" / "figures" / "disorder.png"
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and fig.stat().st_size > 5000
    assert b"<svg" in (done / "results" / "figures" / "disorder.svg").read_bytes()
    # the clean ring against its own point files, and against the disordered mean
    clean = _per_seed(done, "clean")
    with xr.open_dataset(done / "results" / "clean.nc") as ds:
        for L, (_, I) in clean.items():
            np.testing.assert_allclose(ds["I_eta"].sel(technique="ed", L=L, seed=0).values[:L],
                                       I[0], rtol=0, atol=1e-14)
            assert np.ptp(I[0]) < 1e-10          # the clean ring carries one current
    snakemake(done, CONFIG, "--report", "report.html")
    html = (done / "report.html").read_text(errors="replace")
    assert "disorder.png" in html and "Robustness to disorder" in html
    assert "w = 0.3" in html                    # the caption states the studies' parameters

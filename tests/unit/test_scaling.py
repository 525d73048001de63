"""Finite-size scaling (lindring.analysis.scaling): fits on synthetic data with known parameters, the open-chain
bulk current on a hand-built profile, and the scaling dataset of a hand-built gathered study.

All expected values are the synthetic truths put into the data, never numbers read off the code.
"""
import runpy
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from lindring.analysis.scaling import (MODELS, bulk_bonds, bulk_current, fit_alternating, fit_sequence,
                              scaling_dataset, write_scaling)

A, B, C, XI = 0.47, -0.15, 1.3, 1.6  # a + (b + c (-1)^L) exp(-L/xi): odd below, even above a


def alternating(L, noise, seed):
    rng = np.random.default_rng(seed)
    L = np.asarray(L, float)
    return A + (B + C * (-1.0) ** L) * np.exp(-L / XI) + rng.normal(0.0, noise, L.size)


# ----------------------------------------------------------------------------- fits
@pytest.mark.parametrize("Lmax, min_frac", [(12, 0.85), (10, 0.8)])
def test_alternating_recovers_limit_unknown_noise(Lmax, min_frac):
    """Noise not given to the fit: a within 3 stated errors for most seeds, errors not absurd."""
    L = np.arange(3, Lmax + 1)
    noise = 1e-3
    hits, errs, n = 0, [], 0
    for seed in range(20):
        r = fit_alternating(L, alternating(L, noise, seed))
        for par in ("even", "odd"):
            f = r[par]
            assert np.isfinite(f.a_inf) and np.isfinite(f.a_inf_err) and f.a_inf_err > 0
            hits += abs(f.a_inf - A) < 3 * f.a_inf_err
            errs.append(f.a_inf_err)
            n += 1
        assert abs(r["a_inf"] - A) < 3 * r["a_inf_err"] or abs(r["a_inf"] - A) < 0.01
    assert hits / n >= min_frac, (hits, n)
    assert np.median(errs) < 10 * noise
    assert max(errs) < 0.1


@pytest.mark.parametrize("Lmax", [12, 10])
def test_alternating_recovers_limit_given_sigma(Lmax):
    L = np.arange(3, Lmax + 1)
    noise = 1e-3
    hits, n = 0, 0
    for seed in range(20):
        r = fit_alternating(L, alternating(L, noise, seed), sigma=noise)
        for par in ("even", "odd"):
            hits += abs(r[par].a_inf - A) < 3 * r[par].a_inf_err
            n += 1
            assert r[par].a_inf_err < 20 * noise
    assert hits / n >= 0.95


def test_exact_exponential_recovered():
    """Noise-free a + b exp(-L/xi) on 4 even sizes: the exp model, a and xi to high precision."""
    L = np.array([4, 6, 8, 10])
    y = 0.3 + 0.7 * np.exp(-L / 2.5)
    f = fit_sequence(L, y)
    assert f.model == "exp"
    assert f.n == 4 and f.dof == 1
    assert abs(f.a_inf - 0.3) < 1e-6
    assert abs(f.params["xi"] - 2.5) < 1e-4
    assert abs(f.a_inf - 0.3) <= f.a_inf_err + 1e-9
    np.testing.assert_allclose(f.curve(L), y, atol=1e-8)
    # b is the amplitude at L_ref = min(L)
    assert f.L_ref == 4
    assert abs(f.params["b"] - 0.7 * np.exp(-4 / 2.5)) < 1e-5


@pytest.mark.parametrize("L", [np.arange(3, 13), np.arange(4, 13, 2)])
def test_power_law_chosen_as_power(L):
    a, b, p = 0.5, 0.8, 2.0
    for seed in range(5):
        rng = np.random.default_rng(100 + seed)
        y = a + b * L ** -p + rng.normal(0, 1e-4, L.size)
        f = fit_sequence(L, y)
        assert f.model == "power", f.summary()
        assert abs(f.a_inf - a) < 3 * f.a_inf_err
        assert abs(f.params["p"] - p) < 0.5


def test_few_points():
    with pytest.raises(ValueError, match="at least 2"):
        fit_sequence([4], [0.5])
    with pytest.raises(ValueError, match="at least 2"):
        fit_sequence([4, 6], [0.5, np.nan])
    with pytest.raises(ValueError, match="even"):
        fit_alternating([3, 4, 5, 7], [0.2, 0.5, 0.4, 0.45])
    with pytest.raises(ValueError, match="odd"):
        fit_alternating([3, 4, 6, 8], [0.2, 0.5, 0.4, 0.45])
    # 2 points: the last value, its change as the error
    f = fit_sequence([6, 8], [0.40, 0.43])
    assert f.model == "last" and f.a_inf == 0.43 and abs(f.a_inf_err - 0.03) < 1e-12
    # 3 points: only the 2-parameter model has a degree of freedom; no crash, finite error
    L = np.array([4, 6, 8])
    f = fit_sequence(L, 0.3 + 0.7 * np.exp(-L / 2.5))
    assert f.model == "inverse" and f.dof == 1
    assert np.isfinite(f.a_inf_err) and abs(f.a_inf - 0.3) < f.a_inf_err < 1.0
    # the candidates of a 4-point fit: every model, bounded nonlinear parameters
    f = fit_sequence([3, 5, 7, 9], [0.25, 0.41, 0.46, 0.47])
    assert {c.model for c in f.candidates} == set(MODELS)
    for c in f.candidates:
        if "xi" in c.params:
            assert c.params["xi"] > 0
        if "p" in c.params:
            assert c.params["p"] > 0
    assert abs(sum(c.weight for c in f.candidates) - 1) < 1e-12


# ----------------------------------------------------------------------------- open chain
def test_bulk_bonds_rule():
    # bond b sits at b+1; bulk: L/4 <= b+1 <= 3L/4
    assert bulk_bonds(10).tolist() == [2, 3, 4, 5, 6]
    assert bulk_bonds(20).tolist() == list(range(4, 15))
    for L in (2, 3, 4, 7, 10, 13, 30):
        b = bulk_bonds(L)
        assert b.size > 0
        assert sorted((L - 2 - b).tolist()) == b.tolist()  # symmetric under reflection


def open_chain_dataset(Ls=(8, 12, 16), bulk=lambda L: 0.8 + 0.3 / L, edge=0.5, techniques=("mpo",),
                       alpha=2.0, delta=1.0):
    """Gathered-like open chain: current = bulk(L) on the middle-half bonds, + edge outside."""
    nb = max(Ls) - 1
    eta = np.full((len(techniques), len(Ls), 1, 1, nb), np.nan)
    for t, _ in enumerate(techniques):
        for i, L in enumerate(Ls):
            b = np.arange(L - 1)
            inner = (b + 1 >= L / 4) & (b + 1 <= 3 * L / 4)
            eta[t, i, 0, 0, :L - 1] = bulk(L) + t * 0.01 + np.where(inner, 0.0, edge)
    J = np.where(np.isfinite(eta), 0.0, np.nan)
    ds = xr.Dataset({"current_eta": (("technique", "L", "alpha", "delta", "bond"), eta - 0.05),
                     "current_J": (("technique", "L", "alpha", "delta", "bond"), J + 0.05)},
                    coords={"technique": list(techniques), "L": list(Ls), "alpha": [alpha],
                            "delta": [delta], "bond": np.arange(nb)})
    ds.attrs.update(study="open_test", bc="open", preset="minimal", range=1)
    return ds


def test_bulk_current_hand_built():
    ds = open_chain_dataset(techniques=("ed", "mpo"))
    bc = bulk_current(ds)
    assert bc.attrs["technique"] == "mpo"
    assert bc["L"].values.tolist() == [8, 12, 16]
    np.testing.assert_allclose(bc.values, [0.8 + 0.3 / L + 0.01 for L in (8, 12, 16)], atol=1e-12)
    bc_ed = bulk_current(ds, technique="ed")
    np.testing.assert_allclose(bc_ed.values, [0.8 + 0.3 / L for L in (8, 12, 16)], atol=1e-12)
    with pytest.raises(ValueError, match="technique"):
        bulk_current(ds, technique="cmf")
    ring = ds.copy()
    ring.attrs["bc"] = "ring"
    with pytest.raises(ValueError, match="open"):
        bulk_current(ring)
    two = xr.concat([ds, ds.assign_coords(alpha=[3.0])], dim="alpha")
    with pytest.raises(ValueError, match="alpha"):
        bulk_current(two)


# ----------------------------------------------------------------------------- dataset
def ring_dataset(Ls=range(3, 13), techniques=("cmf", "ed"), cmf=(0.6, 0.2, 0.5), grid_alpha=(2.0,)):
    """Gathered-like ring study: ED current of the alternating law (uniform on the L bonds, split
    into current_eta and current_J), CMF with intra/inter-cluster bonds, NaN padding."""
    Ls = list(Ls)
    nb = max(Ls)
    shape = (len(techniques), len(Ls), len(grid_alpha), 1, nb)
    eta = np.full(shape, np.nan)
    J = np.full(shape, np.nan)
    eta_sym = np.full(shape, np.nan)
    J_sym = np.full(shape, np.nan)
    broken = np.full(shape[:4], np.nan)
    kernel = np.full(shape[:4], np.nan)
    y = alternating(Ls, 0.0, 0)
    for t, tech in enumerate(techniques):
        for i, L in enumerate(Ls):
            if tech == "ed":
                eta[t, i, :, :, :L] = y[i] - 0.1
                J[t, i, :, :, :L] = 0.1
                kernel[t, i] = 1
            else:
                eta[t, i, :, :, :2] = cmf[:2]
                J[t, i, :, :, :2] = 0.0
                eta_sym[t, i, :, :, :2] = (cmf[2], 0.0)
                J_sym[t, i, :, :, :2] = 0.0
                broken[t, i] = 1.0
    dims = ("technique", "L", "alpha", "delta", "bond")
    ds = xr.Dataset({"current_eta": (dims, eta), "current_J": (dims, J),
                     "current_eta_symmetric": (dims, eta_sym), "current_J_symmetric": (dims, J_sym),
                     "broken_branch": (dims[:4], broken), "kernel_dim": (dims[:4], kernel),
                     "residual": (dims[:4], np.where(np.isfinite(kernel), 1e-12, np.nan))},
                    coords={"technique": list(techniques), "L": Ls, "alpha": list(grid_alpha),
                            "delta": [1.5], "bond": np.arange(nb)})
    ds.attrs.update(study="ring_test", bc="ring", preset="minimal", range=1)
    return ds, y


EXPECTED = ["current_ring", "current_inf_even", "current_inf_even_err", "current_inf_odd",
            "current_inf_odd_err", "current_inf", "current_inf_err", "fit_model_even",
            "fit_model_odd", "current_fit_even", "current_fit_odd", "current_cmf",
            "current_cmf_symmetric", "current_cmf_inter", "cmf_broken_branch", "current_bulk_open",
            "current_bulk_open_largest", "L_open_largest", "current_inf_even_by_model",
            "akaike_weight_odd"]


def test_scaling_dataset_and_roundtrip(tmp_path):
    ring, y = ring_dataset()
    open_ds = open_chain_dataset(Ls=(10, 20, 30), alpha=2.0, delta=1.5)
    ds = scaling_dataset(ring, open_ds)
    for v in EXPECTED:
        assert v in ds, v
        assert ds[v].attrs.get("long_name"), v
    np.testing.assert_allclose(ds["current_ring"].values, y, atol=1e-12)
    assert ds["current_ring"].dims == ("L",)
    for k in ("even", "odd", ""):
        name = f"current_inf_{k}".rstrip("_")
        assert abs(float(ds[name]) - A) <= max(float(ds[name + "_err"]), 1e-6), name
        assert float(ds[name + "_err"]) < 0.01
    assert str(ds["fit_model_even"].values) == "exp" and str(ds["fit_model_odd"].values) == "exp"
    # fitted curves pass through the data of their parity
    for par, r in (("even", 0), ("odd", 1)):
        Lp = np.array([L for L in ring["L"].values if L % 2 == r])
        fit = ds[f"current_fit_{par}"].sel(L_fit=Lp.astype(float)).values
        np.testing.assert_allclose(fit, y[np.isin(ring["L"].values, Lp)], atol=1e-4)
    assert ds.sizes["L_fit"] > 50
    assert float(ds["current_cmf"]) == pytest.approx(0.6)
    assert float(ds["current_cmf_inter"]) == pytest.approx(0.2)
    assert float(ds["current_cmf_symmetric"]) == pytest.approx(0.5)
    assert float(ds["cmf_broken_branch"]) == 1.0
    np.testing.assert_allclose(ds["current_bulk_open"].values, [0.8 + 0.3 / L for L in (10, 20, 30)],
                               atol=1e-12)
    assert ds["current_bulk_open"].attrs["technique"] == "mpo"
    assert float(ds["current_bulk_open_largest"]) == pytest.approx(0.8 + 0.3 / 30)
    assert int(ds["L_open_largest"]) == 30
    assert ds.attrs["open_chain_same_parameters"] == "yes"
    for a in ("fit_models", "fit_criterion", "fit_uncertainty", "bulk_bonds"):
        assert ds.attrs[a]

    path = tmp_path / "ring_test_scaling.nc"
    write_scaling(ds, path)
    assert not list(tmp_path.glob(".*tmp*"))
    with xr.open_dataset(path) as back:
        back = back.load()
    for v in ds.data_vars:
        if ds[v].dtype.kind in "US":
            assert str(back[v].values) == str(ds[v].values)
        else:
            np.testing.assert_allclose(back[v].values, ds[v].values, equal_nan=True)
        assert back[v].attrs.get("long_name") == ds[v].attrs.get("long_name")
    assert back.attrs["fit_criterion"] == ds.attrs["fit_criterion"]


def test_scaling_dataset_without_cmf_and_open_chain_old_method_dim():
    ring, y = ring_dataset(Ls=range(3, 11), techniques=("ed",))
    ring = ring.rename({"technique": "method"})  # files written before the rename
    ds = scaling_dataset(ring)
    assert np.isnan(float(ds["current_cmf"])) and np.isnan(float(ds["current_cmf_symmetric"]))
    assert "current_bulk_open" not in ds and np.isnan(float(ds["current_bulk_open_largest"]))
    for par in ("even", "odd"):
        assert abs(float(ds[f"current_inf_{par}"]) - A) <= float(ds[f"current_inf_{par}_err"]) + 1e-6


def test_scaling_dataset_drops_nonunique_and_flags_other_parameters():
    ring, y = ring_dataset()
    ring["kernel_dim"].loc[dict(technique="ed", L=12)] = 2.0
    ds = scaling_dataset(ring, open_chain_dataset(alpha=2.0, delta=1.0))
    assert np.isnan(float(ds["current_ring"].sel(L=12)))
    assert ds.attrs["dropped_nonunique_L"] == "12"
    assert ds.attrs["open_chain_same_parameters"] == "no"


def test_scaling_dataset_leaves_out_unchecked_points_unless_told():
    """A size written with --no-check-unique (kernel_dim -1) is not fitted unless asked for."""
    ring, y = ring_dataset()
    ring["kernel_dim"].loc[dict(technique="ed", L=11)] = -1.0
    ds = scaling_dataset(ring)
    assert np.isnan(float(ds["current_ring"].sel(L=11)))
    assert ds.attrs["dropped_unchecked_L"] == "11"
    ds = scaling_dataset(ring, include_unchecked=True)
    assert float(ds["current_ring"].sel(L=11)) == pytest.approx(y[list(ring.L.values).index(11)])
    assert "included on request" in ds.attrs["dropped_unchecked_L"]


def test_figures_leave_out_unchecked_points():
    """results.leave_out_unchecked masks the observables of unchecked points, keeps the rest."""
    from lindring.io.results import leave_out_unchecked
    ring, _ = ring_dataset()
    ring["kernel_dim"].loc[dict(technique="ed", L=5)] = -1.0
    out, n = leave_out_unchecked(ring)
    assert n == 1
    assert np.isnan(out.current_eta.sel(technique="ed", L=5)).all()
    assert np.isfinite(out.current_eta.sel(technique="ed", L=6).isel(bond=0)).all()
    assert float(out.kernel_dim.sel(technique="ed", L=5)) == -1
    same, n = leave_out_unchecked(ring, include_unchecked=True)
    assert n == 0 and np.isfinite(same.current_eta.sel(technique="ed", L=5).isel(bond=0)).all()


def test_figures_leave_out_non_unique_points_that_keep_their_values():
    """A point non-unique only through other sectors' zero modes keeps the solved sector's state
    in its file (kernel_dim > 1, values finite): the figures leave it out, as the scaling does."""
    from lindring.io.results import leave_out_unchecked
    ring, _ = ring_dataset()
    ring["kernel_dim"].loc[dict(technique="ed", L=5)] = 2.0
    for include in (False, True):
        out, n = leave_out_unchecked(ring, include_unchecked=include)
        assert n == 0
        assert np.isnan(out.current_eta.sel(technique="ed", L=5)).all()
        assert np.isfinite(out.current_eta.sel(technique="ed", L=6).isel(bond=0)).all()


def test_scaling_dataset_errors():
    ring, _ = ring_dataset(grid_alpha=(2.0, 3.0))
    with pytest.raises(ValueError, match="alpha"):
        scaling_dataset(ring)
    ring, _ = ring_dataset(techniques=("cmf",))
    with pytest.raises(ValueError, match="'ed'"):
        scaling_dataset(ring)
    ring, _ = ring_dataset(Ls=(3, 4, 5, 7, 9))
    with pytest.raises(ValueError, match="fewer than 2"):
        scaling_dataset(ring)


def test_snakemake_script(tmp_path, capsys):
    ring, _ = ring_dataset(Ls=range(3, 11))
    op = open_chain_dataset(alpha=2.0, delta=1.5)
    rp, opp, out = tmp_path / "ring.nc", tmp_path / "open.nc", tmp_path / "ring_scaling.nc"
    ring.to_netcdf(rp)
    op.to_netcdf(opp)
    script = __import__("pathlib").Path(__file__).resolve().parents[2] / "workflow/scripts/scaling.py"
    sm = SimpleNamespace(input=SimpleNamespace(ring=str(rp), open_chain=[str(opp)]), output=[str(out)],
                         wildcards=SimpleNamespace(name="ring"))
    runpy.run_path(str(script), init_globals={"snakemake": sm})
    printed = capsys.readouterr().out
    assert "L -> inf, even L" in printed and "combined" in printed and "mpo" in printed
    with xr.open_dataset(out) as ds:
        assert "current_inf" in ds and "current_bulk_open" in ds
        assert ds.attrs["scaling_name"] == "ring"        # its file: results/ring_scaling.nc



def test_five_sizes_converging_exponentially_with_a_faster_transient():
    """Exponential convergence plus a faster transient, alternating: the limits are recovered."""
    a = 0.856
    L = np.array([3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    sign = np.where(L % 2 == 0, 1.0, -1.0)
    y = a + sign * (0.5 * np.exp(-(L - 3) / 1.6) + 0.25 * np.exp(-(L - 3) / 0.6))
    res = fit_alternating(L, y)
    for parity in ("even", "odd"):
        fr = res[parity]
        assert fr.model != "inverse", (parity, fr.summary())
        assert abs(fr.a_inf - a) < 3 * fr.a_inf_err + 1e-3, (parity, fr.summary())


def test_limit_respects_the_geometric_bound_of_a_converging_sequence():
    """Regression (ring, alpha = 2, delta = 1, L = 3..12, ED): the even steps shrink geometrically
    (-0.110, -0.056, -0.026, -0.011, ratio <= 0.51), so the limit lies within
    last step * r / (1 - r) ~ 0.012 below the last even point. AICc's small-sample penalty chose
    a + b/L there, 0.11 below the last point; AIC must not."""
    L = np.arange(3, 13)
    y = np.array([0.3379, 1.0721, 0.66863, 0.96163, 0.78298, 0.90573, 0.82749, 0.87996, 0.8459,
                  0.86849])
    res = fit_alternating(L, y)
    for parity, sel in (("even", L % 2 == 0), ("odd", L % 2 == 1)):
        seq = y[sel]
        steps = np.diff(seq)
        r = np.max(np.abs(steps[1:] / steps[:-1]))
        bound = abs(steps[-1]) * r / (1 - r)
        fr = res[parity]
        assert abs(fr.a_inf - seq[-1]) <= bound + 2 * fr.a_inf_err, (parity, fr.summary(), bound)
        assert fr.a_inf_err < 0.03


def test_disorder_means_leave_out_nonunique_realisations():
    """Means and standard errors over a seed axis (gather and scaling) against numpy, with one
    realisation non-unique (kernel_dim 2, NaN) at one size."""
    from lindring.workflow.gather import disorder_statistics
    rng = np.random.default_rng(3)
    Ls, seeds = np.arange(3, 9), np.arange(5.0)
    cur = np.full((1, Ls.size, seeds.size, 8), np.nan)
    for i, L in enumerate(Ls):
        cur[0, i, :, :L] = (A + 0.2 * (-1.0) ** L * np.exp(-L / 2)
                            + 0.02 * rng.standard_normal((seeds.size, 1))
                            + 0.005 * rng.standard_normal((seeds.size, L)))
    kd = np.ones((1, Ls.size, seeds.size))
    kd[0, 2, 1] = 2.0
    cur[0, 2, 1] = np.nan                      # the gather writes NaN at a non-unique point
    pur = np.where(kd == 1, 0.5, np.nan)
    ring = xr.Dataset({"I_eta": (("technique", "L", "seed", "bond"), cur),
                       "kernel_dim": (("technique", "L", "seed"), kd),
                       "purity": (("technique", "L", "seed"), pur),
                       "residual": (("technique", "L", "seed"), np.full(kd.shape, 1e-14))},
                      coords={"technique": ["ed"], "L": Ls, "seed": seeds}, attrs={"bc": "ring"})
    g = disorder_statistics(ring)
    assert "residual_seed_mean" not in g and "kernel_dim_seed_mean" not in g
    ds = scaling_dataset(g)
    for i, L in enumerate(Ls):
        per_bond = cur[0, i][:, :L]
        ok = np.isfinite(per_bond[:, 0])
        np.testing.assert_allclose(g.I_eta_seed_mean.values[0, i, :L], per_bond[ok].mean(0),
                                   rtol=0, atol=1e-15)
        np.testing.assert_allclose(g.I_eta_seed_sem.values[0, i, :L],
                                   per_bond[ok].std(0, ddof=1) / np.sqrt(ok.sum()), rtol=1e-12)
        assert float(g.n_seeds.values[0, i]) == ok.sum()
        ring_i = per_bond[ok].mean(1)
        assert float(ds.current_ring[i]) == pytest.approx(ring_i.mean(), abs=1e-15)
        assert float(ds.current_ring_sem[i]) == pytest.approx(
            ring_i.std(ddof=1) / np.sqrt(ring_i.size), rel=1e-12)
    assert ds.attrs["dropped_nonunique_L"] == "L=5 seed=1"
    assert int(ds.n_seeds.sel(L=5)) == 4

"""The figure functions on small hand-built datasets of the gathered (and scaling) layout."""
import math

import numpy as np
import pytest
import xarray as xr

from lindring.report import figures
from lindring.solvers.meanfield import closed_form_current
from lindring.workflow.cmf_maps import cmf_map_dataset


def gathered(techniques, Ls, axes: dict, variables: dict, nbond=4, nsite=4, attrs=None, seed=0):
    """A dataset shaped like :func:`lindring.workflow.gather.gather`'s: dims technique, L, axes, bond, site.

    ``variables``: name -> 'bond' | 'site' | 'scalar'; values are random but reproducible."""
    rng = np.random.default_rng(seed)
    dims = ["technique", "L"] + list(axes)
    shape = [len(techniques), len(Ls)] + [len(v) for v in axes.values()]
    coords = {"technique": list(techniques), "L": list(Ls), **{k: list(v) for k, v in axes.items()}}
    data = {}
    for name, kind in variables.items():
        if kind == "bond":
            data[name] = (dims + ["bond"], rng.normal(size=shape + [nbond]))
        elif kind == "site":
            data[name] = (dims + ["site"], rng.uniform(-1, 1, size=shape + [nsite]))
        else:
            data[name] = (dims, rng.uniform(0, 1, size=shape))
    return xr.Dataset(data, coords=coords, attrs=dict(attrs or {}))


def check(paths, outdir, name):
    assert [p.rsplit("/", 1)[-1] for p in paths] == [f"{name}.png", f"{name}.svg"]
    for p in paths:
        data = open(p, "rb").read()
        assert len(data) > 1000, p
    assert open(paths[0], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in open(paths[1], "rb").read()


PHI = np.linspace(-math.pi, math.pi, 9)
THETA = np.linspace(0, math.pi / 2, 7)
STEADY = {"current_eta": "bond", "current_J": "bond", "sz": "site", "negativity_pair": "scalar",
          "negativity_half": "scalar", "purity_pair": "scalar", "purity": "scalar"}


def test_fig2_line_and_maps_with_missing_points(tmp_path):
    flux = gathered(["ed"], [4], {"phi": PHI}, STEADY, attrs={"fixed_kappa": "0.1", "fixed_J0": "1.5"})
    flux["current_J"][0, 0, 3] = np.nan                   # a failed point: a gap in the line
    fmap = gathered(["ed"], [4], {"kappa": [0.1, 1.0, 5.0, 20.0], "phi": PHI}, STEADY)
    fmap["negativity_half"][0, 0, 1, 2] = np.nan
    check(figures.fig2(flux, fmap, tmp_path), tmp_path, "fig2")
    check(figures.fig2(flux, None, tmp_path / "alone", negativity="negativity_pair"),
          tmp_path / "alone", "fig2")


def test_fig3_cmf_map_in_process_matches_closed_form(tmp_path):
    spec = {"preset": "minimal", "grid": {"alpha": [0.5, 1.0, 2.0], "delta": [0.0, 0.3, 1.5]}}
    ds = cmf_map_dataset("tiny", spec)
    assert ds.current_eta.dims == ("technique", "L", "alpha", "delta", "bond")
    assert ds.attrs["points_present"] == 9 and ds.attrs["missing_points"] == "none"
    sym = ds.current_eta_symmetric.sel(technique="cmf", L=4, bond=0)
    for a in (0.5, 1.0, 2.0):
        for d in (0.0, 0.3, 1.5):
            np.testing.assert_allclose(sym.sel(alpha=a, delta=d), closed_form_current(a, d, 1.0),
                                       atol=1e-9)
    assert set(np.unique(ds.broken_branch.values)) <= {0.0, 1.0}
    check(figures.fig3(ds, tmp_path), tmp_path, "fig3")
    check(figures.fig3(ds, tmp_path / "sym", branch="symmetric"), tmp_path / "sym", "fig3")


def test_cmf_map_point_without_dissipation_is_nan_not_fatal():
    ds = cmf_map_dataset("zero", {"preset": "minimal",
                                          "grid": {"alpha": [0.0, 1.0], "delta": [0.0]}})
    assert ds.attrs["points_present"] == 1 and "alpha=0_delta=0" in ds.attrs["missing_points"]
    assert np.isnan(ds.current_eta.sel(alpha=0.0).values).all()
    assert np.isfinite(ds.current_eta.sel(alpha=1.0).values).all()


def test_fig4_ed_and_cmf_vs_theta(tmp_path):
    ds = gathered(["ed", "cmf"], [4], {"r": [1.0, 2.0, 5.0], "theta": THETA}, STEADY)
    ds["current_eta"].loc[dict(technique="ed", theta=0.0)] = np.nan   # non-unique at theta = 0
    check(figures.fig4(ds, tmp_path), tmp_path, "fig4")


def scaling_dataset():
    L = np.arange(3, 11)
    L_fit = np.linspace(3, 40, 60)
    return xr.Dataset(
        {"current_ring": ("L", 0.55 + 0.05 * (-1.0) ** L / L),
         "current_inf_even": 0.551, "current_inf_even_err": 0.002,
         "current_inf_odd": 0.549, "current_inf_odd_err": 0.003,
         "current_inf": 0.55, "current_inf_err": 0.004,
         "current_fit_even": ("L_fit", 0.551 + 0.05 / L_fit),
         "current_fit_odd": ("L_fit", 0.549 - 0.05 / L_fit),
         "current_cmf": 0.5687, "current_cmf_symmetric": 0.5179,
         "current_bulk_open": ("L_open", [0.8591, 0.8596, 0.8597]),
         "current_bulk_open_largest": 0.8597},
        coords={"L": L, "L_fit": L_fit, "L_open": [10, 20, 30]},
        attrs={"fit_model_even": "a + b exp(-L/c)", "fit_model_odd": "a + b exp(-L/c)"})


def open_chain():
    parts = []
    for L in (10, 20, 30):
        x = np.full((1, 1, 1, 1, 29), np.nan)
        x[0, 0, 0, 0, :L - 1] = 0.86 + 0.09 * (np.exp(-np.arange(L - 1)) + np.exp(-np.arange(L - 1)[::-1]))
        parts.append(xr.Dataset({"current_eta": (("technique", "L", "alpha", "delta", "bond"), x)},
                                coords={"technique": ["mpo"], "L": [L], "alpha": [2.0], "delta": [1.0]}))
    ed = xr.Dataset({"current_eta": (("technique", "L", "alpha", "delta", "bond"),
                                     np.pad(np.full((1, 1, 1, 1, 9), 0.87), [(0, 0)] * 4 + [(0, 20)],
                                            constant_values=np.nan))},
                    coords={"technique": ["ed"], "L": [10], "alpha": [2.0], "delta": [1.0]})
    return xr.merge(parts + [ed], join="outer", compat="no_conflicts")


def test_fig5_scaling_and_open_chain(tmp_path):
    check(figures.fig5(scaling_dataset(), open_chain(), tmp_path), tmp_path, "fig5")
    # a scaling whose extrapolation failed (too few sizes) still plots its points
    sc = scaling_dataset()
    sc["current_inf"] = np.nan
    sc["current_inf_err"] = np.nan
    check(figures.fig5(sc, None, tmp_path / "ring"), tmp_path / "ring", "fig5")


def test_fig6_perturbations(tmp_path):
    eps_x = gathered(["ed"], [4], {"eps_x": [0.0, 0.1, 0.2, 0.3], "r": [1.0], "theta": THETA}, STEADY)
    eps_zz = gathered(["ed"], [4], {"eps_zz": [0.1, 0.3], "r": [1.0], "theta": THETA}, STEADY)
    check(figures.fig6(eps_x, eps_zz, tmp_path), tmp_path, "fig6")
    check(figures.fig6(None, eps_zz, tmp_path / "zz"), tmp_path / "zz", "fig6")
    with pytest.raises(ValueError):
        figures.fig6(None, None, tmp_path)


def test_fig7_ground_state_with_degenerate_points(tmp_path):
    ground = {"current_J": "bond", "entropy_pair": "scalar", "current_J_mixed": "bond",
              "entropy_pair_mixed": "scalar", "energy": "scalar"}
    ds = gathered(["ground"], [4], {"phi": PHI}, ground, attrs={"fixed_J0": "1"})
    ds["current_J"][0, 0, [0, -1]] = np.nan               # phi = +-pi: degenerate
    ds["entropy_pair"][0, 0, [0, -1]] = np.nan
    check(figures.fig7(ds, tmp_path), tmp_path, "fig7")


def test_currents_table(tmp_path):
    rows = figures.write_currents_table({"ring_vs_L": scaling_dataset()}, tmp_path / "c.csv",
                                        tmp_path / "c.html")
    got = {r["quantity"]: r for r in rows}
    assert got["current_inf"]["value"] == 0.55 and got["current_inf"]["error"] == 0.004
    assert got["current_ring_largest"]["note"].endswith("L = 10")
    assert "L = 30" in got["current_bulk_open_largest"]["note"]
    text = (tmp_path / "c.html").read_text()
    assert "<table>" in text and "0.550000" in text
    assert (tmp_path / "c.csv").read_text().startswith("scaling,quantity,value,error,note")


def test_describe_study_states_parameters():
    text = figures.describe_study("flux", {
        "methods": ["ed"], "bc": "ring", "L": [4], "fixed": {"J0": 1.5, "kappa": 0.1},
        "grid": {"phi": {"start": -3.14159, "stop": 3.14159, "num": 41}}, "description": "Fig. 2"})
    assert text.startswith("- ``flux`` (study): ED, ring, L = 4")
    assert "J0 = 1.5" in text and "phi: 41 points" in text and text.endswith("Fig. 2")


def test_caption_of_a_complex_grid():
    """Report captions state complex axes in the workflow's one rounding (both parts kept)."""
    from lindring.report.figures import describe_study
    text = describe_study("c", {"methods": ["ed"], "L": [4],
                                "grid": {"alpha": ["1+0.5j", "1-0.5j"], "delta": [1.5]}})
    assert "alpha = 1+0.5j, 1-0.5j" in text and "delta = 1.5" in text


def test_a_panel_without_a_finite_value_says_so(tmp_path):
    """Every ED point NaN (all non-unique) in Fig. 4: its panels drew empty axes with a legend;
    now each says why (in the SVG's text), and a panel with values says nothing."""
    ds = gathered(["ed"], [4], {"r": [1.0], "theta": THETA}, STEADY)
    for name in ("current_eta", "sz", "negativity_pair", "purity_pair"):
        ds[name][:] = np.nan
    with pytest.warns(UserWarning, match="no finite value"):
        paths = figures.fig4(ds, tmp_path)
    svg = open(paths[1]).read()
    assert svg.count("no point to draw: every value is NaN") == 4
    fine = gathered(["ed"], [4], {"r": [1.0], "theta": THETA}, STEADY)
    svg = open(figures.fig4(fine, tmp_path / "fine")[1]).read()
    assert "no point to draw" not in svg
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2)
    a.plot([0, 1], [np.nan, np.nan])
    a.axhline(0)                                   # a reference line is not a point
    b.pcolormesh(np.full((2, 2), np.nan))
    assert figures.note_empty_panels(fig) == 2
    plt.close(fig)

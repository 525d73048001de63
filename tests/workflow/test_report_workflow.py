"""Figures, scaling and `snakemake --report`, run for real on a tiny figures config."""
import csv

import pytest
import xarray as xr
import yaml

from test_workflow import planned, snakemake

PI = 3.141592653589793
TINY = {
    "studies": {
        "ring": {"methods": ["ed"], "bc": "ring", "L": [3, 4, 5, 6], "preset": "minimal",
                 "grid": {"alpha": [2.0], "delta": [1.5]}},
        "open": {"methods": ["ed"], "bc": "open", "L": [4, 6], "preset": "minimal",
                 "grid": {"alpha": [2.0], "delta": [1.0]}},
        "flux": {"methods": ["ed"], "bc": "ring", "L": [4],
                 "fixed": {"J0": 1.5, "lam": 0.5, "mu": 1.0, "kappa": 0.1},
                 "grid": {"phi": [-1.0, 1.0]}},
        "flux_map": {"methods": ["ed"], "bc": "ring", "L": [4],
                     "fixed": {"J0": 1.5, "lam": 0.5, "mu": 1.0},
                     "grid": {"kappa": [0.1, 1.0], "phi": [-1.0, 1.0]}},
        "theta": {"methods": ["ed", "cmf"], "bc": "ring", "L": [4], "preset": "minimal",
                  "polar": {"r": [1.0], "theta": [0.3, 0.6]}},
        "eps_x": {"methods": ["ed"], "bc": "ring", "L": [4], "preset": "minimal",
                  "grid": {"eps_x": [0.2]}, "polar": {"r": [1.0], "theta": [0.3, 0.6]}},
        "ground": {"methods": ["ground"], "bc": "ring", "L": [4], "fixed": {"J0": 1.0},
                   "grid": {"phi": [-1.0, PI]}},
    },
    "cmf_maps": {"map": {"description": "tiny map", "preset": "minimal",
                         "grid": {"alpha": [0.5, 1.0, 2.0], "delta": [0.5, 1.5]}}},
    "scaling": {"ring": {"ring": "ring", "open_chain": "open"}},
    "figures": {"fig2": {"flux": "flux", "map": "flux_map"}, "fig3": {"map": "map"},
                "fig4": {"theta": "theta"}, "fig5": {"scaling": "ring", "open_chain": "open"},
                "fig6": {"eps_x": "eps_x"}, "fig7": {"ground": "ground"}},
    "quicklook": True,      # results/summary.txt and results/quicklook.html (issue 17)
}
FIGS = ("fig2", "fig3", "fig4", "fig5", "fig6", "fig7")


def copy(cfg):
    return yaml.safe_load(yaml.safe_dump(cfg))


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    work = tmp_path_factory.mktemp("report")
    snakemake(work, TINY)
    return work


def test_figures_table_and_scaling_are_built(done):
    figs = done / "results" / "figures"
    for fig in FIGS:
        assert (figs / f"{fig}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (figs / f"{fig}.png").stat().st_size > 5000
        assert b"<svg" in (figs / f"{fig}.svg").read_bytes()
    sc = xr.open_dataset(done / "results" / "ring_scaling.nc")
    assert list(sc.L.values) == [3, 4, 5, 6]
    rows = {r["quantity"]: r for r in csv.DictReader((figs / "currents.csv").open())}
    assert float(rows["current_inf"]["value"]) == pytest.approx(float(sc.current_inf), rel=1e-8)
    assert "L = 6" in rows["current_bulk_open_largest"]["note"]
    assert "<table>" in (figs / "currents.html").read_text()
    m = xr.open_dataset(done / "results" / "maps" / "map.nc")
    assert m.current_eta.dims == ("technique", "L", "alpha", "delta", "bond")
    assert m.attrs["missing_points"] == "none"
    # everything is up to date: nothing reruns
    assert planned(snakemake(done, TINY, "-n")) == {}


def test_report_bundles_figures_captions_and_table(done):
    snakemake(done, TINY, "--report", "report.html")
    html = (done / "report.html").read_text(errors="replace")
    assert len(html) > 100_000
    for name in [f"{fig}.png" for fig in FIGS] + ["currents.html", "currents.csv"]:
        assert name in html, name
    # captions are rendered with the parameters of the studies used
    assert "flux-induced current" in html and "J0 = 1.5" in html
    assert "Extrapolated currents" in html


def test_figure_rules_only_for_studies_that_run(tmp_path):
    cfg = copy(TINY)
    cfg["run"] = ["ring", "theta"]           # fig5 loses its optional open chain; fig2, 6, 7 go
    proc = snakemake(tmp_path, cfg, "-n")
    jobs = planned(proc)
    assert {k for k in jobs if k.startswith("figure_")} == {"figure_fig3", "figure_fig4",
                                                            "figure_fig5"}
    assert "fig2 skipped" in proc.stderr and "fig7 skipped" in proc.stderr
    # (a config without figures, scaling and cmf_maps has none of these rules: the job counts of
    # tests/test_workflow.py::test_incremental_reruns check that)


def test_figure_naming_an_unknown_study_is_rejected(tmp_path):
    # (the schema rejects unknown figures and missing required keys; this is a cross reference)
    cfg = copy(TINY)
    cfg["figures"]["fig2"]["flux"] = "nope"
    proc = snakemake(tmp_path, cfg, "-n", check=False)
    assert proc.returncode != 0
    assert "figures.fig2.flux: 'nope' is not a study or a cmf map" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


# ----------------------------------------------------------------- issue 17: what a person sees
def test_summary_against_the_gathered_files(done):
    from quicklook_checks import check_summary
    check_summary(done, TINY)


def test_report_and_quicklook_in_a_browser(done):
    from quicklook_checks import check_pages
    if not (done / "report.html").exists():
        snakemake(done, TINY, "--report", "report.html")
    check_pages(done, [f"{fig}.png" for fig in FIGS])


def test_the_summary_names_the_scaling_file_it_read(tmp_path):
    """A scaling named otherwise than its ring study (`scaling: {sc: {ring: r}}`): the summary
    and `lindring show` pointed to results/r_scaling.nc, a file that does not exist; they name
    results/sc_scaling.nc, the workflow's file. Real Snakemake run, ED ring L = 3..6."""
    from lindring.report.show import show_text
    config = {"studies": {"r": {"methods": ["ed"], "bc": "ring", "L": [3, 4, 5, 6],
                                "preset": "minimal", "grid": {"alpha": [2.0], "delta": [1.5]}}},
              "scaling": {"sc": {"ring": "r"}}, "quicklook": True}
    snakemake(tmp_path, config)
    summary = (tmp_path / "results" / "summary.txt").read_text()
    shown = show_text(tmp_path / "results" / "sc_scaling.nc")
    for text in (summary, shown):
        assert "results/sc_scaling.nc" in text and "r_scaling.nc" not in text.replace(
            "sc_scaling.nc", ""), text
    assert (tmp_path / "results" / "sc_scaling.nc").exists()

"""Checks of the run summary (results/summary.txt), the quick-look page and the report against
the files of a finished workflow run; used by the report fixture's tests
(test_report_workflow.py), which run the workflow once."""
import re

import numpy as np
import pytest
import xarray as xr

from browser_check import blank_fraction, check_images, screenshot
from lindring.analysis.scaling import bulk_bonds


def _num(text):
    return float("nan") if text == "NaN" else float(text)


def _current(ds, technique):
    """The summary's current, recomputed here from the file: current_eta + current_J, mean over
    the ring's bonds (cmf: bond 0; open chain: the bulk bonds)."""
    sub = ds.sel(technique=technique)
    cur = sub["current_eta"] + (sub["current_J"] if "current_J" in sub else 0)
    if technique == "cmf":
        return cur.isel(bond=0)
    if ds.attrs["bc"] == "open":
        return xr.concat([cur.sel(L=L).isel(bond=bulk_bonds(int(L))).mean("bond")
                          for L in cur.L.values], "L")
    return cur.mean("bond")


def check_summary(done, config):
    res = done / "results"
    text = (res / "summary.txt").read_text()
    blocks = {b.split(":", 1)[0]: b for b in text.split("\n\n")}
    assert set(config["studies"]) <= set(blocks)
    # current against L, one column per technique: the ring study and its scaling
    ring = xr.open_dataset(res / "ring.nc")
    rows = {int(m.group(1)): _num(m.group(2)) for m in
            re.finditer(r"^\s+(\d+)\s+(\S+)\s*$", blocks["ring"], re.M)}
    want = _current(ring, "ed").squeeze()
    assert sorted(rows) == [int(L) for L in ring.L.values]
    for L, v in rows.items():
        assert v == pytest.approx(float(want.sel(L=L)), rel=1e-4, abs=1e-9)
    sc = xr.open_dataset(res / "ring_scaling.nc")
    m = re.search(r"L -> infinity \(ED\): (\S+) \+- (\S+)\s+\(even L: (\S+) \+- (\S+), odd L: "
                  r"(\S+) \+- (\S+)\)", blocks["ring"])
    got = [float(x) for x in m.groups()]
    for v, var in zip(got, ["current_inf", "current_inf_err", "current_inf_even",
                            "current_inf_even_err", "current_inf_odd", "current_inf_odd_err"]):
        assert v == pytest.approx(float(sc[var]), rel=5e-2 if var.endswith("err") else 1e-4)
    # the open chain: bulk current per L
    opn = xr.open_dataset(res / "open.nc")
    rows = {int(m.group(1)): _num(m.group(2)) for m in
            re.finditer(r"^\s+(\d+)\s+(\S+)\s*$", blocks["open"], re.M)}
    for L, v in rows.items():
        assert v == pytest.approx(float(_current(opn, "ed").squeeze().sel(L=L)), rel=1e-4)
    # a scan: the largest and smallest current of each technique and where
    th = xr.open_dataset(res / "theta.nc")
    for tech, label in (("ed", "ED"), ("cmf", "CMF")):
        line = next(l for l in blocks["theta"].splitlines() if l.strip().startswith(label + " "))
        m = re.search(r"max\s+(\S+) at theta = (\S+) pi\s+min\s+(\S+) at theta = (\S+) pi", line)
        cur = _current(th, tech).squeeze()
        assert _num(m.group(1)) == pytest.approx(float(cur.max()), rel=1e-4)
        assert _num(m.group(3)) == pytest.approx(float(cur.min()), rel=1e-4)
        assert float(m.group(2)) * np.pi == pytest.approx(
            float(cur.theta.values[int(np.nanargmax(cur.values))]), rel=1e-3)
    # counts from the files' attributes and kernel_dim
    for name in config["studies"]:
        ds = xr.open_dataset(res / f"{name}.nc")
        assert (f"points: {ds.attrs['points_present']} of {ds.attrs['points_expected']} present"
                in blocks[name])
    # the end: every path written, how to open them
    for path in [f"results/{n}.nc" for n in config["studies"]] + ["results/quicklook.html"]:
        assert path in text.split("Written:", 1)[1]
        assert (done / path).exists()
    assert "Open the page in a browser" in text


def check_pages(done, figures):
    """The quick-look page and report.html in headless Chromium: every image renders (the
    figures by name), a screenshot is written and is not blank."""
    page = done / "results" / "quicklook.html"
    html = page.read_text()
    assert (done / "results" / "summary.txt").read_text().split("\n")[0] in html
    imgs = check_images(page)
    assert sorted(r["src"].rsplit("/", 1)[-1] for r in imgs) == sorted(figures)
    for r in imgs:
        assert r["w"] > 100 and r["h"] > 100, r
    imgs = check_images(done / "report.html")
    pngs = [r for r in imgs if r["src"].startswith("data:image/png")]
    assert len(pngs) >= len(figures)
    for r in imgs:
        assert r["w"] > 0 and r["h"] > 0, r
    for name in ("quicklook", "report"):
        src = page if name == "quicklook" else done / "report.html"
        shot = screenshot(src, done / f"{name}-screenshot.png")
        frac, colours = blank_fraction(shot)
        assert frac > 0.05 and colours > 50, (name, frac, colours)
    # provenance: in the report, from this environment and from the files
    report = (done / "report.html").read_text(errors="replace")
    assert "provenance.html" in report and "Provenance" in report
    prov = (done / "results" / "figures" / "provenance.html").read_text()
    ring = xr.open_dataset(done / "results" / "ring.nc")
    for key in ("petsc_version", "slepc_version", "git_commit", "lindring_version"):
        assert ring.attrs[key] in prov, key
    assert f"{int((ring.kernel_dim == 1).sum())} unique" in prov
    assert "max residual" in prov

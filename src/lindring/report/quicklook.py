"""What a run computed, at a glance: the summary table that ``make run`` prints, the quick-look
page ``results/quicklook.html``, the provenance of a report, and ``lindring show`` of a file.

Every number comes from the files: the gathered studies (:mod:`lindring.workflow.gather`), the
scaling datasets (:mod:`lindring.analysis.scaling`) and the point files. Conventions:

* the current of a point is ``current_eta + current_J`` (Eq. 14, the total current between
  nearest neighbours, as the finite-size scaling uses); on a ring it is the mean over the bonds
  (all equal by translation invariance), for the cluster mean field the intra-cluster bond 0
  (Eq. 24), on an open chain the mean over the bulk bonds (middle half,
  :data:`lindring.analysis.scaling.BULK_RULE`);
* a study over several L at one parameter point is a table of the current against L (one column
  per technique) followed by its finite-size scaling where the config has one;
* a study over parameters is summarised by its scan axis (the axis with most values): the largest
  and smallest current, and where, for every technique and every value of the other axes;
* non-unique points (``kernel_dim > 1``: NaN), unchecked ones (``kernel_dim = -1``) and missing
  ones are counted and the first ones named.
"""
from __future__ import annotations

import html
import itertools
import math
import os
import warnings

import numpy as np
import xarray as xr

from lindring.core.schema import CHECKS as CHECKS_OF_POINTS
from lindring.workflow.studies import RESERVED_AXES

#: dimensions of a gathered study that are not parameter axes (the workflow's one list)
NON_AXES = RESERVED_AXES
TECHNIQUES = {"ed": "ED", "cmf": "CMF", "mpo": "MPO", "ground": "ground"}
ANGLES = ("theta", "phi")
#: verification figures: (variable, worst is "max" of |x| or "min", {technique: threshold
#: attribute}): the point files' checks (lindring.core.schema.CHECKS) and the gap
CHECKS = CHECKS_OF_POINTS + (("gap", "min", {}),)
MAX_ROWS = 12
MAX_NAMED = 4


# ----------------------------------------------------------------------------- numbers
def fmt(v, digits: int = 5) -> str:
    """A number as printed in the summary: ``digits`` significant digits, NaN as ``NaN``."""
    v = float(v)
    if not math.isfinite(v):
        return "NaN"
    if v == 0:
        return "0"
    return f"{v:.{digits}g}"


def fmt_axis(name: str, v) -> str:
    """An axis value: angles as multiples of pi (``0.375 pi``), complex values as written."""
    if isinstance(v, (complex, np.complexfloating)) and np.imag(v) != 0:
        return str(complex(v)).strip("()")
    v = float(np.real(v))
    if name in ANGLES:
        r = v / math.pi
        return ("0" if v == 0 else "pi" if abs(r - 1) < 1e-12 else "-pi" if abs(r + 1) < 1e-12
                else f"{r:.4g} pi")
    return f"{v:.6g}"


def _quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return f(*a, **k)


def _norm(ds: xr.Dataset) -> xr.Dataset:
    if "method" in ds.dims and "technique" not in ds.dims:
        ds = ds.rename({"method": "technique"})
    return ds


ORDER = ("ed", "mpo", "ground", "cmf")


def techniques(ds: xr.Dataset) -> list[str]:
    """The techniques of a gathered study, exact ones first."""
    have = [str(t) for t in ds["technique"].values] if "technique" in ds.dims else []
    return sorted(have, key=lambda t: (ORDER.index(t) if t in ORDER else len(ORDER), t))


def axes(ds: xr.Dataset) -> list[str]:
    """The parameter axes of a gathered study, in the file's order."""
    return [d for d in ds.dims if d not in NON_AXES]


def point_current(ds: xr.Dataset, technique: str) -> xr.DataArray | None:
    """The current of every point of one technique (dims ``L`` and the axes): see the module
    docstring. ``None`` if the study has no current."""
    from lindring.analysis.scaling import current_parts
    names = current_parts(ds)
    if not names:
        return None
    sub = ds.sel(technique=technique) if "technique" in ds.dims else ds
    cur = sum(sub[n].fillna(0) if len(names) > 1 else sub[n] for n in names)
    if len(names) > 1:       # NaN where every part is NaN (non-unique or missing points)
        cur = cur.where(~np.all([sub[n].isnull() for n in names], axis=0))
    if "bond" not in cur.dims:
        return cur
    if technique == "cmf":
        return cur.isel(bond=0, drop=True)
    if ds.attrs.get("bc", "ring") == "open":
        from lindring.analysis.scaling import bulk_bonds
        parts = []
        for L in cur["L"].values:
            b = bulk_bonds(int(L))
            c = cur.sel(L=L)
            parts.append(_quiet(c.isel(bond=b).mean, "bond", skipna=False) if b.size
                         else c.isel(bond=0, drop=True) * np.nan)
        return xr.concat(parts, dim="L")
    # ring: every bond carries the same current; bonds beyond a point's L are NaN padding
    return _quiet(cur.mean, "bond", skipna=True).where(cur.notnull().any("bond"))


def current_name(ds: xr.Dataset) -> str:
    from lindring.analysis.scaling import current_parts
    parts = current_parts(ds)
    what = ("I_J (coherent: a closed system)" if parts and parts[0] in ("current_J", "I_J")
            else "I_eta + I_J")
    if ds.attrs.get("bc", "ring") == "open":
        return f"bulk current {what} (middle half of the bonds)"
    return f"current {what} per bond"


def _names(text: str) -> list[str]:
    text = str(text or "none")
    return [] if text == "none" else [t.strip() for t in text.split(";") if t.strip()]


# ----------------------------------------------------------------------------- one study
def point_lists(ds: xr.Dataset) -> list[str]:
    """Lines counting (and naming the first of) the non-unique, unchecked, imprecise and missing
    points."""
    out = []
    for key, what in (("nonunique_points", "non-unique (kernel_dim > 1, left out of fits and "
                                           "figures)"),
                      ("unchecked_points", "unchecked (uniqueness not decided, left out of fits "
                                           "and figures)"),
                      ("imprecise_points", "with rates spanning beyond double precision "
                                           "(precision_note of each file)"),
                      ("missing_points", "missing (failed or not run, NaN)")):
        names = _names(ds.attrs.get(key))
        if names:
            shown = ", ".join(_short(n) for n in names[:MAX_NAMED])
            more = f", ... ({len(names) - MAX_NAMED} more)" if len(names) > MAX_NAMED else ""
            out.append(f"  {len(names)} {what}: {shown}{more}")
    return out


def _short(path: str) -> str:
    """``results/s/ed/ring/L4/theta=0_r=1.nc`` -> ``ed L4 theta=0_r=1``."""
    parts = path.split("/")
    if len(parts) >= 5:
        return f"{parts[-4]} {parts[-2]} {parts[-1].removesuffix('.nc')}"
    return path


def counts_line(ds: xr.Dataset) -> str:
    a = ds.attrs
    expected, present = a.get("points_expected"), a.get("points_present")
    n_non, n_unch = len(_names(a.get("nonunique_points"))), len(_names(a.get("unchecked_points")))
    if expected is None:
        return ""
    return (f"  points: {present} of {expected} present, {n_non} non-unique, "
            f"{n_unch} unchecked")


def vs_L_table(ds: xr.Dataset, scaling: xr.Dataset | None = None) -> list[str]:
    """Current against L, one column per technique, and the scaling's limits."""
    techs = [t for t in techniques(ds) if point_current(ds, t) is not None]
    cols = {t: point_current(ds, t) for t in techs}
    for t in techs:
        for a in axes(ds):
            cols[t] = cols[t].isel({a: 0}, drop=True)
    lines = [f"  {'L':>4}  " + "  ".join(f"{TECHNIQUES.get(t, t):>12}" for t in techs)]
    for L in ds["L"].values:
        lines.append(f"  {int(L):>4}  " + "  ".join(f"{fmt(cols[t].sel(L=L)):>12}"
                                                    for t in techs))
    if "cmf" in techs:
        lines.append("  (the mean field describes the infinite lattice: the same at every L)")
    if scaling is not None:
        lines += scaling_lines(scaling)
    return lines


def disorder_table(ds: xr.Dataset, scaling: xr.Dataset | None = None) -> list[str]:
    """A ring over disorder realisations: the mean current (ED) against L with its standard
    error and the number of realisations (:func:`lindring.analysis.scaling.ring_current`), and
    the scaling's limits."""
    from lindring.analysis.scaling import ring_current
    rc = ring_current(ds)
    lines = [f"  {'L':>4}  {'ED, mean':>12}  {'std. error':>10}  realisations"]
    for L in rc["L"].values:
        lines.append(f"  {int(L):>4}  {fmt(rc['current'].sel(L=L)):>12}  "
                     f"{fmt(rc['current_sem'].sel(L=L), 2):>10}  {int(rc['n_seeds'].sel(L=L))}")
    if scaling is not None:
        lines += scaling_lines(scaling)
    return lines


def scaling_lines(sc: xr.Dataset) -> list[str]:
    """The extrapolated currents of a scaling dataset (value +- one-sigma uncertainty)."""
    def pm(var):
        return f"{fmt(sc[var])} +- {fmt(sc[var + '_err'], 2)}"

    lines = [f"  L -> infinity (ED): {pm('current_inf')}   (even L: {pm('current_inf_even')}, "
             f"odd L: {pm('current_inf_odd')})"]
    models = [f"{p} {sc[f'current_inf_{p}'].attrs.get('fit_model', '?')}" for p in ("even", "odd")]
    # the file of the workflow's scaling is named after the scaling, not its ring study
    name = sc.attrs.get("scaling_name")
    lines.append(f"    fit models (by AIC): {', '.join(models)}"
                 + (f"; results/{name}_scaling.nc" if name else ""))
    if "current_cmf" in sc and math.isfinite(float(sc["current_cmf"])):
        branch = "parity-broken" if float(sc.get("cmf_broken_branch", 0)) == 1 else "symmetric"
        lines.append(f"  mean field: {fmt(sc['current_cmf'])} (stable solution, {branch} branch), "
                     f"{fmt(sc['current_cmf_symmetric'])} (symmetric solution)")
    if "current_bulk_open_largest" in sc and math.isfinite(float(sc["current_bulk_open_largest"])):
        lines.append(f"  open chain bulk current at L = {int(sc['L_open_largest'])}: "
                     f"{fmt(sc['current_bulk_open_largest'])}")
    return lines


def scan_table(ds: xr.Dataset) -> list[str]:
    """Largest and smallest current along the scan axis, per technique and value of the others."""
    ax = axes(ds)
    if not ax:
        return []
    scan = max(ax, key=lambda a: (ds.sizes[a], ax.index(a)))
    others = [a for a in ax if a != scan and ds.sizes[a] > 1] + (["L"] if ds.sizes["L"] > 1 else [])
    rows = []
    for t in techniques(ds):
        cur = point_current(ds, t)
        if cur is None:
            continue
        for a in ax:
            if a != scan and a not in others:
                cur = cur.isel({a: 0}, drop=True)
        if "L" not in others:
            cur = cur.isel(L=0, drop=True)
        for combo in itertools.product(*[list(cur[o].values) for o in others]):
            c = cur.sel(dict(zip(others, combo)))
            vals = np.asarray(c.values, dtype=float)
            where = ", ".join(f"{o} = {fmt_axis(o, v)}" for o, v in zip(others, combo))
            label = f"{TECHNIQUES.get(t, t)}" + (f", {where}" if where else "")
            ok = np.isfinite(vals)
            if not ok.any():
                rows.append(f"  {label:<24} no finite value")
                continue
            i_max = int(np.nanargmax(np.where(ok, vals, -np.inf)))
            i_min = int(np.nanargmin(np.where(ok, vals, np.inf)))
            sv = c[scan].values
            nan = int((~ok).sum())
            rows.append(f"  {label:<24} max {fmt(vals[i_max]):>10} at {scan} = "
                        f"{fmt_axis(scan, sv[i_max]):<10} min {fmt(vals[i_min]):>10} at {scan} = "
                        f"{fmt_axis(scan, sv[i_min])}" + (f"  ({nan} NaN)" if nan else ""))
    head = (f"  {ds.sizes[scan]} values of {scan} in [{fmt_axis(scan, ds[scan].values.min())}, "
            f"{fmt_axis(scan, ds[scan].values.max())}]") if np.isrealobj(ds[scan].values) else \
        f"  {ds.sizes[scan]} values of {scan}"
    if len(rows) > MAX_ROWS:
        rows = rows[:MAX_ROWS] + [f"  ... ({len(rows) - MAX_ROWS} more rows: lindring show)"]
    return [head] + rows


def fixed_text(ds: xr.Dataset) -> str:
    """Boundary, L, preset, fixed parameters and size-one axes of a gathered study."""
    a = ds.attrs
    parts = [str(a.get("bc", "?"))]
    Ls = [int(L) for L in ds["L"].values] if "L" in ds.dims else []
    if Ls:
        parts.append(f"L = {Ls[0]}" if len(Ls) == 1 else f"L = {Ls[0]}..{Ls[-1]}")
    if a.get("preset", "none") != "none":
        parts.append(f"preset {a['preset']}")
    if int(a.get("range", 1)) != 1:
        parts.append(f"range {a['range']}")
    parts += [f"{k[6:]} = {v}" for k, v in a.items() if k.startswith("fixed_")]
    parts += [f"{d} = {fmt_axis(d, ds[d].values[0])}" for d in axes(ds) if ds.sizes[d] == 1]
    return ", ".join(parts)


def model_lines(ds: xr.Dataset) -> list[str]:
    """A model-file study: its file and each of the model's own observables
    (:func:`lindring.workflow.gather.model_variables`) with its dimensions and, per technique,
    the smallest and largest value over the points, sites, bonds and distances."""
    from lindring.workflow.gather import model_variables
    lines = [f"  model file: {ds.attrs['model_file']}"]
    for name in model_variables(ds):
        da = ds[name]
        where = [d for d in da.dims if d in ("site", "bond", "distance")]
        parts = []
        for t in techniques(ds) or [None]:
            vals = np.asarray((da.sel(technique=t) if t is not None else da).values, dtype=float)
            vals = vals[np.isfinite(vals)]
            label = TECHNIQUES.get(t, t) + " " if t is not None else ""
            parts.append(f"{label}{fmt(vals.min())} .. {fmt(vals.max())}" if vals.size
                         else f"{label}NaN")
        dims = f" (per {', '.join(where)})" if where else ""
        lines.append(f"    {name:<16} {'; '.join(parts)}{dims}")
    return lines


def study_lines(name: str, ds: xr.Dataset, scaling: xr.Dataset | None = None,
                description: str = "") -> list[str]:
    """The summary of one gathered study (see the module docstring)."""
    ds = _norm(ds)
    techs = ", ".join(TECHNIQUES.get(t, t) for t in techniques(ds))
    lines = [f"{name}: {techs}; {fixed_text(ds)}"]
    if description:
        lines.append(f"  ({description})")
    from lindring.analysis.scaling import current_parts
    if "model_file" in ds.attrs:
        lines += model_lines(ds)
    if not current_parts(ds):
        lines.append("  (no current in this study)" if "model_file" not in ds.attrs else
                     "  (no current of the paper's model in this study: see the model's own "
                     "observables)")
    else:
        varying = [a for a in axes(ds) if ds.sizes[a] > 1]
        lines.append(f"  {current_name(ds)}:")
        if varying == ["seed"] and ds.attrs.get("bc", "ring") == "ring" and "ed" in techniques(ds):
            lines += disorder_table(ds, scaling)
        elif not varying and ds.sizes.get("L", 1) > 1:
            lines += vs_L_table(ds, scaling)
        elif not varying:
            for t in techniques(ds):
                cur = point_current(ds, t)
                if cur is not None:
                    lines.append(f"  {TECHNIQUES.get(t, t):<8} {fmt(cur.values.ravel()[0])}")
        else:
            lines += scan_table(ds)
    c = counts_line(ds)
    if c:
        lines.append(c)
    lines += point_lists(ds)
    return lines


# ----------------------------------------------------------------------------- verification
def verification(ds: xr.Dataset) -> list[dict]:
    """The worst verification figures over a study's points, per technique: rows ``{technique,
    check, worst, threshold, points}``; the threshold is that technique's own, as the gather
    keeps it from the point files (``<technique>_<attribute>``, the attribute of
    :data:`lindring.core.schema.CHECKS`; in a file gathered before, the study-level attribute
    of a study of one technique), empty where the files record none."""
    ds = _norm(ds)
    rows = []
    for t in techniques(ds) or [None]:
        sub = ds.sel(technique=t) if t is not None else ds
        for var, how, by_technique in CHECKS:
            if var not in sub:
                continue
            vals = np.asarray(sub[var].values, dtype=float)
            vals = vals[np.isfinite(vals)]
            if not vals.size:
                continue
            worst = float(vals.max() if how == "max" else vals.min())
            threshold = gathered_threshold(ds, t, by_technique)
            rows.append(dict(technique=t or "", check=var, worst=worst,
                             threshold=str(threshold), points=int(vals.size), how=how))
    return rows


def gathered_threshold(ds: xr.Dataset, technique, by_technique: dict) -> str:
    """The threshold of one check for one technique of a gathered study (see
    :func:`verification`); "" where none is recorded."""
    attr = by_technique.get(technique) if technique is not None else \
        next(iter(by_technique.values()), None)
    if attr is None:
        return ""
    if technique is not None and f"{technique}_{attr}" in ds.attrs:
        return str(ds.attrs[f"{technique}_{attr}"])
    if attr in ds.attrs and len(techniques(ds)) <= 1:     # one technique: the study's own
        return str(ds.attrs[attr])
    return ""


def uniqueness_counts(ds: xr.Dataset) -> dict:
    """``{technique: (unique, non-unique, unchecked)}`` counted from ``kernel_dim``."""
    ds = _norm(ds)
    out = {}
    if "kernel_dim" not in ds:
        return out
    for t in techniques(ds):
        k = np.asarray(ds["kernel_dim"].sel(technique=t).values, dtype=float)
        if not np.isfinite(k).any():
            continue        # a technique without a uniqueness decision (cmf, ground)
        out[t] = (int((k == 1).sum()), int((k > 1).sum()), int((k == -1).sum()))
    return out


PROVENANCE_KEYS = ("lindring_version", "git_commit", "petsc_version", "slepc_version",
                   "mpi_library", "solver")


def provenance_rows(studies: dict[str, xr.Dataset]) -> list[dict]:
    """Per study: what the files record of how they were made, the uniqueness counts and the
    worst verification figures."""
    rows = []
    for name, ds in studies.items():
        rec = {k: str(ds.attrs[k]) for k in PROVENANCE_KEYS if k in ds.attrs}
        rows.append(dict(study=name, recorded=rec, uniqueness=uniqueness_counts(ds),
                         checks=verification(ds)))
    return rows


def verification_lines(ds: xr.Dataset) -> list[str]:
    lines = []
    for t, (u, n, c) in uniqueness_counts(ds).items():
        lines.append(f"  {TECHNIQUES.get(t, t)}: {u} unique, {n} non-unique, {c} unchecked "
                     "(kernel_dim)")
    for r in verification(ds):
        thr = f" (threshold {r['threshold']})" if r["threshold"] else ""
        lines.append(f"  {TECHNIQUES.get(r['technique'], r['technique'])}: {r['how']} "
                     f"{r['check']} = {fmt(r['worst'], 3)} over {r['points']} points{thr}")
    return lines


# ----------------------------------------------------------------------------- the run
def summary_text(studies: dict[str, xr.Dataset], scalings: dict[str, xr.Dataset] | None = None,
                 descriptions: dict[str, str] | None = None, written: list[str] | None = None,
                 page: str | None = None) -> str:
    """The summary ``make run`` prints: one block per study, then what was written and how to
    open it. ``scalings`` maps a scaling's name to its dataset (placed under its ring study)."""
    scalings = scalings or {}
    by_study = {str(sc.attrs.get("study")): sc for sc in scalings.values()}
    descriptions = descriptions or {}
    out = ["lindring: summary of this run (numbers from results/*.nc)", ""]
    for name, ds in studies.items():
        out += study_lines(name, ds, by_study.get(name), descriptions.get(name, ""))
        out.append("")
    out.append("Written:")
    for name in studies:
        out.append(f"  results/{name}.nc  (gathered study; lindring show results/{name}.nc, or "
                   f"xarray.open_dataset)")
    for name in scalings:
        out.append(f"  results/{name}_scaling.nc  (finite-size scaling; lindring show)")
    for path in written or []:
        out.append(f"  {path}")
    if page:
        out.append(f"  {page}  (this summary with the figures)")
        out.append(f"Open the page in a browser: xdg-open {page}  (or file://{os.path.abspath(page)})")
    out.append("Point files: results/<study>/<method>/<bc>/L<L>/<point>.nc (lindring show FILE); "
               "logs under logs/.")
    return "\n".join(out) + "\n"


_STYLE = ("body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}"
          "pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:13px}"
          "figure{margin:1em 0}img{max-width:100%;border:1px solid #ddd}"
          "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #bbb;"
          "padding:2px 6px;text-align:left}")


def quicklook_html(summary: str, figures: list[tuple[str, str, str]],
                   provenance: list[dict] | None = None, title: str = "lindring: quick look") -> str:
    """The quick-look page: the summary, then each figure (``(png, svg, caption)``, paths
    relative to the page) and the provenance table."""
    parts = [f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", "<h2>Summary</h2>",
             f"<pre id='summary'>{html.escape(summary)}</pre>"]
    if figures:
        parts.append("<h2>Figures</h2>")
    for png, svg, caption in figures:
        parts.append(f"<figure><img src='{html.escape(png)}' alt='{html.escape(caption)}'>"
                     f"<figcaption>{html.escape(caption)} (<a href='{html.escape(png)}'>PNG</a>, "
                     f"<a href='{html.escape(svg)}'>SVG</a>)</figcaption></figure>")
    if provenance:
        parts.append("<h2>Provenance</h2>" + provenance_html(provenance))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def provenance_html(rows: list[dict], versions: dict | None = None) -> str:
    """Provenance as HTML tables: the versions of this environment (if given) and, per study,
    what its files record, its uniqueness counts and its worst verification figures."""
    out = []
    if versions:
        out.append("<h3>This environment</h3><table>" + "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in versions.items()) + "</table>")
    for r in rows:
        out.append(f"<h3>{html.escape(r['study'])}</h3><table>")
        for k, v in r["recorded"].items():
            out.append(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>")
        for t, (u, n, c) in r["uniqueness"].items():
            out.append(f"<tr><th>uniqueness ({html.escape(t)})</th><td>{u} unique, {n} non-unique,"
                       f" {c} unchecked</td></tr>")
        for c in r["checks"]:
            thr = f" (threshold {html.escape(c['threshold'])})" if c["threshold"] else ""
            out.append(f"<tr><th>{html.escape(c['how'])} {html.escape(c['check'])} "
                       f"({html.escape(c['technique'])})</th><td>{fmt(c['worst'], 3)} over "
                       f"{c['points']} points{thr}</td></tr>")
        out.append("</table>")
    return "\n".join(out)


def write_provenance(path, studies: dict[str, xr.Dataset], versions: dict) -> None:
    """A small HTML page of :func:`provenance_html` (a report item)."""
    page = (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Provenance</title>"
            f"<style>{_STYLE}</style></head><body><h2>Provenance</h2>\n"
            + provenance_html(provenance_rows(studies), versions) + "\n</body></html>\n")
    os.makedirs(os.path.dirname(str(path)) or ".", exist_ok=True)
    with open(path, "w") as fh:
        fh.write(page)

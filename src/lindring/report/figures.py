"""The figures of the paper (Fig. 2 to 7), drawn with matplotlib from gathered datasets.

One function per figure; each takes gathered datasets (:mod:`lindring.workflow.gather`: dims ``technique``,
``L``, the study's grid axes, ``bond``, ``site``) or, for Fig. 5, the scaling dataset of
:mod:`lindring.analysis.scaling`, saves ``<outdir>/fig<N>.png`` and ``.svg`` and returns the two paths.
Missing points are NaN in the datasets and left out of the plots (lines break there): a figure is
drawn from whatever is present. Size-one axes are dropped; where a figure needs one value of an axis
that has several (e.g. a study with two L for a figure of one L), the first value is used and a
warning names it.

Conventions (one for all figures): the paper's symbols (:data:`LABELS`), its colours for the
series in order dark magenta, light green, blue (:data:`COLOURS`), solid lines for exact
diagonalisation and dashed for the cluster mean field (as in Fig. 4), grey dashed for references.

What is plotted, where the paper leaves a choice:

* ring currents are averaged over the bonds (all equal by translation invariance); the cluster mean
  field's current is the one on the intra-cluster bond (``bond = 0``), the current of Eq. 24;
* the negativity of Fig. 2 is that of the half|half cut (``negativity_half``; for L = 4 sites
  {1,2} against {3,4}), the paper's "bipartite negativity": the negativity of the two-site
  reduced state vanishes to rounding at the parameters of Fig. 2;
* ``N`` and ``P`` of Figs. 3-4 are the negativity and purity of the two-site state of sites (0, 1)
  (``negativity_pair``, ``purity_pair``): for the mean field that is the cluster state, for ED the
  reduced state of two neighbours, so the two are compared like for like;
* the mean-field maps of Fig. 3 show the *stable* solution (:mod:`lindring.solvers.meanfield`); a black
  contour encloses the region where it is parity-broken, i.e. where it differs from the symmetric
  solution of the paper's closed form (``branch='symmetric'`` plots that one instead);
* the open-chain current of Fig. 5 on bond ``b`` (sites ``b, b+1``) is drawn at
  ``j/L = (b + 1)/L``, the bond's centre, so that the chain is symmetric about ``j/L = 1/2``;
* Fig. 7 at a degenerate ground level (``phi = +-pi``) shows the current and entropy of the
  equal-weight mixture of the degenerate ground states (``*_mixed``) as open markers.

The mean-field maps of Fig. 3 are computed in one process by
:func:`lindring.workflow.cmf_maps.cmf_map_dataset` (the ``cmf_maps`` section of the workflow config).
"""
from __future__ import annotations

import math
import os
import warnings
from fractions import Fraction

import numpy as np
import xarray as xr


def _pyplot():
    """``matplotlib.pyplot`` on the Agg backend, imported at first use: the workflow imports this
    module while it parses its config, and matplotlib takes seconds to import."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


#: colours of the series, in order (the paper's dark magenta, light green, blue, then more)
COLOURS = ("#8b008b", "#5fb84a", "#1f4fbf", "#e08a00", "#b22222", "#17a2b8", "#6f4e37")
#: reference curves (unperturbed model, mean field lines in Fig. 5)
GREY = "0.45"
#: line style per technique
STYLES = {"ed": "-", "mpo": "-", "cmf": "--", "ground": "-"}
TECHNIQUE_NAMES = {"ed": "ED", "cmf": "CMF", "mpo": "MPO", "ground": "ground state"}

#: axis labels with the paper's symbols
LABELS = {
    "current_eta": r"$\langle I_\eta\rangle$",
    "current_eta_norm": r"$\langle I_\eta\rangle / |\alpha^2-\delta^2|$",
    "current_J": r"$\langle I_J\rangle$",
    "sz": r"$\langle\sigma^z\rangle$",
    "negativity_pair": r"$\mathcal{N}(\rho_{12})$",
    "negativity_half": r"$\mathcal{N}_{\rm half|half}$",
    "purity_pair": r"$P(\rho_{12})$",
    "entropy_pair": r"$S(\rho_{12})$",
    "phi": r"$\phi$",
    "kappa": r"$\kappa$",
    "theta": r"$\theta$",
    "alpha": r"$\alpha$",
    "delta": r"$\delta$",
    "r": r"$r$",
    "L": r"$L$",
    "j/L": r"$j/L$",
    "eps_x": r"$\varepsilon$",
    "eps_zz": r"$\varepsilon$",
    "mu": r"$\mu$",
    "J0": r"$J_0$",
    "lam": r"$\lambda$",
}
#: the symbols of parameters in titles and legends
SYMBOLS = {"J0": r"J_0", "lam": r"\lambda", "mu": r"\mu", "kappa": r"\kappa", "phi": r"\phi",
           "alpha": r"\alpha", "delta": r"\delta", "beta": r"\beta", "gamma": r"\gamma",
           "eps_x": r"\varepsilon_x", "eps_zz": r"\varepsilon_{zz}", "r": "r", "theta": r"\theta",
           "L": "L"}

STYLE = {"font.size": 10, "axes.labelsize": 11, "legend.fontsize": 8.5, "legend.frameon": False,
         "lines.linewidth": 1.6, "savefig.dpi": 150, "svg.fonttype": "none"}

#: the inputs of each figure in the workflow config (section ``figures``): config key ->
#: (argument of the figure function, required). ``scaling`` names an entry of the config's
#: ``scaling`` section, every other key a study or a ``cmf_maps`` entry. Fig. 6 needs one of its two.
FIGURE_INPUTS = {
    "fig2": {"flux": ("flux", True), "map": ("flux_map", False)},
    "fig3": {"map": ("cmf_map", True)},
    "fig4": {"theta": ("theta", True)},
    "fig5": {"scaling": ("scaling", True), "open_chain": ("open_chain", False)},
    "fig6": {"eps_x": ("eps_x", False), "eps_zz": ("eps_zz", False)},
    "fig7": {"ground": ("ground", True)},
    "disorder": {"disordered": ("disordered", True), "clean": ("clean", True)},
}


# ----------------------------------------------------------------------------- helpers
def _norm(ds: xr.Dataset) -> xr.Dataset:
    """Accept files from before the ``method`` dimension was renamed ``technique``."""
    if "method" in ds.dims and "technique" not in ds.dims:
        ds = ds.rename({"method": "technique"})
    return ds


def _techniques(ds: xr.Dataset) -> list[str]:
    return [str(t) for t in ds["technique"].values] if "technique" in ds.dims else []


def _technique(ds: xr.Dataset, preferred=("ed", "mpo", "ground", "cmf")) -> str | None:
    have = _techniques(ds)
    for t in preferred:
        if t in have:
            return t
    return have[0] if have else None


def _quiet_mean(da: xr.DataArray, dim: str) -> xr.DataArray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return da.mean(dim, skipna=True)


def _var(ds: xr.Dataset, name: str, technique: str | None = None) -> xr.DataArray | None:
    """``name`` of one technique, reduced to one number per point: currents averaged over the
    bonds (mean field: the intra-cluster bond 0), ``sz`` over the sites."""
    if name not in ds:
        return None
    da = ds[name]
    if technique is not None and "technique" in da.dims:
        if technique not in _techniques(ds):
            return None
        da = da.sel(technique=technique)
    if "bond" in da.dims:
        da = da.isel(bond=0) if technique == "cmf" else _quiet_mean(da, "bond")
    if "site" in da.dims:
        da = _quiet_mean(da, "site")
    return da


def _keep(da: xr.DataArray, keep, where: str = "") -> xr.DataArray:
    """Drop every dimension not in ``keep``: size-one ones silently, others at their first value."""
    for d in list(da.dims):
        if d in keep:
            continue
        if da.sizes[d] > 1:
            warnings.warn(f"{where}: {d} has {da.sizes[d]} values; plotting {d} = "
                          f"{da[d].values[0]} only")
        da = da.isel({d: 0}, drop=True)
    return da.drop_vars([c for c in da.coords if c not in da.dims], errors="ignore")


def _fmt(v) -> str:
    v = float(v)
    return f"{v:.4g}"


def _pi_label(x: float) -> str:
    f = Fraction(x / math.pi).limit_denominator(16)
    if f == 0:
        return "0"
    sign = "-" if f < 0 else ""
    n, d = abs(f.numerator), f.denominator
    num = r"\pi" if n == 1 else rf"{n}\pi"
    return rf"${sign}{num}$" if d == 1 else rf"${sign}{num}/{d}$"


def _pi_ticks(axis, values) -> None:
    """Ticks at multiples of pi/4 (span up to pi) or pi/2 on an angle axis, if two fit."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return
    lo, hi = v.min(), v.max()
    step = math.pi / 4 if hi - lo <= math.pi * 1.01 else math.pi / 2
    ticks = step * np.arange(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9) + 1)
    if len(ticks) >= 2:
        axis.set_ticks(ticks)
        axis.set_ticklabels([_pi_label(t) for t in ticks])


def _is_angle(name: str) -> bool:
    return name in ("phi", "theta")


def _fixed_text(ds: xr.Dataset, names, extra: dict | None = None) -> str:
    """``$J_0 = 1.5$, $\\lambda = 0.5$`` from the study's fixed parameters (attrs ``fixed_*``)
    and size-one coordinates."""
    parts = []
    for k in names:
        value = None
        if f"fixed_{k}" in ds.attrs:
            value = ds.attrs[f"fixed_{k}"]
            try:
                value = _fmt(float(value))
            except ValueError:
                pass
        elif k in ds.coords and ds[k].size == 1:
            value = _fmt(ds[k].values.ravel()[0])
        if value is not None:
            parts.append(f"${SYMBOLS.get(k, k)} = {value}$")
    for k, v in (extra or {}).items():
        parts.append(f"${SYMBOLS.get(k, k)} = {v}$")
    return ", ".join(parts)


def _single_L(ds: xr.Dataset, where: str, prefer: int | None = None) -> tuple[xr.Dataset, int | None]:
    if "L" not in ds.dims:
        return ds, None
    Ls = [int(x) for x in ds["L"].values]
    L = prefer if prefer in Ls else Ls[0]
    if len(Ls) > 1:
        warnings.warn(f"{where}: the dataset has L = {Ls}; plotting L = {L}")
    return ds.sel(L=L), L


#: what a panel with nothing to draw says (every point NaN: non-unique, unchecked or missing)
EMPTY_PANEL = "no point to draw: every value is NaN\n(non-unique, unchecked or missing points:\nsee the study's summary)"


def note_empty_panels(fig) -> int:
    """Write :data:`EMPTY_PANEL` across each panel of ``fig`` that has lines, markers or a
    colour map but not one finite value among them (it drew empty axes and a legend); returns
    how many. Colour bars are not panels, reference lines (``axhline``) not data."""
    notes = 0
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        # data only: a reference line (axhline: axes coordinates in x) is not a point
        drawn = [np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()
                 if line.get_transform() == ax.transData]
        for c in ax.collections:
            values = c.get_array()
            drawn.append(np.ma.filled(np.ma.masked_invalid(values).astype(float), np.nan)
                         if values is not None else
                         np.asarray(c.get_offsets(), dtype=float).ravel())
        drawn = [d for d in drawn if d.size]
        if drawn and not any(np.isfinite(d).any() for d in drawn):
            ax.text(0.5, 0.5, EMPTY_PANEL, transform=ax.transAxes, ha="center", va="center",
                    fontsize=8, color=GREY)
            notes += 1
    return notes


def _save(fig, outdir, name: str) -> list[str]:
    plt = _pyplot()
    if note_empty_panels(fig):
        warnings.warn(f"{name}: a panel has no finite value to draw (every point NaN); said on it")
    os.makedirs(outdir, exist_ok=True)
    paths = []
    for ext in ("png", "svg"):
        path = os.path.join(str(outdir), f"{name}.{ext}")
        fig.savefig(path)
        paths.append(path)
    plt.close(fig)
    return paths


def _mesh(ax, da: xr.DataArray, x: str, y: str, cmap: str, symmetric: bool = False,
          label: str = ""):
    """``da`` (dims ``x``, ``y``) as a colour map on the grid points (``shading='nearest'``),
    logarithmic ``y`` when it is positive and spans more than a decade."""
    da = da.sortby(x).sortby(y).transpose(y, x)
    xs, ys = da[x].values.astype(float), da[y].values.astype(float)
    z = np.ma.masked_invalid(da.values.astype(float))
    kw = {}
    if symmetric and z.count():
        m = float(np.abs(z).max()) or 1.0
        kw = dict(vmin=-m, vmax=m)
    mesh = ax.pcolormesh(xs, ys, z, cmap=cmap, shading="nearest", **kw)
    cb = ax.figure.colorbar(mesh, ax=ax)
    cb.set_label(label)
    ax.set_xlabel(LABELS.get(x, x))
    ax.set_ylabel(LABELS.get(y, y))
    if ys.size > 2 and ys.min() > 0 and ys.max() / ys.min() > 10:
        ax.set_yscale("log")
    for name, axis, vals in ((x, ax.xaxis, xs), (y, ax.yaxis, ys)):
        if _is_angle(name):
            _pi_ticks(axis, vals)
    return mesh


def _line(ax, da: xr.DataArray, x: str, **kw):
    da = da.sortby(x)
    return ax.plot(da[x].values.astype(float), da.values.astype(float), **kw)


# ----------------------------------------------------------------------------- Fig. 2
def fig2(flux: xr.Dataset, flux_map: xr.Dataset | None = None, outdir="results/figures",
         negativity: str = "negativity_half", map_negativity: str = "negativity_pair") -> list[str]:
    """Fig. 2: flux-induced current ``<I_J>`` and negativity against ``phi`` (ring, ``flux``: axis
    ``phi``), and, if ``flux_map`` is given (axes ``kappa``, ``phi``), both as maps over
    ``(phi, kappa)``.

    ``negativity`` (left panel, right axis): ``negativity_half`` (default), the negativity of the
    half|half cut (for L = 4 sites {1,2} against {3,4}); the negativity of the two-site reduced
    state, the paper's ``N(rho_12)`` (``negativity_pair``), is drawn beside it (dotted): at
    ``kappa = 0.1`` it vanishes to rounding. ``map_negativity`` (right panel): ``negativity_pair``
    (default), which shows the behaviour the paper describes for its map (zero at small ``kappa``,
    largest near ``kappa = 5``, decreasing for strong dissipation).
    """
    flux = _norm(flux)
    tech = _technique(flux)
    flux, L = _single_L(flux, "fig2 flux", prefer=4)
    if negativity not in flux:
        negativity = "negativity_pair"
    cur = _keep(_var(flux, "current_J", tech), ["phi"], "fig2")
    neg = _keep(_var(flux, negativity, tech), ["phi"], "fig2")
    ncols = 3 if flux_map is not None else 1
    plt = _pyplot()
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, ncols, figsize=(4.3 * ncols, 3.5), constrained_layout=True,
                                 squeeze=False)
        ax = axes[0, 0]
        h1 = _line(ax, cur, "phi", color=COLOURS[0], marker=".", label=LABELS["current_J"])
        ax.set_xlabel(LABELS["phi"])
        ax.set_ylabel(LABELS["current_J"], color=COLOURS[0])
        ax.axhline(0, color=GREY, lw=0.5)
        ax2 = ax.twinx()
        h2 = _line(ax2, neg, "phi", color=COLOURS[1], ls="--", marker=".",
                   label=LABELS[negativity])
        if negativity != "negativity_pair" and "negativity_pair" in flux:
            pair = _keep(_var(flux, "negativity_pair", tech), ["phi"], "fig2")
            h2 += _line(ax2, pair, "phi", color=COLOURS[2], ls=":", label=LABELS["negativity_pair"])
        ax2.set_ylabel(r"$\mathcal{N}$", color=COLOURS[1])
        ax.legend(handles=h1 + h2, loc="best")
        _pi_ticks(ax.xaxis, cur["phi"].values)
        ax.set_title(", ".join(filter(None, [f"$L = {L}$" if L else "",
                                             _fixed_text(flux, ["J0", "lam", "mu", "kappa"])])),
                     fontsize=9)
        if flux_map is not None:
            fm = _norm(flux_map)
            fm, Lm = _single_L(fm, "fig2 map", prefer=4)
            tm = _technique(fm)
            neg_map = map_negativity if map_negativity in fm else "negativity_pair"
            for ax, name, cmap, sym in ((axes[0, 1], "current_J", "RdBu_r", True),
                                        (axes[0, 2], neg_map, "viridis", False)):
                da = _keep(_var(fm, name, tm), ["phi", "kappa"], "fig2 map")
                _mesh(ax, da, "phi", "kappa", cmap, symmetric=sym, label=LABELS[name])
                ax.set_title(", ".join(filter(None, [f"$L = {Lm}$" if Lm else "",
                                                     _fixed_text(fm, ["J0", "lam", "mu"])])),
                             fontsize=9)
        return _save(fig, outdir, "fig2")


# ----------------------------------------------------------------------------- Fig. 3
def fig3(cmf_map: xr.Dataset, outdir="results/figures", branch: str = "stable") -> list[str]:
    """Fig. 3: mean-field maps over ``(alpha, delta)`` of ``<I_eta>/|alpha^2 - delta^2|``,
    ``<sigma^z>``, ``N`` and ``P`` of the cluster state. ``branch``: ``'stable'`` (default; the
    parity-broken region is outlined) or ``'symmetric'`` (the paper's closed-form solution)."""
    if branch not in ("stable", "symmetric"):
        raise ValueError(f"branch must be 'stable' or 'symmetric', got {branch!r}")
    ds = _norm(cmf_map)
    tech = "cmf" if "cmf" in _techniques(ds) else _technique(ds)
    suffix = "_symmetric" if branch == "symmetric" else ""
    keep = ["alpha", "delta"]

    def get(name):
        da = _var(ds, name + suffix, tech)
        if da is None and suffix:
            return None
        return _keep(da, keep, "fig3")

    cur = get("current_eta")
    a, d = cur["alpha"], cur["delta"]
    scale = np.abs(a ** 2 - d ** 2)
    norm = (cur / scale.where(scale > 1e-12)).transpose(*cur.dims)
    panels = [(norm, "current_eta_norm", "RdBu_r", True), (get("sz"), "sz", "RdBu_r", True),
              (get("negativity_pair"), "negativity_pair", "viridis", False),
              (get("purity_pair"), "purity_pair", "viridis", False)]
    broken = None
    if branch == "stable" and "broken_branch" in ds:
        broken = _keep(_var(ds, "broken_branch", tech), keep, "fig3")
    plt = _pyplot()
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(2, 2, figsize=(8.6, 7.0), constrained_layout=True)
        for ax, (da, name, cmap, sym) in zip(axes.flat, panels):
            if da is None:
                ax.set_axis_off()
                continue
            _mesh(ax, da, "alpha", "delta", cmap, symmetric=sym, label=LABELS[name])
            ax.set_aspect("equal", adjustable="box")
            if broken is not None and float(broken.max(skipna=True).fillna(0)) > 0 \
                    and broken.sizes["alpha"] > 1 and broken.sizes["delta"] > 1:
                b = broken.sortby("alpha").sortby("delta").transpose("delta", "alpha")
                ax.contour(b["alpha"].values, b["delta"].values, b.fillna(0).values,
                           levels=[0.5], colors="k", linewidths=0.8)
        fig.suptitle(", ".join(filter(None, [f"cluster mean field ({branch} solution)",
                                             _fixed_text(ds, ["mu", "J0", "lam", "kappa"])])),
                     fontsize=10)
        return _save(fig, outdir, "fig3")


# ----------------------------------------------------------------------------- Fig. 4
FIG4_QUANTITIES = ("current_eta", "sz", "negativity_pair", "purity_pair")


def fig4(theta: xr.Dataset, outdir="results/figures") -> list[str]:
    """Fig. 4: ED (solid) against the mean field (dashed) vs ``theta`` for each ``r`` (ring,
    axes ``r``, ``theta``): ``<I_eta>``, ``<sigma^z>``, ``N(rho_12)``, ``P(rho_12)``."""
    ds = _norm(theta)
    ds, L = _single_L(ds, "fig4", prefer=4)
    rs = [float(x) for x in ds["r"].values] if "r" in ds.dims else [None]
    techs = [t for t in ("ed", "cmf") if t in _techniques(ds)] or _techniques(ds)
    plt = _pyplot()
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(2, 2, figsize=(8.6, 6.4), constrained_layout=True, sharex=True)
        for ax, name in zip(axes.flat, FIG4_QUANTITIES):
            for tech in techs:
                da = _var(ds, name, tech)
                if da is None:
                    continue
                for i, r in enumerate(rs):
                    sub = da.sel(r=r) if r is not None else da
                    sub = _keep(sub, ["theta"], "fig4")
                    _line(ax, sub, "theta", color=COLOURS[i % len(COLOURS)],
                          ls=STYLES.get(tech, "-"), marker="." if tech == "ed" else None)
            ax.set_ylabel(LABELS[name])
            if name == "current_eta":
                ax.axhline(0, color=GREY, lw=0.5)
        for ax in axes[1]:
            ax.set_xlabel(LABELS["theta"])
            _pi_ticks(ax.xaxis, ds["theta"].values)
        from matplotlib.lines import Line2D
        handles = [Line2D([], [], color=COLOURS[i % len(COLOURS)], label=f"$r = {_fmt(r)}$")
                   for i, r in enumerate(rs) if r is not None]
        handles += [Line2D([], [], color="k", ls=STYLES.get(t, "-"), label=TECHNIQUE_NAMES.get(t, t))
                    for t in techs]
        axes[0, 0].legend(handles=handles, loc="best")
        fig.suptitle(", ".join(filter(None, [f"ring $L = {L}$" if L else "",
                                             r"$(\alpha, \delta) = r(\cos\theta, \sin\theta)$",
                                             _fixed_text(ds, ["mu", "kappa"])])), fontsize=10)
        return _save(fig, outdir, "fig4")


# ----------------------------------------------------------------------------- Fig. 5
def _text(ds: xr.Dataset | None, name: str) -> str:
    """A string from the attributes or a 0-d (string) variable of ``ds``; '' if neither."""
    if ds is None:
        return ""
    if name in ds.attrs:
        return str(ds.attrs[name])
    if name in ds and ds[name].ndim == 0:
        return str(ds[name].values.item())
    return ""


def _scalar(ds: xr.Dataset, name: str) -> float:
    if ds is None or name not in ds:
        return float("nan")
    return float(np.asarray(ds[name].values, dtype=float).ravel()[0])


def fig5(scaling: xr.Dataset | None, open_chain: xr.Dataset | None = None,
         outdir="results/figures") -> list[str]:
    """Fig. 5: ring current vs ``L`` with the even/odd fits and the extrapolation (``scaling``, the
    dataset of :func:`lindring.analysis.scaling.scaling_dataset`), and the open-chain current vs ``j/L``
    for each ``L`` (``open_chain``, gathered, bc open: MPO lines, ED markers)."""
    nrows = 2 if open_chain is not None else 1
    plt = _pyplot()
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, 1, figsize=(8.0, 3.4 * nrows), constrained_layout=True,
                                 squeeze=False)
        ax = axes[0, 0]
        if scaling is not None and "current_ring" in scaling:
            ring = scaling["current_ring"].dropna("L")
            Ls = ring["L"].values.astype(int)
            for parity, mask, marker, colour in (("even", Ls % 2 == 0, "o", COLOURS[0]),
                                                 ("odd", Ls % 2 == 1, "s", COLOURS[1])):
                ax.plot(Ls[mask], ring.values[mask], marker, color=colour, ls="none",
                        label=f"ED, {parity} $L$")
                fit = f"current_fit_{parity}"
                if fit in scaling:
                    f = scaling[fit]
                    xdim = f.dims[0]
                    x = f[xdim].values.astype(float)
                    shown = x <= 3 * max(Ls.max(), 1)      # the approach, not the whole tail
                    model = _text(scaling, f"fit_model_{parity}")
                    ax.plot(x[shown], f.values[shown], "-", color=colour, lw=0.9,
                            label=f"fit, {parity} $L$" + (f" ({model})" if model else ""))
            inf, err = _scalar(scaling, "current_inf"), _scalar(scaling, "current_inf_err")
            if np.isfinite(inf):
                ax.axhline(inf, color=COLOURS[2], lw=1.0,
                           label=rf"$L\to\infty$: {inf:.4f}" + (f" ± {err:.1g}" if np.isfinite(err) else ""))
                if np.isfinite(err) and err > 0:
                    ax.axhspan(inf - err, inf + err, color=COLOURS[2], alpha=0.15, lw=0)
            for name, ls, text in (("current_cmf", "--", "CMF"),
                                   ("current_cmf_symmetric", ":", "CMF, symmetric solution")):
                v = _scalar(scaling, name)
                if np.isfinite(v) and not (name.endswith("symmetric")
                                           and np.isclose(v, _scalar(scaling, "current_cmf"))):
                    ax.axhline(v, color=GREY, ls=ls, lw=1.0, label=f"{text}: {v:.4f}")
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
        else:
            ax.text(0.5, 0.5, "no scaling data", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel(LABELS["L"])
        ax.set_ylabel(LABELS["current_eta"] + r"$(L)$")
        params = _text(scaling, "ring_parameters") or (
            _fixed_text(scaling, ["alpha", "delta"]) if scaling is not None else "")
        ax.set_title("ring" + (f" ({params})" if params else ""), fontsize=9)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if open_chain is not None:
            _open_chain_panel(axes[1, 0], _norm(open_chain))
        return _save(fig, outdir, "fig5")


def _open_chain_panel(ax, ds: xr.Dataset) -> None:
    techs = [t for t in ("mpo", "ed") if t in _techniques(ds)] or _techniques(ds)
    Ls = [int(x) for x in ds["L"].values] if "L" in ds.dims else []
    for i, L in enumerate(Ls):
        colour = COLOURS[i % len(COLOURS)]
        for tech in techs:
            da = ds["current_eta"]
            if "technique" in da.dims:
                da = da.sel(technique=tech)
            da = _keep(da.sel(L=L), ["bond"], "fig5 open chain").dropna("bond")
            if da.size == 0:
                continue
            x = (da["bond"].values + 1) / L
            if tech == "ed" and "mpo" in techs:
                ax.plot(x, da.values, "o", mfc="none", color=colour, ms=5,
                        label=f"$L = {L}$ (ED)")
            else:
                ax.plot(x, da.values, "-", marker=".", color=colour,
                        label=f"$L = {L}$" + (f" ({TECHNIQUE_NAMES.get(tech, tech)})"
                                              if len(techs) > 1 else ""))
    ax.set_xlabel(LABELS["j/L"])
    ax.set_ylabel(LABELS["current_eta"])
    ax.set_xlim(0, 1)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    ax.set_title("open chain" + (", " + _fixed_text(ds, ["alpha", "delta"])
                                 if _fixed_text(ds, ["alpha", "delta"]) else ""), fontsize=9)


# ----------------------------------------------------------------------------- Fig. 6
def _perturbation_panel(ax, ds: xr.Dataset, eps: str) -> None:
    ds = _norm(ds)
    ds, L = _single_L(ds, f"fig6 {eps}", prefer=4)
    tech = _technique(ds, ("ed", "cmf"))
    cur = _var(ds, "current_eta", tech)
    if "r" in cur.dims:
        r = float(cur["r"].values[0])
        if cur.sizes["r"] > 1:
            warnings.warn(f"fig6 {eps}: plotting r = {r} only")
        cur = cur.sel(r=r)
    else:
        r = None
    values = [float(v) for v in cur[eps].values] if eps in cur.dims else [None]
    i = 0
    for v in values:
        sub = _keep(cur.sel({eps: v}) if v is not None else cur, ["theta"], f"fig6 {eps}")
        if v is not None and v == 0:
            _line(ax, sub, "theta", color=GREY, ls="--", label="unperturbed")
            continue
        eps_value = _fmt(v) if v is not None else ds.attrs.get(f"fixed_{eps}", "?")
        _line(ax, sub, "theta", color=COLOURS[i % len(COLOURS)], marker=".",
              label=rf"$\varepsilon = {eps_value}$")
        i += 1
    ax.axhline(0, color=GREY, lw=0.5)
    ax.set_ylabel(LABELS["current_eta"])
    term = r"$\varepsilon\sum_j\sigma^x_j$" if eps == "eps_x" else \
        r"$\varepsilon\sum_j\sigma^z_j\sigma^z_{j+1}$"
    ax.set_title(", ".join(filter(None, [term, f"ring $L = {L}$" if L else "",
                                         f"$r = {_fmt(r)}$" if r is not None else "",
                                         TECHNIQUE_NAMES.get(tech, tech or "")])), fontsize=9)
    ax.legend(loc="best")
    _pi_ticks(ax.xaxis, cur["theta"].values)


def fig6(eps_x: xr.Dataset | None = None, eps_zz: xr.Dataset | None = None,
         outdir="results/figures") -> list[str]:
    """Fig. 6: ``<I_eta>`` vs ``theta`` at fixed ``r`` with the perturbation ``eps_x`` (upper) and
    ``eps_zz`` (lower); the perturbation is a grid axis of the study; its value 0, if present, is
    the grey dashed unperturbed reference."""
    panels = [(ds, eps) for ds, eps in ((eps_x, "eps_x"), (eps_zz, "eps_zz")) if ds is not None]
    if not panels:
        raise ValueError("fig6 needs eps_x or eps_zz")
    plt = _pyplot()
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(len(panels), 1, figsize=(5.6, 3.3 * len(panels)),
                                 constrained_layout=True, squeeze=False)
        for ax, (ds, eps) in zip(axes[:, 0], panels):
            _perturbation_panel(ax, ds, eps)
        axes[-1, 0].set_xlabel(LABELS["theta"])
        return _save(fig, outdir, "fig6")


# ----------------------------------------------------------------------------- Fig. 7
def fig7(ground: xr.Dataset, outdir="results/figures") -> list[str]:
    """Fig. 7: ground-state current ``<I_J>`` and entropy ``S(rho_12)`` vs ``phi`` (closed ring);
    at a degenerate ground level the values of the equal-weight mixture are open markers."""
    ds = _norm(ground)
    ds, L = _single_L(ds, "fig7", prefer=4)
    tech = _technique(ds, ("ground",))
    plt = _pyplot()
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.2, 3.6), constrained_layout=True)
        for i, (name, ls) in enumerate((("current_J", "-"), ("entropy_pair", "--"))):
            da = _var(ds, name, tech)
            if da is None:
                continue
            da = _keep(da, ["phi"], "fig7")
            _line(ax, da, "phi", color=COLOURS[i], ls=ls, marker=".", label=LABELS[name])
            mixed = _var(ds, name + "_mixed", tech)
            if mixed is not None:
                mixed = _keep(mixed, ["phi"], "fig7").where(np.isnan(da))
                if int(mixed.notnull().sum()):
                    ax.plot(mixed["phi"].values, mixed.values, "o", mfc="none", color=COLOURS[i],
                            label=LABELS[name] + " (degenerate: mixture)")
        ax.axhline(0, color=GREY, lw=0.5)
        ax.set_xlabel(LABELS["phi"])
        _pi_ticks(ax.xaxis, ds["phi"].values)
        ax.legend(loc="best")
        ax.set_title(", ".join(filter(None, [f"closed ring $L = {L}$" if L else "",
                                             _fixed_text(ds, ["J0", "lam", "mu"])])), fontsize=9)
        return _save(fig, outdir, "fig7")


def disorder(disordered: xr.Dataset, clean: xr.Dataset, outdir="results/figures") -> list[str]:
    """The ring current of a disordered ring against the clean one, against ``L`` (the paper's
    robustness claim, beyond its uniform perturbations).

    Parameters
    ----------
    disordered : xarray.Dataset
        A gathered ring study over disorder realisations (a ``seed`` axis), ED.
    clean : xarray.Dataset
        A gathered ring study of the clean model at the same mean couplings, ED.
    outdir : str

    Returns
    -------
    list of str
        ``disorder.png`` and ``disorder.svg``.

    Notes
    -----
    Each ring's current is the mean over its bonds of ``I_eta + I_J``; the disordered points are
    the means over the realisations with their standard errors (error bars), each realisation a
    small dot (:func:`lindring.analysis.scaling.ring_current`).
    """
    from lindring.analysis.scaling import ring_current
    dis, ref = ring_current(_norm(disordered)), ring_current(_norm(clean))
    plt = _pyplot()
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.0, 3.6), constrained_layout=True)
        c = ref["current"].dropna("L")
        ax.plot(c["L"].values, c.values, "o-", color=GREY, label="clean ring (ED)")
        if "current_by_seed" in dis:
            by = dis["current_by_seed"]
            for i, L in enumerate(by["L"].values):
                v = by.sel(L=L).values
                v = v[np.isfinite(v)]
                ax.plot(np.full(v.size, L) + 0.12, v, ".", color=COLOURS[0], alpha=0.35,
                        ms=4, label="one realisation" if i == 0 else None)
        m = dis["current"].dropna("L")
        err = dis["current_sem"].sel(L=m["L"]).fillna(0).values
        n = dis["n_seeds"].sel(L=m["L"]).values
        ax.errorbar(m["L"].values, m.values, yerr=err, fmt="s-", color=COLOURS[0], capsize=3,
                    label="disordered ring, mean over "
                          + (f"{int(n.min())}" if n.min() == n.max() else f"{int(n.min())}-{int(n.max())}")
                          + " realisations ± standard error")
        w = disordered.attrs.get("fixed_w")
        params = _fixed_text(_norm(clean), ["alpha", "delta"])
        ax.set_title(f"ring current with disorder" + (f" (relative width w = {w})" if w else "")
                     + (f"; {params}" if params else ""), fontsize=9)
        ax.set_xlabel(LABELS["L"])
        ax.set_ylabel(LABELS["current_eta"] + r"$(L)$")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="best")
        return _save(fig, outdir, "disorder")


FIGURES = {"fig2": fig2, "fig3": fig3, "fig4": fig4, "fig5": fig5, "fig6": fig6, "fig7": fig7,
           "disorder": disorder}


def draw(figure: str, datasets: dict, outdir="results/figures",
         include_unchecked: bool = False) -> list[str]:
    """Draw ``figure`` from ``datasets`` keyed as in the config (:data:`FIGURE_INPUTS`).

    Points whose uniqueness was not decided (``kernel_dim == -1``) are left out unless
    ``include_unchecked`` (:func:`lindring.io.results.leave_out_unchecked`); how many is printed."""
    from lindring.io.results import leave_out_unchecked
    spec = FIGURE_INPUTS[figure]
    unknown = set(datasets) - set(spec)
    if unknown:
        raise ValueError(f"{figure}: unknown input(s) {sorted(unknown)}; known: {sorted(spec)}")
    kwargs = {}
    for key, ds in datasets.items():
        ds, n = leave_out_unchecked(ds, include_unchecked)
        if n:
            print(f"{figure}: {n} point(s) of {key} whose uniqueness was not checked are left out "
                  "(include_unchecked=True draws them)")
        kwargs[spec[key][0]] = ds
    return FIGURES[figure](outdir=outdir, **kwargs)


# ----------------------------------------------------------------------------- table
#: rows of the table of extrapolated currents: (variable, error variable, description)
CURRENT_ROWS = (
    ("current_inf", "current_inf_err", "ring, L -> infinity (ED, both parities)"),
    ("current_inf_even", "current_inf_even_err", "ring, L -> infinity from even L"),
    ("current_inf_odd", "current_inf_odd_err", "ring, L -> infinity from odd L"),
    ("current_ring_largest", None, "ring, largest L computed (ED)"),
    ("current_cmf", None, "cluster mean field (stable solution)"),
    ("current_cmf_symmetric", None, "cluster mean field (symmetric solution, Eq. 24 corrected)"),
    ("current_bulk_open_largest", None, "open chain, bulk current at the largest L"),
)


def currents_table(scalings: dict[str, xr.Dataset]) -> list[dict]:
    """Rows ``{scaling, quantity, value, error, note}`` of the extrapolated currents."""
    rows = []
    for name, ds in scalings.items():
        for var, err, text in CURRENT_ROWS:
            if var == "current_ring_largest" and "current_ring" in ds:
                ring = ds["current_ring"].dropna("L")
                if ring.size:
                    L = int(ring["L"].values.max())
                    rows.append(dict(scaling=name, quantity=var, value=float(ring.sel(L=L)),
                                     error=float("nan"), note=f"{text}: L = {L}"))
                continue
            if var not in ds:
                continue
            note = text
            for parity in ("even", "odd"):
                model = _text(ds, f"fit_model_{parity}")
                if var == f"current_inf_{parity}" and model:
                    formula = ds[var].attrs.get("fit_formula", "")
                    note += f"; model {model}" + (f": {formula}" if formula else "")
            if var == "current_bulk_open_largest" and "L_open" in ds.coords:
                tech = ds[var].attrs.get("technique", "")
                note += f": L = {int(np.max(ds['L_open'].values))}" + (f" ({tech})" if tech else "")
            value = _scalar(ds, var)
            if not np.isfinite(value) and not var.startswith("current_inf"):
                continue    # e.g. no mean field in the ring study: no row (a failed fit: NaN)
            rows.append(dict(scaling=name, quantity=var, value=value,
                             error=_scalar(ds, err) if err else float("nan"), note=note))
    return rows


def write_currents_table(scalings: dict[str, xr.Dataset], csv_path, html_path) -> list[dict]:
    """The table of :func:`currents_table` as CSV and as a small HTML page."""
    import csv
    import html
    rows = currents_table(scalings)
    cols = ("scaling", "quantity", "value", "error", "note")
    for path in (csv_path, html_path):
        os.makedirs(os.path.dirname(str(path)) or ".", exist_ok=True)
    with open(csv_path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({**r, "value": f"{r['value']:.10g}", "error": f"{r['error']:.3g}"})

    def cell(r, c):
        v = r[c]
        if c == "value":
            return f"{v:.6f}" if np.isfinite(v) else "NaN"
        if c == "error":
            return f"{v:.2g}" if np.isfinite(v) else ""
        return html.escape(str(v))

    body = "\n".join("<tr>" + "".join(f"<td>{cell(r, c)}</td>" for c in cols) + "</tr>"
                     for r in rows)
    page = ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Extrapolated currents"
            "</title><style>table{border-collapse:collapse;font-family:sans-serif;font-size:14px}"
            "td,th{border:1px solid #bbb;padding:3px 8px}td:nth-child(3),td:nth-child(4)"
            "{text-align:right;font-family:monospace}</style></head><body>\n"
            "<h3>Dissipative current &lt;I_eta&gt;: extrapolations and references</h3>\n<table>\n"
            "<tr>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr>\n" + body
            + "\n</table>\n</body></html>\n")
    with open(html_path, "w") as fh:
        fh.write(page)
    return rows


# ----------------------------------------------------------------------------- captions
def describe_study(name: str, st: dict, kind: str = "study") -> str:
    """One reStructuredText bullet stating a study's (or a cmf map's) parameters."""
    from lindring.workflow.studies import axis_values, format_value, sizes
    methods = ", ".join(TECHNIQUE_NAMES.get(m, m) for m in st.get("methods", ["cmf"]))
    bc = st.get("bc", "ring")
    L = sizes(st.get("L", 4), name)
    Ltext = f"L = {L[0]}" if len(L) == 1 else f"L = {', '.join(map(str, L))}"
    parts = [f"{methods}, {bc}, {Ltext}"]
    if st.get("preset"):
        parts.append(f"preset {st['preset']} (J0 = lam = kappa = 0, mu = 1, "
                     "gamma = conj(alpha), beta = conj(delta))")
    if st.get("range", 1) != 1:
        parts.append(f"range {st['range']}")
    fixed = st.get("fixed") or {}
    if fixed:
        parts.append("fixed " + ", ".join(f"{k} = {v}" for k, v in fixed.items()))
    axes = list((st.get("grid") or {}).items())
    if st.get("polar"):
        axes += [(k, st["polar"][k]) for k in ("r", "theta")]
    for k, spec in axes:
        vals = axis_values(spec, k)       # canonical values, complex where the axis is complex
        if len(vals) <= 6:
            parts.append(f"{k} = " + ", ".join(format_value(v) for v in vals))
        elif any(isinstance(v, complex) for v in vals):
            parts.append(f"{k}: {len(vals)} complex points")
        else:
            parts.append(f"{k}: {len(vals)} points in [{_fmt(min(vals))}, {_fmt(max(vals))}]")
    if st.get("mpo"):
        parts.append("MPO " + ", ".join(f"{k} = {v}" for k, v in st["mpo"].items()))
    text = f"- ``{name}`` ({kind}): " + "; ".join(parts)
    if st.get("description"):
        text += f". {st['description']}"
    return text

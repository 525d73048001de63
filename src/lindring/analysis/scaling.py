"""Finite-size scaling of the ring current (paper Fig. 5): extrapolation to L -> infinity.

The exact (ED) ring current alternates between even and odd ``L`` (MODEL.md, Fig. 5), so the two
parities are fitted as separate sequences, each extrapolated to ``L -> infinity``; the open-chain
bulk current (MPO, mean over the middle half of the bonds) and the mean-field (``cmf``) value are
put beside them.  Pure functions; the Snakemake script ``workflow/scripts/scaling.py`` writes
``results/<study>_scaling.nc`` with :func:`scaling_dataset` and :func:`write_scaling`.

Models of one sequence ``y(L)`` (``L_ref`` = the smallest ``L`` of the sequence, which keeps the
amplitude ``b`` of order ``y`` and the fit well conditioned):

* ``exp``     : ``y = a + b exp(-(L - L_ref) / xi)``,   ``xi`` in [0.05, 1000]  (3 parameters)
* ``power``   : ``y = a + b (L / L_ref)^(-p)``,         ``p``  in [0.05, 50]    (3 parameters)
* ``inverse`` : ``y = a + b L_ref / L``                                         (2 parameters)
* ``last``    : fallback for 2 points only, ``a = y(L_max)``, uncertainty ``|y(L_max) - y(L_prev)|``.

Each model is fitted by variable projection (``a``, ``b`` by linear least squares for a given
nonlinear parameter; the nonlinear parameter by a log-spaced scan then a bounded 1-d
minimisation), so there is no starting-value dependence and no crash on few points.

Model choice and uncertainty (see :func:`fit_sequence`): the *eligible* models are those with at
least one degree of freedom (``n > k``).  They are ranked by AIC, ``AIC = n ln(RSS/n) + 2k`` when the
noise is unknown (``sigma=None``, the ED case: residuals are model error) and ``chi^2 + 2k`` when
``sigma`` is given.  The chosen model is the one with the smallest criterion.  Its uncertainty on
``a`` combines

1. the statistical error of the chosen fit: ``sqrt(cov_aa)`` from the linearised covariance; with
   unknown noise the covariance is scaled by ``s^2 = RSS/dof`` and the error multiplied by the
   Student-t factor ``t_dof(0.8413)`` (1.84 for 1 dof, 1.32 for 2, 1.20 for 3) so that it is a
   68 % interval despite the noise estimated from few residuals; with known ``sigma`` it is scaled
   by ``sqrt(max(1, chi^2/dof))`` (the PDG scale factor);
2. the model uncertainty, by the Burnham-Anderson unconditional error with Akaike weights
   ``w_m ~ exp(-Delta_m / 2)`` centred on the chosen value:
   ``err = sum_m w_m sqrt(se_m^2 + (a_m - a_chosen)^2)`` (never less than the chosen model's own
   ``se``).  A model that fits nearly as well but extrapolates elsewhere thus widens the error in
   proportion to its weight; a model that fits much worse does not.  With a single eligible
   model (3 points: only ``inverse`` has a degree of freedom) there is nothing to weigh; the
   3-parameter models then interpolate the 3 points exactly, and the largest distance of their
   limits (where not at a parameter bound) from the chosen one is the model error; if none
   exists, the extrapolation distance ``|a - y(L_max)|`` is used instead;

3. the stability against the smallest size, the usual finite-size-scaling check: the chosen
   model is refitted without the smallest ``L`` (an exact interpolation if that leaves no degree
   of freedom), and ``|a - a_without_Lmin|`` is added in quadrature (skipped if that refit sits at
   a parameter bound).  For exact (ED) data, whose residuals are corrections the models lack, this
   is usually the largest honest part.

``a_inf_err^2 = stat^2 + model^2 + L_min^2`` (the three parts are kept in :class:`FitResult`).

Even and odd ``L`` (:func:`fit_alternating`): with unknown noise and at least 4 sizes per parity
the noise level is pooled over the two parities (``s^2 = sum RSS / sum dof``, then refitted as a
known noise with that many dof), since one degree of freedom per parity cannot estimate it
alone.  The combined limit is the inverse-variance weighted mean of the two, with an error that
covers both parity limits.

Checked on synthetic ``a + (b + c (-1)^L) exp(-L/xi)`` plus Gaussian noise (200 seeds, noise
1e-4 and 1e-3, ``L = 3..10`` and ``3..12``): ``|a_fit - a| < 3 err`` in 93-98 % of the fits with
the noise unknown, 99-100 % with ``sigma`` given.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from scipy import optimize, stats

from lindring.workflow.gather import SEED_AXIS
from lindring.workflow.studies import RESERVED_AXES

__all__ = ["MODELS", "Candidate", "FitResult", "fit_sequence", "fit_alternating", "bulk_bonds",
           "bulk_current", "scaling_dataset", "write_scaling"]

#: name -> (formula, parameter names, bounds of the nonlinear parameter or None)
MODELS = {
    "exp": ("a + b exp(-(L - L_ref)/xi)", ("a", "b", "xi"), (0.05, 1000.0)),
    "power": ("a + b (L/L_ref)^(-p)", ("a", "b", "p"), (0.05, 50.0)),
    "inverse": ("a + b L_ref/L", ("a", "b"), None),
}
LAST_FORMULA = "a = y(L_max); error |y(L_max) - y(L_prev)|"
CRITERION_TEXT = ("eligible models (>= 1 degree of freedom) ranked by AIC = n ln(RSS/n) + 2k for "
                  "unknown noise, chi^2 + 2k for given sigma; smallest wins")
UNCERTAINTY_TEXT = ("err^2 = stat^2 + model^2 + L_min^2; stat: linearised covariance of the chosen "
                    "fit, scaled by RSS/dof and the Student-t factor t_dof(0.8413) for unknown noise "
                    "(by sqrt(max(1, chi2/dof)) and t on the noise's dof for given or pooled noise); "
                    "model: Burnham-Anderson unconditional error with Akaike weights centred on the "
                    "chosen value, sum_m w_m sqrt(se_m^2 + (a_m - a)^2), or with a single eligible "
                    "model the spread to the exact 3-point interpolations (else |a - y(L_max)|); "
                    "L_min: change of a when the smallest L is left out of the chosen model's fit")
NOISE_TEXT = ("unknown noise pooled over the two parities (s^2 = sum RSS / sum dof) when each has "
              ">= 4 sizes, else estimated per parity from its residuals")
_T68 = 0.5 + 0.5 * math.erf(1 / math.sqrt(2))  # 0.8413: one-sided quantile of a 68.27 % interval


@dataclass(frozen=True)
class Candidate:
    """One fitted model of a sequence: its limit, error, criterion value and Akaike weight."""

    model: str
    a_inf: float
    a_inf_err: float          # statistical error only (see the module docstring)
    params: dict
    param_errs: dict
    rss: float                # sum of squared (weighted, if sigma) residuals
    dof: int
    criterion_value: float    # AIC; NaN where not eligible (dof < 1)
    weight: float             # Akaike weight among the eligible models (0 if not eligible)
    at_bound: bool            # the nonlinear parameter sits at its bound


@dataclass(frozen=True)
class FitResult:
    """The chosen extrapolation of one sequence ``y(L)`` to ``L -> infinity``.

    ``a_inf +- a_inf_err`` is the limit with its total uncertainty (``a_inf_err_stat`` and
    ``a_inf_err_model`` its parts, ``err^2 = stat^2 + model^2``); ``params``/``param_errs`` the
    parameters of the chosen ``model`` (formula in ``formula``, ``L_ref`` its reference size);
    ``chi2_red`` = RSS/dof (or chi^2/dof with ``sigma``), ``criterion`` 'AIC' or 'none'
    with ``criterion_value``; ``n`` points, ``dof`` degrees of freedom; ``candidates`` all models
    tried.  :meth:`curve` evaluates the fit.
    """

    model: str
    formula: str
    a_inf: float
    a_inf_err: float
    a_inf_err_stat: float
    a_inf_err_model: float
    a_inf_err_lmin: float
    params: dict
    param_errs: dict
    L_ref: float
    n: int
    dof: int
    chi2_red: float
    criterion: str
    criterion_value: float
    noise: str
    at_bound: bool
    candidates: tuple = field(default=())

    def curve(self, L) -> np.ndarray:
        """The fitted model at sizes ``L`` (the constant ``a_inf`` for model ``last``)."""
        L = np.asarray(L, dtype=float)
        if self.model == "last":
            return np.full(L.shape, self.a_inf)
        return _model_value(self.model, L, self.L_ref, self.params)

    def summary(self) -> str:
        ps = ", ".join(f"{k} = {v:.4g} +- {self.param_errs.get(k, float('nan')):.2g}"
                       for k, v in self.params.items())
        return (f"{self.model}: a_inf = {self.a_inf:.6g} +- {self.a_inf_err:.2g} "
                f"(stat {self.a_inf_err_stat:.2g}, model {self.a_inf_err_model:.2g}, "
                f"L_min {self.a_inf_err_lmin:.2g}); {ps}; "
                f"n = {self.n}, dof = {self.dof}, chi2_red = {self.chi2_red:.3g}")


# ----------------------------------------------------------------------------- fitting
def _basis(model: str, L: np.ndarray, L_ref: float, theta: float | None) -> np.ndarray:
    if model == "exp":
        return np.exp(-(L - L_ref) / theta)
    if model == "power":
        return (L / L_ref) ** (-theta)
    if model == "inverse":
        return L_ref / L
    raise ValueError(f"unknown model {model!r}")


def _dbasis(model: str, L: np.ndarray, L_ref: float, theta: float) -> np.ndarray:
    """Derivative of the basis with respect to the nonlinear parameter."""
    g = _basis(model, L, L_ref, theta)
    if model == "exp":
        return g * (L - L_ref) / theta ** 2
    return -g * np.log(L / L_ref)  # power


def _model_value(model: str, L, L_ref: float, params: dict) -> np.ndarray:
    theta = params.get("xi", params.get("p"))
    return params["a"] + params["b"] * _basis(model, np.asarray(L, float), L_ref, theta)


def _linear(g: np.ndarray, y: np.ndarray, w: np.ndarray):
    """Weighted least squares of ``y ~ a + b g`` for one basis ``g`` (shape ``(n,)``) or many
    (shape ``(m, n)``, vectorised); returns ``(a, b, RSS)`` (arrays for many)."""
    W = w * w
    S0 = W.sum()
    yb = (W * y).sum() / S0
    gb = (g * W).sum(axis=-1, keepdims=True) / S0
    dg = g - gb
    den = (W * dg * dg).sum(axis=-1)
    num = (W * dg * (y - yb)).sum(axis=-1)
    tiny = den <= 1e-300
    b = np.where(tiny, 0.0, num / np.where(tiny, 1.0, den))
    a = yb - b * gb[..., 0]
    r = y - a[..., None] - b[..., None] * g if np.ndim(g) > 1 else y - a - b * g
    return a, b, (W * r * r).sum(axis=-1)


def _fit_model(model: str, L: np.ndarray, y: np.ndarray, w: np.ndarray, L_ref: float):
    """Least-squares fit of one model; returns (params, cov_unscaled, rss, at_bound)."""
    names = MODELS[model][1]
    bounds = MODELS[model][2]
    if bounds is None:
        g = _basis(model, L, L_ref, None)
        a0, b0, rss = _linear(g, y, w)
        coef = (float(a0), float(b0))
        theta = None
        J = np.column_stack([np.ones_like(g), g])
        at_bound = False
    else:
        lo, hi = np.log(bounds[0]), np.log(bounds[1])

        def prof(s):
            return float(_linear(_basis(model, L, L_ref, math.exp(s)), y, w)[2])

        grid = np.linspace(lo, hi, 241)
        vals = _linear(_basis(model, L[None, :], L_ref, np.exp(grid)[:, None]), y, w)[2]
        i = int(np.nanargmin(vals))
        a_, b_ = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        s_best, f_best = grid[i], vals[i]
        if b_ > a_:
            res = optimize.minimize_scalar(prof, bounds=(a_, b_), method="bounded",
                                           options={"xatol": 1e-10})
            if res.success and res.fun <= f_best:
                s_best, f_best = float(res.x), float(res.fun)
        theta = math.exp(s_best)
        g = _basis(model, L, L_ref, theta)
        a0, b0, rss = _linear(g, y, w)
        coef = (float(a0), float(b0))
        J = np.column_stack([np.ones_like(g), g, coef[1] * _dbasis(model, L, L_ref, theta)])
        at_bound = bool(s_best - lo < 0.01 * (hi - lo) or hi - s_best < 0.01 * (hi - lo))
    Jw = J * w[:, None]
    with np.errstate(all="ignore"):
        try:
            cov = np.linalg.inv(Jw.T @ Jw)
            if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) < 0):
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            cov = np.full((len(names), len(names)), np.inf)
    vals = [float(coef[0]), float(coef[1])] + ([theta] if theta is not None else [])
    return dict(zip(names, vals)), cov, float(rss), at_bound


def fit_sequence(L, y, sigma=None, sigma_dof: int | None = None) -> FitResult:
    """Extrapolate one sequence ``y(L)`` to ``L -> infinity``; see the module docstring.

    Models: ``exp`` ``a + b exp(-(L - L_ref)/xi)`` (``0.05 <= xi <= 1000``), ``power``
    ``a + b (L/L_ref)^(-p)`` (``0.05 <= p <= 50``), ``inverse`` ``a + b L_ref/L``, and for exactly
    2 points ``last`` (``a = y(L_max)``, error ``|y(L_max) - y(L_prev)|``); ``L_ref = min(L)``.
    Selection: smallest AIC among the models with at least one degree of freedom. Not AICc: its
    small-sample penalty (24 for 3 parameters on 5 points) made a two-parameter ``a + b/L`` win on
    5 even sizes of the ring at delta = 1 with a limit 0.11 below the last, still decreasing, point
    (the data converge exponentially).  Uncertainty: statistical (covariance, scaled by RSS/dof and a
    Student-t factor when ``sigma`` is None) combined with the Akaike-weighted spread of the
    models' limits (Burnham-Anderson), as detailed in the module docstring.

    ``sigma``: optional absolute 1-sigma errors of ``y`` (scalar or per point); ``sigma_dof``:
    if ``sigma`` is itself estimated from residuals with that many degrees of freedom (as the
    pooled noise of :func:`fit_alternating`), the statistical error gets the Student-t factor
    ``t_{sigma_dof}(0.8413)``.  Non-finite
    ``y`` are dropped.  Raises ``ValueError`` for fewer than 2 finite points or repeated ``L``.
    """
    L = np.asarray(L, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if L.shape != y.shape:
        raise ValueError(f"L and y differ in length ({L.size} vs {y.size})")
    sig = None if sigma is None else np.broadcast_to(np.asarray(sigma, float), y.shape).copy()
    ok = np.isfinite(y) & np.isfinite(L)
    if sig is not None:
        ok &= np.isfinite(sig) & (sig > 0)
    L, y = L[ok], y[ok]
    sig = None if sig is None else sig[ok]
    order = np.argsort(L)
    L, y = L[order], y[order]
    sig = None if sig is None else sig[order]
    n = L.size
    if n < 2:
        raise ValueError(f"fit_sequence needs at least 2 finite points, got {n} (L = {L.tolist()})")
    if np.any(np.diff(L) == 0):
        raise ValueError(f"repeated L in the sequence: {L.tolist()}")
    if np.any(L <= 0):
        raise ValueError(f"L must be positive, got {L.tolist()}")
    L_ref = float(L[0])
    w = np.ones(n) if sig is None else 1.0 / sig
    noise = ("unknown (from the residuals)" if sig is None else
             "given" if not sigma_dof else f"estimated elsewhere with {sigma_dof} dof")

    if n == 2:
        a, err = float(y[-1]), float(abs(y[-1] - y[-2]))
        return FitResult("last", LAST_FORMULA, a, err, 0.0, err, 0.0, {"a": a}, {"a": err}, L_ref, n, 0,
                         float("nan"), "none", float("nan"), noise, False, ())

    scale = max(float(np.max(np.abs(y * w))), 1e-300)
    rss_floor = n * (1e-13 * scale) ** 2  # keeps ln(RSS) finite for exact fits
    fits = {}
    for m in MODELS:
        params, cov, rss, at_bound = _fit_model(m, L, y, w, L_ref)
        k = len(params)
        dof = n - k
        fits[m] = dict(params=params, cov=cov, rss=rss, at_bound=at_bound, k=k, dof=dof)
    eligible = [m for m in fits if fits[m]["dof"] >= 1]
    crit_name = "AIC"
    for m, f in fits.items():
        k, dof, rss = f["k"], f["dof"], max(f["rss"], rss_floor)
        if dof >= 1:
            if sig is None:
                s2 = rss / dof
                tfac = float(stats.t.ppf(_T68, dof))
            else:
                s2 = max(1.0, rss / dof)
                tfac = float(stats.t.ppf(_T68, sigma_dof)) if sigma_dof else 1.0
            errs = np.sqrt(np.diag(f["cov"]) * s2) * tfac
            base = n * math.log(rss / n) if sig is None else rss
            crit = base + 2 * k
        else:
            errs = np.full(k, np.nan)
            crit = float("nan")
        f["errs"] = {name: float(e) for name, e in zip(f["params"], errs)}
        f["crit"] = crit
        f["chi2_red"] = f["rss"] / dof if dof >= 1 else float("nan")
    # a model whose covariance is singular cannot carry an error: not eligible
    eligible = [m for m in eligible if np.isfinite(fits[m]["errs"]["a"])] or eligible
    crits = np.array([fits[m]["crit"] for m in eligible])
    dcrit = crits - np.min(crits)
    wts = np.exp(-0.5 * dcrit)
    wts /= wts.sum()
    weight = dict(zip(eligible, wts))
    best = eligible[int(np.argmin(crits))]
    fb = fits[best]
    a = fb["params"]["a"]
    se = fb["errs"]["a"]
    if len(eligible) > 1:
        err = sum(weight[m] * math.sqrt(fits[m]["errs"]["a"] ** 2 + (fits[m]["params"]["a"] - a) ** 2)
                  for m in eligible if np.isfinite(fits[m]["errs"]["a"]))
        err = max(err, se)
    else:
        others = [abs(fits[m]["params"]["a"] - a) for m in fits
                  if m not in eligible and not fits[m]["at_bound"]
                  and np.isfinite(fits[m]["params"]["a"])]
        model_err = max(others) if others else abs(a - float(y[-1]))
        err = math.sqrt(se ** 2 + model_err ** 2)
    model_err = math.sqrt(max(err ** 2 - se ** 2, 0.0))
    # stability against the smallest size: the chosen model without L_min (exact if dof becomes 0)
    lmin_err = 0.0
    if n - 1 >= fb["k"]:
        p2, _, _, bound2 = _fit_model(best, L[1:], y[1:], w[1:], float(L[1]))
        if not bound2 and np.isfinite(p2["a"]):
            lmin_err = abs(p2["a"] - a)
    err = math.sqrt(err ** 2 + lmin_err ** 2)
    cands = tuple(Candidate(m, f["params"]["a"], f["errs"]["a"], f["params"], f["errs"], f["rss"],
                            f["dof"], f["crit"] if m in weight else float("nan"),
                            float(weight.get(m, 0.0)), f["at_bound"]) for m, f in fits.items())
    return FitResult(best, MODELS[best][0], float(a), float(err), float(se), float(model_err),
                     float(lmin_err),
                     dict(fb["params"]), dict(fb["errs"]), L_ref, n, fb["dof"], float(fb["chi2_red"]),
                     crit_name, float(fb["crit"]), noise, fb["at_bound"], cands)


def fit_alternating(L, y, sigma=None, pool_noise: bool = True) -> dict:
    """Fit even and odd ``L`` separately (:func:`fit_sequence`) and combine the two limits.

    Returns ``{'even': FitResult, 'odd': FitResult, 'a_inf': float, 'a_inf_err': float,
    'noise': float | None}``.

    Noise: with ``sigma`` given it is used as is.  Without (``sigma=None``), with
    ``pool_noise`` and at least 4 sizes in each parity (so that the 3-parameter models are
    eligible in both and the two chosen fits are alike; a 3-point fit by ``inverse`` carries model
    error, not noise), the two parities are first fitted with the noise estimated from their own
    residuals, then refitted with the pooled estimate ``s^2 = sum RSS / sum dof`` of the two
    chosen fits as a known noise with ``sum dof`` degrees of freedom (Student-t factor on that
    many dof, and each fit's own ``chi^2/dof`` still scales its error up if larger).  One
    degree of freedom per parity (4 sizes, 3 parameters) is too few to estimate a noise level
    alone: a chance near-exact fit would give an error far too small; two are markedly safer.
    ``noise`` in the result is the pooled ``s`` (None if not pooled).

    Combination: both parities converge to the same thermodynamic limit; ``a_inf`` is their
    inverse-variance weighted mean and ``a_inf_err = max(weighted-mean error, largest distance
    of a parity limit from a_inf)``, so ``a_inf +- a_inf_err`` covers both parity limits.
    Raises ``ValueError`` if a parity has fewer than 2 finite points.
    """
    L = np.asarray(L, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if L.shape != y.shape:
        raise ValueError(f"L and y differ in length ({L.size} vs {y.size})")
    sig = None if sigma is None else np.broadcast_to(np.asarray(sigma, float), y.shape)
    if np.any(L != np.round(L)):
        raise ValueError(f"L must be integers, got {L.tolist()}")
    masks = {}
    for name, par in (("even", 0), ("odd", 1)):
        m = (np.round(L).astype(int) % 2 == par) & np.isfinite(y)
        if m.sum() < 2:
            raise ValueError(f"fewer than 2 finite points of {name} L (have L = "
                             f"{L[m].astype(int).tolist()}); cannot extrapolate the {name} sequence")
        masks[name] = m
    out = {name: fit_sequence(L[m], y[m], None if sig is None else sig[m])
           for name, m in masks.items()}
    pooled = None
    if sig is None and pool_noise and all(m.sum() >= 4 for m in masks.values()):
        fits = [out[k] for k in ("even", "odd") if out[k].dof >= 1]
        dof = sum(f.dof for f in fits)
        rss = sum(f.chi2_red * f.dof for f in fits)
        scale = float(np.max(np.abs(y[np.isfinite(y)])))
        if dof >= 1 and rss > (1e-12 * scale) ** 2 * dof:
            pooled = math.sqrt(rss / dof)
            out = {name: fit_sequence(L[m], y[m], pooled, sigma_dof=dof) for name, m in masks.items()}
    a = np.array([out["even"].a_inf, out["odd"].a_inf])
    e = np.array([out["even"].a_inf_err, out["odd"].a_inf_err])
    if np.all(e > 0):
        wt = 1.0 / e ** 2
        comb = float(np.sum(wt * a) / np.sum(wt))
        err_wm = float(1.0 / math.sqrt(np.sum(wt)))
    else:
        comb = float(a[e == 0].mean())
        err_wm = 0.0
    out["a_inf"] = comb
    out["a_inf_err"] = max(err_wm, float(np.max(np.abs(a - comb))))
    out["noise"] = pooled
    return out


# ----------------------------------------------------------------------------- open chain
BULK_RULE = ("mean over the bulk bonds: bond b joins sites b and b+1 and sits at b+1 from the "
             "left end of a chain of length L; bulk = bonds with L/4 <= b+1 <= 3L/4 (middle half, "
             "symmetric under b -> L-2-b)")


def bulk_bonds(L: int) -> np.ndarray:
    """Indices of the bulk bonds of an open chain of ``L`` sites (see :data:`BULK_RULE`)."""
    b = np.arange(L - 1)
    return b[(b + 1 >= L / 4) & (b + 1 <= 3 * L / 4)]


def _normalise(ds: xr.Dataset, what: str) -> tuple[xr.Dataset, dict]:
    """Rename an old ``method`` dim to ``technique``; squeeze grid axes of length 1 (their values
    are returned); ValueError for a non-trivial grid axis. The axis of disorder realisations
    (``seed``) is kept: the scaling averages over it."""
    if "method" in ds.dims and "technique" not in ds.dims:
        ds = ds.rename({"method": "technique"})
    if "technique" not in ds.dims or "L" not in ds.dims:
        raise ValueError(f"{what} dataset lacks the 'technique' or 'L' dimension (dims: {dict(ds.sizes)})")
    grid = {}
    for d in list(ds.dims):
        if d in RESERVED_AXES + (SEED_AXIS,):
            continue
        if ds.sizes[d] != 1:
            raise ValueError(f"{what} dataset has a non-trivial grid axis {d!r} of length "
                             f"{ds.sizes[d]}; finite-size scaling needs one parameter point "
                             f"(select it first)")
        if d in ds.coords:
            v = ds[d].values[0]
            grid[d] = v.item() if hasattr(v, "item") else v
        ds = ds.isel({d: 0}, drop=True)
    return ds, grid


#: the parts of the current per bond, I_eta + I_J (Eq. 14): the names the paper's methods write,
#: then those of the model files paper.yaml and disordered_ring.yaml (I_J optional)
CURRENT_PARTS = (("current_eta", "current_J"), ("I_eta", "I_J"))


def current_parts(ds: xr.Dataset, suffix: str = "") -> list[str]:
    """The variables of ``ds`` whose sum is the current per bond (:data:`CURRENT_PARTS`): the
    coherent part alone for a closed system (a ground-state study has ``current_J`` only);
    empty when it has none."""
    for eta, coherent in CURRENT_PARTS:
        if eta + suffix in ds:
            return [eta + suffix] + ([coherent + suffix] if coherent + suffix in ds else [])
    return [coherent + suffix for _, coherent in CURRENT_PARTS if coherent + suffix in ds][:1]


def _bond_current(ds: xr.Dataset, suffix: str = "") -> xr.DataArray:
    parts = current_parts(ds, suffix)
    if not parts:
        raise ValueError(f"no current in the dataset (looked for "
                         f"{', '.join(a + suffix for a, _ in CURRENT_PARTS)})")
    return sum(ds[n] for n in parts[1:]) + ds[parts[0]] if len(parts) > 1 else ds[parts[0]]


def ring_current(ring: xr.Dataset, include_unchecked: bool = False) -> xr.Dataset:
    """The ED ring current against ``L``, averaged over disorder realisations where the study
    has a ``seed`` axis.

    The current of one ring is the mean over its bonds of ``current_eta + current_J`` (or a
    model file's ``I_eta + I_J``, :data:`CURRENT_PARTS`). Points with a non-unique steady state
    (``kernel_dim > 1``), missing ones and, unless ``include_unchecked``, those whose uniqueness
    was not decided (``kernel_dim == -1``) are NaN and left out of the means.

    Parameters
    ----------
    ring : xarray.Dataset
        A gathered ring study at one parameter point (grid axes of length 1), technique ``ed``,
        with or without a ``seed`` axis.
    include_unchecked : bool

    Returns
    -------
    xarray.Dataset
        ``current`` (L): the ring current, or its mean over the realisations;
        ``current_sem`` (L): the standard error of that mean, ``std(ddof=1) / sqrt(n)``
        (NaN without seeds or with n < 2); ``n_seeds`` (L): realisations in the mean (1
        without seeds); ``current_by_seed`` (L, seed), only with seeds; ``bond_spread`` (L):
        the largest max - min over the bonds of one ring; attributes ``dropped_nonunique`` and
        ``dropped_unchecked`` (the points left out: sizes, ``"4, 6"``, or with seeds
        ``"L=4 seed=2"``).
    """
    ds, _ = _normalise(ring, "ring")
    techs = [str(t) for t in ds["technique"].values]
    if "ed" not in techs:
        raise ValueError(f"the ring dataset has no 'ed' technique (techniques: {techs}); the "
                         "finite-size scaling needs the exact ring currents")
    ed = ds.sel(technique="ed")
    bond = _bond_current(ed)
    cur = bond.mean("bond", skipna=True)
    spread = bond.max("bond", skipna=True) - bond.min("bond", skipna=True)
    dropped, unchecked = [], []
    if "kernel_dim" in ed:
        kd = ed["kernel_dim"]
        bad = kd > 1
        unchecked_mask = (kd == -1) & (not include_unchecked)
        cur = cur.where(~(bad | unchecked_mask))

        def where(mask):
            idx = np.argwhere(np.asarray(mask.transpose("L", ...).values))
            dims = mask.transpose("L", ...).dims
            if dims == ("L",):
                return [str(int(mask["L"].values[i])) for (i,) in idx]
            return [" ".join(f"{d}={mask[d].values[i].item():g}" for d, i in zip(dims, ix))
                    for ix in idx]

        dropped, unchecked = where(bad), where(unchecked_mask)
    out = xr.Dataset(coords={"L": ds["L"].values.astype(int)})
    if SEED_AXIS in cur.dims:
        n = cur.notnull().sum(SEED_AXIS)
        out["current"] = cur.mean(SEED_AXIS, skipna=True).where(n > 0)
        out["current_sem"] = (cur.std(SEED_AXIS, ddof=1, skipna=True) / np.sqrt(n)).where(n > 1)
        out["n_seeds"] = n.astype(int)
        out["current_by_seed"] = cur.transpose("L", SEED_AXIS)
        out["bond_spread"] = spread.max(SEED_AXIS, skipna=True)
    else:
        out["current"] = cur
        out["current_sem"] = cur * np.nan
        out["n_seeds"] = cur.notnull().astype(int)
        out["bond_spread"] = spread
    out.attrs.update(dropped_nonunique=", ".join(dropped) or "none",
                     dropped_unchecked=", ".join(unchecked) or "none")
    return out


def _bulk(ds: xr.Dataset, technique: str | None):
    if ds.attrs.get("bc", "open") != "open":
        raise ValueError(f"bulk_current needs an open chain, the dataset has bc = {ds.attrs['bc']!r}")
    ds, grid = _normalise(ds, "open-chain")
    techs = [str(t) for t in ds["technique"].values]
    if technique is None:
        technique = next((t for t in ("mpo", "ed") if t in techs), techs[0] if techs else None)
    if technique not in techs:
        raise ValueError(f"technique {technique!r} not in the open-chain dataset ({techs})")
    cur = _bond_current(ds.sel(technique=technique))
    Ls, means, spreads = [], [], []
    for L in ds["L"].values:
        prof = cur.sel(L=L).values
        sel = prof[bulk_bonds(int(L))]
        if sel.size == 0 or not np.all(np.isfinite(sel)):
            continue
        Ls.append(int(L))
        means.append(float(np.mean(sel)))
        spreads.append(float(0.5 * (np.max(sel) - np.min(sel))))
    return technique, grid, np.array(Ls, dtype=int), np.array(means), np.array(spreads)


def bulk_current(open_ds: xr.Dataset, technique: str | None = None) -> xr.DataArray:
    """Bulk current of open chains vs ``L``: mean of ``current_eta + current_J`` over the middle
    half of the bonds (bonds ``b`` with ``L/4 <= b+1 <= 3L/4``; bond ``b`` joins sites ``b``,
    ``b+1``) for one ``technique`` of a gathered open-chain dataset (default ``'mpo'`` if present,
    else ``'ed'``).  Sizes whose bulk bonds are not all finite (missing jobs) are left out.

    Returns a DataArray over ``L`` with attrs ``technique``, ``bulk_bonds``, ``long_name``,
    ``units`` and the grid point.  Grid axes must have length 1 (``ValueError`` otherwise).
    """
    technique, grid, Ls, means, _ = _bulk(open_ds, technique)
    return xr.DataArray(means, dims=("L",), coords={"L": Ls}, name="current_bulk",
                        attrs={"long_name": "bulk current of the open chain (middle half of the bonds)",
                               "units": "1", "technique": technique, "bulk_bonds": BULK_RULE,
                               **{f"grid_{k}": v for k, v in grid.items()}})


# ----------------------------------------------------------------------------- dataset
def _params_text(grid: dict, attrs: dict) -> str:
    parts = [f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in grid.items()]
    parts += [f"{k[6:]}={v}" for k, v in attrs.items() if k.startswith("fixed_")]
    parts.append(f"preset={attrs.get('preset', 'none')}")
    parts.append(f"range={attrs.get('range', 1)}")
    return ", ".join(parts)


def _fit_attrs(fr: FitResult) -> dict:
    attrs = {"fit_model": fr.model, "fit_formula": fr.formula, "L_ref": fr.L_ref,
             "n_points": fr.n, "dof": fr.dof, "chi2_red": fr.chi2_red,
             "criterion": fr.criterion, "criterion_value": fr.criterion_value,
             "err_stat": fr.a_inf_err_stat, "err_model": fr.a_inf_err_model,
             "err_lmin": fr.a_inf_err_lmin, "noise": fr.noise}
    for k, v in fr.params.items():
        attrs[f"param_{k}"] = v
        attrs[f"param_{k}_err"] = fr.param_errs.get(k, float("nan"))
    attrs["candidates"] = "; ".join(
        f"{c.model}: a={c.a_inf:.6g}+-{c.a_inf_err:.2g}, {fr.criterion}={c.criterion_value:.4g}, "
        f"weight={c.weight:.3g}, dof={c.dof}{', at bound' if c.at_bound else ''}"
        for c in fr.candidates) or "none"
    return attrs


def scaling_dataset(ring: xr.Dataset, open_chain: xr.Dataset | Sequence[xr.Dataset] | None = None,
                    n_fit: int = 400, include_unchecked: bool = False) -> xr.Dataset:
    """The finite-size-scaling dataset of a gathered ring study (see ``lindring.workflow.gather``).

    ``ring``: gathered ring dataset at one parameter point (grid axes of length 1 are squeezed
    away) with technique ``'ed'`` (required) and optionally ``'cmf'``; an old file with a
    ``method`` dimension is accepted.  ``open_chain``: gathered open-chain dataset(s) (MPO and/or
    ED), optional.  The ring current at ``L`` is the mean over the ``L`` bonds of
    ``current_eta + current_J``; sizes with a non-unique steady state (``kernel_dim > 1``),
    missing, or whose uniqueness was not decided (``kernel_dim == -1``, unless
    ``include_unchecked``) are dropped and listed in the attributes.  Even and odd ``L`` are fitted separately by :func:`fit_alternating`.

    Coordinates: ``L`` (ring sizes), ``L_fit`` (``geomspace(min L, 10 max L, n_fit)`` joined
    with the data sizes), ``model`` (``exp``, ``power``, ``inverse``), ``L_open`` (open chains).

    Variables: ``current_ring`` (L), ``current_ring_parity`` (L: 0 even, 1 odd),
    ``current_ring_bond_spread`` (L: max - min over the bonds, ~0), ``residual_ring`` (L, if
    present), ``current_inf_even``/``_err``, ``current_inf_odd``/``_err``, ``current_inf``/``_err``
    (combined; the fit details are attributes of ``current_inf_even``/``_odd``: ``fit_model``,
    ``fit_formula``, ``param_*``, ``err_stat``, ``err_model``, ``err_lmin``, ``candidates``, ...),
    ``fit_model_even``/``fit_model_odd`` (strings), ``current_fit_even``/``_odd``
    (L_fit, NaN below the parity's smallest L), ``current_inf_{even,odd}_by_model``/``_err`` and
    ``akaike_weight_{even,odd}`` (model), ``current_cmf`` (stable branch, intra-cluster bond),
    ``current_cmf_inter`` (inter-cluster bond), ``current_cmf_symmetric`` (symmetric branch,
    intra-cluster), ``cmf_broken_branch``, all NaN without cmf; with an open chain
    ``current_bulk_open`` and ``current_bulk_open_spread`` (L_open), ``current_bulk_open_largest``
    and ``L_open_largest`` (NaN without), and ``current_bulk_open_<technique>`` (L_open_<technique>)
    for further techniques.  ``ValueError`` for a non-trivial grid axis, no ``'ed'`` technique or
    fewer than 2 sizes of a parity.
    """
    if ring.attrs.get("bc", "ring") != "ring":
        raise ValueError(f"the ring dataset has bc = {ring.attrs['bc']!r}, not 'ring'")
    ds, grid = _normalise(ring, "ring")
    techs = [str(t) for t in ds["technique"].values]
    rc = ring_current(ring, include_unchecked)
    Ls = rc["L"].values.astype(int)
    cur = rc["current"].values.astype(float)
    spread = rc["bond_spread"].values.astype(float)
    disordered = "current_by_seed" in rc
    sem = rc["current_sem"].values.astype(float)
    # with disorder, the standard errors of the means are the noise of the fit (where every
    # size has one; a size with a single realisation leaves the noise to the fit)
    sigma = sem if disordered and np.all((sem > 0) | ~np.isfinite(cur)) else None
    fa = fit_alternating(Ls, cur, None if sigma is None else np.where(np.isfinite(sem), sem, 1.0))
    fe, fo = fa["even"], fa["odd"]

    Lmin = float(np.min(Ls[np.isfinite(cur)]))
    Lmax = float(np.max(Ls[np.isfinite(cur)]))
    L_fit = np.union1d(np.geomspace(Lmin, 10 * Lmax, n_fit), Ls.astype(float))  # incl. the data L
    Lmin_e = float(np.min(Ls[(Ls % 2 == 0) & np.isfinite(cur)]))
    Lmin_o = float(np.min(Ls[(Ls % 2 == 1) & np.isfinite(cur)]))
    fit_e = np.where(L_fit >= Lmin_e, fe.curve(L_fit), np.nan)
    fit_o = np.where(L_fit >= Lmin_o, fo.curve(L_fit), np.nan)

    u = {"units": "1"}
    out = xr.Dataset(coords={"L": ("L", Ls, {"long_name": "ring size (sites)", "units": "1"}),
                             "L_fit": ("L_fit", L_fit, {"long_name": "ring size of the fitted curves",
                                                        "units": "1"}),
                             "model": ("model", list(MODELS), {"long_name": "extrapolation model"})})
    out["current_ring"] = ("L", cur, {"long_name": "ED ring current, mean over bonds of "
                                      "current_eta + current_J" + (", mean over the disorder "
                                      "realisations (seed)" if disordered else ""),
                                      **u, "technique": "ed"})
    if disordered:
        out = out.assign_coords(seed=("seed", rc["seed"].values, {
            "long_name": "disorder realisation (seed of the model file's random fields)"}))
        out["current_ring_sem"] = ("L", sem, {
            "long_name": "standard error of current_ring over the disorder realisations: "
            "std (ddof = 1) / sqrt(n_seeds); the noise of the fits", **u})
        out["n_seeds"] = ("L", rc["n_seeds"].values.astype(np.int32), {
            "long_name": "disorder realisations in current_ring (unique steady states)",
            "units": "1"})
        out["current_ring_by_seed"] = (("L", "seed"), rc["current_by_seed"].values, {
            "long_name": "ED ring current of each disorder realisation, mean over bonds", **u})
    out["current_ring_bond_spread"] = ("L", spread.astype(float),
                                       {"long_name": "max - min over the bonds of the ED ring current "
                                        "(0 for a translation-invariant state)", **u})
    out["current_ring_parity"] = ("L", (Ls % 2).astype(np.int32),
                                  {"long_name": "parity of L (0 even, 1 odd)", "units": "1"})
    ed = ds.sel(technique="ed")
    if "residual" in ed:
        res = ed["residual"].max(SEED_AXIS) if SEED_AXIS in ed["residual"].dims else ed["residual"]
        out["residual_ring"] = ("L", res.values.astype(float),
                                {"long_name": "ED residual ||L(rho)||/||rho|| (largest over the "
                                 "disorder realisations)" if SEED_AXIS in ed.dims else
                                 "ED residual ||L(rho)||/||rho||", **u})
    for name, fr, fit in (("even", fe, fit_e), ("odd", fo, fit_o)):
        fa_attrs = _fit_attrs(fr)
        out[f"current_inf_{name}"] = ((), fr.a_inf, {"long_name": f"L -> infinity limit of the "
                                                     f"{name}-L ring current", **u, **fa_attrs})
        out[f"current_inf_{name}_err"] = ((), fr.a_inf_err, {
            "long_name": f"uncertainty (1 sigma, stat and model) of current_inf_{name}", **u})
        out[f"fit_model_{name}"] = ((), fr.model, {"long_name": f"extrapolation model of the {name} "
                                                   f"sequence: {fr.formula}"})
        out[f"current_fit_{name}"] = ("L_fit", fit, {"long_name": f"fitted {name}-L ring current "
                                                     f"({fr.model}: {fr.formula})", **u})
        byc = {c.model: c for c in fr.candidates}
        out[f"current_inf_{name}_by_model"] = ("model", [byc[m].a_inf if m in byc else np.nan
                                                         for m in MODELS],
                                               {"long_name": f"{name}-L limit of each model", **u})
        out[f"current_inf_{name}_by_model_err"] = ("model", [byc[m].a_inf_err if m in byc else np.nan
                                                             for m in MODELS],
                                                   {"long_name": f"statistical error of "
                                                    f"current_inf_{name}_by_model", **u})
        out[f"akaike_weight_{name}"] = ("model", [byc[m].weight if m in byc else 0.0 for m in MODELS],
                                        {"long_name": f"Akaike weight of each model, {name} L "
                                         "(0: not eligible)", "units": "1"})
    out["current_inf"] = ((), fa["a_inf"], {"long_name": "L -> infinity ring current, inverse-variance "
                                            "mean of the even and odd limits", **u})
    out["current_inf_err"] = ((), fa["a_inf_err"], {
        "long_name": "uncertainty of current_inf: max(weighted-mean error, distance to the farther "
        "parity limit)", **u})

    # mean field
    cmf = dict(current_cmf=np.nan, current_cmf_inter=np.nan, current_cmf_symmetric=np.nan,
               cmf_broken_branch=np.nan)
    cmf_note = "no cmf technique in the ring dataset"
    if "cmf" in techs:
        c = ds.sel(technique="cmf")
        stable = _bond_current(c)

        def one(da):
            v = da.values.astype(float)
            v = v[np.isfinite(v)]
            return float(np.median(v)) if v.size else np.nan, (float(np.ptp(v)) if v.size else np.nan)

        cmf["current_cmf"], ptp = one(stable.isel(bond=0))
        if c.sizes.get("bond", 0) > 1:
            cmf["current_cmf_inter"], _ = one(stable.isel(bond=1))
        if "current_eta_symmetric" in c:
            cmf["current_cmf_symmetric"], _ = one(_bond_current(c, "_symmetric").isel(bond=0))
        if "broken_branch" in c:
            cmf["cmf_broken_branch"], _ = one(c["broken_branch"])
        n_cmf = int(np.isfinite(stable.isel(bond=0).values).sum())
        cmf_note = f"cmf does not depend on L: median over the {n_cmf} L entries (spread {ptp:.2g})"
    out["current_cmf"] = ((), cmf["current_cmf"], {
        "long_name": "two-site cluster mean-field current, stable branch, intra-cluster bond "
        "(the paper's <I_eta>, Eq. 24 corrected)", **u, "note": cmf_note})
    out["current_cmf_inter"] = ((), cmf["current_cmf_inter"], {
        "long_name": "cluster mean-field current on the inter-cluster bond, stable branch", **u})
    out["current_cmf_symmetric"] = ((), cmf["current_cmf_symmetric"], {
        "long_name": "cluster mean-field current, parity-symmetric branch, intra-cluster bond", **u})
    out["cmf_broken_branch"] = ((), cmf["cmf_broken_branch"], {
        "long_name": "1 if the stable mean-field branch breaks parity, 0 if symmetric", "units": "1"})

    # open chain
    if open_chain is None:
        opens = []
    elif isinstance(open_chain, xr.Dataset):
        opens = [open_chain]
    else:
        opens = list(open_chain)
    bulk = {}
    open_params = set()
    for od in opens:
        odn, _ = _normalise(od, "open-chain")
        for t in [str(x) for x in odn["technique"].values]:
            tech, ogrid, oL, om, osp = _bulk(od, t)
            if oL.size and tech not in bulk:
                bulk[tech] = (oL, om, osp)
                open_params.add(_params_text(ogrid, od.attrs))
    primary = next((t for t in ("mpo", "ed") if t in bulk), next(iter(bulk), None))
    if primary is not None:
        oL, om, osp = bulk[primary]
        out = out.assign_coords(L_open=("L_open", oL, {"long_name": "open chain length (sites)",
                                                       "units": "1"}))
        out["current_bulk_open"] = ("L_open", om, {
            "long_name": f"bulk current of the open chain ({primary}), middle half of the bonds",
            **u, "technique": primary, "bulk_bonds": BULK_RULE})
        out["current_bulk_open_spread"] = ("L_open", osp, {
            "long_name": "half of max - min of the current over the bulk bonds", **u,
            "technique": primary})
        largest, L_largest = float(om[-1]), int(oL[-1])
        for t, (tL, tm, _) in bulk.items():
            if t == primary:
                continue
            out = out.assign_coords({f"L_open_{t}": (f"L_open_{t}", tL, {
                "long_name": f"open chain length ({t})", "units": "1"})})
            out[f"current_bulk_open_{t}"] = (f"L_open_{t}", tm, {
                "long_name": f"bulk current of the open chain ({t}), middle half of the bonds",
                **u, "technique": t, "bulk_bonds": BULK_RULE})
    else:
        largest, L_largest = float("nan"), -1
    out["current_bulk_open_largest"] = ((), largest, {
        "long_name": "bulk current of the largest open chain", **u,
        "technique": primary or "none", "L": L_largest})
    out["L_open_largest"] = ((), L_largest, {"long_name": "size of the largest open chain "
                                             "(-1: none)", "units": "1"})

    ring_params = _params_text(grid, ring.attrs)
    out.attrs.update({
        "title": "finite-size scaling of the ring current",
        "study": str(ring.attrs.get("study", "unknown")),
        "ring_parameters": ring_params,
        "open_chain_parameters": " | ".join(sorted(open_params)) or "none",
        "open_chain_same_parameters": ("none" if not open_params else
                                       "yes" if open_params == {ring_params} else "no"),
        "open_chain_technique": primary or "none",
        "fit_models": "; ".join(f"{m}: {f[0]}" for m, f in MODELS.items())
                      + f"; last (2 points only): {LAST_FORMULA}",
        "fit_criterion": CRITERION_TEXT,
        "fit_uncertainty": UNCERTAINTY_TEXT,
        "fit_noise": NOISE_TEXT + (f"; pooled s = {fa['noise']:.3g}" if fa["noise"] else
                                   "; not pooled"),
        "combined_limit": "inverse-variance weighted mean of the even and odd limits; error "
                          "max(weighted-mean error, distance to the farther parity limit)",
        "current_definition": "current_eta + current_J (Eq. 14), see MODEL.md",
        "bulk_bonds": BULK_RULE,
        "dropped_nonunique_L": rc.attrs["dropped_nonunique"],
        "dropped_unchecked_L": rc.attrs["dropped_unchecked"] if not include_unchecked
                               else "none (unchecked points included on request)",
        "disorder": ("mean over the disorder realisations (seed) of each ring's current; "
                     "fitted with the standard errors of the means as noise"
                     if disordered else "none"),
        "ring_git_commit": str(ring.attrs.get("git_commit", "unknown")),
    })
    try:
        from lindring.version import __version__
        out.attrs["lindring_version"] = __version__
    except ImportError:  # pragma: no cover
        pass
    return out


def write_scaling(ds: xr.Dataset, path) -> None:
    """Write the scaling dataset atomically (:func:`lindring.io.results.write_atomic`)."""
    from lindring.io.results import write_atomic
    write_atomic(ds, path)

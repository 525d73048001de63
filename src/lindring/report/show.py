"""``lindring show FILE.nc``: a readable summary of any file lindring writes.

* a point file (``lindring solve``, one job of the workflow): what was computed (method,
  boundary, L, solver, symmetry sector), the parameters, the observables condensed per bond and
  site (mean, and the spread where they differ), the verification figures against their
  thresholds, the uniqueness decision, provenance (versions, commit, time, memory, ranks);
* a gathered study (``results/<study>.nc``) or a mean-field map: the summary table of
  :mod:`lindring.report.quicklook`, the worst verification figures and the provenance;
* a finite-size scaling (``results/<name>_scaling.nc``): the current against L and its limits.

Every number is read from the file.
"""
from __future__ import annotations

import math
import os

import numpy as np
import xarray as xr

from lindring.core import model
from lindring.core.schema import describe
from lindring.report import quicklook as q

METHODS = {"ed": "exact steady state (ED, PETSc/SLEPc)", "cmf": "two-site cluster mean field",
           "mpo": "matrix-product steady state (TEBD + refinement)",
           "ground": "ground state of H (closed system)"}
#: point-file checks: (variable, threshold attribute, how the value must compare)
POINT_CHECKS = (("residual", "max_residual", "<= "), ("error_estimate", "max_error_estimate", "<= "),
                ("trace_error", "max_trace_error", "<= "),
                ("hermiticity_error", "max_hermiticity_error", "<= "),
                ("min_eigenvalue", "positivity_tol", ">= -"),
                ("relative_residual", "mpo_max_residual", "<= "),
                ("start_difference", "mpo_agreement", "<= "))
PROVENANCE = ("lindring_version", "git_commit", "physics_version", "petsc_version",
              "slepc_version", "mpi_library", "mpi_ranks", "wall_seconds",
              "peak_memory_mb_max_rank", "created")
SKIP_VARS = {v for v, _, _ in POINT_CHECKS} | {"kernel_dim", "gap", "slowest_rate",
                                                "gap_parity", "gap_momentum", "gap_reflection"}


def kind(ds: xr.Dataset) -> str:
    """``"point"``, ``"gathered"`` or ``"scaling"``."""
    if "current_inf" in ds:
        return "scaling"
    if "technique" in ds.dims or "method" in ds.dims or "points_expected" in ds.attrs:
        return "gathered"
    return "point"


def _param(attrs: dict, name: str):
    if f"{name}_re" in attrs:
        return complex(float(attrs[f"{name}_re"]), float(attrs.get(f"{name}_im", 0.0)))
    return attrs.get(name)


def model_file_parameters(attrs: dict) -> list[tuple[str, complex]]:
    """A model file's parameters and their values in a point file, in the file's order.

    The names are those of the ``parameters:`` of the model text the file keeps
    (``model_text``); the values its ``<name>_re``, ``<name>_im`` attributes. The paper's
    parameters, which the output schema gives every file (NaN where a model file does not set
    them), are not the model's unless it declares them.
    """
    import yaml
    try:
        names = list((yaml.safe_load(str(attrs.get("model_text", ""))) or {})["parameters"])
    except (yaml.YAMLError, KeyError, TypeError):
        names = []
    return [(n, complex(float(attrs[f"{n}_re"]), float(attrs.get(f"{n}_im", 0.0))))
            for n in names if f"{n}_re" in attrs]


def _num(v) -> str:
    if isinstance(v, complex):
        return q.fmt(v.real, 6) if v.imag == 0 else str(v).strip("()")
    return q.fmt(v, 6)


def _condensed(da: xr.DataArray) -> str:
    """One line for a per-bond / per-site variable: the values (up to 8) or mean and range."""
    vals = np.asarray(da.values)
    if vals.ndim == 0:
        return _num(complex(vals) if np.iscomplexobj(vals) else float(vals))
    vals = vals.ravel().astype(float)
    dim = da.dims[0]
    finite = vals[np.isfinite(vals)]
    if not finite.size:
        return f"NaN on every {dim}"
    spread = float(finite.max() - finite.min())
    scale = max(float(np.abs(finite).max()), 1e-300)
    if spread <= 1e-10 * scale:
        return f"{q.fmt(finite.mean(), 6)} on every {dim} ({vals.size} {dim}s)"
    text = f"mean {q.fmt(finite.mean(), 6)}, min {q.fmt(finite.min(), 6)}, max {q.fmt(finite.max(), 6)}"
    if vals.size <= 8:
        text += " [" + ", ".join(q.fmt(v, 5) for v in vals) + "]"
    return text + f" over {vals.size} {dim}s"


def point_text(ds: xr.Dataset, path: str = "") -> str:
    a = ds.attrs
    method = str(a.get("method", "?"))
    head = f"{path}: one point, {METHODS.get(method, method)}; {a.get('bc', '?')}, L = {a.get('L')}"
    if "model" not in a and int(a.get("range", 1)) != 1:     # a model file: a parameter
        head += f", dissipation range {a['range']}"
    lines = [head]
    how = [f"{k} {a[k]}" for k in ("solver", "operator_basis", "symmetry", "spectrum_sector",
                                   "branch", "chi")
           if k in a and str(a[k]) not in ("", "none")]
    if how:
        lines.append("  how: " + ", ".join(how))
    if str(a.get("options", "none")) != "none":
        lines.append(f"  options: {a['options']}")
    if str(a.get("petsc_options", "none")) != "none":
        lines.append(f"  PETSc options: {a['petsc_options']}")
    if "model" in a:              # a model file's point: its own parameters, nothing of the paper's
        values = ", ".join(f"{n} = {_num(v)}" for n, v in model_file_parameters(a))
        lines.append(f"  model: {a['model']} (file {a.get('model_file', '?')}, sha256 "
                     f"{str(a.get('model_sha256', '?'))[:12]}); set: "
                     f"{a.get('model_parameters_set', 'none')}")
        lines.append(f"  parameters: {values or 'none'}")
    else:
        params = [(n, _param(a, n)) for n in model.PHYSICAL_PARAMS]
        nonzero = [f"{n} = {_num(v)}" for n, v in params if v not in (None, 0, 0.0, 0j)]
        zero = [n for n, v in params if v in (0, 0.0, 0j)]
        preset = f"preset {a['preset']}; " if str(a.get("preset", "none")) != "none" else ""
        lines.append(f"  parameters: {preset}{', '.join(nonzero) or 'all 0'}"
                     + (f" (0: {', '.join(zero)})" if zero else ""))
    eta = None if "model" in a else _param(a, "eta")     # the paper's Eq. 7 only
    if eta is not None:
        lines.append(f"  eta = alpha conj(gamma) - delta conj(beta) = {_num(eta)}")
    unique = a.get("unique")
    if unique is not None:
        kd = int(ds["kernel_dim"]) if "kernel_dim" in ds else None
        text = {1: "unique", 0: "NOT unique (observables NaN)",
                -1: "not checked (--no-check-unique)"}.get(int(unique), str(unique))
        method = str(a.get("uniqueness_method", "none"))
        by = f" by {method}" if method not in ("", "none") else ""      # "none": not decided
        lines.append(f"  steady state: {text}{by}" + (f", kernel_dim {kd}" if kd is not None
                                                      else ""))
    if "degeneracy" in ds:
        lines.append(f"  ground-state degeneracy: {int(ds['degeneracy'])}")
    lines.append("  observables:")
    for name, da in ds.data_vars.items():
        if name in SKIP_VARS or da.dtype.kind not in "fc" or name.startswith("probe"):
            continue
        try:
            var, variant = describe(name)
            long = var.long_name + (f" ({variant})" if variant else "")
        except (KeyError, ValueError):
            long = da.attrs.get("long_name", "")
        lines.append(f"    {name:<24} {_condensed(da)}" + (f"   ({long})" if long else ""))
    checks = []
    for var, thr, rel in POINT_CHECKS:
        if var in ds:
            v = float(ds[var])
            t = a.get(thr)
            checks.append(f"{var} {q.fmt(v, 3)}" + (f" (limit {rel}{t})" if t is not None
                                                    else ""))
    if "liouvillian_scale" in a:
        checks.append(f"scale of L {q.fmt(a['liouvillian_scale'], 4)}")
    for var in ("gap", "slowest_rate"):
        if var in ds and math.isfinite(float(ds[var])):
            where = (f" ({a['gap_sectors']} sectors: {a['gap_sector']})"
                     if var == "gap" and str(a.get("gap_sector", "none")) != "none" else "")
            checks.append(f"{var} {q.fmt(float(ds[var]), 4)}{where}")
        elif var == "gap" and a.get("gap_complete") == 0:
            checks.append(f"gap not known: {a.get('gap_failures', '')}")
        elif var in a and str(a[var]) not in ("nan", "none"):
            try:
                checks.append(f"{var} {q.fmt(float(a[var]), 4)}")
            except ValueError:
                checks.append(f"{var} {a[var]}")
    if checks:
        lines.append("  verification: " + "; ".join(checks))
    prov = [f"{k} {q.fmt(a[k], 3) if k in ('wall_seconds', 'peak_memory_mb_max_rank') else a[k]}"
            for k in PROVENANCE if k in a]
    if prov:
        lines.append("  provenance: " + "; ".join(prov))
    return "\n".join(lines) + "\n"


def gathered_text(ds: xr.Dataset, path: str = "") -> str:
    name = str(ds.attrs.get("study", os.path.basename(path).removesuffix(".nc")))
    lines = [f"{path}: gathered study {name}"]
    lines += q.study_lines(name, ds)
    ver = q.verification_lines(ds)
    if ver:
        lines.append("  verification (worst over the points):")
        lines += ["  " + v for v in ver]
    prov = [f"{k} {ds.attrs[k]}" for k in q.PROVENANCE_KEYS if k in ds.attrs]
    if prov:
        lines.append("  provenance: " + "; ".join(prov))
    lines.append("  (open with lindring.workflow.gather.open_gathered(path) or "
                 "xarray.open_dataset(path, auto_complex=True))")
    return "\n".join(lines) + "\n"


def scaling_text(ds: xr.Dataset, path: str = "") -> str:
    lines = [f"{path}: finite-size scaling of study {ds.attrs.get('study', '?')} "
             f"({ds.attrs.get('ring_parameters', '')})"]
    if "current_ring" in ds:
        lines.append("  ring current (ED): " + ", ".join(
            f"L={int(L)}: {q.fmt(v)}" for L, v in zip(ds["L"].values, ds["current_ring"].values)))
    lines += q.scaling_lines(ds)
    for k in ("dropped_nonunique_L", "dropped_unchecked_L"):
        if str(ds.attrs.get(k, "none")) != "none":
            lines.append(f"  {k}: {ds.attrs[k]}")
    lines.append(f"  uncertainty: {ds.attrs.get('fit_uncertainty', '')}")
    return "\n".join(lines) + "\n"


def show_text(path) -> str:
    """The summary of a lindring NetCDF file (see the module docstring).

    Raises
    ------
    OSError
        The file cannot be read as NetCDF.
    """
    path = str(path)
    try:
        ds = xr.open_dataset(path, auto_complex=True)
    except TypeError:       # older xarray without auto_complex
        ds = xr.open_dataset(path)
    with ds:
        ds = ds.load()
    k = kind(ds)
    if k == "scaling":
        return scaling_text(ds, path)
    if k == "gathered":
        return gathered_text(ds, path)
    return point_text(ds, path)

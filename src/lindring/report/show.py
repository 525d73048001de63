"""``lindring show FILE.nc``: a readable summary of any file lindring writes.

* a point file (``lindring solve``, one job of the workflow): what was computed (method,
  boundary, L, solver, symmetry sector), the parameters, the observables condensed per bond and
  site (mean, and the spread where they differ), the verification figures against their
  thresholds, the uniqueness decision, provenance (versions, commit, time, memory, ranks);
* a gathered study (``results/<study>.nc``) or a mean-field map: the summary table of
  :mod:`lindring.report.quicklook`, the worst verification figures and the provenance;
* a finite-size scaling (``results/<name>_scaling.nc``): the current against L and its limits.

Every number is read from the file. A point file's attributes that the summary does not place
in its lines (and that are not at their fill value: :data:`lindring.core.schema.ATTRIBUTES`) are
listed under ``details``, so that nothing the solve wrote is left out (:func:`details_lines`).
"""
from __future__ import annotations

import math
import os

import numpy as np
import xarray as xr

from lindring.core import model
from lindring.core.schema import CHECKS, describe
from lindring.report import quicklook as q

METHODS = {"ed": "exact steady state (ED, PETSc/SLEPc)", "cmf": "two-site cluster mean field",
           "mpo": "matrix-product steady state (TEBD + refinement)",
           "ground": "ground state of H (closed system)"}
#: point-file checks (lindring.core.schema.CHECKS): (variable, {method: threshold attribute},
#: how the value must compare)
POINT_CHECKS = tuple((var, by_method, "<= " if how == "max" else ">= -")
                     for var, how, by_method in CHECKS)
PROVENANCE = ("lindring_version", "git_commit", "physics_version", "petsc_version",
              "slepc_version", "mpi_library", "mpi_ranks", "wall_seconds",
              "peak_memory_mb_max_rank", "created")
SKIP_VARS = {v for v, _, _ in POINT_CHECKS} | {"kernel_dim", "gap", "slowest_rate",
                                                "gap_parity", "gap_momentum", "gap_reflection"}


class _Read(dict):
    """A file's attributes that remember which were read (:func:`details_lines` lists the
    others)."""

    def __init__(self, attrs):
        super().__init__(attrs)
        self.read = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


def _at_fill(name: str, value) -> bool:
    """Whether an attribute holds its schema fill value (not set by this outcome), or nothing."""
    from lindring.core.schema import ATTRIBUTES
    text = str(value)
    if text in ("", "none"):
        return True
    if name not in ATTRIBUTES:
        return False
    fill = ATTRIBUTES[name].fill
    try:
        v = float(value)
    except (TypeError, ValueError):
        return text == str(fill)
    if isinstance(fill, str):
        return False
    return (math.isnan(v) and math.isnan(float(fill))) or v == fill


def _value(v) -> str:
    if isinstance(v, (float, np.floating)):
        return q.fmt(v, 4)
    return str(v)


def details_lines(attrs: _Read, width: int = 100) -> list[str]:
    """The attributes not read by the summary and not at their fill value, ``name value``
    joined by ``; `` in lines of about ``width`` characters, under ``details:``."""
    import textwrap
    rest = [f"{k} {_value(v)}" for k, v in attrs.items()
            if k not in attrs.read and not _at_fill(k, v)]
    if not rest:
        return []
    return textwrap.wrap("; ".join(rest), width=width, initial_indent="  details: ",
                         subsequent_indent="    ", break_long_words=False,
                         break_on_hyphens=False)


#: the attributes :func:`uniqueness_text` places (besides ``unique``)
UNIQUENESS_ATTRS = ("uniqueness_method", "kernel_by_sector", "spectrum_sector")


def uniqueness_text(ds: xr.Dataset) -> str:
    """The uniqueness decision of an ED or MPO point in words: unique, not unique (in the
    solved sector: observables NaN; only in the full space: the solved sector's steady state
    written), or not checked, with ``kernel_dim``, the sectors holding kernel vectors and what
    the decision covered (``spectrum_sector``)."""
    a = ds.attrs
    unique = int(a.get("unique", -1))
    kd = int(ds["kernel_dim"]) if "kernel_dim" in ds else None
    method = str(a.get("uniqueness_method", "none"))
    if str(a.get("method")) == "mpo":          # its uniqueness_checked says how, in words
        method = str(a.get("uniqueness_checked", "none"))
    by = f" by {method}" if method not in ("", "none", "-1") else ""      # "none": not decided
    kd_text = f", kernel_dim {kd}" if kd is not None else ""
    sectors = str(a.get("kernel_by_sector", "none"))
    where = f" (kernel vectors in: {sectors})" if sectors != "none" else ""
    scope = str(a.get("spectrum_sector", "none"))
    if unique == 1:
        over = ("; decided over every sector" if scope.startswith("the full operator space")
                else f"; decided in {scope}" if scope not in ("", "none") else "")
        return f"unique{by}{kd_text}{over}"
    if unique == 0:
        written = "residual" in ds and np.isfinite(float(ds["residual"]))
        if written:
            return (f"NOT unique in the full operator space{kd_text}{where}: the observables "
                    "are those of the solved sector's steady state (the one every initial "
                    "state with its symmetries relaxes to)")
        return f"NOT unique (observables NaN){by}{kd_text}{where}"
    return f"not checked (--no-check-unique){kd_text}"


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
    nan = vals.size - finite.size      # e.g. a correlation's distances beyond an open chain
    if spread <= 1e-10 * scale and not nan:
        return f"{q.fmt(finite.mean(), 6)} on every {dim} ({vals.size} {dim}s)"
    listed = " [" + ", ".join(q.fmt(v, 5) for v in vals) + "]" if vals.size <= 8 else ""
    if spread <= 1e-10 * scale:
        return (f"{q.fmt(finite.mean(), 6)} on {finite.size} of {vals.size} {dim}s, "
                f"NaN on {nan}{listed}")
    text = f"mean {q.fmt(finite.mean(), 6)}, min {q.fmt(finite.min(), 6)}, max {q.fmt(finite.max(), 6)}"
    return text + listed + f" over {vals.size} {dim}s" + (f" (NaN on {nan})" if nan else "")


def point_text(ds: xr.Dataset, path: str = "") -> str:
    a = _Read(ds.attrs)
    method = str(a.get("method", "?"))
    head = f"{path}: one point, {METHODS.get(method, method)}; {a.get('bc', '?')}, L = {a.get('L')}"
    if a.get("format") == "lindring-steady-state":      # io/state.py: not a result file
        head = (f"{path}: a saved steady state (lindring solve --save-state; the start of "
                f"--initial-guess), not a result file; {a.get('bc', '?')}, L = {a.get('L')}")
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
        none = "all 0" if any(v is not None for _, v in params) else "not recorded in the file"
        lines.append(f"  parameters: {preset}{', '.join(nonzero) or none}"
                     + (f" (0: {', '.join(zero)})" if zero else ""))
    eta = None if "model" in a else _param(a, "eta")     # the paper's Eq. 7 only
    if eta is not None:
        lines.append(f"  eta = alpha conj(gamma) - delta conj(beta) = {_num(eta)}")
    if a.get("unique") is not None:
        for k in UNIQUENESS_ATTRS + (("uniqueness_checked",) if method == "mpo" else ()):
            a.get(k)                              # placed by uniqueness_text
        lines.append(f"  steady state: {uniqueness_text(ds)}")
    warm = []
    if not _at_fill("initial_guess", a.get("initial_guess", "none")):
        res = a.get("initial_guess_residual", np.nan)
        warm.append(f"started from {a['initial_guess']}"
                    + (f" (residual {q.fmt(res, 3)})" if math.isfinite(float(res)) else ""))
    if str(a.get("initial_guess_note", "")):
        warm.append(f"initial guess not used: {a['initial_guess_note']}")
    if not _at_fill("saved_state", a.get("saved_state", "none")):
        warm.append(f"saved to {a['saved_state']}")
    if warm:
        lines.append("  warm start: " + "; ".join(warm))
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
    for var, by_method, rel in POINT_CHECKS:
        if var in ds:
            v = float(ds[var])
            thr = by_method.get(str(a.get("method")))
            t = a.get(thr) if thr else None
            checks.append(f"{var} {q.fmt(v, 3)}" + (f" (limit {rel}{t})" if t is not None
                                                    else ""))
    if "liouvillian_scale" in a:
        checks.append(f"scale of L {q.fmt(a['liouvillian_scale'], 4)}")
    for var in ("gap", "slowest_rate"):
        if var in ds and math.isfinite(float(ds[var])):
            where = (f" ({a['gap_sectors']} sectors: {a['gap_sector']}"
                     + (f"; kernel over them {a['gap_kernel_dim']}"
                        if int(a.get("gap_kernel_dim", -1)) >= 0 else "") + ")"
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
    lines += details_lines(a)
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
        The file cannot be read (missing, a folder, a damaged NetCDF file).
    ValueError
        Not a NetCDF file, or a NetCDF file that lindring did not write.
    """
    path = str(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a folder, not a NetCDF file")
    from lindring.io.results import open_result
    try:
        ds = open_result(path)
    except ValueError as err:   # xarray: no backend recognises the file (its long advice)
        if "IO backends" not in str(err):
            raise
        raise ValueError("not a NetCDF file (neither NetCDF-4/HDF5 nor classic NetCDF)") from None
    with ds:
        ds = ds.load()
    k = kind(ds)
    if k == "point" and "method" not in ds.attrs:
        raise ValueError("not a lindring file: a NetCDF file without the attribute 'method' "
                         "(a point file), a gathered study's or a scaling's variables")
    if k == "scaling":
        return scaling_text(ds, path)
    if k == "gathered":
        return gathered_text(ds, path)
    return point_text(ds, path)

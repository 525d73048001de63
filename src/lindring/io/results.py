"""The one output schema: a self-describing NetCDF file per job, written atomically.

Dimensions: ``bond`` (the nearest-neighbour bonds of the lattice, or for ``cmf`` the two bonds
of the unit cell, intra-cluster first), ``site``, and with range-2 dissipation ``pair`` (the
dissipative pairs (b, b+2)). Every parameter is an attribute (complex ones as ``<name>_re``
and ``<name>_im``), with the method, solver, tolerances, MPI ranks, wall time, peak memory, lindring
version and git commit. Variables carry CF-style ``long_name`` and ``units``.
"""
from __future__ import annotations

import datetime
import functools
import os
import subprocess
from pathlib import Path

import numpy as np
import xarray as xr

from lindring.version import __version__

from lindring.core import model
from lindring.core.schema import complete_attributes, describe, missing_variables

#: bumped when an observable's definition changes, or a fix changes what earlier files say; 2:
#: current_eta on nearest-neighbour bonds for range 2 (issue 10); 3: model-file currents with
#: complex amplitudes (alpha^2 - delta^2, not |alpha|^2 - |delta|^2), uniqueness over every sector
#: at L <= 5 (unique = 0 where only other sectors hold zero modes), the MPO's uniqueness decision
#: and a gap that a Krylov search took for a zero mode (2026-12-01); 4: a model file's complex
#: correlation beyond an open chain NaN in its imaginary part too (it wrote 0 beside a NaN real
#: part; 2026-12-01, session 9). Written to every file; the
#: workflow reruns, and the gather refuses, others.
PHYSICS_VERSION = 4

@functools.lru_cache(maxsize=None)
def git_commit() -> str:
    """The commit of lindring's source tree (``-dirty`` with uncommitted changes), or
    ``unknown``. Read once per process: the code a process runs is the code it imported, and the
    two ``git`` calls cost ~5 ms, a fifth of a whole L = 4 solve."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        if out.returncode == 0:
            dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=5).stdout.strip()
            return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def parameter_attrs(p: model.Params) -> dict:
    """Every parameter as NetCDF attributes (complex as real/imag pairs); a model-file point
    writes its own (``ModelPoint.as_attrs``: the model's name, file, sha256 and parameters)."""
    if hasattr(p, "as_attrs"):
        return p.as_attrs()
    attrs = dict(L=p.L, bc=p.bc, range=p.range, preset=p.preset or "none")
    for name in model.PHYSICAL_PARAMS:
        v = getattr(p, name)
        if name in model.COMPLEX_PARAMS:
            attrs[f"{name}_re"] = float(np.real(v))
            attrs[f"{name}_im"] = float(np.imag(v))
        else:
            attrs[name] = float(v)
    attrs["eta_re"], attrs["eta_im"] = float(np.real(p.eta)), float(np.imag(p.eta))
    return attrs


def _clean_attr(v):
    if v is None:
        return "none"
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (complex, np.complexfloating)):
        return str(v)
    return v


def _coordinates(method: str) -> dict[str, tuple[int, str]]:
    """Each dimension's coordinate: its first value and its long name."""
    return dict(bond=(0, "bond index b (sites b, b+1)" if method != "cmf"
                      else "unit-cell bond: 0 intra-cluster, 1 inter-cluster"),
                pair=(0, "dissipative pair index b (sites b, b+range)"),
                distance=(1, "distance d between the sites of a correlation (sites i, i + d)"),
                site=(0, "site index j (0-based)"))


def build_dataset(p: model.Params, method: str, data_vars: dict, attrs: dict) -> xr.Dataset:
    """Dataset of one job: variables with dims ``bond``/``site``, parameters and provenance.

    Every variable and attribute the output schema declares for ``method``
    (:mod:`lindring.core.schema`) is there, whatever the outcome: those the outcome did not
    compute take the schema's fill value (NaN, -1, ``"none"``).

    Raises
    ------
    KeyError
        An attribute the schema does not declare for ``method``.
    """
    variables = {k: (dims, np.asarray(v)) for k, (dims, v) in data_vars.items()}
    sizes = {d: n for dims, v in variables.values() for d, n in zip(dims, v.shape)}
    if not hasattr(p, "as_attrs"):     # the paper's model (a model file declares its own)
        variables.update(missing_variables(method, p.range, variables, sizes))
    coords = {dim: (dim, start + np.arange(sizes[dim]), dict(long_name=name, units="1"))
              for dim, (start, name) in _coordinates(method).items() if dim in sizes}
    described = p.output_variables() if hasattr(p, "output_variables") else None
    for name, (dims, v) in variables.items():     # long names and units: the output schema
        var, variant = describe(name, described)
        variables[name] = (dims, v, dict(long_name=var.long_name
                                         + (f" ({variant})" if variant else ""), units=var.units))
    ds = xr.Dataset(variables, coords=coords)     # built once (each assign copies: 1 ms a point)
    ds.attrs.update(parameter_attrs(p))
    ds.attrs.update({k: _clean_attr(v) for k, v in attrs.items()})
    ds.attrs.update(method=method, physics_version=PHYSICS_VERSION,
                    lindring_version=__version__, git_commit=git_commit(),
                    created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    Conventions="CF-1.8")
    model_names = set(parameter_attrs(p)) if hasattr(p, "as_attrs") else ()   # a model file
    ds.attrs = complete_attributes(method, ds.attrs, model_names)
    return ds


def open_result(path: str | os.PathLike) -> xr.Dataset:
    """Open (lazily) a file lindring wrote, with its complex values as complex numbers.

    Complex coordinates of a gathered study are written with ``auto_complex`` (a compound type
    of two doubles). Opening every file with ``auto_complex=True`` is not possible: netCDF4 then
    also takes a dimension of length 2 named ``r``, ``ri`` or ``complex`` for the two parts of
    a complex number and fails ("dimension 'r' already exists as a scalar variable": a polar
    study with ``r: [1, 2]``). So the file is opened plainly, and again with ``auto_complex``
    only where it holds that compound type.

    Raises
    ------
    OSError, ValueError
        As :func:`xarray.open_dataset`.
    """
    ds = xr.open_dataset(path)
    if not any(v.dtype.kind == "V" for v in ds.variables.values()):
        return ds
    ds.close()
    return xr.open_dataset(path, auto_complex=True)


def write_atomic(ds: xr.Dataset, path: str | os.PathLike, **to_netcdf) -> None:
    """Write ``ds`` to ``path`` via a temporary file in the same folder and a rename.

    ``to_netcdf`` are passed on to :meth:`xarray.Dataset.to_netcdf` (e.g. ``auto_complex=True``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        ds.to_netcdf(tmp, engine="netcdf4", **to_netcdf)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


#: data variables that describe a point rather than its steady state (never masked)
_POINT_VARIABLES = ("kernel_dim", "residual", "error_estimate", "trace_error", "hermiticity_error", "min_eigenvalue",
                    "gap", "wall_seconds", "peak_memory_mb_max_rank", "mpi_ranks",
                    "solver_iterations")


def unchecked_mask(ds: xr.Dataset) -> xr.DataArray | None:
    """True where a gathered point's uniqueness was not decided (``kernel_dim == -1``: written
    with ``--no-check-unique``); ``None`` if the dataset has no ``kernel_dim``."""
    if "kernel_dim" not in ds:
        return None
    return ds["kernel_dim"] == -1


def leave_out_unchecked(ds: xr.Dataset, include_unchecked: bool = False) -> tuple[xr.Dataset, int]:
    """The gathered dataset with the observables of unchecked points set to NaN, unless
    ``include_unchecked``, and those of non-unique points (``kernel_dim > 1``) always (NaN in
    their files already, but for a point whose extra zero modes lie only in sectors other than
    the solved one, whose file keeps the solved sector's state); and how many unchecked points
    were left out. Used by the figures, which say so in their titles (the finite-size scaling
    leaves out the same points: :mod:`lindring.analysis.scaling`)."""
    unchecked = unchecked_mask(ds)
    if unchecked is None:
        return ds, 0
    unchecked = unchecked & (not include_unchecked)
    mask = unchecked | (ds["kernel_dim"] > 1)
    if not bool(mask.any()):
        return ds, 0
    out = ds.copy()
    for name, da in ds.data_vars.items():
        if name in _POINT_VARIABLES or da.dtype.kind not in "fc":
            continue
        if set(mask.dims) <= set(da.dims):
            out[name] = da.where(~mask)
    return out, int(unchecked.sum())

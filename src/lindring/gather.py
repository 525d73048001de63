"""Gather the job files of a study into one dataset along the study's axes.

Dimensions of the gathered dataset: ``technique`` (the method: ed, cmf, ...; not named
``method``, which would clash with ``Dataset.sel(method=...)``), ``L``, the grid axes of the study (e.g.
``alpha``, ``delta`` or ``r``, ``theta``, ``phi``), then ``bond`` and ``site`` (padded with NaN
where a size has fewer). Missing job files (failed or not yet run) and non-unique steady states
(``kernel_dim > 1``) are NaN, listed in the attributes ``missing_points`` and
``nonunique_points``, and reported. Provenance (lindring versions, git commits, solvers,
fixed parameters) is kept in attributes.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import xarray as xr

from .studies import Job

#: per-job attributes kept as variables along the study's axes (numbers that vary per point)
PER_POINT_ATTRS = ("wall_seconds", "peak_memory_mb_max_rank", "mpi_ranks", "solver_iterations")


def _point_dataset(job: Job, path: str) -> xr.Dataset:
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    for k in PER_POINT_ATTRS:
        if k in ds.attrs:
            ds[k] = float(ds.attrs[k])
    ds = ds.drop_vars([v for v in ds.data_vars if ds[v].dtype.kind not in "fiub"])
    keep = {k: ds.attrs[k] for k in ("lindring_version", "git_commit", "solver", "branch")
            if k in ds.attrs}
    ds.attrs = {}
    if "kernel_dim" in ds:
        ds["kernel_dim"] = ds["kernel_dim"].astype(float)
    if "degeneracy" in ds:
        ds["degeneracy"] = ds["degeneracy"].astype(float)
    if "branch" in keep and job.method == "cmf":
        ds["broken_branch"] = float(keep["branch"] == "broken")
    dims = {"technique": [job.method], "L": [job.L]}
    dims.update({k: [float(np.real(v))] for k, v in job.coords})
    return ds.expand_dims(dims), keep


def gather(study: str, jobs: list[Job], study_config: dict, root: str = ".") -> xr.Dataset:
    """Merge the files of ``jobs`` (those present) into one dataset; see the module docstring."""
    parts, missing, nonunique, prov = [], [], [], {}
    for job in jobs:
        path = os.path.join(root, job.path)
        if not os.path.exists(path):
            missing.append(job.path)
            continue
        ds, keep = _point_dataset(job, path)
        for k, v in keep.items():
            prov.setdefault(k, set()).add(str(v))
        if "kernel_dim" in ds and float(ds["kernel_dim"].max()) > 1:
            nonunique.append(job.path)
        parts.append(ds)
    if parts:
        out = xr.merge(parts, join="outer", compat="no_conflicts", combine_attrs="drop")
    else:
        out = xr.Dataset()
    out.attrs.update({k: ", ".join(sorted(v)) for k, v in prov.items()})
    out.attrs["study"] = study
    out.attrs["bc"] = study_config.get("bc", "ring")
    out.attrs["preset"] = study_config.get("preset") or "none"
    out.attrs["range"] = int(study_config.get("range", 1))
    for k, v in (study_config.get("fixed") or {}).items():
        out.attrs[f"fixed_{k}"] = str(v)
    out.attrs["points_expected"] = len(jobs)
    out.attrs["points_present"] = len(parts)
    out.attrs["missing_points"] = "; ".join(missing) or "none"
    out.attrs["nonunique_points"] = "; ".join(nonunique) or "none"
    if missing:
        print(f"gather {study}: {len(missing)} of {len(jobs)} points missing (NaN): "
              + ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else ""), file=sys.stderr)
    if nonunique:
        print(f"gather {study}: {len(nonunique)} points have a non-unique steady state (NaN): "
              + ", ".join(nonunique[:10]), file=sys.stderr)
    return out

"""Gather the job files of a study into one dataset along the study's axes.

Dimensions of the gathered dataset: ``technique`` (the method: ed, cmf, ...; not named
``method``, which would clash with ``Dataset.sel(method=...)``), ``L``, the grid axes of the study (e.g.
``alpha``, ``delta`` or ``r``, ``theta``, ``phi``), then ``bond`` and ``site`` (padded with NaN
where a size has fewer). Missing job files (failed or not yet run) and non-unique steady states
(``kernel_dim > 1``) are NaN (a point non-unique only through zero modes in sectors other than
the solved one keeps the solved sector's state: ``unique = 0``, ``kernel_by_sector`` in its
file), listed in the attributes ``missing_points`` and ``nonunique_points``, and reported; points written without the uniqueness decision
(``kernel_dim == -1``) keep their values and are listed in ``unchecked_points``. Provenance
(lindring versions, git commits, solvers, fixed parameters, the acceptance thresholds) is kept
in attributes; the thresholds also per technique, ``<technique>_<attribute>`` (``ed_max_residual``,
``mpo_agreement_tol``: ED's and MPO's differ), which the summary of the study reads.

Every file is checked against the point it stands for before it is merged
(:func:`check_point_file`): method, boundary, L, range, preset, every parameter (both parts of
complex ones, derived ones such as eta too), the options that change the result and the physics
version (:data:`lindring.io.results.PHYSICS_VERSION`). A file that does not match (copied over
another point, left from other ``fixed`` values, written by a lindring with other physics) stops
the gather with :class:`GatherError` naming it.

Disorder: a study with a ``seed`` grid axis (realisations of a model file's random fields)
gets, for each observable ``X`` along ``seed``, ``X_seed_mean`` (the mean over the realisations
present) and ``X_seed_sem`` (its standard error, ``std(ddof=1) / sqrt(n)``), and ``n_seeds``, the
number of realisations with a unique steady state at each point (:func:`disorder_statistics`).

An axis with a complex value (``alpha: ["1+0.5j", "1-0.5j"]``) is a complex coordinate; such a
dataset is written with ``auto_complex=True`` (:func:`write_gathered`) and must be opened with
:func:`open_gathered` (``xr.open_dataset(path, auto_complex=True)``). Real axes stay float.
"""
from __future__ import annotations

import os

import numpy as np
import xarray as xr

from lindring.core.schema import threshold_attributes
from lindring.io import results
from lindring.workflow.studies import MPO_OPTIONS, Job

from lindring.core.diagnostics import get_logger

log = get_logger(__name__)


class GatherError(ValueError):
    """A job file does not belong to the point it stands for; the message names the file."""

#: acceptance thresholds and tolerances of the files, kept as provenance of the gathered file:
#: those of the verification figures (lindring.core.schema.CHECKS, ED's and MPO's), tolerances
THRESHOLD_ATTRS = threshold_attributes() + ("kernel_tol", "residual_target", "rtol")
#: per-job attributes kept as variables along the study's axes (numbers that vary per point)
PER_POINT_ATTRS = ("wall_seconds", "peak_memory_mb_max_rank", "mpi_ranks", "solver_iterations")


#: axis of disorder realisations (a model file's parameter that seeds its random fields)
SEED_AXIS = "seed"
#: output-schema variables averaged over disorder realisations (besides a model file's own
#: observables); the verification figures and the per-point costs are not
DISORDER_OBSERVABLES = ("current_eta", "current_eta_pair", "current_J", "sz", "purity",
                        "purity_pair", "negativity_pair", "negativity_half", "gap")


def model_variables(ds: xr.Dataset) -> list[str]:
    """A model file's own observables in a gathered dataset: the real variables the output
    schema does not declare, never the per-point costs, ``broken_branch``, ``n_seeds`` or
    disorder statistics."""
    from lindring.core.schema import VARIABLES
    return [name for name, da in ds.data_vars.items()
            if da.dtype.kind == "f" and name not in VARIABLES and name not in PER_POINT_ATTRS
            and name not in ("broken_branch", "n_seeds")
            and not name.endswith(("_seed_mean", "_seed_sem"))]


def disorder_variables(ds: xr.Dataset) -> list[str]:
    """The observables of a gathered dataset that vary along :data:`SEED_AXIS`: those of
    :data:`DISORDER_OBSERVABLES` and a model file's own (:func:`model_variables`), never
    verification figures, costs or earlier disorder statistics."""
    own = set(model_variables(ds))
    return [name for name, da in ds.data_vars.items()
            if SEED_AXIS in da.dims and da.dtype.kind == "f"
            and (name in own or (name in DISORDER_OBSERVABLES
                                 and not name.endswith(("_seed_mean", "_seed_sem"))))]


def disorder_statistics(ds: xr.Dataset) -> xr.Dataset:
    """Means over disorder realisations with their standard errors.

    For each observable ``X`` of :func:`disorder_variables`: ``X_seed_mean`` (mean over the
    realisations whose value is finite: a missing or non-unique point is NaN and left out) and
    ``X_seed_sem``, the standard error of that mean, ``std(ddof=1) / sqrt(n)`` (NaN for
    n < 2); and ``n_seeds``, the number of realisations with a finite ``purity`` (a unique,
    computed steady state) at each point.

    Parameters
    ----------
    ds : xarray.Dataset
        A gathered study with a :data:`SEED_AXIS` dimension.

    Returns
    -------
    xarray.Dataset
        ``ds`` with the statistics added (unchanged without a seed axis).
    """
    if SEED_AXIS not in ds.dims:
        return ds
    ds = ds.copy()
    for name in disorder_variables(ds):
        da = ds[name]
        n = da.notnull().sum(SEED_AXIS)
        mean = da.mean(SEED_AXIS, skipna=True).where(n > 0)
        sem = (da.std(SEED_AXIS, ddof=1, skipna=True) / np.sqrt(n)).where(n > 1)
        words = da.attrs.get("long_name", name)
        ds[f"{name}_seed_mean"] = mean.assign_attrs(
            long_name=f"mean over disorder realisations (seed) of: {words}",
            units=da.attrs.get("units", "1"))
        ds[f"{name}_seed_sem"] = sem.assign_attrs(
            long_name=f"standard error of {name}_seed_mean: std over seeds (ddof = 1) / "
                      "sqrt(number of seeds)", units=da.attrs.get("units", "1"))
    if "purity" in ds:
        ds["n_seeds"] = ds["purity"].notnull().sum(SEED_AXIS).astype(float).assign_attrs(
            long_name="number of disorder realisations with a unique steady state", units="1")
    return ds


def expected_attrs(job: Job) -> dict:
    """The attributes a job's file must have: its point, options and the physics version."""
    from lindring.core.options import defaults, options_attr
    expected = results.parameter_attrs(job.model_params())
    expected.update(method=job.method, physics_version=results.PHYSICS_VERSION)
    options = defaults(job.method)
    if job.method == "ed":
        options.update(solver=job.solver, symmetry=job.symmetry, check_unique=job.check_unique,
                       gap=job.gap)
        if job.gap_sectors is not None:
            options["gap_sectors"] = job.gap_sectors
        if job.max_residual is not None:
            options["max_residual"] = job.max_residual
    if job.method == "mpo":
        options.update({MPO_OPTIONS[k]: v for k, v in job.mpo})
        options["check_unique"] = job.check_unique
    expected["options"] = options_attr(job.method, options)
    return expected


def check_point_file(job: Job, attrs: dict) -> list[str]:
    """Differences between a file's attributes and its job's point (empty: the file belongs)."""
    diffs = []
    for key, want in expected_attrs(job).items():
        if key not in attrs:
            diffs.append(f"no {key} (expected {want})")
        elif key == "options":
            have, expect = _options(attrs[key]), _options(want)
            for name in sorted(set(have) | set(expect)):
                if _idle(name, have) and _idle(name, expect):
                    continue        # shapes nothing here (and files before it lack it)
                if have.get(name) != expect.get(name):
                    diffs.append(f"option {name}={have.get(name)} (expected {expect.get(name)})")
        elif isinstance(want, str) or isinstance(attrs[key], str):
            if str(attrs[key]) != str(want):
                diffs.append(f"{key}={attrs[key]} (expected {want})")
        elif not np.array_equal(np.asarray(attrs[key], dtype=float), float(want)):
            diffs.append(f"{key}={attrs[key]!r} (expected {want!r})")
    return diffs


def _idle(name: str, options: dict) -> bool:
    """Whether the option ``name`` shapes nothing in ``options`` (``name=value`` texts): the
    option it ``requires`` (:mod:`lindring.core.options`) is off there."""
    from lindring.core.options import OPTIONS
    needs = OPTIONS[name].requires if name in OPTIONS else ""
    return bool(needs) and options.get(needs) in ("False", None)


def _options(text) -> dict:
    """``"solver=auto rtol=1e-12"`` -> ``{"solver": "auto", "rtol": "1e-12"}`` (``"none"``: {})."""
    return dict(o.split("=", 1) for o in str(text).split() if "=" in o)


def _point_dataset(job: Job, path: str, complex_axes=frozenset()) -> xr.Dataset:
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    diffs = check_point_file(job, ds.attrs)
    if diffs:
        raise GatherError(f"{job.path} does not belong to its point: {'; '.join(diffs[:6])}"
                          f"{' ...' if len(diffs) > 6 else ''}")
    for k in PER_POINT_ATTRS:
        if k in ds.attrs:
            ds[k] = float(ds.attrs[k])
    ds = ds.drop_vars([v for v in ds.data_vars if ds[v].dtype.kind not in "fiub"])
    keep = {k: ds.attrs[k] for k in ("lindring_version", "git_commit", "petsc_version", "slepc_version",
                                       "mpi_library", "solver", "branch", "precision_note")
            + THRESHOLD_ATTRS if k in ds.attrs}
    ds.attrs = {}
    if "kernel_dim" in ds:
        ds["kernel_dim"] = ds["kernel_dim"].astype(float)
    if "degeneracy" in ds:
        ds["degeneracy"] = ds["degeneracy"].astype(float)
    if "branch" in keep and job.method == "cmf":
        ds["broken_branch"] = float(keep["branch"] == "broken")
    dims = {"technique": [job.method], "L": [job.L]}
    dims.update({k: [complex(v) if k in complex_axes else float(v)] for k, v in job.coords})
    return ds.expand_dims(dims), keep


def _every_value(ds: xr.Dataset, jobs: list[Job], complex_axes=frozenset()) -> xr.Dataset:
    """``ds`` with every technique, L and grid value of the study's jobs along its dimensions:
    a value none of whose points is present (a partial gather) is NaN, not left out (the
    summary then read a two-valued axis with one present as fixed, e.g. "delta = 1")."""
    import pandas as pd
    expected = {"technique": [], "L": []}
    for job in jobs:
        expected["technique"].append(job.method)
        expected["L"].append(job.L)
        for k, v in job.coords:
            expected.setdefault(k, []).append(complex(v) if k in complex_axes else float(v))
    for dim, values in expected.items():
        if dim in ds.dims:
            have = pd.Index(ds[dim].values)
            want = have.union(pd.Index(list(dict.fromkeys(values))))
            if len(want) != len(have):
                ds = ds.reindex({dim: want})
    return ds


def study_attrs(study: str, spec: dict, expected: int, missing=(), nonunique=(),
                unchecked=(), imprecise=()) -> dict:
    """The attributes of a gathered study (one layout for the gather and the mean-field maps):
    its name, boundary, preset, range, fixed parameters, physics version, and the points
    expected, present, missing, non-unique, unchecked and imprecise (rates spanning beyond
    double precision: the point file's ``precision_note``)."""
    attrs = dict(study=study, bc=spec.get("bc", "ring"), preset=spec.get("preset") or "none",
                 range=int(spec.get("range", 1)), physics_version=results.PHYSICS_VERSION)
    if spec.get("model"):
        attrs["model_file"] = str(spec["model"])
    attrs.update({f"fixed_{k}": str(v) for k, v in (spec.get("fixed") or {}).items()})
    attrs.update(points_expected=expected, points_present=expected - len(missing),
                 missing_points="; ".join(missing) or "none",
                 nonunique_points="; ".join(nonunique) or "none",
                 unchecked_points="; ".join(unchecked) or "none",
                 imprecise_points="; ".join(imprecise) or "none")
    return attrs


def gather(study: str, jobs: list[Job], study_config: dict, root: str = ".") -> xr.Dataset:
    """Merge the files of ``jobs`` (those present) into one dataset; see the module docstring.

    Raises
    ------
    GatherError
        A file does not belong to its point (all such files are named), or none of the
        study's point files exists (a gather run in another folder than the workflow's).
    """
    parts, missing, nonunique, unchecked, imprecise, prov, refused = [], [], [], [], [], {}, []
    complex_axes = {k for job in jobs for k, v in job.coords if isinstance(v, complex)}
    for job in jobs:
        path = os.path.join(root, job.path)
        if not os.path.exists(path):
            missing.append(job.path)
            continue
        try:
            ds, keep = _point_dataset(job, path, complex_axes)
        except GatherError as err:
            refused.append(str(err))
            continue
        if keep.pop("precision_note", "none") != "none":
            imprecise.append(job.path)
        for k, v in keep.items():
            prov.setdefault(k, set()).add(str(v))
            if k in THRESHOLD_ATTRS:     # per technique too: ED's and MPO's thresholds differ
                prov.setdefault(f"{job.method}_{k}", set()).add(str(v))
        if "kernel_dim" in ds and float(ds["kernel_dim"].max()) > 1:
            nonunique.append(job.path)
        if "kernel_dim" in ds and float(ds["kernel_dim"].min()) == -1:
            unchecked.append(job.path)
        parts.append(ds)
    if refused:
        raise GatherError(f"gather {study}: {len(refused)} file(s) refused (delete them and rerun "
                          "to recompute these points):\n  " + "\n  ".join(refused[:10])
                          + ("\n  ..." if len(refused) > 10 else ""))
    if not parts:
        # nothing to merge (an empty file said "0 of N points" with status 0): most often the
        # gather runs in another folder than the workflow did
        raise GatherError(f"gather {study}: none of its {len(jobs)} point files exists (e.g. "
                          f"{os.path.abspath(os.path.join(root, jobs[0].path))}); run the "
                          "gather in the folder the workflow ran in, after its first points"
                          if jobs else f"gather {study}: the study has no point")
    out = xr.merge(parts, join="outer", compat="no_conflicts", combine_attrs="drop")
    out = _every_value(out, jobs, complex_axes)
    out = disorder_statistics(out)
    out.attrs.update({k: ", ".join(sorted(v)) for k, v in prov.items()})
    out.attrs.update(study_attrs(study, study_config, len(jobs), missing, nonunique, unchecked,
                                 imprecise))
    if imprecise:
        log.warning(f"gather {study}: {len(imprecise)} points have rates spanning beyond double "
                    "precision (their precision_note), listed in imprecise_points: "
                    + ", ".join(imprecise[:10]))
    if missing:
        log.warning(f"gather {study}: {len(missing)} of {len(jobs)} points missing (NaN): "
                    + ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else ""))
    if nonunique:
        log.warning(f"gather {study}: {len(nonunique)} points have a non-unique steady state "
                    "(NaN, or the solved sector's state where only other sectors hold the extra "
                    "zero modes: their kernel_by_sector): " + ", ".join(nonunique[:10]))
    if unchecked:
        log.warning(f"gather {study}: {len(unchecked)} points were written without the "
                    "uniqueness decision (check_unique: false), listed in unchecked_points: "
                    + ", ".join(unchecked[:10]))
    return out


def write_gathered(ds: xr.Dataset, path) -> None:
    """Write a gathered dataset atomically (complex coordinates with ``auto_complex``)."""
    has_complex = any(np.iscomplexobj(v) for v in ds.variables.values())
    results.write_atomic(ds, path, **({"auto_complex": True} if has_complex else {}))


def open_gathered(path) -> xr.Dataset:
    """Open a gathered dataset, complex coordinates included (:func:`results.open_result`)."""
    return results.open_result(path)

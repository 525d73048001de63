"""Mean-field maps (Fig. 3) computed in one process, in the layout of a gathered study."""
from __future__ import annotations


import numpy as np
import xarray as xr

from lindring.core import model
from lindring.solvers.meanfield import cmf_observables
from lindring.workflow.gather import study_attrs
from lindring.workflow.studies import expand_study, study_axes

from lindring.core.diagnostics import get_logger

log = get_logger(__name__)


def cmf_map_dataset(name: str, spec: dict):
    """A mean-field map (Fig. 3) computed in this process, in the layout of a gathered study (a
    map of thousands of points as separate ``lindring solve`` jobs would spend most of its time
    starting processes).

    ``spec`` is a study without ``methods``/``bc`` (``L`` nominal, default 4: the mean field is
    the infinite lattice, ``L`` only enters ``J = J0 exp(i phi/L)``), e.g.
    ``{preset: minimal, grid: {alpha: {start: 0, stop: 2, num: 41}, delta: ...}}``. Every point
    is validated like a study's; a point whose solution fails is NaN and listed in the attribute
    ``missing_points``. Dims: ``technique`` (``cmf``), ``L``, the grid axes, ``bond``, ``site``.
    """
    study = {k: v for k, v in spec.items() if k != "description"}
    study.update(methods=["cmf"], bc="ring", L=spec.get("L", 4))
    jobs = expand_study(name, study, check_points=False)     # a point that fails is NaN
    axes = study_axes(name, study)
    axis_names = [a for a, _ in axes]
    shape = [len(v) for _, v in axes]
    index = {a: {v: i for i, v in enumerate(vals)} for a, vals in axes}
    if len({j.L for j in jobs}) != 1:
        raise ValueError(f"cmf map {name}: give one L (the mean field does not depend on it)")
    data: dict[str, tuple[tuple, np.ndarray]] = {}
    missing, branches = [], set()
    for job in jobs:
        idx = tuple(index[a][v] for a, v in job.coords)
        try:
            p = model.make_params(job.L, bc="ring", preset=job.preset, range=job.range,
                                  **dict(job.params))
            variables, attrs = cmf_observables(p)
        except Exception as err:  # one failed point must not lose the map
            missing.append(f"{job.point}: {err}")
            continue
        branches.add(attrs.get("branch", "?"))
        variables = dict(variables)
        variables["broken_branch"] = ((), np.asarray(float(attrs.get("branch") == "broken")))
        for key in ("cmf_residual", "stability"):
            if key in attrs:
                variables[key] = ((), np.asarray(float(attrs[key])))
        for var, (dims, values) in variables.items():
            values = np.asarray(values, dtype=float)
            if var not in data:
                data[var] = (dims, np.full(shape + list(values.shape), np.nan))
            data[var][1][idx] = values
    if missing:
        log.warning(f"cmf map {name}: {len(missing)} of {len(jobs)} points failed (NaN): "
                    + "; ".join(missing[:5]))
    coords = {a: [float(np.real(v)) for v in vals] for a, vals in axes}
    ds = xr.Dataset({var: (tuple(axis_names) + tuple(dims), values)
                     for var, (dims, values) in data.items()}, coords=coords)
    ds = ds.expand_dims({"technique": ["cmf"], "L": [jobs[0].L]})
    ds.attrs.update(study_attrs(name, dict(spec, bc="ring"), len(jobs), missing))
    ds.attrs.update(computed="in process (lindring.workflow.cmf_maps.cmf_map_dataset)",
                    branch=", ".join(sorted(branches)))
    return ds

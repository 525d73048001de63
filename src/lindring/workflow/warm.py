"""Warm starts of a sweep: each ED job starts from the steady state of the nearest finished
point of its study (the config's ``warm_start``, default off; README "Sweeps").

A warm-started study saves the steady state of every ``ed`` point (``lindring solve
--save-state``, :mod:`lindring.io.state`) to :func:`state_path`, and each job, when it starts,
looks for the nearest point of the same study, method, boundary, L and symmetry sector whose
result and state files are both there (:func:`nearest_finished`), and passes its state as
``--initial-guess`` with ``--initial-guess-fallback``: a state file that cannot be used
(missing, corrupt, partial, another space) gives a log line and a cold start, never an error
and never another result (the guess only changes where GMRES starts). The choice is made at
run time, not in the DAG: no job waits for another, the sweep runs as parallel as before, and
what a job finds depends on which points finished first. State files are not outputs of a rule
(Snakemake neither asks for them nor reruns anything because of them); deleting
``results/states/`` only costs the next run its warm starts.

"Nearest" is the distance in the study's grid coordinates (``grid`` axes, ``r`` and ``theta``
of ``polar``), each axis divided by the spread of its values so that axes of different units
weigh alike; ties go to the point listed first.
"""
from __future__ import annotations

import functools
import math
import os

#: folder of the saved states of a warm-started workflow (under ``results/``: ``make clean``)
STATE_ROOT = "results/states"


def enabled(config: dict, study: str) -> bool:
    """Whether ``study`` starts its ED jobs warm: its own ``warm_start``, else the config's
    top-level ``warm_start`` (the schema's default, false)."""
    from lindring.workflow.studies import config_default
    st = (config.get("studies") or {}).get(study) or {}
    return bool(st.get("warm_start", config.get("warm_start", config_default("warm_start"))))


def state_path(job) -> str:
    """Where the steady state of ``job`` (a :class:`lindring.workflow.studies.Job`) is saved."""
    return f"{STATE_ROOT}/{job.study}/{job.method}/{job.bc}/L{job.L}/{job.point}.nc"


@functools.lru_cache(maxsize=None)
def _sector(job) -> str:
    """The symmetry sector the job solves in (``--symmetry`` resolved on its model)."""
    from lindring.core.basis import resolve_symmetry
    try:
        return resolve_symmetry(job.model_params(), job.symmetry)
    except ValueError as err:       # refused at config check already; never a neighbour
        return f"invalid: {err}"


def _spreads(jobs) -> dict:
    """The spread (largest distance between two values) of each grid axis over ``jobs``."""
    values = {}
    for j in jobs:
        for axis, v in j.coords:
            values.setdefault(axis, set()).add(v)
    return {a: max((abs(complex(u) - complex(w)) for u in vs for w in vs), default=0.0)
            for a, vs in values.items()}


def distance(a, b, spreads: dict) -> float:
    """Distance of two points of a study in their grid coordinates, each axis divided by its
    spread (an axis of one value counts for nothing)."""
    cb = dict(b.coords)
    total = 0.0
    for axis, v in a.coords:
        spread = spreads.get(axis) or 0.0
        if spread > 0 and axis in cb:
            total += (abs(complex(v) - complex(cb[axis])) / spread) ** 2
    return math.sqrt(total)


def neighbours(job, jobs) -> list:
    """The points of ``jobs`` whose steady state can start ``job``: the same study, method
    (``ed``), boundary, L, symmetry option and sector; nearest first (:func:`distance`)."""
    same = [j for j in jobs if j is not job and j.path != job.path and j.study == job.study
            and j.method == job.method == "ed" and j.bc == job.bc and j.L == job.L
            and j.symmetry == job.symmetry and j.model == job.model]
    same = [j for j in same if _sector(j) == _sector(job)]
    spreads = _spreads(jobs)
    order = {j.path: i for i, j in enumerate(jobs)}
    return sorted(same, key=lambda j: (distance(job, j, spreads), order[j.path]))


def nearest_finished(job, jobs, exists=os.path.isfile):
    """The nearest :func:`neighbours` point whose result and state files both exist now (a
    finished, warm-started point), or ``None``."""
    for j in neighbours(job, jobs):
        if exists(j.path) and exists(state_path(j)):
            return j
    return None


def warm_arguments(job, jobs, exists=os.path.isfile) -> tuple[list[str], str]:
    """The extra ``lindring solve`` arguments of a warm-started ``ed`` job, and a line for its
    log: always ``--save-state``; with a finished neighbour, ``--initial-guess`` (its state)
    and ``--initial-guess-fallback``."""
    args = [f"--save-state={state_path(job)}"]
    source = nearest_finished(job, jobs, exists)
    if source is None:
        return args, "warm start: no finished neighbour with a saved state; cold start"
    args += [f"--initial-guess={state_path(source)}", "--initial-guess-fallback"]
    return args, f"warm start: from {source.point} ({state_path(source)})"

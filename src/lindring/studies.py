"""Studies: a config describes sweeps; this module expands them into one job per point.

A study (``config/config.yaml``, schema ``workflow/schemas/config.schema.yaml``)::

    ring_vs_L:
      methods: [ed, cmf]
      bc: ring
      L: [3, 4, 5]                      # or {start: 3, stop: 9} (inclusive)
      preset: minimal                   # optional
      range: 1                          # optional
      fixed: {mu: 1.0}                  # parameters held fixed (optional)
      grid:                             # one axis per parameter: a list or {start, stop, num}
        alpha: [2.0]
        delta: [1.5]
      polar: {r: [1, 2], theta: {start: 0, stop: 1.5707963267948966, num: 9}}
                                        # optional: (alpha, delta) = r (cos theta, sin theta)
      solver: auto                      # ed only (optional)
      symmetry: auto                    # ed only: auto (default), none, parity, momentum, parity+momentum
      max_residual: 1.0e-9              # ed only: verification threshold (optional)
      mpo: {chi: 64, dt: 0.1, order: 4, tol: 1.0e-6, t_max: 200}   # mpo only (optional)

Each job is one (study, method, L, point); its output path is built from the values of the grid
axes only, e.g. ``results/ring_vs_L/ed/ring/L8/alpha=2_delta=1.5.nc``, so adding sizes or points
adds jobs and leaves the others alone. The fixed parameters are part of each job's command line
(Snakemake ``params``), so changing them reruns that study's jobs and nothing else.
"""
from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from . import model
from .basis import resolve_symmetry
from .methods import METHOD_BC

POLAR_AXES = ("r", "theta")


class StudyError(ValueError):
    """A study in the config is impossible; the message names the study and the key."""


@dataclasses.dataclass(frozen=True)
class Job:
    study: str
    method: str
    bc: str
    L: int
    point: str                 # file stem built from the axis values
    coords: tuple              # ((axis, value), ...) in axis order
    params: tuple              # ((name, value), ...) every parameter given to make_params
    preset: str | None
    range: int
    solver: str
    max_residual: float | None = None
    mpo: tuple = ()            # ((option, value), ...) for method mpo: chi, dt, order, tol, t_max
    symmetry: str = "auto"     # ed only: the Liouvillian sector (basis.py); auto = all that hold

    @property
    def path(self) -> str:
        return f"results/{self.study}/{self.method}/{self.bc}/L{self.L}/{self.point}.nc"

    def cli_args(self) -> list[str]:
        """Arguments of ``lindring solve`` for this job (without ``-o``)."""
        args = ["--method", self.method, "--bc", self.bc, "--L", str(self.L)]
        if self.preset:
            args += ["--preset", self.preset]
        if self.range != 1:
            args += ["--range", str(self.range)]
        for name, value in self.params:
            args += ["--" + name.replace("_", "-"), format_value(value)]
        if self.method == "ed":
            args += ["--solver", self.solver]
            if self.max_residual is not None:
                args += ["--max-residual", format_value(self.max_residual)]
            if self.symmetry != "auto":
                args += ["--symmetry", self.symmetry]
        if self.method == "mpo":
            flags = dict(chi="--chi", dt="--dt", order="--order", tol="--mpo-tol", t_max="--t-max")
            for k, v in self.mpo:
                args += [flags[k], str(v)]
        return args


def format_value(v) -> str:
    """Short, exact-enough text of a number for paths and command lines (12 significant digits)."""
    if isinstance(v, complex):
        if v.imag == 0:
            v = v.real
        else:
            return f"{v.real:.12g}{v.imag:+.12g}j"
    v = float(v)
    if v == 0:
        v = 0.0  # no '-0'
    return f"{v:.12g}"


def axis_values(spec, where: str) -> list[float]:
    """A grid axis: an explicit list, or ``{start, stop, num}`` (linspace, endpoints included)."""
    if isinstance(spec, dict):
        if set(spec) != {"start", "stop", "num"}:
            raise StudyError(f"{where}: a range needs exactly start, stop and num, got {sorted(spec)}")
        num = spec["num"]
        if not isinstance(num, int) or num < 1:
            raise StudyError(f"{where}.num must be a positive integer, got {num!r}")
        return [float(x) for x in np.linspace(spec["start"], spec["stop"], num)]
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise StudyError(f"{where}: empty list")
        return list(spec)
    return [spec]


def sizes(spec, where: str) -> list[int]:
    if isinstance(spec, dict):
        if set(spec) != {"start", "stop"}:
            raise StudyError(f"{where}: a range of sizes needs start and stop, got {sorted(spec)}")
        return list(range(int(spec["start"]), int(spec["stop"]) + 1))
    return [int(x) for x in (spec if isinstance(spec, list) else [spec])]


def study_axes(name: str, st: dict) -> list[tuple[str, list]]:
    """The grid axes of a study, in order: ``grid`` axes, then ``r``, ``theta`` for ``polar``."""
    axes = [(k, axis_values(v, f"studies.{name}.grid.{k}")) for k, v in (st.get("grid") or {}).items()]
    for k in axes:
        if k[0] not in model.PHYSICAL_PARAMS:
            raise StudyError(f"studies.{name}.grid.{k[0]}: unknown parameter "
                             f"(known: {', '.join(model.PHYSICAL_PARAMS)})")
    if st.get("polar"):
        polar = st["polar"]
        axes += [(k, axis_values(polar[k], f"studies.{name}.polar.{k}")) for k in POLAR_AXES]
    return axes


def expand_study(name: str, st: dict) -> list[Job]:
    """All jobs of one study; every point is validated with the model before any job runs."""
    fixed = dict(st.get("fixed") or {})
    for k in fixed:
        if k not in model.PHYSICAL_PARAMS:
            raise StudyError(f"studies.{name}.fixed.{k}: unknown parameter "
                             f"(known: {', '.join(model.PHYSICAL_PARAMS)})")
    axes = study_axes(name, st)
    names = [a for a, _ in axes]
    if st.get("polar"):
        for k in ("alpha", "delta"):
            if k in fixed or k in names:
                raise StudyError(f"studies.{name}: polar sets alpha and delta; do not give {k} too")
    dup = set(fixed) & set(names)
    if dup:
        raise StudyError(f"studies.{name}: {', '.join(sorted(dup))} both fixed and on the grid")
    jobs = []
    bc = st.get("bc", "ring")
    for method in st["methods"]:
        if method not in METHOD_BC:
            raise StudyError(f"studies.{name}.methods: unknown method {method!r}")
        if bc not in METHOD_BC[method]:
            raise StudyError(f"studies.{name}.methods: method {method!r} does not support bc={bc!r}")
        for L in sizes(st["L"], f"studies.{name}.L"):
            for values in itertools.product(*[v for _, v in axes]):
                coords = tuple(zip(names, values))
                params = dict(fixed)
                for k, v in coords:
                    if k not in POLAR_AXES:
                        params[k] = v
                if st.get("polar"):
                    c = dict(coords)
                    params["alpha"], params["delta"] = model.polar(float(c["r"]), float(c["theta"]))
                try:
                    p = model.make_params(L, bc=bc, preset=st.get("preset"),
                                          range=st.get("range", 1), **params)
                    if method == "ed":
                        resolve_symmetry(p, st.get("symmetry", "auto"))
                except (model.ModelError, ValueError) as err:
                    raise StudyError(f"studies.{name} (method {method}, L={L}, "
                                     f"{dict(coords)}): {err}") from None
                point = "_".join(f"{k}={format_value(v)}" for k, v in coords) or "point"
                jobs.append(Job(study=name, method=method, bc=bc, L=L, point=point, coords=coords,
                                params=tuple(sorted(params.items())), preset=st.get("preset"),
                                range=st.get("range", 1), solver=st.get("solver", "auto"),
                                max_residual=st.get("max_residual"),
                                mpo=tuple(sorted((st.get("mpo") or {}).items())),
                                symmetry=st.get("symmetry", "auto")))
    paths = [j.path for j in jobs]
    if len(set(paths)) != len(paths):
        raise StudyError(f"studies.{name}: two points have the same path (repeated grid values?)")
    return jobs


def expand(config: dict) -> dict[str, list[Job]]:
    """Jobs of every study named in ``config['run']`` (default: all studies)."""
    studies = config.get("studies") or {}
    run = config.get("run") or list(studies)
    unknown = [s for s in run if s not in studies]
    if unknown:
        raise StudyError(f"run: unknown study {', '.join(map(repr, unknown))}; "
                         f"defined: {', '.join(studies)}")
    return {name: expand_study(name, studies[name]) for name in run}

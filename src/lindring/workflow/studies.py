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
      max_residual: 1.0e-10             # ed only: verification threshold (optional)
      check_unique: true                # ed, mpo: false opts out of the uniqueness decision
      gap: false                        # ed only: converge the Liouvillian gap (--gap)
      gap_sectors: all                  # ed with gap: all sectors (default) or solved
      mpo: {chi: 64, dt: 0.1, order: 4, tol: 1.0e-6, t_max: 200}   # mpo only (optional)

Each job is one (study, method, L, point); its output path is built from the values of the grid
axes only, e.g. ``results/ring_vs_L/ed/ring/L8/alpha=2_delta=1.5.nc``, so adding sizes or points
adds jobs and leaves the others alone. The fixed parameters are part of each job's command line
(Snakemake ``params``), so changing them reruns that study's jobs and nothing else.

Conventions (one place each, all here):

- names that become paths (studies, cmf maps, scalings) match :data:`NAME_PATTERN`: a letter, then
  letters, digits, ``_`` or ``-`` (at most 64 characters); the schema checks it before any job;
- every number of a study is *canonical* (:func:`canonical`): each part rounded to
  :data:`SIGNIFICANT_DIGITS` significant digits, and a point of a ``{start, stop, num}`` range (or
  an alpha, delta derived from ``polar``) whose magnitude is below :data:`ZERO_TOLERANCE` times the
  range's largest magnitude (times r) is exactly 0. The text of a value in a path and on the
  command line (:func:`format_value`) reads back as exactly that value;
- numbers may be given as text (``"-1e-05"``, ``"1+0.5j"``): PyYAML reads ``1e-5`` as text;
- a sweep that expands to no job, or a range that is ambiguous, is a :class:`StudyError`.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import os
import re
from pathlib import Path

import numpy as np

from lindring.core import model
from lindring.core.modelfile import RESERVED_OUTPUT
from lindring.core.options import OPTIONS, PLAN_SETTINGS, json_schema, resolve
from lindring.solvers.methods import METHOD_BC, check_point

POLAR_AXES = ("r", "theta")
#: names that become paths: studies, cmf maps, scalings (the schema holds the same pattern)
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
#: significant digits of every value of a study, in paths and on the command line
SIGNIFICANT_DIGITS = 15
#: a range point (or a polar alpha, delta) smaller than this times the range's scale is 0
ZERO_TOLERANCE = 1e-12
#: the workflow's config schema (also used by ``lindring gather``)
SCHEMA = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "config.schema.yaml"
#: options of method mpo a study may set (``mpo:``), and the ``lindring solve`` flag of each
#: option of ``lindring solve`` (SOLVE_DEFAULTS name) of each key a study's ``mpo:`` may set
MPO_OPTIONS = dict(chi="chi", dt="dt", order="order", tol="mpo_tol", t_max="t_max",
                   max_residual="mpo_max_residual", refine_sweeps="refine_sweeps")
MPO_FLAGS = {k: "--" + v.replace("_", "-") for k, v in MPO_OPTIONS.items()}


class StudyError(ValueError):
    """A study in the config is impossible; the message names the study and the key."""


# ----------------------------------------------------------------------------- config files
def load_config(path) -> dict:
    """Read a config file (YAML or JSON), refusing duplicated keys.

    Raises
    ------
    StudyError
        The file is missing, unreadable, not a mapping, or repeats a key (message names the file).
    """
    import yaml
    from lindring.core.yamlfile import DuplicateKeyError, strict_loader
    try:
        with open(path, encoding="utf-8") as fh:
            cfg = yaml.load(fh, Loader=strict_loader())
    except FileNotFoundError:
        raise StudyError(f"config file {path} not found") from None
    except IsADirectoryError:
        raise StudyError(f"config file {path} is a directory") from None
    except DuplicateKeyError as err:
        raise StudyError(f"{path}: {err}") from None
    except yaml.YAMLError as err:
        raise StudyError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(cfg, dict):
        raise StudyError(f"{path}: a config is a mapping of keys (studies: ...), got {type(cfg).__name__}")
    return cfg


def validate_config(cfg: dict) -> dict:
    """Check ``cfg`` against the workflow schema (setting its defaults): the one check of a
    config's values, made by the workflow (``workflow/rules/common.smk``), by
    :func:`lindring.api.gather` and, for every study it expands, by :func:`expand` and
    :func:`expand_study` (:func:`check_study`), so that a value is accepted or refused alike
    on every path (``gap: "yes"``, ``check_unique: "no"``, ``L: "1e3"`` are refused by all).

    Raises
    ------
    StudyError
        Naming the key (``studies.s.gap: 'yes' is not of type 'boolean'``).
    """
    _check_schema(cfg)
    return apply_defaults(cfg)


def check_study(name: str, st: dict) -> None:
    """Check one study's values against the workflow schema (:func:`validate_config`'s check of
    ``studies.<name>``), without changing ``st``; StudyError naming the key."""
    import copy
    _check_schema({"studies": {name: copy.deepcopy(st)}})


def _check_schema(cfg) -> None:
    import jsonschema
    if not isinstance(cfg, dict):
        raise StudyError(f"a config is a mapping of keys (studies: ...), got {type(cfg).__name__}")
    errors = list(_config_validator().iter_errors(cfg))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        where = ".".join(str(k) for k in err.absolute_path) or "(top level)"
        raise StudyError(f"{where}: {_schema_message(err)}")


def _schema_message(err) -> str:
    """jsonschema's message, or where it would quote a pattern or say "not valid under any of
    the given schemas", the value against the ``title`` (what a value must be) of the nearest
    schema that has one (``'1j' is not a real number, or its text such as "-1e-05"``)."""
    if err.validator in ("pattern", "oneOf", "anyOf"):
        at = err
        while at is not None:
            if isinstance(at.schema, dict) and "title" in at.schema:
                return f"{err.instance!r} is not {at.schema['title']}"
            at = at.parent
    return err.message


@functools.lru_cache(maxsize=1)
def _config_validator():
    """The validator of :data:`SCHEMA` (draft 2020-12, its ``$ref`` to :data:`OPTIONS_SCHEMA`
    resolved locally) that also fills in the defaults the schema gives beside ``properties``
    (as Snakemake's ``validate`` does)."""
    import jsonschema
    import yaml
    from referencing import Registry, Resource
    schema = dict(yaml.safe_load(SCHEMA.read_text()), **{"$id": SCHEMA.as_uri()})
    options = yaml.safe_load(OPTIONS_SCHEMA.read_text())
    registry = Registry().with_resources([
        (SCHEMA.as_uri(), Resource.from_contents(schema)),
        (OPTIONS_SCHEMA.as_uri(), Resource.from_contents(options))])
    base = jsonschema.Draft202012Validator
    check_properties = base.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, subschema):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(key, sub["default"])
        yield from check_properties(validator, properties, instance, subschema)

    cls = jsonschema.validators.extend(base, {"properties": set_defaults})
    return cls(schema, registry=registry)


def apply_defaults(cfg: dict) -> dict:
    """Fill in the registry's defaults of the top-level plan settings (``mem_per_rank_mb``,
    ``max_tasks``) and of every study's options (JSON-schema defaults behind a ``$ref`` are not
    applied by the validator). Returns ``cfg``, changed in place."""
    for name, opt in PLAN_SETTINGS.items():
        value = cfg.setdefault(name, opt.default)
        if isinstance(value, str):       # its text (mem_per_rank_mb: 4e3, which YAML reads so)
            cfg[name] = study_option(name, value, name, PLAN_SETTINGS)
    for st in (cfg.get("studies") or {}).values():
        if isinstance(st, dict):
            for name, value in _study_option_defaults().items():
                st.setdefault(name, value)
    return cfg


def _study_option_defaults() -> dict:
    """The registry's defaults of a study's options; ``max_residual`` has none in a study (a
    study without it passes nothing, and ``lindring solve`` uses its own default)."""
    return {k: OPTIONS[k].default for k in STUDY_OPTIONS if k not in NO_STUDY_DEFAULT}


#: the part of the config schema derived from the option registry (generated, never edited)
OPTIONS_SCHEMA = SCHEMA.with_name("options.schema.yaml")
#: a study's keys that are options of ``lindring solve`` (the same name in the registry)
STUDY_OPTIONS = ("solver", "symmetry", "max_residual", "check_unique", "gap", "gap_sectors")
#: study options without a default in a study: absent means "not given" (``lindring solve``'s
#: own default; ``gap_sectors`` is refused without ``gap``)
NO_STUDY_DEFAULT = ("max_residual", "gap_sectors")


def options_schema() -> dict:
    """The JSON-schema definitions of every option a workflow config may set, from the registry
    (:mod:`lindring.core.options`): a study's ``solver``, ``symmetry``, ``max_residual``,
    ``check_unique``, ``gap``, ``gap_sectors`` (with the registry's defaults), its ``mpo:`` mapping, and the top-level
    ``mem_per_rank_mb`` and ``max_tasks``. ``make schema`` writes it to :data:`OPTIONS_SCHEMA`."""
    defs = {}
    study_defaults_ = _study_option_defaults()
    for name in STUDY_OPTIONS:
        defs[name] = dict(_as_text_too(json_schema(OPTIONS[name])),
                          **({"default": study_defaults_[name]} if name in study_defaults_ else {}))
    defs["mpo"] = {"type": "object", "additionalProperties": False,
                   "description": "options of method mpo (names without the mpo_ prefix)",
                   "properties": {key: _as_text_too(json_schema(OPTIONS[name]))
                                  for key, name in MPO_OPTIONS.items()}}
    for name, opt in PLAN_SETTINGS.items():
        defs[name] = dict(_as_text_too(json_schema(opt)), default=opt.default)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "description": "GENERATED from lindring.core.options by `make schema`; do not edit",
            "$defs": defs}


def _as_text_too(schema: dict) -> dict:
    """A real option's schema that also takes the number as text (``max_residual: 1e-10``,
    which YAML reads as a string), with the pattern of the config schema's ``$defs/real`` (as a
    study's ``fixed`` and ``grid`` take it); its range is then checked by the registry
    (:func:`study_option`), on every path alike."""
    if schema.get("type") != "number":
        return schema
    text = next(s for s in _schema()["$defs"]["real"]["oneOf"] if s.get("type") == "string")
    number = {k: v for k, v in schema.items() if k != "description"}
    return {"oneOf": [number, dict(text)], "description": schema["description"],
            "title": "a number, or its text such as \"1e-10\""}


def study_option(name: str, value, where: str, options=OPTIONS):
    """A config's value of option ``name`` of the registry (a study's ``max_residual``, an
    ``mpo:`` key; with ``options = PLAN_SETTINGS`` the top-level ``mem_per_rank_mb``), as the
    type ``lindring solve`` takes: a number given as text read (:func:`parse_number`), then
    checked and converted by the registry (``chi: 8.0`` is the integer 8, written ``--chi=8``),
    a real one canonical (:func:`canonical`, the value its command line carries). StudyError
    naming ``where``."""
    if isinstance(value, str):
        value = parse_number(value, where)
    try:
        value = options[name].check(value)
    except model.ModelError as err:
        raise StudyError(f"{where}: {err}") from None
    return canonical(value) if isinstance(value, float) else value    # as on its command line


def write_options_schema(path=None) -> None:
    """Write :func:`options_schema` as YAML to ``path`` (default :data:`OPTIONS_SCHEMA`)."""
    import yaml
    text = ("# GENERATED from src/lindring/core/options.py by `make schema`; do not edit.\n"
            + yaml.safe_dump(options_schema(), sort_keys=False, width=100))
    Path(path or OPTIONS_SCHEMA).write_text(text)


@functools.lru_cache(maxsize=1)
def study_defaults() -> dict:
    """Defaults of a study's keys, read from the schema (the one place they are written)."""
    import yaml
    schema = yaml.safe_load(SCHEMA.read_text())
    props = schema["properties"]["studies"]["additionalProperties"]["properties"]
    defaults = {k: v["default"] for k, v in props.items() if "default" in v}
    defaults.update(_study_option_defaults())
    return defaults


def config_default(key: str):
    """The default of a top-level key of the config (``warm_start``, ``mpi_launcher``, ...),
    read from the schema (the one place it is written)."""
    return _schema()["properties"][key]["default"]


@functools.lru_cache(maxsize=1)
def _schema() -> dict:
    import yaml
    return yaml.safe_load(SCHEMA.read_text())


def check_name(name, where: str) -> None:
    """Refuse a name that would become an unsafe path (see :data:`NAME_PATTERN`)."""
    if not isinstance(name, str) or not re.fullmatch(NAME_PATTERN, name):
        raise StudyError(f"{where}: name {name!r} must match {NAME_PATTERN} (a letter, then "
                         "letters, digits, _ or -): it becomes a folder and a file name")


# ----------------------------------------------------------------------------- numbers
def canonical(z, scale: float = 0.0):
    """The value a point stands for: see the module docstring.

    Parameters
    ----------
    z : int, float or complex
    scale : float
        Largest magnitude of the range ``z`` comes from (0: not from a range); a part of ``z``
        below ``ZERO_TOLERANCE * scale`` is 0.

    Returns
    -------
    float, or complex when the imaginary part is not 0.
    """
    z = complex(z)
    parts = []
    for x in (z.real, z.imag):
        if abs(x) <= ZERO_TOLERANCE * scale:
            x = 0.0
        parts.append(float(f"{x:.{SIGNIFICANT_DIGITS}g}") + 0.0)   # + 0.0: no -0
    return complex(*parts) if parts[1] != 0 else parts[0]


def format_value(v) -> str:
    """Text of a canonical number for paths and command lines; it reads back as ``v`` exactly."""
    v = canonical(v)
    if isinstance(v, complex):
        return f"{v.real:.{SIGNIFICANT_DIGITS}g}{v.imag:+.{SIGNIFICANT_DIGITS}g}j"
    return f"{v:.{SIGNIFICANT_DIGITS}g}"


def parse_number(value, where: str, scale: float = 0.0):
    """A number of the config (a YAML number, or text such as ``"-1e-05"``, ``"1+0.5j"``), canonical."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise StudyError(f"{where}: {value!r} is not a number")
    try:
        z = complex(value.replace(" ", "")) if isinstance(value, str) else complex(value)
    except ValueError:
        raise StudyError(f"{where}: cannot read {value!r} as a number (complex: 1+0.5j)") from None
    if not (math.isfinite(z.real) and math.isfinite(z.imag)):
        raise StudyError(f"{where}: {value!r} is not finite")
    return canonical(z, scale)


def blocked_paths(paths) -> list[str]:
    """What stands in the way of writing ``paths`` (files the workflow writes, relative to the
    folder it runs in): a path that is a folder, or an existing file where one of its folders
    must be (``results/q`` a file, ``results/q/ed/...`` a point). One line per obstacle, each
    named once; empty when every path can be made."""
    problems = {}
    for path in paths:
        if os.path.isdir(path):
            problems[path] = f"{path} is a folder where the workflow writes a file"
            continue
        folder = os.path.dirname(path)
        while folder and not os.path.exists(folder):
            folder = os.path.dirname(folder)
        if folder and not os.path.isdir(folder):
            problems[folder] = (f"{folder} is a file where the workflow needs a folder (for "
                                f"{path})")
    return list(problems.values())


def axis_values(spec, where: str) -> list:
    """A grid axis: an explicit list, or ``{start, stop, num}`` (linspace, endpoints included).

    Values are canonical (module docstring); a repeated value, an empty list, or a range whose
    ``num`` drops an endpoint is a :class:`StudyError` naming ``where``.
    """
    if isinstance(spec, dict):
        if set(spec) != {"start", "stop", "num"}:
            raise StudyError(f"{where}: a range needs exactly start, stop and num, got {sorted(spec)}")
        start = parse_number(spec["start"], f"{where}.start")
        stop = parse_number(spec["stop"], f"{where}.stop")
        num = spec["num"]
        if isinstance(num, bool) or not isinstance(num, int) or num < 1:
            raise StudyError(f"{where}.num must be a positive integer, got {num!r}")
        if isinstance(start, complex) or isinstance(stop, complex):
            raise StudyError(f"{where}: a range is real; give complex values as a list")
        if num == 1 and start != stop:
            raise StudyError(f"{where}: num = 1 would drop stop = {stop} (give num >= 2, or a list)")
        if num > 1 and start == stop:
            raise StudyError(f"{where}: start = stop = {start} with num = {num} repeats one value")
        scale = max(abs(start), abs(stop))
        values = [canonical(x, scale) for x in np.linspace(start, stop, num)]
    elif isinstance(spec, (list, tuple)):
        if not spec:
            raise StudyError(f"{where}: empty list")
        values = [parse_number(v, f"{where}[{i}]") for i, v in enumerate(spec)]
    else:
        values = [parse_number(spec, where)]
    repeated = sorted({format_value(v) for v in values if values.count(v) > 1})
    if repeated:
        raise StudyError(f"{where}: value(s) {', '.join(repeated)} repeated (after rounding to "
                         f"{SIGNIFICANT_DIGITS} significant digits)")
    return values


def sizes(spec, where: str) -> list[int]:
    """The sizes ``L`` of a study: an integer, a list, or ``{start, stop}`` (inclusive)."""
    def size(x, w):
        if isinstance(x, bool) or not isinstance(x, int):
            raise StudyError(f"{w}: size {x!r} is not an integer")
        return x
    if isinstance(spec, dict):
        if set(spec) != {"start", "stop"}:
            raise StudyError(f"{where}: a range of sizes needs start and stop, got {sorted(spec)}")
        start, stop = size(spec["start"], f"{where}.start"), size(spec["stop"], f"{where}.stop")
        if stop < start:
            raise StudyError(f"{where}: empty range (start = {start} > stop = {stop})")
        return list(range(start, stop + 1))
    values = [size(x, f"{where}[{i}]") for i, x in enumerate(spec)] \
        if isinstance(spec, list) else [size(spec, where)]
    if not values:
        raise StudyError(f"{where}: empty list")
    if len(set(values)) != len(values):
        raise StudyError(f"{where}: a size is repeated in {values}")
    return values


# ----------------------------------------------------------------------------- jobs
@dataclasses.dataclass(frozen=True)
class Job:
    study: str
    method: str
    bc: str
    L: int
    point: str                 # file stem built from the axis values
    coords: tuple              # ((axis, value), ...) in axis order, canonical values
    params: tuple              # ((name, value), ...) every parameter given to make_params
    preset: str | None
    range: int
    solver: str
    max_residual: float | None = None
    mpo: tuple = ()            # ((option, value), ...) for method mpo: chi, dt, order, tol, t_max
    symmetry: str = "auto"     # ed only: the Liouvillian sector (basis.py); auto = all that hold
    check_unique: bool = True  # ed, mpo: False is the explicit opt-out (files say unique = -1)
    model: str | None = None   # a model file (params are then its parameters), ed and mpo
    gap: bool = False          # ed only: converge the Liouvillian gap (--gap)
    gap_sectors: str | None = None  # ed with gap: all or solved (None: lindring solve's default)

    @property
    def path(self) -> str:
        return f"results/{self.study}/{self.method}/{self.bc}/L{self.L}/{self.point}.nc"

    def model_params(self) -> model.Params:
        """The point's :class:`lindring.core.model.Params` (presets applied), or its
        :class:`lindring.core.modelfile.ModelPoint` for a study of a model file."""
        if self.model is not None:
            from lindring.core import modelfile
            return modelfile.build(modelfile.load(self.model, model_option(self.study)),
                                   self.L, self.bc, dict(self.params))
        return model.make_params(self.L, bc=self.bc, preset=self.preset, range=self.range,
                                 **dict(self.params))

    def options(self) -> dict:
        """The options of ``lindring solve`` this job sets, by registry name
        (:mod:`lindring.core.options`); the others take their defaults."""
        if self.method == "ed":
            return dict(solver=self.solver, max_residual=self.max_residual,
                        symmetry=self.symmetry, check_unique=bool(self.check_unique),
                        gap=bool(self.gap), gap_sectors=self.gap_sectors)
        if self.method == "mpo":
            return dict({MPO_OPTIONS[k]: v for k, v in self.mpo},
                        check_unique=bool(self.check_unique))
        return {}

    def cli_args(self) -> list[str]:
        """Arguments of ``lindring solve`` for this job (without the output).

        Every value is attached to its option (``--eps-zz=-1e-05``), so that no sign or exponent
        can be read as an option; these arguments are what the job computes, and the workflow
        reruns the job when they change.
        """
        args = [f"--method={self.method}", f"--bc={self.bc}", f"--L={self.L}"]
        if self.model is not None:
            args.append(f"--model={self.model}")
            args += [f"--set={name}={format_value(value)}" for name, value in self.params]
        if self.preset:
            args.append(f"--preset={self.preset}")
        if self.range != 1:
            args.append(f"--range={self.range}")
        for name, value in (self.params if self.model is None else ()):
            args.append(f"--{name.replace('_', '-')}={format_value(value)}")
        if self.method == "ed":
            args.append(f"--solver={self.solver}")
            if self.max_residual is not None:
                args.append(f"--max-residual={format_value(self.max_residual)}")
            if self.symmetry != "auto":
                args.append(f"--symmetry={self.symmetry}")
            if not self.check_unique:
                args.append("--no-check-unique")
            if self.gap:
                args.append("--gap")
            if self.gap_sectors is not None:
                args.append(f"--gap-sectors={self.gap_sectors}")
        if self.method == "mpo":
            for k, v in self.mpo:
                args.append(f"{MPO_FLAGS[k]}={v if isinstance(v, int) else format_value(v)}")
            if not self.check_unique:
                args.append("--no-check-unique")
        return args


#: dimensions of a gathered study besides its grid axes: a grid axis of one of these names (a
#: model file's parameter named ``bond``, ``site`` or ``technique``) would collide with them
RESERVED_AXES = ("technique", "L") + RESERVED_OUTPUT


def study_axes(name: str, st: dict, known=model.PHYSICAL_PARAMS) -> list[tuple[str, list]]:
    """The grid axes of a study, in order: ``grid`` axes, then ``r``, ``theta`` for ``polar``
    (``known``: the parameter names, those of the model file for a study of one)."""
    axes = []
    for k, v in (st.get("grid") or {}).items():
        if k not in known:
            raise StudyError(f"studies.{name}.grid.{k}: unknown parameter "
                             f"(known: {', '.join(known)})")
        if k in RESERVED_AXES:
            raise StudyError(f"studies.{name}.grid.{k}: a grid axis cannot be named {k!r}, a "
                             f"dimension of the gathered file ({', '.join(RESERVED_AXES)}); "
                             "rename the model's parameter, or give it under fixed:")
        axes.append((k, axis_values(v, f"studies.{name}.grid.{k}")))
    if st.get("polar"):
        polar = st["polar"]
        for k in POLAR_AXES:
            values = axis_values(polar[k], f"studies.{name}.polar.{k}")
            if any(isinstance(v, complex) for v in values):
                raise StudyError(f"studies.{name}.polar.{k}: must be real")
            axes.append((k, values))
    return axes


def expand_study(name: str, st: dict, check_points: bool = True) -> list[Job]:
    """All jobs of one study; every point is validated before any job runs, by the check that
    ``lindring solve`` makes (:func:`lindring.solvers.methods.check_point`).

    ``check_points=False`` leaves the points' physics to the caller (the mean-field maps, which
    make a point that cannot be solved NaN, :mod:`lindring.workflow.cmf_maps`); the model's
    parameters are still checked.

    Raises
    ------
    StudyError
        Naming the study and the key: an unknown or unsafe name, an empty or ambiguous sweep, a
        point the model or its method refuses, two points with one path.
    """
    check_name(name, f"studies.{name}")
    check_study(name, st)          # the workflow's check of the values (validate_config)
    st = {**study_defaults(), **st}
    fixed = {k: parse_number(v, f"studies.{name}.fixed.{k}") for k, v in (st.get("fixed") or {}).items()}
    model_file = st.get("model")
    known = model.PHYSICAL_PARAMS
    if model_file is not None:
        known = tuple(_model_file(name, st).parameters)
    for k in fixed:
        if k not in known:
            raise StudyError(f"studies.{name}.fixed.{k}: unknown parameter "
                             f"(known: {', '.join(known)})")
    axes = study_axes(name, st, known)
    names = [a for a, _ in axes]
    if st.get("polar"):
        for k in ("alpha", "delta"):
            if k in fixed or k in names:
                raise StudyError(f"studies.{name}: polar sets alpha and delta; do not give {k} too")
    dup = set(fixed) & set(names)
    if dup:
        raise StudyError(f"studies.{name}: {', '.join(sorted(dup))} both fixed and on the grid")
    methods = st.get("methods") or []
    if not methods:
        raise StudyError(f"studies.{name}.methods: no method")
    jobs = []
    bc = st["bc"]
    Ls = sizes(st["L"], f"studies.{name}.L")
    for k in st.get("mpo") or {}:
        if k not in MPO_FLAGS:
            raise StudyError(f"studies.{name}.mpo.{k}: unknown option (known: {', '.join(MPO_FLAGS)})")
    mpo = tuple(sorted((k, study_option(MPO_OPTIONS[k], v, f"studies.{name}.mpo.{k}"))
                       for k, v in (st.get("mpo") or {}).items()))
    for key, option in (("mpo", "chi"), ("max_residual", "max_residual")):
        users = OPTIONS[option].methods
        if st.get(key) is not None and not set(methods) & set(users):
            raise StudyError(f"studies.{name}.{key}: not an option of methods "
                             f"{', '.join(methods)} (an option of {' / '.join(users)})")
    if st.get("gap") and "ed" not in methods:
        raise StudyError(f"studies.{name}.gap: not an option of methods {', '.join(methods)} "
                         "(an option of ed)")
    if st.get("gap_sectors") is not None and not st.get("gap"):
        raise StudyError(f"studies.{name}.gap_sectors: applies to the gap; set gap: true too")
    max_residual = st.get("max_residual")
    if max_residual is not None:
        max_residual = study_option("max_residual", max_residual, f"studies.{name}.max_residual")
    for method in methods:
        if method not in METHOD_BC:
            raise StudyError(f"studies.{name}.methods: unknown method {method!r}")
        if bc not in METHOD_BC[method]:
            raise StudyError(f"studies.{name}.methods: method {method!r} does not support bc={bc!r}")
        for L in Ls:
            for values in itertools.product(*[v for _, v in axes]):
                coords = tuple(zip(names, values))
                params = dict(fixed)
                for k, v in coords:
                    if k not in POLAR_AXES:
                        params[k] = v
                if st.get("polar"):
                    c = dict(coords)
                    a, d = model.polar(c["r"], c["theta"])
                    params["alpha"], params["delta"] = canonical(a, abs(c["r"])), canonical(d, abs(c["r"]))
                point = "_".join(f"{k}={format_value(v)}" for k, v in coords) or "point"
                job = Job(study=name, method=method, bc=bc, L=L, point=point, coords=coords,
                          params=tuple(sorted(params.items())), preset=st.get("preset"),
                          range=int(st["range"]), solver=st["solver"], max_residual=max_residual,
                          mpo=mpo if method == "mpo" else (), symmetry=st["symmetry"],
                          check_unique=st.get("check_unique", True), model=model_file,
                          gap=bool(st.get("gap")) and method == "ed",
                          gap_sectors=st.get("gap_sectors") if method == "ed" else None)
                try:        # what `lindring solve` refuses, checked by the same function
                    p = (_model_point(name, st, L, params) if model_file is not None
                         else job.model_params())
                    if check_points:
                        check_point(method, p, resolve(method, job.options()))
                except (model.ModelError, ValueError) as err:
                    raise StudyError(f"studies.{name} (method {method}, L={L}, "
                                     f"{_coords_text(coords)}): {err}") from None
                if model_file is not None and not jobs:
                    _check_axis_names(name, names, p, method)
                jobs.append(job)
    paths = [j.path for j in jobs]
    if len(set(paths)) != len(paths):
        raise StudyError(f"studies.{name}: two points have the same path (repeated grid values?)")
    return jobs


def _model_file(name: str, st: dict):
    """The validated model file of a study (``model:``); StudyError naming the study for a bad
    file, or for what a model file excludes (methods other than ed, preset, range, polar)."""
    from lindring.core import modelfile
    bad = [k for k in ("preset", "polar") if st.get(k)] + (["range"] if st.get("range", 1) != 1
                                                           else [])
    if bad:
        raise StudyError(f"studies.{name}: {', '.join(bad)} do not apply to a model file "
                         "(set its parameters in fixed: and grid:)")
    others = [m for m in st.get("methods") or [] if m not in ("ed", "mpo")]
    if others:
        raise StudyError(f"studies.{name}.methods: a model file runs with ed or mpo only (not "
                         f"{', '.join(others)})")
    try:
        return modelfile.load(st["model"], model_option(name))
    except model.ModelError as err:
        raise StudyError(str(err)) from None     # names studies.<name>.model and the file


def model_option(study: str) -> str:
    """What names a study's model file in errors (``studies.<name>.model``), as ``--model``
    does on the command line."""
    return f"studies.{study}.model"


def _check_axis_names(name: str, axes: list[str], point, method: str) -> None:
    """A grid axis of a model study may not be named like one of the variables its point files
    hold (the model's observables and correlations, the output schema's): the gathered file
    would have a coordinate and a variable of one name (xarray stops the gather)."""
    from lindring.core.schema import variable_names
    outputs = set(point.output_variables()) | set(variable_names(method))
    for axis in axes:
        if axis in outputs:
            raise StudyError(f"studies.{name}.grid.{axis}: also the name of a variable of the "
                             "point files (an observable or correlation of the model, or of "
                             "lindring's output); rename one of them, or give it under fixed:")


def _model_point(name: str, st: dict, L: int, params: dict):
    """The point of a study's model file (validated as ``lindring solve --model`` does); an
    error names the file and the key (``fixed`` or ``grid``) that gave a value."""
    from lindring.core import modelfile
    fixed = st.get("fixed") or {}

    def given_as(key, value):
        return f"studies.{name}.{'fixed' if key in fixed else 'grid'}.{key} = {value}"

    mf = _model_file(name, st)
    point = modelfile.build(mf, L, st["bc"], params, given_as)
    if not point.has_jumps():
        raise model.ModelError(f"{mf.label}: no jump operator acts at this point: the steady "
                               "state is not unique")
    return point


def _coords_text(coords) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in coords) or "no grid"


def expand(config: dict) -> dict[str, list[Job]]:
    """Jobs of every study named in ``config['run']`` (default: all studies).

    Raises
    ------
    StudyError
        For the first impossible study (see :func:`expand_study`) or an unknown name in ``run``.
    """
    import copy
    config = validate_config(copy.deepcopy(config))     # the workflow's check, on every path
    studies = config.get("studies") or {}
    for kind in ("studies", "cmf_maps", "scaling"):
        for n in config.get(kind) or {}:
            check_name(n, f"{kind}.{n}")
    run = config.get("run") or list(studies)
    unknown = [s for s in run if s not in studies]
    if unknown:
        raise StudyError(f"run: unknown study {', '.join(map(repr, unknown))}; "
                         f"defined: {', '.join(studies)}")
    return {name: expand_study(name, studies[name]) for name in run}

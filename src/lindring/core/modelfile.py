"""Model files: any chain of spins 1/2 with one- and few-site Lindblad terms (issue 16).

A model file (YAML, checked against :data:`SCHEMA`) declares::

    name: boundary_driven_xxz
    description: free text
    boundaries: [open]                  # optional: the boundaries the model is meant for
    parameters:                         # name: default (a number, "1+0.5j", or an expression
      J: 1                              #   of the other parameters, e.g. gamma: conj(alpha))
      Delta: 1
    fields:                             # optional: site-dependent couplings, usable by name
      alpha_j: {random: {center: alpha, width: w, seed: seed}}   # center (1 + width u_j)
      h_j: {random: {center: 0, width: W, relative: false, seed: 7}}  # center + width u_j
      mu_j: {values: [1, 1.2, 0.9]}                               # one value per site
    hamiltonian:                        # terms of H, each summed over its placements
      - name: exchange
        sum: [[J, sx_0 sx_1], [J, sy_0 sy_1], [J*Delta, sz_0 sz_1]]
        where: all                      # all | first | last | {sites: [0, 3]}
        hermitian_conjugate: false      # true: add the h.c. of the sum
    jumps:                              # jump operators f (D[f] rho = f rho f^+ - {f^+ f, rho}/2)
      - name: inject
        sum: [["sqrt(Gamma*(1+drive)/2)", sp_0]]
        where: first
    observables:                        # one-site: per site; two-site (offsets 0, 1): per bond
      - name: j_spin
        sum: [[2, sx_0 sy_1], [-2, sy_0 sx_1]]
    correlations:                       # against distance d = 1, 2, ...: <A_i B_{i+d}>
      - name: C_zz
        left: sz                        # A and B: sx, sy, sz, n, sp or sm
        right: sz
        site: 0                         # the reference site i (default 0)
        connected: true                 # subtract <A_i> <B_{i+d}> (default false)
      - name: G_pm                      # with sp or sm the value is complex: written as two
        left: sp                        #   real variables G_pm_re and G_pm_im
        right: sm

A *product* is a string of one-site factors ``op_k`` (``op`` one of ``sx sy sz sp sm n id``,
``k`` the offset from the placement's site: a non-negative integer or the name of an integer
parameter, e.g. ``sm_range``); factors on the same offset multiply left to right. A term
placed at site ``j`` acts on sites ``j + k`` (mod L on rings); ``where: all`` places it at every
``j`` whose sites exist (L placements on a ring, L - range on an open chain), ``first`` at 0,
``last`` at L - 1 - range, ``sites`` at the listed ones. A correlation is written against the
distance ``d = 1 .. L - 1 - site`` on an open chain and ``d = 1 .. L - 1`` on a ring (sites
mod L): the dimension ``distance`` of the file, as long as the longest of the file's
correlations (NaN where a correlation from a later site leaves the open chain). Coefficients are numbers or
arithmetic expressions (:func:`evaluate`): numbers, ``j`` complex literals (``0.5j``),
``+ - * / **``, parentheses, ``sqrt exp cos sin conj abs re im``, ``pi``, ``L`` (the number
of sites), the parameters and the fields (a field takes its value at the placement's site
``j``). Nothing of the file is ever given to Python's ``eval``.

Operators (MODEL.md): ``sp = |1><0|``, ``sm = |0><1|``, ``n = sp sm``, ``sz = 2 n - 1``,
``sx = sp + sm``, ``sy = -i (sp - sm)``; the basis of a term is ``|s_{j+k_0} s_{j+k_1} ...>``
with its offsets in increasing order.

:func:`build` turns (file, parameter values, L, bc) into a :class:`ModelPoint`: the local
superoperators ``(sites, S)`` of the Liouvillian (the form that
:mod:`lindring.solvers.liouvillian` assembles) and the observables' local operators. This module
is numpy only (YAML and jsonschema are imported when a file is read).
"""
from __future__ import annotations

import ast
import cmath
import dataclasses
import hashlib
import math
import re
import shlex
from pathlib import Path

import numpy as np

from lindring.core import model
from lindring.core.superoperator import superoperator

#: one-site operators a product may use (MODEL.md conventions)
OPERATORS = {
    "sx": model.SX, "sy": -1j * (model.SP - model.SM), "sz": model.SZ,
    "sp": model.SP, "sm": model.SM, "n": model.N, "id": model.ID2,
}
#: functions an expression may call
FUNCTIONS = {"sqrt": cmath.sqrt, "exp": cmath.exp, "cos": cmath.cos, "sin": cmath.sin,
             "conj": lambda z: complex(z).conjugate(), "abs": lambda z: complex(abs(z)),
             "re": lambda z: complex(complex(z).real), "im": lambda z: complex(complex(z).imag)}
#: names every expression knows besides the parameters and fields
CONSTANTS = ("pi", "L")
#: the longest expression text accepted
MAX_EXPRESSION = 500
#: offsets beyond this are refused (a term on more sites is a 4^k x 4^k superoperator)
MAX_RANGE = 4
#: relative tolerance of the Hermiticity and symmetry checks on local operators
CHECK_TOL = 1e-12
_NAME = r"[A-Za-z][A-Za-z0-9_]*"
#: a real number as text (YAML reads ``-1e-3``, without a dot, as a string)
_REAL_TEXT = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
#: a bound of a parameter (``min``, ``max``): a number or its text
_BOUND = {"oneOf": [{"type": "number"}, {"type": "string", "pattern": _REAL_TEXT}]}
#: the option that names a model file on the command line (and in the API's messages)
OPTION = "--model"
_FACTOR = re.compile(r"^(sx|sy|sz|sp|sm|n|id)_([0-9]+|[A-Za-z][A-Za-z0-9]*)$")

_TERM = {
    "type": "object", "additionalProperties": False, "required": ["name", "sum"],
    "properties": {
        "name": {"type": "string", "pattern": f"^{_NAME}$"},
        "description": {"type": "string"},
        "sum": {"type": "array", "minItems": 1,
                "items": {"type": "array", "minItems": 2, "maxItems": 2,
                          "items": [{"type": ["number", "string"]}, {"type": "string"}]}},
        "where": {"oneOf": [{"enum": ["all", "first", "last"]},
                         {"type": "object", "additionalProperties": False, "required": ["sites"],
                          "properties": {"sites": {"type": "array", "minItems": 1,
                                                   "items": {"type": "integer", "minimum": 0}}}}]},
        "hermitian_conjugate": {"type": "boolean"},
    },
}
#: one-site operators a correlation function may take; with ``sp`` or ``sm`` its value is
#: complex and written as two real variables, ``<name>_re`` and ``<name>_im``
CORRELATION_OPERATORS = ("sx", "sy", "sz", "n", "sp", "sm")
#: the operators whose correlations are complex-valued
NON_HERMITIAN = ("sp", "sm")
_CORRELATION = {
    "type": "object", "additionalProperties": False, "required": ["name", "left", "right"],
    "properties": {
        "name": {"type": "string", "pattern": f"^{_NAME}$"},
        "description": {"type": "string"},
        "left": {"enum": list(CORRELATION_OPERATORS)},
        "right": {"enum": list(CORRELATION_OPERATORS)},
        "site": {"type": "integer", "minimum": 0},
        "connected": {"type": "boolean"},
    },
}
#: the JSON schema of a model file
SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object", "additionalProperties": False, "required": ["name", "parameters"],
    "properties": {
        "name": {"type": "string", "pattern": f"^{_NAME}$"},
        "description": {"type": "string"},
        "boundaries": {"type": "array", "minItems": 1, "items": {"enum": list(model.BOUNDARIES)}},
        "parameters": {"type": "object", "propertyNames": {"pattern": f"^{_NAME}$"},
                       "additionalProperties": {"oneOf": [
                           {"type": ["number", "string"]},
                           {"type": "object", "additionalProperties": False,
                            "required": ["default"],
                            "properties": {"default": {"type": ["number", "string"]},
                                           "real": {"type": "boolean"},
                                           "integer": {"type": "boolean"},
                                           "min": _BOUND,
                                           "max": _BOUND,
                                           "description": {"type": "string"}}}]}},
        "fields": {"type": "object", "propertyNames": {"pattern": f"^{_NAME}$"},
                   "additionalProperties": {"oneOf": [
                       {"type": "object", "additionalProperties": False, "required": ["values"],
                        "properties": {"values": {"type": "array", "minItems": 1,
                                                  "items": {"type": ["number", "string"]}}}},
                       {"type": "object", "additionalProperties": False, "required": ["random"],
                        "properties": {"random": {
                            "type": "object", "additionalProperties": False,
                            "required": ["center", "width"],
                            "properties": {"distribution": {"enum": ["uniform"]},
                                           "center": {"type": ["number", "string"]},
                                           "width": {"type": ["number", "string"]},
                                           "relative": {"type": "boolean"},
                                           # a parameter's name or a literal seed
                                           "seed": {"oneOf": [
                                               {"type": "string", "pattern": f"^{_NAME}$"},
                                               {"type": "integer", "minimum": 0}]}}}}}]}},
        "hamiltonian": {"type": "array", "items": _TERM},
        "jumps": {"type": "array", "items": _TERM},
        "observables": {"type": "array", "items": _TERM},
        "correlations": {"type": "array", "items": _CORRELATION},
    },
}


#: names an observable may not take: what the ED method always writes besides the schema table
RESERVED_OUTPUT = ("site", "bond", "pair", "distance")


class ModelFileError(model.ModelError):
    """A model file, or the values given for it, is invalid; the message names the key."""


# ----------------------------------------------------------------------------- expressions
_BINARY = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
           ast.Pow: lambda a, b: a ** b}
_UNARY = {ast.USub: lambda a: -a, ast.UAdd: lambda a: a}


def parse_expression(text, where: str) -> ast.Expression:
    """Parse ``text`` and check that it uses only the whitelisted syntax (no evaluation).

    Parameters
    ----------
    text : str or number
    where : str
        The key path of the expression, for error messages.

    Returns
    -------
    ast.Expression

    Raises
    ------
    ModelFileError
        Syntax outside the whitelist (attributes, subscripts, lambdas, keywords, strings, ...).
    """
    if isinstance(text, bool):
        raise ModelFileError(f"{where}: {text!r} is not a number or an expression")
    if isinstance(text, float) and not math.isfinite(text):
        raise ModelFileError(f"{where}: {text!r} is not finite")
    text = str(text)
    if len(text) > MAX_EXPRESSION:
        raise ModelFileError(f"{where}: expression longer than {MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise ModelFileError(f"{where}: cannot parse {text!r} as an arithmetic expression") from None
    for node in ast.walk(tree):
        ok = isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load,
                               ast.Call)) or type(node) in _BINARY or type(node) in _UNARY
        if isinstance(node, ast.Constant):
            ok = isinstance(node.value, (int, float, complex)) and not isinstance(node.value, bool)
        if isinstance(node, ast.Call):
            ok = (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
                  and len(node.args) == 1 and not node.keywords)
        if not ok:
            raise ModelFileError(f"{where}: {text!r} uses {type(node).__name__}, which a "
                                 "coefficient may not (allowed: numbers, names, + - * / **, "
                                 f"parentheses, {', '.join(FUNCTIONS)})")
    return tree


def names_in(tree: ast.Expression) -> set[str]:
    """The variable names an expression reads (functions excluded)."""
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in calls}


def evaluate(text, names: dict, where: str = "expression") -> complex:
    """The value of an arithmetic expression, with complex arithmetic throughout.

    Parameters
    ----------
    text : str or number
        E.g. ``"sqrt(Gamma*(1+drive)/2)"``, ``"J0*exp(1j*phi/L)"``, ``2``.
    names : dict
        Name -> value of every name the expression may read.
    where : str
        The key path, for error messages.

    Returns
    -------
    complex

    Raises
    ------
    ModelFileError
        Disallowed syntax, an unknown name, a division by zero, an overflow or a non-finite
        result; the message names ``where``.
    """
    tree = parse_expression(text, where)
    known = dict(pi=complex(math.pi))
    known.update(names)

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return complex(node.value)
        if isinstance(node, ast.Name):
            if node.id not in known:
                raise ModelFileError(f"{where}: unknown name {node.id!r} in {text!r} "
                                     f"(known: {', '.join(sorted(known))})")
            return complex(known[node.id])
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](ev(node.operand))
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.Call):
            return complex(FUNCTIONS[node.func.id](ev(node.args[0])))
        raise ModelFileError(f"{where}: unsupported syntax in {text!r}")   # parse_expression forbids

    try:
        value = ev(tree)
    except ZeroDivisionError:
        raise ModelFileError(f"{where}: division by zero in {text!r}") from None
    except (OverflowError, ValueError) as err:
        raise ModelFileError(f"{where}: {text!r} cannot be evaluated ({err})") from None
    if not (math.isfinite(value.real) and math.isfinite(value.imag)):
        raise ModelFileError(f"{where}: {text!r} is not finite")
    return value


def parse_number(name: str, text) -> complex:
    """A parameter value given on the command line or to the API: a number or the text of a
    real or complex literal (``2``, ``-1e-5``, ``1+0.5j``), never an expression."""
    if isinstance(text, (int, float, complex, np.number)) and not isinstance(text, bool):
        z = complex(text)
    else:
        try:
            z = complex(str(text).replace(" ", ""))
        except ValueError:
            raise ModelFileError(f"parameter {name!r}: cannot read {text!r} as a number "
                                 "(complex values are written like 1+0.5j)") from None
    if not (math.isfinite(z.real) and math.isfinite(z.imag)):
        raise ModelFileError(f"parameter {name!r}: {text!r} is not finite")
    return z


# ----------------------------------------------------------------------------- the file
@dataclasses.dataclass(frozen=True)
class ModelFile:
    """A validated model file (:func:`load`); :func:`build` makes points of it."""
    data: dict
    path: str = ""
    sha256: str = ""
    text: str = ""
    option: str = ""   # what gave the file (``--model``, ``studies.<name>.model``), for errors

    @property
    def label(self) -> str:
        """How every error names the file: the option that gave it and its path
        (``--model models/x.yaml``; :func:`source_label`)."""
        return source_label(self.path, self.option)

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def parameters(self) -> dict:
        """Parameter name -> default (number or expression text), in file order."""
        return {k: v["default"] if isinstance(v, dict) else v
                for k, v in self.data["parameters"].items()}

    def constraints(self, name: str) -> dict:
        """The ``real``, ``integer``, ``min``, ``max`` of a parameter (empty for a bare
        default); ``min`` and ``max`` as floats (the schema lets them be text, ``"-1e-3"``)."""
        v = self.data["parameters"][name]
        if not isinstance(v, dict):
            return {}
        return {k: float(x) if k in ("min", "max") else x for k, x in v.items()}


def source_label(path, option: str = "") -> str:
    """The words that name a model file in an error: ``--model models/x.yaml`` (the option
    that gave it, then its path, quoted as a shell would need it: ``--model 'my model.yaml'``),
    or the path alone without an option."""
    return f"{option} {shlex.quote(str(path))}" if option else str(path)


#: what a key of the schema accepts, said beside a schema error at it (where jsonschema's own
#: message, e.g. "not valid under any of the given schemas", does not say it)
_ACCEPTED = {"seed": "the name of an integer parameter (seed: seed) or a literal integer >= 0 "
                     "(seed: 1)"}


def _validate(data, source: str) -> None:
    import jsonschema
    validator = jsonschema.Draft7Validator(SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        path = "/".join(str(x) for x in err.absolute_path) or "(top level)"
        key = err.absolute_path[-1] if err.absolute_path else None
        hint = f"; accepted: {_ACCEPTED[key]}" if key in _ACCEPTED else ""
        raise ModelFileError(f"{source}: at {path}: {err.message}{hint}")


def loads(text: str, source: str = "model file", option: str = "") -> ModelFile:
    """A model file from its YAML text (see :func:`load`); ``source`` is its path and
    ``option`` what gave it, both named in every error (:func:`source_label`)."""
    import yaml
    from lindring.core.yamlfile import DuplicateKeyError, strict_loader
    label = source_label(source, option)
    try:
        data = yaml.load(text, Loader=strict_loader())
    except DuplicateKeyError as err:
        raise ModelFileError(f"{label}: {err}") from None
    except yaml.YAMLError as err:
        raise ModelFileError(f"{label}: not valid YAML: {err}") from None
    if data is None:
        raise ModelFileError(f"{label}: the file is empty (a model file is a mapping: name:, "
                             "parameters:, ...)")
    if not isinstance(data, dict):
        raise ModelFileError(f"{label}: a model file is a mapping (name:, parameters:, ...), "
                             f"not a {type(data).__name__}")
    _validate(data, label)
    mf = ModelFile(data=data, path=source, sha256=hashlib.sha256(text.encode()).hexdigest(),
                   text=text, option=option)
    _check_static(mf)
    return mf


def load(path, option: str = OPTION) -> ModelFile:
    """Read and validate a model file (YAML, :data:`SCHEMA`).

    Parameters
    ----------
    path : str or path
    option : str
        What gave the file (``--model``; a workflow config: ``studies.<name>.model``): every
        error names it and the file, ``--model models/x.yaml: ...``.

    Raises
    ------
    ModelFileError
        Missing or unreadable file, invalid YAML, a schema violation (naming its key path), an
        unknown operator or name, a duplicated term name, a cycle among parameter defaults.
    """
    label = source_label(path, option)
    if not str(path).strip():
        raise ModelFileError(f"{label}: an empty name names no model file")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelFileError(f"{label}: model file not found") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError, OSError) as err:
        raise ModelFileError(f"{label}: model file cannot be read: {err}") from None
    return loads(text, str(path), option)


def _terms(mf: ModelFile):
    for kind in ("hamiltonian", "jumps", "observables"):
        for i, t in enumerate(mf.data.get(kind) or []):
            yield kind, f"{kind}/{i} ({t['name']})", t


def _check_static(mf: ModelFile) -> None:
    """Everything that does not depend on values or L: names, operators, expressions."""
    params = mf.parameters
    fields = mf.data.get("fields") or {}
    clash = sorted((set(params) | set(fields)) & (set(CONSTANTS) | set(FUNCTIONS)))
    if clash:
        raise ModelFileError(f"{mf.label}: {', '.join(clash)} is a built-in name "
                             f"({', '.join(CONSTANTS + tuple(FUNCTIONS))}); rename it")
    both = sorted(set(params) & set(fields))
    if both:
        raise ModelFileError(f"{mf.label}: {', '.join(both)} is both a parameter and a field")
    for name, default in params.items():
        used = names_in(parse_expression(default, f"{mf.label}: parameters/{name}"))
        bad = sorted(used - set(params) - set(CONSTANTS) - {"pi"})
        if bad:
            raise ModelFileError(f"{mf.label}: parameters/{name}: unknown name(s) {', '.join(bad)}")
    _parameter_order(mf)
    for fname, spec in fields.items():
        exprs = spec.get("values") or [spec["random"]["center"], spec["random"]["width"]]
        for e in exprs:
            used = names_in(parse_expression(e, f"{mf.label}: fields/{fname}"))
            bad = sorted(used - set(params) - set(CONSTANTS) - {"pi"})
            if bad:
                raise ModelFileError(f"{mf.label}: fields/{fname}: unknown name(s) "
                                     f"{', '.join(bad)} (fields may use parameters only)")
        if "random" in spec:
            seed = spec["random"].get("seed", "seed")
            if isinstance(seed, str) and seed not in params:
                raise ModelFileError(f"{mf.label}: fields/{fname}/random/seed: {seed!r} is not a "
                                     "parameter: give the name of an integer parameter (declare "
                                     "it under parameters:, e.g. seed: {default: 0, integer: "
                                     "true, min: 0}) or a literal integer >= 0 (seed: 1)")
    names = set(params) | set(fields) | set(CONSTANTS) | {"pi"}
    seen = {}
    for i, c in enumerate(mf.data.get("correlations") or []):
        from lindring.core.schema import VARIABLES
        where = f"correlations/{i} ({c['name']})"
        for out in correlation_outputs(c["name"], c["left"], c["right"]):
            if out in VARIABLES or out in RESERVED_OUTPUT:
                raise ModelFileError(f"{mf.label}: {where}: {out!r} is a variable lindring "
                                     "always writes; give the correlation another name")
            if (True, out) in seen:
                raise ModelFileError(f"{mf.label}: {where}: the name {out!r} is used twice"
                                     f" (also by {seen[(True, out)]})")
            seen[(True, out)] = where
    for kind, where, t in _terms(mf):
        key = (kind == "observables", t["name"])
        if key in seen:
            raise ModelFileError(f"{mf.label}: {where}: the name {t['name']!r} is used twice"
                                 f" (also by {seen[key]})")
        seen[key] = where
        if kind == "observables":
            from lindring.core.schema import VARIABLES
            if t["name"] in VARIABLES or t["name"] in RESERVED_OUTPUT:
                raise ModelFileError(f"{mf.label}: {where}: {t['name']!r} is a variable lindring "
                                     "always writes; give the observable another name")
        for i, (coef, product) in enumerate(t["sum"]):
            used = names_in(parse_expression(coef, f"{mf.label}: {where}/sum/{i}"))
            bad = sorted(used - names)
            if bad:
                raise ModelFileError(f"{mf.label}: {where}/sum/{i}: unknown name(s) "
                                     f"{', '.join(bad)} in {coef!r}")
            factors = product.split()
            if not factors:
                raise ModelFileError(f"{mf.label}: {where}/sum/{i}: empty product")
            for f in factors:
                m = _FACTOR.match(f)
                if not m:
                    raise ModelFileError(
                        f"{mf.label}: {where}/sum/{i}: {f!r} is not a factor op_k (op one of "
                        f"{', '.join(OPERATORS)}; k an offset 0, 1, ... or an integer parameter)")
                if not m.group(2).isdigit() and m.group(2) not in params:
                    raise ModelFileError(f"{mf.label}: {where}/sum/{i}: offset {m.group(2)!r} "
                                         "is not a parameter")


def _parameter_order(mf: ModelFile) -> list[str]:
    """Parameters in an order where each default reads only earlier ones; refuses cycles."""
    deps = {n: names_in(parse_expression(v, f"{mf.label}: parameters/{n}")) & set(mf.parameters)
            for n, v in mf.parameters.items()}
    order, done = [], set()
    while len(order) < len(deps):
        ready = [n for n in deps if n not in done and deps[n] <= done]
        if not ready:
            cyc = sorted(n for n in deps if n not in done)
            raise ModelFileError(f"{mf.label}: parameters {', '.join(cyc)}: their defaults "
                                 "depend on each other in a cycle")
        for n in ready:
            order.append(n)
            done.add(n)
    return order


# ----------------------------------------------------------------------------- points
@dataclasses.dataclass
class Term:
    """One named entry of a model at one placement: its sites and local operator."""
    kind: str          # hamiltonian, jumps, observables
    name: str
    start: int         # the placement's site j
    sites: tuple
    operator: np.ndarray
    offsets: tuple = (0,)  # sites[i] = start + offsets[i] (mod L)


@dataclasses.dataclass
class ModelPoint:
    """A model file at given parameter values, L and boundary: what the ED solver needs.

    Duck-types the few attributes of :class:`lindring.core.model.Params` that the solvers read
    (``L``, ``bc``, ``range``, ``preset``); :meth:`local_terms` gives the Liouvillian.
    """
    L: int
    bc: str
    file: ModelFile
    values: dict               # every parameter's value (complex)
    given: dict                # the values set explicitly
    fields: dict               # field name -> array of L values
    terms: list                # Term (hamiltonian and jumps)
    observables: list          # Term (observables)
    correlations: list = dataclasses.field(default_factory=list)   # Correlation
    preset = None

    @property
    def range(self) -> int:
        """The largest offset of any Hamiltonian term or jump (1 for nearest neighbours)."""
        return max((max(_offsets(t)) for t in self.terms), default=0)

    @property
    def n_bonds(self) -> int:
        return self.L if self.bc == "ring" else self.L - 1

    def local_terms(self) -> list[tuple[tuple[int, ...], np.ndarray]]:
        """The Liouvillian as ``(sites, superoperator)`` in the letter order of basis.py, terms
        on the same sites merged (as :func:`lindring.solvers.liouvillian.local_terms`)."""
        merged: dict = {}
        for t in self.terms:
            S = local_superoperator(t)
            merged[t.sites] = merged.get(t.sites, 0) + S
        return [(s, S) for s, S in merged.items() if np.any(S != 0)]

    def has_jumps(self) -> bool:
        return any(t.kind == "jumps" and np.any(t.operator != 0) for t in self.terms)

    def rates(self) -> dict:
        """Rate of each named term: max over placements of ||f||^2 (jumps, spectral norm) or
        ||h|| (Hamiltonian terms); zero terms left out."""
        out = {}
        for t in self.terms:
            nrm = float(np.linalg.norm(t.operator, 2))
            r = nrm ** 2 if t.kind == "jumps" else nrm
            if r > 0:
                out[t.name] = max(out.get(t.name, 0.0), r)
        return out

    # -- symmetries, checked on the local superoperators ------------------------------------
    def parity_breaker(self) -> str | None:
        """The first term whose superoperator does not commute with ``rho -> P rho P``
        (P = prod sigma^z), or None."""
        for t in self.terms:
            S = local_superoperator(t)
            k = len(t.sites)
            odd = np.zeros(4 ** k, dtype=np.int64)
            for pos in range(k):
                a = (np.arange(4 ** k) // 4 ** (k - 1 - pos)) % 4
                odd += (a == 1) | (a == 2)
            mixes = (odd[:, None] % 2) != (odd[None, :] % 2)
            if np.abs(S[mixes]).max(initial=0.0) > CHECK_TOL * max(np.abs(S).max(), 1e-300):
                return f"{t.kind} term {t.name!r} at site {t.start}"
        return None

    def translation_breaker(self) -> str | None:
        """Why the Liouvillian does not commute with the translation of a ring, naming the
        term; None when every named term is placed on every site with the same local
        superoperator (open chains: 'an open chain')."""
        if self.bc != "ring":
            return "an open chain has no translation symmetry"
        by_name: dict = {}
        for t in self.terms:
            by_name.setdefault((t.kind, t.name), []).append(t)
        for (kind, name), ts in by_name.items():
            starts = sorted(t.start for t in ts)
            if starts != list(range(self.L)):
                return f"{kind} term {name!r} is not placed on every site"
            ref = local_superoperator(ts[0])
            offs = _offsets(ts[0])
            for t in ts[1:]:
                S = local_superoperator(t)
                if _offsets(t) != offs or not np.allclose(S, ref, rtol=0,
                                                          atol=CHECK_TOL * max(np.abs(ref).max(), 1e-300)):
                    return (f"{kind} term {name!r} differs between sites {ts[0].start} and "
                            f"{t.start} (site-dependent couplings)")
        return None

    def terms_on(self, sites) -> str:
        """The named terms placed on exactly ``sites`` (any order), in words."""
        names = []
        for t in self.terms:
            if set(t.sites) == set(sites) and len(t.sites) == len(sites):
                word = f"{t.kind} term {t.name!r}"
                if word not in names:
                    names.append(word)
        return ", ".join(names) or "no term"

    def reflection_suspects(self, sites, mirror) -> str:
        """Words for a refused reflection (:func:`lindring.core.terms.reflection_symmetric`,
        which found the model's terms on ``sites`` unequal to the reflected ones from
        ``mirror``): the named terms there that are not their own mirror images (their
        placements, reflected, are not the same local superoperators), else every term on
        ``sites`` and ``mirror``."""
        from lindring.core.terms import _canonical
        L = self.L
        image = (lambda j: (-j) % L) if self.bc == "ring" else (lambda j: L - 1 - j)
        groups: dict = {}
        for t in self.terms:
            groups.setdefault((t.kind, t.name), []).append(t)
        touched = set(sites) | set(mirror)
        suspects = []
        for (kind, name), ts in groups.items():
            if not any(set(t.sites) & touched for t in ts):
                continue
            own = _canonical([(t.sites, local_superoperator(t)) for t in ts])
            ref = _canonical([(tuple(image(j) for j in t.sites), local_superoperator(t))
                              for t in ts])
            scale = max(float(np.abs(S).max()) for S in own.values())
            if set(own) != set(ref) or any(
                    np.abs(own[k] - ref[k]).max() > CHECK_TOL * max(scale, 1e-300) for k in own):
                suspects.append(f"{kind} term {name!r}")
        if suspects:
            return (f"{', '.join(suspects)}: not {'its' if len(suspects) == 1 else 'their'} own "
                    f"mirror image{'' if len(suspects) == 1 else 's'}")
        return (f"{self.terms_on(sites)} there, reflected, differ from {self.terms_on(mirror)} on "
                f"its mirror image {tuple(mirror)}")

    def symmetries(self) -> tuple[bool, bool]:
        """(parity, momentum) as :func:`lindring.core.basis.symmetries_of`."""
        return self.parity_breaker() is None, self.translation_breaker() is None and self.L >= 3

    def broken_symmetry(self, symmetry: str) -> str:
        """Words naming what breaks ``symmetry`` ('parity' or 'momentum')."""
        if symmetry == "parity":
            return f"{self.parity_breaker()} does not commute with parity (P rho P)"
        return f"{self.translation_breaker()}"

    def output_variables(self) -> dict:
        """The file's observables as output-schema entries (name -> schema.Variable): dims
        ``site`` (one-site) or ``bond`` (two-site), ``distance`` (correlation functions), written
        by ``ed`` and ``mpo``."""
        from lindring.core.schema import Variable
        out = {}
        for name, description, placed in self.observables:
            dims = ("site",) if len(placed[0].sites) == 1 else ("bond",)
            words = description or f"<{name}> of model {self.file.name}"
            out[name] = Variable(f"{words} (model file)", "1", dims, ("ed", "mpo"))
        for c in self.correlations:
            parts = ("",) if len(c.outputs) == 1 else ("real part", "imaginary part")
            for name, part in zip(c.outputs, parts):
                out[name] = Variable(f"{c.words(part)} (model file)", "1", ("distance",),
                                     ("ed", "mpo"))
        return out

    def as_attrs(self) -> dict:
        """The point as NetCDF attributes (complex values as re/im pairs)."""
        attrs = dict(L=self.L, bc=self.bc, model=self.file.name, model_file=self.file.path,
                     model_sha256=self.file.sha256, model_text=self.file.text, preset="none",
                     model_parameters_set=", ".join(sorted(self.given)) or "none")
        for name, v in self.values.items():
            attrs[f"{name}_re"], attrs[f"{name}_im"] = float(v.real), float(v.imag)
        return attrs


@dataclasses.dataclass(frozen=True)
class Correlation:
    """A correlation function against distance: ``<A_i B_j>`` (minus ``<A_i><B_j>`` when
    ``connected``) for the pairs ``(i, j)`` of :attr:`pairs`, ``j = i + d`` (mod L on rings),
    d = 1, 2, ..."""
    name: str
    description: str
    left: str
    right: str
    site: int
    connected: bool
    pairs: tuple       # ((i, j) for d = 1, 2, ...)
    length: int = 0    # the file's distance dimension: d = 1 .. length (NaN beyond the pairs)

    @property
    def operators(self) -> tuple[np.ndarray, np.ndarray]:
        """The 2 x 2 matrices of A and B (MODEL.md conventions)."""
        return OPERATORS[self.left], OPERATORS[self.right]

    @property
    def outputs(self) -> tuple[str, ...]:
        """The names of the variables written: ``(name,)``, or ``(name_re, name_im)`` for a
        complex-valued correlation (:func:`correlation_outputs`)."""
        return correlation_outputs(self.name, self.left, self.right)

    def split(self, values) -> dict:
        """Output name -> real array of the complex values ``<A_i B_j> [- <A_i><B_j>]`` (one
        per pair): the real part under ``name`` when A and B are Hermitian (the imaginary part
        is rounding), else the real and imaginary parts under ``name_re``, ``name_im``."""
        values = np.asarray(values, dtype=complex)
        pad = max(self.length - len(values), 0)     # distances that leave an open chain
        values = np.concatenate([values, np.full(pad, complex(np.nan, np.nan))])   # both parts
        if len(self.outputs) == 1:
            return {self.name: values.real.copy()}
        return {self.outputs[0]: values.real.copy(), self.outputs[1]: values.imag.copy()}

    def words(self, part: str = "") -> str:
        """What the correlation (``part``: ``real part`` or ``imaginary part`` of a complex
        one) is, for the file's long name."""
        i = self.site
        text = (f"<{self.left}_{i} {self.right}_{i}+d>" + (f" - <{self.left}_{i}><{self.right}_{i}+d>"
                                                          if self.connected else ""))
        text = f"{part} of {text}" if part else text
        return (self.description + ": " if self.description else "") + f"{text} against distance d"


def correlation_outputs(name: str, left: str, right: str) -> tuple[str, ...]:
    """The variables a correlation function writes: ``(name,)`` when both operators are
    Hermitian (its value is real), ``(name_re, name_im)`` when one is ``sp`` or ``sm``."""
    if left in NON_HERMITIAN or right in NON_HERMITIAN:
        return f"{name}_re", f"{name}_im"
    return (name,)


def _correlations(mf: ModelFile, L: int, bc: str) -> list[Correlation]:
    out = []
    for k, c in enumerate(mf.data.get("correlations") or []):
        i = int(c.get("site", 0))
        d_max = L - 1 if bc == "ring" else L - 1 - i
        if i >= L or d_max < 1:
            raise ModelFileError(f"{mf.label}: correlations/{k} ({c['name']})/site: site {i} leaves "
                                 f"no distance on {'a ring' if bc == 'ring' else 'an open chain'}"
                                 f" of L = {L} (sites 0..{L - 1})")
        pairs = tuple((i, (i + d) % L) for d in range(1, d_max + 1))
        out.append(Correlation(c["name"], c.get("description", ""), c["left"], c["right"], i,
                               bool(c.get("connected", False)), pairs))
    length = max((len(c.pairs) for c in out), default=0)    # one distance dimension
    return [dataclasses.replace(c, length=length) for c in out]


def _offsets(t: Term) -> tuple:
    return t.offsets


def local_superoperator(t: Term) -> np.ndarray:
    """The superoperator of one placed term (letter order of basis.py): ``-i[h, .]`` for a
    Hamiltonian term, ``D[f]`` for a jump."""
    k = len(t.sites)
    if t.kind == "hamiltonian":
        return superoperator(t.operator, [], k)
    return superoperator(None, [t.operator], k)


def check_magnitude(value: complex, where: str) -> None:
    """Refuse a value outside the magnitudes of :mod:`lindring.core.model` (``|v|`` in
    [MIN_MAGNITUDE, MAX_MAGNITUDE] or 0), the rule of the paper's parameters, applied to a
    model file's parameters, fields and every coefficient at every placement (a coefficient
    ``g*g`` of parameters within range may leave it)."""
    if abs(value) > model.MAX_MAGNITUDE or 0 < abs(value) < model.MIN_MAGNITUDE:
        raise ModelFileError(f"{where}: |{value}| is outside [{model.MIN_MAGNITUDE:g}, "
                             f"{model.MAX_MAGNITUDE:g}] (or 0)")


def given_on_command_line(name: str, value) -> str:
    """How a parameter's value was given, in an error: ``--set NAME=VALUE`` (the command line;
    the API's ``parameters={...}`` is its Python form)."""
    return f"--set {name}={value}"


def _check_value(name: str, v: complex, c: dict) -> None:
    """A parameter's value against its constraints (``real``, ``integer``, ``min``, ``max``)
    and the magnitudes of :func:`check_magnitude`."""
    if (c.get("real") or c.get("integer") or "min" in c or "max" in c) and v.imag != 0:
        raise ModelFileError(f"parameter {name!r} must be real, got {v}")
    if c.get("integer") and v.real != round(v.real):
        raise ModelFileError(f"parameter {name!r} must be an integer, got {v.real!r}")
    if "min" in c and v.real < c["min"]:
        raise ModelFileError(f"parameter {name!r} must be >= {c['min']:g}, got {v.real!r}")
    if "max" in c and v.real > c["max"]:
        raise ModelFileError(f"parameter {name!r} must be <= {c['max']:g}, got {v.real!r}")
    check_magnitude(v, f"parameter {name!r}")


def _resolve_values(mf: ModelFile, given: dict, L: int, given_as=given_on_command_line) -> dict:
    """Every parameter's value: the given ones read as numbers (:func:`parse_number`), the
    others from their defaults, each checked (:func:`_check_value`). An error names the file
    (``mf.label``), the parameter and where its value came from (``given_as(name, value)``, or
    its default in the file)."""
    params = mf.parameters
    unknown = sorted(set(given) - set(params))
    if unknown:
        how = ", ".join(given_as(n, given[n]) for n in unknown)
        raise ModelFileError(f"{mf.label}: unknown parameter(s) {', '.join(unknown)} ({how}); "
                             f"model {mf.name} has the parameters {', '.join(params)}")
    values = {}
    for name in _parameter_order(mf):
        if name in given:
            try:
                values[name] = parse_number(name, given[name])
                _check_value(name, values[name], mf.constraints(name))
            except ModelFileError as err:
                raise ModelFileError(f"{mf.label}: {err} ({given_as(name, given[name])})") \
                    from None
        else:
            where = f"{mf.label}: parameters/{name}"
            values[name] = evaluate(params[name], dict(values, L=complex(L)), where)
            try:
                _check_value(name, values[name], mf.constraints(name))
            except ModelFileError as err:
                raise ModelFileError(f"{where}: {err} (its default, {params[name]!r}, at "
                                     f"L = {L})") from None
    return values


def _integer(values: dict, name: str, where: str) -> int:
    v = values[name]
    if v.imag != 0 or v.real != round(v.real):
        raise ModelFileError(f"{where}: {name} = {v} must be an integer")
    return int(round(v.real))


def _fields(mf: ModelFile, values: dict, L: int) -> dict:
    """Site-dependent couplings: lists (one per site) and uniform random draws,
    ``center (1 + width u_j)`` (``relative``, the default) or ``center + width u_j``
    (``relative: false``) with ``u_j`` uniform in [-1, 1) from numpy's PCG64 seeded with
    ``[seed, index of the field in the file]``."""
    out = {}
    names = dict(values, L=complex(L))
    for index, (fname, spec) in enumerate((mf.data.get("fields") or {}).items()):
        where = f"{mf.label}: fields/{fname}"
        if "values" in spec:
            if len(spec["values"]) != L:
                raise ModelFileError(f"{where}: {len(spec['values'])} values for L = {L} sites")
            out[fname] = np.array([evaluate(e, names, f"{where}/values/{i}")
                                   for i, e in enumerate(spec["values"])])
        else:
            r = spec["random"]
            center = evaluate(r["center"], names, f"{where}/random/center")
            width = evaluate(r["width"], names, f"{where}/random/width")
            if width.imag != 0 or width.real < 0:
                raise ModelFileError(f"{where}/random/width: must be real and >= 0, got {width}")
            seed_name = r.get("seed", "seed")
            if isinstance(seed_name, int):       # a literal seed (the schema: >= 0)
                seed = seed_name
            else:
                seed = _integer(values, seed_name, f"{where}/random/seed")
                if seed < 0:
                    raise ModelFileError(f"{where}/random/seed: {seed_name} = {seed} must be >= 0")
            u = np.random.Generator(np.random.PCG64([seed, index])).uniform(-1.0, 1.0, L)
            if r.get("relative", True):
                out[fname] = center * (1.0 + width.real * u)
            else:
                out[fname] = center + width.real * u
    return out


def _placements(t: dict, span: int, L: int, bc: str, where: str) -> list[int]:
    on = t.get("where", "all")
    n_all = L if bc == "ring" else L - span
    if n_all <= 0:
        raise ModelFileError(f"{where}: a term of range {span} does not fit an open chain of "
                             f"L = {L}")
    if bc == "ring" and span >= L:
        raise ModelFileError(f"{where}: a term of range {span} needs a ring of L > {span}")
    if on == "all":
        return list(range(n_all))
    if on == "first":
        return [0]
    if on == "last":
        return [n_all - 1]
    sites = list(on["sites"])
    bad = [s for s in sites if s >= n_all]
    if bad:
        raise ModelFileError(f"{where}/where/sites: {bad} outside 0..{n_all - 1} (L = {L}, {bc}, "
                             f"range {span})")
    if len(set(sites)) != len(sites):
        raise ModelFileError(f"{where}/where/sites: a site is listed twice")
    return sites


def _product(product: str, values: dict, where: str) -> dict:
    """Offset -> 2x2 matrix of one product string."""
    out: dict = {}
    for f in product.split():
        op, off = _FACTOR.match(f).groups()
        k = int(off) if off.isdigit() else _integer(values, off, where)
        if not 0 <= k <= MAX_RANGE:
            raise ModelFileError(f"{where}: offset {k} of {f!r} is outside 0..{MAX_RANGE}")
        out[k] = out.get(k, model.ID2) @ OPERATORS[op]
    return out


def _place(mf: ModelFile, kind: str, where: str, t: dict, values: dict, fields: dict,
           L: int, bc: str) -> list[Term]:
    products = [_product(p, values, f"{where}/sum/{i}") for i, (_, p) in enumerate(t["sum"])]
    offsets = sorted(set().union(*products))
    span = offsets[-1]
    out = []
    base = dict(values, L=complex(L))
    for j in _placements(t, span, L, bc, where):
        names = dict(base, **{f: v[j] for f, v in fields.items()})
        op = 0
        for i, ((coef, _), prod) in enumerate(zip(t["sum"], products)):
            c = evaluate(coef, names, f"{where}/sum/{i}")
            check_magnitude(c, f"{where}/sum/{i} at site {j} ({coef!r})")
            mat = np.ones((1, 1), dtype=complex)
            for k in offsets:
                mat = np.kron(mat, prod.get(k, model.ID2))
            op = op + c * mat
        if t.get("hermitian_conjugate", False):
            op = op + op.conj().T
        if kind in ("hamiltonian", "observables"):
            scale = max(np.abs(op).max(), 1e-300)
            if np.abs(op - op.conj().T).max() > CHECK_TOL * scale:
                raise ModelFileError(f"{where}: the operator at site {j} is not Hermitian "
                                     "(a Hamiltonian term and an observable must be; add "
                                     "hermitian_conjugate: true for '+ h.c.')")
            op = 0.5 * (op + op.conj().T)
        out.append(Term(kind, t["name"], j, tuple((j + k) % L for k in offsets), op,
                        tuple(offsets)))
    return out


def build(mf: ModelFile, L: int, bc: str, values: dict | None = None,
          given_as=given_on_command_line) -> ModelPoint:
    """A model file at parameter values, L and boundary: local terms and observables.

    Parameters
    ----------
    mf : ModelFile
    L : int
    bc : {"ring", "open"}
    values : dict, optional
        Parameter name -> value (number or the text of a real or complex literal; never an
        expression); the others take their defaults.
    given_as : callable, optional
        ``given_as(name, value)``: the words that say where a given value came from, in an
        error (default ``--set NAME=VALUE``; a workflow config names its key).

    Returns
    -------
    ModelPoint

    Raises
    ------
    ModelFileError
        An unknown parameter, a value that is not a number, a term that does not fit L, a
        non-Hermitian Hamiltonian term or observable, an observable of range > 1, ...
    """
    given = {k: v for k, v in (values or {}).items() if v is not None}
    L = model._as_integer("--L", L)
    if bc not in model.BOUNDARIES:
        raise ModelFileError(f"bc must be one of {model.BOUNDARIES}, got {bc!r}")
    if L > 31:
        raise ModelFileError(f"{mf.label}: L = {L}: a model file's Liouvillian is assembled on words of L "
                             "letters, which hold L <= 31")
    allowed = mf.data.get("boundaries")
    if allowed and bc not in allowed:
        raise ModelFileError(f"{mf.label}: boundaries: model {mf.name} is for bc "
                             f"{', '.join(allowed)}, not {bc!r}")
    model.check_lattice_size(L, bc, ModelFileError)
    vals = _resolve_values(mf, given, L, given_as)
    fields = _fields(mf, vals, L)
    for name, v in fields.items():
        for j, x in enumerate(v):
            check_magnitude(x, f"{mf.label}: fields/{name} at site {j}")
    terms, observables = [], []
    for kind, where, t in _terms(mf):
        placed = _place(mf, kind, f"{mf.label}: {where}", t, vals, fields, L, bc)
        if kind == "observables":
            if placed[0].offsets not in ((0,), (0, 1)) or t.get("where", "all") != "all":
                raise ModelFileError(f"{mf.label}: {where}: an observable is one-site (per site) "
                                     "or two-site on offsets 0, 1 (per bond), placed on all")
            observables.append((t["name"], t.get("description", ""), placed))
        else:
            terms.extend(placed)
    return ModelPoint(L=L, bc=bc, file=mf, values=vals, given=given, fields=fields,
                      terms=terms, observables=observables,
                      correlations=_correlations(mf, L, bc))

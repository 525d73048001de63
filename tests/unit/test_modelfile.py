"""Model files (issue 16): the safe expression evaluator, validation, and the assembled
Liouvillian of random small models against an independent dense one built in the test.

The dense Liouvillians here are built from the operator definitions of MODEL.md with
``tests/dense_reference.py`` (Kronecker products of one-site matrices, row-major
vectorisation), sharing no code with ``lindring.core.modelfile``; the assembled ones come from
``lindring.solvers.liouvillian.rows_block`` in the full basis (no PETSc needed).
"""
import cmath
import math

import numpy as np
import pytest

import dense_reference as dr
from lindring.core import model, modelfile
from lindring.core.basis import FullBasis, rowmajor_to_words
from lindring.core.observables import LocalState, model_observables
from lindring.solvers.liouvillian import local_terms, rows_block

DENSE_OPS = {"sx": dr.SX, "sy": dr.SY, "sz": dr.SZ, "sp": dr.SP, "sm": dr.SM, "n": dr.NUM,
             "id": dr.ID2}


class _OneRank:
    """The communicator of a single process (LocalState sums over ranks with it)."""
    def allreduce(self, x, op=None):
        return x

    def gather(self, x, root=0):
        return [x]


def assembled(point) -> np.ndarray:
    """The full Liouvillian of a model-file point, as lindring assembles it (word order)."""
    N = 4 ** point.L
    return rows_block(point, FullBasis(point.L), np.arange(N, dtype=np.int64)).toarray()


def to_words(Lrm: np.ndarray, L: int) -> np.ndarray:
    perm = rowmajor_to_words(L)
    return Lrm[np.ix_(perm, perm)]


# ----------------------------------------------------------------------------- expressions
@pytest.mark.parametrize("text, expected", [
    ("2", 2), ("1+0.5j", 1 + 0.5j), ("-a", -3), ("a**2 - b/4", 9 - 0.25 * (1 - 2j)),
    ("sqrt(a*(1+b)/2)", cmath.sqrt(3 * (2 - 2j) / 2)), ("exp(1j*pi/L)", cmath.exp(1j * math.pi / 5)),
    ("conj(b)*cos(a) + sin(0.3)", (1 + 2j) * math.cos(3) + math.sin(0.3)),
    ("abs(b) + re(b) - im(b)", math.sqrt(5) + 1 + 2), ("(a)", 3), ("+a", 3)])
def test_expressions_evaluate_like_python_arithmetic(text, expected):
    value = modelfile.evaluate(text, dict(a=3, b=1 - 2j, L=5))
    assert abs(value - expected) < 1e-14


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')", "().__class__", "a.real", "x[0]", "lambda: 1",
    "'text'", "True", "sqrt(x=1)", "sqrt(1, 2)", "a if a else 1", "[1]", "a == 1",
    "open('f')", "eval('1')", "f(1)(2)", "9**9**9**9"])
def test_expressions_outside_the_whitelist_are_refused(text):
    with pytest.raises(modelfile.ModelFileError):
        modelfile.evaluate(text, dict(a=1, x=[1]), "here")


def test_expression_errors_name_the_place():
    with pytest.raises(modelfile.ModelFileError, match="jumps/0/sum/1: unknown name 'zeta'"):
        modelfile.evaluate("zeta + 1", {}, "jumps/0/sum/1")
    with pytest.raises(modelfile.ModelFileError, match="division by zero"):
        modelfile.evaluate("1/(a-a)", dict(a=1), "x")


@pytest.mark.parametrize("text, value", [("2", 2), ("-1e-5", -1e-5), ("1+0.5j", 1 + 0.5j),
                                         (3, 3), ("-2-1j", -2 - 1j)])
def test_set_values_are_numbers(text, value):
    assert modelfile.parse_number("x", text) == value


@pytest.mark.parametrize("text", ["2*3", "a", "__import__('os')", "nan", "inf", "1e999"])
def test_set_values_are_never_expressions(text):
    with pytest.raises(modelfile.ModelFileError, match="parameter 'x'"):
        modelfile.parse_number("x", text)


# ----------------------------------------------------------------------------- validation
GOOD = """
name: m
parameters: {g: 1, h: 0.5}
hamiltonian:
  - {name: field, sum: [[h, sx_0]]}
jumps:
  - {name: decay, sum: [["sqrt(g)", sm_0]]}
"""


@pytest.mark.parametrize("patch, message", [
    (("decay, sum", "decay, where: everywhere, sum"), "at jumps/0/where"),
    (("name: m", "name: m\ncolour: red"), "colour"),
    (("sqrt(g)", "sqrt(zeta)"), r"jumps/0 \(decay\)/sum/0: unknown name\(s\) zeta"),
    (("sm_0", "sq_0"), "'sq_0' is not a factor"),
    (("sm_0", "sm_r"), "offset 'r' is not a parameter"),
    (("{g: 1, h: 0.5}", "{g: h, h: g}"), "cycle"),
    (("{g: 1, h: 0.5}", "{g: 1, h: 0.5, pi: 3}"), "built-in name"),
    (("name: field", "name: decay"), "used twice"),     # terms are named uniquely
    (("sqrt(g)", "g.__class__"), "Attribute"),
    (("name: decay", "name: field"), "used twice"),
])
def test_invalid_files_are_refused_naming_the_key(patch, message):
    text = GOOD.replace(*patch)
    if message is None:
        modelfile.loads(text)
        return
    with pytest.raises(modelfile.ModelFileError, match=message):
        modelfile.loads(text)


def test_duplicate_names_and_reserved_observables_are_refused():
    with pytest.raises(modelfile.ModelFileError, match="used twice"):
        modelfile.loads(GOOD + "  - {name: decay, sum: [[g, sp_0]]}\n")
    with pytest.raises(modelfile.ModelFileError, match="always writes"):
        modelfile.loads(GOOD + "observables:\n  - {name: sz, sum: [[1, sz_0]]}\n")


def test_values_are_checked_before_building():
    mf = modelfile.loads(GOOD)
    with pytest.raises(modelfile.ModelFileError, match="unknown parameter.*'?zeta"):
        modelfile.build(mf, 3, "open", dict(zeta=1))
    with pytest.raises(modelfile.ModelFileError, match="parameter 'g'"):
        modelfile.build(mf, 3, "open", dict(g="1+"))
    hc = modelfile.loads(GOOD.replace("[[h, sx_0]]", "[[h, sp_0]]"))
    with pytest.raises(modelfile.ModelFileError, match=r"hamiltonian/0 \(field\): .*not Hermitian"):
        modelfile.build(hc, 3, "open", {})
    mf = modelfile.load("models/boundary_driven_xxz.yaml")
    with pytest.raises(modelfile.ModelFileError, match="'drive' must be <= 1"):
        modelfile.build(mf, 3, "open", dict(drive=1.5))
    # a value just outside is shown as given (it was rounded to "got 1", the bound itself)
    with pytest.raises(modelfile.ModelFileError, match=r"'drive' must be <= 1, got 1.0000000001"):
        modelfile.build(mf, 3, "open", dict(drive="1.0000000001"))
    with pytest.raises(modelfile.ModelFileError, match=r"'seed' must be an integer, got 3.0000001"):
        modelfile.build(modelfile.load("models/disordered_ring.yaml"), 3, "ring",
                        dict(seed=3.0000001))
    with pytest.raises(modelfile.ModelFileError, match="for bc open"):
        modelfile.build(mf, 3, "ring", {})
    with pytest.raises(modelfile.ModelFileError, match="not found"):
        modelfile.load("models/nonexistent.yaml")
    # the magnitudes of the paper's parameters hold for every coefficient, field and parameter
    for text, message in ((GOOD.replace("[[h, sx_0]]", "[[1e200, sx_0]]"),
                           r"hamiltonian/0 \(field\)/sum/0 at site 0 \('?1e\+?200'?\): \|"),
                          (GOOD.replace("[[h, sx_0]]", "[[h*h, sx_0]]").replace("h: 0.5", "h: 1e60"),
                           r"hamiltonian/0 \(field\)/sum/0 at site 0 \('h\*h'\)"),
                          (GOOD.replace('"sqrt(g)"', '"g*1e-120"'), r"jumps/0 \(decay\)/sum/0"),
                          (GOOD.replace("hamiltonian:", "fields: {f: {values: [1, 1e-101, 1]}}\n"
                                        "hamiltonian:"), "fields/f at site 1")):
        with pytest.raises(modelfile.ModelFileError, match=message + ".*outside"):
            modelfile.build(modelfile.loads(text), 3, "open", {})
    assert modelfile.build(modelfile.loads(GOOD.replace("h: 0.5", "h: 0")), 3, "open", {})


XXZ = "models/boundary_driven_xxz.yaml"


def _xxz(**replace) -> str:
    """The boundary-driven XXZ model file's text with lines replaced."""
    text = open(XXZ).read()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize("name, text, entry", [
    ("missing.yaml", None, "model file not found"),
    ("", None, "an empty name names no model file"),
    ("bad.yaml", "name: m\nparameters: [\n", "not valid YAML"),
    ("empty.yaml", "", "the file is empty"),
    ("list.yaml", "- 1\n", "a model file is a mapping"),
    ("unknown key.yaml", _xxz(**{"description:": "descripton:"}),
     "at \\(top level\\): Additional properties .*'descripton'"),
    ("word.yaml", _xxz(**{"Delta: {default: 1,": "Delta: {default: abc,"}),
     "parameters/Delta: unknown name\\(s\\) abc"),
    ("complex.yaml", _xxz(**{"Delta: {default: 1,": "Delta: {default: \"1+2j\","}),
     "parameters/Delta: parameter 'Delta' must be real, got \\(1\\+2j\\) \\(its default"),
    ("nan.yaml", _xxz(**{"Delta: {default: 1,": "Delta: {default: .nan,"}),
     "parameters/Delta: nan is not finite"),
    ("min.yaml", _xxz(**{"min: -1, max: 1": "min: abc, max: 1"}), "at parameters/drive"),
    ("range.yaml", _xxz(**{"drive: {default: 0.5, real: true, min: -1, max: 1}":
                           "drive: {default: -1e-3, real: true, min: -1e-4}"}),
     "parameters/drive: parameter 'drive' must be >= -0.0001, got -0.001"),
    ("twice.yaml", _xxz(**{"drive: {default: 0.5, real: true, min: -1, max: 1}":
                           "drive: {default: 0.5, real: true, min: 0.9, min: -1}"}),
     "duplicated key 'min' \\(lines 16 and 16\\)"),
    ("name.yaml", _xxz(**{"name: boundary_driven_xxz": "name: boundary driven"}),
     "at name: 'boundary driven' does not match"),
    ("op.yaml", _xxz(**{"J*Delta, sz_0 sz_1": "J*Delta, sq_0 sz_1"}),
     "hamiltonian/0 \\(xxz\\)/sum/2: 'sq_0' is not a factor"),
    ("expr.yaml", _xxz(**{"[J, sx_0 sx_1]": "[\"J*\", sx_0 sx_1]"}),
     "hamiltonian/0 \\(xxz\\)/sum/0: cannot parse 'J\\*'"),
    ("sites.yaml", _xxz(**{"where: first}": "where: {sites: [9]}}"}),
     "jumps/0 \\(up_first\\)/where/sites: \\[9\\] outside"),
])
def test_every_model_file_error_names_the_option_the_file_and_the_entry(tmp_path, name, text,
                                                                         entry):
    """Odd files (missing, bad YAML, empty, unknown keys, words, complex strings, NaN, bad
    bounds, names with spaces) are refused by a message that starts with the option and the
    file (quoted as a shell needs it when its name has a space) and names the entry."""
    import re
    import shlex
    path = tmp_path / name if name else ""
    if text is not None:
        path.write_text(text)
    with pytest.raises(modelfile.ModelFileError) as err:
        modelfile.build(modelfile.load(path), 3, "open", {})
    head = f"--model {shlex.quote(str(path))}: "
    assert str(err.value).startswith(head), str(err.value)
    assert re.search(entry, str(err.value)), str(err.value)
    if " " in name:
        assert f"'{path}'" in str(err.value)
    workflow = pytest.raises(modelfile.ModelFileError,
                             match=re.escape(f"studies.s.model {shlex.quote(str(path))}: "))
    with workflow:      # the workflow names its key instead of the option
        modelfile.build(modelfile.load(path, "studies.s.model"), 3, "open", {})


def test_bounds_and_defaults_in_exponent_form_are_numbers(tmp_path):
    """YAML reads -1e-3 (no dot) as text: a default, a min and a max so written are numbers."""
    path = tmp_path / "m.yaml"
    path.write_text(_xxz(**{"drive: {default: 0.5, real: true, min: -1, max: 1}":
                            "drive: {default: -1e-3, real: true, min: -1e-2, max: 1E-2}"}))
    mf = modelfile.load(path)
    assert mf.constraints("drive")["min"] == -1e-2 and mf.constraints("drive")["max"] == 1e-2
    assert modelfile.build(mf, 3, "open", {}).values["drive"] == -1e-3
    assert modelfile.build(mf, 3, "open", dict(drive="-1e-2")).values["drive"] == -1e-2
    with pytest.raises(modelfile.ModelFileError, match=r"'drive' must be <= 0.01, got 0.02 "
                                                       r"\(--set drive=2e-2\)"):
        modelfile.build(mf, 3, "open", dict(drive="2e-2"))


@pytest.mark.parametrize("values, message", [
    (dict(Delta="abc"), r"parameter 'Delta': cannot read 'abc' as a number .*\(--set Delta=abc\)"),
    (dict(Delta="1+2j"), r"parameter 'Delta' must be real, got \(1\+2j\) \(--set Delta=1\+2j\)"),
    (dict(Gamma="-1e-3"), r"parameter 'Gamma' must be >= 0, got -0.001 \(--set Gamma=-1e-3\)"),
    (dict(Gamma="1e-300"), r"parameter 'Gamma': .* is outside .* \(--set Gamma=1e-300\)"),
    (dict(zeta=1), r"unknown parameter\(s\) zeta \(--set zeta=1\); model boundary_driven_xxz"),
])
def test_a_bad_value_for_a_model_file_names_the_file_the_parameter_and_how_it_was_set(
        values, message):
    mf = modelfile.load(XXZ)
    with pytest.raises(modelfile.ModelFileError, match=f"^--model {XXZ}: {message}"):
        modelfile.build(mf, 3, "open", values)
    with pytest.raises(modelfile.ModelFileError, match=f"^--model {XXZ}: boundaries: .*for bc open"):
        modelfile.build(mf, 3, "ring", {})


# ----------------------------------------------------------------------------- random models
def _random_model(rng, L, bc, uniform=False):
    """A random model file's text and, independently, its dense H and jump operators
    (``uniform``: real constant coefficients, every term on all sites, so that the
    symmetries may hold)."""
    names = ["sx", "sy", "sz", "sp", "sm", "n", "id"]
    params = {"a": complex(*rng.normal(size=2)), "b": float(rng.normal()), "r2": 2}
    fields = {"f": rng.normal(size=L) + 1j * rng.normal(size=L)}

    def coef():
        """(text, value function of the placement j) for a random coefficient."""
        kind = rng.integers(4)
        if uniform:
            x = float(np.round(rng.normal(), 6))
            return f"{x}", lambda j: x
        if kind == 0:
            z = complex(*np.round(rng.normal(size=2), 6))
            return f"{z.real}{z.imag:+}j", lambda j: z
        if kind == 1:
            return "sqrt(abs(b))*conj(a)", lambda j: math.sqrt(abs(params["b"])) * np.conj(params["a"])
        if kind == 2:
            return "f*exp(1j*pi/L) - b", lambda j: fields["f"][j] * cmath.exp(1j * math.pi / L) - params["b"]
        return "a**2/(1+b**2)", lambda j: params["a"] ** 2 / (1 + params["b"] ** 2)

    H = np.zeros((2 ** L, 2 ** L), dtype=complex)
    jumps = []
    entries = {"hamiltonian": [], "jumps": []}
    for kind in ("hamiltonian", "jumps"):
        for t in range(int(rng.integers(1, 4))):
            span = int(rng.integers(0, 3))
            offsets = [0] + ([span] if span else [])
            nprod = int(rng.integers(1, 3))
            prods, texts = [], []
            for _ in range(nprod):
                factors = [(str(rng.choice(names)), int(rng.choice(offsets)))
                           for _ in range(int(rng.integers(1, 4)))]
                if span and all(o != span for _, o in factors):
                    factors.append((str(rng.choice(names)), span))
                text, value = coef()
                prods.append((value, factors))
                ftext = " ".join("sm_r2" if (op, o) == ("sm", 2) else f"{op}_{o}" for op, o in factors)
                texts.append(f'["{text}", "{ftext}"]')
            n_all = L if bc == "ring" else L - span
            where = "all" if uniform else rng.choice(["all", "first", "last", "sites"])
            starts = {"all": list(range(n_all)), "first": [0], "last": [n_all - 1],
                      "sites": sorted(set(int(x) for x in rng.integers(0, n_all, size=2)))}[where]
            where_text = f"{{sites: {starts}}}" if where == "sites" else where
            hc = kind == "hamiltonian"
            entries[kind].append(f"  - {{name: {kind[0]}{t}, where: {where_text}, hermitian_conjugate: "
                                 f"{str(hc).lower()}, sum: [{', '.join(texts)}]}}")
            for j in starts:
                op = np.zeros((2 ** L, 2 ** L), dtype=complex)
                for value, factors in prods:
                    m = np.eye(2 ** L, dtype=complex)
                    for name, o in factors:
                        m = m @ dr.site_op(DENSE_OPS[name], (j + o) % L, L)
                    op += value(j) * m
                if hc:
                    H += op + op.conj().T
                else:
                    jumps.append(op)
    f_values = ", ".join(f'"{z.real}{z.imag:+}j"' for z in fields["f"])
    text = (f"name: random\nparameters: {{a: \"{params['a'].real}{params['a'].imag:+}j\", "
            f"b: {params['b']}, r2: 2}}\nfields:\n  f: {{values: [{f_values}]}}\n"
            + "hamiltonian:\n" + "\n".join(entries["hamiltonian"]) + "\n"
            + "jumps:\n" + "\n".join(entries["jumps"]) + "\n")
    return text, H, jumps


@pytest.mark.parametrize("seed", range(12))
def test_random_models_match_the_dense_reference(seed):
    rng = np.random.default_rng(1000 + seed)
    L = int(rng.integers(3, 6))
    bc = ["ring", "open"][seed % 2]
    text, H, jumps = _random_model(rng, L, bc)
    point = modelfile.build(modelfile.loads(text, f"random{seed}"), L, bc)
    dense = to_words(dr.lindblad_superop(H, jumps), L)
    got = assembled(point)
    assert np.abs(got - dense).max() <= 1e-12 * max(1.0, np.abs(dense).max())


def test_random_model_observables_match_dense_expectations():
    rng = np.random.default_rng(7)
    L = 4
    text = GOOD + """observables:
  - {name: corr, sum: [["1+2j", sp_0 sm_1], [0.5, sz_0 sz_1]], hermitian_conjugate: true}
  - {name: mag, sum: [[2, sx_0], [-1, sy_0]]}
"""
    for bc in ("ring", "open"):
        point = modelfile.build(modelfile.loads(text), L, bc)
        X = rng.normal(size=(16, 16)) + 1j * rng.normal(size=(16, 16))
        rho = X @ X.conj().T
        rho /= np.trace(rho)
        words = np.arange(4 ** L)
        x = rho.reshape(-1)[rowmajor_to_words(L)]
        obs = model_observables(LocalState(words, x, L, _OneRank()), point)
        bonds = dr.nn_bonds(L, bc)
        # hermitian_conjugate doubles the Hermitian 0.5 sz sz: O + O^+
        corr = [dr.expect((1 + 2j) * dr.site_op(dr.SP, b, L) @ dr.site_op(dr.SM, c, L), rho)
                for b, c in bonds]
        corr = [2 * z.real + 2 * 0.5 * dr.expect(dr.site_op(dr.SZ, b, L) @ dr.site_op(dr.SZ, c, L), rho).real
                for z, (b, c) in zip(corr, bonds)]
        mag = [dr.expect(2 * dr.site_op(dr.SX, j, L) - dr.site_op(dr.SY, j, L), rho).real
               for j in range(L)]
        sz = [dr.expect(dr.site_op(dr.SZ, j, L), rho).real for j in range(L)]
        np.testing.assert_allclose(obs["corr"], corr, atol=1e-13)
        np.testing.assert_allclose(obs["mag"], mag, atol=1e-13)
        np.testing.assert_allclose(obs["sz"], sz, atol=1e-13)
        assert set(point.output_variables()) == {"corr", "mag"}
        assert point.output_variables()["corr"].dims == ("bond",)


# ----------------------------------------------------------------------------- paper.yaml
PAPER_POINTS = [
    ("ring", 4, dict(preset="minimal", alpha=2, delta=1.5), {}),
    ("open", 4, dict(preset="minimal", alpha=2, delta=1), dict(delta=1)),
    ("ring", 5, dict(preset="minimal", alpha="1+0.5j", delta=0.8, eps_x=0.2, eps_zz=-0.1,
                     J0=0.5, phi=0.3, kappa=0.1),
     dict(alpha="1+0.5j", delta=0.8, eps_x=0.2, eps_zz=-0.1, J0=0.5, phi=0.3, kappa=0.1)),
    ("open", 5, dict(alpha="1+0.5j", gamma=0.3, delta=1, mu=1, kappa=0.1, J0=0.5, phi=0.3,
                     lam="0.2-0.1j", beta="0.1+0.4j", range=2),
     dict(alpha="1+0.5j", gamma=0.3, delta=1, mu=1, kappa=0.1, J0=0.5, phi=0.3,
          lam="0.2-0.1j", beta="0.1+0.4j", range=2)),
    ("ring", 5, dict(preset="minimal", alpha=2, delta=1.5, range=2), dict(range=2)),
    ("ring", 3, dict(J0=1.5, phi=1.0, lam=0.5, mu=1, kappa=0.1),
     dict(J0=1.5, phi=1.0, lam=0.5, mu=1, kappa=0.1, alpha=0, delta=0)),
]


@pytest.mark.parametrize("bc, L, today, values", PAPER_POINTS)
def test_paper_model_file_gives_todays_liouvillian(bc, L, today, values):
    """models/paper.yaml (defaults: the minimal model at alpha 2, delta 1.5) against today's
    ``local_terms`` of the same point (tested against the dense reference in test_ed etc.)."""
    today = dict(today)
    p = model.make_params(L, bc, preset=today.pop("preset", None), range=today.pop("range", 1),
                          **today)
    point = modelfile.build(modelfile.load("models/paper.yaml"), L, bc, values)
    ref = dict(local_terms(p))
    got = dict(point.local_terms())
    assert sorted(ref) == sorted(got)
    for sites in ref:
        assert np.abs(ref[sites] - got[sites]).max() <= 1e-12
    assert point.symmetries()[0] == (p.eps_x == 0)
    assert point.symmetries()[1] == (bc == "ring")


@pytest.mark.parametrize("seed", range(24))
def test_paper_model_file_at_random_points_gives_todays_liouvillian(seed):
    """Random points of the paper's model (every parameter, complex where the model allows it,
    some zero, ring and open, range 1 and 2, L = 3..6): models/paper.yaml's local terms equal
    today's ``local_terms`` to 1e-12, and so do the symmetries found (parity, momentum,
    reflection with its reason)."""
    from lindring.core.basis import symmetries_of
    rng = np.random.default_rng(500 + seed)
    bc = ["ring", "open"][seed % 2]
    rng2 = 1 + (seed // 2) % 2
    L = int(rng.integers(3 if rng2 == 1 else 4, 7))
    kw = {}
    for name in model.PHYSICAL_PARAMS:
        if rng.random() < 0.25 and name not in ("alpha", "mu"):
            kw[name] = 0.0
        elif name in model.COMPLEX_PARAMS:
            kw[name] = complex(*np.round(rng.normal(size=2), 3))
        else:
            kw[name] = float(np.round(rng.normal(), 3))
    kw["kappa"] = abs(kw["kappa"])
    p = model.make_params(L, bc, range=rng2, **kw)
    values = {k: str(v).strip("()") if isinstance(v, complex) else v for k, v in kw.items()}
    point = modelfile.build(modelfile.load("models/paper.yaml"), L, bc, dict(values, range=rng2))
    ref, got = dict(local_terms(p)), dict(point.local_terms())
    assert sorted(ref) == sorted(got)
    scale = max(np.abs(S).max() for S in ref.values())
    assert max(np.abs(ref[s] - got[s]).max() for s in ref) <= 1e-12 * scale
    a, b = symmetries_of(p), symmetries_of(point)
    assert {k: a[k] for k in ("parity", "momentum", "reflection")} == \
        {k: b[k] for k in ("parity", "momentum", "reflection")}


def test_symmetries_are_found_from_the_terms_and_refusals_name_the_term():
    from lindring.core.basis import resolve_symmetry
    paper = modelfile.load("models/paper.yaml")
    point = modelfile.build(paper, 4, "ring", dict(eps_x=0.1))
    # the reflection too (issue 14's check on the local terms), as for the same Params
    same = model.make_params(4, "ring", preset="minimal", alpha=2.0, delta=1.5, eps_x=0.1)
    assert resolve_symmetry(point, "auto") == resolve_symmetry(same, "auto") == \
        "momentum+reflection"
    with pytest.raises(ValueError, match="hamiltonian term 'onsite' at site 0 does not commute "
                                         "with parity"):
        resolve_symmetry(point, "parity")
    dis = modelfile.load("models/disordered_ring.yaml")
    point = modelfile.build(dis, 4, "ring", dict(w=0.2))
    assert resolve_symmetry(point, "auto") == "parity"
    with pytest.raises(ValueError, match="jumps term 'f' differs between sites"):
        resolve_symmetry(point, "momentum")
    clean = modelfile.build(dis, 4, "ring", dict(w=0))
    assert resolve_symmetry(clean, "auto") == "parity+momentum+reflection"
    xxz = modelfile.build(modelfile.load("models/boundary_driven_xxz.yaml"), 4, "open", {})
    assert resolve_symmetry(xxz, "auto") == "parity"
    with pytest.raises(ValueError, match="open chain"):
        resolve_symmetry(xxz, "momentum")
    listed = modelfile.loads(GOOD.replace("decay, sum", "decay, where: {sites: [0, 1]}, sum"))
    with pytest.raises(ValueError, match="'decay' is not placed on every site"):
        resolve_symmetry(modelfile.build(listed, 3, "ring"), "momentum")


def test_disordered_ring_draws_and_its_clean_limit():
    dis = modelfile.load("models/disordered_ring.yaml")
    clean = modelfile.build(dis, 5, "ring", dict(w=0, alpha=2, delta=1.5))
    p = model.make_params(5, "ring", preset="minimal", alpha=2, delta=1.5)
    ref, got = dict(local_terms(p)), dict(clean.local_terms())
    assert sorted(ref) == sorted(got)
    assert max(np.abs(ref[s] - got[s]).max() for s in ref) <= 1e-12
    a = modelfile.build(dis, 5, "ring", dict(w=0.3, seed=4))
    b = modelfile.build(dis, 5, "ring", dict(w=0.3, seed=4))
    c = modelfile.build(dis, 5, "ring", dict(w=0.3, seed=5))
    np.testing.assert_array_equal(a.fields["alpha_j"], b.fields["alpha_j"])
    assert np.abs(a.fields["alpha_j"] - c.fields["alpha_j"]).max() > 0
    assert np.abs(a.fields["alpha_j"] - 2 * a.fields["delta_j"] / 1.5).max() > 0  # independent
    for name, centre in (("alpha_j", 2), ("delta_j", 1.5)):
        assert np.all(np.abs(a.fields[name] / centre - 1) <= 0.3)
    # the drawn amplitudes are the ones in the jumps: f_b as MODEL.md writes it
    al, de = a.fields["alpha_j"], a.fields["delta_j"]
    for t in (t for t in a.terms if t.name == "f"):
        j = t.start
        f = (al[j] * np.kron(dr.SM, dr.ID2) + np.conj(de[j]) * np.kron(dr.SP, dr.ID2)
             + np.conj(al[j]) * np.kron(dr.ID2, dr.SM) + de[j] * np.kron(dr.ID2, dr.SP))
        assert np.abs(t.operator - f).max() < 1e-15
    with pytest.raises(modelfile.ModelFileError, match="'seed' must be an integer"):
        modelfile.build(dis, 5, "ring", dict(seed=1.5))


@pytest.mark.parametrize("alpha, delta, w", [(2, 1.5, 0), ("1+0.5j", "0.3-0.4j", 0),
                                             ("1+0.5j", "0.3-0.4j", 0.3), ("-0.5j", 2, 0.2)])
def test_disordered_ring_current_is_eq_14_on_each_pair(alpha, delta, w):
    """The I_eta of models/disordered_ring.yaml is Eq. 14's operator -eta_b sp_{b+1} sm_b + h.c.
    with eta_b = alpha_b conj(gamma_b) - delta_b conj(beta_b) (MODEL.md, Eq. 7) of each pair's
    f_b = alpha_b sm_b + beta_b sp_b + gamma_b sm_{b+1} + delta_b sp_{b+1}: gamma_b =
    conj(alpha_b), beta_b = conj(delta_b), so eta_b = alpha_b^2 - delta_b^2, complex amplitudes
    included; at w = 0 today's current_eta_operator."""
    dis = modelfile.load("models/disordered_ring.yaml")
    point = modelfile.build(dis, 5, "ring", dict(alpha=alpha, delta=delta, w=w, seed=7))
    (name, _, placed), = point.observables
    assert name == "I_eta"
    for t in placed:
        a, d = point.fields["alpha_j"][t.start], point.fields["delta_j"][t.start]
        beta, gamma = np.conj(d), np.conj(a)
        eta = a * np.conj(gamma) - d * np.conj(beta)
        op = -eta * np.kron(dr.SM, dr.SP)
        np.testing.assert_allclose(t.operator, op + op.conj().T, rtol=0, atol=1e-14)
    if w == 0:
        p = model.make_params(5, "ring", preset="minimal", alpha=complex(alpha), delta=complex(delta))
        for t in placed:
            np.testing.assert_allclose(t.operator, model.current_eta_operator(p), rtol=0, atol=1e-14)


# ----------------------------------------------------------------------------- XX chain
@pytest.mark.parametrize("L, J, Gamma, drive", [(3, 1, 1, 0.5), (4, 0.7, 2.3, -0.8),
                                                 (5, 1.3, 0.4, 1.0)])
def test_boundary_driven_xx_chain_closed_form(L, J, Gamma, drive):
    """The XX chain (Delta = 0) driven at both ends has a flat bulk magnetisation and an
    L-independent current: the structure of the exact solution of M. Žnidarič, "A matrix
    product solution for a nonequilibrium steady state of an XX chain", J. Phys. A 43, 415004
    (2010), arXiv:1006.5368 (and the zero-dephasing limit of J. Stat. Mech. (2010) L05002).

    For the baths of models/boundary_driven_xxz.yaml, the fermionic two-point function
    G = <c^+_j c_k> (Jordan-Wigner) solves i[h, G] - {P, G}/2 + diag(gains) = 0 with
    G = I/2 + i s K + d (E_11 - E_LL) (K_{j,j+1} = -K_{j+1,j} = 1), s = -2 J Gamma mu /
    (16 J^2 + Gamma^2), d = -s Gamma / (4 J); so, for every L >= 2:
    <sz_1> = -<sz_L> = Gamma^2 mu / (16 J^2 + Gamma^2), <sz_j> = 0 in the bulk, and
    <j_spin> = 2 <sx_j sy_{j+1} - sy_j sx_{j+1}> = 16 J Gamma mu / (16 J^2 + Gamma^2) on
    every bond (continuity at site 1: Gamma (mu - <sz_1>) = J <j_spin>).

    The coefficients (which depend on the conventions: here D[f] = f rho f^+ - {f^+ f, rho}/2
    and H = J (sx sx + sy sy)) are pinned by a second published result at mu = 1: Prosen's
    exact solution, PRL 107, 137201 (2011), at Delta = 0 gives J_P = 2 eps / (4 + eps^2) with
    Gamma = 2 eps, j_spin = 4 J_P, i.e. 16 Gamma / (16 + Gamma^2)
    (tests/integration/test_modelfile_ed.py::test_maximal_driving_against_prosens_exact_xxz_steady_state).
    """
    mf = modelfile.load("models/boundary_driven_xxz.yaml")
    point = modelfile.build(mf, L, "open", dict(J=J, Delta=0, Gamma=Gamma, drive=drive))
    A = assembled(point)
    _, sv, vh = np.linalg.svd(A)
    assert sv[-2] > 1e-8 * sv[0] and sv[-1] < 1e-12 * sv[0]       # unique steady state
    x = vh[-1].conj()
    words = np.arange(4 ** L)
    state = LocalState(words, x, L, _OneRank())
    x = x / state.trace()
    obs = model_observables(LocalState(words, x, L, _OneRank()), point)
    z1 = Gamma ** 2 * drive / (16 * J ** 2 + Gamma ** 2)
    current = 16 * J * Gamma * drive / (16 * J ** 2 + Gamma ** 2)
    np.testing.assert_allclose(obs["sz"], [z1] + [0] * (L - 2) + [-z1], atol=1e-10)
    np.testing.assert_allclose(obs["j_spin"], current, atol=1e-10)


def test_readme_model_file_example_is_valid():
    """The format example of the README's "Your own model" section loads, builds and its
    terms behave as the README says (the edge field breaks parity; the random hopping breaks
    translation)."""
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text[text.index("## Your own model"):text.index("## Python API")]
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", section, re.S) if "my_chain" in b)
    point = modelfile.build(modelfile.loads(block, "README"), 4, "ring", dict(seed=1))
    assert point.parity_breaker() == "hamiltonian term 'edge' at site 0"
    assert "hop" in point.translation_breaker()
    assert point.output_variables()["hop_current"].dims == ("bond",)
    assert point.has_jumps() and {t.sites for t in point.terms if t.name == "pair"} == \
        {(0, 2), (1, 3), (2, 0), (3, 1)}


# ----------------------------------------------------------------------------- correlations
CORRELATIONS = """
correlations:
  - {name: C_zz, left: sz, right: sz, site: SITE, connected: true}
  - {name: G_xy, left: sx, right: sy, site: SITE}
  - {name: N_nn, left: n, right: n, site: SITE, description: density-density}
  - {name: G_pm, left: sp, right: sm, site: SITE}
  - {name: G_zm, left: sz, right: sm, site: SITE, connected: true}
"""


@pytest.mark.parametrize("L, bc, site", [(4, "ring", 0), (5, "ring", 3), (4, "open", 0),
                                         (5, "open", 1)])
def test_correlations_against_distance_against_the_dense_reference(L, bc, site):
    """A model file's correlation functions against distance (issue 16, item 1), on the
    paper's model with every term on and complex couplings: lindring's values from its own
    steady state against numpy on the dense reference's density matrix
    (tests/dense_reference.py: no lindring code), for d = 1 .. L - 1 (ring, sites mod L) or
    L - 1 - site (open)."""
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "models" / "paper.yaml").read_text()
    mf = modelfile.loads(text + CORRELATIONS.replace("SITE", str(site)), "paper+correlations")
    kw = dict(J0=0.6 + 0.2j, phi=0.4, lam=0.3 - 0.1j, mu=0.8, kappa=0.2, eps_x=0.15,
              eps_zz=0.1, alpha=1.2 + 0.3j, beta=0.4, gamma=0.7 - 0.2j, delta=0.9)
    point = modelfile.build(mf, L, bc, kw)
    rho, kdim = dr.dense_steady_state(dr.dense_liouvillian(L, bc, **kw))
    assert kdim == 1
    state = LocalState(np.arange(4 ** L), _words_vector(rho, L), L, _OneRank())
    obs = model_observables(state, point)
    sx, sy, sz, n = dr.SX, dr.SY, dr.SZ, dr.NUM

    def ev(*ops, part=np.real):
        O = np.eye(2 ** L, dtype=complex)
        for op, j in ops:
            O = O @ dr.site_op(op, j, L)
        return part(dr.expect(O, rho))

    dmax = L - 1 if bc == "ring" else L - 1 - site
    js = [(site + d) % L for d in range(1, dmax + 1)]
    czz = [ev((sz, site), (sz, j)) - ev((sz, site)) * ev((sz, j)) for j in js]
    gxy = [ev((sx, site), (sy, j)) for j in js]
    nnn = [ev((n, site), (n, j)) for j in js]
    np.testing.assert_allclose(obs["C_zz"], czz, rtol=0, atol=1e-11)
    np.testing.assert_allclose(obs["G_xy"], gxy, rtol=0, atol=1e-11)
    np.testing.assert_allclose(obs["N_nn"], nnn, rtol=0, atol=1e-11)
    assert np.ptp(czz) > 1e-4 or np.abs(czz).max() > 1e-4     # not trivially zero
    # sp, sm: complex values, written as real and imaginary parts (both nonzero here: a flux)
    gpm = np.array([ev((dr.SP, site), (dr.SM, j), part=complex) for j in js])
    gzm = np.array([ev((sz, site), (dr.SM, j), part=complex)
                    - ev((sz, site), part=complex) * ev((dr.SM, j), part=complex) for j in js])
    assert "G_pm" not in obs and "G_zm" not in obs
    for name, ref in (("G_pm", gpm), ("G_zm", gzm)):
        np.testing.assert_allclose(obs[name + "_re"], ref.real, rtol=0, atol=1e-11)
        np.testing.assert_allclose(obs[name + "_im"], ref.imag, rtol=0, atol=1e-11)
        assert np.abs(ref.imag).max() > 1e-4 and np.abs(ref.real).max() > 1e-4
        assert point.output_variables()[name + "_im"].dims == ("distance",)
        assert "imaginary part of" in point.output_variables()[name + "_im"].long_name
    assert point.output_variables()["C_zz"].dims == ("distance",)
    assert "density-density" in point.output_variables()["N_nn"].long_name


def _words_vector(rho, L):
    """The dense reference's density matrix as lindring's vector over words (basis.py:
    letter 2 k_j + b_j per site, site 0 most significant), built here from the definition."""
    x = np.zeros(4 ** L, dtype=complex)
    for k in range(2 ** L):
        for b in range(2 ** L):
            w = 0
            for j in range(L):
                kj, bj = (k >> (L - 1 - j)) & 1, (b >> (L - 1 - j)) & 1
                w = 4 * w + 2 * kj + bj
            x[w] = rho[k, b]
    return x


@pytest.mark.parametrize("entry, message", [
    ("{name: C, left: sq, right: sz}", "correlations/0/left"),
    ("{name: C, left: sp sm, right: sz}", "correlations/0/left"),
    ("{name: C, left: sp, right: sz}\n  - {name: C_re, left: sz, right: sz}",
     "'C_re' is used twice"),
    ("{name: j_spin_re, left: sz, right: sz}\n  - {name: j_spin, left: sp, right: sm}",
     "'j_spin_re' is used twice"),
    ("{name: negativity_pair_re, left: sz, right: sz}\n  - {name: negativity_pair, left: sp, right: sm}",
     "used twice"),
    ("{name: sz_re, left: sz, right: sz}", None),      # not reserved: only sz itself
    ("{name: purity, left: sp, right: sm}", None),     # purity_re, purity_im: not reserved
    ("{name: C, left: sz}", "'right' is a required property"),
    ("{name: sz, left: sz, right: sz}", "always writes"),
    ("{name: C, left: sz, right: sz, site: -1}", "correlations/0/site"),
    ("{name: C, left: sz, right: sz, shift: 1}", "Additional properties"),
])
def test_bad_correlations_are_refused_naming_the_key(entry, message):
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "models" / "boundary_driven_xxz.yaml").read_text()
    text = text[:text.index("correlations:")] + f"correlations:\n  - {entry}\n"
    if message is None:
        modelfile.loads(text, "xxz")
        return
    with pytest.raises(modelfile.ModelFileError, match=message):
        modelfile.loads(text, "xxz")


def test_a_correlation_whose_site_leaves_no_distance_is_refused():
    mf = modelfile.load("models/boundary_driven_xxz.yaml")
    text = mf.text.replace("site: 0", "site: 3")
    with pytest.raises(modelfile.ModelFileError, match="site 3 leaves no distance"):
        modelfile.build(modelfile.loads(text, "xxz"), 4, "open")
    assert len(modelfile.build(modelfile.loads(text, "xxz"), 6, "open").correlations[0].pairs) == 2
    # two correlations from different sites share the file's distance dimension: the one from
    # the later site is NaN where its distance leaves the open chain
    two = modelfile.loads(mf.text + "  - {name: C_xx, left: sx, right: sx, site: 3}\n", "xxz")
    point = modelfile.build(two, 6, "open")
    assert [len(c.pairs) for c in point.correlations] == [5, 2]
    assert {c.length for c in point.correlations} == {5}
    out = point.correlations[1].split([0.5 + 1e-17j, -0.25])
    np.testing.assert_array_equal(out["C_xx"], [0.5, -0.25, np.nan, np.nan, np.nan])
    rng = np.random.default_rng(3)
    X = rng.normal(size=(64, 64)) + 1j * rng.normal(size=(64, 64))
    rho = X @ X.conj().T
    rho /= np.trace(rho)
    state = LocalState(np.arange(4 ** 6), _words_vector(rho, 6), 6, _OneRank())
    obs = model_observables(state, point)
    ref = [dr.expect(dr.site_op(dr.SX, 3, 6) @ dr.site_op(dr.SX, j, 6), rho).real for j in (4, 5)]
    np.testing.assert_allclose(obs["C_xx"][:2], ref, rtol=0, atol=1e-13)
    assert np.isnan(obs["C_xx"][2:]).all() and obs["C_zz"].shape == (5,)


def test_a_complex_correlation_leaving_the_chain_is_nan_in_both_parts():
    """A coherence <sp_3 sm_3+d> on an open chain of 6 sites exists for d = 1, 2: beyond, both
    its real and its imaginary part are NaN (the imaginary part was written as 0, a value)."""
    mf = modelfile.load("models/boundary_driven_xxz.yaml")
    two = modelfile.loads(mf.text + "  - {name: G_pm, left: sp, right: sm, site: 3}\n", "xxz")
    point = modelfile.build(two, 6, "open")
    out = point.correlations[1].split([0.5 + 0.1j, -0.25 - 0.2j])
    np.testing.assert_array_equal(out["G_pm_re"], [0.5, -0.25, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(out["G_pm_im"], [0.1, -0.2, np.nan, np.nan, np.nan])


# ----------------------------------------------------------------------------- symmetries
def _parity_superop(L):
    """rho -> P rho P (P = prod sigma^z), on row-major vectorised rho."""
    P = np.eye(1)
    for _ in range(L):
        P = np.kron(P, dr.SZ)
    return np.kron(P, P.conj())


def _site_permutation_superop(L, image):
    """rho -> U rho U^+ for the unitary U that moves site j to image(j)."""
    U = np.zeros((2 ** L, 2 ** L))
    for s in range(2 ** L):
        bits = [(s >> (L - 1 - j)) & 1 for j in range(L)]
        t = 0
        for j in range(L):
            t |= bits[j] << (L - 1 - image(j))
        U[t, s] = 1
    return np.kron(U, U)


@pytest.mark.parametrize("seed", range(12))
def test_symmetries_found_from_the_terms_commute_with_the_dense_liouvillian(seed):
    """Parity, translation and reflection, wherever a random model file's point (or its
    symmetric variant: every term on all sites, real couplings) says they hold, commute with
    the dense Liouvillian built independently (tests/dense_reference.py); where one is refused,
    the reason names a term of the file (issue 16, item 3)."""
    from lindring.core.basis import symmetries_of
    rng = np.random.default_rng(1000 + seed)
    L = int(rng.integers(3, 6))
    bc = ["ring", "open"][seed % 2]
    text, H, jumps = _random_model(rng, L, bc, uniform=seed >= 6)
    point = modelfile.build(modelfile.loads(text, f"random{seed}"), L, bc)
    dense = dr.lindblad_superop(H, jumps)
    assert np.abs(to_words(dense, L) - assembled(point)).max() <= 1e-12 * np.abs(dense).max()
    scale = np.abs(dense).max()
    ops = {"parity": _parity_superop(L),
           "reflection": _site_permutation_superop(
               L, (lambda j: (-j) % L) if bc == "ring" else (lambda j: L - 1 - j))}
    if bc == "ring":
        ops["momentum"] = _site_permutation_superop(L, lambda j: (j + 1) % L)
    has = symmetries_of(point)
    names = {t.name for t in point.terms}
    for sym, S in ops.items():
        if has[sym]:
            assert np.abs(S @ dense - dense @ S).max() <= 1e-12 * scale, sym
        elif sym != "momentum" or bc == "ring":
            assert any(f"'{n}'" in has["why_not"][sym] for n in names), has["why_not"][sym]


def test_a_refused_reflection_names_the_terms():
    from lindring.core.basis import resolve_symmetry
    xxz = modelfile.load("models/boundary_driven_xxz.yaml")
    driven = modelfile.build(xxz, 4, "open", dict(drive=0.5))
    with pytest.raises(ValueError, match=r"\(the site \(0,\): jumps term 'up_first', jumps term "
                                         r"'down_first', jumps term 'up_last', jumps term "
                                         r"'down_last': not their own mirror images\)"):
        resolve_symmetry(driven, "reflection")
    # a random field: the one term that breaks it is named
    ising = modelfile.load("models/dissipative_ising.yaml")
    with pytest.raises(ValueError, match=r"\(the site \(1,\): hamiltonian term 'longitudinal': "
                                         r"not its own mirror image\)"):
        resolve_symmetry(modelfile.build(ising, 4, "ring", dict(w=0.2)), "reflection")
    # terms that are not mirror images one by one, but whose sum is: the reflection holds
    text = GOOD.replace("[[h, sx_0]]", "[[h, sx_0]], where: first}\n  - {name: field2, "
                                      "sum: [[h, sx_0]], where: last")
    both = modelfile.build(modelfile.loads(text), 4, "open")
    assert "reflection" in resolve_symmetry(both, "auto")
    # no bias: the two baths are mirror images, and the reflection holds
    assert resolve_symmetry(modelfile.build(xxz, 4, "open", dict(drive=0)), "auto") == \
        "parity+reflection"


def test_random_fields_relative_and_absolute_widths():
    """A random field is center (1 + width u_j) (default) or center + width u_j (relative:
    false), u_j uniform in [-1, 1) from numpy's PCG64 seeded with [seed, index of the field]."""
    text = """
name: fields
parameters: {h: 0, W: 0.4, J: 2, seed: 3}
fields:
  J_j: {random: {center: J, width: W, seed: seed}}
  h_j: {random: {center: h, width: W, relative: false, seed: seed}}
hamiltonian:
  - {name: field, sum: [[h_j, sz_0]]}
  - {name: zz, sum: [[J_j, sz_0 sz_1]]}
jumps:
  - {name: decay, sum: [[1, sm_0]]}
"""
    point = modelfile.build(modelfile.loads(text), 5, "ring")
    u0 = np.random.Generator(np.random.PCG64([3, 0])).uniform(-1, 1, 5)
    u1 = np.random.Generator(np.random.PCG64([3, 1])).uniform(-1, 1, 5)
    np.testing.assert_array_equal(point.fields["J_j"], 2 * (1 + 0.4 * u0))
    np.testing.assert_array_equal(point.fields["h_j"], 0.4 * u1)
    for t in point.terms:
        if t.name == "field":
            np.testing.assert_allclose(t.operator, 0.4 * u1[t.start] * dr.SZ, atol=1e-15)
    with pytest.raises(modelfile.ModelFileError, match="fields/h_j"):
        modelfile.loads(text.replace("relative: false", "relative: no-such"))


def test_random_field_takes_a_literal_seed_or_a_parameter_name():
    """``seed: 1`` under ``random:`` draws from PCG64([1, index of the field]) as a parameter of
    value 1 does; a negative, fractional or unknown seed is refused saying what is accepted."""
    text = """
name: literal_seed
parameters: {W: 0.4, s: 1}
fields:
  h_j: {random: {center: 0, width: W, relative: false, seed: SEED}}
hamiltonian:
  - {name: field, sum: [[h_j, sz_0]]}
jumps:
  - {name: decay, sum: [[1, sm_0]]}
"""
    u = np.random.Generator(np.random.PCG64([1, 0])).uniform(-1, 1, 4)
    for seed in ("1", "s"):
        point = modelfile.build(modelfile.loads(text.replace("SEED", seed)), 4, "open")
        np.testing.assert_array_equal(point.fields["h_j"], 0.4 * u)
    for bad in ("-1", "1.5", "true"):
        with pytest.raises(modelfile.ModelFileError,
                           match="fields/h_j/random/seed: .*; accepted: the name of an integer "
                                 r"parameter \(seed: seed\) or a literal integer >= 0"):
            modelfile.loads(text.replace("SEED", bad))
    with pytest.raises(modelfile.ModelFileError,
                       match="'t' is not a parameter: give the name of an integer parameter .* "
                             "or a literal integer >= 0"):
        modelfile.loads(text.replace("SEED", "t"))

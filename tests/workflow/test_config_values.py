"""One check of a workflow config's values on every path: the study expansion called in-process
(``expand_study``, ``expand``: the API, the mean-field maps) refuses and accepts exactly what the
workflow's own check does (``validate_config`` then ``expand``, what ``workflow/rules/common.smk``
runs), and an accepted value reaches ``lindring solve`` as the option it stands for.

The workflow side is also run through Snakemake once (tests/workflow/test_workflow.py,
``BAD_CONFIGS_SNAKEMAKE``: ``gap: "yes"``)."""
import copy

import pytest

from lindring.cli import build_parser, solve_options
from lindring.workflow.studies import StudyError, expand, expand_study, validate_config

ED = dict(methods=["ed"], bc="ring", L=[4], preset="minimal", fixed=dict(alpha=2, delta=1.5))
MPO = dict(methods=["mpo"], bc="open", L=[4], preset="minimal", fixed=dict(alpha=2, delta=1))


def _with(base, **keys):
    return dict(copy.deepcopy(base), **keys)


#: (study, the key a refusal names, or None: accepted)
CASES = [
    # strings for booleans: refused (bool("no") is True: check_unique "no" used to check)
    (_with(ED, gap="yes"), "studies.s.gap"),
    (_with(ED, check_unique="no"), "studies.s.check_unique"),
    (_with(ED, check_unique="false"), "studies.s.check_unique"),
    (_with(ED, warm_start="yes"), "studies.s.warm_start"),
    (_with(ED, gap=1), "studies.s.gap"),
    # floats and text for integers
    (_with(ED, L=4.0), "studies.s.L"),
    (_with(ED, L="1e3"), "studies.s.L"),
    (_with(ED, L=[4, 5.0]), "studies.s.L"),
    (_with(ED, grid=dict(mu=dict(start=0, stop=1, num=3.0))), "studies.s.grid.mu.num"),
    (_with(MPO, mpo=dict(chi="8")), "studies.s.mpo.chi"),
    (_with(MPO, mpo=dict(chi=8.5)), "studies.s.mpo.chi"),
    (_with(MPO, mpo=dict(chi=8.0)), None),                 # the integer 8, written --chi=8
    (_with(MPO, mpo=dict(order=4.0)), None),
    (_with(MPO, mpo=dict(refine_sweeps=12)), None),        # was written --refine-sweeps=12.0
    (_with(ED, range=1.0), None),
    # numbers as text (YAML reads 1e-10 as a string): accepted for every real value
    (_with(ED, max_residual="1e-10"), None),
    (_with(ED, max_residual=1.234567890123456789e-10), None),   # canonical: as the file says
    (_with(MPO, mpo=dict(tol="1e-9", dt="5E-2", t_max="1e2")), None),
    (_with(ED, max_residual="-1e-10"), "studies.s.max_residual"),   # range: the registry
    (_with(ED, max_residual=0), "studies.s.max_residual"),
    (_with(MPO, mpo=dict(dt="-1e-3")), "studies.s.mpo.dt"),
    (_with(MPO, mpo=dict(tol="1e0")), "studies.s.mpo.tol"),
    (_with(ED, max_residual="1e-10x"), "studies.s.max_residual"),
    (_with(ED, fixed=dict(alpha="1+0.5j", delta="-1e-3")), None),
    (_with(ED, fixed=dict(alpha=True, delta=1.5)), "studies.s.fixed.alpha"),
    (_with(ED, fixed=dict(alpha=2, delta=1.5, kappa="-1e-3")), "studies.s.fixed.kappa"),
    # choices
    (_with(ED, solver=1), "studies.s.solver"),
    (_with(ED, symmetry=True), "studies.s.symmetry"),
    (_with(ED, bc=None), "studies.s.bc"),
]


def _outcome(expansion):
    try:
        return [job.cli_args() for job in expansion()]
    except StudyError as err:
        return f"refused: {err}"


@pytest.mark.parametrize("study, key", CASES, ids=[f"{i}-{k}" for i, (_, k) in enumerate(CASES)])
def test_in_process_expansion_and_the_workflow_check_agree(study, key):
    in_process = _outcome(lambda: expand_study("s", copy.deepcopy(study)))
    whole = _outcome(lambda: expand({"studies": {"s": copy.deepcopy(study)}})["s"])
    workflow = _outcome(lambda: expand(validate_config({"studies": {"s": copy.deepcopy(study)}}))["s"])
    assert in_process == whole == workflow
    if key is not None:
        assert isinstance(workflow, str) and f"refused: {key}" in workflow, workflow
        return
    assert not isinstance(workflow, str), workflow
    jobs = expand_study("s", copy.deepcopy(study))
    for job in jobs:    # what the job runs is what the study says, read by lindring's own parser
        args = build_parser().parse_args(["solve"] + job.cli_args() + ["-o", "x.nc"])
        given = {k: v for k, v in solve_options(args).items() if v is not None}
        for name, value in job.options().items():
            if value is not None and name in given:
                assert given[name] == value and type(given[name]) is type(value), name


def test_the_expansion_does_not_change_the_config_it_is_given():
    study = _with(ED, gap=True)
    config = {"studies": {"s": copy.deepcopy(study)}}
    expand(config)
    expand_study("s", study)
    assert config == {"studies": {"s": study}} and study == _with(ED, gap=True)


#: a model file whose parameters share names with the paper's (mu, phi), complex here
SHARED_NAMES = """name: shared_names
parameters:
  mu: {default: 1}
  phi: {default: 0.5}
hamiltonian:
  - {name: field, sum: [[1, sx_0]]}
jumps:
  - {name: decay, sum: [[mu, sm_0]]}
  - {name: pump, sum: [[phi, sp_0]]}
"""


def test_a_model_files_parameters_are_its_own_not_the_papers(tmp_path):
    """A model file's parameter named like one of the paper's takes the model's kind (complex
    mu, phi: accepted), a paper study's mu and phi stay real; and the refusal says what a value
    must be, not the pattern that tests it."""
    path = tmp_path / "shared names.yaml"
    path.write_text(SHARED_NAMES)
    study = dict(methods=["ed"], bc="open", L=[3], model=str(path),
                 fixed=dict(mu="1+0.5j", phi="0.2-0.1j"))
    jobs = expand(validate_config({"studies": {"s": study}}))["s"]
    assert dict(jobs[0].params)["mu"] == 1 + 0.5j
    for name in ("mu", "phi"):
        paper = _with(ED, fixed=dict(alpha=2, delta=1.5, **{name: "1+0.5j"}))
        with pytest.raises(StudyError, match=rf"studies\.s\.fixed\.{name}: '1\+0\.5j' is not a "
                                             "real number, or its text"):
            validate_config({"studies": {"s": paper}})
        cmf_map = {"cmf_maps": {"m": dict(preset="minimal", fixed={name: "1j", "delta": 1},
                                          grid=dict(alpha=[1, 2]))}}
        with pytest.raises(StudyError, match=rf"cmf_maps\.m\.fixed\.{name}"):
            validate_config(cmf_map)
    with pytest.raises(StudyError, match=r"studies\.s\.L: '1e3' is not an integer >= 2"):
        validate_config({"studies": {"s": _with(ED, L="1e3")}})


@pytest.mark.parametrize("value, expect", [("4e3", 4000.0), (4000, 4000), ("0.5", ">= 1"),
                                           ("abc", "is not a number, or its text")])
def test_a_top_level_budget_may_be_written_as_yaml_reads_4e3(value, expect):
    """mem_per_rank_mb: 4e3 (YAML's text) as a study's max_residual: 1e-9 is: read, its range
    checked by the registry, naming the key."""
    cfg = {"mem_per_rank_mb": value, "studies": {"s": copy.deepcopy(ED)}}
    if isinstance(expect, str):
        with pytest.raises(StudyError, match=rf"^mem_per_rank_mb: .*{expect}"):
            validate_config(cfg)
    else:
        assert validate_config(cfg)["mem_per_rank_mb"] == expect

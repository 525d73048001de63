"""Issue 16: workflow studies of a model file (``model: FILE``, its parameters as grid axes,
``seed`` included). The expansion is checked without Snakemake; one job is run through the
command line with the arguments the workflow gives it, and its file must belong to its point
(the gather's check) and equal ``lindring.solve`` of the same point."""
import numpy as np
import pytest
import xarray as xr

import lindring
from conftest import ROOT, run_cli
from lindring.workflow.gather import check_point_file
from lindring.workflow.studies import StudyError, expand, validate_config

MODEL = str(ROOT / "models" / "disordered_ring.yaml")


def _config(**study):
    st = dict(methods=["ed"], bc="ring", L=[4], model=MODEL, fixed=dict(w=0.2),
              grid=dict(seed=[0, 1, 2], alpha=[2.0]))
    st.update(study)
    return validate_config({"studies": {"dis": st}, "run": ["dis"]})


def test_model_study_expands_over_the_models_parameters():
    jobs = expand(_config())["dis"]
    assert [dict(j.coords)["seed"] for j in jobs] == [0, 1, 2]
    job = jobs[1]
    args = job.cli_args()
    assert f"--model={MODEL}" in args and "--set=seed=1" in args and "--set=w=0.2" in args
    assert not any(a.startswith("--alpha") for a in args)
    assert job.path.endswith("dis/ed/ring/L4/seed=1_alpha=2.nc")
    point = job.model_params()
    assert point.values["seed"] == 1 and point.values["w"] == 0.2


@pytest.mark.parametrize("study, message", [
    (dict(grid=dict(zeta=[1])), r"studies.dis.grid.zeta: unknown parameter \(known: alpha"),
    (dict(fixed=dict(kappa=1)), "studies.dis.fixed.kappa: unknown parameter"),
    (dict(methods=["ed", "cmf"]), "ed or mpo only"),
    (dict(methods=["mpo"]), "method 'mpo' does not support bc='ring'"),
    (dict(preset="minimal"), "preset do not apply"),
    (dict(model="models/missing.yaml"), "studies.dis.model models/missing.yaml: model file not found"),
    (dict(grid=dict(seed=[0.5])), "'seed' must be an integer"),
    # every error of the model file names the key that gave it, the file, and the entry
    (dict(grid=dict(seed=[0.5])),
     f"studies.dis.model {MODEL}: parameter 'seed' must be an integer, got 0.5 "
     r"\(studies.dis.grid.seed = 0.5\)"),
    (dict(fixed=dict(w="-1e-3")),
     f"studies.dis.model {MODEL}: parameter 'w' must be >= 0, got -0.001 "
     r"\(studies.dis.fixed.w = -0.001\)"),
    (dict(fixed=dict(w="1+1j")), f"studies.dis.model {MODEL}: parameter 'w' must be real"),
    (dict(symmetry="momentum"), "jumps term 'f' differs between sites"),
])
def test_bad_model_studies_are_refused_naming_the_key(study, message):
    with pytest.raises(StudyError, match=message):
        expand(_config(**study))


def test_a_model_study_job_writes_the_file_of_its_point(tmp_path):
    job = expand(_config())["dis"][2]
    out = tmp_path / "point.nc"
    run_cli(["solve"] + job.cli_args() + ["-o", out])
    with xr.open_dataset(out) as ds:
        assert check_point_file(job, ds.attrs) == []
        ref = lindring.solve("ed", L=4, bc="ring", model=MODEL,
                             parameters=dict(seed=2, w=0.2, alpha=2.0))
        np.testing.assert_array_equal(ds.I_eta.values, ref.I_eta.values)


def test_snakemake_sweeps_the_seed_of_a_disordered_ring(tmp_path):
    """The whole workflow on a model study: one job per seed, gathered along a seed axis."""
    from test_workflow import snakemake
    cfg = {"studies": {"dis": dict(methods=["ed"], bc="ring", L=[3], model=MODEL,
                                   fixed=dict(w=0.3), grid=dict(seed=[0, 1]))}}
    snakemake(tmp_path, cfg)
    with xr.open_dataset(tmp_path / "results" / "dis.nc") as ds:
        assert ds.attrs["points_present"] == 2 and ds.attrs["model_file"] == MODEL
        for seed in (0, 1):
            ref = lindring.solve("ed", L=3, bc="ring", model=MODEL, parameters=dict(seed=seed, w=0.3))
            got = ds.I_eta.sel(technique="ed", L=3, seed=seed).values
            np.testing.assert_allclose(got, ref.I_eta.values, rtol=0, atol=1e-13)
        assert not np.allclose(ds.I_eta.sel(seed=0).values, ds.I_eta.sel(seed=1).values)


def test_a_model_study_by_mpo_writes_the_file_of_its_point(tmp_path):
    """ED and MPO both run a model file's study (issue 16, item 4): an open XXZ chain."""
    xxz = str(ROOT / "models" / "boundary_driven_xxz.yaml")
    cfg = validate_config({"studies": {"xxz": dict(methods=["ed", "mpo"], bc="open", L=[4],
                                                   model=xxz, grid=dict(Delta=[0.5]),
                                                   mpo=dict(chi=16))}})
    jobs = expand(cfg)["xxz"]
    assert [j.method for j in jobs] == ["ed", "mpo"]
    job = jobs[1]
    assert "--method=mpo" in job.cli_args() and f"--model={xxz}" in job.cli_args()
    out = tmp_path / "point.nc"
    run_cli(["solve"] + job.cli_args() + ["-o", out])
    with xr.open_dataset(out) as ds:
        assert check_point_file(job, ds.attrs) == []
        ref = lindring.solve("ed", L=4, bc="open", model=xxz, parameters=dict(Delta=0.5))
        np.testing.assert_allclose(ds.j_spin.values, ref.j_spin.values, rtol=0, atol=1e-9)


def test_readme_disorder_sweep_is_config_disorder():
    """The sweep over a disordered ring in the README's "Your own model" section is
    config/disorder.yaml (descriptions aside), and that config is valid."""
    import re
    import yaml
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Your own model"):text.index("## Python API")]
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", section, re.S) if "studies:" in b)
    readme = yaml.safe_load(block)
    config = yaml.safe_load((ROOT / "config" / "disorder.yaml").read_text())
    for st in config["studies"].values():
        st.pop("description")
    assert readme == {k: v for k, v in config.items() if k != "quicklook"}
    validate_config(config)


@pytest.mark.parametrize("name", ["bond", "site", "technique", "distance", "pair"])
def test_a_grid_axis_named_like_a_dimension_of_the_gathered_file_is_refused(tmp_path, name):
    """A model file whose parameter is named `bond` (or `site`, ...) swept on the grid: the
    gather stopped with xarray's traceback ("Dimension bond already exists"), and one named
    `technique` was gathered with the parameter's values as the technique coordinate (0.2, 0.4
    in place of "ed"), silently. Refused at the config check, naming the key; as a fixed
    parameter it stays allowed."""
    text = (ROOT / "models" / "dissipative_ising.yaml").read_text()
    text = text.replace("  g: {default: 0.5, real: true}", f"  {name}: {{default: 0.5, real: true}}")
    text = text.replace("[[g, sx_0]]", f"[[{name}, sx_0]]")
    model_file = tmp_path / f"m_{name}.yaml"
    model_file.write_text(text)
    study = dict(methods=["ed"], bc="open", L=[3], model=str(model_file))
    with pytest.raises(StudyError, match=rf"studies.s.grid.{name}: a grid axis cannot be named"):
        expand(validate_config({"studies": {"s": dict(study, grid={name: [0.2, 0.4]})}}))
    (job,) = expand(validate_config({"studies": {"s": dict(study, fixed={name: 0.2})}}))["s"]
    assert f"--set={name}=0.2" in job.cli_args()


@pytest.mark.parametrize("observable", ["g", "sz"])
def test_a_grid_axis_named_like_a_variable_of_the_point_files_is_refused(tmp_path, observable):
    """The dissipative Ising chain with its observable mx renamed `g` (its own transverse-field
    parameter), `g` swept on the grid: every point solved, then the gather stopped with
    xarray's "g already exists as coordinate or variable name". Refused at the config check;
    likewise a parameter named like one of lindring's variables (`sz`)."""
    text = (ROOT / "models" / "dissipative_ising.yaml").read_text()
    if observable == "g":
        text = text.replace("{name: mx, description", "{name: g, description")
        axis = "g"
    else:
        text = text.replace("  g: {default: 0.5, real: true}", "  sz: {default: 0.5, real: true}")
        text = text.replace("[[g, sx_0]]", "[[sz, sx_0]]")
        axis = "sz"
    model_file = tmp_path / "m.yaml"
    model_file.write_text(text)
    study = dict(methods=["ed"], bc="open", L=[3], model=str(model_file), grid={axis: [0.2, 0.4]})
    with pytest.raises(StudyError, match=rf"studies.s.grid.{axis}: also the name of a variable"):
        expand(validate_config({"studies": {"s": study}}))

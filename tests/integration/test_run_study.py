"""``lindring.run_study``: a workflow study solved in one process and merged as ``lindring.gather``
merges the workflow's files. Its ED values at every (L, alpha) against the independent dense
reference (so that each point lands at its own coordinates), a second technique beside it, a point
that fails (NaN, named), and bad studies refused before any compute."""
import numpy as np
import pytest
import xarray as xr

import lindring
from dense_reference import dense_liouvillian, dense_observables, dense_steady_state, minimal_params
from lindring.workflow.studies import StudyError

STUDY = dict(methods=["ed", "cmf"], bc="ring", L=[3, 4], preset="minimal",
             fixed=dict(delta=1.5), grid=dict(alpha=[0.5, 2.0, "1+0.5j"]))


@pytest.fixture(scope="module")
def scan():
    return lindring.run_study(STUDY)


def test_each_point_is_the_dense_steady_state_at_its_coordinates(scan):
    assert scan.attrs["points_expected"] == scan.attrs["points_present"] == 12
    assert scan.attrs["failed_points"] == "none"
    assert scan.attrs["computed"].startswith("in process")
    assert list(scan.L.values) == [3, 4]
    for L in (3, 4):
        for alpha in scan.alpha.values:
            kw = minimal_params(complex(alpha), 1.5)
            rho, kernel = dense_steady_state(dense_liouvillian(L, "ring", **kw))
            assert kernel == 1
            ref = dense_observables(rho, L, "ring", **kw)
            ed = scan.sel(technique="ed", L=L, alpha=alpha)
            np.testing.assert_allclose(ed.current_eta.values[:L], ref["current_eta"], atol=1e-10)
            np.testing.assert_allclose(ed.sz.values[:L], ref["sz"], atol=1e-10)
            assert np.isnan(ed.current_eta.values[L:]).all()      # no bond L at the smaller L
            assert float(ed.kernel_dim) == 1


def test_a_second_technique_sits_beside_the_first(scan):
    """The mean field's points at their own coordinates: each as lindring.solve gives it."""
    for alpha in (0.5, 2.0):
        one = lindring.solve("cmf", L=4, preset="minimal", alpha=alpha, delta=1.5)
        got = scan.sel(technique="cmf", L=4, alpha=alpha)
        n = one.sizes["bond"]              # the mean field's cluster: 2 bonds
        np.testing.assert_allclose(got.current_eta.values[:n], one.current_eta.values,
                                   rtol=1e-12)
        assert np.isnan(got.current_eta.values[n:]).all()


def test_a_point_that_fails_is_nan_and_named():
    """max_residual (an option of ED) below what double precision reaches: the ED points fail
    their verification, the mean field's do not; the study comes back, the ED points NaN and
    named with the error. Where every point fails, an error names them."""
    study = dict(methods=["ed", "cmf"], bc="ring", L=3, preset="minimal", fixed=dict(delta=1.5),
                 grid=dict(alpha=[1.0, 2.0]), max_residual=1e-300)
    ds = lindring.run_study(study)
    assert ds.attrs["points_present"] == 2
    assert ds.attrs["failed_points"].count("results/study/ed/ring/L3/") == 2
    assert "residual" in ds.attrs["failed_points"]
    assert np.isnan(ds.current_eta.sel(technique="ed").values).all()
    assert np.isfinite(ds.current_eta.sel(technique="cmf").values[..., :2]).all()
    with pytest.raises(lindring.SolverError, match="every point failed: results/study/ed"):
        lindring.run_study(dict(study, methods=["ed"]))


@pytest.mark.parametrize("study, message", [
    (dict(methods=["ed"], bc="ring", L=3, preset="minimal", fixed=dict(delta=1.5),
          grid=dict(alpha=[1.0]), gap="yes"), "gap"),
    (dict(methods=["ed"], bc="ring", L=3, preset="minimal", grid=dict(alpha=[1.0])), "delta"),
    (dict(methods=["ed"], bc="ring", L=2, preset="minimal", fixed=dict(alpha=1, delta=1.5)),
     "L"),
])
def test_bad_studies_are_refused_before_any_point(tmp_path, study, message):
    with pytest.raises((StudyError, lindring.ModelError), match=message):
        lindring.run_study(study, output=tmp_path / "x.nc")
    assert not (tmp_path / "x.nc").exists()


def test_a_named_study_of_a_config_file_written_to_output(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("studies:\n  small:\n    methods: [ed]\n    bc: open\n    L: 3\n"
                      "    preset: minimal\n    fixed: {alpha: 2, delta: 1.5}\n")
    ds = lindring.run_study("small", config, output=tmp_path / "small.nc")
    with xr.open_dataset(tmp_path / "small.nc") as back:
        np.testing.assert_allclose(back.current_eta.values, ds.current_eta.values)
        assert back.attrs["study"] == "small"
    with pytest.raises(StudyError, match="no study 'other'"):
        lindring.run_study("other", config)
    with pytest.raises(TypeError, match="study's name or the study as a mapping"):
        lindring.run_study(["small"], config)


def test_points_beyond_double_precision_are_listed_in_the_gathered_file():
    """A point whose rates span beyond double precision (alpha 1e8 beside delta 1.5: its
    current is wrong by ~50 %, every check of the state passed) carries precision_note; the
    gathered study lists it in imprecise_points and the summary says so."""
    from lindring.report.quicklook import point_lists
    ds = lindring.run_study(dict(methods=["ed"], bc="ring", L=3, preset="minimal",
                                 fixed=dict(delta=1.5), grid=dict(alpha=[2.0, 1e8])))
    assert ds.attrs["imprecise_points"] == "results/study/ed/ring/L3/alpha=100000000.nc"
    assert point_lists(ds) == ["  1 with rates spanning beyond double precision (precision_note "
                               "of each file): ed L3 alpha=100000000"]

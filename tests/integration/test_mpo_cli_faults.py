"""The new user's MPO points through the command line (helper branch ``mpofix``), against ED."""
import numpy as np
import pytest

from test_mpo_cli import _claim, _obs, _scale

#: F3a: coherent hopping with flux, local decay and both perturbations, open chain
F3A = ["--bc", "open", "--L", "6", "--J0", "2", "--phi", "0.7", "--mu", "1", "--kappa", "0.2",
       "--eps-x", "0.5", "--eps-zz", "0.5"]


@pytest.mark.slow
def test_exact_chi_is_never_too_small(tmp_path):
    """L = 6, chi = 64 = 4^3 holds every state exactly: the point was refused as 'bond
    dimension too small' by the random second start (its evolution keeps 16 states per bond).
    Now solved, unique, and within its own claimed error of ED (measured: 2e-10). ~15 s."""
    ed = _obs(tmp_path, "ed", ["--method", "ed", *F3A])
    mpo = _obs(tmp_path, "mpo", ["--method", "mpo", *F3A, "--chi", "64"])
    assert mpo.attrs["unique"] == 1 and int(mpo["kernel_dim"]) == 1
    claim = _claim(mpo)
    for k in ("sz", "current_J"):
        assert np.abs(mpo[k].values - ed[k].values).max() <= claim * _scale(mpo, k), k

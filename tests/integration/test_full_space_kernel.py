"""The uniqueness of the steady state in the full operator space, not only in the solved sector:
every sector's kernel counted (``--gap``, or densely without it at L <= 5), against the kernel
of the independent dense Liouvillian (``dense_reference``), and the steady state written where
only other sectors hold the extra zero modes checked against the dense state reached from the
vacuum."""
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import xarray as xr

from conftest import run_cli
from dense_reference import dense_liouvillian, dense_observables
from lindring.core import model
from lindring.solvers.gap import KERNEL_CHECK_MAX_WORDS
from lindring.solvers.methods import run_ed

MODELS = Path(__file__).resolve().parents[2] / "models"
PARAMS = ("J0", "phi", "lam", "mu", "kappa", "eps_x", "eps_zz", "alpha", "beta", "gamma", "delta")
#: J0 = lam = 1 make H = sum sigma^x_b sigma^x_{b+1}; the jumps gamma sm_{b+1} leave site 0
#: alone: sigma^x_0 is conserved, its two values give two steady states exchanged by the parity
#: (kernel 1 in the parity-even sector, 1 in the odd one)
CONSERVED = dict(J0=1.0, lam=1.0, gamma=-1.23)


def _dense(p):
    return dense_liouvillian(p.L, p.bc, range=p.range, **{k: getattr(p, k) for k in PARAMS})


def _dense_kernel(p) -> int:
    """The kernel dimension of the dense Liouvillian: singular values below 1e-9 of the
    largest (as dense_steady_state counts them)."""
    s = np.linalg.svd(_dense(p), compute_uv=False)
    return int(np.sum(s < 1e-9 * s[0]))


def _ed(p, **kw):
    data, attrs = run_ed(p, **kw)
    return {k: v for k, (_, v) in data.items()}, attrs


CASES = [(3, "open", CONSERVED), (4, "open", CONSERVED), (5, "open", CONSERVED),
         (2, "open", dict(preset="minimal", alpha=2.0, delta=1.5)),
         (4, "ring", dict(preset="minimal", alpha=1.0, delta=0.0)),      # the dark magnon
         (5, "ring", dict(preset="minimal", alpha=0.0, delta=1.0)),
         (3, "open", dict(alpha=1.0, gamma=1.0)),            # 4: kernel 2 in the solved sector
         (4, "ring", dict(alpha=1.0, gamma=1.0)),
         (3, "ring", dict(alpha=1.0, gamma=-1.0, mu=1.0)),
         (4, "open", dict(preset="minimal", alpha=2.0, delta=1.5)),
         (3, "open", dict(preset="minimal", alpha=1.0, delta=0.0)),
         (5, "open", dict(preset="minimal", alpha=0.0, delta=1.0)),
         (3, "ring", dict(preset="minimal", alpha=1.0, delta=0.0)),
         # Hermitian jumps sigma^x_b + sigma^x_{b+1}, no H: kernel 18, in every k sector
         (4, "ring", dict(alpha=1.0, beta=1.0, gamma=1.0, delta=1.0)),
         (5, "ring", dict(preset="minimal", alpha=2.0, delta=1.5)),
         # kernel 1 in the parity-even k = 0 sector, 1 in the parity-odd k = 0 one
         (5, "ring", dict(J0=1.0, gamma=1.0, delta=1.0))]


@pytest.mark.parametrize("L,bc,kw", CASES)
def test_kernel_over_every_sector_is_the_dense_kernel(L, bc, kw):
    """Without --gap (L <= 5: every sector counted densely) and with it (every sector searched
    for the gap): kernel_dim is the dense kernel's dimension and unique says whether it is 1."""
    p = model.make_params(L, bc=bc, **kw)
    dense = _dense_kernel(p)
    for gap in (False, True):
        obs, attrs = _ed(p, gap=gap)
        assert obs["kernel_dim"] == dense, (gap, attrs["kernel_by_sector"])
        assert attrs["unique"] == int(dense == 1)
        assert attrs["spectrum_sector"].startswith("the full operator space")
        counts = [int(part.rsplit(": ", 1)[1]) for part in attrs["kernel_by_sector"].split("; ")]
        assert sum(counts) == dense
        if gap:
            assert attrs["gap_kernel_dim"] == dense


def _relaxed(p, rho0):
    """The dense state ``rho0`` relaxes to: exp(L t) rho0 at t = 40 / gap (e^-40)."""
    Ld = _dense(p)
    ev = np.linalg.eigvals(Ld)
    gap = -ev.real[ev.real < -1e-9].max()
    D = 2 ** p.L
    rho = (scipy.linalg.expm(Ld * (40 / gap)) @ rho0.reshape(-1)).reshape(D, D)
    return rho / np.trace(rho)


def _product(*states):
    out = np.ones((1, 1))
    for s in states:
        out = np.kron(out, s)
    return out


def test_extra_zero_modes_in_another_sector_are_flagged(tmp_path):
    """Open L = 3, sigma^x_0 conserved: kernel 1 in the solved (parity-even) sector, 2 in the
    full space. The file says unique = 0, kernel_dim 2, the sectors; a warning names the parity-
    odd sector; the observables are those of the state the vacuum relaxes to (dense, exp(L t)),
    which the dense kernel confirms is not the only steady state."""
    p = model.make_params(3, bc="open", **CONSERVED)
    assert _dense_kernel(p) == 2
    obs, attrs = _ed(p)
    assert attrs["unique"] == 0 and obs["kernel_dim"] == 2
    assert attrs["kernel_by_sector"] == ("parity even, reflection not split (solved): 1; "
                                         "parity odd, reflection not split: 1")
    # the warning as a user sees it (in this process a solve may run in a child world of the
    # other PETSc build, whose log records a caplog here does not see)
    proc = run_cli(["solve", "--bc", "open", "--L", 3,
                    *[a for k, v in CONSERVED.items() for a in (f"--{k}", v)],
                    "-o", tmp_path / "x.nc"])
    warned = [ln for ln in proc.stderr.splitlines() if "full operator space" in ln]
    assert warned and "parity odd" in warned[0] and "dimension 2" in warned[0]
    down, plus = np.diag([1.0, 0.0]), np.full((2, 2), 0.5)      # |0><0|, |+><+|
    vacuum = _relaxed(p, _product(down, down, down))
    ref = dense_observables(vacuum, 3, "open", **{k: getattr(p, k) for k in PARAMS})
    for name in ("sz", "current_J", "current_eta", "purity", "purity_pair", "negativity_half"):
        np.testing.assert_allclose(obs[name], ref[name], atol=1e-9, err_msg=name)
    # another steady state: from |+> on site 0, <sigma^x_0> = 1 is kept; L rho = 0, and it is
    # not the one written
    other = _relaxed(p, _product(plus, down, down))
    sx0 = np.kron(np.array([[0, 1], [1, 0]]), np.eye(4))
    assert np.trace(sx0 @ other).real == pytest.approx(1, abs=1e-9)
    assert np.abs(_dense(p) @ other.reshape(-1)).max() < 1e-9
    assert np.abs(other - vacuum).max() > 0.1


@pytest.mark.parametrize("symmetry", ["parity", "momentum"])
def test_a_sector_that_is_not_one_of_the_models(symmetry):
    """Ring L = 5, J0 = 1, gamma = delta = 1 (kernel vectors at parity even and odd, both at
    k = 0): --symmetry parity solves in the parity-even sector of every k, not one of the
    sectors searched (they split k), which holds one of them: its state written, flagged; the
    full-space count is still the dense one. The momentum-zero sector holds both (observables
    NaN)."""
    p = model.make_params(5, bc="ring", J0=1.0, gamma=1.0, delta=1.0)
    assert _dense_kernel(p) == 2
    obs, attrs = _ed(p, symmetry=symmetry)
    assert obs["kernel_dim"] == 2 and attrs["unique"] == 0
    assert "(solved)" not in attrs["kernel_by_sector"] and "parity odd" in attrs["kernel_by_sector"]
    assert np.isfinite(obs["sz"]).all() == (symmetry == "parity")


def test_full_space_kernel_with_a_sector_other_than_auto():
    """--symmetry none: the solve covers the full space (kernel 2: NaN observables); the
    solved sector is not one of the model's sectors: every sector searched, the same count."""
    p = model.make_params(3, bc="open", **CONSERVED)
    obs, attrs = _ed(p, symmetry="none")
    assert obs["kernel_dim"] == 2 and attrs["unique"] == 0 and np.isnan(obs["sz"]).all()
    assert attrs["spectrum_sector"] == "the full operator space"
    obs, attrs = _ed(p, symmetry="none", gap=True)
    assert attrs["gap_kernel_dim"] == 2 and obs["kernel_dim"] == 2


def test_no_dense_check_beyond_its_size(tmp_path):
    """L = 6 (4^6 words > KERNEL_CHECK_MAX_WORDS) without --gap: the solved sector only, said
    so; --no-check-unique: nothing counted."""
    assert 4 ** 5 <= KERNEL_CHECK_MAX_WORDS < 4 ** 6
    p = model.make_params(6, bc="open", preset="minimal", alpha=2.0, delta=1.5)
    obs, attrs = _ed(p)
    assert attrs.get("kernel_by_sector", "none") == "none"
    assert attrs["spectrum_sector"].endswith("only")
    p = model.make_params(3, bc="open", **CONSERVED)
    obs, attrs = _ed(p, check_unique=False)
    assert attrs["unique"] == -1 and obs["kernel_dim"] == -1
    assert attrs.get("kernel_by_sector", "none") == "none"


def test_cli_flags_it_in_the_file_and_the_summary(tmp_path):
    out = tmp_path / "c.nc"
    proc = run_cli(["solve", "--bc", "open", "--L", 3, "--J0", 1, "--lam", 1, "--gamma", -1.23,
                    "--gap", "-o", out])
    assert "NOT unique in the full operator space" in proc.stdout
    assert "parity odd" in proc.stderr
    with xr.open_dataset(out) as ds:
        assert ds.attrs["unique"] == 0 and int(ds["kernel_dim"]) == 2
        assert ds.attrs["gap_kernel_dim"] == 2 and "parity odd" in ds.attrs["kernel_by_sector"]
        assert np.isfinite(ds["sz"].values).all()
    text = run_cli(["show", out]).stdout
    assert "NOT unique in the full operator space" in text and "parity odd" in text


@pytest.mark.parametrize("gap", [[], ["--gap"]])
def test_model_file_point_decided_in_the_full_space(tmp_path, gap):
    """models/paper.yaml at the conserved point: the same full-space decision as the paper's
    parameters (the dense kernel 2: 1 solved, 1 parity odd), the solved sector's state written."""
    out = tmp_path / "m.nc"
    run_cli(["solve", "--model", MODELS / "paper.yaml", "--bc", "open", "--L", 3, "--set", "J0=1",
             "--set", "lam=1", "--set", "alpha=0", "--set", "delta=0", "--set", "gamma=-1.23",
             "--set", "mu=0", *gap, "-o", out])
    p = model.make_params(3, bc="open", **CONSERVED)
    with xr.open_dataset(out) as ds:
        assert ds.attrs["unique"] == 0 and int(ds["kernel_dim"]) == _dense_kernel(p) == 2
        assert "parity odd" in ds.attrs["kernel_by_sector"]
        assert np.isfinite(ds["sz"].values).all()


@pytest.mark.parametrize("args,message", [
    (["--model", MODELS / "paper.yaml", "--bc", "ring", "--L", 2], "a ring needs L >= 3"),
    (["--model", MODELS / "boundary_driven_xxz.yaml", "--bc", "ring", "--L", 2],
     "is for bc open, not 'ring'"),
    (["--model", MODELS / "paper.yaml", "--bc", "open", "--L", 1], "L must be >= 2")])
def test_model_file_lattice_refusals_say_what_is_wrong(tmp_path, args, message):
    proc = run_cli(["solve", *args, "--gap", "-o", tmp_path / "x.nc"], check=False)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("sectors", ["all", "solved"])
def test_gap_below_the_krylov_cutoff_is_the_dense_gap(sectors):
    """Ring L = 4, alpha 100, delta 1: the slowest mode, -2.5e-8 against a scale of 8e4, lies
    below the Krylov search's kernel cutoff (1e-12 x scale); shift-and-invert resolves it (the
    steady state unique), and the gap is it (the Krylov search alone gave 5861), as in the dense
    spectrum; the next mode, -3.3e-7 +- 0.999i, in the parity-odd k = pi sector."""
    p = model.make_params(4, bc="ring", preset="minimal", alpha=100.0, delta=1.0)
    ev = np.linalg.eigvals(_dense(p))
    off = ev[np.abs(ev) > 1e-9]
    dense_gap = -off.real.max()
    assert 2.4e-8 < dense_gap < 2.6e-8
    obs, attrs = _ed(p, solver="direct", gap=True, gap_sectors=sectors)
    assert attrs["unique"] == 1 and obs["kernel_dim"] == 1
    assert obs["gap"] == pytest.approx(dense_gap, abs=1e-10)
    assert attrs["gap_sector"].startswith("parity even, k = 0, reflection even")
    if sectors == "all":
        assert "same gap" not in attrs["gap_sector"]      # 2.5e-8 and 3.3e-7: two gaps
        odd = [part for part in attrs["gap_by_sector"].split("; ")
               if part.startswith("parity odd, k = pi, reflection even")]
        slow = sorted(-z.real for z in off if abs(z.imag) > 0.5)[0]
        assert float(odd[0].split(": ")[1].split()[0]) == pytest.approx(slow, rel=1e-3)

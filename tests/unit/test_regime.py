"""The parameter regime named in failure messages (issue 15), from the rates by hand."""
import pytest

from lindring.core import model


@pytest.mark.parametrize("kw,expected", [
    # J0 = 5 against alpha^2 = 0.01 (minimal: gamma = alpha, beta = delta): 500
    (dict(preset="minimal", J0=5.0, phi=0.8, alpha=0.1, delta=0.07),
     ["weak dissipation (largest coupling / largest jump rate = 500)"]),
    # mu = 1 against beta^2 = delta^2 = 27.04: 0.037; |alpha| / |delta| = 5 / 5.2
    (dict(preset="minimal", alpha=5.0, delta=5.2),
     ["strong dissipation (largest coupling / largest jump rate = 0.037)",
      "near balance (|alpha| / |delta| = 0.962)"]),
    # kappa = 0.2 the only jump rate, J0 = 2: ratio 10 (not above 10: comparable)
    (dict(J0=2.0, phi=0.7, mu=1.0, kappa=0.2, eps_x=0.5, eps_zz=0.5),
     ["coherent and dissipative rates comparable (largest coupling / largest jump rate = 10)",
      "local decay only (alpha = delta = 0)"]),
    # no Hamiltonian at all; alpha^2 = 1e6 against delta^2 = 1e-2: span 1e8
    (dict(alpha=1e3, delta=0.1), ["dissipation only (no Hamiltonian)", "rates spanning 1.0e+08"]),
])
def test_regime_in_words(kw, expected):
    words = model.regime(model.make_params(6, "open", **kw)).split("; ")
    assert words == expected

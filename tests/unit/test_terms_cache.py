"""The local terms of a point are computed once per point (core/terms.py, core/pauli.py): the
cache must never hand one point's terms to another, nor let a caller change them."""
import dataclasses

import numpy as np
import pytest

from lindring.core import model, pauli, terms


def _point(**kw):
    return model.make_params(5, bc="ring", preset="minimal", **{"alpha": 2.0, "delta": 1.5, **kw})


def test_cached_terms_are_read_only_and_equal_to_a_fresh_computation():
    p = _point()
    cached = terms.local_terms(p)
    fresh = terms._params_terms.__wrapped__(p)
    assert [s for s, _ in cached] == [s for s, _ in fresh]
    for (_, S), (_, T) in zip(cached, fresh):
        assert np.array_equal(S, T)
        with pytest.raises(ValueError):
            S[0, 0] = 1.0          # read-only: a caller cannot change the next point's terms


@pytest.mark.parametrize("change", [dict(alpha=2.0 + 1e-12), dict(delta=-1.5), dict(mu=1.0 + 1e-9),
                                    dict(eps_x=1e-6)])
def test_a_changed_parameter_gets_its_own_terms(change):
    p = _point()
    q = _point(**change)
    terms.local_terms(p), pauli.pauli_terms(p)        # p cached first
    for get in (terms.local_terms, pauli.pauli_terms):
        a, b = dict(get(p)), dict(get(q))
        assert any(not np.array_equal(a.get(s, 0), b.get(s, 0)) for s in set(a) | set(b))


def test_unhashable_values_are_computed_without_the_cache():
    """A Params built by hand with a numpy array for a value is not hashable: no cache, the same
    terms as the plain number."""
    p = dataclasses.replace(_point(), alpha=np.array(2.0))
    q = _point()
    for (s, S), (t, T) in zip(terms.local_terms(p), terms.local_terms(q)):
        assert s == t and np.allclose(S, T)
    assert terms.reflection_symmetric(p) == terms.reflection_symmetric(q)

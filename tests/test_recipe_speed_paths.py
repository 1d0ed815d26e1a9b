"""The fast paths of per-point eps and of the README's radar recipe, against independent
answers (the formula, tests/reference.py, the same neighbourhoods as sample_eps)."""

import numpy as np
import pytest

from gridscan import RangeEps


@pytest.mark.parametrize("power", [[0.25, 0.25, 0.25], [0.0, -1.0, -1.0], [1.0, 0.5, 0.5]])
def test_range_eps_evaluate_equals_formula(rng, power):
    X = rng.uniform(-1, 50, (200, 3))
    model = RangeEps(base=[0.5, 2.0, 3.0], range_feature=0, power=power, offset=2.0,
                     min_eps=[0.2, 0.1, 0.3], max_eps=[9.0, 20.0, 30.0])
    raw = np.array([0.5, 2.0, 3.0]) * (X[:, :1] + 2.0) ** np.array(power)
    expected = np.clip(raw, [0.2, 0.1, 0.3], [9.0, 20.0, 30.0])
    np.testing.assert_allclose(model.evaluate(X), expected, rtol=1e-14)

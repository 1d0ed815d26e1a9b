"""The compiled building blocks of the grid against numpy: sorting and gathering rows."""

import numpy as np
import pytest

from gridscan._arrays import take_rows
from gridscan._grid import _radix_sort


@pytest.mark.parametrize("n, max_key", [(0, 5), (1, 0), (17, 3), (200_000, 7_000_000),
                                        (150_000, 2**40), (140_000, 2**62)])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_radix_sort_is_numpys_stable_argsort(n, max_key, n_threads):
    # 2**62 and 2**40 take several passes; 140,000 keys and more are cut into one
    # slice per thread, each counted and scattered on its own.
    keys = np.random.default_rng(n).integers(0, max_key + 1, n).astype(np.int64)
    order, sorted_keys = _radix_sort(keys, max_key, n_threads)
    expected = np.argsort(keys, kind="stable")
    np.testing.assert_array_equal(order, expected)
    np.testing.assert_array_equal(sorted_keys, keys[expected])


@pytest.mark.parametrize("array", [
    np.arange(30.0).reshape(15, 2),
    np.arange(45, dtype=np.float32).reshape(15, 3),         # 12-byte rows: copied bytewise
    np.arange(15, dtype=np.intp),
    np.arange(15, dtype=np.uint8),
    np.arange(60.0).reshape(15, 2, 2),
    np.empty((15, 0)),
])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_take_rows_is_numpys_take(array, n_threads):
    rows = np.random.default_rng(0).integers(0, 15, 40)
    for chosen in (rows, rows[:0], np.arange(15)[::-1]):
        out = take_rows(array, chosen, n_threads)
        expected = np.take(array, chosen, axis=0)
        assert out.dtype == expected.dtype and out.shape == expected.shape
        np.testing.assert_array_equal(out, expected)


def test_take_rows_of_many_rows_in_parallel():
    array = np.random.default_rng(1).normal(size=(300_000, 2)).astype(np.float32)
    rows = np.random.default_rng(2).permutation(300_000)
    np.testing.assert_array_equal(take_rows(array, rows, 2), array[rows])

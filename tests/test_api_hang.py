"""No hang anywhere: every public function that takes arrays, on degenerate shapes, under a per-call timeout.

The shapes (``api_table.degenerate_problems``): 0 rows, 0 columns, 0 neurons, one point, one
column, one neuron.  Each call must answer within :data:`TIMEOUT` seconds (SIGALRM) with a
result or a clear error (``ValueError``, ``TypeError``, ``FloatingPointError`` or the package's
own errors); a raw exception from deep inside or no answer fails.
"""
from __future__ import annotations

import numpy as np
import pytest

import api_table as T
from expreg_nb import data
from expreg_nb import threshold as th

#: Seconds one call may take (the calls are of tiny problems: a few milliseconds each).
TIMEOUT = 5.0

SPECS = T.array_specs()


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_degenerate_shapes_never_hang(spec, numpy_backend):
    results = [T.degenerate_call(spec, q, shape, TIMEOUT) for shape, q in T.degenerate_problems().items()]
    bad = [detail for category, detail in results if category != "clear"]
    # rules out: a loop that never ends on an empty matrix (the F2 helper on 0 columns), a raw IndexError
    assert not bad, "\n".join(bad)


def test_the_timeout_catches_a_hang():
    def forever():
        while True:
            pass

    # rules out: a timeout that never fires (the test above would then pass on a hang)
    with pytest.raises(T.Hang):
        T.with_timeout(0.2, forever)


def test_the_f2_helper_on_zero_columns_is_an_error_not_a_loop(numpy_backend):
    codes = np.zeros((0, 4), dtype=np.int8)
    # rules out: compression_stage(codes[:0]) looping forever in nonzero_f2_matrix
    with pytest.raises(ValueError, match="codes"):
        T.with_timeout(TIMEOUT, th.compression_stage, codes, seed=0)
    with pytest.raises(ValueError, match="cols"):
        T.with_timeout(TIMEOUT, th.nonzero_f2_matrix, np.random.default_rng(0), 3, 0)


def test_predict_on_no_points_is_empty(numpy_backend):
    X = data.sphere(6, 3, seed=0)
    net = th.build_memorizer(X, np.arange(6) % 2, seed=0)
    out = net.predict(X[:0])
    # rules out: predict raising on an empty batch (NumPy's convention is an empty result)
    assert out.shape == (0,) and out.dtype == np.int64
    assert net.hidden(X[:0], 1).shape == (0, net.layers[1].width)
    with pytest.raises(ValueError, match="columns"):
        net.predict(X[:0, :2])

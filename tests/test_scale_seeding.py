"""EXPREG_SCALE and the seeding module."""
from __future__ import annotations

import numpy as np
import pytest

from expreg_nb import data, scale, seeding


def test_scale_default_and_pick(monkeypatch):
    monkeypatch.delenv(scale.ENV_VAR, raising=False)
    assert scale.current_scale() == "book"
    assert scale.pick(book=1, full=2) == 1
    monkeypatch.setenv(scale.ENV_VAR, "full")
    assert scale.pick(book=1, full=2) == 2


def test_scale_unknown_value(monkeypatch):
    monkeypatch.setenv(scale.ENV_VAR, "huge")
    with pytest.raises(scale.ScaleError, match="expected one of book, full"):
        scale.pick(book=1, full=2)


def test_streams_reproducible_and_independent():
    a1 = seeding.make_rng(5, "init").standard_normal(4)
    a2 = seeding.make_rng(5, "init").standard_normal(4)
    b = seeding.make_rng(5, "data").standard_normal(4)
    c = seeding.make_rng(6, "init").standard_normal(4)
    np.testing.assert_array_equal(a1, a2)
    assert not np.allclose(a1, b) and not np.allclose(a1, c)


@pytest.mark.parametrize("bad, exc", [(-1, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError)])
def test_bad_seed(bad, exc):
    with pytest.raises(exc, match="seed"):
        seeding.make_rng(bad)


def test_rademacher_signs(xp):
    s = seeding.rademacher(1000, 0, "t", xp=xp)
    vals = set(np.unique(np.asarray(s.get() if hasattr(s, "get") else s)).tolist())
    assert vals == {-1.0, 1.0}


def test_data_helpers(xp):
    X = data.sphere(50, 4, seed=1)
    norms = np.linalg.norm(np.asarray(X.get() if hasattr(X, "get") else X), axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-12)
    B = data.ball(500, 3, seed=1)
    Bn = np.linalg.norm(np.asarray(B.get() if hasattr(B, "get") else B), axis=1)
    assert Bn.max() <= 1.0 and Bn.min() < 0.5
    y = data.labels(100, seed=2)
    yn = np.asarray(y.get() if hasattr(y, "get") else y)
    assert yn.min() >= -1 and yn.max() <= 1
    with pytest.raises(ValueError, match="kind"):
        data.labels(3, seed=0, kind="gaussian-ish")
    with pytest.raises(ValueError, match="n must be >= 1"):
        data.sphere(0, 3, seed=0)

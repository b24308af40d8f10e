r"""Part II: what changes in the kernel, and what is conserved, along a run.

All functions take host or device arrays and return host floats.

* :func:`spectrum` -- lambda_min, lambda_max and kappa of a kernel on its *live*
  inputs.  An input x_i on which every neuron is inactive (z_ir <= 0 for all r) is
  **dead**: its row of J, hence of K, is zero, so K is singular and neither the
  network (its gradient from x_i is zero) nor its linearization can move u_i.
  :func:`dead_inputs` finds them; the spectrum is reported on the others.
* :func:`centered_alignment` -- the centered kernel-target alignment of
  Cortes, Mohri and Rostamizadeh (2012),
  A(K, y) = y_c^T K y_c / (||H K H||_F ||y_c||^2) with H = I - 11^T/n, y_c = H y.
* :func:`top_eigenspace_angles` -- principal angles between the top-k eigenspaces
  of K(0) and K(T) (SciPy's ``subspace_angles``).
* :func:`neuron_movement` -- per-neuron relative movement of both layers.
* :func:`balance` -- the two-rate conservation law: under the gradient flow
  dW = -eta_w grad_W L, da = -eta_a grad_a L of the positively homogeneous ReLU
  network, C_r = eta_a ||w_r||^2 - eta_w a_r^2 is constant for every neuron r
  (= eta_w eta_a (||w_r||^2/eta_w - a_r^2/eta_a)); a gradient step changes it by
  the exact amount eta_w eta_a (eta_w ||grad_{w_r} L||^2 - eta_a (grad_{a_r} L)^2)
  (Part II, Chapter 1), which is second order in the rates.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from ..backend import to_numpy
from ..validation import as_float_array, check_int, check_real, check_same_backend

__all__ = ["balance", "balance_drift", "centered_alignment", "dead_inputs", "kernel_report",
           "neuron_movement", "spectrum", "top_eigenspace_angles"]


def _host(x, name, ndim):
    return np.asarray(to_numpy(as_float_array(x, name, ndim=ndim)), dtype=float)


def _square(K, name="K"):
    K = _host(K, name, 2)
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"{name} must be square (n x n), got shape {K.shape}")
    scale = float(np.abs(K).max())
    if float(np.abs(K - K.T).max()) > 1e-8 * scale:
        raise ValueError(f"{name} must be symmetric (a kernel matrix), got max |K - K^T| = "
                         f"{float(np.abs(K - K.T).max()):.3g} against max |K| = {scale:.3g}")
    return K


def _mask(live, n, name):
    """A boolean mask of length ``n`` (NumPy or Python bools), as a host array."""
    if live is None or isinstance(live, (str, bytes, dict)):
        raise TypeError(f"{name} must be a boolean array of length n={n}, got {type(live).__name__}")
    arr = np.asarray(to_numpy(live))
    if arr.dtype != bool:
        raise TypeError(f"{name} must be a boolean array (a mask of live inputs), got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a boolean mask of length n={n}, got shape {arr.shape}")
    return arr


def dead_inputs(W, X):
    """Boolean mask (host, shape (n,)) of the inputs on which every neuron is inactive: <w_r, x_i> <= 0."""
    check_same_backend(W=W, X=X)
    W, X = _host(W, "W", 2), _host(X, "X", 2)
    if W.shape[1] != X.shape[1]:
        raise ValueError(f"X has d={X.shape[1]} columns but W has d={W.shape[1]}; they must match")
    return ~((X @ W.T) > 0).any(axis=1)


def spectrum(K, live=None, *, eig=None):
    """``(lambda_min, lambda_max, kappa)`` of K restricted to the ``live`` inputs (all when None).

    ``eig`` may pass the eigenvalues of that restriction when already computed.
    """
    if live is not None and hasattr(live, "shape"):
        check_same_backend(K=K, live=live)
    return _spectrum(_square(K), live, eig, "live")


def _spectrum(K, live, eig, name):
    live = np.ones(K.shape[0], dtype=bool) if live is None else _mask(live, K.shape[0], name)
    if not live.any():
        return 0.0, 0.0, math.inf
    lam = np.linalg.eigvalsh(K[np.ix_(live, live)]) if eig is None else np.asarray(eig, dtype=float)
    lo, hi = float(lam[0]), float(lam[-1])
    return lo, hi, (hi / lo if lo > 0 else math.inf)


def centered_alignment(K, y) -> float:
    """Centered kernel-target alignment y_c^T K y_c / (||HKH||_F ||y_c||^2), in [-1, 1]."""
    check_same_backend(K=K, y=y)
    K = _square(K)
    y = _host(y, "y", 1)
    if y.shape[0] != K.shape[0]:
        raise ValueError(f"y has {y.shape[0]} entries but K is {K.shape[0]} x {K.shape[0]}; they must match")
    yc = y - y.mean()
    Kc = K - K.mean(axis=0, keepdims=True)
    Kc = Kc - Kc.mean(axis=1, keepdims=True)
    den = float(np.linalg.norm(Kc)) * float(yc @ yc)
    if den == 0:
        raise ValueError("the centered kernel or the centered labels are zero: the alignment is undefined")
    return float(yc @ K @ yc) / den


def top_eigenspace_angles(V0, V1):
    """Principal angles (radians, ascending) between the column spans of ``V0`` and ``V1``."""
    check_same_backend(V0=V0, V1=V1)
    V0, V1 = _host(V0, "V0", 2), _host(V1, "V1", 2)
    if V0.shape[0] != V1.shape[0]:
        raise ValueError(f"V0 and V1 must have the same number of rows, got {V0.shape[0]} and {V1.shape[0]}")
    return np.sort(scipy.linalg.subspace_angles(V0, V1))


def neuron_movement(W0, a0, W, a):
    """Per-neuron relative movement: ``(||w_r - w_r(0)|| / ||w_r(0)||, |a_r - a_r(0)| / rms(a(0)))``."""
    check_same_backend(W0=W0, a0=a0, W=W, a=a)
    W0, W = _host(W0, "W0", 2), _host(W, "W", 2)
    a0, a = _host(a0, "a0", 1), _host(a, "a", 1)
    if W0.shape != W.shape or a0.shape != a.shape or a0.shape[0] != W0.shape[0]:
        raise ValueError("W0, W must have one shape (m, d) and a0, a the shape (m,)")
    w_norm = np.linalg.norm(W0, axis=1)
    rms = float(np.sqrt((a0 * a0).mean()))
    if not (w_norm > 0).all() or rms == 0:
        raise ValueError("a neuron with w_r(0) = 0, or a(0) = 0: relative movement is undefined")
    return np.linalg.norm(W - W0, axis=1) / w_norm, np.abs(a - a0) / rms


def balance(W, a, eta_w, eta_a):
    """The conserved quantity of every neuron, C_r = eta_a ||w_r||^2 - eta_w a_r^2 (host array)."""
    return _balance(W, a, eta_w, eta_a, "W", "a")


def _balance(W, a, eta_w, eta_a, nw, na):
    check_same_backend(**{nw: W, na: a})
    W, a = _host(W, nw, 2), _host(a, na, 1)
    if a.shape[0] != W.shape[0]:
        raise ValueError(f"{na} has {a.shape[0]} entries but {nw} has {W.shape[0]} rows; they must match")
    eta_w = check_real(eta_w, "eta_w", nonnegative=True)
    eta_a = check_real(eta_a, "eta_a", nonnegative=True)
    return eta_a * (W * W).sum(axis=1) - eta_w * a * a


def balance_drift(W0, a0, W, a, eta_w, eta_a) -> float:
    """max_r |C_r(T) - C_r(0)| / max_r (eta_a ||w_r(0)||^2 + eta_w a_r(0)^2): the law's relative drift."""
    check_same_backend(W0=W0, a0=a0, W=W, a=a)
    c0, c1 = _balance(W0, a0, eta_w, eta_a, "W0", "a0"), _balance(W, a, eta_w, eta_a, "W", "a")
    W0h, a0h = _host(W0, "W0", 2), _host(a0, "a0", 1)
    scale = float((eta_a * (W0h * W0h).sum(axis=1) + eta_w * a0h * a0h).max())
    if c0.shape != c1.shape:
        raise ValueError("W0, a0 and W, a must describe the same number of neurons")
    if scale == 0:
        raise ValueError("the initial weights or both rates are zero: the drift is undefined")
    return float(np.abs(c1 - c0).max() / scale)


def kernel_report(K0, KT, y, live0, liveT, *, top=16, eig0=None):
    """The kernel's change from K(0) to K(T) as a dict of floats (host).

    ``lmin0, lmax0, kappa0`` and ``lminT, lmaxT, kappaT`` on the live inputs;
    ``align0, alignT`` (:func:`centered_alignment` with the labels ``y``);
    ``angle_max`` (degrees) and ``overlap`` = ||V0^T VT||_F^2 / k of the top
    k = min(``top``, n/4) eigenvectors; ``drift`` = ||K(T) - K(0)||_2 / ||K(0)||_2.
    ``eig0``: ``(eigenvalues, eigenvectors)`` of K(0) when already computed.
    """
    check_same_backend(K0=K0, KT=KT, y=y)
    K0, KT = _square(K0, "K0"), _square(KT, "KT")
    if K0.shape != KT.shape:
        raise ValueError(f"K0 and KT must have one shape, got {K0.shape} and {KT.shape}")
    top = check_int(top, "top")
    check_same_backend(K0=K0, KT=KT, y=y)
    n = K0.shape[0]
    live0, liveT = _mask(live0, n, "live0"), _mask(liveT, n, "liveT")
    k = max(1, min(top, n // 4))
    lam0, V0 = eig0 if eig0 is not None else np.linalg.eigh(K0)
    if n <= 2048:
        lamT, VT = np.linalg.eigh(KT)
    else:   # all eigenvalues, and Lanczos for the top k eigenvectors only
        from scipy.sparse.linalg import eigsh

        lamT = scipy.linalg.eigh(KT, eigvals_only=True, driver="evd")
        _, VT = eigsh(KT, k=k, which="LA", tol=1e-10)
    out = {}
    for tag, K, lam, live in (("0", K0, lam0, live0), ("T", KT, lamT, liveT)):
        # a dead input's row and column of K are exactly zero, so the spectrum on the live
        # inputs is the top (number of live inputs) eigenvalues of K
        eig = lam[-int(live.sum()):] if live.any() else None
        lo, hi, kap = _spectrum(K, live, eig, f"live{tag}")
        out.update({f"lmin{tag}": lo, f"lmax{tag}": hi, f"kappa{tag}": kap,
                    f"align{tag}": centered_alignment(K, y)})
    ang = top_eigenspace_angles(V0[:, -k:], VT[:, -k:])
    out["angle_max"] = float(np.degrees(ang[-1]))
    out["overlap"] = float((np.cos(ang) ** 2).mean())
    out["drift"] = _norm2(KT - K0) / max(abs(lam0[0]), abs(lam0[-1]))
    out["top_k"] = k
    return out


def _norm2(S) -> float:
    """||S||_2 of a symmetric matrix: all eigenvalues for small n, Lanczos (largest magnitude) above."""
    if S.shape[0] <= 512:
        ev = np.linalg.eigvalsh(S)
        return float(max(abs(ev[0]), abs(ev[-1])))
    from scipy.sparse.linalg import eigsh

    return float(abs(eigsh(S, k=1, which="LM", return_eigenvectors=False, tol=1e-6)[0]))

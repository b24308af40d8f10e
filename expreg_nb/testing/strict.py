"""A strict "device" array module for tests: CuPy's rules, on the CPU.

CI has no GPU, so nothing would notice code that moves a device array to the
host by accident (``numpy.asarray(x)``, ``float(x)`` of a vector) or that mixes
host and device arrays, both of which raise under CuPy.  This module follows
those rules with NumPy doing the arithmetic:

* arrays are :class:`ndarray` objects of this module (not ``numpy.ndarray``);
* ``x.get()`` (or :func:`asnumpy`) copies to the host, :func:`asarray` copies a
  host array or list to the "device";
* ``numpy.asarray(x)``, ``numpy.array(x)`` and anything else that goes through
  ``__array__`` / the buffer protocol raise :class:`TypeError`, as CuPy does;
* ``float(x)``, ``int(x)``, ``bool(x)`` and format specs work on 0-d arrays only;
* an operation (operator, function of this module, NumPy ufunc or NumPy
  function) that mixes a device array with a host ``numpy.ndarray`` of
  dimension >= 1 raises :class:`TypeError`; Python and NumPy scalars are fine;
* reductions return 0-d device arrays, not NumPy scalars.

The module exposes the whole NumPy namespace (``zeros``, ``exp``,
``linalg.eigvalsh``, ...) with these rules applied.  It is selected with
``EXPREG_BACKEND=strict`` together with ``EXPREG_ALLOW_STRICT=1`` (see
:mod:`expreg_nb.backend`); the test fixture ``xp`` has a ``strict`` parameter.
"""
from __future__ import annotations

import functools
import operator
import sys
import types

import numpy as _np

__all__ = ["ndarray", "asarray", "array", "asnumpy", "get_array_module"]

_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. "
             "Please use `.get()` to construct a NumPy array explicitly.")


def _mixed(what):
    return TypeError(f"Unsupported type {type(what)} (a host numpy.ndarray mixed with a strict device array; "
                     f"move it with xp.asarray(...) or to_device first)")


def _unwrap(obj):
    """Replace device arrays by their data (recursively in lists/tuples/dicts); reject host arrays."""
    if isinstance(obj, ndarray):
        return obj._a
    if isinstance(obj, _np.ndarray):
        if obj.ndim == 0:
            return obj[()]
        raise _mixed(obj)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v) for k, v in obj.items()}
    return obj


def _wrap(obj):
    """Wrap NumPy results (arrays and NumPy scalars) as device arrays, recursively in tuples/lists."""
    if isinstance(obj, _np.ndarray):
        return ndarray(obj)
    if isinstance(obj, _np.generic):
        return ndarray(_np.asarray(obj))
    if isinstance(obj, tuple):
        if hasattr(obj, "_fields"):  # namedtuple results, e.g. linalg.eigh
            return type(obj)(*(_wrap(o) for o in obj))
        return tuple(_wrap(o) for o in obj)
    if isinstance(obj, list):
        return [_wrap(o) for o in obj]
    return obj


def _call(fn, args, kwargs):
    return _wrap(fn(*_unwrap(args), **_unwrap(kwargs)))


_COMPARE = ("lt", "le", "eq", "ne", "gt", "ge")
_BLOCKED = frozenset({"__array__", "__array_interface__", "__array_struct__", "__array_priority__",
                      "__buffer__", "__dlpack__", "ctypes", "data", "tobytes", "tofile", "dump", "dumps"})


class ndarray:
    """A device array of the strict backend; see the module docstring for its rules."""

    __slots__ = ("_a",)
    __hash__ = None

    def __init__(self, data):
        if not isinstance(data, _np.ndarray):
            raise TypeError("strict arrays are made with strict.asarray(...) or strict.zeros(...), not ndarray(...)")
        object.__setattr__(self, "_a", data)

    # -- host transfers -------------------------------------------------------------------
    def get(self, stream=None, order="C", out=None, blocking=True):
        """A NumPy copy on the host (CuPy's explicit device -> host transfer)."""
        return _np.array(self._a, copy=True)

    def __array__(self, *args, **kwargs):
        raise TypeError(_IMPLICIT)

    def _scalar(self, kind):
        if self._a.ndim != 0:
            raise TypeError(f"only 0-d strict arrays can be converted to Python {kind.__name__} "
                            f"(got shape {self._a.shape}); use .get() or index a single element")
        return kind(self._a[()])

    def __float__(self):
        return self._scalar(float)

    def __int__(self):
        return self._scalar(int)

    def __bool__(self):
        return self._scalar(bool)

    def __complex__(self):
        return self._scalar(complex)

    def __format__(self, spec):
        if self._a.ndim != 0:
            if spec:
                raise TypeError(f"unsupported format string passed to a strict array of shape {self._a.shape}")
            return repr(self)
        return format(self._a[()], spec)

    def __repr__(self):
        return "strict_" + repr(self._a)

    __str__ = __repr__

    # -- NumPy protocols: ufuncs and functions dispatch here, host arrays are refused ----------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(o._a if isinstance(o, ndarray) else _unwrap(o) for o in out)
        return _wrap(getattr(ufunc, method)(*_unwrap(inputs), **_unwrap({k: v for k, v in kwargs.items()
                                                                          if k != "out"}),
                                            **({"out": kwargs["out"]} if out is not None else {})))

    def __array_function__(self, func, types_, args, kwargs):
        if func in (_np.asarray, _np.array, _np.asanyarray, _np.ascontiguousarray):
            raise TypeError(_IMPLICIT)
        return _call(func, args, kwargs)

    # -- container protocol -----------------------------------------------------------------
    def __len__(self):
        return len(self._a)

    def __iter__(self):
        for row in self._a:
            yield _wrap(row)

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap_index(key)])

    def __setitem__(self, key, value):
        self._a[_unwrap_index(key)] = _unwrap(value)

    def __getattr__(self, name):
        if name in _BLOCKED or name.startswith("__"):
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if callable(attr):
            @functools.wraps(attr)
            def method(*args, **kwargs):
                return _call(attr, args, kwargs)
            return method
        return _wrap(attr)

    def __setattr__(self, name, value):
        if name == "shape":
            self._a.shape = value
            return
        raise AttributeError(f"cannot set {name!r} on a strict array")

    def __dir__(self):
        return sorted(set(dir(self._a)) - _BLOCKED)

    def __copy__(self):
        return ndarray(self._a.copy())

    def __deepcopy__(self, memo):
        return ndarray(self._a.copy())

    def __reduce__(self):
        return (_from_host, (self._a.copy(),))

    # unary operators
    def __neg__(self):
        return _wrap(-self._a)

    def __pos__(self):
        return _wrap(+self._a)

    def __abs__(self):
        return _wrap(abs(self._a))

    def __invert__(self):
        return _wrap(~self._a)


def _from_host(a):
    return ndarray(a)


def _unwrap_index(key):
    # Host index arrays are allowed (CuPy accepts them), device ones are unwrapped.
    if isinstance(key, ndarray):
        return key._a
    if isinstance(key, tuple):
        return tuple(k._a if isinstance(k, ndarray) else k for k in key)
    return key


_OPS = {  # dunder name -> (binary operator, in-place operator or None)
    "add": (operator.add, operator.iadd), "sub": (operator.sub, operator.isub),
    "mul": (operator.mul, operator.imul), "truediv": (operator.truediv, operator.itruediv),
    "floordiv": (operator.floordiv, operator.ifloordiv), "mod": (operator.mod, operator.imod),
    "pow": (operator.pow, operator.ipow), "matmul": (operator.matmul, operator.imatmul),
    "and": (operator.and_, operator.iand), "or": (operator.or_, operator.ior),
    "xor": (operator.xor, operator.ixor), "lshift": (operator.lshift, operator.ilshift),
    "rshift": (operator.rshift, operator.irshift), "divmod": (divmod, None),
}


def _install_operators():
    for key, (op, iop) in _OPS.items():
        def forward(self, other, op=op):
            return _wrap(op(self._a, _unwrap(other)))

        def reverse(self, other, op=op):
            return _wrap(op(_unwrap(other), self._a))

        setattr(ndarray, f"__{key}__", forward)
        setattr(ndarray, f"__r{key}__", reverse)
        if iop is not None:
            def inplace(self, other, iop=iop):
                object.__setattr__(self, "_a", iop(self._a, _unwrap(other)))
                return self

            setattr(ndarray, f"__i{key}__", inplace)


_install_operators()

for _name in _COMPARE:
    def _cmp(self, other, op=getattr(operator, _name)):
        return _wrap(op(self._a, _unwrap(other)))

    setattr(ndarray, f"__{_name}__", _cmp)


# --------------------------------------------------------------------------- module functions
def asarray(a, dtype=None, order=None):
    """Host -> device (a copy, as with CuPy); a device array is returned as is (or cast)."""
    if isinstance(a, ndarray):
        return a if dtype is None or a._a.dtype == dtype else ndarray(a._a.astype(dtype))
    return ndarray(_np.array(_unwrap_host(a), dtype=dtype, order=order or "K", copy=True))


def array(obj, dtype=None, copy=True, order="K", ndmin=0):
    if isinstance(obj, ndarray):
        return ndarray(_np.array(obj._a, dtype=dtype, copy=copy, order=order, ndmin=ndmin))
    return ndarray(_np.array(_unwrap_host(obj), dtype=dtype, copy=True, order=order, ndmin=ndmin))


def _unwrap_host(obj):
    # Lists may hold device scalars (0-d arrays), as with CuPy.
    if isinstance(obj, ndarray):
        return obj._a
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap_host(o) for o in obj)
    return obj


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    """Device -> host copy (``cupy.asnumpy``); host inputs are passed through ``numpy.asarray``."""
    if isinstance(a, ndarray):
        return a.get()
    return _np.asarray(a, order=order)


def get_array_module(*args):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else _np


def fill_diagonal(a, val, wrap=False):
    _np.fill_diagonal(a._a, _unwrap(val), wrap=wrap)


def _wrap_function(fn):
    @functools.wraps(fn)
    def f(*args, **kwargs):
        return _call(fn, args, kwargs)
    return f


class _Namespace(types.ModuleType):
    """Wraps a NumPy namespace (``numpy.linalg``, ...): functions follow the strict rules."""

    def __init__(self, name, target):
        super().__init__(name)
        self._target = target

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if isinstance(attr, types.ModuleType):
            return _Namespace(f"{self.__name__}.{name}", attr)
        if callable(attr) and not isinstance(attr, type):
            return _wrap_function(attr)
        return attr


linalg = _Namespace(__name__ + ".linalg", _np.linalg)
random = _Namespace(__name__ + ".random", _np.random)
fft = _Namespace(__name__ + ".fft", _np.fft)

#: Dtypes and constants are NumPy's (as with CuPy).
float64, float32, int64, int32, bool_ = _np.float64, _np.float32, _np.int64, _np.int32, _np.bool_
pi, e, inf, nan, newaxis = _np.pi, _np.e, _np.inf, _np.nan, _np.newaxis
__version__ = f"strict-{_np.__version__}"


def __getattr__(name):
    """Everything else in the NumPy namespace, wrapped (types and dtypes pass through)."""
    if name.startswith("__"):
        raise AttributeError(name)
    attr = getattr(_np, name)
    if isinstance(attr, type) or isinstance(attr, _np.dtype):
        return attr
    if isinstance(attr, types.ModuleType):
        return _Namespace(f"{__name__}.{name}", attr)
    if callable(attr):
        return _wrap_function(attr)
    return attr


# --------------------------------------------------------------------------- sparse
class _CSR:
    """``cupyx.scipy.sparse.csr_matrix`` on strict arrays (SciPy does the arithmetic).

    Built from ``(data, (row, col))`` device arrays; ``S @ x`` takes and returns a
    device array, and a host operand raises as mixing does elsewhere.
    """

    def __init__(self, arg, shape=None, dtype=None):
        import scipy.sparse as sps

        data, (row, col) = arg
        for part in (data, row, col):
            if not isinstance(part, ndarray):
                raise _mixed(part)
        self._m = sps.csr_matrix((data._a, (row._a, col._a)), shape=shape, dtype=dtype)
        self.shape, self.dtype = self._m.shape, self._m.dtype

    def __matmul__(self, other):
        if not isinstance(other, ndarray):
            raise _mixed(other)
        return _wrap(self._m @ other._a)


#: ``cupyx.scipy.sparse`` stand-in: the sparse module :func:`expreg_nb.backend.sparse_module` returns.
sparse = types.SimpleNamespace(csr_matrix=_CSR)

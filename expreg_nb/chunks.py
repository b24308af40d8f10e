"""Chunking over neurons and the feature-memory budget.

Two sizes bound the memory of the n x m intermediates (features, pre-activations):

:data:`CHUNK_BYTES`
    the size of one streamed (n x chunk) block, 32 MiB: what :func:`neuron_slices`
    cuts ``range(m)`` into when the whole n x m array must not be formed
    (the Gram matrices, and steps whose features exceed the budget below).
:func:`feature_budget`
    how many bytes of features one gradient step may keep, so that each
    feature block is computed once per step instead of once for the outputs and
    once more for the gradient.  The default is a fraction
    (:data:`BUDGET_FRACTION`) of the memory available when first asked (host
    memory for NumPy, free device memory for CuPy); set the module attribute
    :data:`FEATURE_BYTES` or the environment variable ``EXPREG_FEATURE_BYTES``
    (bytes, e.g. ``268435456``) to override it.
"""
from __future__ import annotations

import functools
import os
import threading

import numpy as np

from .errors import ConfigError
from .validation import check_alloc, check_int

__all__ = [
    "BUDGET_ENV_VAR",
    "BUDGET_FRACTION",
    "CHUNK_BYTES",
    "DTYPES",
    "FALLBACK_BYTES",
    "FEATURE_BYTES",
    "SMALL_BYTES",
    "FeatureBlocks",
    "check_dtype",
    "feature_budget",
    "give_workspace",
    "kept_chunks",
    "kept_workspace",
    "neuron_slices",
    "release_workspace",
    "scratch",
    "step_blocks",
    "step_slices",
    "take_workspace",
    "trace_features",
]

#: Target size of one chunk of an (n x chunk) float64 intermediate, in bytes.
CHUNK_BYTES = 32 * 2**20

#: Feature blocks below this size skip the workspace and the budget bookkeeping: for them the
#: allocator's reuse is free and the Python overhead of the bookkeeping is not (tiny chapter runs).
SMALL_BYTES = 2**20

#: Override of :func:`feature_budget` in bytes (``None``: the environment variable, then the default).
FEATURE_BYTES: int | None = None

#: Environment variable that overrides the default feature budget (bytes).
BUDGET_ENV_VAR = "EXPREG_FEATURE_BYTES"

#: Share of the available memory that the default feature budget takes.
BUDGET_FRACTION = 0.125

#: Used when the available memory cannot be read.
FALLBACK_BYTES = 2**30


def neuron_slices(m: int, n: int, chunk: int | None = None, itemsize: int = 8):
    """Slices covering ``range(m)`` whose n x len(slice) block fits :data:`CHUNK_BYTES`.

    ``chunk`` overrides the number of neurons per slice; ``itemsize`` is the
    size of one entry (8 for float64, 4 for float32).
    """
    m = check_int(m, "m", minimum=0)
    n = check_int(n, "n", minimum=0)
    itemsize = check_int(itemsize, "itemsize", minimum=1)
    if chunk is None:
        chunk = max(1, CHUNK_BYTES // (itemsize * max(n, 1)))
    else:
        chunk = check_int(chunk, "chunk", minimum=1)
    return [slice(s, min(s + chunk, m)) for s in range(0, m, chunk)]


def _host_available_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _device_available_bytes(xp) -> int | None:
    try:
        free, _total = xp.cuda.runtime.memGetInfo()
        return int(free) + int(xp.get_default_memory_pool().free_bytes())
    except Exception:  # pragma: no cover - depends on the driver
        return None


@functools.lru_cache(maxsize=2)
def _default_budget(on_device: bool) -> int:
    """BUDGET_FRACTION of the memory available at first use (cached, so a run's path does not change mid-way)."""
    if on_device:
        import cupy  # only reached with CuPy arrays

        avail = _device_available_bytes(cupy)
    else:
        avail = _host_available_bytes()
    if avail is None:
        return FALLBACK_BYTES
    return max(CHUNK_BYTES, int(avail * BUDGET_FRACTION))


def feature_budget(xp=None) -> int:
    """Bytes of features one step may keep: :data:`FEATURE_BYTES`, else ``EXPREG_FEATURE_BYTES``, else the default.

    ``xp`` is the array module of the step (``None`` or NumPy: host memory; CuPy: device memory).
    """
    if xp is not None:
        _xp_arg(xp)
    if FEATURE_BYTES is not None:
        return check_int(FEATURE_BYTES, "expreg_nb.chunks.FEATURE_BYTES", minimum=0)
    text = os.environ.get(BUDGET_ENV_VAR, "").strip()
    if text:
        try:
            value = int(text)
        except ValueError:
            value = -1
        if value < 0:
            raise ConfigError(f"{BUDGET_ENV_VAR} must be a non-negative number of bytes, got {text!r}")
        return value
    # Only CuPy has device memory; the test-only strict stand-in lives in host memory.
    on_device = xp is not None and getattr(xp, "__name__", "numpy") == "cupy"
    return _default_budget(on_device)


def kept_chunks(slices, n: int, itemsize: int, xp=None) -> int:
    """How many of ``slices`` (in order) have feature blocks that fit :func:`feature_budget` together."""
    _check_slices(slices)
    n, itemsize = check_int(n, "n", minimum=0), check_int(itemsize, "itemsize", minimum=1)
    budget, used, kept = feature_budget(xp), 0, 0
    for sl in slices:
        used += n * (sl.stop - sl.start) * itemsize
        if used > budget:
            break
        kept += 1
    return kept


#: The floating-point types the models compute in (float64 is the default everywhere).
DTYPES = ("float64", "float32")
_F64, _F32 = np.dtype(np.float64), np.dtype(np.float32)


def check_dtype(dtype):
    """``dtype`` (``None``, ``"float64"``, ``"float32"`` or the NumPy type) as a :class:`numpy.dtype`.

    ``None`` means float64.  float32 halves the memory and, on GPUs with slow
    float64, is many times faster; the float64-exact identities of the book do
    not hold in it (see benchmarks/README.md for its measured accuracy cost).
    """
    if dtype is _F64 or dtype is _F32:
        return dtype
    if dtype is None:
        return _F64
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)} (or None for float64), got {dtype!r}")
    return dt


# --------------------------------------------------------------------------- workspace
_local = threading.local()


def take_workspace(xp, size: int, dtype):
    """A flat array of at least ``size`` entries of ``dtype`` to compute features into.

    On NumPy this is the buffer the calling thread gave back last time
    (:func:`give_workspace`) when it is large enough: a fresh n x m array costs a
    page fault per page on first touch, about a third of a gradient step at
    n = 1024, m = 16384.  On CuPy the memory pool already reuses device memory,
    so this is ``xp.empty``.  Callers view a prefix: ``buf[:n * c].reshape(n, c)``.
    """
    _xp_arg(xp)
    size = check_int(size, "size", minimum=0)
    dtype = check_dtype(dtype)
    check_alloc(itemsize=dtype.itemsize, what="the feature workspace", size=size)
    if xp.__name__ == "numpy":
        buf = getattr(_local, "buf", None)
        if buf is not None and buf.dtype == dtype and buf.size >= size:
            _local.buf = None
            return buf
    return xp.empty(size, dtype=dtype)


def give_workspace(buf) -> None:
    """Keep ``buf`` (from :func:`take_workspace`) for this thread's next step.

    One buffer per thread, the largest seen, and only within :func:`feature_budget`;
    :func:`release_workspace` drops it.
    """
    if buf is None:
        return
    if not hasattr(buf, "nbytes") or not hasattr(buf, "dtype"):
        raise TypeError(f"buf must be an array from take_workspace, got {type(buf).__name__}")
    if type(buf).__module__.split(".")[0] != "numpy" or buf.nbytes > feature_budget():
        return
    old = getattr(_local, "buf", None)
    if old is None or old.nbytes <= buf.nbytes:
        _local.buf = buf


def release_workspace() -> None:
    """Drop this thread's kept feature buffer (the memory returns to the system)."""
    _local.buf = None


def kept_workspace():
    """The feature buffer this thread keeps for its next step (``None`` if none): for tests and benchmarks."""
    return getattr(_local, "buf", None)


class trace_features:
    """Record the feature blocks formed in this thread while the ``with`` block runs.

    ``with chunks.trace_features() as formed: ...`` appends the number of neuron
    columns of every n x c feature block that a kernel forms through
    :class:`FeatureBlocks` (a block kept for the gradient pass and reused counts
    once).  Tests use it to check that each block is formed once within the budget.
    """

    def __enter__(self):
        self.formed = []
        self._outer = getattr(_local, "trace", None)
        _local.trace = self.formed
        return self.formed

    def __exit__(self, *exc):
        _local.trace = self._outer
        return False


# --------------------------------------------------------------------------- feature blocks (Parts I and II)
def _check_slices(slices):
    if isinstance(slices, (str, bytes)) or not hasattr(slices, "__iter__"):
        raise TypeError(f"slices must be a list of slices, got {type(slices).__name__}")
    for i, sl in enumerate(slices):
        if not isinstance(sl, slice) or not isinstance(sl.start, int) or not isinstance(sl.stop, int) \
                or sl.step not in (None, 1) or sl.start < 0 or sl.stop < sl.start:
            raise TypeError(f"slices[{i}] must be a slice(start, stop) with 0 <= start <= stop, got {sl!r}")


def scratch(xp, n, slices, dtype):
    """(buffer, view): a workspace and ``view(sl)``, an n x len(sl) C-contiguous block at its start."""
    _xp_arg(xp)
    n = check_int(n, "n", minimum=0)
    _check_slices(slices)
    dtype = check_dtype(dtype)
    if not slices:
        return None, lambda sl: None
    size = n * max(sl.stop - sl.start for sl in slices)
    if size * dtype.itemsize < SMALL_BYTES:  # small blocks: plain allocations are cheaper
        return None, lambda sl: None
    buf = take_workspace(xp, size, dtype)
    return buf, lambda sl: buf[: n * (sl.stop - sl.start)].reshape(n, sl.stop - sl.start)


def step_slices(m, n, chunk, itemsize, xp):
    """The neuron slices of one step: a single block when its features fit :func:`~expreg_nb.chunks.feature_budget`."""
    if xp is not None:
        _xp_arg(xp)
    if chunk is None and check_int(m, "m", minimum=0) * check_int(n, "n", minimum=0) \
            * check_int(itemsize, "itemsize") <= feature_budget(xp):
        return [slice(0, m)]
    return neuron_slices(m, n, chunk, itemsize)


def step_blocks(xp, n, slices, keep, dtype):
    """(buffer, block): kept blocks side by side in one workspace, then one scratch block for the rest.

    ``block(i)`` is the n x len(slices[i]) C-contiguous array that chunk ``i`` is computed into.
    """
    _xp_arg(xp)
    n = check_int(n, "n", minimum=0)
    _check_slices(slices)
    keep = check_int(keep, "keep", minimum=0, maximum=len(slices))
    dtype = check_dtype(dtype)
    widths = [sl.stop - sl.start for sl in slices]
    starts = [0]
    for w in widths[:keep]:
        starts.append(starts[-1] + n * w)
    scratch = starts[-1]
    buf = take_workspace(xp, scratch + n * max(widths[keep:], default=0), dtype)

    def block(i):
        off = starts[i] if i < keep else scratch
        return buf[off: off + n * widths[i]].reshape(n, widths[i])

    return buf, block


class FeatureBlocks:
    """The one feature-block protocol of every kernel: slices, workspace taken, blocks, workspace given back.

    ``FeatureBlocks(xp, n, m, dtype, chunk)`` cuts the m neurons into the slices of
    :func:`neuron_slices` (n x c blocks of at most :data:`CHUNK_BYTES`); with
    ``twice=True`` (a gradient step, whose second pass needs every block again)
    into those of :func:`step_slices`, and the first :func:`kept_chunks` blocks are
    kept for the second pass.  Used as a context manager it takes the workspace
    (:func:`take_workspace`) on entry and gives it back on exit::

        with FeatureBlocks(xp, n, m, X.dtype, chunk) as fb:
            for i, sl in enumerate(fb.slices):
                E = fb.form(i, lambda sl, out: features(W, X, sl, out))

    ``form(i, make)`` computes block ``i`` as ``make(slice, out)`` into its place in
    the workspace (``out`` is ``None`` for small blocks: a fresh array is cheaper),
    ``again(i, make)`` returns it in the second pass (the kept block, or formed
    anew).  ``small`` is true when the whole call is one block under
    :data:`SMALL_BYTES`: kernels then run their straight-line formulas, and
    ``form(0, make)`` works without the ``with`` (there is no workspace).
    """

    __slots__ = ("xp", "n", "dtype", "slices", "keep", "small", "_buf", "_block", "twice")

    def __init__(self, xp, n, m, dtype, chunk=None, *, twice=False):
        if type(n) is not int or type(m) is not int or n < 0 or m < 0:  # shapes: ints, checked once
            n, m = check_int(n, "n", minimum=0), check_int(m, "m", minimum=0)
        if dtype is not _F64 and dtype is not _F32:
            dtype = check_dtype(dtype)
        if xp is not np:
            _xp_arg(xp)
        if type(twice) is not bool:
            from .validation import check_bool

            twice = check_bool(twice, "twice")
        if chunk is None:
            itemsize = dtype.itemsize
            per = CHUNK_BYTES // (itemsize * n) if n > 1 else CHUNK_BYTES // itemsize
        else:
            if type(chunk) is not int or chunk < 1:
                chunk = check_int(chunk, "chunk", minimum=1)
            itemsize, per = dtype.itemsize, chunk
        self.xp, self.n, self.dtype, self.twice = xp, n, dtype, twice
        # one slice holds all m neurons (neuron_slices would return [slice(0, m)]) and it is small
        self.small = 0 < m <= per and n * m * itemsize < SMALL_BYTES
        if self.small:  # no workspace: usable without ``with``
            self.slices, self.keep = [slice(0, m)], 1
            self._buf, self._block = None, _no_block
            return
        one = neuron_slices(m, n, chunk, itemsize)
        if twice:
            self.slices = step_slices(m, n, chunk, itemsize, xp)
            self.keep = (1 if len(self.slices) == 1 else kept_chunks(self.slices, n, itemsize, xp)) \
                if self.slices else 0
        else:
            self.slices, self.keep = one, 0
        self._buf, self._block = None, None

    def __enter__(self):
        if not self.slices or self.small:
            self._block = _no_block
        elif self.twice:
            self._buf, self._block = step_blocks(self.xp, self.n, self.slices, self.keep, self.dtype)
        else:
            self._buf, view = scratch(self.xp, self.n, self.slices, self.dtype)
            slices = self.slices
            self._block = lambda i: view(slices[i])
        return self

    def __exit__(self, *exc):
        if self._buf is not None:
            give_workspace(self._buf)
        self._buf = self._block = None
        return False

    def form(self, i, make):
        """Block ``i`` computed by ``make(slice, out)`` into its place (``out=None``: a fresh array)."""
        sl = self.slices[i]
        block = make(sl, self._block(i))
        if _local.__dict__.get("trace") is not None:
            _local.trace.append(sl.stop - sl.start)
        return block

    def again(self, i, make):
        """Block ``i`` for the second pass: the block kept from the first pass, else formed anew."""
        if i < self.keep:
            return self._block(i)
        return self.form(i, make)


def _no_block(i):
    return None


def _xp_arg(xp):
    from .backend import check_xp

    if xp is None:
        raise TypeError("xp must be an array module (numpy or cupy), got None")
    return check_xp(xp)

"""Chunking over neurons: bounds the memory of m x n intermediate arrays."""
from __future__ import annotations

from .validation import check_int

#: Target size of one chunk of an (n x chunk) float64 intermediate, in bytes.
CHUNK_BYTES = 32 * 2**20


def neuron_slices(m: int, n: int, chunk: int | None = None):
    """Slices covering ``range(m)`` whose n x len(slice) float64 block fits :data:`CHUNK_BYTES`.

    ``chunk`` overrides the number of neurons per slice.
    """
    if chunk is None:
        chunk = max(1, CHUNK_BYTES // (8 * max(n, 1)))
    else:
        chunk = check_int(chunk, "chunk", minimum=1)
    return [slice(s, min(s + chunk, m)) for s in range(0, m, chunk)]

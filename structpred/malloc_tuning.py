"""glibc allocator thresholds (``mallopt``) for long numeric runs.

Two callers, two measured reasons: ``structpred learn`` lowers the mmap threshold so that
large arrays freed during training leave no heap holes in the peak RSS; Dask workers, whose
nanny sets ``MALLOC_TRIM_THRESHOLD_`` (which freezes glibc's adaptive thresholds), get glibc's
own adaptive maxima back. Elsewhere (no glibc) every function here is a no-op returning False.
"""
from __future__ import annotations

__all__ = ["set_malloc_thresholds"]

#: malloc.h's parameter numbers
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def set_malloc_thresholds(mmap_threshold: int, trim_threshold: int) -> bool:
    """For the rest of this process, serve blocks of ``mmap_threshold`` bytes and more by mmap
    and keep up to ``trim_threshold`` bytes of freed heap for reuse (setting the first alone
    would pin the second at 128 KiB, and the heap would shrink and regrow around every few
    small arrays). Returns whether both settings took (False where mallopt is absent)."""
    try:
        import ctypes
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, int(mmap_threshold))) and \
        bool(mallopt(M_TRIM_THRESHOLD, int(trim_threshold)))

"""Process-level settings of the console script (never of the library, nor of tests
that call :func:`borderwatch.cli.main`).

Python's cyclic garbage collector walks every object it tracks on each full collection,
and again while the interpreter shuts down. A scan imports about 100,000 long-lived
objects (NumPy, SciPy, supervision, trackers); walking them frees nothing. Importing
what the scan imports and exiting took 0.96 s; with the collector paused during the
imports and their objects frozen (:func:`gc.freeze`), 0.78 s. So the console script
loads modules with the collector paused and then moves what they allocated out of its
sight. The collector stays on while a command works: only import-time objects, and at
exit everything, are exempt.

OpenBLAS runs on one thread unless ``OPENBLAS_NUM_THREADS`` says otherwise: the only
linear algebra here is line fits over a few points, and each of the two OpenBLAS copies
loaded (NumPy's and SciPy's) would otherwise start a thread per core at import, which
cost 0.3 s of CPU per scan (measured) on cores the video decoder needs.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

_active = False


def activate() -> None:
    """Turn the settings on for this process (the console script does, first thing)."""
    global _active
    _active = True
    # Only effective before NumPy is imported, which the console script has not done yet.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@contextmanager
def loading_modules() -> Iterator[None]:
    """Import inside this block: no cyclic collections while modules load, and the
    objects they made are left out of every later collection."""
    if not _active:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def before_exit() -> None:
    """Spare the interpreter's shutdown its collections over the whole heap.

    Called once the command has returned: every output file has been closed by then,
    so nothing is left whose only finaliser is the collector's.
    """
    if _active:
        gc.freeze()

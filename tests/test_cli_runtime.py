"""The console script's process settings (borderwatch/cli/runtime.py)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

from borderwatch.cli import runtime


def test_library_and_test_use_is_untouched():
    # main() called in-process (as by the tests) must not pause or freeze the collector.
    assert not runtime._active
    frozen = gc.get_freeze_count()
    with runtime.loading_modules():
        assert gc.isenabled()
    runtime.before_exit()
    assert gc.isenabled() and gc.get_freeze_count() == frozen


PROBE = """
import gc, json, os, sys
from borderwatch.cli import runtime
runtime.activate()
inside = None
with runtime.loading_modules():
    inside = gc.isenabled()
    import numpy
    blas = os.environ.get("OPENBLAS_NUM_THREADS")
after = gc.isenabled(), gc.get_freeze_count()
runtime.before_exit()
print(json.dumps({"inside": inside, "after": after, "exit_frozen": gc.get_freeze_count(), "blas": blas}))
"""


def test_console_settings_pause_then_freeze():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["inside"] is False  # paused while modules load
    enabled, frozen = got["after"]
    assert enabled and frozen > 1000  # back on, with NumPy's objects out of its sight
    assert got["exit_frozen"] >= frozen
    assert got["blas"] == "1"


def test_console_settings_respect_the_users_blas_threads():
    code = "import os; from borderwatch.cli import runtime; runtime.activate(); print(os.environ['OPENBLAS_NUM_THREADS'])"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "3"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert proc.stdout.strip() == "3"

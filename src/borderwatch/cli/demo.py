"""`borderwatch demo` (not yet built)."""

from __future__ import annotations

from . import app


@app.command()
def demo() -> None:
    """Generate a short scene, scan it, and show what was found next to the truth."""
    raise SystemExit("demo: not built yet")

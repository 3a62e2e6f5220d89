"""`borderwatch synth` (not yet built)."""

from __future__ import annotations

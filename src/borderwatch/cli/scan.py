"""`borderwatch scan` (not yet built)."""

from __future__ import annotations

"""Check of the 15-minute life circle (LC01)."""

from __future__ import annotations

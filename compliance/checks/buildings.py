"""Checks of buildings, energy and urban renewal (BH, EN, GB, UR rules)."""

from __future__ import annotations

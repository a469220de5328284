"""Checks of density, road network, green ratios and permeable surface (CL03, RD02, GR04–GR06, PM01, DN01, DN02)."""

from __future__ import annotations

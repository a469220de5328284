"""Shared fixtures: the demo scheme and its check results.

Helpers (paths, the test CRS, in-memory schemes, one-rule runs) live in
:mod:`helpers` (tests/helpers.py).
"""

from __future__ import annotations

import sys

import pytest
from helpers import DEMO, ROOT

import compliance

sys.path.insert(0, str(ROOT / "sample_data" / "demo"))


@pytest.fixture(scope="session")
def demo_national() -> compliance.Result:
    """The demo scheme checked against the national profile."""
    return compliance.check(DEMO, "national")


@pytest.fixture(scope="session")
def demo_hebi() -> compliance.Result:
    """The demo scheme checked against the Hebi profile."""
    return compliance.check(DEMO, "hebi")

"""The checks: each binds a measure to a rule's limit and parameters.

Every check is registered under the ``measure`` name the rule files use, takes
the scheme (layers in a projected metric CRS), the rule and its validated
parameters, and returns an :class:`~compliance.rules.registry.Evaluation`.  One
module per family; importing this package registers them all.
"""

from . import buildings, density, green, life_circle, open_space, resilience, roads, structure

__all__ = [
    "buildings",
    "density",
    "green",
    "life_circle",
    "open_space",
    "resilience",
    "roads",
    "structure",
]

"""Planning-compliance checker for the spatial rules of China's carbon-peaking plans
for urban-rural construction (城乡建设领域碳达峰行动方案).

>>> import compliance
>>> result = compliance.check("sample_data/demo/demo.gpkg", "hebi")  # doctest: +SKIP
>>> result.violations[["rule_id", "feature_id", "measured", "limit"]]  # doctest: +SKIP
"""

from .engine import Result, check, evaluate
from .errors import ComplianceError, InputError, OutputError, RuleFileError
from .reading.scheme import Scheme, read_scheme
from .rules.catalogue import Profile, Rule, list_profiles, load_profile

__all__ = [
    "ComplianceError",
    "InputError",
    "OutputError",
    "Profile",
    "Result",
    "Rule",
    "RuleFileError",
    "Scheme",
    "check",
    "evaluate",
    "list_profiles",
    "load_profile",
    "read_scheme",
]
__version__ = "0.1.0"

"""The Processing provider ``compliance``."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider

from .algorithm import CheckAlgorithm


class ComplianceProvider(QgsProcessingProvider):
    """Provider id ``compliance``; algorithms: ``check`` (``compliance:check``)."""

    def id(self) -> str:
        return "compliance"

    def name(self) -> str:
        return "Compliance (碳达峰规划合规检查)"

    def longName(self) -> str:
        return self.name()

    def loadAlgorithms(self) -> None:
        self.addAlgorithm(CheckAlgorithm())

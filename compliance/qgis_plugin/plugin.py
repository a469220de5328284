"""The plugin object QGIS loads: registers the Processing provider."""

from __future__ import annotations

from typing import Any

from qgis.core import QgsApplication

from .provider import ComplianceProvider


class CompliancePlugin:
    """Adds the ``compliance`` Processing provider (``qgis_process`` calls ``initProcessing``)."""

    def __init__(self, iface: Any) -> None:
        self.iface = iface
        self.provider: ComplianceProvider | None = None

    def initProcessing(self) -> None:
        self.provider = ComplianceProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:
        self.initProcessing()

    def unload(self) -> None:
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None

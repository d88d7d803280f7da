"""A third-party-style channel plugin for the entry-point tests: records what it is given."""

from __future__ import annotations

from collections.abc import Mapping

from engine.ports import ChannelStatus, DeliveryReport, OutgoingMessage, RecipientResult


class RecordingChannel:
    """Keeps every delivered message in memory (kind "recording")."""

    kind = "recording"

    def __init__(self, settings: Mapping[str, str], *, data_dir: str) -> None:
        self.settings = dict(settings)
        self.delivered: list[OutgoingMessage] = []

    @staticmethod
    def status(settings: Mapping[str, str], *, data_dir: str) -> ChannelStatus:
        return ChannelStatus(live=True, target="memory:")

    def deliver(self, message: OutgoingMessage) -> DeliveryReport:
        self.delivered.append(message)
        return DeliveryReport([RecipientResult(message.channel, "sent")], target="memory:")

    def close(self) -> None:
        """Nothing to release."""


class NotAChannel:
    """Lacks deliver/status: the registry must refuse it by name."""

    kind = "broken"

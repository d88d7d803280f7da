"""What a plan is checked against in this installation: its channel kinds and path roots.

`validate` and `diagram` need these and nothing else of the wiring, so they live apart from
`engine.bootstrap` (which imports the whole service layer): checking a plan starts without it
(issue #13). `engine.bootstrap` builds the running application with the same two functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from engine.definition.channel_settings import PathRoots

if TYPE_CHECKING:
    from engine.ports import ChannelKinds
    from engine.settings import Settings


def default_channels(publish_root: Path | None = None) -> ChannelKinds:
    """The channel kinds of this installation: the built-ins plus entry-point plugins; the
    publishing kinds may write under `publish_root` (`Settings.publish_root`) or the data folder."""
    from channels.registry import ChannelRegistry  # noqa: PLC0415  (imported only when wired)

    return ChannelRegistry(publish_root)


def path_roots(settings: Settings) -> PathRoots:
    """Where a plan's path settings may point: the data folder and the publish root."""
    root = settings.publish_root
    return PathRoots.of(str(settings.data), str(root) if root else None)

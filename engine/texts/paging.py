"""Texts of paged listings (`driftplan incident list`): the footer that says what is not shown
and the command that shows it."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "paging_more": {
        "sv": "{shown} visas, {remaining} till. Nästa sida: {command}",
        "en": "{shown} shown, {remaining} more. Next page: {command}",
    },
    "paging_closed_left_out": {
        "sv": "Ytterligare {count} avslutade incidenter visas inte. Visa dem: {command}",
        "en": "{count} more closed incidents are not shown. Show them: {command}",
    },
    "paging_none": {
        "sv": "Inga incidenter på den här sidan.",
        "en": "No incidents on this page.",
    },
}

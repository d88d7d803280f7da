"""How prominently a notice is shown: the severities a plan may give a state or a notify.

One word per stage of an outage, so that the login-page notice says how serious things are:
`info` (information), `warning` (a disturbance), `critical` (organisations run their reserve
routine), `resolved` (all clear). A notify's own `severity` wins over its state's; the state
whose severity counts is the one the incident is in once the trigger happened, so a status
update sent from the partial reserve routine is as severe as that stage. The banner channel
accepts exactly these names (`channels.banner.SEVERITIES` is this tuple).
"""

from __future__ import annotations

from typing import Literal, get_args

Severity = Literal["info", "warning", "critical", "resolved"]
SEVERITIES: tuple[str, ...] = get_args(Severity)

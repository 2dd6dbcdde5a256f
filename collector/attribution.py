"""Where a visit came from: channel, referrer and campaign, as stored on page-view rows."""

from __future__ import annotations

from dataclasses import astuple, dataclass


@dataclass(frozen=True)
class Attribution:
    channel: str = ""  # direct | search | social | website | campaign
    referrer_host: str = ""
    referrer_name: str = ""  # search engine or social network name
    campaign_name: str = ""
    campaign_source: str = ""
    campaign_medium: str = ""
    campaign_keyword: str = ""
    campaign_content: str = ""

    def values(self) -> tuple[str, ...]:
        return astuple(self)

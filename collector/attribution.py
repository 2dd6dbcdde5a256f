"""Where a visit came from: channel, referrer and campaign, as stored on page-view rows."""

from __future__ import annotations

from dataclasses import dataclass


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
        """Column values in schema order (not `dataclasses.astuple`, which deep-copies: hot path)."""
        return (
            self.channel, self.referrer_host, self.referrer_name, self.campaign_name, self.campaign_source,
            self.campaign_medium, self.campaign_keyword, self.campaign_content,
        )

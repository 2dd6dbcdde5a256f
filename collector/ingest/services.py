"""What the ingest pipelines write to and read from, owned by the app (one instance, no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field

from collector.core.sites import Site, SiteRegistry
from collector.ingest.consent import ConsentGate
from collector.ingest.metrics import Metrics
from collector.ingest.policy import MaskPolicy
from collector.ingest.writer import BatchWriter
from ingest_schema.hashing import Hasher


@dataclass
class IngestServices:
    """Everything the pipeline writes to or reads from, owned by the app."""

    sites: SiteRegistry
    hasher: Hasher
    gate: ConsentGate
    writer: BatchWriter
    metrics: Metrics
    max_string_chars: int
    drop_bots: bool = True
    policies: dict[str, MaskPolicy] = field(default_factory=dict)

    def mask_policy(self, site: Site) -> MaskPolicy:
        """One policy per site, kept so its memo of masked strings is reused across payloads."""
        policy = self.policies.get(site.id)
        if policy is None:
            policy = self.policies[site.id] = MaskPolicy(
                site.masking, site.sensitive_params, self.max_string_chars, self.hasher, site.id
            )
        return policy

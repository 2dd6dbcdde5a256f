"""Matomo drop-in: the tracking API (`/matomo.php`), visits, consent modes and a `_paq` tracker.

A site that runs Matomo today changes only its tracker URL; its hits land in the same `pageviews`
and `events` tables as Clarity data (source 'matomo'), plus one `visits` row per visit.
"""

from __future__ import annotations

SOURCE = "matomo"

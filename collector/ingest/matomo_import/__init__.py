"""Import a site's history from Matomo's own database (`python -m collector.ingest.matomo_import`).

Reads Matomo's raw log tables from MySQL/MariaDB (visits, actions, the action names, conversions and
their items, sites for time zones) and writes them through the live Matomo ingest's own steps (hit
fields, masking, page views, row builders, keyed visitor hash), so imported history and live traffic
are stored, masked and counted alike. Imported rows carry `source = 'matomo-import'`. Never read:
Matomo's `location_ip` and `config_id`. See docs/matomo-import.md.
"""

from __future__ import annotations

#: The `source` of imported rows: an audit tells them from live Matomo hits ('matomo'); the dashboards
#: count both (they do not filter on source).
SOURCE = "matomo-import"

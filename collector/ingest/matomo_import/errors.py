"""Why an import refuses to run: each is a clear message and an exit code, nothing half-written."""

from __future__ import annotations

from collector.core.errors import CollectorError

EXIT_OK, EXIT_REFUSED, EXIT_STORAGE = 0, 2, 4


class ImportRefused(CollectorError):
    """Bad input: the DSN, the Matomo database (unreachable, missing tables, another schema version),
    an unknown idsite or site. Nothing is written; fix the input and run again."""


class StorageHeld(CollectorError):
    """The embedded ClickHouse folder is held by a running collector and no server DSN is configured."""

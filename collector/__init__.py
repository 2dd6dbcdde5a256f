"""Privacy-first analytics collector: Clarity, Matomo and first-party beacons into ClickHouse.

Nothing is stored without consent, form input is masked on the server, and data expires by TTL.
"""

__version__ = "0.1.0"

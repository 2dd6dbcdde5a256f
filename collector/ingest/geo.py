"""Country of a request, looked up in memory from its IP address, which is then forgotten.

Uses `geoip2fast` (a maintained, offline IP-to-country database shipped inside the package: no
download at run time). The client IP is the TCP peer, or, behind a reverse proxy, the address in
the one header the operator configured (`COLLECTOR_CLIENT_IP_HEADER`); a client cannot choose it.
"""

from __future__ import annotations

import ipaddress
import logging
from functools import lru_cache
from typing import Any, Mapping

log = logging.getLogger(__name__)

#: The geoip2fast data file with IPv4 and IPv6 ranges (loads in about 0.1 s).
DATA_FILE = "geoip2fast-ipv6.dat.gz"


@lru_cache(maxsize=1)
def _ranges() -> Any:
    """The loaded data file, once per process: it is read-only, and loading it costs about 0.2 s of CPU
    (an app built again in one process, as tests and a restarted app do, shares it)."""
    try:
        from geoip2fast import GeoIP2Fast

        return GeoIP2Fast(geoip2fast_data_file=DATA_FILE, verbose=False)
    except Exception as exc:  # the collector works without countries rather than not at all
        log.warning("country lookup disabled: geoip2fast could not load its data (%s)", exc)
        return None


class CountryLookup:
    """IP → ISO 3166 alpha-2 country code ("" when unknown, private or unparseable)."""

    def __init__(self) -> None:
        self._db: Any = _ranges()
        self.country = lru_cache(maxsize=8192)(self._country)

    def _country(self, ip: str) -> str:
        address = normalise_ip(ip)
        if self._db is None or not address:
            return ""
        code = str(self._db.lookup(address).country_code or "")
        return code if len(code) == 2 and code.isalpha() else ""


def normalise_ip(ip: str) -> str:
    """A plain IP string (IPv4-mapped IPv6 as IPv4, zone and port-free), or "" if it is not an IP."""
    candidate = ip.strip().strip("[]")
    try:
        address = ipaddress.ip_address(candidate.split("%", 1)[0])
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def client_ip(peer: str | None, headers: Mapping[str, str], header: str) -> str:
    """The client's IP: the configured proxy header when set (its last address, the one the trusted
    proxy added), else the TCP peer. Held in memory for one request only."""
    if header:
        value = headers.get(header, "")
        if value:
            return normalise_ip(value.split(",")[-1])
        return ""
    return normalise_ip(peer or "")

# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A provider that changes nothing itself: a person or other automation does.

Every record to create (``present``) or delete (``absent``) becomes a notice,
which ``dns_txt_record`` shows as a warning in the play output and returns as
``notices``. With ``path`` the same records are also written as JSON to that
file (atomically, rewritten after every zone of the run), for automation that
picks them up::

    {"provider": "ops", "state": "present", "ttl": 60,
     "records": [{"name": "_acme-challenge.www.example.org", "zone": "example.org", "values": ["..."]}]}

Nothing can be read back (``CAN_READ`` false): the role's wait for
propagation is what sees the records appear, so give the person time with
``letsencrypt_dns_propagation_timeout``.
"""

from __future__ import annotations

import os
import threading

from ansible_collections.certfleet.acme.plugins.module_utils._common.files import atomic_write_json
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import DnsProvider


class ManualProvider(DnsProvider):
    """Records are shown (and optionally written to a JSON file) for someone else to apply."""

    TYPE = "manual"
    OPTIONAL_OPTIONS = ("path",)
    PUBLIC_OPTIONS = ("path",)
    CONCURRENCY = 1
    CAN_READ = False

    def configure(self, config: dict) -> None:
        path = self.option_str(config, "path")
        if path is not None:
            path = os.path.abspath(os.path.expanduser(path))
            if os.path.isdir(path):
                raise self.config_error("path", "is a directory; it must name a file", config.get("path"))
        self.path: str | None = path
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._records: list[dict] = []

    def _record(self, state: str, zone: str, records: dict[str, list[str]], ttl: int | None) -> None:
        zone = normalize(zone)
        with self._lock:
            for fqdn, values in records.items():
                name = normalize(fqdn)
                for value in values:
                    if state == "present":
                        self._lines.append(
                            'provider %r: create in zone %s: %s. %d IN TXT "%s"' % (self.name, zone, name, ttl, value)
                        )
                    else:
                        self._lines.append(
                            'provider %r: delete from zone %s: %s. IN TXT "%s"' % (self.name, zone, name, value)
                        )
                self._records.append({"name": name, "zone": zone, "values": list(values)})
            if self.path is None:
                return
            document = {"provider": self.name, "state": state, "ttl": ttl, "records": list(self._records)}
            try:
                atomic_write_json(self.path, document)
            except OSError as exc:
                raise self.error(None, "cannot write %s: %s" % (self.path, exc)) from None

    def notices(self) -> list[str]:
        with self._lock:
            lines = list(self._lines)
            if lines and self.path is not None:
                lines.append("provider %r: these records are listed in %s" % (self.name, self.path))
            return lines

    # -------------------------------------------------------------- interface
    def read_values(self, zone: str, fqdn: str) -> set[str]:
        """Nothing to read; never called because ``CAN_READ`` is false."""
        return set()

    def add_values(self, zone: str, records: dict[str, list[str]], ttl: int) -> None:
        self._record("present", zone, records, int(ttl))

    def remove_values(self, zone: str, records: dict[str, list[str]]) -> None:
        self._record("absent", zone, records, None)

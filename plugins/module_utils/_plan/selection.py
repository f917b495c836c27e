# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which certificates one run works on (``letsencrypt_dns_only``, like dnscontrol's ``--only``)."""

from __future__ import annotations

import re


def only_names(only) -> list[str]:
    """The names asked for: a list, or one string of names separated by commas or spaces (``-e x=a,b``)."""
    if only is None:
        return []
    if isinstance(only, str):
        items = re.split(r"[\s,]+", only)
    elif isinstance(only, (list, tuple)):
        items = [str(item).strip() for item in only if item is not None]
    else:
        items = [str(only)]
    names = []
    for item in items:
        if item and item not in names:
            names.append(item)
    return names


def only_certificates(certificates, only=None) -> list:
    """The certificates named in ``only``, in their own order; all of them when ``only`` is empty."""
    wanted = only_names(only)
    if not wanted:
        return list(certificates or [])
    return [cert for cert in certificates or [] if isinstance(cert, dict) and cert.get("name") in wanted]


def unknown_certificates(certificates, only=None) -> list[str]:
    """One message per name of ``only`` that is no certificate's name."""
    known = {cert.get("name") for cert in certificates or [] if isinstance(cert, dict)}
    return [
        "letsencrypt_dns_only: %r is not the name of a certificate in letsencrypt_dns_certificates" % name
        for name in only_names(only)
        if name not in known
    ]

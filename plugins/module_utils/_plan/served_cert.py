# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the certificate a TLS endpoint serves, to compare it with the one on disk.

A renewal is only done once the server presents the new certificate: a
failed reload, a forgotten host or a load balancer that was not updated keep
serving the old one. This looks at what is served, the way a client sees it
(TLS handshake with SNI), and takes the leaf certificate. Nothing is
verified on purpose: the point is to compare with the certificate on disk,
not to trust the server, and an expired or self-signed certificate must be
readable too.
"""

from __future__ import annotations

import socket
import ssl

from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize
from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import load_der_certificate

DEFAULT_PORT = 443


class ServedCertError(Exception):
    """The endpoint could not be reached, or sent no certificate."""


def sni_for(names) -> str | None:
    """The server name to send for a certificate with ``names``: the first, ``*.`` stripped from a wildcard."""
    for name in names or ():
        name = normalize(name)
        if name.startswith("*."):
            name = name[2:]
        if name:
            return name
    return None


def _client_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def fetch_served_der(host: str, port: int = DEFAULT_PORT, sni: str | None = None, timeout: float = 10) -> bytes:
    """The DER bytes of the leaf certificate ``host:port`` presents for ``sni``.

    ``sni`` None sends no server name. Raises ServedCertError for connection,
    handshake and timeout errors.
    """
    context = _client_context()
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=sni or None) as tls:
                der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError, ValueError, UnicodeError) as exc:
        raise ServedCertError("TLS handshake with %s:%s (SNI %s) failed: %s" % (host, port, sni, exc)) from exc
    if not der:
        raise ServedCertError("%s:%s (SNI %s) sent no certificate" % (host, port, sni))
    return der


def fetch_served_certificate(host: str, port: int = DEFAULT_PORT, sni: str | None = None, timeout: float = 10):
    """The parsed leaf certificate ``host:port`` serves for ``sni`` (see :func:`fetch_served_der`)."""
    der = fetch_served_der(host, port, sni, timeout)
    try:
        return load_der_certificate(der)
    except ValueError as exc:
        raise ServedCertError(
            "%s:%s (SNI %s) sent a certificate that does not parse: %s" % (host, port, sni, exc)
        ) from exc


def endpoint_argument_spec(**extra: dict) -> dict:
    """A module argument spec for a TLS endpoint to read the served certificate from: host, port, sni (+ ``extra``).

    cert_expiry_facts (``endpoint``) and cert_deploy (``verify``) take the same endpoint.
    """
    options = {
        "host": {"type": "str", "required": True},
        "port": {"type": "int", "default": DEFAULT_PORT},
        "sni": {"type": "str"},
    }
    options.update(extra)
    return {"type": "dict", "options": options}

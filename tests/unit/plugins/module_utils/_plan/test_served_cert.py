# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import socket

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._plan.served_cert import (
    ServedCertError,
    fetch_served_certificate,
    sni_for,
)


@pytest.mark.parametrize(
    "names, sni",
    [
        (["www.example.org", "example.org"], "www.example.org"),
        (["*.example.org", "example.org"], "example.org"),
        (["WWW.Example.ORG."], "www.example.org"),
        (["bücher.example"], "xn--bcher-kva.example"),
        ([], None),
        (None, None),
        (["", "b.example"], "b.example"),
    ],
)
def test_sni_for(names, sni):
    assert sni_for(names) == sni


def test_a_closed_port_is_a_served_cert_error():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: the connection is refused
        with pytest.raises(ServedCertError, match="127.0.0.1:%d" % port):
            fetch_served_certificate("127.0.0.1", port, "www.example.org", timeout=2)


def test_a_peer_that_is_not_tls_is_a_served_cert_error():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        # Nobody answers the ClientHello: the handshake times out.
        with pytest.raises(ServedCertError, match="failed"):
            fetch_served_certificate("127.0.0.1", port, None, timeout=0.5)

# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``cert.json`` document kept next to every certificate, built in one place.

A certificate comes into the state either from the CA (acme_finalize) or
from another client's files (certificate_adopt). Both write the same
document, so cert_expiry_facts and the report read an adopted certificate
exactly like an issued one.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._acme.chains import chain_issuer
from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import iso_utc, utc_now
from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import certificate_info, load_certificate


def certificate_document(name: str, key_type: str | None, blocks: list, order_url: str | None, **extra) -> dict:
    """``cert.json`` of the chain ``blocks`` (PEM, leaf first) stored as ``name``; ``extra`` adds fields."""
    info = certificate_info(load_certificate(blocks[0]))
    document = {
        "name": name,
        "names": info["names"],
        "key_type": key_type,
        "serial": info["serial"],
        "not_before": info["not_before"],
        "not_after": info["not_after"],
        "issuer": info["issuer"],
        "chain_issuer": chain_issuer(blocks),
        "order_url": order_url,
        "issued_at": iso_utc(utc_now()),
    }
    document.update(extra)
    return document

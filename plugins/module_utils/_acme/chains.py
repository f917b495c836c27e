# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Choose among the certificate chains a CA offers (RFC 8555 section 7.4.2).

The certificate URL answers with the CA's default chain; a CA with more than
one path to a trusted root (Let's Encrypt during a root transition, a CA
cross-signed by an older root) lists the others as ``Link: <url>;
rel="alternate"``, fetched the same way (POST-as-GET). The user names the
chain they want by the common name of the root it leads to
(``preferred_chain``), as certbot and acme.sh do.

A chain "leads to" a name when its topmost certificate (the last one sent)
was issued by it, or is itself that certificate (a chain that ends with the
root, or a name given for the last intermediate). When no chain matches, the
default chain is kept: a certificate with a less preferred chain is better
than none, and the result carries a warning.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import NameOID
from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import load_certificate

# One link-value of an RFC 8288 Link header: <target> followed by parameters.
_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,=\s]+\s*(?:=\s*(?:\"[^\"]*\"|[^;,\s]*))?)*)")
_PARAM = re.compile(r";\s*([^;,=\s]+)\s*(?:=\s*(?:\"([^\"]*)\"|([^;,\s]*)))?")


def parse_links(header: str | None, base_url: str | None = None) -> list[tuple[str, set]]:
    """``[(url, rels)]`` of a Link header value (several headers arrive joined by commas).

    Relative targets are resolved against ``base_url``.
    """
    links = []
    for match in _LINK.finditer(header or ""):
        target = match.group(1).strip()
        rels = set()
        for param in _PARAM.finditer(match.group(2) or ""):
            if param.group(1).lower() == "rel":
                value = param.group(2) if param.group(2) is not None else (param.group(3) or "")
                rels.update(value.lower().split())
        links.append((urljoin(base_url, target) if base_url else target, rels))
    return links


def alternate_urls(response) -> list[str]:
    """The URLs of the alternate chains a certificate download response links to, in order."""
    header = (response.headers or {}).get("Link") if response is not None else None
    base = getattr(response, "url", None) or None
    urls = []
    for url, rels in parse_links(header, base):
        if "alternate" in rels and url not in urls:
            urls.append(url)
    return urls


def _common_name(name) -> str | None:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else None


def topmost_names(blocks: list) -> tuple[str | None, str | None]:
    """``(issuer CN, subject CN)`` of the last (root-most) certificate of a PEM chain."""
    if not blocks:
        return None, None
    top = load_certificate(blocks[-1])
    return _common_name(top.issuer), _common_name(top.subject)


def chain_issuer(blocks: list) -> str | None:
    """The common name of the root a chain leads to: its topmost certificate's issuer."""
    return topmost_names(blocks)[0]


def chain_matches(blocks: list, preferred: str) -> bool:
    """Whether the chain leads to ``preferred`` (topmost issuer CN, or the topmost certificate's own CN)."""
    wanted = preferred.strip()
    issuer, subject = topmost_names(blocks)
    return wanted in (issuer, subject)


def select_chain(default: list, alternates: list, fetch, preferred: str | None) -> tuple[list, list]:
    """The chain to keep and the warnings about the choice.

    ``default`` is the default chain (PEM blocks, leaf first), ``alternates``
    the alternate chain URLs and ``fetch(url)`` returns a chain's PEM blocks.
    Alternates are only fetched when the default does not match, and in the
    CA's order; the first match wins.
    """
    if not preferred or not preferred.strip() or chain_matches(default, preferred):
        return default, []
    seen = [chain_issuer(default)]
    problems = []
    for url in alternates:
        try:
            blocks = fetch(url)
        except Exception as exc:  # noqa: BLE001 - one unreadable alternate must not cost the certificate
            problems.append("%s (%s)" % (url, exc))
            continue
        if not blocks:
            problems.append("%s (empty)" % url)
            continue
        if chain_matches(blocks, preferred):
            return blocks, []
        seen.append(chain_issuer(blocks))
    warning = (
        "preferred_chain %r matches none of the %d chain(s) the CA offers (they lead to: %s); kept the default chain"
        % (
            preferred,
            len(alternates) + 1,
            ", ".join(repr(name) for name in seen),
        )
    )
    if problems:
        warning += "; alternate chains that could not be read: %s" % "; ".join(problems)
    return default, [warning]

#!/usr/bin/python
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Answer the DNS-01 challenges of ACME orders, finalize them and write the certificates."""

from __future__ import annotations

DOCUMENTATION = r"""
module: acme_finalize
short_description: Validate and finalize ACME orders, and write key, certificate and chain files
version_added: 0.1.0
description:
  - Takes the orders returned by M(certfleet.acme.acme_dns01_order), after their TXT records were published and
    have propagated, and works on all of them concurrently.
  - For each order it answers every pending dns-01 challenge, polls the authorizations and the order (honouring
    the CA's C(Retry-After), within O(timeout)), generates a fresh private key of the certificate's key type,
    finalizes with a CSR for all names, and downloads the certificate chain.
  - Writes C(<state_dir>/<name>/privkey.pem) (mode 0600), C(cert.pem) (leaf), C(chain.pem) (intermediates),
    C(fullchain.pem) and C(cert.json). All files are staged completely in C(<name>/.staging/) before any live
    file is replaced, so a write that fails (for example C(No space left on device)) leaves the previous files
    exactly as they were and fails only that certificate. The staging directory is a complete new C(<name>)
    (the five files, and a copy of C(order.json) and the other files the live directory holds); it is committed
    by renaming it to C(<name>/.commit/) and switched in with two directory renames (C(<name>) to
    C(.<name>.old), then C(.<name>.old/.commit) to C(<name>)), after which the old set is removed. So
    C(<name>/) always holds one whole set, never a new key next to an old certificate (for the instant between
    the two renames it is missing). A C(<name>) that is a mount point cannot be renamed, so its files are then moved
    in one by one, C(cert.pem) last. A switch that a killed run left half-done is finished by the next write, and
    by M(certfleet.acme.state_lock) when a run takes the lock.
  - With O(preferred_chain), the chain that leads to the named root is kept when the CA offers several
    (RFC 8555 section 7.4.2 alternate links).
  - Deletes C(order.json) after issuance, and also when the order became invalid or its certificate could not be
    written (the next run then starts a new order). An order that timed out or was rate limited is kept so the
    next run can resume it.
  - An HTTP 429 answer of the CA is waited out when its C(Retry-After) is at most O(rate_limit_wait); otherwise
    that certificate fails at once, its error naming the time to retry.
  - One certificate's failure does not stop the others. The module fails, naming the failed certificates, and
    still returns all of them.
author:
  - certfleet contributors (@certfleet)
extends_documentation_fragment:
  - certfleet.acme.acme
attributes:
  check_mode:
    description: Contacts nobody and writes nothing; reports every order as V(would_finalize).
    support: full
  diff_mode:
    description: Not supported.
    support: none
options:
  orders:
    description:
      - The orders to finalize, as returned in RV(certfleet.acme.acme_dns01_order#module:orders).
      - Each needs V(name), V(names) and V(order_url); V(key_type) defaults to V(ec256) and must be one of V(ec256),
        V(ec384), V(rsa2048), V(rsa3072), V(rsa4096). Other keys (V(status), V(records), ...) are ignored.
      - An order without V(order_url) (its ordering failed) is returned as failed.
    type: list
    elements: dict
    required: true
  timeout:
    description:
      - Deadline in seconds per order for validation, finalization and download together.
    type: int
    default: 120
  preferred_chain:
    description:
      - Common name of the root (or topmost intermediate) the written chain should lead to, for CAs that offer
        alternate chains (C(Link) with C(rel="alternate") on the certificate, RFC 8555 section 7.4.2), for example
        V(ISRG Root X1) (role variable C(letsencrypt_dns_preferred_chain)).
      - A chain matches when the issuer common name of its topmost certificate, or that certificate's own common
        name, equals this value exactly.
      - The default chain is kept when it matches; otherwise the alternates are fetched in the CA's order and the
        first that matches is written. When none matches, the default chain is written and a warning is returned in
        RV(certificates[].warnings) (and shown as a task warning).
      - Not set means the CA's default chain.
    type: str
  round:
    description:
      - Makes this call one round of a longer wait, so that the task can show progress between rounds. A task
        never needs to set it; its action plugin does it.
      - "Every task of this module runs through the module's action plugin, which calls the module once per round
        of about 30 seconds and, while orders are still being validated, prints one line at default verbosity
        between two rounds, for example 'certfleet.acme.acme_finalize: 12/40 issued, 0 failed, 28 in progress
        (25 validating, 3 not started); longest wait www, 31 s of 120 s'. A long wait is so never a silent task
        (AWX on Kubernetes has been seen to stop a task that printed nothing for about five minutes)."
      - Each round finalizes only the orders that no earlier round finished. An order whose round ended while
        its authorizations were being validated is resumed by the next round, which polls on and answers only a
        challenge that the CA still lists as V(pending). A round never ends between the CSR and the download of an
        order, whose key exists only in that call. O(timeout) still applies per order across rounds, and the task's
        result is that of one call without O(round).
      - Set in a task, only O(round.seconds) is taken from it (V(0) finalizes in one silent call).
      - Without the action plugin (the module run on its own) and without this option, the module works in one
        call. With it, a call whose round ends before every order is done returns successfully with
        RV(round.done=false) and those orders in status V(in_progress).
    type: dict
    suboptions:
      seconds:
        description:
          - Length of the round. An order waiting for validation stops at its first poll after this many seconds;
            an order that would only start after them (beyond the first 16, which always start) waits for the
            next round.
        type: float
        required: true
      waited:
        description:
          - Seconds of O(timeout) that each order (by certificate name) already spent in earlier rounds.
        type: dict
        default: {}
      finished:
        description:
          - The RV(certificates) entries of the orders earlier rounds finished (issued or failed). These orders
            are not worked on again; their entries are returned as given.
        type: list
        elements: dict
        default: []
notes:
  - The private key is never returned or logged; only its path is.
seealso:
  - module: certfleet.acme.acme_dns01_order
  - module: certfleet.acme.dns_wait_propagated
  - module: certfleet.acme.cert_expiry_facts
"""

EXAMPLES = r"""
- name: Finalize the orders whose records have propagated
  certfleet.acme.acme_finalize:
    acme_directory: https://acme-v02.api.letsencrypt.org/directory
    state_dir: /srv/certificates
    orders: "{{ ordered.orders }}"
    timeout: 300
  register: finalized

- name: Set the ACME options once for both ACME modules
  module_defaults:
    group/certfleet.acme.acme:
      acme_directory: https://127.0.0.1:14000/dir
      acme_ca_bundle: /etc/pebble/ca.pem
      state_dir: /srv/certificates
      terms_agreed: true
  block:
    - name: Order
      certfleet.acme.acme_dns01_order:
        certificates: [{name: www, names: [www.example.test]}]
      register: ordered
    - name: Finalize
      certfleet.acme.acme_finalize:
        orders: "{{ ordered.orders }}"
"""

RETURN = r"""
certificates:
  description: One entry per order, in the order of O(orders).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The certificate name.
      type: str
      returned: always
      sample: www
    status:
      description:
        - V(issued), V(failed), or V(would_finalize) in check mode.
        - V(in_progress) only in a call with O(round) whose round ended before this order was done.
      type: str
      returned: always
      sample: issued
    waited:
      description: Seconds of O(timeout) this order has spent, all rounds together.
      type: float
      returned: when RV(certificates[].status=in_progress)
      sample: 31.2
    waiting_for:
      description: What the order waits for, for example V(validation of 1 authorization(s)) or V(its turn).
      type: str
      returned: when RV(certificates[].status=in_progress)
      sample: validation of 1 authorization(s)
    serial:
      description:
        - Serial number of the new certificate as C(openssl x509 -noout -serial) prints it, in upper-case hexadecimal
          with two digits per byte (a leading zero is kept); V(null) unless issued.
      type: str
      returned: always
      sample: 5f3a9c0e1d2b4a69
    not_after:
      description: End of validity of the new certificate, ISO 8601 in UTC; V(null) unless issued.
      type: str
      returned: always
      sample: "2025-06-01T12:00:00Z"
    names:
      description: The DNS names of the certificate (as issued, once issued).
      type: list
      elements: str
      returned: always
      sample: [example.org, "*.example.org"]
    key_type:
      description: The key type of the certificate's key.
      type: str
      returned: always
      sample: ec256
    chain_issuer:
      description:
        - Common name of the issuer of the topmost certificate of the chain written (the root the chain leads to);
          V(null) unless issued.
      type: str
      returned: always
      sample: ISRG Root X1
    warnings:
      description: Warnings about this certificate, such as no chain matching O(preferred_chain).
      type: list
      elements: str
      returned: always
      sample: []
    paths:
      description: Where the files of this certificate are (written only when issued).
      type: dict
      returned: always
      contains:
        privkey:
          description: The private key, mode 0600.
          type: str
          returned: always
          sample: /srv/certificates/www/privkey.pem
        cert:
          description: The leaf certificate.
          type: str
          returned: always
          sample: /srv/certificates/www/cert.pem
        chain:
          description: The intermediate certificates.
          type: str
          returned: always
          sample: /srv/certificates/www/chain.pem
        fullchain:
          description: Leaf followed by the intermediates.
          type: str
          returned: always
          sample: /srv/certificates/www/fullchain.pem
    error:
      description:
        - Why this certificate failed, as an RFC 7807 problem document. For a failed validation it is the problem
          of the failing authorization with V(type), V(detail) and V(identifier) (several failed authorizations
          are listed in V(subproblems)). Errors that did not come from the CA have type V(about:blank).
        - A rate limit (HTTP 429) longer than O(rate_limit_wait) has type
          V(urn:ietf:params:acme:error:rateLimited), a detail that names the time to retry, and the members
          V(retry_after) (ISO 8601, UTC) and V(retry_after_seconds).
      type: dict
      returned: when RV(certificates[].status=failed)
      sample:
        type: "urn:ietf:params:acme:error:unauthorized"
        detail: "Incorrect TXT record found at _acme-challenge.www.example.test"
        identifier: {type: dns, value: www.example.test}
round:
  description:
    - How this round ended. The action plugin removes it from the task's result.
  returned: when O(round) is set
  type: dict
  contains:
    done:
      description: Whether every order is done (RV(certificates) are then final), or only this round.
      type: bool
      sample: false
    progress:
      description: One line saying how far the orders got; empty when every order is done.
      type: str
      sample: "12/40 issued, 0 failed, 28 in progress (25 validating, 3 not started); longest wait www, 31 s of 120 s"
    next:
      description: The O(round) option of the next call.
      type: dict
      returned: when RV(round.done) is false
      sample: {seconds: 30, waited: {www: 31.2}, finished: []}
"""

from ansible_collections.certfleet.acme.plugins.module_utils._acme.finalize import (
    IN_PROGRESS,
    finalize_all,
    planned_certificates,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.finalize_rounds import (
    finished_by_name,
    merge_round,
    round_returned,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.module import (
    acme_module,
    fail_on_failures,
    read_input,
    session_or_fail,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import parse_orders
from ansible_collections.certfleet.acme.plugins.module_utils._common.outcomes import ISSUED
from ansible_collections.certfleet.acme.plugins.module_utils._common.rounds import NO_ROUND, Round, round_argument
from ansible_collections.certfleet.acme.plugins.module_utils._state.workspace import sync_or_fail


def main():
    module = acme_module(
        {
            "orders": {"type": "list", "elements": "dict", "required": True},
            "timeout": {"type": "int", "default": 120},
            "preferred_chain": {"type": "str"},
            "round": round_argument(
                waited={"type": "dict", "default": {}}, finished={"type": "list", "elements": "dict", "default": []}
            ),
        }
    )
    specs, settings = read_input(module, "orders", parse_orders)
    round_option, timeout = module.params["round"], module.params["timeout"]

    if module.check_mode:
        certificates = planned_certificates(specs, settings.state_dir)
        returned = round_returned(round_option, certificates, timeout)
        module.exit_json(changed=bool(certificates), certificates=certificates, **returned)
    if not specs:
        module.exit_json(changed=False, certificates=[], **round_returned(round_option, [], timeout))
    try:
        rounds = Round(round_option["seconds"]) if round_option else NO_ROUND
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    finished = finished_by_name(round_option)
    session = session_or_fail(module, settings)
    results = finalize_all(
        session,
        [spec for spec in specs if spec.name not in finished],
        settings.state_dir,
        timeout,
        module.params["preferred_chain"],
        rounds,
        (round_option or {}).get("waited"),
    )
    sync_or_fail(module, settings.state_dir)
    # Earlier rounds warned about the certificates they finished.
    for cert in results:
        for warning in cert.get("warnings") or []:
            module.warn("certificate %r: %s" % (cert["name"], warning))
    certificates = merge_round(specs, finished, results)
    changed = any(cert["status"] == ISSUED for cert in certificates)
    returned = round_returned(round_option, certificates, timeout)
    if any(cert["status"] == IN_PROGRESS for cert in certificates):
        module.exit_json(changed=changed, certificates=certificates, **returned)
    fail_on_failures(module, certificates, "were not issued", changed=changed, certificates=certificates, **returned)
    module.exit_json(changed=changed, certificates=certificates, **returned)


if __name__ == "__main__":
    main()

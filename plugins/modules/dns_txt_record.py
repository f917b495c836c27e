#!/usr/bin/python
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - Ansible wants the imports below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_txt_record
short_description: Add or remove single TXT values (ACME DNS-01 challenges) at one or many DNS providers
version_added: 0.1.0
description:
  - Publishes or removes the TXT values of many records in one call, grouped by provider and zone, reading and
    writing concurrently.
  - Works on single values, never on whole record sets. O(state=present) adds the given values and keeps every other
    value at that name (a wildcard and its apex share one C(_acme-challenge) name; a concurrent run may hold values
    there too). O(state=absent) removes exactly the given values.
  - Each record name goes to the provider(s) whose C(zones) contain the longest zone matching the name. A
    zone listed by two providers is dual-hosted and gets the values at both.
  - Every record is validated and routed before any provider is contacted; a name in no configured zone fails the
    task without changing anything.
  - A provider failing does not stop the others; the task then fails, listing every failed provider and record, and
    still returns what was done at the others.
  - Secret options of the provider entries (for example C(key_secret)) are masked in all output and logs.
  - With O(journal), every value is listed in a journal file before it is added, and struck once its removal is
    confirmed, so values that a killed run left behind can be removed by the next run (O(journal_cleanup)).
author:
  - certfleet.acme contributors (@certfleet)
requirements:
  - dnspython >= 2.4 (for providers of type C(rfc2136))
  - boto3 (for providers of type C(route53))
  - requests (for providers of type C(powerdns), C(rackspace) and C(cloudflare))
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - certfleet.acme.provider_rfc2136
  - certfleet.acme.provider_route53
  - certfleet.acme.provider_hook
  - certfleet.acme.provider_powerdns
  - certfleet.acme.provider_rackspace
  - certfleet.acme.provider_cloudflare
  - certfleet.acme.provider_manual
attributes:
  check_mode:
    support: full
    details: Reads the current values and reports what would change; writes nothing.
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  provider:
    description:
      - One DNS provider entry, as in the role variable C(letsencrypt_dns_providers).
      - Needs C(name), C(type) and C(zones) (list of zone names), plus the options of its type, which the notes
        below list (one note per type).
      - Mutually exclusive with O(providers); one of them is required.
    type: dict
  providers:
    description:
      - All DNS provider entries (each as described for O(provider)); records are routed to them by zone.
      - Mutually exclusive with O(provider); one of them is required.
    type: list
    elements: dict
  records:
    description:
      - The TXT records to change. Entries with the same name (also from different certificates) are merged.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The TXT owner name, for example C(_acme-challenge.www.example.com). A trailing dot is allowed.
        type: str
        required: true
      values:
        description:
          - The TXT values to add or remove at O(records[].name), each at most 255 bytes.
          - The alias C(txt_values) is the name M(certfleet.acme.acme_dns01_order) returns them under, so its
            RV(certfleet.acme.acme_dns01_order#module:records) can be passed as they are.
        type: list
        elements: str
        required: true
        aliases: [txt_values]
  state:
    description:
      - V(present) adds the values that are missing; V(absent) removes the values that are there.
    type: str
    choices: [present, absent]
    default: present
  ttl:
    description:
      - TTL in seconds of added values. Short, so a removed challenge does not linger in caches.
    type: int
    default: 60
  skip_providers:
    description:
      - Names of providers that are never written to, for example the second provider of a dual-hosted zone that is
        known to be down. Names routed only to skipped providers are left alone.
    type: list
    elements: str
    default: []
  journal:
    description:
      - Path of the journal of published TXT values, for example C(<state_dir>/.txt-journal.json) (the role uses
        that file in C(letsencrypt_dns_dir)). Not used when unset.
      - With O(state=present), the values about to be added (provider, zone, name, value) are written to it before
        any provider is asked to add them; when that write fails (disk full, no permission) the task fails and
        publishes nothing.
      - With O(state=absent), every value confirmed gone (removed, or found absent) is struck from it; the file is
        deleted once it lists nothing.
      - The file is replaced atomically, under C(flock) on its directory. Keep one journal per state directory and
        one run at a time per state directory (the role's C(state_lock) does that).
      - The file and its directory must belong to this user and not be writable by group or others, and the file
        must not be a symbolic link; otherwise the task fails, naming the path, before the journal is read or
        written. So a journal in a shared folder such as C(/tmp) is refused.
    type: path
  delegations:
    description:
      - The C(_acme-challenge) names that are CNAME-delegated, each mapped to the name its TXT record is written at
        (RV(certfleet.acme.acme_dns01_order#module:delegations)). With O(journal) and O(state=present), the entry
        of each such target records the C(_acme-challenge) names it serves, so that O(journal_cleanup) knows the
        collection wrote it.
    type: dict
    default: {}
  journal_cleanup:
    description:
      - Before working on O(records), remove every value listed in O(journal), at exactly the provider and zone
        listed, and strike it. Those values were published by a run that was killed before it removed them.
      - Only entries this collection writes are acted on, that is an C(_acme-challenge) name or a CNAME target
        recorded with the C(_acme-challenge) names it serves (see O(delegations)), strictly below a configured zone
        of the provider listed. A journal with any other entry (for example one edited to list a record at a zone apex)
        fails the task, naming the entry, and nothing in it is removed.
      - Only those values are removed, nothing else at those names. Entries of a provider in O(skip_providers) are
        kept for a later run (with a notice); entries of a provider that is not configured any more are kept and
        fail the task, naming the values to remove by hand.
      - Runs after O(records) were checked and before they are worked on. The result is returned in RV(recovered).
        Requires O(journal).
    type: bool
    default: false
seealso:
  - module: certfleet.acme.dns_wait_propagated
  - module: certfleet.acme.acme_dns01_order
"""

EXAMPLES = r"""
- name: Publish the challenge values of all orders
  certfleet.acme.dns_txt_record:
    providers: "{{ letsencrypt_dns_providers }}"
    records: "{{ orders | map(attribute='records') | flatten }}"
    state: present
  delegate_to: localhost
  run_once: true

- name: Publish one value through a BIND primary (RFC 2136, TSIG)
  certfleet.acme.dns_txt_record:
    provider:
      name: bind
      type: rfc2136
      zones: [example.org]
      server: 192.0.2.53
      key_name: acme-key
      key_secret: "{{ vault_tsig_secret }}"
      key_algorithm: hmac-sha256
    records:
      - name: _acme-challenge.www.example.org
        values: [LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0]

- name: Publish through an existing dehydrated hook script
  certfleet.acme.dns_txt_record:
    provider:
      name: rackspace-hook
      type: hook
      zones: [example.net]
      hook: /etc/dehydrated/hooks/rackspace.py
      environment:
        RAX_USERNAME: ops
        RAX_API_KEY: "{{ vault_rackspace_api_key }}"
    records:
      - name: _acme-challenge.example.net
        values: [LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0]

- name: Ask a person to create the records (shown as warnings, also written to a JSON file)
  certfleet.acme.dns_txt_record:
    provider:
      name: ops
      type: manual
      zones: [intranet.example]
      path: /var/lib/certfleet/manual-records.json
    records:
      - name: _acme-challenge.wiki.intranet.example
        values: [LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0]

- name: Remove exactly the values this run added, whatever failed before
  certfleet.acme.dns_txt_record:
    providers: "{{ letsencrypt_dns_providers }}"
    records: "{{ orders | map(attribute='records') | flatten }}"
    state: absent

- name: At the start of a run, remove what a killed run published and never removed
  certfleet.acme.dns_txt_record:
    providers: "{{ letsencrypt_dns_providers }}"
    records: []
    state: absent
    journal: /srv/certificates/.txt-journal.json
    journal_cleanup: true

- name: Publish, listing every value in the journal first
  certfleet.acme.dns_txt_record:
    providers: "{{ letsencrypt_dns_providers }}"
    records: "{{ ordered.records }}"
    journal: /srv/certificates/.txt-journal.json
"""

RETURN = r"""
records:
  description: One entry per record and provider written to (two for a record in a dual-hosted zone).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The record name, normalized (lower case, no trailing dot).
      type: str
      sample: _acme-challenge.www.example.org
    provider:
      description: The name of the provider entry.
      type: str
      sample: bind
    zone:
      description: The configured zone the record was routed to.
      type: str
      sample: example.org
    added:
      description: Values added (in check mode, that would be added).
      type: list
      elements: str
      sample: [LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0]
    removed:
      description: Values removed (in check mode, that would be removed).
      type: list
      elements: str
      sample: []
    before:
      description:
        - All values at the name before the change; null when they could not be read, and always null for providers
          that cannot read (types C(hook) and C(manual)).
      type: list
      elements: str
      sample: []
    after:
      description:
        - All values at the name after the change (in check mode, predicted); null when unknown after a failure, and
          always null for providers that cannot read (types C(hook) and C(manual)).
      type: list
      elements: str
      sample: [LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0]
    error:
      description: Why this provider failed for this record; null on success.
      type: str
      sample: null
recovered:
  description:
    - With O(journal_cleanup), one entry per journal entry that was removed (or failed to be), with the same keys as
      RV(records). Empty otherwise.
  returned: always
  type: list
  elements: dict
  sample:
    - name: _acme-challenge.www.example.org
      provider: bind
      zone: example.org
      added: []
      removed: [LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0]
      before: [LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0]
      after: []
      error: null
notices:
  description:
    - Lines for the person running the play, also shown as warnings, for example the records a provider of type
      C(manual) asks to create or delete by hand. Empty for most providers.
  returned: always
  type: list
  elements: str
  sample: ['provider ''ops'': create in zone example.org: _acme-challenge.www.example.org. 60 IN TXT "LoqXcYV8q5ON"']
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.certfleet.acme.plugins.module_utils._dns.module import (
    ProviderModule,
    mask_provider_secrets,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import ProviderConfigError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import missing_library
from ansible_collections.certfleet.acme.plugins.module_utils._dns.record_set import (
    RECORDS_ARGUMENT,
    STATE_ARGUMENT,
    RecordInputError,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.records import (
    SyncResult,
    clean_journal,
    prepare_records,
    sync_groups,
)


def main():
    module = ProviderModule(
        argument_spec=dict(
            provider=dict(type="dict"),
            providers=dict(type="list", elements="dict"),
            records=RECORDS_ARGUMENT,
            state=STATE_ARGUMENT,
            ttl=dict(type="int", default=60),
            skip_providers=dict(type="list", elements="str", default=[]),
            journal=dict(type="path"),
            journal_cleanup=dict(type="bool", default=False),
            delegations=dict(type="dict", default={}),
        ),
        mutually_exclusive=[("provider", "providers")],
        required_one_of=[("provider", "providers")],
        required_if=[("journal_cleanup", True, ("journal",))],
        supports_check_mode=True,
    )
    mask_provider_secrets(module)
    configs = [module.params["provider"]] if module.params["provider"] else module.params["providers"]
    missing = missing_library(configs)
    if missing is not None:
        module.fail_json(msg=missing_required_lib(missing[0]), exception=missing[1])

    recovered = SyncResult()
    try:
        groups = prepare_records(
            module.params["records"],
            configs,
            module.params["state"],
            module.params["ttl"],
            module.params["skip_providers"],
        )
        if module.params["journal_cleanup"]:
            recovered = clean_journal(
                module.params["journal"],
                configs,
                skip=module.params["skip_providers"],
                check_mode=module.check_mode,
                factory=module.build_provider,
            )
        result = sync_groups(
            groups,
            configs,
            state=module.params["state"],
            ttl=module.params["ttl"],
            skip=module.params["skip_providers"],
            check_mode=module.check_mode,
            factory=module.build_provider,
            journal=module.params["journal"],
            delegations=module.params["delegations"],
        )
    except (RecordInputError, ProviderConfigError) as exc:
        # Bad records, provider entries, a name in no zone, or a journal that cannot be written: nothing was
        # published (a journal clean-up that ran first is reported in recovered).
        module.fail_json(
            msg=str(exc),
            changed=recovered.changed,
            records=[],
            recovered=recovered.records,
            notices=recovered.notices,
        )

    notices = recovered.notices + result.notices
    for line in notices + recovered.warnings + result.warnings:
        module.warn(line)
    output = dict(
        changed=recovered.changed or result.changed,
        records=result.records,
        recovered=recovered.records,
        notices=notices,
    )
    if module._diff:
        output["diff"] = {
            "before": recovered.diff.get("before", "") + result.diff["before"],
            "after": recovered.diff.get("after", "") + result.diff["after"],
        }
    errors = recovered.errors + result.errors
    if errors:
        total = len(recovered.records) + len(result.records)
        module.fail_json(msg="%d of %d record(s) failed: %s" % (len(errors), total, "; ".join(errors)), **output)
    module.exit_json(**output)


if __name__ == "__main__":
    main()

# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of certfleet.acme.dns_wait_propagated: the propagation wait in rounds, with a progress line each.

The wait may last up to ``timeout`` (the role's default is five minutes), long
enough for AWX on Kubernetes to stop a task that prints nothing. The module
runs in rounds of about 30 seconds (its ``round`` option) and a line such as
``certfleet.acme.dns_wait_propagated: 37/40 values seen on every nameserver;
still waiting on ns2.example.com (192.0.2.2) for _acme-challenge.a.example.com;
45 s of 300 s`` shows between two of them, at default verbosity.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.plugin_utils.rounds import RoundsAction


class ActionModule(RoundsAction):
    MODULE = "certfleet.acme.dns_wait_propagated"

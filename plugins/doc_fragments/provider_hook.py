# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of a DNS provider entry of type C(hook), a dehydrated-style hook (checked against its class by a test)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
notes:
  - >-
    Provider type C(hook) (an existing dehydrated-style hook script) takes the
    options C(hook) (required) path of the hook, called as C(HOOK deploy_challenge DOMAIN TOKEN_FILENAME TOKEN_VALUE)
    and C(HOOK clean_challenge ...);
    C(chain) (default V(false), V(true) passes many records in one call like dehydrated's C(HOOK_CHAIN=yes));
    C(environment) (secret) variables for the hook, every value treated as a secret;
    C(timeout) (seconds per call, default V(300)).
    The hook cannot read, so O(state=present) deploys and O(state=absent) cleans every given value.
"""

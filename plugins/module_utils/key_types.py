# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The key types a certificate may ask for, apart from the code that makes the keys.

Input checks (acme_specs, and through it the role's filters) need only these
names. Kept here, without cryptography, those checks do not load it: the
filters run in every Ansible worker process that uses one of them, and
loading cryptography there cost about a tenth of a second each time.
"""

from __future__ import annotations

KEY_TYPES = ("ec256", "ec384", "rsa2048", "rsa3072", "rsa4096")
DEFAULT_KEY_TYPE = "ec256"

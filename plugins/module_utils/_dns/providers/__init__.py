# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS providers: the interface, the registry of types and one file per provider family.

Private to the certfleet.acme collection: no compatibility promise (semver) covers it.
"""

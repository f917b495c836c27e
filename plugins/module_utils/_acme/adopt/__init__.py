# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificates another ACME client issued (certbot, dehydrated, dnscontrol), taken into the state as they are.

Private to the certfleet.acme collection: no compatibility promise (semver) covers it.
"""

# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's run: its input checks (input_checks) and the hand-offs between its stages (handoffs).

Private to the certfleet.acme collection: no compatibility promise (semver) covers it.
"""

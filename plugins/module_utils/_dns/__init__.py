# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DNS side of a run: publishing TXT records through providers, CNAME delegation, propagation.

Private to the certfleet.acme collection: no compatibility promise (semver) covers it.
"""

# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hand-offs between the role's stages (what one stage's result means for the next).

Private to the certfleet.acme collection: no compatibility promise (semver) covers it.
"""

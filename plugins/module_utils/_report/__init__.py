# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report: rows and alerts (rows), deploy rows (deploys), the tables (table), e-mail and webhook (notify).

Private to the certfleet.acme collection: no compatibility promise (semver) covers it.
"""

# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where state is kept (a directory, an S3 bucket, a Vault KV v2 mount), behind one interface.

Private to the certfleet.acme collection: no compatibility promise (semver) covers it.
"""

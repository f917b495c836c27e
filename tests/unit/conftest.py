# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests mirror plugins/; the helpers they share (certgen, http_stub) sit beside this file.

pytest puts this folder on sys.path when it loads this conftest, so a test
anywhere below imports them as ``from certgen import make_cert``.
"""

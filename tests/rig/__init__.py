# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local Pebble + BIND9 test rig (see rig.py and docs/docsite/rst/testing.rst)."""

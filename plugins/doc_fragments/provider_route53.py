# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of a DNS provider entry of type C(route53), Amazon Route 53 (checked against its class by a unit test)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
notes:
  - >-
    Provider type C(route53) (Amazon Route 53 through boto3) takes the
    options C(aws_access_key_id) (secret);
    C(aws_secret_access_key) (secret);
    C(aws_session_token) (secret; without these three the usual boto3 credential chain is used);
    C(aws_profile);
    C(region) (default V(us-east-1));
    C(endpoint_url) an AWS-compatible endpoint;
    C(hosted_zone_id) dictionary of zone name to hosted zone id, to skip the lookup by name;
    C(private_zone) (default V(false), only public hosted zones are used);
    C(wait_insync) (default V(true), wait until Route 53 reports each change INSYNC);
    C(wait_timeout) (seconds, default V(300)).
"""

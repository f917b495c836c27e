# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of a DNS provider entry of type C(route53), Amazon Route 53 (checked against its class by a unit test).

The connection options carry amazon.aws's names; each alias is listed as well, since an entry is a dictionary
checked by the provider, not a module option with aliases.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
notes:
  - >-
    Provider type C(route53) (Amazon Route 53 through boto3) takes the
    options C(access_key) (secret; with C(secret_key); without keys and profile the usual boto3 credential chain
    is used);
    C(aws_access_key_id) alias of C(access_key);
    C(aws_access_key) alias of C(access_key);
    C(secret_key) (secret);
    C(aws_secret_access_key) alias of C(secret_key);
    C(aws_secret_key) alias of C(secret_key);
    C(session_token) (secret, temporary credentials);
    C(aws_session_token) alias of C(session_token);
    C(profile) a profile of the AWS configuration files, also one that assumes a role;
    C(aws_profile) alias of C(profile);
    C(region) (default V(us-east-1));
    C(aws_region) alias of C(region);
    C(endpoint_url) an AWS-compatible endpoint (V(https://), no credentials in it);
    C(aws_endpoint_url) alias of C(endpoint_url);
    C(aws_ca_bundle) CA bundle to verify the endpoint with;
    C(validate_certs) (default V(true));
    C(aws_config) dictionary merged into botocore's Config, for example retries;
    C(hosted_zone_id) dictionary of zone name to hosted zone id, to skip the lookup by name;
    C(private_zone) (default V(false), only public hosted zones are used);
    C(wait_insync) (default V(true), wait until Route 53 reports each change INSYNC);
    C(wait_timeout) (seconds, default V(300));
    C(allow_plain_http) (default V(false); V(true) lets C(endpoint_url) be a plain V(http://) URL, for a test
    server on a trusted network only, since the session token then travels in clear text; without it an
    V(http://) URL is refused).
  - Each option may be given under one of its names only; two names of one option in one entry are refused.
"""

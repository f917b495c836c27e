#!/usr/bin/python
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - Ansible wants the imports below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_certificate_deploy
short_description: Deploy an issued certificate to AWS (ACM, IAM and classic ELB, ALB/NLB listeners, Secrets Manager)
version_added: 0.1.0
description:
  - Reads a certificate issued by the role from O(cert_dir) (C(privkey.pem), C(cert.pem), C(chain.pem),
    C(fullchain.pem)) and puts it where AWS serves it. Run it where O(cert_dir) is, normally the controller
    (C(delegate_to=localhost)).
  - Idempotent by serial number - when the target already holds a certificate with this serial, nothing is changed.
  - All reads come first, so a wrong load balancer, listener or ARN fails before anything is uploaded.
  - V(aws_acm) imports into ACM; a renewal is re-imported under the same ARN, found by O(certificate_arn) or by the
    tag C(certfleet:name=<cert_name>), so everything using the ARN keeps working. ACM cannot change the key type on
    re-import; the module fails before changing anything when the key type changed.
  - V(aws_iam_elb) uploads an IAM server certificate named C(<name_prefix>-<YYYYmmddHHMMSS>) (UTC) under
    O(iam_path), points the classic ELB listener at it, waits until the listener reports it and only then deletes the
    other certificates of that prefix and path that no classic or ELBv2 listener of the region uses. When pointing
    the listener fails, the previous certificate stays in place and nothing is deleted; a certificate uploaded by a
    failed run is reused by the next one.
  - V(aws_alb) imports into ACM as V(aws_acm) does, then makes it the default certificate of the ELBv2 listener
    (O(role=default)) or adds it to the listener's SNI certificates and removes the other SNI certificates tagged with
    the same certificate name (O(role=sni)).
  - V(aws_secretsmanager) stores one JSON document C({privkey, cert, chain, fullchain, serial, not_after}) as the
    secret's string, creating the secret (tagged with the certificate name) or adding a new version.
  - The private key is never part of the result or of error messages; its lines are masked in all output.
author:
  - certfleet.acme contributors (@certfleet)
requirements:
  - cryptography
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - certfleet.acme.aws
attributes:
  check_mode:
    support: full
    details: Reads the current state and reports the changes it would make in RV(actions); writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  type:
    description:
      - Where the certificate goes.
    type: str
    required: true
    choices: [aws_acm, aws_iam_elb, aws_alb, aws_secretsmanager]
  cert_name:
    description:
      - The certificate's name, as in the role variable C(letsencrypt_dns_certificates). Used for the tag
        C(certfleet:name) and as the default O(name_prefix).
    type: str
    required: true
  cert_dir:
    description:
      - The certificate's directory, C(<letsencrypt_dns_dir>/<cert_name>), holding C(privkey.pem), C(cert.pem),
        C(chain.pem) and C(fullchain.pem).
    type: path
    required: true
  certificate_arn:
    description:
      - V(aws_acm) and V(aws_alb) only. The imported ACM certificate to re-import into. Without it the imported
        certificate tagged C(certfleet:name=<cert_name>) is used, or a new one is imported.
    type: str
  load_balancer_name:
    description:
      - V(aws_iam_elb) only, required there. The classic load balancer.
    type: str
  listener_port:
    description:
      - V(aws_iam_elb) only. The load balancer port of its HTTPS or SSL listener.
    type: int
    default: 443
  name_prefix:
    description:
      - V(aws_iam_elb) only. IAM server certificates are named C(<name_prefix>-<YYYYmmddHHMMSS>); the default is
        O(cert_name). Certificates with other names are never deleted.
    type: str
  iam_path:
    description:
      - V(aws_iam_elb) only. The IAM path of the server certificates; only certificates under exactly this path are
        considered for reuse and deletion.
    type: str
    default: /certfleet/
  cleanup:
    description:
      - V(aws_iam_elb) only. Delete the older certificates of O(name_prefix) under O(iam_path) that no listener uses
        after the switch was verified.
    type: bool
    default: true
  listener_arn:
    description:
      - V(aws_alb) only, required there. The ARN of the HTTPS or TLS listener of an application or network load
        balancer.
    type: str
  role:
    description:
      - V(aws_alb) only. V(default) makes the certificate the listener's default certificate; V(sni) adds it to the
        listener's certificate list and removes the others tagged with the same certificate name.
    type: str
    choices: [default, sni]
    default: default
  secret_name:
    description:
      - V(aws_secretsmanager) only, required there. The secret's name (or the ARN of an existing secret).
    type: str
  secret_kms_key_id:
    description:
      - V(aws_secretsmanager) only. The KMS key used when the secret is created; an existing secret keeps its key.
    type: str
  wait_timeout:
    description:
      - Seconds to wait for a listener to report the new certificate (and for a new IAM certificate to become
        usable) before giving up and restoring the previous certificate.
    type: int
    default: 120
notes:
  - Classic load balancers and IAM server certificates do not support every key type; RSA 2048 is the safe choice
    there.
seealso:
  - module: certfleet.acme.acme_finalize
"""

EXAMPLES = r"""
- name: Import into ACM (re-imported under the same ARN on renewal)
  certfleet.acme.aws_certificate_deploy:
    type: aws_acm
    cert_name: www
    cert_dir: "{{ letsencrypt_dns_dir }}/www"
    region: eu-west-1
  delegate_to: localhost

- name: Classic ELB through IAM, old certificates deleted after the switch
  certfleet.acme.aws_certificate_deploy:
    type: aws_iam_elb
    cert_name: www
    cert_dir: "{{ letsencrypt_dns_dir }}/www"
    region: eu-west-1
    load_balancer_name: web-classic
    listener_port: 443
  delegate_to: localhost

- name: An extra (SNI) certificate of an ALB listener
  certfleet.acme.aws_certificate_deploy:
    type: aws_alb
    cert_name: shop
    cert_dir: "{{ letsencrypt_dns_dir }}/shop"
    region: eu-west-1
    listener_arn: arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2
    role: sni
  delegate_to: localhost

- name: Key and chain as one JSON secret
  certfleet.acme.aws_certificate_deploy:
    type: aws_secretsmanager
    cert_name: www
    cert_dir: "{{ letsencrypt_dns_dir }}/www"
    region: eu-west-1
    secret_name: tls/www
    access_key: "{{ vault_aws_key_id }}"
    secret_key: "{{ vault_aws_secret }}"
  delegate_to: localhost

- name: Connection options once for every AWS module of the play, as for amazon.aws's modules
  module_defaults:
    group/amazon.aws.aws:
      region: eu-west-1
      profile: certificates  # may assume a role (role_arn and source_profile in ~/.aws/config)
  block:
    - name: Re-import into ACM
      certfleet.acme.aws_certificate_deploy:
        type: aws_acm
        cert_name: www
        cert_dir: "{{ letsencrypt_dns_dir }}/www"
      delegate_to: localhost
"""

RETURN = r"""
type:
  description: The deploy type.
  returned: always
  type: str
  sample: aws_iam_elb
arn:
  description:
    - The ARN of the ACM certificate (V(aws_acm), V(aws_alb)), of the IAM server certificate (V(aws_iam_elb)) or of
      the secret (V(aws_secretsmanager)). Null in check mode when it would be created.
  returned: always
  type: str
  sample: arn:aws:iam::123456789012:server-certificate/certfleet/www-20250301120000
name:
  description: The IAM server certificate name (V(aws_iam_elb)) or the secret name (V(aws_secretsmanager)); else null.
  returned: always
  type: str
  sample: www-20250301120000
serial:
  description:
    - The deployed certificate's serial number, as C(openssl x509 -noout -serial) prints it, in upper-case
      hexadecimal with two digits per byte (a leading zero is kept).
  returned: always
  type: str
  sample: 4b1d0c3f9a2e
not_after:
  description: The deployed certificate's expiry (UTC, ISO 8601).
  returned: always
  type: str
  sample: "2025-05-30T12:00:00Z"
previous:
  description:
    - What was replaced (in check mode, would be replaced); null when nothing was. For V(aws_acm) the certificate
      re-imported over, for V(aws_iam_elb) and V(aws_alb) the listener's previous certificate, for
      V(aws_secretsmanager) the secret's previous value.
  returned: always
  type: dict
  contains:
    arn:
      description: Its ARN.
      type: str
    name:
      description: The IAM server certificate or secret name, when there is one.
      type: str
    serial:
      description:
        - Its serial number, as C(openssl x509 -noout -serial) prints it, in upper-case hexadecimal with two digits
          per byte (a leading zero is kept), when it could be read.
      type: str
    not_after:
      description: Its expiry, when it could be read.
      type: str
removed:
  description:
    - V(aws_iam_elb) the names of the IAM server certificates deleted; V(aws_alb) with O(role=sni) the ARNs of the
      certificates removed from the listener. In check mode, what would be removed.
  returned: always
  type: list
  elements: str
  sample: [www-20250101120000]
actions:
  description: What was done (in check mode, C(would ...) what would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["upload IAM server certificate /certfleet/www-20250301120000", "point load balancer web port 443 at ..."]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.certfleet.acme.plugins.module_utils._aws.options import connection_argument_spec
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.deploy import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.types import (
    ALB_ROLES,
    AWS_TYPES,
    DEFAULT_IAM_PATH,
    REQUIRED,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            type=dict(type="str", required=True, choices=list(AWS_TYPES)),
            cert_name=dict(type="str", required=True),
            cert_dir=dict(type="path", required=True),
            **connection_argument_spec(),
            certificate_arn=dict(type="str"),
            load_balancer_name=dict(type="str"),
            listener_port=dict(type="int", default=443),
            name_prefix=dict(type="str"),
            iam_path=dict(type="str", default=DEFAULT_IAM_PATH),
            cleanup=dict(type="bool", default=True),
            listener_arn=dict(type="str"),
            role=dict(type="str", choices=list(ALB_ROLES), default="default"),
            secret_name=dict(type="str", no_log=False),
            secret_kms_key_id=dict(type="str", no_log=False),
            wait_timeout=dict(type="int", default=120),
        ),
        required_if=[("type", kind, (REQUIRED[kind],)) for kind in AWS_TYPES if kind in REQUIRED],
        required_together=[("access_key", "secret_key")],
        required_by={"session_token": ("access_key",)},
        mutually_exclusive=[("profile", "access_key")],
        supports_check_mode=True,
    )
    run_module(module)


if __name__ == "__main__":
    main()

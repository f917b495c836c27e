# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the state is kept (``state_backend``, the role's ``letsencrypt_dns_state``), documented once.

Every module that reads or writes state takes this option; its argument spec
is ``state_backend_argument_spec()`` in ``module_utils/_state/store/options.py``
and a unit test keeps the two the same.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  state_backend:
    description:
      - Where the state (ACME account, certificates and their keys, pending orders, TXT journal, lease) is kept;
        the role passes its variable C(letsencrypt_dns_state) here.
      - Without it the state is the local directory the module is given.
      - A field of another type than O(state_backend.type) is refused, naming it.
    type: dict
    suboptions:
      type:
        description:
          - V(local) is a directory on the controller, as before.
          - V(s3) is an S3 bucket; every object is written with SSE-KMS and with S3's conditional writes
            (C(If-None-Match), C(If-Match)), so two runners never overwrite each other.
          - V(vault) is a HashiCorp Vault (or OpenBao) KV version 2 mount; every write uses check-and-set.
        type: str
        choices: [local, s3, vault]
        default: local
      lease_duration:
        description:
          - How long the lease of a remote state lasts, in seconds (at least 5); the run renews it while it works.
          - A run that was killed stops renewing; the next run takes the lease over once it has expired, with a
            warning naming the old owner. Until then a second run fails at once, naming the holder.
        type: int
        default: 900
      path:
        description:
          - With V(local), the state directory.
          - With V(vault), the path below O(state_backend.mount) under which each state key is one secret;
            V(certfleet.acme) when not given.
        type: str
      bucket:
        description:
          - With V(s3), the bucket. Required with V(s3).
        type: str
      prefix:
        description:
          - With V(s3), the folder of the state in the bucket (for example V(certfleet/prod)); a relative path
            without C(..). The bucket's top when not given.
        type: str
      kms_key_id:
        description:
          - With V(s3), the KMS key (id, ARN or alias) every object is encrypted with.
          - When not given, objects are still written with SSE-KMS, under the bucket's default KMS key (or
            AWS's C(aws/s3) key).
        type: str
      access_key:
        description:
          - With V(s3), the AWS access key id; needs O(state_backend.secret_key). Without it and without
            O(state_backend.profile), boto3 finds credentials as it always does (environment, shared files,
            container or instance role).
        type: str
        aliases: [aws_access_key_id, aws_access_key]
      secret_key:
        description:
          - With V(s3), the AWS secret access key.
        type: str
        aliases: [aws_secret_access_key, aws_secret_key]
      session_token:
        description:
          - With V(s3), the session token of temporary credentials.
        type: str
        aliases: [aws_session_token]
      profile:
        description:
          - With V(s3), a profile of the AWS configuration files.
        type: str
        aliases: [aws_profile]
      region:
        description:
          - With V(s3), the bucket's region. Without it the environment (E(AWS_REGION), E(AWS_DEFAULT_REGION)) or
            the profile decides.
        type: str
        aliases: [aws_region]
      endpoint_url:
        description:
          - With V(s3), an S3-compatible endpoint instead of AWS's own (for example a test server).
        type: str
        aliases: [aws_endpoint_url]
      aws_ca_bundle:
        description:
          - With V(s3), a CA bundle to verify the endpoint with.
        type: path
      validate_certs:
        description:
          - V(false) turns off the verification of the server's certificate (S3 or Vault). Prefer a CA bundle.
        type: bool
        default: true
      aws_config:
        description:
          - "With V(s3), settings merged into the botocore C(Config), for example C({retries: {mode: adaptive}})."
        type: dict
      url:
        description:
          - With V(vault), the server, for example V(https://vault.example:8200). Required with V(vault).
        type: str
      mount:
        description:
          - With V(vault), the mount point of the KV version 2 secrets engine.
        type: str
        default: secret
      auth:
        description:
          - With V(vault), how to log in. V(token) uses O(state_backend.token), V(approle) uses
            O(state_backend.role_id) and O(state_backend.secret_id).
        type: str
        choices: [token, approle]
        default: token
      token:
        description:
          - With V(vault) and V(token) auth, the Vault token; E(VAULT_TOKEN) when not given.
        type: str
      role_id:
        description:
          - With V(vault) and V(approle) auth, the AppRole role id.
        type: str
      secret_id:
        description:
          - With V(vault) and V(approle) auth, the AppRole secret id.
        type: str
      namespace:
        description:
          - With V(vault), the Vault Enterprise (or OpenBao) namespace.
        type: str
      ca_bundle:
        description:
          - With V(vault), a CA bundle to verify the server with.
        type: path
"""

# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put a certificate from the controller's state directory into AWS.

Four targets, one contract (``aws_certificate_deploy``):

``aws_acm``
    Import into ACM. A renewal is *re-imported* under the same ARN, so every
    listener, distribution or API that uses the ARN keeps working and picks
    up the new certificate without being touched. The ARN is the one given
    as ``certificate_arn``, or the imported certificate tagged
    ``certfleet:name=<cert_name>``.
``aws_iam_elb``
    Upload an IAM server certificate under a dated name
    ``<prefix>-<YYYYmmddHHMMSS>``, point a classic ELB listener at it, wait
    until the listener reports it, and only then delete the older
    certificates of the same prefix that no listener uses any more. IAM
    certificates cannot be replaced in place, hence the dated names.
``aws_alb``
    Import into ACM as ``aws_acm`` does, then make it the default
    certificate of an ELBv2 listener, or one of its SNI certificates
    (removing other SNI certificates tagged with the same certificate name).
``aws_secretsmanager``
    One JSON secret holding key, certificate, chain, full chain, serial and
    expiry, for consumers that fetch their certificate themselves.

Every target compares serial numbers to decide whether anything is to do,
so a second run changes nothing. All reads happen before the first write:
a wrong listener or load balancer fails before anything is uploaded. Check
mode runs the reads and reports the planned writes in ``actions``.

The private key only ever goes to AWS in the request that stores it; it is
never part of a result or an error message, and the module adds its lines
to ``no_log_values`` as a second line of defence.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import CERT_NAME
from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import iso_utc, utc_now
from ansible_collections.certfleet.acme.plugins.module_utils._common.key_types import key_type_of
from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import retry_call
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws_types import (
    DEPLOY_TYPES,
    TYPE_OPTIONS,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.route53 import error_code, is_retryable
from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import (
    load_certificate,
    not_after,
    split_pem_chain,
)

try:
    import boto3
    import botocore.config
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
except ImportError:
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR: str | None = traceback.format_exc()
    AWS_ERRORS: tuple = ()
else:
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
    AWS_ERRORS = (ClientError, BotoCoreError)

try:
    from cryptography.hazmat.primitives import serialization
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

ALB_ROLES = ("default", "sni")
#: The tag that ties an ACM certificate, IAM server certificate or secret to a certificate name.
TAG_KEY = "certfleet:name"
DEFAULT_IAM_PATH = "/certfleet/"
DATE_FORMAT = "%Y%m%d%H%M%S"
#: ListCertificates returns only RSA 2048 certificates unless asked for the other key types.
ACM_KEY_TYPES = (
    "RSA_1024",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "EC_prime256v1",
    "EC_secp384r1",
    "EC_secp521r1",
)
FILES = ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem")

RETRY_ATTEMPTS = 6
RETRY_BASE_DELAY = 0.5
RETRY_MAX_DELAY = 10.0
WAIT_FIRST_DELAY = 1.0
WAIT_MAX_DELAY = 5.0
#: Upper bound for paging loops, so a misbehaving endpoint cannot keep a run going forever.
MAX_PAGES = 1000
#: Attempts at finding a free dated name (one second later each time).
NAME_ATTEMPTS = 10

# IAM: names of [\w+=,.@-], at most 128 characters; a dated name adds 15.
_IAM_NAME = re.compile(r"^[\w+=,.@-]{1,113}$")
# IAM paths: "/" or "/.../" of printable ASCII, at most 512 characters.
_IAM_PATH = re.compile(r"^/(?:[\x21-\x7e]{0,510}/)?$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_ENDPOINT = re.compile(r"^https?://[^/\s]+")
_PEM_KEY_LINE = re.compile(r"^[A-Za-z0-9+/=]{16,}$")


class DeployError(Exception):
    """A deployment failed; the message names the type and target and is safe to show.

    ``result`` holds what was done before the failure (the keys of a normal result).
    """

    def __init__(self, message: str, result: dict | None = None):
        super().__init__(message)
        self.result = result or {}


# ------------------------------------------------------------------ helpers
def normalize_serial(value: Any) -> str | None:
    """A serial number as lower-case hex without leading zeros, from an int or any hex spelling.

    ``cert_info`` writes ``format(serial, "x")``; ACM's DescribeCertificate
    spells it ``0a:1b:...``. Comparing the normalized forms compares numbers.
    """
    if value is None:
        return None
    if isinstance(value, int):
        return format(value, "x")
    text = str(value).strip().lower().replace(":", "")
    if text.startswith("0x"):
        text = text[2:]
    if not text or any(char not in "0123456789abcdef" for char in text):
        return None
    return format(int(text, 16), "x")


def dated_name(prefix: str, moment: datetime.datetime) -> str:
    """``<prefix>-<YYYYmmddHHMMSS>`` in UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
    return "%s-%s" % (prefix, moment.strftime(DATE_FORMAT))


def dated_name_time(prefix: str, name: str) -> datetime.datetime | None:
    """The UTC time in a dated name of ``prefix``, or None when ``name`` is not one.

    Only ``<prefix>-`` followed by exactly fourteen digits counts, so the
    prefix ``www`` never claims ``www-api-20250101000000``.
    """
    if not isinstance(name, str) or not name.startswith(prefix + "-"):
        return None
    stamp = name[len(prefix) + 1 :]
    if len(stamp) != 14 or not stamp.isdigit():
        return None
    try:
        return datetime.datetime.strptime(stamp, DATE_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def free_dated_name(prefix: str, moment: datetime.datetime, taken) -> str:
    """The dated name for ``moment``, or the first later second that is not in ``taken``."""
    taken = set(taken)
    for offset in range(NAME_ATTEMPTS * 6):
        name = dated_name(prefix, moment + datetime.timedelta(seconds=offset))
        if name not in taken:
            return name
    raise DeployError("no free dated name for prefix %r near %s" % (prefix, iso_utc(moment)))


def iam_name_from_arn(arn: str) -> str | None:
    """The name of an IAM server certificate from its ARN (the last path segment), or None."""
    if not isinstance(arn, str):
        return None
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("server-certificate/"):
        return None
    return parts[5].rsplit("/", 1)[-1] or None


def is_acm_arn(arn: str) -> bool:
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    return len(parts) == 6 and parts[2] == "acm" and parts[5].startswith("certificate/")


def tag_value(tags, key: str = TAG_KEY) -> str | None:
    """The value of tag ``key`` in an AWS tag list (``[{Key, Value}]``), or None."""
    for tag in tags or []:
        if isinstance(tag, dict) and tag.get("Key") == key:
            return tag.get("Value") or ""
    return None


def pick_tagged(cert_name: str, arns: list[str]) -> str | None:
    """The one ACM certificate tagged with ``cert_name``; none is fine, several are an error."""
    unique = sorted(set(arns))
    if len(unique) > 1:
        raise DeployError(
            "%d ACM certificates carry the tag %s=%s (%s); set certificate_arn to the one to re-import, "
            "or remove the tag from the others" % (len(unique), TAG_KEY, cert_name, ", ".join(unique))
        )
    return unique[0] if unique else None


def ours(prefix: str, path: str, certificates: list[dict]) -> list[dict]:
    """The IAM server certificates (metadata) under exactly ``path`` with a dated name of ``prefix``, newest first."""
    found = [
        meta
        for meta in certificates
        if meta.get("Path") == path and dated_name_time(prefix, meta.get("ServerCertificateName", "")) is not None
    ]
    found.sort(key=lambda meta: meta["ServerCertificateName"], reverse=True)
    return found


def cleanup_candidates(prefix: str, path: str, certificates: list[dict], keep: str | None, in_use) -> list[dict]:
    """Which of our IAM certificates may go: dated names of ``prefix`` under ``path``, except ``keep``
    and every certificate whose ARN a listener still uses."""
    in_use = set(in_use)
    return [
        meta
        for meta in ours(prefix, path, certificates)
        if meta.get("ServerCertificateName") != keep and meta.get("Arn") not in in_use
    ]


def stale_sni(listener_certificates: list[dict], arn: str, tagged_ours: Callable[[str], bool]) -> list[str]:
    """SNI certificates of a listener to remove: not the default, not ``arn``, tagged with our certificate name."""
    stale = []
    for entry in listener_certificates:
        other = entry.get("CertificateArn")
        if not other or other == arn or entry.get("IsDefault") or other in stale:
            continue
        if is_acm_arn(other) and tagged_ours(other):
            stale.append(other)
    return stale


def check_options(params: dict) -> None:
    """One clear error for bad input, naming the option and the value, before AWS is contacted."""
    kind = params.get("type")
    if kind not in DEPLOY_TYPES:
        raise DeployError("type %r must be one of %s" % (kind, ", ".join(DEPLOY_TYPES)))
    name = params.get("cert_name")
    if not isinstance(name, str) or not CERT_NAME.match(name):
        raise DeployError(
            "cert_name %r must start with a letter or digit and contain only letters, digits, '.', '_' and '-'" % name
        )
    for option, types in TYPE_OPTIONS.items():
        if params.get(option) is not None and kind not in types:
            raise DeployError("%s is only used with type %s, not with type %s" % (option, " or ".join(types), kind))
    endpoint = params.get("endpoint_url")
    if endpoint and not _ENDPOINT.match(endpoint):
        raise DeployError("endpoint_url %r must be an http:// or https:// URL" % endpoint)
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 0:
        raise DeployError("wait_timeout %r must not be negative" % params["wait_timeout"])
    arn = params.get("certificate_arn")
    if arn is not None and not is_acm_arn(arn):
        raise DeployError("certificate_arn %r is not an ACM certificate ARN (arn:aws:acm:...:certificate/...)" % arn)
    if kind == "aws_iam_elb":
        prefix = params.get("name_prefix") or name
        if not _IAM_NAME.match(prefix):
            raise DeployError(
                "name_prefix %r must be 1 to 113 characters of letters, digits and _+=,.@- "
                "(IAM allows 128 for the whole dated name)" % prefix
            )
        path = params.get("iam_path")
        if not isinstance(path, str) or not _IAM_PATH.match(path):
            raise DeployError("iam_path %r must be / or start and end with / (for example /certfleet/)" % path)
        port = params.get("listener_port")
        if not isinstance(port, int) or not 1 <= port <= 65535:
            raise DeployError("listener_port %r must be a port number (1-65535)" % port)
    if kind == "aws_alb":
        listener = params.get("listener_arn") or ""
        if ":elasticloadbalancing:" not in listener or ":listener/" not in listener:
            raise DeployError("listener_arn %r is not an ELBv2 listener ARN" % listener)
        if params.get("role") not in ALB_ROLES:
            raise DeployError("role %r must be one of %s" % (params.get("role"), ", ".join(ALB_ROLES)))
    if kind == "aws_secretsmanager":
        secret = params.get("secret_name") or ""
        if not secret.startswith("arn:") and not _SECRET_NAME.match(secret):
            raise DeployError(
                "secret_name %r must be 1 to 512 characters of letters, digits and /_+=.@- (or a secret ARN)" % secret
            )


# -------------------------------------------------------------------- files
@dataclass
class CertificateFiles:
    """A certificate's PEM files as read from ``<letsencrypt_dns_dir>/<name>``; the key is kept out of repr."""

    name: str
    directory: str
    cert: str
    chain: str
    fullchain: str
    serial: str
    not_after: str
    key_type: str | None
    privkey: str = field(repr=False, default="")

    def secret_document(self) -> str:
        """The Secrets Manager value: one JSON object (it holds the private key: never show it)."""
        return json.dumps(
            {
                "privkey": self.privkey,
                "cert": self.cert,
                "chain": self.chain,
                "fullchain": self.fullchain,
                "serial": self.serial,
                "not_after": self.not_after,
            },
            sort_keys=True,
        )


def _read_text(path: str) -> str:
    with open(path, encoding="ascii") as handle:
        return handle.read()


def load_certificate_files(cert_name: str, directory: str) -> CertificateFiles:
    """Read and check the four PEM files: present, parseable, and the key belongs to the certificate."""
    texts = {}
    for filename in FILES:
        path = os.path.join(directory, filename)
        try:
            texts[filename] = _read_text(path)
        except FileNotFoundError:
            raise DeployError("cert_dir %r has no %s (is %r issued yet?)" % (directory, filename, cert_name)) from None
        except (OSError, UnicodeDecodeError) as exc:
            # The exception text names the file, never its content.
            raise DeployError(
                "cannot read %s: %s" % (path, getattr(exc, "strerror", None) or type(exc).__name__)
            ) from None
    leaf_blocks = split_pem_chain(texts["cert.pem"])
    if not leaf_blocks:
        raise DeployError("%s holds no PEM certificate" % os.path.join(directory, "cert.pem"))
    try:
        cert = load_certificate(leaf_blocks[0])
        for block in split_pem_chain(texts["chain.pem"]):
            load_certificate(block)
    except ValueError:
        raise DeployError("cert.pem or chain.pem in %r is not a valid PEM certificate" % directory) from None
    try:
        key = serialization.load_pem_private_key(texts["privkey.pem"].encode("ascii"), password=None)
    except (ValueError, TypeError):
        # Never the exception text: it is about the key's content.
        raise DeployError("privkey.pem in %r is not an unencrypted PEM private key" % directory) from None
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        raise DeployError("privkey.pem in %r does not belong to cert.pem (a half-written renewal?)" % directory)
    return CertificateFiles(
        name=cert_name,
        directory=directory,
        cert=leaf_blocks[0],
        chain="".join(split_pem_chain(texts["chain.pem"])),
        fullchain=texts["fullchain.pem"],
        serial=format(cert.serial_number, "x"),
        not_after=iso_utc(not_after(cert)),
        key_type=key_type_of(cert.public_key()),
        privkey=texts["privkey.pem"],
    )


def private_key_fragments(pem: str) -> set[str]:
    """The key as a whole and each of its base64 lines: values the module must mask in every output."""
    fragments = {pem, pem.strip()} if pem.strip() else set()
    for line in pem.splitlines():
        line = line.strip()
        if _PEM_KEY_LINE.match(line):
            fragments.add(line)
    return fragments


def pem_facts(pem: str | None) -> dict:
    """Serial, expiry and key type of the first certificate of ``pem``; empty when it cannot be read."""
    blocks = split_pem_chain(pem or "")
    if not blocks:
        return {}
    try:
        cert = load_certificate(blocks[0])
    except ValueError:
        return {}
    return {
        "serial": format(cert.serial_number, "x"),
        "not_after": iso_utc(not_after(cert)),
        "key_type": key_type_of(cert.public_key()),
    }


# ---------------------------------------------------------------------- AWS
def describe_error(exc: BaseException) -> str:
    """AWS's words for a failure (``Operation: Code: message``), never the request's parameter values."""
    if HAS_BOTO3 and isinstance(exc, ParamValidationError):
        return "invalid request parameters (details not shown: they may hold the private key)"
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        details = response.get("Error") or {}
        operation = getattr(exc, "operation_name", None) or "request"
        return "%s: %s: %s" % (operation, details.get("Code") or "error", details.get("Message") or "no message")
    message = "%s: %s" % (type(exc).__name__, exc)
    if type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
        message += " (set aws_access_key_id and aws_secret_access_key, or aws_profile, or the AWS_* variables)"
    return message


class AwsSession:
    """boto3 clients for one set of connection options, made on first use; ``clients`` injects stubs."""

    SERVICES = ("acm", "iam", "elb", "elbv2", "secretsmanager")

    def __init__(self, params: dict, clients: dict | None = None, sleep=time.sleep):
        self.region = params.get("region")
        self.endpoint_url = params.get("endpoint_url")
        self._access_key_id = params.get("aws_access_key_id")
        self._secret_access_key = params.get("aws_secret_access_key")
        self._session_token = params.get("aws_session_token")
        self.profile = params.get("aws_profile")
        self._clients = dict(clients or {})
        self._session = None
        self.sleep = sleep

    def __repr__(self):
        return "AwsSession(region=%r, endpoint_url=%r, profile=%r)" % (self.region, self.endpoint_url, self.profile)

    def _boto_session(self):
        if self._session is None:
            args: dict = {}
            if self._access_key_id:
                args.update(
                    aws_access_key_id=self._access_key_id,
                    aws_secret_access_key=self._secret_access_key,
                    aws_session_token=self._session_token,
                )
            if self.profile:
                args["profile_name"] = self.profile
            try:
                session = boto3.session.Session(region_name=self.region, **args)
            except AWS_ERRORS as exc:
                raise DeployError("cannot set up the AWS session: %s" % describe_error(exc)) from None
            if not session.region_name:
                raise DeployError(
                    "no AWS region: set region (or AWS_REGION / AWS_DEFAULT_REGION, or a region in aws_profile)"
                )
            self._session = session
        return self._session

    def client(self, service: str):
        if service not in self._clients:
            if not HAS_BOTO3:
                raise DeployError("the Python library boto3 is required")
            settings = botocore.config.Config(
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=10,
                read_timeout=60,
                user_agent_extra="certfleet.acme",
            )
            try:
                self._clients[service] = self._boto_session().client(
                    service, endpoint_url=self.endpoint_url, config=settings
                )
            except AWS_ERRORS as exc:
                raise DeployError("cannot set up the %s client: %s" % (service, describe_error(exc))) from None
            except ValueError as exc:
                raise DeployError("cannot set up the %s client: %s" % (service, exc)) from None
        return self._clients[service]

    def call(self, service: str, operation: str, **params) -> dict:
        """One API call, retried while AWS asks to slow down; AWS errors propagate (see Deployer.call)."""
        method = getattr(self.client(service), operation)
        return retry_call(
            lambda: method(**params),
            attempts=RETRY_ATTEMPTS,
            base_delay=RETRY_BASE_DELAY,
            max_delay=RETRY_MAX_DELAY,
            is_retryable=is_retryable,
            sleep=self.sleep,
        )


class Deployer:
    """The common part: result, actions, AWS calls with errors that name type and target."""

    TYPE = ""

    def __init__(
        self,
        params: dict,
        files: CertificateFiles,
        session: AwsSession,
        check_mode: bool = False,
        now: Callable[[], datetime.datetime] = utc_now,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.params = params
        self.files = files
        self.session = session
        self.check_mode = check_mode
        self.now = now
        self.clock = clock
        self.sleep = sleep
        self.cert_name = params["cert_name"]
        self.wait_timeout = params.get("wait_timeout", 120)
        self.target = ""
        self.warnings: list[str] = []
        self.result: dict = {
            "changed": False,
            "type": self.TYPE,
            "arn": None,
            "name": None,
            "serial": files.serial,
            "not_after": files.not_after,
            "previous": None,
            "removed": [],
            "actions": [],
        }

    # -- plumbing
    def fail(self, message: str) -> DeployError:
        return DeployError("%s %s: %s" % (self.TYPE, self.target, message), dict(self.result))

    def call(self, service: str, operation: str, allow: tuple = (), **params) -> dict | None:
        """``session.call``; an error code in ``allow`` returns None, any other error fails the deployment."""
        try:
            return self.session.call(service, operation, **params)
        except AWS_ERRORS as exc:
            if error_code(exc) in allow:
                return None
            raise self.fail(describe_error(exc)) from None
        except DeployError as exc:  # no region, an unknown profile, ...: found when the first client is made
            raise self.fail(str(exc)) from None

    def pages(self, service: str, operation: str, key: str, token_in: str, token_out: str, **params):
        """Every item under ``key`` of a paged list operation."""
        for _page in range(MAX_PAGES):
            response = self.call(service, operation, **params) or {}
            yield from response.get(key) or []
            token = response.get(token_out)
            if not token:
                return
            params[token_in] = token

    def act(self, description: str) -> bool:
        """Record a change; True when it is to be carried out (not in check mode)."""
        self.result["actions"].append(description if not self.check_mode else "would " + description)
        self.result["changed"] = True
        return not self.check_mode

    def wait_for(self, condition: Callable[[], bool]) -> bool:
        """Poll ``condition`` with growing pauses for at most ``wait_timeout`` seconds."""
        deadline = self.clock() + self.wait_timeout
        delay = WAIT_FIRST_DELAY
        while True:
            if condition():
                return True
            remaining = deadline - self.clock()
            if remaining <= 0:
                return False
            self.sleep(min(delay, remaining))
            delay = min(delay * 2, WAIT_MAX_DELAY)

    def run(self) -> dict:
        raise NotImplementedError

    # -- reading certificates by ARN, whichever service holds them
    def acm_pem(self, arn: str) -> str | None:
        response = self.call("acm", "get_certificate", allow=("ResourceNotFoundException",), CertificateArn=arn)
        return (response or {}).get("Certificate")

    def iam_pem(self, name: str) -> str | None:
        response = self.call("iam", "get_server_certificate", allow=("NoSuchEntity",), ServerCertificateName=name)
        return ((response or {}).get("ServerCertificate") or {}).get("CertificateBody")

    def facts_of_arn(self, arn: str | None) -> dict:
        """Serial, expiry and key type of the certificate an ARN names (ACM or IAM); empty when unreadable."""
        if not arn:
            return {}
        try:
            if is_acm_arn(arn):
                return pem_facts(self.acm_pem(arn))
            name = iam_name_from_arn(arn)
            if name:
                return pem_facts(self.iam_pem(name))
        except DeployError as exc:
            # Only used to compare and to report: a certificate we may not read counts as another one.
            self.warnings.append("cannot read %s: %s" % (arn, exc))
        return {}

    def previous(self, arn: str | None, name: str | None = None, facts: dict | None = None) -> dict:
        """The ``previous`` result entry for what ``arn`` (and ``name``) held before."""
        facts = self.facts_of_arn(arn) if facts is None else facts
        return {"arn": arn, "name": name, "serial": facts.get("serial"), "not_after": facts.get("not_after")}


class AcmDeployer(Deployer):
    """Import into ACM; a renewal is re-imported under the same ARN."""

    TYPE = "aws_acm"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = "certificate %s" % (
            self.params.get("certificate_arn") or "tagged %s=%s" % (TAG_KEY, self.cert_name)
        )

    def tagged_ours(self, arn: str) -> bool:
        response = self.call(
            "acm", "list_tags_for_certificate", allow=("ResourceNotFoundException",), CertificateArn=arn
        )
        return response is not None and tag_value(response.get("Tags")) == self.cert_name

    def find_tagged(self) -> str | None:
        found = []
        for summary in self.pages(
            "acm",
            "list_certificates",
            "CertificateSummaryList",
            "NextToken",
            "NextToken",
            Includes={"keyTypes": list(ACM_KEY_TYPES)},
        ):
            arn = summary.get("CertificateArn")
            if not arn or summary.get("Type", "IMPORTED") != "IMPORTED":
                continue
            if self.tagged_ours(arn):
                found.append(arn)
        try:
            return pick_tagged(self.cert_name, found)
        except DeployError as exc:
            raise self.fail(str(exc)) from None

    def plan_acm(self) -> dict:
        """The ACM certificate as it is now: ``{arn, serial, key_type, not_after, tag}`` (arn None when absent)."""
        arn = self.params.get("certificate_arn") or self.find_tagged()
        if not arn:
            return {"arn": None}
        # A missing ARN fails here with AWS's own words (ResourceNotFoundException), before anything changes.
        described = self.call("acm", "describe_certificate", CertificateArn=arn) or {}
        kind = (described.get("Certificate") or {}).get("Type", "IMPORTED")
        if kind != "IMPORTED":
            raise self.fail("%s is a %s certificate; only imported certificates can be re-imported" % (arn, kind))
        tags = (self.call("acm", "list_tags_for_certificate", CertificateArn=arn) or {}).get("Tags")
        tag = tag_value(tags)
        if tag not in (None, self.cert_name):
            raise self.fail("%s is tagged %s=%s, another certificate's; refusing to overwrite it" % (arn, TAG_KEY, tag))
        current = pem_facts(self.acm_pem(arn))
        current.update(arn=arn, tag=tag)
        return current

    def import_body(self) -> dict:
        body = {
            "Certificate": self.files.cert.encode("ascii"),
            "PrivateKey": self.files.privkey.encode("ascii"),
        }
        if self.files.chain:
            body["CertificateChain"] = self.files.chain.encode("ascii")
        return body

    def ensure_acm(self, current: dict) -> str | None:
        """Import or re-import as needed and tag; the ARN (None in check mode when nothing exists yet)."""
        arn = current.get("arn")
        tag = [{"Key": TAG_KEY, "Value": self.cert_name}]
        if arn is None:
            if self.act("import %s into ACM" % self.cert_name):
                response = self.call("acm", "import_certificate", Tags=tag, **self.import_body())
                arn = response["CertificateArn"]
            return arn
        if normalize_serial(current.get("serial")) != normalize_serial(self.files.serial):
            if current.get("key_type") and self.files.key_type and current["key_type"] != self.files.key_type:
                raise self.fail(
                    "%s holds a %s key and the new certificate a %s key; ACM cannot change the key type on "
                    "re-import (import it as a new certificate: remove the tag %s from the old one, or set "
                    "certificate_arn)" % (arn, current["key_type"], self.files.key_type, TAG_KEY)
                )
            self.result["previous"] = self.previous(arn, facts=current)
            if self.act(
                "re-import %s into %s (serial %s -> %s)"
                % (self.cert_name, arn, current.get("serial"), self.files.serial)
            ):
                # No Tags here: ACM refuses tags on re-import. The tag is checked (again) below.
                self.call("acm", "import_certificate", CertificateArn=arn, **self.import_body())
                current["tag"] = tag_value(
                    (self.call("acm", "list_tags_for_certificate", CertificateArn=arn) or {}).get("Tags")
                )
        if current.get("tag") != self.cert_name:
            if self.act("tag %s with %s=%s" % (arn, TAG_KEY, self.cert_name)):
                self.call("acm", "add_tags_to_certificate", CertificateArn=arn, Tags=tag)
        return arn

    def run(self) -> dict:
        current = self.plan_acm()
        if current.get("arn"):
            self.target = "certificate %s" % current["arn"]
        self.result["arn"] = self.ensure_acm(current)
        return self.result


class AlbDeployer(AcmDeployer):
    """ACM import (as aws_acm), then the default or an SNI certificate of an ELBv2 listener."""

    TYPE = "aws_alb"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.listener_arn = self.params["listener_arn"]
        self.role = self.params.get("role") or "default"
        self.target = "listener %s" % self.listener_arn

    def listener(self) -> dict:
        response = self.call("elbv2", "describe_listeners", ListenerArns=[self.listener_arn])
        found = (response or {}).get("Listeners") or []
        if not found:
            raise self.fail("no such listener in this region and account")
        return found[0]

    def default_arn(self) -> str | None:
        certificates = self.listener().get("Certificates") or []
        for entry in certificates:
            if entry.get("IsDefault", True):
                return entry.get("CertificateArn")
        return None

    def listener_certificates(self) -> list[dict]:
        return list(
            self.pages(
                "elbv2",
                "describe_listener_certificates",
                "Certificates",
                "Marker",
                "NextMarker",
                ListenerArn=self.listener_arn,
            )
        )

    def run(self) -> dict:
        # Reads first: a wrong listener fails before anything is imported.
        listener = self.listener()
        if listener.get("Protocol") not in ("HTTPS", "TLS"):
            raise self.fail(
                "is a %s listener; only HTTPS and TLS listeners hold certificates" % listener.get("Protocol")
            )
        current = self.plan_acm()
        arn = self.ensure_acm(current)
        self.result["arn"] = arn
        if self.role == "default":
            self.make_default(arn)
        else:
            self.add_sni(arn)
        return self.result

    def make_default(self, arn: str | None) -> None:
        before = self.default_arn()
        if arn is not None and before == arn:
            return
        self.result["previous"] = self.previous(before) if before else None
        if not self.act(
            "make %s the default certificate of %s" % (arn or "the imported certificate", self.listener_arn)
        ):
            return
        self.call("elbv2", "modify_listener", ListenerArn=self.listener_arn, Certificates=[{"CertificateArn": arn}])
        if not self.wait_for(lambda: self.default_arn() == arn):
            self.restore_default(before)
            raise self.fail(
                "the listener does not report %s as its default certificate after %ds" % (arn, self.wait_timeout)
            )

    def restore_default(self, before: str | None) -> None:
        if not before:
            return
        try:
            self.session.call(
                "elbv2", "modify_listener", ListenerArn=self.listener_arn, Certificates=[{"CertificateArn": before}]
            )
            self.result["actions"].append("restored %s as the default certificate" % before)
        except AWS_ERRORS as exc:
            self.result["actions"].append("could not restore %s: %s" % (before, describe_error(exc)))

    def add_sni(self, arn: str | None) -> None:
        attached = self.listener_certificates()
        if arn is None or not any(entry.get("CertificateArn") == arn for entry in attached):
            if self.act(
                "add %s to the SNI certificates of %s" % (arn or "the imported certificate", self.listener_arn)
            ):
                self.call(
                    "elbv2",
                    "add_listener_certificates",
                    ListenerArn=self.listener_arn,
                    Certificates=[{"CertificateArn": arn}],
                )
                if not self.wait_for(
                    lambda: any(entry.get("CertificateArn") == arn for entry in self.listener_certificates())
                ):
                    raise self.fail("the listener does not list %s after %ds" % (arn, self.wait_timeout))
                attached = self.listener_certificates()
        stale = stale_sni(attached, arn, self.tagged_ours)
        if not stale:
            return
        self.result["removed"] = stale
        if self.result["previous"] is None:
            self.result["previous"] = self.previous(stale[0])
        if self.act("remove %s from the SNI certificates of %s" % (", ".join(stale), self.listener_arn)):
            self.call(
                "elbv2",
                "remove_listener_certificates",
                ListenerArn=self.listener_arn,
                Certificates=[{"CertificateArn": other} for other in stale],
            )


class IamElbDeployer(Deployer):
    """IAM server certificate under a dated name, then a classic ELB listener, then cleanup."""

    TYPE = "aws_iam_elb"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lb_name = self.params["load_balancer_name"]
        self.port = self.params.get("listener_port") or 443
        self.prefix = self.params.get("name_prefix") or self.cert_name
        self.path = self.params.get("iam_path") or DEFAULT_IAM_PATH
        self.cleanup = self.params.get("cleanup", True)
        self.target = "load balancer %s port %d" % (self.lb_name, self.port)

    def listener(self) -> dict:
        response = self.call("elb", "describe_load_balancers", LoadBalancerNames=[self.lb_name])
        balancers = (response or {}).get("LoadBalancerDescriptions") or []
        if not balancers:
            raise self.fail("no such classic load balancer in this region and account")
        for description in balancers[0].get("ListenerDescriptions") or []:
            listener = description.get("Listener") or {}
            if int(listener.get("LoadBalancerPort") or 0) == self.port:
                return listener
        raise self.fail("the load balancer has no listener on port %d" % self.port)

    def listener_arn(self) -> str | None:
        return self.listener().get("SSLCertificateId") or None

    def iam_certificates(self) -> list[dict]:
        return list(
            self.pages(
                "iam",
                "list_server_certificates",
                "ServerCertificateMetadataList",
                "Marker",
                "Marker",
                PathPrefix=self.path,
            )
        )

    def in_use(self, skip_this_listener: bool = False) -> set[str]:
        """Every certificate ARN a classic or ELBv2 listener of this region uses."""
        arns: set[str] = set()
        for balancer in self.pages(
            "elb", "describe_load_balancers", "LoadBalancerDescriptions", "Marker", "NextMarker"
        ):
            for description in balancer.get("ListenerDescriptions") or []:
                listener = description.get("Listener") or {}
                if (
                    skip_this_listener
                    and balancer.get("LoadBalancerName") == self.lb_name
                    and int(listener.get("LoadBalancerPort") or 0) == self.port
                ):
                    continue
                if listener.get("SSLCertificateId"):
                    arns.add(listener["SSLCertificateId"])
        for balancer in self.pages("elbv2", "describe_load_balancers", "LoadBalancers", "Marker", "NextMarker"):
            listeners = self.pages(
                "elbv2",
                "describe_listeners",
                "Listeners",
                "Marker",
                "NextMarker",
                LoadBalancerArn=balancer["LoadBalancerArn"],
            )
            for listener in listeners:
                if listener.get("Protocol") not in ("HTTPS", "TLS"):
                    continue
                arns.update(entry.get("CertificateArn") for entry in listener.get("Certificates") or [])
                for entry in self.pages(
                    "elbv2",
                    "describe_listener_certificates",
                    "Certificates",
                    "Marker",
                    "NextMarker",
                    ListenerArn=listener["ListenerArn"],
                ):
                    arns.add(entry.get("CertificateArn"))
        arns.discard(None)
        return arns

    def find_uploaded(self, certificates: list[dict]) -> dict | None:
        """One of our dated certificates that already holds this serial (an earlier run uploaded it)."""
        for meta in ours(self.prefix, self.path, certificates):
            if normalize_serial(
                pem_facts(self.iam_pem(meta["ServerCertificateName"])).get("serial")
            ) == normalize_serial(self.files.serial):
                return meta
        return None

    def upload(self, taken: set) -> dict:
        body = {
            "Path": self.path,
            "CertificateBody": self.files.cert,
            "PrivateKey": self.files.privkey,
            "Tags": [{"Key": TAG_KEY, "Value": self.cert_name}],
        }
        if self.files.chain:
            body["CertificateChain"] = self.files.chain
        for _attempt in range(NAME_ATTEMPTS):
            name = free_dated_name(self.prefix, self.now(), taken)
            try:
                response = self.session.call("iam", "upload_server_certificate", ServerCertificateName=name, **body)
            except AWS_ERRORS as exc:
                if error_code(exc) == "EntityAlreadyExists":
                    taken.add(name)  # a certificate of that name lives under another path
                    continue
                raise self.fail(describe_error(exc)) from None
            return response["ServerCertificateMetadata"]
        raise self.fail("no free name for prefix %s after %d attempts" % (self.prefix, NAME_ATTEMPTS))

    def switch(self, arn: str) -> None:
        """Point the listener at ``arn``; right after an upload IAM may not have it everywhere yet."""
        deadline = self.clock() + self.wait_timeout
        delay = WAIT_FIRST_DELAY
        while True:
            try:
                self.session.call(
                    "elb",
                    "set_load_balancer_listener_ssl_certificate",
                    LoadBalancerName=self.lb_name,
                    LoadBalancerPort=self.port,
                    SSLCertificateId=arn,
                )
                return
            except AWS_ERRORS as exc:
                if error_code(exc) != "CertificateNotFound" or self.clock() >= deadline:
                    raise self.fail(
                        describe_error(exc) + " (the listener still uses its previous certificate)"
                    ) from None
            self.sleep(min(delay, max(deadline - self.clock(), 0)))
            delay = min(delay * 2, WAIT_MAX_DELAY)

    def restore(self, before: str | None) -> None:
        if not before:
            return
        try:
            self.session.call(
                "elb",
                "set_load_balancer_listener_ssl_certificate",
                LoadBalancerName=self.lb_name,
                LoadBalancerPort=self.port,
                SSLCertificateId=before,
            )
            self.result["actions"].append("restored %s on the listener" % before)
        except AWS_ERRORS as exc:
            self.result["actions"].append("could not restore %s: %s" % (before, describe_error(exc)))

    def run(self) -> dict:
        listener = self.listener()
        if listener.get("Protocol", "").upper() not in ("HTTPS", "SSL"):
            raise self.fail(
                "is a %s listener; only HTTPS and SSL listeners hold certificates" % listener.get("Protocol")
            )
        before = listener.get("SSLCertificateId") or None
        certificates = self.iam_certificates()
        by_arn = {meta.get("Arn"): meta for meta in certificates}
        current = self.facts_of_arn(before)
        if before and normalize_serial(current.get("serial")) == normalize_serial(self.files.serial):
            keep = by_arn.get(before, {}).get("ServerCertificateName") or iam_name_from_arn(before)
            self.result.update(arn=before, name=keep)
        else:
            if before:
                self.result["previous"] = self.previous(before, iam_name_from_arn(before), current)
            uploaded = self.find_uploaded(certificates)
            if uploaded:
                keep = uploaded["ServerCertificateName"]
                self.result.update(arn=uploaded.get("Arn"), name=keep)
                self.result["actions"].append(
                    "%sreuse IAM server certificate %s (uploaded before)" % ("would " if self.check_mode else "", keep)
                )
            else:
                taken = {meta.get("ServerCertificateName") for meta in certificates}
                keep = free_dated_name(self.prefix, self.now(), taken)
                self.result["name"] = keep
                if self.act("upload IAM server certificate %s%s" % (self.path, keep)):
                    meta = self.upload(taken)
                    keep = meta["ServerCertificateName"]
                    self.result.update(arn=meta["Arn"], name=keep)
            if self.act("point %s at %s" % (self.target, self.result["arn"] or keep)):
                arn = self.result["arn"]
                self.switch(arn)
                if not self.wait_for(lambda: self.listener_arn() == arn):
                    self.restore(before)
                    raise self.fail("the listener does not report %s after %ds" % (arn, self.wait_timeout))
        if self.cleanup:
            self.remove_old(certificates, keep)
        return self.result

    def remove_old(self, certificates: list[dict], keep: str | None) -> None:
        """Delete our other dated certificates once nothing uses them; only after the switch was verified."""
        if not cleanup_candidates(self.prefix, self.path, certificates, keep, ()):
            return
        try:
            in_use = self.in_use(skip_this_listener=self.check_mode)
        except DeployError as exc:
            self.warnings.append(
                "kept the old certificates of %s: cannot tell whether they are in use: %s" % (self.prefix, exc)
            )
            return
        for meta in cleanup_candidates(self.prefix, self.path, certificates, keep, in_use):
            name = meta["ServerCertificateName"]
            if not self.act("delete IAM server certificate %s%s" % (self.path, name)):
                self.result["removed"].append(name)
                continue
            try:
                self.session.call("iam", "delete_server_certificate", ServerCertificateName=name)
            except AWS_ERRORS as exc:
                code = error_code(exc)
                if code == "NoSuchEntity":
                    continue
                self.warnings.append("kept IAM server certificate %s: %s" % (name, describe_error(exc)))
                continue
            self.result["removed"].append(name)


class SecretDeployer(Deployer):
    """One JSON secret with key, certificate, chains, serial and expiry."""

    TYPE = "aws_secretsmanager"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.secret_id = self.params["secret_name"]
        self.target = "secret %s" % self.secret_id

    def stored_serial(self) -> str | None:
        response = self.call(
            "secretsmanager", "get_secret_value", allow=("ResourceNotFoundException",), SecretId=self.secret_id
        )
        text = (response or {}).get("SecretString")
        if not text:
            return None
        try:
            document = json.loads(text)
        except ValueError:
            return None
        return document.get("serial") if isinstance(document, dict) else None

    def run(self) -> dict:
        tag = [{"Key": TAG_KEY, "Value": self.cert_name}]
        described = self.call(
            "secretsmanager", "describe_secret", allow=("ResourceNotFoundException",), SecretId=self.secret_id
        )
        if described is None:
            if self.secret_id.startswith("arn:"):
                raise self.fail("no such secret (a new secret needs a name, not an ARN)")
            self.result["name"] = self.secret_id
            if self.act("create secret %s" % self.secret_id):
                body = {
                    "Name": self.secret_id,
                    "Description": "TLS certificate %s (certfleet.acme)" % self.cert_name,
                    "SecretString": self.files.secret_document(),
                    "Tags": tag,
                }
                if self.params.get("secret_kms_key_id"):
                    body["KmsKeyId"] = self.params["secret_kms_key_id"]
                response = self.call("secretsmanager", "create_secret", **body)
                self.result["arn"] = response.get("ARN")
            return self.result
        arn = described.get("ARN")
        self.result.update(arn=arn, name=described.get("Name") or self.secret_id)
        if described.get("DeletedDate"):
            raise self.fail("is scheduled for deletion; restore it (RestoreSecret) or choose another secret_name")
        owner = tag_value(described.get("Tags"))
        if owner not in (None, self.cert_name):
            raise self.fail("is tagged %s=%s, another certificate's; refusing to overwrite it" % (TAG_KEY, owner))
        stored = self.stored_serial()
        if normalize_serial(stored) != normalize_serial(self.files.serial):
            self.result["previous"] = {"arn": arn, "name": self.result["name"], "serial": stored, "not_after": None}
            if self.act("store serial %s in secret %s" % (self.files.serial, self.result["name"])):
                self.call(
                    "secretsmanager",
                    "put_secret_value",
                    SecretId=arn or self.secret_id,
                    SecretString=self.files.secret_document(),
                )
        if owner is None:
            if self.act("tag secret %s with %s=%s" % (self.result["name"], TAG_KEY, self.cert_name)):
                self.call("secretsmanager", "tag_resource", SecretId=arn or self.secret_id, Tags=tag)
        return self.result


DEPLOYERS = {
    "aws_acm": AcmDeployer,
    "aws_iam_elb": IamElbDeployer,
    "aws_alb": AlbDeployer,
    "aws_secretsmanager": SecretDeployer,
}


def deploy(
    params: dict, files: CertificateFiles, check_mode: bool = False, session: AwsSession | None = None, **kwargs
):
    """Deploy ``files`` as ``params['type']`` says; returns ``(result, warnings)`` or raises DeployError."""
    deployer = DEPLOYERS[params["type"]](params, files, session or AwsSession(params), check_mode=check_mode, **kwargs)
    try:
        result = deployer.run()
    except DeployError as exc:
        if not exc.result:
            exc.result = dict(deployer.result)
        raise
    return result, deployer.warnings

# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS connection options as amazon.aws has them: new names, a profile that assumes a role, module_defaults.

Against the moto server on loopback, through ansible: a deploy with amazon.aws's
option names, one whose only credentials are a profile that assumes a role from
a source profile (boto3 calls STS AssumeRole, then signs with the role's
temporary keys), and one whose options all come from ``module_defaults`` for
``group/certfleet.acme.aws``. That group extends ``group/amazon.aws.aws``; a
stand-in amazon.aws collection shows the defaults reach its modules too.
"""

from __future__ import annotations

import base64
import json
import re
import sys

import yaml
from moto_fixture import FAKE_KEY_ID, FAKE_SECRET_KEY, REGION, clean_aws_env, run_aws_adhoc
from playbook_runner import REPO, _run, ansible_command, run_adhoc
from test_aws_deploy import assert_clean, install
from test_aws_deploy import versions as versions  # noqa: F401  # pylint: disable=unused-import,useless-import-alias

MODULE = "aws_certificate_deploy"
ROLE_ARN = "arn:aws:iam::123456789012:role/certfleet-deployer"


def signing_key(request: dict) -> str | None:
    """The access key id a recorded request was signed with."""
    headers = {key.lower(): value for key, value in (request.get("headers") or {}).items()}
    match = re.search(r"Credential=([A-Z0-9]+)/", headers.get("authorization", ""))
    return match.group(1) if match else None


def body(request: dict) -> str:
    """A recorded request's body (moto records it base64-encoded)."""
    try:
        return base64.b64decode(request.get("body") or "").decode("utf-8", "replace")
    except ValueError:
        return str(request.get("body"))


def test_amazon_aws_names_deploy(moto_server, versions, tmp_path):
    args = {
        "type": "aws_acm",
        "cert_name": "names-www",
        "cert_dir": install(tmp_path / "names-www", versions["old"]),
        "aws_endpoint_url": moto_server.endpoint,
        "aws_region": REGION,
        "access_key": FAKE_KEY_ID,
        "secret_key": FAKE_SECRET_KEY,
        "validate_certs": False,
        "aws_config": {"retries": {"mode": "adaptive"}, "read_timeout": 30},
    }
    result, output = run_aws_adhoc(MODULE, args)
    assert not result["failed"], result.get("msg")
    assert result["changed"] and result["serial"] == versions["old"]["serial"]
    assert_clean(output, versions["old"])
    assert FAKE_SECRET_KEY not in output


def test_a_profile_that_assumes_a_role(moto_server, versions, tmp_path):
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text(
        "[profile certfleet-source]\nregion = %s\n\n"
        "[profile certfleet-deployer]\nrole_arn = %s\nsource_profile = certfleet-source\nregion = %s\n"
        % (REGION, ROLE_ARN, REGION)
    )
    credentials.write_text(
        "[certfleet-source]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (FAKE_KEY_ID, FAKE_SECRET_KEY)
    )
    env = clean_aws_env()
    env.update(
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(credentials),
        AWS_ENDPOINT_URL_STS=moto_server.endpoint,  # STS of the assume-role step goes to moto too
    )
    args = {
        "type": "aws_acm",
        "cert_name": "role-www",
        "cert_dir": install(tmp_path / "role-www", versions["old"]),
        "endpoint_url": moto_server.endpoint,
        "profile": "certfleet-deployer",
    }
    mark = moto_server.mark()
    result, output = run_adhoc(MODULE, args, env=env)
    assert not result["failed"], result.get("msg")
    assert result["changed"]
    requests = moto_server.requests_since(mark)
    assume = [r for r in requests if body(r).startswith("Action=AssumeRole&")]
    assert assume and signing_key(assume[0]) == FAKE_KEY_ID, "the role is assumed with the source profile's key"
    acm = [r for r in requests if "CertificateManager" in json.dumps(r.get("headers") or {})]
    assert "RoleArn=%s" % ROLE_ARN.replace(":", "%3A").replace("/", "%2F") in body(assume[0])
    assert acm and all(signing_key(r) not in (None, FAKE_KEY_ID) for r in acm), "ACM is called as the role"
    assert_clean(output, versions["old"])


def _stand_in_amazon_aws(root) -> None:
    """A collection amazon.aws with one module in its group aws that returns the region it was given."""
    collection = root / "ansible_collections" / "amazon" / "aws"
    (collection / "meta").mkdir(parents=True)
    (collection / "plugins" / "modules").mkdir(parents=True)
    (collection / "meta" / "runtime.yml").write_text("requires_ansible: '>=2.16'\naction_groups:\n  aws:\n    - echo\n")
    (collection / "plugins" / "modules" / "echo.py").write_text(
        "from ansible.module_utils.basic import AnsibleModule\n"
        "m = AnsibleModule(argument_spec=dict(region=dict(type='str'), endpoint_url=dict(type='str'),\n"
        "    access_key=dict(type='str', no_log=True), secret_key=dict(type='str', no_log=True)))\n"
        "m.exit_json(changed=False, region=m.params['region'])\n"
    )


def test_module_defaults_for_the_aws_group(moto_server, versions, tmp_path):
    """group/certfleet.acme.aws sets our modules' options, and through extend_group amazon.aws's as well."""
    extra = tmp_path / "collections"
    _stand_in_amazon_aws(extra)
    defaults = {
        "region": REGION,
        "endpoint_url": moto_server.endpoint,
        "access_key": FAKE_KEY_ID,
        "secret_key": FAKE_SECRET_KEY,
    }
    playbook = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "module_defaults": {"group/certfleet.acme.aws": defaults},
            "tasks": [
                {
                    "name": "Deploy with every connection option from module_defaults",
                    "certfleet.acme.aws_certificate_deploy": {
                        "type": "aws_acm",
                        "cert_name": "defaults-www",
                        "cert_dir": install(tmp_path / "defaults-www", versions["old"]),
                    },
                    "register": "deployed",
                },
                {"name": "amazon.aws module", "amazon.aws.echo": {}, "register": "echoed"},
                {
                    "ansible.builtin.assert": {
                        "that": ["deployed is changed", "echoed.region == %r" % REGION],
                    }
                },
            ],
        }
    ]
    path = tmp_path / "defaults.yml"
    path.write_text(yaml.safe_dump(playbook))
    env = clean_aws_env()
    env["ANSIBLE_COLLECTIONS_PATH"] = "%s:%s/.build/collections" % (extra, REPO)
    env["ANSIBLE_NOCOLOR"] = "1"
    proc = _run(
        ansible_command("ansible-playbook", "-e", "ansible_python_interpreter=%s" % sys.executable, str(path)), env, 300
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert_clean(output, versions["old"])
    assert FAKE_SECRET_KEY not in output

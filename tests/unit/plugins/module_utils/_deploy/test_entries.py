# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's deploy entries: the input check before issuance, loop items without secrets, failure entries."""

from __future__ import annotations

import json

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._deploy.entries import (
    deploy_entries_of,
    deploy_entry_errors,
    deploy_items,
    deploy_target,
)
from ansible_collections.certfleet.acme.plugins.module_utils._run.handoffs import deploy_failures

LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/0123456789abcdef/fedcba9876543210"
KEY_ID = "AKIAUNITTESTKEY00001"
SECRET = "unit/test+secret+access+key+0000000000"
TOKEN = "unit-test-session-token"
CERTS = ["www", "shop"]

GOOD = [
    {"cert": "www", "type": "nginx", "dest": "/etc/nginx/tls", "verify": {"host": "127.0.0.1"}},
    {"cert": "www", "type": "aws_acm", "region": "eu-west-1"},
    {"cert": "www", "type": "aws_iam_elb", "load_balancer_name": "web", "listener_port": 8443, "cleanup": False},
    {"cert": "shop", "type": "aws_alb", "listener_arn": LISTENER, "role": "sni", "certificate_arn": None},
    {
        "cert": "shop",
        "type": "aws_secretsmanager",
        "secret_name": "tls/shop",
        "aws_access_key_id": KEY_ID,
        "aws_secret_access_key": SECRET,
        "aws_session_token": TOKEN,
    },
]


def test_good_entries_have_no_errors():
    assert deploy_entry_errors(GOOD, CERTS) == []
    assert deploy_entry_errors([], CERTS) == [] and deploy_entry_errors(None) == []


@pytest.mark.parametrize(
    "kind, field",
    [
        ("nginx", "dest"),
        ("apache", "dest"),
        ("haproxy", "dest"),
        ("files", "dest"),
        ("aws_iam_elb", "load_balancer_name"),
        ("aws_alb", "listener_arn"),
        ("aws_secretsmanager", "secret_name"),
    ],
)
def test_missing_required_field_names_entry_field_and_value(kind, field):
    assert deploy_entry_errors([{"cert": "www", "type": kind}], CERTS) == [
        "letsencrypt_dns_deploy entry (cert 'www', type %r): field %r value None is missing: type %s requires it"
        % (kind, field, kind)
    ]
    assert "value '' is missing" in deploy_entry_errors([{"cert": "www", "type": kind, field: ""}], CERTS)[0]


def test_acm_needs_no_target_field():
    assert deploy_entry_errors([{"cert": "www", "type": "aws_acm"}], CERTS) == []


def test_entries_are_split_by_family_for_their_module():
    mixed = GOOD + [None, {"cert": "www", "type": "gcp"}]
    assert [entry["type"] for entry in deploy_entries_of(mixed, "server")] == ["nginx"]
    assert [entry["type"] for entry in deploy_entries_of(mixed, "aws")] == [
        "aws_acm",
        "aws_iam_elb",
        "aws_alb",
        "aws_secretsmanager",
    ]
    assert deploy_entries_of(None, "aws") == []
    with pytest.raises(ValueError, match="family must be one of server, aws"):
        deploy_entries_of(GOOD, "gcp")


def test_unknown_type_and_certificate():
    errors = deploy_entry_errors([{"cert": "api", "type": "aws_elb", "dest": "/x"}], CERTS)
    assert errors == [
        "letsencrypt_dns_deploy entry (cert 'api', type 'aws_elb'): field 'cert' value 'api' is no certificate of "
        "letsencrypt_dns_certificates",
        "letsencrypt_dns_deploy entry (cert 'api', type 'aws_elb'): field 'type' value 'aws_elb' must be one of "
        "nginx, apache, haproxy, files, aws_acm, aws_iam_elb, aws_alb, aws_secretsmanager",
    ]
    # Without the certificate list only the name's form is checked.
    assert deploy_entry_errors([{"cert": "api", "type": "aws_acm"}]) == []
    assert "field 'cert' value '../x' must be" in deploy_entry_errors([{"cert": "../x", "type": "aws_acm"}])[0]
    assert "field 'cert' value '-x\\n' must be" in deploy_entry_errors([{"cert": "-x\n", "type": "aws_acm"}])[0]


def test_options_of_the_other_kind_or_another_aws_type_are_refused():
    errors = deploy_entry_errors(
        [
            {"cert": "www", "type": "aws_acm", "dest": "/etc/tls", "listener_arn": LISTENER},
            {"cert": "www", "type": "nginx", "dest": "/etc/tls", "region": "eu-west-1"},
            {"cert": "www", "type": "aws_secretsmanager", "secret_name": "s", "load_balancer_name": "web"},
        ],
        CERTS,
    )
    assert errors == [
        "letsencrypt_dns_deploy entry (cert 'www', type 'aws_acm'): field 'dest' value '/etc/tls' is a web-server "
        "option, not one of type aws_acm",
        "letsencrypt_dns_deploy entry (cert 'www', type 'aws_acm'): field 'listener_arn' value %r is only used with "
        "type aws_alb, not with aws_acm" % LISTENER,
        "letsencrypt_dns_deploy entry (cert 'www', type 'nginx'): field 'region' value 'eu-west-1' is an AWS option, "
        "not one of type nginx",
        "letsencrypt_dns_deploy entry (cert 'www', type 'aws_secretsmanager'): field 'load_balancer_name' value 'web' "
        "is only used with type aws_iam_elb, not with aws_secretsmanager",
    ]
    assert (
        "field 'verify_retries' value 3 is a web-server option"
        in deploy_entry_errors(
            [{"cert": "www", "type": "aws_alb", "listener_arn": LISTENER, "verify_retries": 3}], CERTS
        )[0]
    )
    # Null is "not set", as the modules see it.
    assert deploy_entry_errors([{"cert": "www", "type": "aws_acm", "dest": None, "verify": None}], CERTS) == []


def test_credential_rules_never_echo_a_credential():
    bad = [
        {"cert": "www", "type": "aws_acm", "aws_access_key_id": KEY_ID},
        {"cert": "www", "type": "aws_acm", "aws_secret_access_key": SECRET, "aws_session_token": TOKEN},
        {
            "cert": "www",
            "type": "aws_acm",
            "aws_profile": "ops",
            "aws_access_key_id": KEY_ID,
            "aws_secret_access_key": SECRET,
        },
        {"cert": "www", "type": "nginx", "dest": "/x", "aws_secret_access_key": SECRET},
    ]
    errors = deploy_entry_errors(bad, CERTS)
    assert errors == [
        "letsencrypt_dns_deploy entry (cert 'www', type 'aws_acm'): field 'aws_secret_access_key' value None is "
        "missing: aws_access_key_id and aws_secret_access_key go together",
        "letsencrypt_dns_deploy entry (cert 'www', type 'aws_acm'): field 'aws_access_key_id' value None is missing: "
        "aws_access_key_id and aws_secret_access_key go together",
        "letsencrypt_dns_deploy entry (cert 'www', type 'aws_acm'): field 'aws_session_token' value (hidden) needs "
        "aws_access_key_id and aws_secret_access_key",
        "letsencrypt_dns_deploy entry (cert 'www', type 'aws_acm'): field 'aws_profile' value 'ops' cannot be "
        "combined with aws_access_key_id",
        "letsencrypt_dns_deploy entry (cert 'www', type 'nginx'): field 'aws_secret_access_key' value (hidden) is an "
        "AWS option, not one of type nginx",
    ]
    text = json.dumps(errors)
    assert KEY_ID not in text and SECRET not in text and TOKEN not in text


def test_malformed_lists_are_named_without_their_content():
    assert deploy_entry_errors({"cert": "www", "aws_secret_access_key": SECRET}) == [
        "letsencrypt_dns_deploy must be a list of entries, not a dict"
    ]
    assert deploy_entry_errors(["www"], CERTS) == ["letsencrypt_dns_deploy[0] must be a mapping, not a str"]


def test_targets_match_the_module_messages():
    assert deploy_target(GOOD[0]) == "/etc/nginx/tls"
    assert deploy_target(GOOD[1]) == "certificate tagged certfleet:name=www in eu-west-1"
    assert deploy_target({"cert": "www", "type": "aws_acm", "certificate_arn": "arn:x"}) == "certificate arn:x"
    assert deploy_target(GOOD[2]) == "load balancer web port 8443"
    assert deploy_target({"type": "aws_iam_elb", "load_balancer_name": "web"}) == "load balancer web port 443"
    assert deploy_target(GOOD[3]) == "listener %s" % LISTENER
    assert deploy_target(GOOD[4]) == "secret tls/shop"


def test_items_hold_no_credentials():
    items = deploy_items(GOOD)
    assert [item["cert"] for item in items] == ["www", "www", "www", "shop", "shop"]
    assert all(set(item) == {"cert", "type", "target"} for item in items)
    text = json.dumps(items)
    assert KEY_ID not in text and SECRET not in text and TOKEN not in text


def _looped(*items):
    return {"results": list(items)}


def test_web_server_failures_name_type_and_host():
    results = _looped(
        {"item": GOOD[0], "failed": True, "msg": "certificate 'www' (nginx): validation failed"},
        {"item": GOOD[0], "changed": False},
    )
    assert deploy_failures(results, "web1") == [
        {
            "name": "www",
            "stage": "deploy",
            "host": "web1",
            "error": "nginx on web1: certificate 'www' (nginx): validation failed",
        }
    ]


def test_aws_failures_name_type_and_target_once():
    items = deploy_items(GOOD[1:4])
    results = _looped(
        # aws_certificate_deploy's own errors start with type and target: kept as they are.
        {
            "item": items[2],
            "failed": True,
            "msg": "aws_alb listener %s: DescribeListeners: ListenerNotFound" % LISTENER,
        },
        # Errors before the target is known (options, files): type and target come from the item.
        {"item": items[1], "failed": True, "msg": "cert_dir '/srv/www' has no privkey.pem"},
        {"item": items[0], "changed": True},
    )
    assert deploy_failures(results) == [
        {
            "name": "shop",
            "stage": "deploy",
            "host": None,
            "error": "aws_alb listener %s: DescribeListeners: ListenerNotFound" % LISTENER,
        },
        {
            "name": "www",
            "stage": "deploy",
            "host": None,
            "error": "aws_iam_elb load balancer web port 8443: cert_dir '/srv/www' has no privkey.pem",
        },
    ]


def test_skipped_or_missing_results_are_no_failures():
    assert deploy_failures({"skipped": True}) == []
    assert deploy_failures(None, "web1") == []


def test_amazon_aws_names_are_accepted_and_two_names_of_one_option_are_refused():
    good = [
        {"cert": "www", "type": "aws_acm", "access_key": KEY_ID, "secret_key": SECRET, "aws_region": "eu-west-1"},
        {"cert": "www", "type": "aws_acm", "profile": "ops", "aws_ca_bundle": "/ca.pem", "validate_certs": True},
        {"cert": "www", "type": "aws_acm", "aws_config": {"retries": {"mode": "adaptive"}}},
    ]
    assert deploy_entry_errors(good, CERTS) == []
    bad = [
        {"cert": "www", "type": "aws_acm", "access_key": KEY_ID, "aws_access_key_id": KEY_ID, "secret_key": SECRET},
        {"cert": "www", "type": "aws_acm", "profile": "ops", "access_key": KEY_ID, "aws_secret_key": SECRET},
        {"cert": "www", "type": "nginx", "dest": "/x", "profile": "ops"},
    ]
    errors = deploy_entry_errors(bad, CERTS)
    assert errors == [
        "letsencrypt_dns_deploy entry (cert 'www', type 'aws_acm'): field 'aws_access_key_id' value (hidden) is "
        "another name of access_key, which is also given as access_key: set only one of access_key, "
        "aws_access_key_id, aws_access_key",
        "letsencrypt_dns_deploy entry (cert 'www', type 'aws_acm'): field 'profile' value 'ops' cannot be "
        "combined with access_key",
        "letsencrypt_dns_deploy entry (cert 'www', type 'nginx'): field 'profile' value 'ops' is an AWS option, "
        "not one of type nginx",
    ]
    assert KEY_ID not in json.dumps(errors) and SECRET not in json.dumps(errors)


def test_aws_entries_reach_the_module_under_amazon_aws_names():
    entries = [
        {"cert": "www", "type": "aws_acm", "aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET},
        {"cert": "www", "type": "aws_acm", "aws_profile": "ops", "region": "eu-west-1", "endpoint_url": ""},
        {"cert": "www", "type": "nginx", "dest": "/x"},
    ]
    assert deploy_entries_of(entries, "aws") == [
        {"cert": "www", "type": "aws_acm", "access_key": KEY_ID, "secret_key": SECRET},
        {"cert": "www", "type": "aws_acm", "profile": "ops", "region": "eu-west-1"},
    ]
    assert deploy_items(entries[1:2])[0]["target"] == "certificate tagged certfleet:name=www in eu-west-1"

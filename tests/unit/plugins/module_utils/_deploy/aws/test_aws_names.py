# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS targets: the decisions that need no AWS (serials, dated names, ARNs, tags, cleanup choices)."""

from __future__ import annotations

import datetime

import pytest
from aws_world import NOW, acm_arn, iam_arn

from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import (
    TAG_KEY,
    DeployError,
    cleanup_candidates,
    dated_name,
    dated_name_time,
    free_dated_name,
    iam_name_from_arn,
    is_acm_arn,
    pick_tagged,
    stale_sni,
    tag_value,
)


def test_dated_names_and_their_times():
    assert dated_name("www", NOW) == "www-20250301120000"
    eastern = NOW.astimezone(datetime.timezone(datetime.timedelta(hours=-5)))
    assert dated_name("www", eastern) == "www-20250301120000"
    assert dated_name_time("www", "www-20250301120000") == NOW
    assert dated_name_time("www", "www-api-20250301120000") is None
    assert dated_name_time("www", "www-2025030112000") is None
    assert dated_name_time("www", "www-20251301120000") is None  # month 13
    assert dated_name_time("www-api", "www-api-20250301120000") == NOW
    assert free_dated_name("www", NOW, {"www-20250301120000", "www-20250301120001"}) == "www-20250301120002"


def test_arns_and_tags():
    assert iam_name_from_arn(iam_arn("www-20250301120000")) == "www-20250301120000"
    assert iam_name_from_arn(iam_arn("plain", "/")) == "plain"
    assert iam_name_from_arn(acm_arn(1)) is None and iam_name_from_arn("nonsense") is None
    assert is_acm_arn(acm_arn(1)) and not is_acm_arn(iam_arn("x"))
    assert tag_value([{"Key": "a", "Value": "1"}, {"Key": TAG_KEY, "Value": "www"}]) == "www"
    assert tag_value([{"Key": TAG_KEY}]) == ""
    assert tag_value(None) is None


def test_pick_tagged_wants_at_most_one():
    assert pick_tagged("www", []) is None
    assert pick_tagged("www", [acm_arn(1), acm_arn(1)]) == acm_arn(1)
    with pytest.raises(DeployError, match="2 ACM certificates carry the tag certfleet:name=www"):
        pick_tagged("www", [acm_arn(2), acm_arn(1)])


def test_cleanup_takes_only_unused_dated_names_of_the_prefix_under_the_path():
    listing = [
        {"ServerCertificateName": "www-20250101000000", "Path": "/certfleet/", "Arn": "a1"},
        {"ServerCertificateName": "www-20250201000000", "Path": "/certfleet/", "Arn": "a2"},
        {"ServerCertificateName": "www-20250301120000", "Path": "/certfleet/", "Arn": "a3"},
        {"ServerCertificateName": "www-20241201000000", "Path": "/certfleet/sub/", "Arn": "a4"},
        {"ServerCertificateName": "www-api-20250101000000", "Path": "/certfleet/", "Arn": "a5"},
        {"ServerCertificateName": "www", "Path": "/certfleet/", "Arn": "a6"},
        {"ServerCertificateName": "www-20231201000000", "Path": "/", "Arn": "a7"},
    ]
    chosen = cleanup_candidates("www", "/certfleet/", listing, "www-20250301120000", {"a2"})
    assert [meta["ServerCertificateName"] for meta in chosen] == ["www-20250101000000"]
    everything = cleanup_candidates("www", "/certfleet/", listing, None, ())
    assert [meta["Arn"] for meta in everything] == ["a3", "a2", "a1"]  # newest first


def test_stale_sni_keeps_the_default_ours_and_foreign_certificates():
    entries = [
        {"CertificateArn": acm_arn(1), "IsDefault": True},
        {"CertificateArn": acm_arn(2), "IsDefault": False},
        {"CertificateArn": acm_arn(3), "IsDefault": False},
        {"CertificateArn": acm_arn(4), "IsDefault": False},
        {"CertificateArn": iam_arn("www-20250101000000"), "IsDefault": False},
    ]
    tagged = {acm_arn(1), acm_arn(2), acm_arn(4)}
    assert stale_sni(entries, acm_arn(4), lambda arn: arn in tagged) == [acm_arn(2)]

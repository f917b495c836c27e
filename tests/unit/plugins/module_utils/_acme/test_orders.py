# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""newOrder with profile and replaces: the profile check and the replaces retry, with a scripted session."""

from __future__ import annotations

import json

import pytest
from acme import errors as acme_errors
from acme import messages
from requests.structures import CaseInsensitiveDict

from ansible_collections.certfleet.acme.plugins.module_utils._acme import client as acme_client
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import (
    AcmeSettings,
    RetryingNetwork,
    external_account_required,
    offered_profiles,
    renewal_info_url,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.order_state import load_saved_order
from ansible_collections.certfleet.acme.plugins.module_utils._acme.orders import (
    create_order,
    new_order_body,
    order_all,
    profile_problem,
    refused_for_replaces,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import CertSpec

OLD_ID = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
DIRECTORY_URL = "https://ca.test/dir"


def directory(renewal_info=True, profiles=None, eab=None) -> messages.Directory:
    body = {"newNonce": "https://ca.test/nonce", "newAccount": "https://ca.test/acct", "newOrder": "https://ca.test/o"}
    if renewal_info:
        body["renewalInfo"] = "https://ca.test/ari"
    meta = {}
    if profiles is not None:
        meta["profiles"] = profiles
    if eab is not None:
        meta["externalAccountRequired"] = eab
    body["meta"] = meta
    return messages.Directory.from_json(body)


class Answer:
    def __init__(self, body, location="https://ca.test/order/1"):
        self._body = body
        self.headers = CaseInsensitiveDict({"Location": location} if location else {})

    def json(self):
        return self._body


PENDING = {"status": "pending", "identifiers": [], "authorizations": [], "finalize": "https://ca.test/f/1"}


class Session:
    """Records newOrder bodies; answers each from ``script`` (an exception is raised)."""

    def __init__(self, directory, script, tmp_path=None):
        self.directory = directory
        self.script = list(script)
        self.bodies = []
        self.settings = AcmeSettings(directory_url=DIRECTORY_URL, state_dir=str(tmp_path or "/nonexistent"))
        self.account_key = None

    def post(self, url, obj, headers=None):
        assert url == "https://ca.test/o"
        self.bodies.append(json.loads(obj.json_dumps()))
        answer = self.script.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def post_as_get(self, url, accept=None):
        raise AssertionError("no fetch expected: %s" % url)


def spec(**fields) -> CertSpec:
    values = {"name": "www", "names": ("example.test", "*.example.test")}
    values.update(fields)
    return CertSpec(**values)


def problem(code, detail):
    """An ACME problem as the library raises it."""
    return messages.Error(typ="urn:ietf:params:acme:error:" + code, detail=detail)


def test_directory_helpers():
    full = directory(profiles={"classic": "C", "shortlived": "S"}, eab=True)
    assert offered_profiles(full) == {"classic": "C", "shortlived": "S"}
    assert renewal_info_url(full) == "https://ca.test/ari"
    assert external_account_required(full) is True
    bare = directory(renewal_info=False)
    assert offered_profiles(bare) is None and renewal_info_url(bare) is None
    assert external_account_required(bare) is False
    assert offered_profiles(directory(profiles={})) is None
    assert offered_profiles({"meta": {"profiles": {"a": "b"}}}) == {"a": "b"}


def test_new_order_body():
    assert new_order_body(spec()) == {
        "identifiers": [{"type": "dns", "value": "example.test"}, {"type": "dns", "value": "*.example.test"}]
    }
    body = new_order_body(spec(profile="shortlived"), OLD_ID)
    assert body["profile"] == "shortlived" and body["replaces"] == OLD_ID


def test_profile_check():
    offered = {"classic": "C", "shortlived": "S"}
    assert profile_problem(spec(), offered, DIRECTORY_URL) is None
    assert profile_problem(spec(), None, DIRECTORY_URL) is None
    assert profile_problem(spec(profile="classic"), offered, DIRECTORY_URL) is None
    unknown = profile_problem(spec(profile="tlsserver"), offered, DIRECTORY_URL)
    assert unknown["detail"] == (
        "certificate 'www': field 'profile' value 'tlsserver' is not offered by the CA at %s; "
        "it offers: classic, shortlived" % DIRECTORY_URL
    )
    none = profile_problem(spec(profile="classic"), None, DIRECTORY_URL)
    assert "field 'profile' value 'classic' cannot be requested" in none["detail"]
    assert "offers no profiles (its directory has no meta.profiles)" in none["detail"]


def test_a_profile_the_ca_does_not_offer_fails_before_any_order(tmp_path):
    session = Session(directory(profiles={"classic": "C"}), [Answer(PENDING)], tmp_path)
    results = order_all(session, [spec(profile="shortlived")], str(tmp_path))
    assert results[0]["status"] == "failed" and results[0]["order_url"] is None
    assert "it offers: classic" in results[0]["error"]["detail"]
    assert session.bodies == []
    assert load_saved_order(str(tmp_path), "www") is None


def test_replaces_is_sent_when_the_ca_has_renewal_info():
    session = Session(directory(), [Answer(PENDING)])
    url, order, replaces, status, notes = create_order(session, spec(replaces=OLD_ID, profile="classic"))
    assert url == "https://ca.test/order/1" and order.status.name == "pending"
    assert (replaces, status, notes) == (OLD_ID, "sent", [])
    assert session.bodies[0]["replaces"] == OLD_ID and session.bodies[0]["profile"] == "classic"


def test_replaces_is_not_sent_without_renewal_info():
    session = Session(directory(renewal_info=False), [Answer(PENDING)])
    dummy_url, dummy_order, replaces, status, notes = create_order(session, spec(replaces=OLD_ID))
    assert replaces is None and status == "unsupported"
    assert "no renewalInfo" in notes[0]
    assert "replaces" not in session.bodies[0]


def test_no_replaces_no_status():
    session = Session(directory(), [Answer(PENDING)])
    assert create_order(session, spec())[2:] == (None, None, [])
    assert "replaces" not in session.bodies[0]


@pytest.mark.parametrize(
    "refusal",
    [
        problem("alreadyReplaced", "certificate has already been replaced"),
        problem("malformed", "cannot find the certificate to be replaced"),
        messages.Error(typ="urn:ietf:params:acme:error:conflict", detail="Replaces field conflicts"),
        acme_errors.ConflictError("UNKNOWN-LOCATION"),
    ],
)
def test_a_refused_replaces_is_retried_once_without_it(refusal):
    session = Session(directory(), [refusal, Answer(PENDING, "https://ca.test/order/2")])
    url, dummy_order, replaces, status, notes = create_order(session, spec(replaces=OLD_ID))
    assert url == "https://ca.test/order/2"
    assert replaces is None and status == "dropped"
    assert "ordered again without replaces" in notes[0] and OLD_ID in notes[0]
    assert [body.get("replaces") for body in session.bodies] == [OLD_ID, None]
    assert "replaces" not in session.bodies[1]


@pytest.mark.parametrize(
    "error",
    [
        problem("rateLimited", "too many orders replacing certificates"),
        problem("rejectedIdentifier", "example.test is blocked"),
        problem("badNonce", "replace your nonce"),
    ],
)
def test_other_errors_are_not_retried(error):
    session = Session(directory(), [error, Answer(PENDING)])
    with pytest.raises(messages.Error):
        create_order(session, spec(replaces=OLD_ID))
    assert len(session.bodies) == 1


def test_the_retry_happens_only_once():
    session = Session(directory(), [problem("alreadyReplaced", "replaced"), problem("malformed", "replaced too")])
    with pytest.raises(messages.Error, match="replaced too"):
        create_order(session, spec(replaces=OLD_ID))
    assert len(session.bodies) == 2


def test_refused_for_replaces_classification():
    assert refused_for_replaces(problem("alreadyReplaced", ""))
    assert refused_for_replaces(messages.Error(typ="urn:ietf:params:acme:error:alreadyReplaced"))
    assert refused_for_replaces(problem("malformed", "Replaces field is invalid"))
    assert not refused_for_replaces(problem("malformed", "identifier is bad"))
    assert not refused_for_replaces(problem("unauthorized", "not your certificate to replace"))
    assert not refused_for_replaces(ValueError("replace"))


def test_dropped_replaces_is_saved_and_reported(tmp_path):
    session = Session(directory(), [problem("alreadyReplaced", "replaced"), Answer(PENDING)], tmp_path)
    result = order_all(session, [spec(replaces=OLD_ID)], str(tmp_path))[0]
    assert result["status"] == "pending" and result["replaces_status"] == "dropped" and result["replaces"] is None
    assert len(result["notes"]) == 1
    saved = load_saved_order(str(tmp_path), "www")
    assert saved["replaces"] is None and saved["replaces_status"] == "dropped"


class Http:
    def __init__(self, status, body=None, content_type="application/problem+json"):
        self.status_code = status
        self.ok = 200 <= status < 400
        self.headers = CaseInsensitiveDict({"Content-Type": content_type, "Location": "https://ca.test/acct/5"})
        self._body = body

    def json(self):
        if self._body is None:
            raise ValueError("no JSON")
        return self._body


def test_a_409_problem_document_is_raised_as_that_problem():
    body = {"type": "urn:ietf:params:acme:error:alreadyReplaced", "detail": "already replaced", "status": 409}
    with pytest.raises(messages.Error) as caught:
        RetryingNetwork._check_response(Http(409, body))
    assert caught.value.typ.endswith(":alreadyReplaced") and caught.value.detail == "already replaced"
    with pytest.raises(acme_errors.ConflictError) as conflict:
        RetryingNetwork._check_response(Http(409))
    assert conflict.value.location == "https://ca.test/acct/5"
    assert acme_client.RetryingNetwork._check_response(Http(200, {"ok": 1}, "application/json")).status_code == 200

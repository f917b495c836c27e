# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.certfleet.acme.plugins.module_utils._acme.keys import (
    KEY_TYPES,
    generate_private_key,
    make_csr,
    private_key_pem,
    public_key_der,
)
from ansible_collections.certfleet.acme.plugins.module_utils._common.key_types import key_type_of


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_generated_key_has_its_type(key_type):
    key = generate_private_key(key_type)
    assert key_type_of(key) == key_type
    assert key_type_of(key.public_key()) == key_type
    loaded = serialization.load_pem_private_key(private_key_pem(key), password=None)
    assert public_key_der(loaded) == public_key_der(key)


def test_key_sizes_and_curves():
    assert generate_private_key("ec256").curve.name == "secp256r1"
    assert generate_private_key("ec384").curve.name == "secp384r1"
    assert generate_private_key("rsa3072").key_size == 3072


def test_unknown_key_type_is_rejected():
    with pytest.raises(ValueError, match="ec521"):
        generate_private_key("ec521")


def test_keys_without_a_name_are_none():
    assert key_type_of(ec.generate_private_key(ec.SECP521R1())) is None
    assert key_type_of(rsa.generate_private_key(public_exponent=65537, key_size=1024)) is None
    assert key_type_of(ed25519.Ed25519PrivateKey.generate()) is None


def test_each_key_is_fresh():
    assert public_key_der(generate_private_key("ec256")) != public_key_der(generate_private_key("ec256"))


def test_csr_has_all_names_as_sans_and_first_as_cn():
    key = generate_private_key("ec256")
    csr = x509.load_pem_x509_csr(make_csr(key, ["Example.ORG.", "*.example.org", "www.example.org"]))
    sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["example.org", "*.example.org", "www.example.org"]
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "example.org"
    assert csr.is_signature_valid
    assert public_key_der(csr.public_key()) == public_key_der(key)


def test_csr_leaves_cn_out_when_first_name_is_too_long():
    long_name = "a" * 60 + ".example.org"
    csr = x509.load_pem_x509_csr(make_csr(generate_private_key("ec256"), [long_name, "example.org"]))
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME) == []
    sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [long_name, "example.org"]

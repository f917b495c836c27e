# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The key types a certificate may ask for, and telling them apart on a key.

Input checks (the ACME specs, and through them the role's filters) need only
these names. Kept here, without a top-level import of cryptography, those checks
do not load it: the filters run in every Ansible worker process that uses one
of them, and loading cryptography there cost about a tenth of a second each time.
Key generation (``_acme.keys``) and detection read the same tables, so the names
cannot drift between the two directions.
"""

from __future__ import annotations

KEY_TYPES = ("ec256", "ec384", "rsa2048", "rsa3072", "rsa4096")
DEFAULT_KEY_TYPE = "ec256"

CURVES = {"ec256": "secp256r1", "ec384": "secp384r1"}
RSA_BITS = {"rsa2048": 2048, "rsa3072": 3072, "rsa4096": 4096}


def key_type_of(key) -> str | None:
    """The ``key_type`` name of a public or private key, or None when it has no name here.

    Detection reads the curve or modulus size, so a certificate from another
    tool (say an RSA 1024 or Ed25519 key) yields None and counts as changed.
    A key object exists only where cryptography is installed, so it is imported here, on use.
    """
    from cryptography.hazmat.primitives.asymmetric import ec, rsa  # pylint: disable=import-outside-toplevel

    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        for key_type, curve in CURVES.items():
            if key.curve.name == curve:
                return key_type
        return None
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        for key_type, bits in RSA_BITS.items():
            if key.key_size == bits:
                return key_type
        return None
    return None

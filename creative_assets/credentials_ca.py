"""A local *test* certificate authority for Content Credentials (``creative-assets credentials init``).

Creates, under ``var/credentials/`` by default:

* ``test-ca.pem``: a self-signed root (the trust anchor the verifier is given in test mode);
* ``signer-chain.pem``: an ES256 signing certificate issued by it, followed by the root;
* ``signer.key``: the signing key (PKCS#8 PEM, mode 0600).

The root's private key is discarded once the signing certificate is issued, so nothing else can
be issued from it. Every certificate carries :data:`TEST_ORGANIZATION`, which is how a file signed
with it is recognised (and shown) as *test-signed*. Production uses a CA-issued certificate
(README "Content Credentials"). Pure: no Dagster.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TEST_ORGANIZATION = "creative-assets TEST CA - not for publication"
CA_FILE, CHAIN_FILE, KEY_FILE = "test-ca.pem", "signer-chain.pem", "signer.key"


@dataclass(frozen=True)
class CAFiles:
    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / CA_FILE

    @property
    def chain(self) -> Path:
        return self.folder / CHAIN_FILE

    @property
    def key(self) -> Path:
        return self.folder / KEY_FILE

    def exists(self) -> bool:
        return self.ca.is_file() and self.chain.is_file() and self.key.is_file()


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, TEST_ORGANIZATION),
        ]
    )


def _usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def init_test_ca(folder: Path, force: bool = False, days: int = 825) -> tuple[CAFiles, bool]:
    """Create the test CA and signing certificate in ``folder`` (kept if it exists, unless
    ``force``). Returns it and whether it was created now."""
    ca_files = CAFiles(Path(folder))
    if ca_files.exists() and not force:
        return ca_files, False
    ca_files.folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("creative-assets TEST root CA")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days + 30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("creative-assets TEST signer"))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign=True, ca=False), critical=True)
        # C2PA accepts emailProtection or documentSigning signers; both are declared
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.EMAIL_PROTECTION, x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_bytes = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write(ca_files.key, key_bytes, 0o600)
    _write(ca_files.chain, cert.public_bytes(pem) + root.public_bytes(pem), 0o644)
    _write(ca_files.ca, root.public_bytes(pem), 0o644)
    return ca_files, True


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def is_test_certificate(chain_pem: bytes) -> bool:
    """Whether the signing certificate (the first of the chain) was issued by a test CA."""
    cert = x509.load_pem_x509_certificates(chain_pem)[0]
    orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return any(o.value == TEST_ORGANIZATION for o in orgs)

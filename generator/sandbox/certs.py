"""The box's certificates: one CA, and leaves it signs for the servers and clients that run on loopback.

Keys are ECDSA P-256 (fast to make, accepted by every Go TLS stack in the box, and an ES256 service-account
signing key the API server takes). Each file is made once per box and reused; a new box makes a new CA.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALID = datetime.timedelta(days=30)
_CLOCK_SKEW = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class Leaf:
    """A certificate and its private key, as PEM files."""

    cert: Path
    key: Path

    def cert_pem(self) -> bytes:
        return self.cert.read_bytes()


class Certs:
    """The CA of one box, kept in `directory` (ca.crt, ca.key and `<name>.crt`/`<name>.key` per leaf)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = Leaf(self.dir / "ca.crt", self.dir / "ca.key")
        if not (self.ca.cert.exists() and self.ca.key.exists()):
            self._make_ca()
        self._ca_key = _load_key(self.ca.key)
        self._ca_cert = x509.load_pem_x509_certificate(self.ca.cert.read_bytes())

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate (PEM): a webhook configuration's caBundle, a kubeconfig's certificate-authority-data."""
        return self.ca.cert.read_bytes()

    def leaf(self, name: str, hosts: list[str]) -> Leaf:
        """A serving certificate for `hosts` (DNS names or IP addresses), e.g. a webhook server on 127.0.0.1."""
        return self._issue(name, common_name=name, organizations=[], hosts=hosts,
                           usages=[ExtendedKeyUsageOID.SERVER_AUTH])

    def client(self, name: str, user: str, groups: list[str]) -> Leaf:
        """A client certificate the API server reads as `user` in `groups` (CN and O, as x509 authentication does)."""
        return self._issue(name, common_name=user, organizations=groups, hosts=[],
                           usages=[ExtendedKeyUsageOID.CLIENT_AUTH])

    def api_server(self) -> Leaf:
        """The API server's serving certificate: loopback by address and by name, and the in-cluster names."""
        return self._issue("kube-apiserver", common_name="kube-apiserver", organizations=[],
                           hosts=["127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                  "kubernetes.default.svc.cluster.local"],
                           usages=[ExtendedKeyUsageOID.SERVER_AUTH])

    def admin(self) -> Leaf:
        """The box's kubeconfig identity: a member of system:masters."""
        return self.client("admin", "box-admin", ["system:masters"])

    def service_account_key(self) -> Path:
        """The key that signs service-account tokens (kube-apiserver and kube-controller-manager sign with it)."""
        path = self.dir / "service-account.key"
        if not path.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            path.touch(mode=0o600)
            path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                               serialization.NoEncryption()))
            (self.dir / "service-account.pub").write_bytes(key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        return path

    def service_account_public_key(self) -> Path:
        """The public half, which the API server verifies tokens with."""
        self.service_account_key()
        return self.dir / "service-account.pub"

    def _issue(self, name: str, *, common_name: str, organizations: list[str], hosts: list[str],
               usages: list[x509.ObjectIdentifier]) -> Leaf:
        leaf = Leaf(self.dir / f"{name}.crt", self.dir / f"{name}.key")
        if leaf.cert.exists() and leaf.key.exists():
            return leaf
        key = ec.generate_private_key(ec.SECP256R1())
        subject = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
        subject.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        builder = _base(x509.Name(subject), self._ca_cert.subject, key.public_key())
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                                      data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                                      crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        if hosts:
            builder = builder.add_extension(x509.SubjectAlternativeName([_general_name(h) for h in hosts]), critical=False)
        cert = builder.sign(self._ca_key, hashes.SHA256())
        _write_key(leaf.key, key)
        leaf.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return leaf

    def _make_ca(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gpuaas-generator box CA")])
        builder = _base(name, name, key.public_key())
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                                      data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                                      crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        cert = builder.sign(key, hashes.SHA256())
        _write_key(self.ca.key, key)
        self.ca.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _base(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _CLOCK_SKEW).not_valid_after(now + _VALID))


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.touch(mode=0o600)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{path}: not an ECDSA key")
    return key

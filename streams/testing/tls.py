"""TLS for tests: a throw-away CA, server certificates, and Debian's stunnel4 in front of a broker.

The Tansu build these tests use serves plaintext only, so TLS is made real the way many sites
terminate it anyway: stunnel accepts TLS on one loopback port and forwards the decrypted bytes
to the broker's plaintext port, and the broker *advertises the TLS port*, so every connection a
client opens after bootstrap goes through TLS too.

    pki = make_pki(tmp_path)                      # CA + a server cert for 127.0.0.1
    with Stunnel(pki, accept=tls_port, connect=plain_port, workdir=tmp_path):
        ...                                       # clients use SSL with ssl_cafile=pki.ca_cert
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType


@dataclass(frozen=True)
class Pki:
    """Paths of a CA certificate and a server certificate/key it signed (PEM)."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path


def _write_key(path: Path, key: object) -> None:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(
        key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def make_pki(directory: Path, name: str = "journey-test", host: str = "127.0.0.1") -> Pki:
    """A fresh CA (``name`` CA) and a server certificate for ``host`` (IP SAN + localhost)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        sans.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        sans.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(
        ca_cert=directory / "ca.pem",
        ca_key=directory / "ca.key",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
    )
    pki.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(pki.ca_key, ca_key)
    _write_key(pki.server_key, key)
    return pki


def find_stunnel() -> str | None:
    """Debian's ``stunnel4`` (or ``stunnel``) binary, or None."""
    return shutil.which("stunnel4") or shutil.which("stunnel")


class StunnelError(RuntimeError):
    """stunnel did not start; the message carries its log."""


class Stunnel:
    """``stunnel4`` terminating TLS on ``accept`` and forwarding plaintext to ``connect``."""

    def __init__(
        self, pki: Pki, *, accept: int, connect: int, workdir: Path, binary: str | None = None
    ) -> None:
        found = binary or find_stunnel()
        if not found:
            raise StunnelError("stunnel4 not found: apt-get install -y stunnel4")
        self.binary = found
        self.pki = pki
        self.accept = accept
        self.connect = connect
        self.dir = workdir
        self.log_path = workdir / "stunnel.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        return (
            "foreground = yes\n"
            "pid =\n"
            "debug = 5\n"
            f"output = {self.log_path}\n"
            "[kafka]\n"
            f"accept = 127.0.0.1:{self.accept}\n"
            f"connect = 127.0.0.1:{self.connect}\n"
            f"cert = {self.pki.server_cert}\n"
            f"key = {self.pki.server_key}\n"
        )

    def log(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")
        except OSError:
            return "(no log)"

    def start(self, timeout: float = 10.0) -> Stunnel:
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "stunnel.conf"
        conf.write_text(self.config())
        self.proc = subprocess.Popen(
            [self.binary, str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StunnelError(f"stunnel exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.accept), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise StunnelError(f"stunnel did not listen on {self.accept} in {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> Stunnel:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

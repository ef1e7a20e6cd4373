"""A real rsyslog (Debian ``rsyslog`` + ``rsyslog-openssl``) as the SIEM: RFC 5425 over TLS on loopback.

:class:`Rsyslog` writes its own rsyslog.conf and runs ``rsyslogd -n -f CONF -i PIDFILE`` as a child
process with its own work directory (never the system daemon). One daemon serves several listeners,
each on port 0 with ``listenPortFileName`` so parallel tests never collide:

- ``tls13``  — TLS 1.3 only (``MinProtocol=TLSv1.3``), the server certificate from the test CA;
- ``tls12``  — TLS 1.2 only (``MaxProtocol=TLSv1.2``), to prove the shipper refuses it;
- ``rogue``  — TLS 1.3, a certificate from another CA, to prove the shipper refuses it;
- ``mutual`` — TLS 1.3 requiring a client certificate from the test CA (``x509/certvalid``).

Every listener writes each message exactly as received (``%rawmsg%``), one per line, to one file.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
LISTENERS = ("tls13", "tls12", "rogue", "mutual")
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class CertFiles:
    """PEM files of one certificate and its key."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    """A throwaway CA with a server certificate for ``localhost``/127.0.0.1 and a client certificate."""

    ca: Path
    server: CertFiles
    client: CertFiles


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def make_pki(directory: Path, label: str) -> Pki:
    """Create a CA and two leaf certificates under ``directory``; ``label`` names the CA."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    validity = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} test CA"))
        .issuer_name(_name(f"{label} test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))

    def leaf(stem: str, common_name: str, usage: x509.ObjectIdentifier) -> CertFiles:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(validity[0])
            .not_valid_after(validity[1])
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        files = CertFiles(directory / f"{stem}.pem", directory / f"{stem}.key")
        files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(files.key, key)
        return files

    return Pki(
        ca=ca_path,
        server=leaf("server", "localhost", ExtendedKeyUsageOID.SERVER_AUTH),
        client=leaf("client", "phistack-shipper", ExtendedKeyUsageOID.CLIENT_AUTH),
    )


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _q(path: Path) -> str:
    text = str(path)
    assert '"' not in text and "\n" not in text, text
    return text


class Rsyslog:
    """One rsyslogd child process with the four TLS listeners; :meth:`stop` always ends it."""

    host = "127.0.0.1"

    def __init__(self, root: Path, pki: Pki, rogue: Pki) -> None:
        self.root = root
        self.pki = pki
        self.rogue = rogue
        self.work = root / "work"
        self.conf = root / "rsyslog.conf"
        self.pidfile = root / "rsyslogd.pid"
        self.output = root / "received.log"
        self.stderr_path = root / "rsyslogd.err"
        self.ports: dict[str, int] = {}
        self._fixed_ports: dict[str, int] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self.work.mkdir(parents=True, exist_ok=True)

    # -- configuration -----------------------------------------------------------------------------
    def _input(self, name: str, priority: str, extra: str = "") -> str:
        port = self._fixed_ports.get(name, 0)
        return (
            f'input(type="imtcp" port="{port}" listenPortFileName="{_q(self.root / f"{name}.port")}" '
            f'ruleset="siem" gnutlsPriorityString="{priority}"{extra})\n'
        )

    def write_config(self) -> None:
        """Write rsyslog.conf for the four listeners."""
        pki, rogue = self.pki, self.rogue
        text = (
            f'global(workDirectory="{_q(self.work)}" maxMessageSize="64k"\n'
            f'  defaultNetstreamDriver="ossl"\n'
            f'  defaultNetstreamDriverCAFile="{_q(pki.ca)}"\n'
            f'  defaultNetstreamDriverCertFile="{_q(pki.server.cert)}"\n'
            f'  defaultNetstreamDriverKeyFile="{_q(pki.server.key)}")\n'
            # Give the queue time to drain on SIGTERM: a stop must not discard what was received.
            'main_queue(queue.timeoutShutdown="10000" queue.timeoutActionCompletion="10000")\n'
            'module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")\n'
            'template(name="raw" type="string" string="%rawmsg%\\n")\n'
            f'ruleset(name="siem") {{ action(type="omfile" file="{_q(self.output)}" template="raw") }}\n'
            + self._input("tls13", "MinProtocol=TLSv1.3")
            + self._input("tls12", "MinProtocol=TLSv1.2\nMaxProtocol=TLSv1.2")
            + self._input(
                "rogue",
                "MinProtocol=TLSv1.3",
                f' streamDriver.CAFile="{_q(rogue.ca)}" streamDriver.CertFile="{_q(rogue.server.cert)}"'
                f' streamDriver.KeyFile="{_q(rogue.server.key)}"',
            )
            + self._input("mutual", "MinProtocol=TLSv1.3", ' streamDriver.authMode="x509/certvalid"')
        )
        self.conf.write_text(text)

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start rsyslogd and wait until every listener has written its port."""
        assert self._proc is None, "already running"
        for name in LISTENERS:
            (self.root / f"{name}.port").unlink(missing_ok=True)
        self.write_config()
        check = subprocess.run([RSYSLOGD, "-N1", "-f", str(self.conf)], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"rsyslog rejected its configuration:\n{check.stderr}")
        self.pidfile.unlink(missing_ok=True)
        with self.stderr_path.open("ab") as err:
            self._proc = subprocess.Popen(
                [RSYSLOGD, "-n", "-f", str(self.conf), "-i", str(self.pidfile)],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"rsyslogd exited with {self._proc.returncode}: {self.stderr_path.read_text()}")
            ready = {}
            for name in LISTENERS:
                port_file = self.root / f"{name}.port"
                text = port_file.read_text().strip() if port_file.exists() else ""
                if text.isdigit() and int(text) > 0:
                    ready[name] = int(text)
                elif name in self._fixed_ports and _listening(self.host, self._fixed_ports[name]):
                    # rsyslog writes listenPortFileName only for port 0: probe a fixed port instead.
                    ready[name] = self._fixed_ports[name]
            if len(ready) == len(LISTENERS):
                self.ports = ready
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"rsyslogd did not open its listeners within {START_TIMEOUT_S} s")

    def stop(self) -> None:
        """SIGTERM (rsyslog drains its queue and closes files), SIGKILL if it hangs."""
        proc, self._proc = self._proc, None
        self._fixed_ports = dict(self.ports)  # a later start() comes back on the same ports
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT_S)

    def restart(self) -> None:
        """Stop, then start again on the same ports (a receiver that went away and came back)."""
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        """True while the child process lives."""
        return self._proc is not None and self._proc.poll() is None

    # -- what arrived --------------------------------------------------------------------------------
    def received(self) -> list[bytes]:
        """Every message written so far, exactly as received (complete lines only)."""
        if not self.output.exists():
            return []
        data = self.output.read_bytes()
        return data[: data.rfind(b"\n") + 1].splitlines()

    def wait_for(self, count: int, timeout_s: float) -> list[bytes]:
        """Poll until at least ``count`` messages arrived (or time runs out); return them."""
        deadline = time.monotonic() + timeout_s
        while True:
            messages = self.received()
            if len(messages) >= count or time.monotonic() >= deadline:
                return messages
            time.sleep(0.05)


@pytest.fixture
def rsyslog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rsyslog]:
    """A running rsyslogd with the four TLS listeners; stopped at teardown."""
    root = tmp_path_factory.mktemp("rsyslog")
    server = Rsyslog(root, make_pki(root / "pki", "siem"), make_pki(root / "rogue-pki", "rogue"))
    server.start()
    try:
        yield server
    finally:
        server.stop()

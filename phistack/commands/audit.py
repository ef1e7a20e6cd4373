"""``phistack audit``: verify tamper-evident audit logs, make checkpoint keys, append, ship to a SIEM."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from phistack.commands import SUMMARIES
from phistack.commands._keygen import add_ed25519_keygen
from phistack.errors import ExitCode, InputError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit",
        help=SUMMARIES["audit"],
        description=(
            "Tamper-evident audit logs: hash-chained JSON records with Ed25519-signed RFC 6962 "
            "checkpoints, shipped to the customer's SIEM over syslog/TLS 1.3. Exit codes: 0 intact or "
            "done, 1 verification failed or the SIEM refused, 2 usage or bad input."
        ),
    )
    commands = parser.add_subparsers(dest="audit_command", metavar="SUBCOMMAND")
    commands.required = True

    verify = commands.add_parser(
        "verify",
        help="check a log's hash chain, signed checkpoints and the SIEM's copy; exit 1 with the reason if tampered",
        description=(
            "Check every record's hash and link, the sequence numbers, each checkpoint's signature and Merkle "
            "root (from the local checkpoint file, the checkpoints the log records, --checkpoint files and the "
            "SIEM's copy), and that the checkpoint file still holds every checkpoint the log records. Detects "
            "modified, deleted and reordered records, a trimmed checkpoint file, forged checkpoints, and with "
            "--witness a log cut back or rolled back together with its checkpoint file. Without --key the "
            "signatures are checked against the keys the log names: authenticity is then unproven. "
            "Exit 0 intact, 1 tampered, 2 bad input."
        ),
    )
    verify.add_argument("log", metavar="LOG", help="the audit log file")
    verify.add_argument(
        "--checkpoint",
        metavar="FILE",
        action="append",
        help="further checkpoint file(s) held elsewhere, checked besides the local one (LOG.checkpoints)",
    )
    verify.add_argument(
        "--witness",
        metavar="FILE",
        action="append",
        help="the SIEM's file(s) of received messages (rsyslog %%rawmsg%% lines): every record and checkpoint "
        "of this log the SIEM received must still be in the log, unchanged",
    )
    verify.add_argument(
        "--key",
        metavar="PUB",
        action="append",
        help="PEM Ed25519 public key checkpoints must be signed with; repeat for rotated keys "
        "(default: the keys the log names, which proves consistency but not authenticity)",
    )
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.set_defaults(handler=run_verify)

    add_ed25519_keygen(
        commands,
        help="create an Ed25519 keypair for signing checkpoints (PREFIX.key, PREFIX.pub)",
        use="`phistack audit append --key PREFIX.key` signs checkpoints with it; give PREFIX.pub to whoever "
        "verifies the logs.",
    )

    append = commands.add_parser(
        "append",
        help="append one event to a log (creating it if needed)",
        description=(
            "Append one event to LOG, for scripts and operators. With --key a signed checkpoint is written "
            "when the log is closed. Prints the new record."
        ),
    )
    append.add_argument("log", metavar="LOG", help="the audit log file (created if missing)")
    append.add_argument("--actor", required=True, help="who acted, e.g. svc:runtime or user:jane")
    append.add_argument("--action", required=True, help="what happened, e.g. data.access, key.release")
    append.add_argument("--object", required=True, help="what it happened to, e.g. a dataset or key id")
    append.add_argument("--outcome", required=True, choices=["success", "failure", "denied"], help="the outcome")
    append.add_argument("--details", metavar="JSON", help="a JSON object with further details")
    append.add_argument("--key", metavar="PRIV", help="PEM Ed25519 private key that signs checkpoints")
    append.add_argument("--checkpoints", metavar="FILE", help="checkpoint file (default: LOG.checkpoints)")
    append.set_defaults(handler=run_append)

    ship = commands.add_parser(
        "ship",
        help="forward a log to a syslog/TLS 1.3 receiver (RFC 5425), at least once",
        description=(
            "Send every record not yet confirmed by the SIEM (LOG.shipped keeps the confirmed offset) as "
            "RFC 5424 messages over TLS 1.3, then exit; with --follow keep forwarding new records until "
            "interrupted. The receiver's certificate must chain to --ca and match --server-name. "
            "Exit 0 delivered, 1 the SIEM refused or could not be reached, 2 bad input."
        ),
    )
    ship.add_argument("log", metavar="LOG", help="the audit log file")
    ship.add_argument("--host", required=True, help="receiver host (name or address)")
    ship.add_argument("--port", required=True, type=int, help="receiver port (6514 is the RFC 5425 port)")
    ship.add_argument("--ca", required=True, metavar="PEM", help="CA certificate(s) the receiver's cert must chain to")
    ship.add_argument("--server-name", metavar="NAME", help="name expected in the receiver's cert (default: --host)")
    ship.add_argument("--client-cert", metavar="PEM", help="client certificate for mutual TLS")
    ship.add_argument("--client-key", metavar="PEM", help="key of the client certificate (if not in --client-cert)")
    ship.add_argument("--hostname", help="HOSTNAME field of the syslog messages (default: this machine's name)")
    ship.add_argument("--sd-id", default="audit@32473", help="structured data id, NAME@PEN (default: audit@32473)")
    ship.add_argument("--follow", action="store_true", help="keep forwarding new records until interrupted")
    ship.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="give up after S seconds without --follow (30)"
    )
    ship.set_defaults(handler=run_ship)


def _warn(message: str) -> None:
    print(f"phistack: warning: {message}", file=sys.stderr)


def run_verify(args: argparse.Namespace) -> int:
    from runtime.audit.verify import result_json, verify_log
    from runtime.ed25519 import load_public_key

    keys = [load_public_key(path) for path in args.key or []]
    result = verify_log(
        Path(args.log),
        checkpoint_files=args.checkpoint or (),
        public_key=keys or None,
        allow_unpinned=not keys,
        witness=args.witness or (),
    )
    print(result_json(result) if args.json else result.summary())
    if not result.authenticated:
        _warn("authenticity unproven: no checkpoint verified under a pinned key (--key)")
    return ExitCode.OK


def run_append(args: argparse.Namespace) -> int:
    from runtime.audit import AuditLog
    from runtime.ed25519 import load_private_key

    details = None
    if args.details:
        try:
            details = json.loads(args.details)
        except ValueError as err:
            raise InputError(f"--details is not JSON: {err}") from err
    key = load_private_key(args.key) if args.key else None
    with AuditLog.open(args.log, signing_key=key, checkpoint_path=args.checkpoints, background=False) as log:
        record = log.append(args.actor, args.action, args.object, args.outcome, details)
    print(record.line.decode("ascii"))
    return ExitCode.OK


def run_ship(args: argparse.Namespace) -> int:
    from runtime.audit.chain import walk
    from runtime.audit.shipper import Shipper, SyslogTarget

    log_path = Path(args.log)
    log_id = walk(log_path, allow_torn_tail=True).log_id  # refuse to forward a tampered log
    try:
        target = SyslogTarget(
            host=args.host,
            port=args.port,
            ca_file=args.ca,
            server_name=args.server_name,
            client_cert=args.client_cert,
            client_key=args.client_key,
            hostname=args.hostname,
            sd_id=args.sd_id,
        )
        # Retries are worth a warning only while following; a one-shot run reports its final error once.
        shipper = Shipper(target, log_path, log_id, on_error=_warn if args.follow else None)
    except ValueError as err:
        raise InputError(str(err)) from err
    if not args.follow:
        stats = shipper.ship_pending(timeout_s=args.timeout)
        if stats.records_sent == 0:
            print(f"phistack: nothing to ship: the SIEM has confirmed every record of {log_path}", file=sys.stderr)
            return ExitCode.OK
        print(
            f"phistack: shipped to {target.address}: {stats.records_confirmed} records confirmed "
            f"({stats.records_sent} sent, {stats.connections} TLS 1.3 sessions)",
            file=sys.stderr,
        )
        return ExitCode.OK
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    print(f"phistack: forwarding {log_path} to {target.address} (TLS 1.3); Ctrl-C stops", file=sys.stderr)
    shipper.start()
    while not done.wait(0.5):  # a timed wait keeps the signal handlers responsive
        pass
    shipper.stop(drain_timeout_s=args.timeout)
    stats = shipper.stats
    print(
        f"phistack: stopped: {stats.records_confirmed} records confirmed, {stats.failures} failures",
        file=sys.stderr,
    )
    return ExitCode.OK

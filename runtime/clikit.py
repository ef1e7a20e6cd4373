"""What both command lines share: one-line usage errors, command discovery, error → exit code mapping."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType

from runtime.errors import ExitCode, PhistackError

Handler = Callable[[argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line and exit code 2 (its default, kept explicit)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


def build_parser(prog: str, description: str, commands: ModuleType, version: str | None = None) -> Parser:
    """A parser whose subcommands are the modules of ``commands`` (each with ``register(subparsers)``);
    modules whose names start with ``_`` are shared helpers, not commands."""
    parser = Parser(prog=prog, description=description)
    if version is not None:
        parser.add_argument("--version", action="version", version=f"{prog} {version}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show details behind an error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    subparsers.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{commands.__name__}.{info.name}").register(subparsers)
    return parser


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt is for SIGINT, so that every ``finally`` and
    ``with`` on the way out runs: a half-written output (decrypted data included) is removed, not left behind."""


def _raise_terminated(signum: int, _frame: object) -> None:
    raise Terminated(signum)


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse, dispatch, and turn a PhistackError into one line on stderr and its exit code; SIGINT and SIGTERM
    end the command cleanly (exit 130 and 143)."""
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return handler(args)
    except Terminated:
        print(f"{parser.prog}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except PhistackError as err:
        print(f"{parser.prog}: error: {err.diagnostic()}", file=sys.stderr)
        if args.verbose and err.__cause__ is not None:
            print(f"  caused by: {err.__cause__!r}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130

"""The ``phistack`` command line: discovers the command modules and maps errors to exit codes."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence

from phistack import __version__, commands
from phistack.errors import ExitCode, PhistackError

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line and exit code 2 (its default, kept explicit)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="phistack",
        description="Declare, gate and run HIPAA-grade AI workloads on confidential GPUs.",
    )
    parser.add_argument("--version", action="version", version=f"phistack {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show details behind an error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue  # shared helpers, not commands
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except PhistackError as err:
        print(f"phistack: error: {err.diagnostic()}", file=sys.stderr)
        if args.verbose and err.__cause__ is not None:
            print(f"  caused by: {err.__cause__!r}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("phistack: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

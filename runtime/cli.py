"""The ``phistack-runtime`` command line, the container's entrypoint."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence

from runtime import commands
from runtime.errors import ExitCode, PhistackError

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="phistack-runtime",
        description="Attest the machine, obtain data keys and run workloads inside the confidential container.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show details behind an error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue  # shared helpers, not commands
        importlib.import_module(f"{commands.__name__}.{info.name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except PhistackError as err:
        print(f"phistack-runtime: error: {err.diagnostic()}", file=sys.stderr)
        if args.verbose and err.__cause__ is not None:
            print(f"  caused by: {err.__cause__!r}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("phistack-runtime: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

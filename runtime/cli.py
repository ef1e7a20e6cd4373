"""The ``phistack-runtime`` command line, the container's entrypoint."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from runtime import __version__, clikit, commands


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; given a command line, one that imports only the command it names."""
    return clikit.build_parser(
        "phistack-runtime",
        "Attest the machine, obtain data keys and run workloads inside the confidential container.",
        commands,
        version=__version__,
        argv=argv,
    )


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    return clikit.run(build_parser(words), words)


if __name__ == "__main__":
    sys.exit(main())

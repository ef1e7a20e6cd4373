"""The ``phistack`` command line: discovers the command modules and maps errors to exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from phistack import __version__, commands
from runtime import clikit


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; given a command line, one that imports only the command it names."""
    return clikit.build_parser(
        "phistack",
        "Declare, gate and run HIPAA-grade AI workloads on confidential GPUs.",
        commands,
        version=__version__,
        argv=argv,
    )


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    return clikit.run(build_parser(words), words)


if __name__ == "__main__":
    sys.exit(main())

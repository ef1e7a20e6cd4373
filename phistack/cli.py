"""The ``phistack`` command line: discovers the command modules and maps errors to exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from phistack import __version__, commands
from runtime import clikit


def build_parser() -> argparse.ArgumentParser:
    return clikit.build_parser(
        "phistack",
        "Declare, gate and run HIPAA-grade AI workloads on confidential GPUs.",
        commands,
        version=__version__,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return clikit.run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())

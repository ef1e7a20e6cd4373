"""The ``phistack-runtime`` command line, the container's entrypoint."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from runtime import __version__, clikit, commands


def build_parser() -> argparse.ArgumentParser:
    return clikit.build_parser(
        "phistack-runtime",
        "Attest the machine, obtain data keys and run workloads inside the confidential container.",
        commands,
        version=__version__,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return clikit.run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())

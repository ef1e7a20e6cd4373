"""CLI commands. Each module here defines ``register(subparsers)``; :mod:`phistack.cli` finds them all.

A command's handler takes the parsed ``argparse.Namespace`` and returns an exit code; user errors
are raised as :class:`phistack.errors.PhistackError`.
"""

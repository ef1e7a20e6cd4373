"""What both command lines share: one-line usage errors, command discovery, error → exit code mapping.

Conventions every command follows (and tests/test_cli_conventions.py checks): data goes to stdout, status
and errors to stderr; ``-v/--verbose`` is accepted before or after any subcommand; every subcommand has a
description; usage errors carry the program's name alone (``phistack: error: ...``), exit 2.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import os
import select
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType

from runtime.errors import ExitCode, PhistackError

Handler = Callable[[argparse.Namespace], int]

# The reader of stdout went away (`phistack audit verify LOG | head -1`): exit as a Unix filter killed by SIGPIPE
# would, 128 + 13, so `set -o pipefail` scripts see the output was cut short, but quietly: no traceback.
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE


class Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line and exit code 2 (its default, kept explicit)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # A subcommand's prog is "phistack evidence"; errors carry the program's name only.
        self.exit(ExitCode.USAGE, f"{self.prog.split()[0]}: error: {message}\n")


def _add_verbose(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="show details behind an error"
    )


def subparsers_of(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every subcommand parser below ``parser``, depth first, with its full command (``phistack audit verify``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
                yield sub.prog, sub
                yield from subparsers_of(sub)


def command_named(argv: Sequence[str], commands: ModuleType) -> str | None:
    """The subcommand a command line names: its first word that is not an option (the top-level options take
    no value), if it is one of ``commands``."""
    word = next((arg for arg in argv if not arg.startswith("-")), None)
    return word if word in commands.SUMMARIES else None


def build_parser(
    prog: str,
    description: str,
    commands: ModuleType,
    version: str | None = None,
    *,
    argv: Sequence[str] | None = None,
) -> Parser:
    """A parser whose subcommands are the modules of ``commands`` (each with ``register(subparsers)``), listed
    in ``commands.SUMMARIES``.

    Without ``argv`` every command module is imported. With it, only the module of the command it names is:
    the others get a placeholder that shows their summary, so ``--help`` and a command's start-up pay for one
    command's imports (a gate check never loads the Pulumi SDK, the key broker or the evidence pack)."""
    parser = Parser(prog=prog, description=description)
    if version is not None:
        parser.add_argument("--version", action="version", version=f"{prog} {version}")
    _add_verbose(parser, False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    subparsers.required = True
    chosen = None if argv is None else command_named(argv, commands)
    for name, summary in commands.SUMMARIES.items():
        if argv is None or name == chosen:
            importlib.import_module(f"{commands.__name__}.{name}").register(subparsers)
        else:
            subparsers.add_parser(name, help=summary, description=summary)
    for _, sub in subparsers_of(parser):
        # SUPPRESS: a subcommand that was not given -v must not reset the flag given before it.
        _add_verbose(sub, argparse.SUPPRESS)
    return parser


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt is for SIGINT, so that every ``finally`` and
    ``with`` on the way out runs: a half-written output (decrypted data included) is removed, not left behind."""


def _raise_terminated(signum: int, _frame: object) -> None:
    raise Terminated(signum)


def _stdout_closed() -> bool:
    """Whether the reader of stdout has gone (a pipe's write end then polls POLLERR)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & select.POLLERR for _, event in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's flush at exit has nowhere to fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _close_event_loops() -> None:
    """Close the event loops a library left behind (the Pulumi SDK sets one on each executor thread its mock
    monitor runs on): collected at exit after their self-pipes, they print ``Exception ignored in
    BaseEventLoop.__del__`` tracebacks. Only at exit, when nothing can still be waiting on them: closing an
    executor thread's loop while the program runs can strand a future the program awaits."""
    if "asyncio" not in sys.modules:
        return
    import asyncio
    import gc

    # type(), not isinstance(): isinstance falls back to obj.__class__, which some lazy module attributes
    # (torch's deprecated aliases) answer with a warning.
    loops = [obj for obj in gc.get_objects() if issubclass(type(obj), asyncio.BaseEventLoop)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for loop in loops:
            if not loop.is_running() and not loop.is_closed():
                loop.close()


# At interpreter exit, not when a command returns: a command run in-process (tests, the deploy wrappers) may
# be followed by more planning on the same threads.
atexit.register(_close_event_loops)


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse, dispatch, and turn a PhistackError into one line on stderr and its exit code; SIGINT and SIGTERM
    end the command cleanly (exit 130 and 143), and so does a closed stdout (exit 141)."""
    try:
        try:
            code = _dispatch(parser, argv)
        except SystemExit as done:  # --help, --version and usage errors print, then exit through here
            sys.stdout.flush()
            # argparse drops a failed write of help or version silently: report it as the cut-off it is.
            if done.code in (0, None) and _stdout_closed():
                _silence_stdout()
                return EXIT_BROKEN_PIPE
            raise
        sys.stdout.flush()  # a closed pipe shows here, while it can still be handled
        return code
    except BrokenPipeError:
        if not _stdout_closed():
            raise
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _one_line_warning(prog: str) -> Callable[..., None]:
    """Warnings (a development KEK, a pinned nonce) as ``prog: warning: ...`` lines, not Python's two-line form
    with a source path and a line of code."""

    def show(message: Warning | str, *_args: object, **_kwargs: object) -> None:
        print(f"{prog}: warning: {message}", file=sys.stderr)

    return show


def _dispatch(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(parser.prog)
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

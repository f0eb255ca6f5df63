"""Command line of the delivery tooling: ``python -m delivery <command>``.

Commands:
  render-preview  Markdown PR comment from ``pulumi preview --json`` output of one or more stacks.
  promote         Copy the image digests stage runs (and verified) into Pulumi.<to>.yaml.
  verify          The live acceptance checklist of a deployed stack (``delivery.verify``).

Exit codes follow the project's convention: 0 ok, 1 refused/failed, 2 bad input. Bad input is
reported as one message on standard error, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from appstack.contract import EXIT_BAD_INPUT, EXIT_OK
from appstack.contract import EXIT_VIOLATION as EXIT_REFUSED


class BadArguments(Exception):
    """A command line the commands cannot run with; the message says what is wrong."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one line (BadArguments), without usage."""

    def error(self, message: str) -> Any:  # argparse's signature returns NoReturn
        raise BadArguments(f"{self.prog}: {message} (see --help)")


def _max_chars(text: str) -> int:
    """--max-chars: a whole number of UTF-8 bytes the comment may take."""
    from delivery.preview import GITHUB_COMMENT_LIMIT, MIN_MAX_CHARS

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not MIN_MAX_CHARS <= value < GITHUB_COMMENT_LIMIT:
        raise argparse.ArgumentTypeError(
            f"expected {MIN_MAX_CHARS:,} to {GITHUB_COMMENT_LIMIT - 1:,} (below GitHub's limit "
            f"of {GITHUB_COMMENT_LIMIT:,}), got {value:,}"
        )
    return value


def _read(path: str) -> bytes:
    """The raw bytes of FILE or standard input; the parser decides whether they are UTF-8."""
    if path == "-":
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


def _preview_sources(args: argparse.Namespace) -> list[tuple[str, str]]:
    """Pair stack names with input files from ``--stack NAME=FILE``/``--stack NAME`` and FILE."""
    from delivery.preview import is_stack_name

    sources: list[tuple[str, str]] = []
    bare: list[str] = []
    for spec in args.stack or []:
        name, sep, path = spec.partition("=")
        if not is_stack_name(name) or (sep and not path):
            raise ValueError(f"--stack expects NAME or NAME=FILE, got {spec!r}")
        if sep:
            sources.append((name, path))
        else:
            bare.append(name)
    if len(bare) > 1:
        raise ValueError("only one --stack NAME (without =FILE) can name the FILE argument")
    if args.file is not None or bare or not sources:
        sources.append((bare[0] if bare else "", args.file or "-"))
    if sum(path == "-" for _, path in sources) > 1:
        raise ValueError("standard input can be read for one stack only")
    return sources


def _render_preview(args: argparse.Namespace) -> int:
    from delivery.preview import PreviewFormatError, StackPreview, parse_preview, render_comment

    try:
        sources = _preview_sources(args)
    except ValueError as exc:
        print(f"render-preview: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    previews: list[StackPreview] = []
    unusable = 0
    for name, path in sources:
        try:
            data = _read(path)
        except OSError as exc:
            print(f"render-preview: cannot read {path}: {exc.strerror}", file=sys.stderr)
            return EXIT_BAD_INPUT
        try:
            previews.append(parse_preview(data, name))
        except PreviewFormatError as exc:
            # Still render: the comment must say that this stack's preview failed.
            unusable += 1
            print(f"render-preview: {name or path}: {exc}", file=sys.stderr)
            previews.append(StackPreview(stack=name or Path(path).stem, error=str(exc)))
    try:
        comment = render_comment(previews, max_chars=args.max_chars)
    except ValueError as exc:
        print(f"render-preview: --max-chars {args.max_chars}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.output:
        try:
            Path(args.output).write_text(comment, encoding="utf-8")
        except OSError as exc:
            print(f"render-preview: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
            return EXIT_BAD_INPUT
    else:
        sys.stdout.write(comment)
    return EXIT_REFUSED if unusable else EXIT_OK


def _promote(args: argparse.Namespace) -> int:
    """Promotion, verifying the source stack with ``delivery verify``'s checks.

    As ``delivery verify --cwd`` does, the checks contact only the address the source stack's
    file in ``--cwd`` declares.
    """
    from delivery.promote import main as promote_main
    from delivery.verify import declared_address, verify_stack

    def verify_source(outputs: Mapping[str, Any]) -> Sequence[Any]:
        host = declared_address(str(outputs.get("environment")), args.cwd)
        return verify_stack(outputs, host=host)

    return promote_main(args, verify_source)


def _verify(argv: Sequence[str]) -> int:
    """Hand the rest of the command line to ``delivery.verify.main``."""
    from delivery.verify import main as verify_main

    return int(verify_main(list(argv)))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command (``verify`` parses its own arguments)."""
    from delivery.preview import DEFAULT_MAX_CHARS

    parser = _Parser(prog="python -m delivery", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    render = commands.add_parser(
        "render-preview",
        help="Markdown PR comment from `pulumi preview --json` output",
        description="Render one or more stacks' `pulumi preview --json` output (the digest, or "
        "engine events with PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true) as one Markdown comment. "
        "Exit 1 when a preview could not be read (its section says so), 2 on bad arguments.",
    )
    render.add_argument(
        "--stack",
        action="append",
        metavar="NAME[=FILE]",
        help="NAME=FILE adds a stack read from FILE (repeatable); a bare NAME names the FILE "
        "argument (default: the stack in the URNs)",
    )
    render.add_argument("file", nargs="?", metavar="FILE", help="preview JSON, '-' for stdin")
    render.add_argument("--output", "-o", metavar="FILE", help="write the comment here")
    render.add_argument(
        "--max-chars",
        type=_max_chars,
        default=DEFAULT_MAX_CHARS,
        help=f"size budget in UTF-8 bytes, below GitHub's 65,536 (default {DEFAULT_MAX_CHARS})",
    )
    render.set_defaults(handler=_render_preview)

    from delivery.promote import add_arguments as add_promote_arguments

    promote = commands.add_parser(
        "promote",
        help="write the image digests stage runs into Pulumi.<to>.yaml",
        description="Copy the exact image references of --from (its `images` output) into "
        "Pulumi.<to>.yaml after checking digests and the source stack's verification. "
        "Exit 0 ok, 1 refused, 2 bad input.",
    )
    add_promote_arguments(promote)
    promote.set_defaults(handler=_promote)

    # Listed for --help only: main() hands `verify ...` to delivery.verify.main unparsed.
    commands.add_parser("verify", help="live acceptance checklist of a deployed stack")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "verify":
        return _verify(argv[1:])
    try:
        args = build_parser().parse_args(argv)
    except BadArguments as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())

"""Shared pieces of the command modules: the one error handler and key options.

Every command is wrapped by `handle_errors`, the one place that turns a
SealedcfgError into `sealedcfg: error: ...` plus its exit code, so typer's test
runner and a real process behave the same.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from sealedcfg import api
from sealedcfg.cli.stdout import OutputError
from sealedcfg.errors import ExitCode, SealedcfgError, Terminated

F = TypeVar("F", bound=Callable[..., Any])


_interrupt_reported = False


def error(message: str, hints: tuple[str, ...] = ()) -> None:
    # Messages name files and paths a repository chose: one line each, no escapes.
    print(f"sealedcfg: error: {api.printable(message)}", file=sys.stderr)
    for hint in hints:
        print(f"hint: {api.printable(hint)}", file=sys.stderr)


def report_interrupt() -> None:
    """Say 'interrupted' once, whoever caught the Ctrl-C (us, typer, or main)."""
    global _interrupt_reported
    if not _interrupt_reported:
        _interrupt_reported = True
        error("interrupted")


def _audited(func: Callable[..., Any], args: Any, kwargs: dict[str, Any]) -> Any:
    """Run a command; if it reveals or changes a secret, log it (lifecycle/audit.py)."""
    op = api.audit_command_op(func.__name__, kwargs)
    if op is None:
        return func(*args, **kwargs)
    api.audit_begin(*op)
    try:
        code = func(*args, **kwargs)
    except BaseException as exc:
        failed = f"exit {int(exc.code)}" if isinstance(exc, SealedcfgError) else "interrupted"
        if isinstance(exc, Exception) and not isinstance(exc, SealedcfgError):
            failed = "error"
        with contextlib.suppress(SealedcfgError):  # the command's own error comes first
            api.audit_finish(failed)
        raise
    api.audit_finish("ok" if not code else f"exit {int(code)}")
    return code


CLOSED_PIPE = 141  # 128 + SIGPIPE: what a shell reports for git killed by `| head`


def closed_pipe() -> int:
    """The reader of stdout went away (`| head`): end quietly, as git does.

    Point stdout at /dev/null and drop what is still buffered there, so that the
    interpreter's final flush cannot fail a second time with a message.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (a test runner)
        pass
    with contextlib.suppress(OSError, ValueError, OutputError):
        sys.stdout.flush()
    return CLOSED_PIPE


def unwritable_stdout(exc: OSError) -> int:
    """Writing the output failed (a full disk): one error line, exit 3 as for any
    file that cannot be written; what is still buffered is dropped."""
    error(f"cannot write the output ({exc.strerror or type(exc).__name__})")
    closed_pipe()  # stdout to /dev/null: the interpreter's last flush cannot fail again
    return int(ExitCode.INPUT)


def output_failed(exc: OutputError) -> int:
    """A write to our stdout failed (cli/stdout.py): the exit code, reported."""
    if isinstance(exc.cause, BrokenPipeError):
        return closed_pipe()
    return unwritable_stdout(exc.cause)


def safe_streams() -> None:
    """Text that cannot be encoded (a lone surrogate in a YAML key: `"\\ud800"`)
    is printed escaped rather than crashing the command."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")


def handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            code = _audited(func, args, kwargs)
        except SealedcfgError as exc:
            error(exc.message, exc.hints)
            raise typer.Exit(int(exc.code)) from None
        except KeyboardInterrupt:
            report_interrupt()
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Terminated as exc:
            error(f"terminated by signal {exc.signum}; nothing was changed")
            raise typer.Exit(128 + exc.signum) from None
        except OutputError as exc:
            raise typer.Exit(output_failed(exc)) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # a bug: say so, without the message (it may hold data)
            if os.environ.get("SEALEDCFG_DEBUG"):
                raise
            raise bug(exc) from None
        raise typer.Exit(int(code or 0))

    return wrapper  # type: ignore[return-value]


def bug(exc: BaseException) -> typer.Exit:
    """Report an unexpected exception as the bug it is (its type only: the message may
    hold data); the exit to raise (70)."""
    error(
        f"internal error ({type(exc).__name__}); this is a bug in sealedcfg",
        ("rerun with SEALEDCFG_DEBUG=1 to see the traceback",),
    )
    return typer.Exit(int(ExitCode.BUG))


KeyFile = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        "-k",
        help="File holding a base64 key (or SEALEDCFG_KEY_FILE).",
        dir_okay=False,
    ),
]
PassFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file", help="File holding the passphrase (first line).", dir_okay=False
    ),
]
Files = Annotated[list[Path], typer.Argument(help="Profile files.", show_default=False)]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def key_source(key_file: Path | None, passphrase_file: Path | None) -> api.KeySource:
    return api.KeySource(
        key_file=str(key_file) if key_file else None,
        passphrase_file=str(passphrase_file) if passphrase_file else None,
    )


def each(files: list[Path], label: str) -> Iterator[Path]:
    """The files, with a progress bar on stderr when it is a terminal and there are several."""
    if len(files) > 1 and sys.stderr.isatty():
        with typer.progressbar(files, label=label, file=sys.stderr) as bar:
            yield from bar
    else:
        yield from files


def emit_json(data: Any) -> None:
    print(dumps_json(data))


def dumps_json(data: Any) -> str:
    """`json.dumps(data, indent=2)`, dataclasses as dicts and paths as strings,
    byte for byte, several times faster: the standard library encodes indented
    output in pure Python, and `ls --json` of a 250,000-node file took 9 s."""
    import dataclasses
    import json

    encode = json.encoder.encode_basestring_ascii
    out: list[str] = []
    append = out.append
    fields: dict[type, tuple[tuple[str, str], ...]] = {}

    def scalar(v: Any) -> str | None:
        kind = type(v)
        if kind is str:
            return encode(v)
        if v is None:
            return "null"
        if kind is bool:
            return "true" if v else "false"
        if kind is int:
            return int.__repr__(v)
        if not v and (kind is dict or kind is list or kind is tuple):
            return "{}" if kind is dict else "[]"
        return None

    def key(k: Any) -> str:
        if isinstance(k, str):
            return encode(k)
        if k is True or k is False or k is None or isinstance(k, int | float):
            return encode(json.dumps(k))  # what json.dumps makes of a non-string key
        raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")

    def pairs(pad: str, named: list[tuple[str, Any]]) -> None:
        inner = pad + "  "
        sep = "{\n" + inner
        for name, v in named:
            shown = scalar(v)
            if shown is None:
                append(sep + name + ": ")
                value(v, inner)
            else:
                append(sep + name + ": " + shown)
            sep = ",\n" + inner
        append("{}" if sep[0] == "{" else "\n" + pad + "}")

    def value(obj: Any, pad: str) -> None:
        shown = scalar(obj)
        if shown is not None:
            append(shown)
        elif isinstance(obj, str | int | float):  # subclasses, and floats: as json does
            append(json.dumps(obj))
        elif isinstance(obj, dict):
            flat = [scalar(v) for v in obj.values()]
            if not obj or None in flat:
                pairs(pad, [(key(k), v) for k, v in obj.items()])
                return
            inner = pad + "  "
            try:  # string keys (encode refuses others): one join for the whole dict
                members = [f"{encode(k)}: {v}" for k, v in zip(obj, flat, strict=True)]
            except TypeError:
                pairs(pad, [(key(k), v) for k, v in obj.items()])
                return
            append(f"{{\n{inner}" + f",\n{inner}".join(members) + f"\n{pad}}}")
        elif isinstance(obj, list | tuple):
            if not obj:
                append("[]")
                return
            inner = pad + "  "
            sep = "[\n" + inner
            for v in obj:
                shown = scalar(v)
                if shown is None:
                    append(sep)
                    value(v, inner)
                else:
                    append(sep + shown)
                sep = ",\n" + inner
            append("\n" + pad + "]")
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            names = fields.get(type(obj))
            if names is None:
                names = tuple((encode(f.name), f.name) for f in dataclasses.fields(obj))
                fields[type(obj)] = names
            pairs(pad, [(n, getattr(obj, a)) for n, a in names])
        elif isinstance(obj, Path):
            append(encode(str(obj)))
        else:
            raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    value(data, "")
    text = "".join(out)
    out.clear()  # the closures above refer to each other: a cycle, and the collector is off
    return text

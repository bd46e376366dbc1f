"""The audit trail: one JSON line per operation that reveals or changes a secret.

    {"files":[...],"host":"…","op":"get","outcome":"ok","paths":["stripe.api_key"],
     "pid":123,"prev":"<sha256 of the previous line>","time":"2026-11-30T23:04:10Z","user":"…"}

Never a value: files, dotted paths, the operation and its exit status only.

Where: `$XDG_STATE_HOME/sealedcfg/audit.log` (default `~/.local/state/…`), or
SEALEDCFG_AUDIT_LOG=PATH; SEALEDCFG_AUDIT_LOG=off turns it off.  Deliberately
not the rules file: it lives in the repository, and an attacker who could
point the log at a file of the user's choosing (a shell start-up file) or turn
it off would defeat it.

Each append holds an exclusive flock on the log, reads the last line, and
writes the new line with its hash chained to it in one write() on an O_APPEND
descriptor: concurrent processes interleave whole lines, in chain order.  Edits
and removals inside the log break the chain (`audit --verify`); removing lines
at the end does not, so `--verify` prints the head hash to keep elsewhere.

An unwritable log prints a warning and the operation goes on; with
--audit-required (or SEALEDCFG_AUDIT_REQUIRED=1) the log is opened before
any work, and an operation that cannot be logged is refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sealedcfg.errors import InputError

LOG_ENV = "SEALEDCFG_AUDIT_LOG"
REQUIRED_ENV = "SEALEDCFG_AUDIT_REQUIRED"
GENESIS = "0" * 64
_MAX_ITEMS = 64  # files or paths recorded per line; the count of the rest is noted
_MAX_ITEM = 512
_TAIL = 1 << 16

required_flag = False  # set by the CLI's --audit-required (set_required)


class AuditError(InputError):
    """The audit log cannot be written (an error only when auditing is required)."""


def log_path() -> Path | None:
    """The log file, or None when auditing is off."""
    configured = os.environ.get(LOG_ENV)
    if configured is not None and configured.strip():
        if configured.strip().lower() == "off":
            return None
        return Path(os.path.expanduser(configured))
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "sealedcfg" / "audit.log"


def set_required(flag: bool) -> None:
    global required_flag
    required_flag = flag


def is_required() -> bool:
    return required_flag or os.environ.get(REQUIRED_ENV, "") not in ("", "0")


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def _bounded(items: list[str]) -> list[str]:
    out = [i if len(i) <= _MAX_ITEM else i[:_MAX_ITEM] + "…" for i in items[:_MAX_ITEMS]]
    if len(items) > _MAX_ITEMS:
        out.append(f"(+{len(items) - _MAX_ITEMS} more)")
    return out


def _who() -> tuple[str, str]:
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return user, socket.gethostname()


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return os.open(
            path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
    except OSError as exc:
        raise AuditError(
            f"audit log {path}: cannot write ({exc.strerror or type(exc).__name__})",
            hints=(f"set {LOG_ENV} to a writable file, or {LOG_ENV}=off",),
        ) from None


def _last_line(fd: int) -> bytes | None:
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    start = max(0, size - _TAIL)
    tail = os.pread(fd, size - start, start)
    while start > 0 and tail.rstrip(b"\n").count(b"\n") == 0:
        start = max(0, start - _TAIL)
        tail = os.pread(fd, size - start, start)
    body = tail[:-1] if tail.endswith(b"\n") else tail
    return body.rsplit(b"\n", 1)[-1] + (b"\n" if tail.endswith(b"\n") else b"")


def write_line(fd: int, record: dict[str, Any]) -> None:
    """Chain `record` to the log's last line and append it, under an exclusive lock."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        last = _last_line(fd)
        prefix = b""
        if last is None:
            prev = GENESIS
        else:
            prev = line_hash(last)
            if not last.endswith(b"\n"):  # a torn line (a crash): keep it visible
                prefix = b"\n"
        record = {**record, "prev": prev}
        data = prefix + json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def record(op: str, files: list[str], paths: list[str], outcome: str) -> dict[str, Any]:
    user, host = _who()
    return {
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "user": user,
        "host": host,
        "pid": os.getpid(),
        "op": op,
        "files": _bounded(files),
        "paths": _bounded(paths),
        "outcome": outcome,
    }


def append(op: str, files: list[str], paths: list[str], outcome: str) -> None:
    """One line now (a library call, or a command that logs itself); AuditError if it fails."""
    path = log_path()
    if path is None:
        return
    fd = _open(path)
    try:
        write_line(fd, record(op, files, paths, outcome))
    except OSError as exc:
        raise AuditError(f"audit log {path}: cannot write ({exc.strerror})") from None
    finally:
        os.close(fd)


# ---------------------------------------------------------------- one operation


@dataclass
class _Pending:
    op: str
    files: list[str]
    paths: list[str]
    fd: int | None = None  # opened up front when auditing is required
    done: bool = field(default=False)


_current: ContextVar[_Pending | None] = ContextVar("sealedcfg_audit", default=None)


def begin(op: str, files: list[str], paths: list[str]) -> None:
    """Start an audited command; with auditing required, fail now if the log cannot be opened."""
    pending = _Pending(op, files, paths)
    path = log_path()
    if path is not None and is_required():
        pending.fd = _open(path)
    _current.set(pending)


def finish(outcome: str) -> None:
    """Log the command begun with `begin` (once); warn, or raise when required, on failure."""
    pending = _current.get()
    if pending is None or pending.done:
        return
    pending.done = True
    try:
        if pending.fd is not None:
            write_line(pending.fd, record(pending.op, pending.files, pending.paths, outcome))
        else:
            append(pending.op, pending.files, pending.paths, outcome)
    except (AuditError, OSError) as exc:
        message = exc.message if isinstance(exc, AuditError) else f"audit log: {exc.strerror}"
        if is_required():
            raise AuditError(message) from None
        print(f"sealedcfg: warning: {message}; continuing", file=sys.stderr)
    finally:
        if pending.fd is not None:
            os.close(pending.fd)
        _current.set(None)


@contextlib.contextmanager
def library_call(op: str, files: list[str]) -> Iterator[None]:
    """Log a library call (load()) unless a command that logs itself is running."""
    if _current.get() is not None:
        yield
        return
    begin(op, files, ["*"])
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        finish(outcome)


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class Verified:
    ok: bool
    lines: int
    head: str  # hash of the last line: keep it to detect removal of lines at the end
    problem: str | None = None


def verify(path: Path) -> Verified:
    prev = GENESIS
    count = 0
    try:
        fh = open(path, "rb")  # noqa: SIM115 - read line by line below
    except FileNotFoundError:
        raise InputError(f"audit log {path}: no such file") from None
    except OSError as exc:
        raise InputError(f"audit log {path}: cannot read ({exc.strerror})") from None
    with fh:
        for number, raw in enumerate(fh, start=1):
            count = number
            try:
                item = json.loads(raw)
            except ValueError:
                return Verified(False, count, prev, f"line {number} is not a whole JSON record")
            if not isinstance(item, dict) or item.get("prev") != prev:
                return Verified(False, count, prev, f"chain broken at line {number}")
            if not raw.endswith(b"\n"):
                return Verified(False, count, prev, f"line {number} is incomplete")
            prev = line_hash(raw)
    return Verified(True, count, prev)


def read(
    path: Path, *, since: date | None = None, dotted: str | None = None, op: str | None = None
) -> list[dict[str, Any]]:
    out = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise InputError(f"audit log {path}: cannot read ({exc.strerror})") from None
    first = since.isoformat() if since else ""
    for raw in text.splitlines():
        try:
            item = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(item, dict):
            continue
        if first and str(item.get("time", "")) < first:
            continue
        if op and item.get("op") != op:
            continue
        if dotted and dotted not in item.get("paths", []) and "*" not in item.get("paths", []):
            continue
        out.append(item)
    return out


# ---------------------------------------------------------------- commands

_OPS = {
    "decrypt": "decrypt",
    "encrypt": "encrypt",
    "get": "get",
    "set_": "set",
    "unset": "unset",
    "edit": "edit",
    "rotate": "rotate",
    "recipients_add": "recipients add",
    "recipients_remove": "recipients remove",
    "export_command": "export",
    "exec_command": "exec",
    "textconv": "textconv",
    "merge_driver": "merge",
    "diff": "diff --show",
    "meta": "meta",
    "rotate_secret": "rotate-secret",
    "rollback": "rollback",
    "import_": "import",
}


def command_op(func: str, kwargs: dict[str, Any]) -> tuple[str, list[str], list[str]] | None:
    """(operation, files, paths) for a command that reveals or changes a secret; else None."""
    op = _OPS.get(func)
    if op is None or (func == "diff" and not kwargs.get("show")):
        return None
    if func == "meta" and not any(kwargs.get(k) for k in ("provider", "expires", "note", "items")):
        return None  # showing metadata reveals nothing
    if func == "rotate_secret":
        args = [str(a) for a in kwargs.get("args") or []]
        if kwargs.get("expiring") is None and len(args) == 2:
            return op, args[:1], args[1:]
        return op, args, ["*"]
    files = [str(f) for f in kwargs.get("files") or []]
    for name in ("file", "base", "ours", "theirs", "to"):
        if kwargs.get(name) is not None:
            files.append(str(kwargs[name]))
    paths = [str(kwargs["path"])] if kwargs.get("path") else ["*"]
    return op, files, paths

"""The stable Python surface; every CLI command calls exactly one function here."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sealedcfg.base.fileio import is_special, locked, read_bytes, write_atomic, write_stream
from sealedcfg.engine import sealing
from sealedcfg.engine.access import (
    decrypt_bytes,
    new_header,
    open_data_key,
    open_model,
    open_profile,
)
from sealedcfg.engine.keys import NO_KEY_HINTS, KeySource, format_key
from sealedcfg.engine.place import place_of
from sealedcfg.errors import InputError, NoKeyError, OpenError, UsageError
from sealedcfg.format import crypto
from sealedcfg.format.kdf import Argon2Params
from sealedcfg.yamltext import document

if TYPE_CHECKING:
    from sealedcfg.base.secret import Secret
    from sealedcfg.engine.keys import check_passphrase, read_user_file
    from sealedcfg.git import setup as git_setup
    from sealedcfg.lifecycle.audit import LOG_ENV as AUDIT_LOG_ENV
    from sealedcfg.lifecycle.audit import begin as audit_begin
    from sealedcfg.lifecycle.audit import command_op as audit_command_op
    from sealedcfg.lifecycle.audit import finish as audit_finish
    from sealedcfg.lifecycle.audit import log_path as audit_log_path
    from sealedcfg.lifecycle.audit import read as audit_read
    from sealedcfg.lifecycle.audit import set_required as audit_set_required
    from sealedcfg.lifecycle.audit import verify as audit_verify
    from sealedcfg.lifecycle.commands import approve_review
    from sealedcfg.lifecycle.commands import review as approval_review
    from sealedcfg.lifecycle.meta import EXPIRES, parse_date, parse_duration, today
    from sealedcfg.lifecycle.meta import changes_from_options as meta_changes
    from sealedcfg.lifecycle.providers import available_here as providers_available
    from sealedcfg.lifecycle.rotate_secret import expiring, rollback, rotate_secret
    from sealedcfg.lifecycle.rotate_secret import parse_options as provider_options
    from sealedcfg.lifecycle.rotate_secret import targets as rotation_targets
    from sealedcfg.lifecycle.status import Row as StatusRow
    from sealedcfg.lifecycle.status import failing as status_failing
    from sealedcfg.lifecycle.status import parse_fail_on, status
    from sealedcfg.lifecycle.status import summary as status_summary
    from sealedcfg.lifecycle.store import change_meta, versions
    from sealedcfg.lifecycle.store import set_value as set_with_meta
    from sealedcfg.ops.check import FORMATS as CHECK_FORMATS
    from sealedcfg.ops.check import Report as CheckReport
    from sealedcfg.ops.check import import_gitleaks
    from sealedcfg.ops.check import run as check
    from sealedcfg.ops.diffing import diff_files, no_prompt, textconv_file
    from sealedcfg.ops.editor import edit_file
    from sealedcfg.ops.history import key_log
    from sealedcfg.ops.initrepo import init
    from sealedcfg.ops.merge import merge_driver
    from sealedcfg.ops.rotation import (
        add_recipient,
        key_from_file,
        list_recipients,
        rebind,
        remove_recipient,
        rotate,
    )
    from sealedcfg.ops.values import Entry, get, ls, set_value, unset
    from sealedcfg.yamltext.scalars import VALUE_TYPES

# The front door: every command of the CLI calls a function named here.  The
# operations load on first use (start-up time: `sealedcfg --version` imports
# none of them); the TYPE_CHECKING block above gives them their types.
_LAZY: dict[str, tuple[str, str]] = {
    "Secret": ("sealedcfg.base.secret", "Secret"),
    "check_passphrase": ("sealedcfg.engine.keys", "check_passphrase"),
    "read_user_file": ("sealedcfg.engine.keys", "read_user_file"),
    "git_setup": ("sealedcfg.git", "setup"),
    "CHECK_FORMATS": ("sealedcfg.ops.check", "FORMATS"),
    "CheckReport": ("sealedcfg.ops.check", "Report"),
    "check": ("sealedcfg.ops.check", "run"),
    "import_gitleaks": ("sealedcfg.ops.check", "import_gitleaks"),
    "diff_files": ("sealedcfg.ops.diffing", "diff_files"),
    "no_prompt": ("sealedcfg.ops.diffing", "no_prompt"),
    "textconv_file": ("sealedcfg.ops.diffing", "textconv_file"),
    "edit_file": ("sealedcfg.ops.editor", "edit_file"),
    "key_log": ("sealedcfg.ops.history", "key_log"),
    "init": ("sealedcfg.ops.initrepo", "init"),
    "merge_driver": ("sealedcfg.ops.merge", "merge_driver"),
    **{
        name: ("sealedcfg.ops.rotation", name)
        for name in (
            "add_recipient",
            "key_from_file",
            "list_recipients",
            "rebind",
            "remove_recipient",
            "rotate",
        )
    },
    **{
        name: ("sealedcfg.ops.values", name)
        for name in ("Entry", "get", "ls", "set_value", "unset")
    },
    "VALUE_TYPES": ("sealedcfg.yamltext.scalars", "VALUE_TYPES"),
    # the key lifecycle
    "audit_begin": ("sealedcfg.lifecycle.audit", "begin"),
    "audit_command_op": ("sealedcfg.lifecycle.audit", "command_op"),
    "audit_finish": ("sealedcfg.lifecycle.audit", "finish"),
    "audit_log_path": ("sealedcfg.lifecycle.audit", "log_path"),
    "AUDIT_LOG_ENV": ("sealedcfg.lifecycle.audit", "LOG_ENV"),
    "audit_read": ("sealedcfg.lifecycle.audit", "read"),
    "audit_set_required": ("sealedcfg.lifecycle.audit", "set_required"),
    "audit_verify": ("sealedcfg.lifecycle.audit", "verify"),
    "approval_review": ("sealedcfg.lifecycle.commands", "review"),
    "approve_review": ("sealedcfg.lifecycle.commands", "approve_review"),
    "EXPIRES": ("sealedcfg.lifecycle.meta", "EXPIRES"),
    "meta_changes": ("sealedcfg.lifecycle.meta", "changes_from_options"),
    "parse_date": ("sealedcfg.lifecycle.meta", "parse_date"),
    "parse_duration": ("sealedcfg.lifecycle.meta", "parse_duration"),
    "today": ("sealedcfg.lifecycle.meta", "today"),
    "providers_available": ("sealedcfg.lifecycle.providers", "available_here"),
    "expiring": ("sealedcfg.lifecycle.rotate_secret", "expiring"),
    "rollback": ("sealedcfg.lifecycle.rotate_secret", "rollback"),
    "rotate_secret": ("sealedcfg.lifecycle.rotate_secret", "rotate_secret"),
    "provider_options": ("sealedcfg.lifecycle.rotate_secret", "parse_options"),
    "rotation_targets": ("sealedcfg.lifecycle.rotate_secret", "targets"),
    "StatusRow": ("sealedcfg.lifecycle.status", "Row"),
    "parse_fail_on": ("sealedcfg.lifecycle.status", "parse_fail_on"),
    "status": ("sealedcfg.lifecycle.status", "status"),
    "status_failing": ("sealedcfg.lifecycle.status", "failing"),
    "status_summary": ("sealedcfg.lifecycle.status", "summary"),
    "change_meta": ("sealedcfg.lifecycle.store", "change_meta"),
    "set_with_meta": ("sealedcfg.lifecycle.store", "set_value"),
    "versions": ("sealedcfg.lifecycle.store", "versions"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(name) from None
    import importlib

    return getattr(importlib.import_module(module), attr)


__all__ = [
    "AUDIT_LOG_ENV",
    "CHECK_FORMATS",
    "EXPIRES",
    "VALUE_TYPES",
    "Argon2Params",
    "CheckReport",
    "EncryptResult",
    "Entry",
    "KeySource",
    "Secret",
    "StatusRow",
    "VerifyResult",
    "add_recipient",
    "approval_review",
    "approve_review",
    "audit_begin",
    "audit_command_op",
    "audit_finish",
    "audit_log_path",
    "audit_read",
    "audit_set_required",
    "audit_verify",
    "change_meta",
    "check",
    "check_passphrase",
    "decrypt_bytes",
    "decrypt_file",
    "diff_files",
    "edit_file",
    "encrypt_file",
    "environment",
    "expiring",
    "export_text",
    "get",
    "git_setup",
    "import_gitleaks",
    "init",
    "key_from_file",
    "key_log",
    "keygen",
    "list_recipients",
    "load",
    "load_all",
    "ls",
    "merge_driver",
    "meta_changes",
    "no_prompt",
    "open_data_key",
    "open_model",
    "open_profile",
    "parse_date",
    "parse_duration",
    "parse_fail_on",
    "provider_options",
    "providers_available",
    "read_user_file",
    "rebind",
    "remove_recipient",
    "rollback",
    "rotate",
    "rotate_secret",
    "rotation_targets",
    "set_value",
    "set_with_meta",
    "status",
    "status_failing",
    "status_summary",
    "structure_problems",
    "textconv_file",
    "today",
    "unset",
    "verify_file",
    "versions",
]


@dataclass(frozen=True)
class EncryptResult:
    path: str
    sealed: int  # values sealed by this run
    created: bool  # the file had no header before
    written: bool
    adopted: list[str] = field(default_factory=list)  # new values of a sealed file, by path


@dataclass(frozen=True)
class VerifyResult:
    path: str
    ok: bool
    problems: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- keys


def keygen() -> str:
    """A new random 256-bit key, base64."""
    return format_key(crypto.random_bytes(crypto.KEY_SIZE))


# ---------------------------------------------------------------- commands


def encrypt_file(
    path: str | os.PathLike[str],
    keys: KeySource,
    *,
    plain: str | None = None,
    kdf: Argon2Params | None = None,
    adopt: bool = False,
) -> EncryptResult:
    """Seal every plaintext value of `path` in place.

    A new file gets a fresh data key and a header.  In an already sealed file,
    plaintext values at new paths were written by someone, perhaps without a
    key (anyone with write access to the repository can): they are sealed only
    with `adopt`, the caller vouching for them, after the rest of the file has
    been authenticated; otherwise the file is refused, naming them.
    """
    name = str(path)
    with locked(path) as data:
        # A new file is sealed in one stream, holding no parse (sealing.seal_new).
        profile = sealing.read_profile(data, name, place_of(path), keep_nodes=False)
        header = profile.header
        if header is None:
            header, data_key = new_header(profile, keys, plain=plain, kdf=kdf)
            sealed_text, header, count = sealing.seal_new(profile, header, data_key)
            write_atomic(path, profile.to_bytes(sealed_text, header))
            return EncryptResult(name, count, True, True)
        if plain is not None and plain != header.plain:
            raise InputError(
                f"{name}: already sealed with plaintext rule "
                f"{header.plain!r}; --plain cannot change it here"
            )
        rule = sealing.compile_rule(header.plain)
        data_key = open_data_key(header, keys, name)
        nodes = sealing.to_seal(profile, rule)
        if not nodes:  # nothing to seal: still say so only of an authentic file
            try:
                sealing.open_checked(profile, data_key)
            except crypto.AuthError:
                raise OpenError(name) from None
            return EncryptResult(name, 0, False, False)
        adopted = [document.format_path(n.path, profile.body.documents) for n in nodes]
        if not adopt:
            shown = ", ".join(adopted[:10]) + (" …" if len(adopted) > 10 else "")
            raise InputError(
                f"{name}: {len(adopted)} plaintext value(s) in this sealed file were not "
                f"sealed by a key holder: {shown}",
                hints=(
                    f"if you added them, seal them: sealedcfg encrypt --adopt {name}",
                    "to add a value to a sealed file: sealedcfg set, or sealedcfg edit",
                ),
            )
        # Everything but the new plaintext values must be what was sealed.
        new = sealing.new_only_paths(profile.body, {n.path for n in nodes})
        try:
            plain_body = sealing.open_checked(profile, data_key, new).body
        except crypto.AuthError:
            raise OpenError(name) from None
        new_body = sealing.seal_nodes(profile, data_key, header.file_id, nodes)
        header = sealing.finish_header(header, data_key, plain_body, name, sealed=new_body)
        write_atomic(path, profile.to_bytes(new_body.text, header))
    return EncryptResult(name, len(nodes), False, True, adopted)


def decrypt_file(
    path: str | os.PathLike[str],
    keys: KeySource,
    *,
    output: str | os.PathLike[str] | None = None,
    in_place: bool = False,
) -> bytes:
    """Open `path`; write the plaintext to `output` or back in place; return it."""
    name = str(path)
    if in_place:
        with locked(path) as data:
            plain = decrypt_bytes(data, keys, name, place_of(path))
            write_atomic(path, plain, mode=0o600)  # plaintext now: the user's only
        return plain
    plain = decrypt_bytes(read_bytes(path), keys, name, place_of(path))
    if output is not None:
        write_plain(output, plain)
    return plain


def verify_file(
    path: str | os.PathLike[str], keys: KeySource | None, *, decrypt: bool = True
) -> VerifyResult:
    """Check a sealed file: structure always; with `decrypt`, every value and the MAC."""
    name = str(path)
    try:
        data = read_bytes(path)
        profile = sealing.read_profile(data, name, place_of(path))
        if profile.header is None:
            return VerifyResult(name, False, ["not sealed (no sealedcfg header)"])
        problems = structure_problems(profile)
        if problems or not decrypt:
            return VerifyResult(name, not problems, problems)
        assert keys is not None
        open_profile(profile, keys)
    except (InputError, OpenError) as exc:
        return VerifyResult(name, False, [exc.message])
    return VerifyResult(name, True)


def structure_problems(profile: sealing.Profile) -> list[str]:
    """Key-less checks (`sealing.keyless_problems`), at most MAX_PROBLEMS listed."""
    problems: list[str] = []
    more = 0
    for problem in sealing.keyless_problems(profile):
        if len(problems) >= MAX_PROBLEMS:  # a hostile file: count the rest, list none
            more += 1
            continue
        node = problem.node
        where = document.format_path(node.path, profile.body.documents)
        problems.append(f"{where} (line {node.line}): {problem.message}")
    if more:
        problems.append(f"... and {more:,} more problem(s)")
    return problems


MAX_PROBLEMS = 100  # listed per file by verify


def load_all(
    path: str | os.PathLike[str],
    *,
    passphrase: str | None = None,
    key: str | bytes | None = None,
    keys: KeySource | None = None,
    text_keys: bool = False,
) -> list[Any]:
    """Every document of a sealed file, with typed values (YAML 1.2 unless declared).

    Values are built from the same parse that authenticated the file
    (`sealedcfg.yamltext.model`), so every reader sees exactly what was sealed.
    `text_keys` keeps mapping keys as written (`0x10`, not 16).
    """
    from sealedcfg.lifecycle import audit

    with audit.library_call("load", [str(path)]):
        docs = open_model(path, keys or _keys(passphrase, key), text_keys=text_keys)[1].documents
    for doc in docs:  # kept history is the file's, not the application's (FORMAT.md §9.2)
        if isinstance(doc, dict):
            doc.pop(sealing.HISTORY_KEY, None)
    return docs


def environment(
    files: list[Path], keys: KeySource, prefix: str = "", doc: int | None = None
) -> dict[str, str]:
    """Every file's values as variables (`exec`), later files overriding earlier ones."""
    from sealedcfg.ops import export

    export.check_prefix(prefix)
    out: dict[str, str] = {}
    for path in files:
        docs = load_all(path, keys=keys, text_keys=True)
        chosen, index = export.pick(docs, doc, str(path))
        out.update(export.flatten(chosen, prefix=prefix, index=index, documents=len(docs)))
    return out


def export_text(
    file: Path, fmt: str, keys: KeySource, prefix: str = "", doc: int | None = None
) -> str:
    """`export`: FILE's values as dotenv, shell or JSON text."""
    from sealedcfg.ops import export

    if fmt not in export.FORMATS:
        raise UsageError(f"unknown format {fmt!r} ({', '.join(export.FORMATS)})")
    if fmt == "json":
        import json

        docs = load_all(file, keys=keys, text_keys=True)
        chosen = docs if doc is None else export.pick(docs, doc, str(file))[0]
        return json.dumps(export.jsonable(chosen), indent=2) + "\n"
    env = environment([file], keys, prefix, doc)
    return export.dotenv(env) if fmt == "dotenv" else export.shell(env)


def _keys(passphrase: str | None, key: str | bytes | None) -> KeySource:
    return KeySource(
        passphrase=passphrase, key=key, prompt=None if sys.stdin.isatty() else _no_prompt
    )


def load(
    path: str | os.PathLike[str],
    *,
    passphrase: str | None = None,
    key: str | bytes | None = None,
    keys: KeySource | None = None,
) -> dict[str, Any]:
    """The decrypted mapping of a single-document sealed profile."""
    docs = load_all(path, passphrase=passphrase, key=key, keys=keys)
    if len(docs) != 1:
        raise InputError(f"{path}: holds {len(docs)} documents; use load_all()")
    doc = docs[0]
    return doc if isinstance(doc, dict) else {}


def _no_prompt(_: str) -> str:
    raise NoKeyError("no key or passphrase available", hints=NO_KEY_HINTS)


# ---------------------------------------------------------------- small writers


def write_key_file(path: str | os.PathLike[str], key: str) -> Path:
    """Create a 0600 key file (`<key id>.key` when PATH is a directory); never overwrite
    one, never write inside a git working tree.  Returns the file written."""
    from sealedcfg.base.encoding import b64e
    from sealedcfg.engine.keys import key_dir, parse_key, refuse_in_worktree
    from sealedcfg.format import envelope

    kid = b64e(envelope.key_id(parse_key(key, "the new key")))
    given = Path(path)
    is_key_dir = given.resolve() == key_dir().resolve()  # created on first use
    target = given / f"{kid}.key" if is_key_dir or given.is_dir() else given
    refuse_in_worktree(target, "key file")
    if is_key_dir:
        given.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise InputError(f"{target}: already exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise InputError(f"{target}: cannot create ({exc.strerror})") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(f"# sealedcfg key {kid}: keep it out of version control\n" + key + "\n")
    return target


STDOUT_NAMES = ("-", "/dev/stdout")  # the only links `-o` follows


def write_plain(path: str | os.PathLike[str], data: bytes) -> None:
    """Plaintext where the user asked, readable by the user only.

    A regular file is replaced atomically with mode 0600, whatever mode an
    existing file had.  A symbolic link is refused whatever it points to (a
    file, a FIFO, a device, nothing): plaintext goes where it is named, not
    where a link planted in the repository sends it.  A FIFO or device is
    written to only when named directly; `-` and `/dev/stdout` are stdout.
    """
    name = os.fspath(path)
    if name in STDOUT_NAMES:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    out = Path(name)
    if out.is_symlink():
        raise InputError(
            f"{out}: is a symbolic link; refusing to write plaintext through it",
            hints=("name the target itself, or use -o - for stdout",),
        )
    if is_special(out):
        write_stream(out, data)
        return
    write_atomic(out, data, mode=0o600)

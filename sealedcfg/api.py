"""The stable Python surface; every CLI command calls exactly one function here."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sealedcfg.base import fileformat
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
    from sealedcfg.base.display import printable
    from sealedcfg.base.secret import Secret
    from sealedcfg.engine.keys import check_passphrase, read_user_file
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
    from sealedcfg.ops.gitsetup import setup as git_setup
    from sealedcfg.ops.history import key_log
    from sealedcfg.ops.importing.run import ImportResult, import_file
    from sealedcfg.ops.importing.sopskeys import SopsKeys
    from sealedcfg.ops.initrepo import init
    from sealedcfg.ops.merge import merge_driver
    from sealedcfg.ops.remac import remac as git_remac
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
    "printable": ("sealedcfg.base.display", "printable"),
    "check_passphrase": ("sealedcfg.engine.keys", "check_passphrase"),
    "read_user_file": ("sealedcfg.engine.keys", "read_user_file"),
    "git_setup": ("sealedcfg.ops.gitsetup", "setup"),
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
    "ImportResult": ("sealedcfg.ops.importing.run", "ImportResult"),
    "import_file": ("sealedcfg.ops.importing.run", "import_file"),
    "SopsKeys": ("sealedcfg.ops.importing.sopskeys", "SopsKeys"),
    "git_remac": ("sealedcfg.ops.remac", "remac"),
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
    "ImportResult",
    "KeySource",
    "Secret",
    "SopsKeys",
    "StatusRow",
    "VerifyResult",
    "add_recipient",
    "age_keygen",
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
    "default_age_identity_file",
    "diff_files",
    "edit_file",
    "encrypt_file",
    "expiring",
    "format_recipients",
    "get",
    "git_remac",
    "git_setup",
    "import_file",
    "import_gitleaks",
    "init",
    "key_from_file",
    "key_id_of",
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
    "printable",
    "provider_options",
    "providers_available",
    "read_user_file",
    "rebind",
    "recipient_lines",
    "recipient_target",
    "recipients_listing",
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
    "updatekeys",
    "verify_file",
    "versions",
    "write_age_identity",
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


def key_id_of(key: str) -> str:
    """The id of a raw key (base64), as headers and the rules file name it."""
    from sealedcfg.base.encoding import b64e
    from sealedcfg.engine.keys import parse_key
    from sealedcfg.recipients.key import key_id

    return b64e(key_id(parse_key(key, "the key")))


def default_age_identity_file() -> Path:
    """Where age identities are found when SEALEDCFG_AGE_KEY(_FILE) is not set."""
    from sealedcfg.engine.keys import age_identity_file

    return age_identity_file()


def age_keygen() -> tuple[str, str]:
    """A new age X25519 identity: (identity file text as age-keygen writes it, public key)."""
    import datetime

    import pyrage

    identity = pyrage.x25519.Identity.generate()
    public = str(identity.to_public())
    created = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
    text = f"# created: {created}\n# public key: {public}\n{identity}\n"
    return text, public


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
        try:
            # A new file is sealed in one stream, holding no parse (sealing.seal_new).
            profile = sealing.read_profile(data, name, place_of(path), keep_nodes=False)
        except InputError:
            fileformat.refuse_unsealable(name)  # a .env is no YAML: say why, not how
            raise
        header = profile.header
        if header is None:
            header, data_key = new_header(profile, keys, plain=plain, kdf=kdf)
            sealed, header, count = sealing.seal_new(profile, header, data_key)
            write_atomic(path, sealed)
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
            sealing.open_checked(profile, data_key, new)
        except crypto.AuthError:
            raise OpenError(name) from None
        count = len(nodes)
        sealed_text, header = sealing.seal_adopted(profile, data_key, nodes)
        write_atomic(path, profile.to_bytes(sealed_text, header))
    return EncryptResult(name, count, False, True, adopted)


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
    path: str | os.PathLike[str] | None = None,
    *,
    profile: str | None = None,
    passphrase: str | None = None,
    key: str | bytes | None = None,
    keys: KeySource | None = None,
    text_keys: bool = False,
) -> list[Any]:
    """Every document of a sealed file, with typed values (YAML 1.2 unless declared).

    Values are built from the same parse that authenticated the file
    (`sealedcfg.yamltext.model`), so every reader sees exactly what was sealed.
    `profile` names the file through the rules file (`profiles: {dir: ...}`)
    instead of `path`.  A profile that declares `extends: base` gives one
    document: its chain deep-merged, the later profile winning (ops/layering.py).
    `text_keys` keeps mapping keys as written (`0x10`, not 16).
    """
    from sealedcfg.lifecycle import audit
    from sealedcfg.ops import layering

    target = resolve_file(path, profile)
    with audit.library_call("load", [str(target)]):
        view = layering.open_view(target, keys or _keys(passphrase, key), text_keys=text_keys)
    return view.documents


def resolve_file(path: str | os.PathLike[str] | None, profile: str | None) -> Path:
    """The file named by PATH or by PROFILE (exactly one of them)."""
    if (path is None) == (profile is None):
        raise UsageError("give a file or a profile name (exactly one)")
    if profile is not None:
        from sealedcfg.engine import profiles

        return profiles.resolve(profile)
    return Path(path)  # type: ignore[arg-type]


def resolved(path: str | os.PathLike[str], keys: KeySource) -> list[Any]:
    """`ls --resolved`: each key of the merged view and the file it comes from."""
    from sealedcfg.ops import layering

    return layering.origins(layering.open_view(path, keys, text_keys=True))


def profile_path(name: str) -> Path:
    """`--profile NAME` (or SEALEDCFG_PROFILE): the profile's file, via the rules file."""
    from sealedcfg.engine import profiles

    return profiles.resolve(name)


def _keys(passphrase: str | None, key: str | bytes | None) -> KeySource:
    return KeySource(
        passphrase=passphrase, key=key, prompt=None if sys.stdin.isatty() else _no_prompt
    )


def load(
    path: str | os.PathLike[str] | None = None,
    *,
    profile: str | None = None,
    passphrase: str | None = None,
    key: str | bytes | None = None,
    keys: KeySource | None = None,
) -> dict[str, Any]:
    """The decrypted mapping of a single-document sealed profile (merged with every
    profile it extends): `load("config/prod.yaml")` or `load(profile="prod")`."""
    docs = load_all(path, profile=profile, passphrase=passphrase, key=key, keys=keys)
    if len(docs) != 1:
        raise InputError(f"{path}: holds {len(docs)} documents; use load_all()")
    doc = docs[0]
    return doc if isinstance(doc, dict) else {}


# ---------------------------------------------------------------- deploy time


@dataclass(frozen=True)
class Exported:
    text: str | None  # what to print (None: written to the output file)
    masks: str = ""  # `::add-mask::` lines for stdout (github --mask)


def export_view(
    files: Sequence[str | os.PathLike[str]],
    keys: KeySource,
    *,
    doc: int | None = None,
    only: Sequence[str] = (),
) -> Any:
    """Several files (each with the profiles it extends) as one mapping, later ones
    winning key by key; then only the subtrees at ONLY.  Keys as written."""
    from sealedcfg.ops import export, layering

    chosen = []
    for path in files:
        docs = layering.open_view(path, keys, text_keys=True).documents
        chosen.append(export.pick(docs, doc, str(path))[0])
    merged = layering.merge_all([{} if d is None else d for d in chosen])
    if merged is not None and not isinstance(merged, dict):
        raise InputError("the chosen document is not a mapping; it cannot become variables")
    return export.select(merged if merged is not None else {}, list(only))


def export(
    files: Sequence[str | os.PathLike[str]],
    keys: KeySource,
    *,
    fmt: str = "dotenv",
    prefix: str = "",
    doc: int | None = None,
    only: Sequence[str] = (),
    output: str | os.PathLike[str] | None = None,
    mask: bool = False,
) -> Exported:
    """The decrypted values of FILES in FMT (ops/export.py), printed or written 0600."""
    from sealedcfg.ops import export as formats

    formats.check_format(fmt)
    formats.check_prefix(prefix)
    if mask and fmt != "github":
        raise UsageError("--mask is for --format github")
    if mask and output is None:
        raise UsageError(
            '--mask needs -o "$GITHUB_ENV": the mask commands go to stdout, the '
            "variables to the file"
        )
    view = export_view(files, keys, doc=doc, only=only)
    text = formats.render(fmt, view, prefix)
    masks = formats.masks(formats.flatten(view, prefix=prefix)) if mask else ""
    if output is None:
        return Exported(text, masks)
    if fmt == "github":
        append_plain(output, text.encode("utf-8"))
    else:
        write_plain(output, text.encode("utf-8"))
    return Exported(None, masks)


def exec_command(
    argv: list[str],
    files: Sequence[str | os.PathLike[str]],
    keys: KeySource,
    *,
    prefix: str = "",
    doc: int | None = None,
    only: Sequence[str] = (),
    no_override: bool = False,
    pristine: bool = False,
    file_value: str | None = None,
    fifo: bool = False,
) -> int:
    """Run ARGV with the values of FILES in its environment (ops/execution.py)."""
    from sealedcfg.lifecycle import audit
    from sealedcfg.ops import execution
    from sealedcfg.ops import export as formats

    if not argv:
        raise UsageError("no command after --")
    formats.check_prefix(prefix)
    whole = export_view(files, keys, doc=doc)
    added = formats.flatten(formats.select(whole, list(only)), prefix=prefix)
    env = execution.child_environment(os.environ, added, no_override=no_override, pristine=pristine)
    if file_value is None:
        execution.find_command(argv, env)
        audit.finish("ok")  # the values are handed over now; exec never returns
        return execution.replace_process(argv, env)
    content = file_content(whole, file_value)
    execution.with_placeholder(argv, "")
    audit.finish("ok")
    return execution.run_with_file(argv, env, content, fifo=fifo)


def file_content(view: Any, dotted: str) -> bytes:
    """`exec --file PATH`: a scalar's text, a subtree (or `.`, everything) as YAML."""
    from sealedcfg.ops import export as formats
    from sealedcfg.ops import layering
    from sealedcfg.yamltext import paths

    if dotted == ".":
        value = view
    else:
        index, parts = paths.split(dotted)
        if index is not None:  # `0:` too: the document is chosen by --doc
            raise InputError(f"--file {dotted!r}: give a path without a document index")
        value = layering.lookup(view, parts, dotted)
    if isinstance(value, dict | list):
        return formats.yaml_text(value).encode("utf-8")
    text = formats.text(value)
    return (text if text is not None else str(value)).encode("utf-8")


def _no_prompt(_: str) -> str:
    raise NoKeyError("no key or passphrase available", hints=NO_KEY_HINTS)


# ---------------------------------------------------------------- recipients


def recipients_listing(
    files: Sequence[str | os.PathLike[str]],
) -> dict[str, list[dict[str, Any]]]:
    """Each file's recipients (kind, id, Argon2id parameters, label), no key needed."""
    from dataclasses import asdict

    from sealedcfg.ops import rotation

    return {str(f): [asdict(r) for r in rotation.list_recipients(f)] for f in files}


def recipient_lines(path: str | os.PathLike[str]) -> list[str]:
    """Who can open PATH, one line each with its label (`ls`); [] for an unsealed file."""
    from sealedcfg.ops.values import header_of
    from sealedcfg.recipients import table

    header = header_of(path)
    if header is None:
        return []
    return [f"recipient {r.describe()}" for r in table.recipients(header)]


def format_recipients(listing: dict[str, list[dict[str, Any]]]) -> str:
    """`recipients list` as text: one line per recipient, its label last."""
    from sealedcfg.recipients.base import quote_label

    lines = []
    for name, items in listing.items():
        lines.append(f"{name}:")
        for r in items:
            label = f"  {quote_label(r['label'])}" if r.get("label") is not None else ""
            lines.append(f"  {r['type']:<10} {r['id'] or r['argon2']}{label}")
    return "".join(line + "\n" for line in lines)


def recipient_target(*, age: str | None, kms: str | None, label: str | None) -> Any:
    """The recipient `recipients add` names by public key (--age, --kms), as a
    recipients.base.Target; None when a key file or passphrase is added instead."""
    from sealedcfg.errors import UsageError
    from sealedcfg.recipients import table
    from sealedcfg.recipients.base import LABEL

    if label is not None and not LABEL.fullmatch(label):
        raise UsageError("--label must be a short name (letters, digits, . _ @ -, up to 64)")
    named = [(kind, ident) for kind, ident in (("age", age), ("kms", kms)) if ident is not None]
    if len(named) > 1:
        raise UsageError("give one new recipient at a time")
    if not named:
        return None
    kind, ident = named[0]
    return table.kind(kind, "recipient").parse_target(ident, label, f"--{kind}")


def updatekeys(
    files: Sequence[str | os.PathLike[str]],
    keys: KeySource,
    *,
    confirm: Any,
    show: Any,
) -> list[Any]:
    """Make each file's recipients equal to its creation rule's (ops.updatekeys):
    every change shown through SHOW, written once CONFIRM(question) says yes
    (CONFIRM None: confirmed already, --yes).  Returns the changes written."""
    from sealedcfg.ops import updatekeys as update

    return update.updatekeys(files, keys, confirm=confirm, show=show)


# ---------------------------------------------------------------- small writers


def write_key_file(path: str | os.PathLike[str], key: str) -> Path:
    """Create a 0600 key file; never overwrite one, never write inside a git working
    tree.  In the key directory (PATH is it, or a file in it) the file is named
    `<key id>.key`, as lookups by id expect; elsewhere, PATH or PATH/<key id>.key
    for a directory.  Returns the file written."""
    from sealedcfg.engine.keys import key_dir

    kid = key_id_of(key)
    given = Path(path)
    keys = key_dir().resolve()
    in_key_dir = given.resolve() == keys or (given.resolve().parent == keys and not given.is_dir())
    if in_key_dir:
        target = keys / f"{kid}.key"
    else:
        target = given / f"{kid}.key" if given.is_dir() else given
    header = f"# sealedcfg key {kid}: keep it out of version control\n"
    return _write_secret_file(target, header + key + "\n", mkdir=keys if in_key_dir else None)


def write_age_identity(path: str | os.PathLike[str], text: str) -> Path:
    """Create a 0600 age identity file (never over another, never in a repository)."""
    given = Path(path)
    return _write_secret_file(given, text, mkdir=given.parent)


def _write_secret_file(target: Path, text: str, mkdir: Path | None) -> Path:
    from sealedcfg.engine.keys import refuse_in_worktree

    refuse_in_worktree(target, "key file")
    if mkdir is not None:
        mkdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise InputError(f"{target}: already exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise InputError(f"{target}: cannot create ({exc.strerror})") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text)
    return target


STDOUT_NAMES = ("-", "/dev/stdout")  # the only links `-o` follows


def append_plain(path: str | os.PathLike[str], data: bytes) -> None:
    """Append to PATH (a file such as $GITHUB_ENV that others append to), created
    0600 if missing; a symbolic link is refused as by write_plain."""
    name = os.fspath(path)
    if name in STDOUT_NAMES:
        write_plain(name, data)
        return
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
    try:
        fd = os.open(name, flags, 0o600)
    except OSError as exc:
        if Path(name).is_symlink():
            raise InputError(
                f"{name}: is a symbolic link; refusing to write plaintext through it"
            ) from None
        raise InputError(f"{name}: cannot write ({exc.strerror})") from None
    with os.fdopen(fd, "ab") as fh:
        fh.write(data)


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

"""From key sources to a file's data key, and recipients for new files.

Keys come only from the user's own sources (keys.py): what was given, then
the user's key directory, looked up by the recipient ids in the file's header.

Creation rules (`.sealedcfg.yaml`) say which recipients and plaintext rule a
new file gets, as sops' creation_rules do: a matching rule's recipients are
used (the keys it names *by id* must be available from those same sources), and
an explicit `--plain` wins over the rule's.  Without a matching rule, the keys
given are the recipients.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sealedcfg.base import fileformat
from sealedcfg.base.fileio import locked, read_bytes
from sealedcfg.engine import sealing
from sealedcfg.engine.keys import NO_KEY_HINTS, KeySource
from sealedcfg.engine.place import place_of
from sealedcfg.errors import InputError, NoKeyError, OpenError, SealedcfgError
from sealedcfg.format import crypto, envelope, kdf
from sealedcfg.format.envelope import Header
from sealedcfg.format.kdf import Argon2Params
from sealedcfg.recipients import table
from sealedcfg.recipients.base import Attempt, Options, Recipient
from sealedcfg.recipients.passphrase import PassphraseRecipient
from sealedcfg.recipients.passphrase import unwrap as unwrap_passphrase
from sealedcfg.yamltext import model
from sealedcfg.yamltext.expansion import check_alias_expansion

if TYPE_CHECKING:  # creation rules are read only when a file needs them
    from sealedcfg.engine import rules


def open_data_key(header: Header, keys: KeySource, name: str) -> bytes:
    """Unwrap the data key with whatever the user provided; check the commitment.

    Each recipient kind in turn (recipients.table: raw keys, age identities,
    KMS, then a passphrase), each trying only the user's own keys.  Every
    failure to authenticate is the one OpenError; its hints name the recipients
    the file accepts and the ids tried, public data only.
    """
    try:
        attempt = table.open_any(header, keys)
        if attempt.data_key is None:
            raise _no_key(header, attempt, name)
        envelope.check_commitment(attempt.data_key, header)
        if attempt.writer_unknown and keys.env.get(AGE_WRITERS_ENV, "") != "any":
            raise _writer_unknown(name)
        return attempt.data_key
    except crypto.AuthError:
        raise OpenError(name) from None


#: Opt-in to sops' trust for age: a file opened only with an age identity may have
#: been written by anyone who knows the public key (it is in every such file).
AGE_WRITERS_ENV = "SEALEDCFG_AGE_WRITERS"


def _writer_unknown(name: str) -> SealedcfgError:
    return NoKeyError(
        f"no key that proves who wrote {name}: it opened only with an age identity, and "
        "anyone who knows the public key could have written it",
        hints=(
            "open it with a raw key, KMS or a passphrase that is also a recipient",
            f"or accept any writer, as sops does: {AGE_WRITERS_ENV}=any (README: Team setup)",
        ),
    )


def _no_key(header: Header, attempt: Attempt, name: str) -> SealedcfgError:
    tried = (
        f"the keys tried have the ids: {', '.join(attempt.tried)}"
        if attempt.tried
        else "no key of yours was found for it"
    )
    if attempt.offered:  # something was given, and it is not one of this file's recipients
        error = OpenError(name)
        error.hints = (f"it opens with: {accepted(header)}", tried)
        return error
    return NoKeyError(
        f"no key to open {name} (it opens with: {accepted(header)})",
        hints=(tried, *_find_hints(header)),
    )


def accepted(header: Header) -> str:
    """The recipients a file accepts, for messages: key ids and KDF parameters, no secret."""
    return table.describe(header)


def _find_hints(header: Header) -> tuple[str, ...]:
    return (*NO_KEY_HINTS, *table.hints(header))


@contextlib.contextmanager
def opened(
    path: str | os.PathLike[str],
    keys: KeySource,
    *,
    check_place: bool = True,
    keep_body: bool = True,
) -> Iterator[tuple[sealing.Profile, bytes, Header]]:
    """Lock a sealed file, read it and authenticate it: (profile, data key, header).

    The lock is held until the block ends, so the caller's write completes a
    read-modify-write no other sealedcfg process can interleave with.  The
    opened text's parse is kept (`Opened.body`): a writer re-seals from it;
    without `keep_body` (a writer that streams: set, edit) it is not built.
    """
    with locked(path) as data:
        yield open_locked(path, data, keys, check_place=check_place, keep_body=keep_body)


def open_locked(
    path: str | os.PathLike[str],
    data: bytes,
    keys: KeySource,
    *,
    check_place: bool = True,
    keep_body: bool = True,
) -> tuple[sealing.Profile, bytes, Header]:
    """`opened` of the bytes a caller read under `base.fileio.locked(path)` (one that
    holds many locks at once, and each file's parse only while it rewrites it)."""
    profile = sealing.read_profile(data, str(path), place_of(path) if check_place else None)
    data_key = authenticate(profile, keys, keep_body=keep_body)
    assert profile.header is not None
    return profile, data_key, profile.header


def with_header(profile: sealing.Profile, header: Header, data_key: bytes) -> bytes:
    """The file's bytes with a new header over an unchanged body (MAC recomputed)."""
    assert profile.opened is not None  # authenticated: its plaintext parse is known
    return profile.to_bytes(
        profile.body.text,
        sealing.finish_header(
            header, data_key, profile.opened.body, profile.name, sealed=profile.body
        ),
    )


def authenticate(profile: sealing.Profile, keys: KeySource, *, keep_body: bool = False) -> bytes:
    """The data key of a sealed profile, after its commitment and MAC held
    (`keep_body`: see `sealing.open_checked`)."""
    header = profile.header
    if header is None:
        raise InputError(
            f"{profile.name}: not a sealed file (no sealedcfg header)",
            hints=(f"seal it with: sealedcfg encrypt {profile.name}",),
        )
    data_key = open_data_key(header, keys, profile.name)
    try:
        sealing.open_checked(profile, data_key, keep_body=keep_body)
    except crypto.AuthError:
        raise OpenError(profile.name) from None
    return data_key


def open_profile(
    profile: sealing.Profile, keys: KeySource, *, keep_body: bool = False
) -> sealing.Opened:
    """Open and authenticate: the plaintext and its parse, which every reader uses."""
    authenticate(profile, keys, keep_body=keep_body)
    assert profile.opened is not None
    return profile.opened


def read_header(data: bytes, name: str) -> Header | None:
    """A file's header alone (None if unsealed), its body not parsed: who can open
    it, and whether we can, before a body of 250,000 nodes is parsed for nothing."""
    _, text = sealing.decode(data, name)
    body_text, header_text = envelope.split(text)
    if header_text is None:
        return None
    return table.parse_header(header_text, name, first_line=body_text.count("\n") + 1)


def decrypt_bytes(
    data: bytes, keys: KeySource, name: str = "<stdin>", place: str | None = None
) -> bytes:
    """The original plaintext bytes of a sealed file's contents.

    `place`: the repository path the file is read as (`place.place_of`); bytes
    from elsewhere (stdin, git's temporary copies) have none to check.
    """
    profile = sealing.read_profile(data, name, place)
    del data  # not needed again: freed before the opening, the largest step
    return profile.to_bytes(open_profile(profile, keys).text, None)


def open_model(
    path: str | os.PathLike[str], keys: KeySource, *, text_keys: bool = False
) -> tuple[sealing.Profile, model.Model]:
    """The sealed file at `path`, opened, authenticated and built as typed values."""
    name = str(path)
    profile = sealing.read_profile(read_bytes(path), name, place_of(path))
    return profile, model_of(profile, keys, text_keys=text_keys)


def model_of(profile: sealing.Profile, keys: KeySource, *, text_keys: bool = False) -> model.Model:
    """A profile already read (`read_profile`), opened, authenticated and built as typed values."""
    opened = open_profile(profile, keys, keep_body=True)  # the model needs the nodes
    check_alias_expansion(opened.body, profile.name)
    return model.build(opened.body, profile.name, text_keys=text_keys)


def new_recipients(
    keys: KeySource,
    data_key: bytes,
    file_id: bytes,
    params: Argon2Params | None,
    rule: tuple[rules.CreationRule, rules.Rules] | None = None,
    *,
    near: str | None = None,
) -> tuple[Recipient, ...]:
    """Recipients of a new file: its creation rule's, else what was given.
    `near`: the file's path, whose sealed neighbours may share a passphrase salt."""
    options = Options(kdf=params)
    if rule is not None and rule[0].recipients:
        targets = list(rule[0].recipients)
    else:
        targets = table.given_targets(keys)
    if not targets:
        raise NoKeyError("no key or passphrase to seal with", hints=NO_KEY_HINTS)
    if near is not None and any(t.kind == PassphraseRecipient.kind for t in targets):
        share_passphrase_salt(near, keys, params or Argon2Params())
    out = []
    for t in targets:
        try:
            out.append(table.kind(t.kind, "recipient").wrap(t, keys, data_key, file_id, options))
        except NoKeyError as exc:
            if rule is None:
                raise
            raise NoKeyError(
                f"the creation rule for {rule[0].source!r} needs {t.kind} {t.ident}, "
                "which is not available",
                hints=exc.hints,
            ) from None
    return tuple(out)


def new_header(
    profile: sealing.Profile,
    keys: KeySource,
    *,
    plain: str | None,
    kdf: Argon2Params | None,
    use_rules: bool = True,
) -> tuple[Header, bytes]:
    """A header (without MAC) and data key for a file being sealed the first time."""
    from sealedcfg.engine import rules

    fileformat.refuse_unsealable(profile.name)  # no silent change of format
    rule = None
    if use_rules:
        ruleset = rules.load(rules.find_rules_file(os.path.dirname(os.path.abspath(profile.name))))
        matched = ruleset.match(profile.name) if ruleset else None
        if matched is not None and ruleset is not None:
            rule = (matched, ruleset)
            if plain is None and matched.plain is not None:
                from sealedcfg.engine import approvals, rules

                rules_file = ruleset.root / rules.RULES_NAME
                approvals.require_plain_rule(
                    rules_file, matched.pattern.source, matched.plain, matched.source
                )
                plain = matched.plain
    sealing.compile_rule(plain)
    for node in profile.body.nodes:
        if sealing.is_token(node):
            raise InputError(
                f"{profile.name}: a sealed value at line {node.line} in a file "
                "without a sealedcfg header"
            )
    data_key = crypto.random_bytes(crypto.KEY_SIZE)
    file_id = crypto.random_bytes(16)
    header = Header(
        file_id=file_id,
        recipients=new_recipients(keys, data_key, file_id, kdf, rule, near=profile.name),
        commit=crypto.key_commitment(data_key, file_id),
        plain=plain,
        join=sealing.new_join(profile.body, profile.newline),
        bind=place_of(profile.name),
    )
    return header, data_key


_NEIGHBOURS = 32  # sealed-looking files read for a salt to share: bounded work


def share_passphrase_salt(name: str, keys: KeySource, params: Argon2Params) -> None:
    """Files sealed at different times for one passphrase share its salt, so that
    opening them together costs one Argon2id derivation (FORMAT.md §5.3).

    The salt of a passphrase stanza in a sealed file beside NAME is taken only
    once our passphrase opens that stanza (`passphrase.unwrap` proves it), never
    because a file in the repository names it.  One stanza is tried at most: a
    file sealed under another passphrase costs one derivation, then a fresh salt.
    """
    if not keys.has_passphrase():
        return  # never a prompt for this
    passphrase = keys.get_passphrase()
    if kdf.reusable_salt(passphrase.reveal(), params) is not None:
        return
    target = os.path.abspath(name)
    try:
        with os.scandir(os.path.dirname(target)) as entries:
            near = [
                e.path
                for _, e in zip(range(_NEIGHBOURS * 8), entries, strict=False)
                if e.name.endswith((".yaml", ".yml")) and e.path != target
            ]
    except OSError:
        return
    # Header text parsed, summed over the neighbours: one hostile header's worth, not
    # 32 (each costs about 0.6 s per 256 KiB of dense YAML); real headers are small.
    budget = _HEADER_TAIL
    for path in sorted(near)[:_NEIGHBOURS]:
        stanza, file_id, spent = _passphrase_stanza(path, params, budget)
        if stanza is not None:
            with contextlib.suppress(crypto.AuthError):
                unwrap_passphrase(passphrase, [stanza], file_id)
            return
        budget -= spent
        if budget <= 0:
            return


_HEADER_TAIL = 256 << 10  # a header is at a file's end; 64 recipients fit with room


def _passphrase_stanza(
    path: str, params: Argon2Params, budget: int = _HEADER_TAIL
) -> tuple[Recipient | None, bytes, int]:
    """The first passphrase stanza with PARAMS in the sealed file at PATH (a regular
    file, not a link), the file's id, and the characters parsed: its header alone,
    read from its last BUDGET bytes."""
    spent = 0
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return None, b"", 0
            start = max(0, info.st_size - min(budget, _HEADER_TAIL))
            tail = os.pread(fd, info.st_size - start, start)
        finally:
            os.close(fd)
        at = tail.rfind(b"\nsealedcfg:")
        if at < 0 or not envelope.is_sealed(tail[at:]):
            return None, b"", 0
        spent = len(tail) - at
        header = table.parse_header(tail[at + 1 :].decode("utf-8"), path)
    except (OSError, UnicodeDecodeError, SealedcfgError):
        return None, b"", spent
    for r in table.recipients(header):
        if isinstance(r, PassphraseRecipient) and r.params == params:
            return r, header.file_id, spent
    return None, b"", spent


def seal_new_text(
    name: str, text: str, keys: KeySource, *, kdf: Argon2Params | None = None
) -> bytes:
    """A new sealed file from plaintext YAML (recipients and rule from creation rules)."""
    profile = sealing.Profile(name, False, sealing.unsealed_outline(text, name), None, "\n")
    header, data_key = new_header(profile, keys, plain=None, kdf=kdf)
    return sealing.seal_new(profile, header, data_key)[0]

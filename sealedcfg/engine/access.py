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
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from sealedcfg.base.encoding import b64d, b64e
from sealedcfg.base.fileio import locked, read_bytes
from sealedcfg.base.secret import Secret
from sealedcfg.engine import sealing
from sealedcfg.engine.keys import NO_KEY_HINTS, KeySource, dir_keys, key_dir
from sealedcfg.engine.place import place_of
from sealedcfg.errors import InputError, NoKeyError, OpenError
from sealedcfg.format import crypto, envelope
from sealedcfg.format.envelope import Header, Recipient
from sealedcfg.format.kdf import Argon2Params
from sealedcfg.yamltext import model
from sealedcfg.yamltext.expansion import check_alias_expansion

if TYPE_CHECKING:  # creation rules are read only when a file needs them
    from sealedcfg.engine import rules


def open_data_key(header: Header, keys: KeySource, name: str) -> bytes:
    """Unwrap the data key with whatever the user provided; check the commitment.

    Raw keys are tried first (no KDF): those given, then those in the user's
    key directory found by the recipients' ids.  The passphrase only when no
    key opens the file.  Every failure to authenticate is the one OpenError.
    """
    try:
        given = keys.raw_keys()
        data_key = _unwrap_any(given, header)
        if data_key is None:
            data_key = _unwrap_any(keyring_keys(header, name, skip=given), header)
        if data_key is None:
            has_pass = any(r.kind == "passphrase" for r in header.recipients)
            if has_pass and (keys.has_passphrase() or keys.can_prompt()):
                data_key = envelope.unwrap_with_passphrase(keys.get_passphrase(), header)
            elif given:  # a key was given, and it is not one of this file's recipients
                error = OpenError(name)
                error.hints = (
                    f"it opens with: {accepted(header)}",
                    f"the keys given have the ids: {', '.join(_ids(given))}",
                )
                raise error
            else:
                raise NoKeyError(
                    f"no key to open {name} (it opens with: {accepted(header)})",
                    hints=_find_hints(header),
                )
        envelope.check_commitment(data_key, header)
        return data_key
    except crypto.AuthError:
        raise OpenError(name) from None


def accepted(header: Header) -> str:
    """The recipients a file accepts, for messages: key ids and KDF parameters, no secret."""
    return ", ".join(r.describe() for r in header.recipients)


def _ids(raw: list[Secret]) -> list[str]:
    return [b64e(envelope.key_id(k)) for k in raw]


def _find_hints(header: Header) -> tuple[str, ...]:
    kids = [b64e(r.key_id) for r in header.recipients if r.kind == "key"]
    where = (f"or put key {kids[0]} in {key_dir()}/ (found there by its id)",) if kids else ()
    return (*NO_KEY_HINTS, *where)


def _unwrap_any(raw_keys: list[Secret], header: Header) -> bytes | None:
    for raw in raw_keys:
        data_key = envelope.unwrap_with_key(raw, header)
        if data_key is not None:
            return data_key
    return None


def keyring_keys(header: Header, name: str, skip: Sequence[Secret] = ()) -> list[Secret]:
    """Keys found without being given: those in the user's key directory whose id is a
    recipient of the file (and not among SKIP, already tried).

    Nothing the repository names is read: not the rules file's paths, not a key
    file beside the profile.  NAME is the file being opened, for messages.
    """
    del name
    wanted = {r.key_id for r in header.recipients if r.kind == "key"}
    wanted -= {envelope.key_id(k) for k in skip}
    return dir_keys(wanted, envelope.key_id)


@contextlib.contextmanager
def opened(
    path: str | os.PathLike[str], keys: KeySource, *, check_place: bool = True
) -> Iterator[tuple[sealing.Profile, bytes, Header]]:
    """Lock a sealed file, read it and authenticate it: (profile, data key, header).

    The lock is held until the block ends, so the caller's write completes a
    read-modify-write no other sealedcfg process can interleave with.
    """
    with locked(path) as data:
        profile = sealing.read_profile(data, str(path), place_of(path) if check_place else None)
        data_key = authenticate(profile, keys)
        assert profile.header is not None
        yield profile, data_key, profile.header


def with_header(profile: sealing.Profile, header: Header, data_key: bytes) -> bytes:
    """The file's bytes with a new header over an unchanged body (MAC recomputed)."""
    assert profile.opened is not None  # authenticated: its plaintext parse is known
    return profile.to_bytes(
        profile.body.text,
        sealing.finish_header(
            header, data_key, profile.opened.body, profile.name, sealed=profile.body
        ),
    )


def authenticate(profile: sealing.Profile, keys: KeySource) -> bytes:
    """The data key of a sealed profile, after its commitment and MAC held."""
    header = profile.header
    if header is None:
        raise InputError(
            f"{profile.name}: not a sealed file (no sealedcfg header)",
            hints=(f"seal it with: sealedcfg encrypt {profile.name}",),
        )
    data_key = open_data_key(header, keys, profile.name)
    try:
        sealing.open_checked(profile, data_key)
    except crypto.AuthError:
        raise OpenError(profile.name) from None
    return data_key


def open_profile(profile: sealing.Profile, keys: KeySource) -> sealing.Opened:
    """Open and authenticate: the plaintext and its parse, which every reader uses."""
    authenticate(profile, keys)
    assert profile.opened is not None
    return profile.opened


def decrypt_bytes(
    data: bytes, keys: KeySource, name: str = "<stdin>", place: str | None = None
) -> bytes:
    """The original plaintext bytes of a sealed file's contents.

    `place`: the repository path the file is read as (`place.place_of`); bytes
    from elsewhere (stdin, git's temporary copies) have none to check.
    """
    profile = sealing.read_profile(data, name, place)
    return profile.to_bytes(open_profile(profile, keys).text, None)


def open_model(
    path: str | os.PathLike[str], keys: KeySource, *, text_keys: bool = False
) -> tuple[sealing.Profile, model.Model]:
    """The sealed file at `path`, opened, authenticated and built as typed values."""
    name = str(path)
    profile = sealing.read_profile(read_bytes(path), name, place_of(path))
    opened = open_profile(profile, keys)
    check_alias_expansion(opened.body, name)
    return profile, model.build(opened.body, name, text_keys=text_keys)


def _rule_keys(rule: rules.CreationRule, keys: KeySource) -> list[Secret]:
    """The raw keys a creation rule names by id: given ones, else from the key directory."""
    given = {envelope.key_id(k): k for k in keys.raw_keys()}
    wanted = [b64d(r.key_id) for r in rule.recipients if r.key_id is not None]
    missing = {kid for kid in wanted if kid not in given}
    found = {envelope.key_id(k): k for k in dir_keys(missing, envelope.key_id)}
    out = []
    for kid in wanted:
        key = given.get(kid) or found.get(kid)
        if key is None:
            raise NoKeyError(
                f"the creation rule for {rule.source!r} needs key {b64e(kid)}, "
                "which is not available",
                hints=(f"put it in {key_dir()}/ (found there by its id)", *NO_KEY_HINTS),
            )
        out.append(key)
    return out


def new_recipients(
    keys: KeySource,
    data_key: bytes,
    file_id: bytes,
    params: Argon2Params | None,
    rule: tuple[rules.CreationRule, rules.Rules] | None = None,
) -> tuple[Recipient, ...]:
    """Recipients of a new file: from its creation rule, else from what was given."""
    if rule is not None and rule[0].recipients:
        raw = _rule_keys(rule[0], keys)
        want_pass = any(r.passphrase for r in rule[0].recipients)
    else:
        raw = keys.raw_keys()
        want_pass = keys.has_passphrase() or (not raw and keys.can_prompt())
    recipients = [envelope.wrap_for_key(k, data_key, file_id) for k in raw]
    if want_pass:
        passphrase = keys.get_passphrase(confirm=True)
        recipients.append(
            envelope.wrap_for_passphrase(passphrase, data_key, file_id, params or Argon2Params())
        )
    if not recipients:
        raise NoKeyError("no key or passphrase to seal with", hints=NO_KEY_HINTS)
    return tuple(recipients)


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
        recipients=new_recipients(keys, data_key, file_id, kdf, rule),
        commit=crypto.key_commitment(data_key, file_id),
        plain=plain,
        join=sealing.new_join(profile.body, profile.newline),
        bind=place_of(profile.name),
    )
    return header, data_key


def seal_new_text(
    name: str, text: str, keys: KeySource, *, kdf: Argon2Params | None = None
) -> bytes:
    """A new sealed file from plaintext YAML (recipients and rule from creation rules)."""
    profile = sealing.Profile(name, False, sealing.unsealed_outline(text, name), None, "\n")
    header, data_key = new_header(profile, keys, plain=None, kdf=kdf)
    sealed_text, final, _ = sealing.seal_new(profile, header, data_key)
    return profile.to_bytes(sealed_text, final)

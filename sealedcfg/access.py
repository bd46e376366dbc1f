"""From key sources to a file's data key, and recipients for new files.

Creation rules (`.sealedcfg.yaml`) say which recipients and plaintext rule a
new file gets, as sops' creation_rules do: a matching rule's recipients are
used (the keys it names must be available), and an explicit `--plain` wins
over the rule's.  Without a matching rule, the keys given are the recipients.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sealedcfg import crypto, document, envelope, sealing
from sealedcfg.encoding import b64e
from sealedcfg.envelope import Header, Recipient
from sealedcfg.errors import InputError, NoKeyError, OpenError
from sealedcfg.fileio import locked
from sealedcfg.kdf import Argon2Params
from sealedcfg.keys import NO_KEY_HINTS, KeySource, Secret, parse_key
from sealedcfg.place import place_of

if TYPE_CHECKING:  # creation rules are read only when a file needs them
    from sealedcfg import rules


def open_data_key(header: Header, keys: KeySource, name: str) -> bytes:
    """Unwrap the data key with whatever the user provided; check the commitment.

    Raw keys are tried first (no KDF); the passphrase only when no key opens
    the file.  Every failure is the one OpenError.
    """
    try:
        raw_keys = keys.raw_keys() or keyring_keys(header, name)
        data_key = None
        for raw in raw_keys:
            data_key = envelope.unwrap_with_key(raw, header)
            if data_key is not None:
                break
        if data_key is None:
            has_pass = any(r.kind == "passphrase" for r in header.recipients)
            if has_pass and (keys.has_passphrase() or keys.can_prompt()):
                data_key = envelope.unwrap_with_passphrase(keys.get_passphrase(), header)
            elif raw_keys:
                raise crypto.AuthError  # a key was given, and it is not one of ours
            else:
                kinds = sorted({r.kind for r in header.recipients})
                raise NoKeyError(
                    f"no key to open {name} (it opens with: {', '.join(kinds)})",
                    hints=NO_KEY_HINTS,
                )
        envelope.check_commitment(data_key, header)
        return data_key
    except crypto.AuthError:
        raise OpenError(name) from None


def keyring_keys(header: Header, name: str) -> list[Secret]:
    """Keys found without being given: `<key id>.key` in the user's key directory
    (where `sealedcfg init` puts them) and the key files named by creation rules."""
    from sealedcfg import rules
    from sealedcfg.initrepo import default_key_dir

    wanted = {b64e(r.key_id) for r in header.recipients if r.kind == "key"}
    candidates = [default_key_dir() / f"{kid}.key" for kid in sorted(wanted)]
    ruleset = rules.load(rules.find_rules_file(os.path.dirname(os.path.abspath(name))))
    if ruleset is not None:
        for rule in ruleset.rules:
            for recipient in rule.recipients:
                if recipient.key_id in wanted or recipient.key_id is None:
                    file = ruleset.key_file_path(recipient)
                    if file is not None:
                        candidates.append(file)
    found = []
    for file in candidates:
        if file.is_file():
            key = parse_key(file.read_text(encoding="utf-8"), f"key file {str(file)!r}")
            if b64e(envelope.key_id(key)) in wanted:
                found.append(key)
    return found


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
        sealing.finish_header(header, data_key, profile.opened.body, profile.name),
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


def _rule_keys(rule: rules.CreationRule, ruleset: rules.Rules, keys: KeySource) -> list[Secret]:
    given = keys.raw_keys()
    found = []
    for recipient in rule.recipients:
        if recipient.key_id is None and recipient.key_file is None:
            continue
        match = next(
            (k for k in given if b64e(envelope.key_id(k)) == recipient.key_id),
            None,
        )
        file = ruleset.key_file_path(recipient)
        if match is None and file is not None and file.is_file():
            match = parse_key(file.read_text(encoding="utf-8"), f"key file {str(file)!r}")
            if recipient.key_id and b64e(envelope.key_id(match)) != recipient.key_id:
                raise InputError(f"key file {str(file)!r} does not hold key {recipient.key_id}")
        if match is None:
            where = f" or in {file}" if file is not None else ""
            raise NoKeyError(
                f"the creation rule for {rule.source!r} needs key "
                f"{recipient.key_id or recipient.key_file}, which is not available{where}",
                hints=NO_KEY_HINTS,
            )
        found.append(match)
    return found


def new_recipients(
    keys: KeySource,
    data_key: bytes,
    file_id: bytes,
    params: Argon2Params | None,
    rule: tuple[rules.CreationRule, rules.Rules] | None = None,
) -> tuple[Recipient, ...]:
    """Recipients of a new file: from its creation rule, else from what was given."""
    if rule is not None and rule[0].recipients:
        raw = _rule_keys(rule[0], rule[1], keys)
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
    from sealedcfg import rules

    rule = None
    if use_rules:
        ruleset = rules.load(rules.find_rules_file(os.path.dirname(os.path.abspath(profile.name))))
        matched = ruleset.match(profile.name) if ruleset else None
        if matched is not None and ruleset is not None:
            rule = (matched, ruleset)
            if plain is None:
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
    profile = sealing.Profile(name, False, document.parse(text, name), None, "\n")
    header, data_key = new_header(profile, keys, plain=None, kdf=kdf)
    rule = sealing.compile_rule(header.plain)
    body = sealing.seal_nodes(profile, data_key, header.file_id, sealing.to_seal(profile, rule))
    return profile.to_bytes(body.text, sealing.finish_header(header, data_key, profile.body, name))

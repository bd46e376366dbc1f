"""age recipients in-process: identities and public keys parsed (age X25519 and SSH
ed25519), refusals that never echo a secret, and a data key wrapped for an age public
key and opened with its identity.  tests/test_team.py drives the same through the CLI
as processes and checks the wrap with the `age` binary."""

from __future__ import annotations

from pathlib import Path

import pyrage
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from sealedcfg import api
from sealedcfg.base.encoding import b64e
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError, NoKeyError, OpenError
from sealedcfg.ops import rotation
from sealedcfg.recipients import age
from sealedcfg.recipients.base import Options

from .conftest import write


def _identity() -> tuple[str, str]:
    """A new age identity: (AGE-SECRET-KEY-1…, age1…)."""
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def _ssh_private(key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()


def test_identity_file_with_comments_and_its_refusals() -> None:
    secret, public = _identity()
    text = f"# created: today\n# public key: {public}\n\n{secret}\n"
    (identity,) = age.parse_identities(text, "keys.txt", given=True)
    assert identity.public == public
    assert identity.given
    assert secret not in repr(identity)
    assert repr(identity) == str(identity) == f"Identity({public})"
    with pytest.raises(InputError, match=r"^keys\.txt: line 2 is not an age identity") as exc:
        age.parse_identities(f"{secret}\nnot-a-key\n", "keys.txt", given=True)
    assert secret not in str(exc.value)
    broken = secret[:-1] + ("Q" if secret[-1] != "Q" else "P")  # a bad checksum
    with pytest.raises(InputError, match="line 1 is not a valid age identity") as exc:
        age.parse_identities(broken, "keys.txt", given=True)
    assert broken not in str(exc.value)
    with pytest.raises(InputError, match="holds no age identity"):
        age.parse_identities("# nothing here\n", "keys.txt", given=False)


def test_ssh_ed25519_identity_and_the_keys_that_cannot_be_one() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    (identity,) = age.parse_identities(_ssh_private(key), "id_ed25519", given=False)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert identity.public == public.decode()
    assert not identity.given
    with pytest.raises(InputError, match="only ed25519 SSH keys"):
        age.parse_identities(
            _ssh_private(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            "id_rsa",
            given=True,
        )
    with pytest.raises(InputError, match="not an unencrypted OpenSSH private key") as exc:
        age.parse_identities(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n"
            "-----END OPENSSH PRIVATE KEY-----\n",
            "id_ed25519",
            given=True,
        )
    assert any("passphrase-protected" in h for h in exc.value.hints)


def test_recipients_normalised_and_bad_ones_refused_without_echo() -> None:
    _, public = _identity()
    assert age.normalize_recipient(f"  {public}\n", "arg") == public
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    ssh = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    assert age.normalize_recipient(f"{ssh.decode()} bob@laptop", "arg") == ssh.decode()
    secret, _ = _identity()
    with pytest.raises(InputError, match=r"^arg: not an age recipient") as exc:
        age.normalize_recipient(secret, "arg")  # a secret pasted by mistake
    assert secret not in str(exc.value) + "".join(exc.value.hints)
    bad = public[:-1] + ("q" if public[-1] != "q" else "p")
    with pytest.raises(InputError, match="bad checksum or key"):
        age.AgeRecipient.parse_target(bad, None, "arg")
    target = age.AgeRecipient.parse_target(public, "bob", "arg")
    assert (target.kind, target.ident, target.label) == ("age", public, "bob")


def test_a_data_key_wrapped_for_age_opens_only_with_its_identity(
    tmp_path: Path, keys: KeySource
) -> None:
    prof = write(tmp_path / "prod.yaml", "db:\n  password: pw-age-0001\n")
    api.encrypt_file(prof, keys)
    secret, public = _identity()
    target = age.AgeRecipient.parse_target(public, "bob", "arg")
    rotation.add_recipient(prof, keys, target=target)
    assert f'recipient: "{public}"' in prof.read_text()
    bob = KeySource(env={"SEALEDCFG_AGE_KEY": secret, "SEALEDCFG_AGE_WRITERS": "any"})
    assert api.load(prof, keys=bob) == {"db": {"password": "pw-age-0001"}}
    # age alone proves nothing of the writer: refused unless any writer is accepted
    with pytest.raises(NoKeyError, match="no key that proves who wrote"):
        api.load(prof, keys=KeySource(env={"SEALEDCFG_AGE_KEY": secret}))
    other, _ = _identity()
    with pytest.raises(OpenError):  # no stanza for this identity: the one generic error
        api.load(prof, keys=KeySource(env={"SEALEDCFG_AGE_KEY": other}))
    # another age message in the stanza (for the same public key): the commitment fails
    lines = prof.read_text().splitlines(keepends=True)
    forged = age.AgeRecipient.wrap(target, bob, b"\x01" * 32, b"", Options())
    wrapped = [i for i, ln in enumerate(lines) if ln.strip().startswith("wrapped:")][-1]
    indent = lines[wrapped][: len(lines[wrapped]) - len(lines[wrapped].lstrip())]
    lines[wrapped] = f"{indent}wrapped: {b64e(forged.wrapped)}\n"
    write(prof, "".join(lines))
    with pytest.raises(OpenError):
        api.load(prof, keys=bob)

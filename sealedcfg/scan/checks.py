"""Validators that a provider token is structurally real, not just prefix-shaped.

Each takes the whole matched token and returns True when it passes.  They are cheap and
never raise: a token that does not decode fails its check.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def github(token: str) -> bool:
    """Classic GitHub tokens end in base62(crc32(30 random chars)), zero-padded to 6.

    Validating it drops typos, truncated copies and hand-made fakes (GitHub's own format,
    https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/).
    """
    body = token[4:]
    if len(body) != 36:
        return False
    crc = binascii.crc32(body[:30].encode("ascii"))
    digits = ""
    while crc:
        crc, rem = divmod(crc, 62)
        digits = _B62[rem] + digits
    return digits.rjust(6, "0") == body[30:]


def slack(token: str) -> bool:
    return any(c.isdigit() for c in token[5:])


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def pypi(token: str) -> bool:
    """The part after `pypi-` is a base64url macaroon: it must decode."""
    try:
        raw = _b64(token[5:])
    except (ValueError, binascii.Error):
        return False
    return raw.startswith(b"\x02\x01")


def jwt_header_ok(token: str) -> bool:
    """The first segment decodes to a JSON object with an `alg` (`none` included)."""
    try:
        obj = json.loads(_b64(token.split(".", 1)[0]))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        return False
    return isinstance(obj, dict) and "alg" in obj


# Claims of the tutorial tokens (jwt.io's `"sub": "1234567890", "name": "John Doe"`).
_JWT_DOC_CLAIMS = ("john doe", "jane doe", "example", '"1234567890"')


def jwt(token: str) -> bool:
    """A real-looking JWT anywhere; tutorial tokens only count in a secret-named field."""
    if not jwt_header_ok(token):
        return False
    try:
        claims = json.dumps(json.loads(_b64(token.split(".", 2)[1]))).lower()
    # RecursionError: json's parser on ~1,000 nested brackets (a 2 KB payload holds 1,500)
    except (ValueError, binascii.Error, UnicodeDecodeError, IndexError, RecursionError):
        return True  # an undecodable payload is still a token
    return not any(c in claims for c in _JWT_DOC_CLAIMS)


def discord(token: str) -> bool:
    """The first segment of a Discord bot token is the bot's numeric id, base64-encoded."""
    try:
        raw = _b64(token.split(".", 1)[0])
    except (ValueError, binascii.Error):
        return False
    return 17 <= len(raw) <= 20 and raw.isdigit()


_PEM_HEAD_RE = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----")


def base64_private_key(token: str) -> bool:
    """Base64 of a PEM block (`LS0tLS1CRUdJTi` is `-----BEGIN`): a private key's header
    and at least 64 characters of varied key material after it."""
    try:
        raw = base64.b64decode(token[: len(token) // 4 * 4]).decode("ascii")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    m = _PEM_HEAD_RE.match(raw)
    if m is None:
        return False
    material = "".join(raw[m.end() :].split("-----", 1)[0].split())
    return len(material) >= 64 and len(set(material)) >= 16

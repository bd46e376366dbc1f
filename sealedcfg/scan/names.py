"""Which assigned names hold secrets, and how strict to be with their values.

Names are split into words (`DB_PASSWORD`, `dbPassword`, `db.password` all give
`db password`), then classified:

* PASSWORD names (password, passwd, pwd, pass, passphrase): any literal that is not a
  placeholder is a finding, however short.  A human-chosen password is low-entropy by
  nature; `password: hunter2` in a committed config file is exactly the leak the hook
  exists for, and an entropy threshold would wave it through.
* SECRET names (secret, token, api_key, access_key, private_key, client_secret, auth,
  credentials, ...): the value must also look random (see `values.looks_random`),
  because these names often hold ordinary identifiers (`token_type: bearer`).
* Anything naming metadata about a secret (`password_hash`, `token_url`,
  `secret_name`, `api_key_id`, `password_min_length`) is not a secret name at all.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache

_WORD_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


class Tier(Enum):
    NONE = 0
    SECRET = 1
    PASSWORD = 2


_PASSWORD_SUBSTRINGS = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "passwort",
    "motdepasse",
    "requirepass",  # redis.conf
    "masterauth",  # redis.conf
)
_PASSWORD_WORDS = frozenset({"pass", "pw", "pword", "passw"})
_SECRET_SUBSTRINGS = (
    "secret",
    "apikey",
    "accesskey",
    "privatekey",
    "secretkey",
    "signingkey",
    "encryptionkey",
    "masterkey",
    "authkey",
    "appkey",
    "licensekey",
    "sessionkey",
    "hmackey",
    "clientkey",
    "servicekey",
    "consumerkey",
    "subscriptionkey",
    "accountkey",
    "storagekey",
    "deploykey",
    "adminkey",
    "sharedkey",
    "webhookkey",
    "credential",
    "apitoken",
    "accesstoken",
    "authtoken",
    "refreshtoken",
    "bearertoken",
    "sessiontoken",
    "idtoken",
    "pattoken",
)
_SECRET_WORDS = frozenset(
    {
        "token",
        "auth",
        "authorization",
        "bearer",
        "creds",
        "cred",
        "jwt",
        "pat",
        "apikey",
        "privkey",
        "secrets",
        "pin",  # a PIN: only long, random-looking digits count (`values.is_digits_key`)
        "pincode",
    }
)
# Words that make the name about a secret rather than the secret itself.
_EXCLUDE_WORDS = frozenset(
    {
        "hash",
        "hashed",
        "digest",
        "checksum",
        "sha",
        "sha1",
        "sha256",
        "sha512",
        "md5",
        "fingerprint",
        "file",
        "files",
        "path",
        "dir",
        "filename",
        "location",
        "url",
        "uri",
        "endpoint",
        "host",
        "name",
        "names",
        "id",
        "ids",
        "uuid",
        "type",
        "types",
        "kind",
        "mode",
        "method",
        "length",
        "len",
        "size",
        "count",
        "min",
        "max",
        "minimum",
        "maximum",
        "policy",
        "expiry",
        "expires",
        "expiration",
        "expire",
        "expired",
        "ttl",
        "timeout",
        "lifetime",
        "header",
        "field",
        "param",
        "prefix",
        "suffix",
        "format",
        "pattern",
        "regex",
        "label",
        "placeholder",
        "hint",
        "help",
        "description",
        "desc",
        "prompt",
        "message",
        "msg",
        "error",
        "enabled",
        "enable",
        "disabled",
        "required",
        "rotation",
        "version",
        "provider",
        "backend",
        "manager",
        "arn",
        "ref",
        "reference",
        "source",
        "env",
        "var",
        "variable",
        "command",
        "cmd",
        "script",
        "strength",
        "public",
        "pub",
        "pubkey",
        "publishable",
        "salt",
        "nonce",
        "iv",
        "mac",
        "tag",
        "commitment",
        "wrapped",
        "algorithm",
        "alg",
        "cipher",
        "scope",
        "scopes",
        "audience",
        "aud",
        "issuer",
        "iss",
        "grant",
        "response",
        "validation",
        "validator",
        "strategy",
        "template",
        "column",
        "table",
        "username",
        "owner",
        "usage",
        "limit",
        "interval",
        "duration",
        "index",
        "encoding",
        "charset",
        "generator",
        "gen",
        "lenght",
        "rule",
        "rules",
        "check",
        "verify",
        "reset",
        "forgot",
        "changed",
        "change",
        "updated",
        "created",
        "at",
        "date",
        "time",
        "timestamp",
        "class",
        "handler",
        "regexp",
        "mask",
        "masked",
        "retries",
        "attempts",
        "sent",
        "received",
        "manage",
        "page",
        "form",
        "input",
        "button",
        "link",
        "title",
        "text",
        "icon",
        "route",
        "view",
        "keyid",
        "kid",
        "number",
        "tokens",
        "tokenizer",
        "domain",
        "stdin",
        "dialog",
        "csrf",
        "authenticity",  # Rails' per-form CSRF token
        "xsrf",
    }
)


# A session cookie's value is a bearer credential: `session`, `sessionid`, `PHPSESSID`,
# `connect.sid`, `session_cookie`.  Only as the last word (`session_timeout` is a setting)
# and with no other excluded word; `sid` alone too, whose ids (Twilio `AC...`, Windows
# `S-1-5-...`) `values.is_hash_or_id` knows.
_SESSION_ENDINGS = ("session", "sessionid", "sessid", "sid", "cookie")
_SESSION_ALLOWED = frozenset({"id", "sid"})


def _is_session_name(ws: list[str]) -> bool:
    last = ws[-1] if ws[-1] != "id" or len(ws) < 2 else ws[-2] + "id"
    return last.endswith(_SESSION_ENDINGS) and not any(
        w in _EXCLUDE_WORDS and w not in _SESSION_ALLOWED for w in ws
    )


# `<word>_key` names a key of a provider (`stripe_key`, `mailgunKey`), unless the word
# says it is a lookup, database or object key, or a public one.
_NOT_SECRET_KEYS = tuple(
    sorted(
        {
            *("primary", "foreign", "sort", "partition", "range", "row", "composite", "unique"),
            *("cache", "lookup", "idempotency", "dedup", "dedupe", "routing", "shard", "hash"),
            *("dict", "map", "item", "entry", "field", "column", "table", "index", "result"),
            *("attribute", "attributes", "group", "object", "s3", "bucket", "file", "registry"),
            *("translation", "i18n", "message", "search", "site", "host", "ssh", "gpg", "pgp"),
            *("public", "sort", "event", "state", "query", "order", "list", "node", "react"),
            *("hot", "short", "sign", "foreign", "natural", "surrogate", "local", "next", "prev"),
        }
    )
)


def words(name: str) -> list[str]:
    return [w.lower() for w in _WORD_RE.findall(name)]


@lru_cache(maxsize=4096)  # names repeat across lines and files; cheap to keep
def tier(name: str) -> Tier:
    ws = words(name)
    if not ws:
        return Tier.NONE
    joined = "".join(ws)
    if _is_session_name(ws):
        return Tier.SECRET
    if any(w in _EXCLUDE_WORDS for w in ws):
        return Tier.NONE
    if any(s in joined for s in _PASSWORD_SUBSTRINGS) or any(w in _PASSWORD_WORDS for w in ws):
        return Tier.PASSWORD
    if any(s in joined for s in _SECRET_SUBSTRINGS) or any(
        w in _SECRET_WORDS or w.endswith("token") for w in ws
    ):
        return Tier.SECRET
    if len(ws) >= 2 and ws[-1] == "key" and not joined[:-3].endswith(_NOT_SECRET_KEYS):
        # The value must still look random: `cache_key = "user:42"` stays quiet anyway.
        return Tier.SECRET
    return Tier.NONE


def is_aws_secret_name(name: str, line_lower: str) -> bool:
    joined = "".join(words(name))
    return "secretaccesskey" in joined or ("aws" in line_lower and "secret" in joined)


def is_twilio_token_name(name: str, line_lower: str) -> bool:
    joined = "".join(words(name))
    return "authtoken" in joined or (
        ("twilio" in joined or "twilio" in line_lower) and ("token" in joined or "secret" in joined)
    )


_KEY_WORDS = frozenset(
    {"key", "token", "secret", "apikey", "pat", "credential", "creds", "authorization"}
)


def holds_key(name: str) -> bool:
    """The name says it holds a key or token itself (UUID-shaped values are keys only then)."""
    ws = words(name)
    return any(w in _KEY_WORDS or w.endswith(("token", "key", "secret")) for w in ws)


def is_passphrase_name(name: str) -> bool:
    return "passphrase" in "".join(words(name))

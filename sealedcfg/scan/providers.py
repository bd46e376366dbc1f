"""Provider token formats: prefixes a secret announces itself with, and their validators.

All patterns are alternatives of one compiled regex, so a candidate line costs a single
`finditer`.  A match then passes a per-rule validator: the GitHub CRC32 checksum, the
JWT header, or a generic "not a placeholder, not low entropy" test on the random part.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from . import values

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Rule:
    rule_id: str
    description: str
    pattern: str
    prefix_len: int  # the fixed, public part; the rest must look random
    check: Callable[[str], bool] | None = None


def github_checksum_ok(token: str) -> bool:
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


# Claims of the tutorial tokens (jwt.io's `"sub": "1234567890", "name": "John Doe"`).
_JWT_DOC_CLAIMS = ("john doe", "jane doe", "example", '"1234567890"')


def _b64json(part: str) -> object:
    raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    return json.loads(raw)


def _jwt_ok(token: str) -> bool:
    header, payload = token.split(".", 2)[:2]
    try:
        obj = _b64json(header)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    if not (isinstance(obj, dict) and "alg" in obj):
        return False
    try:
        claims = json.dumps(_b64json(payload)).lower()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return True  # an undecodable payload is still a token
    return not any(c in claims for c in _JWT_DOC_CLAIMS)


def _mixed(token: str) -> bool:
    """OpenAI-style `sk-` keys are base62: require upper, lower and digit (drops `sk-learn-...`)."""
    return (
        any(c.isupper() for c in token)
        and any(c.islower() for c in token)
        and any(c.isdigit() for c in token)
    )


def _slack_ok(token: str) -> bool:
    return any(c.isdigit() for c in token[5:])


_NB = r"(?<![A-Za-z0-9_])"  # left boundary for word-ish tokens
_NBD = r"(?<![A-Za-z0-9_-])"  # left boundary for tokens whose charset includes '-'

# Order matters where prefixes overlap: anthropic before openai, stripe before openai.
RULES: tuple[Rule, ...] = (
    Rule(
        "aws-access-key-id",
        "AWS access key id",
        r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])",
        4,
    ),
    Rule(
        "github-pat",
        "GitHub personal access token",
        _NB + r"ghp_[A-Za-z0-9]{36}(?![A-Za-z0-9_])",
        4,
        github_checksum_ok,
    ),
    Rule(
        "github-oauth",
        "GitHub OAuth access token",
        _NB + r"gho_[A-Za-z0-9]{36}(?![A-Za-z0-9_])",
        4,
        github_checksum_ok,
    ),
    Rule(
        "github-app-token",
        "GitHub app token",
        _NB + r"gh[us]_[A-Za-z0-9]{36}(?![A-Za-z0-9_])",
        4,
        github_checksum_ok,
    ),
    Rule(
        "github-refresh-token",
        "GitHub refresh token",
        _NB + r"ghr_[A-Za-z0-9]{36}(?![A-Za-z0-9_])",
        4,
        github_checksum_ok,
    ),
    Rule(
        "github-fine-grained-pat",
        "GitHub fine-grained personal access token",
        _NB + r"github_pat_[A-Za-z0-9_]{50,255}(?![A-Za-z0-9_])",
        11,
    ),
    Rule(
        "gitlab-pat",
        "GitLab personal access token",
        _NBD + r"glpat-[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]+)*",
        6,
    ),
    Rule(
        "gitlab-token",
        "GitLab token",
        _NBD + r"gl(?:oas|dt|rt|cbt|ptt|ft|imt|agent|soat|ffct|tst|wt|sa)-"
        r"[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]+)*",
        5,
    ),
    Rule(
        "slack-webhook-url",
        "Slack incoming webhook URL",
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{20,}",
        30,
    ),
    Rule(
        "slack-app-token",
        "Slack app-level token",
        _NBD + r"xapp-\d-[A-Za-z0-9-]{10,}(?![A-Za-z0-9-])",
        7,
        _slack_ok,
    ),
    Rule(
        "slack-token",
        "Slack token",
        _NBD + r"xox[abposre]-[A-Za-z0-9-]{10,}(?![A-Za-z0-9-])",
        5,
        _slack_ok,
    ),
    Rule(
        "stripe-secret-key",
        "Stripe secret key",
        _NB + r"sk_(?:live|test)_[A-Za-z0-9]{16,}(?![A-Za-z0-9])",
        8,
    ),
    Rule(
        "stripe-restricted-key",
        "Stripe restricted key",
        _NB + r"rk_(?:live|test)_[A-Za-z0-9]{16,}(?![A-Za-z0-9])",
        8,
    ),
    Rule(
        "anthropic-admin-key",
        "Anthropic admin API key",
        _NBD + r"sk-ant-admin\d\d-[A-Za-z0-9_-]{32,}",
        16,
    ),
    Rule(
        "anthropic-api-key",
        "Anthropic API key",
        _NBD + r"sk-ant-[a-z]{2,8}\d\d-[A-Za-z0-9_-]{32,}",
        14,
    ),
    Rule(
        "openai-api-key",
        "OpenAI API key",
        _NBD + r"sk-(?!ant-)(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_-]{20,}",
        3,
        _mixed,
    ),
    Rule("google-api-key", "Google API key", _NBD + r"AIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])", 4),
    Rule(
        "twilio-api-key", "Twilio API key", r"(?<![A-Za-z0-9])SK[0-9a-fA-F]{32}(?![A-Za-z0-9])", 2
    ),
    Rule(
        "sendgrid-api-key",
        "SendGrid API key",
        _NB + r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])",
        3,
    ),
    Rule("npm-token", "npm access token", _NB + r"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])", 4),
    Rule(
        "pypi-token",
        "PyPI upload token",
        r"pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,}",
        24,
    ),
    Rule("age-secret-key", "age secret key", r"AGE-SECRET-KEY-1[0-9A-Z]{58}", 16),
    Rule(
        "jwt",
        "JSON Web Token",
        _NBD + r"eyJ[A-Za-z0-9_-]{8,}\.ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}",
        0,
        _jwt_ok,
    ),
)

_LOOKBEHIND_RE = re.compile(r"^\(\?<!\[([^\]]*)\]\)")


def _split_boundary(pattern: str) -> tuple[str, re.Pattern[str] | None]:
    """Move a leading `(?<![...])` out of the pattern.

    With every alternative starting on a literal, the combined regex gets a first-character
    prefilter from `re` and runs several times faster; the boundary is checked afterwards.
    """
    m = _LOOKBEHIND_RE.match(pattern)
    if m is None:
        return pattern, None
    return pattern[m.end() :], re.compile(f"[{m.group(1)}]")


_SPLIT = [_split_boundary(r.pattern) for r in RULES]
# No capture groups in the combined pattern: named groups per alternative would disable
# the same first-character prefilter (measured 20x slower on the benchmark).
PROVIDER_RE = re.compile("|".join(f"(?:{p})" for p, _ in _SPLIT))
RULE_REGEXES = [(r, re.compile(p), b) for r, (p, b) in zip(RULES, _SPLIT, strict=True)]


def boundary_ok(before: re.Pattern[str] | None, line: str, start: int) -> bool:
    return before is None or start == 0 or not before.match(line, start - 1)


def match_at(line: str, start: int) -> tuple[Rule, str] | None:
    """The first rule (in table order) whose token starts at `start` and validates."""
    for rule, rx, before in RULE_REGEXES:
        m = rx.match(line, start)
        if m and boundary_ok(before, line, start) and validate(rule, m.group()):
            return rule, m.group()
    return None


# Values starting like a provider token belong to the provider rule: when that rule
# rejected them (bad checksum, placeholder), the generic rule must not report them either.
PROVIDER_PREFIX_RE = re.compile(
    r"^(?:gh[pousr]_|github_pat_|gl[a-z]{1,6}-|xox[a-z]-|xapp-|[sr]k_(?:live|test)_|pk_"
    r"|sk-|AKIA|ASIA|AIza|SG\.|npm_|pypi-|AGE-SECRET-KEY|eyJ|https://hooks\.slack)"
)


def placeholder_token(body: str) -> bool:
    """The random part of a provider token is a doc filler: EXAMPLE, xxxx, 1234567, low entropy."""
    if values.is_placeholder(body):
        return True
    return len(body) >= 16 and values.shannon_entropy(body) < 3.0


def validate(rule: Rule, token: str) -> bool:
    body = token[rule.prefix_len :]
    if rule.rule_id == "slack-webhook-url":
        body = token.rsplit("/", 1)[-1]
    if placeholder_token(body) or "EXAMPLE" in token.upper():
        return False
    return rule.check is None or rule.check(token)

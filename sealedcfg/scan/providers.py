"""Provider token formats: the catalogue compiled into one regex, and the validators.

All literal-prefixed rules are alternatives of one compiled regex, so a candidate line
costs a single `finditer`; the few rules without a literal start (`catalog.Rule.infix`)
are searched only on lines containing their marker.  A match then passes its validator
(GitHub CRC32, JWT header, ...) and a "not a placeholder" test on the random part.
"""

from __future__ import annotations

import re
from functools import cache

from . import checks, values
from .catalog import RULES, Rule

__all__ = ["PROVIDER_PREFIX_RE", "RULES", "Rule", "github_checksum_ok", "provider_re"]

github_checksum_ok = checks.github


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


_ANCHORED = [r for r in RULES if not r.infix]
INFIX_RULES = [(r, re.compile(r.pattern)) for r in RULES if r.infix]
_SPLIT = [_split_boundary(r.pattern) for r in _ANCHORED]


@cache
def provider_re() -> re.Pattern[str]:
    """Every literal-started rule as one regex, compiled on the first line that needs it.

    No capture groups: named groups per alternative would disable `re`'s first-character
    prefilter (measured 20x slower on the benchmark).
    """
    return re.compile("|".join(f"(?:{p})" for p, _ in _SPLIT))


# A token starting at a position can only be one of the rules whose literal (`starts`, else
# `terms`: lower case, at least two characters) starts there: looked up by the first two.
_STARTS = [r.starts or r.terms for r in _ANCHORED]
_MAX_TERM = max(len(t) for starts in _STARTS for t in starts)
_BY_HEAD: dict[str, list[int]] = {}
for _i, _starts in enumerate(_STARTS):
    for _head in sorted({t[:2] for t in _starts}):
        _BY_HEAD.setdefault(_head, []).append(_i)


@cache
def _rule_regex(i: int) -> re.Pattern[str]:
    return re.compile(_SPLIT[i][0])  # compiled when first needed: most never are


def boundary_ok(before: re.Pattern[str] | None, line: str, start: int) -> bool:
    return before is None or start == 0 or not before.match(line, start - 1)


def match_at(line: str, start: int) -> tuple[Rule, str] | None:
    """The first rule (in table order) whose token starts at `start` and validates."""
    head = line[start : start + _MAX_TERM].lower()
    for i in _BY_HEAD.get(head[:2], ()):
        if not head.startswith(_STARTS[i]):
            continue
        rule = _ANCHORED[i]
        m = _rule_regex(i).match(line, start)
        if m and boundary_ok(_SPLIT[i][1], line, start) and validate(rule, m.group()):
            return rule, m.group()
    return None


def infix_hits(line: str) -> list[tuple[int, Rule, str]]:
    """Tokens without a literal start (Azure AD secrets, Telegram, Mailchimp, ...)."""
    out = []
    for rule, rx in INFIX_RULES:
        if rule.infix in line:
            for m in rx.finditer(line):
                if validate(rule, m.group()):
                    out.append((m.start(), rule, m.group()))
    return out


# Values starting like a provider token belong to the provider rule: when that rule
# rejected them (bad checksum, placeholder), the generic rule must not report them either.
PROVIDER_PREFIX_RE = re.compile(
    r"^(?:gh[pousr]_|github_pat_|gl[a-z]{1,6}-|xox[a-z]-|xapp-|[sr]k_(?:live|test|prod)_|pk_"
    r"|sk-|AKIA|ASIA|AIza|SG\.|npm_|pypi-|AGE-SECRET-KEY|eyJ|(?:https?://)?hooks\.slack)"
)


def placeholder_token(body: str) -> bool:
    """The random part of a provider token is a doc filler: EXAMPLE, xxxx, low entropy."""
    if values.is_placeholder(body):
        return True
    return len(body) >= 16 and values.shannon_entropy(body) < 2.5


def validate(rule: Rule, token: str) -> bool:
    # A filler shows from the start; thousands of random base64 characters (a key written
    # as base64) hold marker words (`mock`, `todo`) by chance.
    body = token[rule.prefix_len : rule.prefix_len + 64]
    if rule.rule_id.endswith("webhook-url"):
        body = token.rsplit("/", 1)[-1]
    if placeholder_token(body) or "EXAMPLE" in token.upper():
        return False
    return rule.check is None or rule.check(token)

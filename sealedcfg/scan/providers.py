"""Provider token formats: the catalogue compiled into one regex, and the validators.

All literal-prefixed rules are alternatives of one compiled regex, so a candidate line
costs a single `finditer`; the few rules without a literal start (`catalog.Rule.infix`)
are searched only on lines containing their marker.  A match then passes its validator
(GitHub CRC32, JWT header, ...) and a "not a placeholder" test on the random part.
"""

from __future__ import annotations

import re

from . import checks, values
from .catalog import RULES, Rule

__all__ = ["PROVIDER_PREFIX_RE", "PROVIDER_RE", "RULES", "Rule", "github_checksum_ok"]

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
# No capture groups in the combined pattern: named groups per alternative would disable
# the same first-character prefilter (measured 20x slower on the benchmark).
PROVIDER_RE = re.compile("|".join(f"(?:{p})" for p, _ in _SPLIT))
RULE_REGEXES = [(r, re.compile(p), b) for r, (p, b) in zip(_ANCHORED, _SPLIT, strict=True)]


def boundary_ok(before: re.Pattern[str] | None, line: str, start: int) -> bool:
    return before is None or start == 0 or not before.match(line, start - 1)


def match_at(line: str, start: int) -> tuple[Rule, str] | None:
    """The first rule (in table order) whose token starts at `start` and validates."""
    for rule, rx, before in RULE_REGEXES:
        m = rx.match(line, start)
        if m and boundary_ok(before, line, start) and validate(rule, m.group()):
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
    body = token[rule.prefix_len :]
    if rule.rule_id.endswith("webhook-url"):
        body = token.rsplit("/", 1)[-1]
    if placeholder_token(body) or "EXAMPLE" in token.upper():
        return False
    return rule.check is None or rule.check(token)

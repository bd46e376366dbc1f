"""Each provider rule: its token found bare and in code; malformed twins are not findings."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealedcfg.scan import RULE_IDS, prefilter, scan_text
from sealedcfg.scan.catalog import RULES

_spec = importlib.util.spec_from_file_location(
    "make_corpus", Path(__file__).resolve().parent.parent / "fixtures/scan/make_corpus.py"
)
assert _spec is not None
assert _spec.loader is not None
_mc: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mc)
TOKENS: dict[str, list[str]] = _mc.provider_tokens(_mc.Gen(11))
CASES = [(rule, tok) for rule, toks in TOKENS.items() for tok in toks]


def rules(text: str, path: str) -> list[str]:
    return [f.rule_id for f in scan_text(text, path)]


# No literal in the token for the line prefilter: found only on a line that names a token
# or key.  (Every other rule, `dapi`, `oy2`, `LTAI` ones included, is found bare.)
_KEYWORD_ONLY = {"discord-bot-token"}


@pytest.mark.parametrize(("rule", "token"), CASES)
def test_token_found_bare_and_in_code(rule: str, token: str) -> None:
    if rule not in _KEYWORD_ONLY:
        assert rules(f"{token}\n", "notes.txt") == [rule]
        assert rules(f'client = Client("{token}")\n', "app.py") == [rule]
    assert rules(f"SERVICE_TOKEN={token}\n", ".env") == [rule]


def _prefix_len(rule: str, token: str) -> int:
    for r in RULES:
        if r.rule_id == rule and r.terms and token.lower().startswith(r.terms):
            return r.prefix_len
    return 0


@pytest.mark.parametrize(("rule", "token"), CASES)
def test_placeholder_twin_is_not_a_finding(rule: str, token: str) -> None:
    n = _prefix_len(rule, token)
    if n == 0:
        pytest.skip("no literal prefix")
    twin = token[:n] + "x" * (len(token) - n)
    assert rule not in rules(f"{twin}\n", "notes.txt")


# Rules whose format allows a shorter token (a length range), so half a token still fits.
_RANGED = {
    "aws-bedrock-api-key",
    "google-oauth-token",
    "grafana-cloud-token",
    "stripe-secret-key",
    "stripe-restricted-key",
    "stripe-webhook-secret",
    "pinecone-api-key",
    "planetscale-token",
    "onepassword-service-token",
    "facebook-access-token",
    "flyio-token",
    "grafana-api-key",
    "slack-token",
    "vault-token",
    "square-token",
    "tailscale-key",
    "jwt",
    "gitlab-runner-token",
    "slack-webhook-url",
    "flutterwave-secret-key",
    "dropbox-token",
    "typeform-token",
    "posthog-personal-key",
    "private-key",  # base64 of a PEM key: a truncated copy is still key material
}


@pytest.mark.parametrize(("rule", "token"), CASES)
def test_truncated_twin_is_not_a_finding(rule: str, token: str) -> None:
    n = _prefix_len(rule, token)
    if rule in _RANGED or n == 0:
        pytest.skip("length range")
    twin = token[: n + (len(token) - n) // 2]
    assert rule not in rules(f"{twin}\n", "notes.txt")


def test_every_catalogue_rule_has_a_fixture() -> None:
    covered = set(TOKENS) | {
        "aws-access-key-id",
        "github-pat",
        "github-oauth",
        "github-app-token",
        "github-refresh-token",
        "github-fine-grained-pat",
        "slack-app-token",
        "anthropic-api-key",
        "anthropic-admin-key",
        "openai-api-key",
        "google-api-key",
        "twilio-api-key",
        "sendgrid-api-key",
        "npm-token",
        "pypi-token",
        "age-secret-key",
        "jwt",
    }  # these are in test_scan_rules.POSITIVES
    assert {r.rule_id for r in RULES} <= covered
    assert {r.rule_id for r in RULES} <= set(RULE_IDS)
    assert len({r.rule_id for r in RULES}) >= 100


LOOKALIKES = [
    "xoxb-12345-abcd234",
    "xoxb-123456789012-SlackTokenHere",
    "sk-ant-api03-short",
    "sk-" + "aB3" * 16,  # OpenAI shape without the T3BlbkFJ marker
    "glpat-12345",
    "glptt-" + "g" * 40,  # not hex
    "AKIAIOSFODNN7EXAMPLE",
    "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    "dop_v1_" + "0" * 64,
    "eyJhbGciOiJIUzI1NiJ9",  # a JWT header alone
    "ghp_" + "aB3dE" * 7 + "z",  # bad CRC32
]


@pytest.mark.parametrize("text", LOOKALIKES)
def test_lookalikes(text: str) -> None:
    assert rules(f"{text}\n", "notes.txt") == []


def test_twitter_bearer_leading_run_is_not_a_placeholder() -> None:
    tok = "A" * 22 + _mc.Gen(3).s(_mc.B62, 90)
    assert rules(f"TWITTER_BEARER={tok}\n", ".env") == ["twitter-bearer-token"]


def test_slack_token_with_repeated_digits() -> None:
    tok = "xoxb-111111111111-222222222222-" + _mc.Gen(4).s(_mc.B62, 24)
    assert rules(f"SLACK={tok}\n", ".env") == ["slack-token"]


def test_discord_bot_token_needs_a_numeric_id() -> None:
    good = _mc.Gen(5).discord()
    assert rules(f"DISCORD_TOKEN={good}\n", ".env") == ["discord-bot-token"]
    bad = "M" + "abcDEF123" * 3 + ".abcdef." + "x1Y2z3" * 5
    assert "discord-bot-token" not in rules(f"DISCORD_TOKEN={bad}\n", ".env")


_TERMS = [*prefilter.PROVIDER_TERMS, *prefilter.KEYWORD_TERMS, "://", "-----begin", "path", "pat"]


@given(
    st.lists(
        st.one_of(
            st.sampled_from(_TERMS),
            st.sampled_from([t.upper() for t in _TERMS]),
            st.text(alphabet="ab_-. =:\n\t/xyzPAT", max_size=6),
            st.text(max_size=4),
        ),
        max_size=40,
    )
)
@settings(max_examples=300, deadline=None)
def test_prefilter_finds_exactly_the_lines_with_a_term(parts: list[str]) -> None:
    text = "".join(parts)
    lines = text.split("\n")
    union = re.compile(
        "|".join(
            [re.escape(t) for t in (*prefilter.PROVIDER_TERMS, *prefilter.KEYWORD_TERMS)]
            + [re.escape("://"), re.escape("-----begin"), "pat(?![a-z])", "sk[0-9a-f]{32}"]
        )
    )
    # bytes.lower() folds ASCII only: compare on lines whose lower-casing is ASCII-only too
    expected = [
        i
        for i, ln in enumerate(lines)
        if union.search(
            ln.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")
        )
    ]
    candidates, provider = prefilter.candidate_lines(text)
    assert candidates == expected
    assert provider <= set(candidates)

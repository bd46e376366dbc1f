"""One test per class of miss and false alarm the scanner's issue lists, with values made here.

Each bullet of "what the misses have in common" and "false alarms" is a class; these
cases are written for it (random values from a seeded generator, never copied examples),
so a regression in any class fails a named test.
"""

from __future__ import annotations

import base64
import json
import random
import string

import pytest

from sealedcfg.scan import scan_text

_RNG = random.Random(1313)
_B62 = string.ascii_letters + string.digits
_HEX = "0123456789abcdef"


def _r(alphabet: str, n: int) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def _b64url(obj: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def _uuid() -> str:
    return "-".join(_r(_HEX, n) for n in (8, 4, 4, 4, 12))


def rules(text: str, path: str) -> list[str]:
    return [f.rule_id for f in scan_text(text, path)]


def _openssh_key() -> str:
    body = base64.b64encode(b"openssh-key-v1\0" + _RNG.randbytes(300)).decode()
    lines = [body[i : i + 70] for i in range(0, len(body), 70)]
    return "\n".join(
        ["-----BEGIN OPENSSH PRIVATE KEY-----", *lines, "-----END OPENSSH PRIVATE KEY-----"]
    )


UNSIGNED_JWT = f"{_b64url({'alg': 'none', 'typ': 'JWT'})}.{_b64url({'sub': 'svc-42'})}."
TUTORIAL_JWT = (
    f"{_b64url({'alg': 'HS256', 'typ': 'JWT'})}."
    f"{_b64url({'sub': '1234567890', 'name': 'John Doe'})}.{_r(_B62 + '-_', 43)}"
)

# Formats the issue found without a rule: each must be reported, bare or named.
FORMATS = [
    ("id_ed25519", _openssh_key(), "private-key"),
    ("app.yaml", f"session_jwt: {UNSIGNED_JWT}", "jwt"),
    ("app.yaml", f"api_token: {TUTORIAL_JWT}", "jwt"),
    ("notes.txt", f"amqps://orders:{_r(_B62, 18)}@mq.internal:5671/prod", "url-credentials"),
    (
        "app.env",
        f"AZURE_CLIENT_SECRET={_r(_B62, 3)}8Q~{_r(_B62 + '_-', 34)}",
        "azure-ad-client-secret",
    ),
    ("ci.sh", f"REG=GR1348941{_r(_B62, 20)}", "gitlab-runner-registration-token"),
    ("notes.txt", f"_gitlab_session={_r('0123456789abcdefghijklmnopqrstuvwxyz', 32)}", None),
    ("notes.txt", f"ABSK{_r(_B62 + '+/', 132)}", "aws-bedrock-api-key"),
    ("notes.txt", f"sk_prod_{_r(_B62, 30)}", "stripe-secret-key"),
    ("notes.txt", f"rk_prod_{_r(_B62, 30)}", "stripe-restricted-key"),
    ("notes.txt", f"xoxa-2-{_r(_B62, 12)}-{_r(_B62, 20)}-{_r(_B62, 30)}", "slack-token"),
    (
        "notes.txt",
        f"hooks.slack.com/services/T{_r(_B62, 10)}/B{_r(_B62, 10)}/{_r(_B62, 24)}",
        "slack-webhook-url",
    ),
    (
        "notes.txt",
        f"http://hooks.slack.com/services/T{_r(_B62, 10)}/B{_r(_B62, 10)}/{_r(_B62, 24)}",
        "slack-webhook-url",
    ),
    ("notes.txt", "A" * 22 + _r(_B62 + "%", 90), "twitter-bearer-token"),
    ("notes.txt", f"eyJrIjoi{_r(_B62, 80)}", "grafana-api-key"),
    ("notes.txt", f"glsa_{_r(_B62, 32)}_{_r(_HEX, 8)}", "grafana-service-account-token"),
    ("notes.txt", f"{_r('0123456789', 10)}:AA{_r(_B62 + '_-', 33)}", "telegram-bot-token"),
    ("notes.txt", f"{_r(_HEX, 32)}-us14", "mailchimp-api-key"),
    ("app.yaml", f"heroku_api_key: {_uuid()}", "generic-secret-assignment"),
    ("app.json", f'{{"snyk_token": "{_uuid()}"}}', "generic-secret-assignment"),
    (".npmrc", f"//registry.npmjs.org/:_authToken={_uuid()}", "generic-secret-assignment"),
    ("app.yaml", f"pin_secret: '{_r('123456789', 9)}'", "generic-secret-assignment"),
]


@pytest.mark.parametrize(("path", "text", "rule"), FORMATS)
def test_formats_without_a_rule_then(path: str, text: str, rule: str | None) -> None:
    found = rules(text, path)
    assert found if rule is None else rule in found, found


def test_kubernetes_secret_data_values() -> None:
    value = base64.b64encode(_r(_B62, 24).encode()).decode()
    text = f"apiVersion: v1\nkind: Secret\ndata:\n  tls.key: {value}\n"
    assert rules(text, "k8s/secret.yaml") == ["kubernetes-secret-data"]


KEY = _r(_B62, 32)

# Contexts where the name heuristic never fired.
CONTEXTS = [
    ("Makefile", f'ACME_TOKEN ?= "{KEY}"'),
    ("Makefile", f"ACME_TOKEN ::= {KEY}"),
    ("Makefile", f"ACME_TOKEN :::= {KEY}"),
    ("index.php", f'$acmeToken .= "{KEY}";'),
    ("pom.xml", f"<acmeToken>\n    {KEY}\n</acmeToken>"),
    ("app.json", f'{{"config.ini": "ACME_TOKEN={KEY}\\nDEBUG=true"}}'),
    ("README.md", f"Connect with postgres://app:{_r(_B62, 16)}@db.internal/app"),
    ("notes.txt", f"amqp://worker:{_r(_B62, 14)}@rabbit:5672/"),
]


@pytest.mark.parametrize(("path", "text"), CONTEXTS)
def test_contexts_where_the_name_heuristic_never_fired(path: str, text: str) -> None:
    assert rules(text, path), text


# Regular-looking runs inside real keys are no placeholders; documentation examples are.
PLACEHOLDER_CLASSES = [
    ("notes.txt", "A" * 22 + _r(_B62, 90), True),  # Twitter's leading run
    ("notes.txt", f"xoxb-{'1' * 12}-{'2' * 12}-{_r(_B62, 24)}", True),  # Slack ids
    ("app.env", f"API_SECRET=QWERTYUIOP{_r(_B62, 24)}", True),
    ("app.env", f"API_SECRET=0123456789abcdef{_r(_B62, 20)}", True),
    ("app.env", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", False),
    ("app.env", "API_SECRET=0123456789abcdef", False),
]


@pytest.mark.parametrize(("path", "text", "reported"), PLACEHOLDER_CLASSES)
def test_placeholder_heuristics_keep_real_keys(path: str, text: str, reported: bool) -> None:
    assert bool(rules(text, path)) is reported, text


FALSE_ALARMS = [
    ("app.yaml", "password: ',.:-@*?!'"),  # symbols only
    ("app.yaml", "password: shorter-version"),  # a slug
    ("notes.txt", f"sk-ant-api03-{_r(_B62, 40)}"),  # Anthropic: wrong length
    ("notes.txt", f"glpat-{_r(_B62, 12)}"),  # GitLab: wrong length
    ("notes.txt", f"sk-{_r(_B62, 48)}"),  # OpenAI shape without T3BlbkFJ
    ("notes.txt", "xoxb-12345-abcd234"),
    ("notes.txt", "SLACK_BOT_TOKEN=xoxb-123456789012-SlackBotTokenHere"),
    ("form.html", f'<input type="hidden" name="authenticity_token" value="{KEY}==">'),
    (".env", f'DB_PASSWORD="encrypted:{_r(_B62 + "+/", 120)}="'),
    ("vars.yml", "db_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3661633230\n"),
    ("app.yaml", "db_password: ENC[AES256_GCM,data:Zm9v,iv:YmFy,tag:YmF6,type:str]"),
    ("secret.age", "-----BEGIN AGE ENCRYPTED FILE-----\n" + _r(_B62, 64) + "\n-----END AGE"),
    # real code: a header named in a comment, a validation pattern, unit-test passwords
    ("values.yaml", "# tlsKey: paste -----BEGIN RSA PRIVATE KEY----- and the key here"),
    ("user.go", "const PasswordPatten = `^.{8,32}$`"),
    ("tests/test_login.py", 'login(user="bob", password="hunter2")'),
    ("app.properties", "password combination.\n\nR5: Regulatory--21"),
]


@pytest.mark.parametrize(("path", "text"), FALSE_ALARMS)
def test_false_alarm_classes(path: str, text: str) -> None:
    assert rules(text, path) == [], text

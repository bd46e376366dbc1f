"""Recall classes the scanner still missed, each with look-alikes that must stay quiet.

Values come from a seeded generator or from the formats' public facts (a Discord bot
token starts with the bot's numeric id in base64; HTTP Basic is base64 of `user:password`;
a Kubernetes Secret's `stringData` holds plaintext); none is copied from another scanner.
"""

from __future__ import annotations

import base64
import random
import re
import string

import pytest

from sealedcfg.scan import engine, scan_text, values

_RNG = random.Random(1301)
_B62 = string.ascii_letters + string.digits
_URLSAFE = _B62 + "_-"


def _r(alphabet: str, n: int) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def rules(text: str, path: str) -> list[str]:
    return [f.rule_id for f in scan_text(text, path)]


def _discord(digits: int) -> str:
    snowflake = str(_RNG.randrange(10 ** (digits - 1), 10**digits))
    first = base64.b64encode(snowflake.encode()).decode().rstrip("=")
    return f"{first}.{_r(_URLSAFE, 6)}.{_r(_URLSAFE, 27)}"


@pytest.mark.parametrize("digits", [17, 18, 19])
@pytest.mark.parametrize("path", ["bot.go", "main.py", "notes.txt", "config.yaml"])
def test_discord_bot_token_without_a_keyword(digits: int, path: str) -> None:
    token = _discord(digits)
    line = f'sessions = ["{token}"]\n' if path.endswith(".py") else f"  - {token}\n"
    assert rules(line, path) == ["discord-bot-token"]


@pytest.mark.parametrize(
    "text",
    [
        # The first part is no base64 of a numeric id, or the shape is off.
        f'x = "{_r(_URLSAFE, 24)}.{_r(_URLSAFE, 6)}.{_r(_URLSAFE, 27)}"\n',
        'build = "MTIzNDU2Nzg5.release.2024-11"\n',
        f'x = "{base64.b64encode(b"123456789012345678").decode()}.abc.def"\n',
        'bot_id = "418367829172649984"\n',
    ],
)
def test_discord_look_alikes_are_quiet(text: str) -> None:
    assert rules(text, "bot.go") == []


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (f"Authorization: Basic {_basic(_r(_B62, 24), '')}\n", "request.http"),
        (
            f'headers = {{"Authorization": "Basic {_basic(_r("0123456789abcdef", 32), "")}"}}\n',
            "a.py",
        ),
        (f'curl -H "Authorization: Basic {_basic(_r(_B62, 20), "")}" https://api.io\n', "run.sh"),
        (f'auth = HTTPBasicAuth("{_r(_B62, 28)}", "")\n', "client.py"),
        (f"r = requests.get(url, auth=('{_r(_B62, 32)}', ''))\n", "client.py"),
    ],
)
def test_basic_auth_with_a_key_as_user_and_no_password(text: str, path: str) -> None:
    assert rules(text, path) == ["generic-secret-assignment"]


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (f"Authorization: Basic {_basic('aladdin', '')}\n", "request.http"),
        (f'headers = {{"Authorization": "Basic {_basic("api_user", "")}"}}\n', "a.py"),
        ('auth = HTTPBasicAuth("guest", "")\n', "client.py"),
        (f"Authorization: Basic {_basic('admin', 'changeme')}\n", "request.http"),
        (f"Authorization: Basic {_basic('deploy', '${DEPLOY_PASSWORD}')}\n", "request.http"),
    ],
)
def test_basic_auth_without_a_secret_is_quiet(text: str, path: str) -> None:
    assert rules(text, path) == []


@pytest.mark.parametrize("path", ["README.md", "app.env", "deploy.yaml"])
def test_url_with_a_key_as_user_and_no_password(path: str) -> None:
    text = f"MAIL_API=https://{_r(_B62, 28)}:@api.mail.acme.io/v3\n"
    assert rules(text, path) == ["url-credentials"]


@pytest.mark.parametrize(
    "url",
    [
        "https://api:@example.org",
        "https://readonly:@mirror.acme.io/pypi",
        "https://${API_KEY}:@mirror.acme.io/pypi",
    ],
)
def test_url_with_a_plain_user_and_no_password_is_quiet(url: str) -> None:
    assert rules(f"see {url}\n", "README.md") == []


def test_basic_auth_with_a_password_is_still_found() -> None:
    text = f"Authorization: Basic {_basic('deploy', _r(_B62, 14))}\n"
    assert rules(text, "request.http") == ["generic-secret-assignment"]


@pytest.mark.parametrize("path", ["run.sh", "README.md"])
@pytest.mark.parametrize(
    "credential",
    [
        "{admin}:{%s}",
        '"{ci-bot}:{%s}"',
        "--user={deploy}:{%s}",
    ],
)
def test_brace_wrapped_curl_credentials(credential: str, path: str) -> None:
    secret = _r(_B62, 18)
    cred = credential % secret
    flag = "" if cred.startswith("--") else "-u "
    found = scan_text(f"curl {flag}{cred} https://api.acme.io/v1/items\n", path)
    assert [f.rule_id for f in found] == ["generic-secret-assignment"]
    assert f"({len(secret)} chars)" in found[0].message


@pytest.mark.parametrize(
    "credential",
    [
        "{user}:{pass}",
        "{username}:{password}",
        '"{API_USER}:{API_TOKEN}"',
        "{email}:{apiToken}",
        "{{user}}:{{token}}",
        "${USER}:${PASS}",
    ],
)
def test_curl_template_slots_are_quiet(credential: str) -> None:
    assert rules(f"curl -u {credential} https://api.acme.io\n", "README.md") == []


def _dotted() -> str:
    return f"{_r(_B62, 10)}.{_r(_B62, 22)}.{_r(_B62, 12)}"


@pytest.mark.parametrize(
    "template",
    [
        '{{"env": "API_TOKEN={t}"}}\n',
        '{{"postCreateCommand": "export REGISTRY_TOKEN={t} && make deps"}}\n',
        '{{"cmd": "export ACCESS_TOKEN={t}"}}\n',
        '{{"runArgs": ["--network", "host", "--auth-token", "{t}"]}}\n',
    ],
)
def test_dotted_token_inside_a_json_string(template: str) -> None:
    assert rules(template.format(t=_dotted()), "devcontainer.json") == ["generic-secret-assignment"]


@pytest.mark.parametrize(
    "text",
    [
        '{"env": "TOKEN_SOURCE=settings.auth.token"}\n',
        '{"env": "API_TOKEN=${localEnv:API_TOKEN}"}\n',
        '{"args": ["--token-file", "/run/secrets/registry"]}\n',
        '{"args": ["--token", "REPLACE_ME"]}\n',
        '{"args": ["--token", "$(REGISTRY_TOKEN)"]}\n',
        'x = "token=" + token\n',
    ],
)
def test_dotted_and_argv_look_alikes_are_quiet(text: str) -> None:
    assert rules(text, "devcontainer.json") == []


_PIECES = re.compile(r"(?:[A-Z]?[a-z]{2,}|[A-Z]{2,}(?![a-z]))+")


def _word_shaped(value: str) -> bool:
    """The shape the word test reads as words: pieces like `Ab`, `CD`, `efg`, and about a
    quarter of the lower-case letters vowels."""
    lower = sum(c.islower() for c in value)
    vowels = sum(c in "aeiou" for c in value)
    return bool(_PIECES.fullmatch(value)) and (lower < 6 or vowels * 4 >= lower)


def test_short_word_shaped_random_values() -> None:
    """Random 10-12 character values of that shape: none was caught, then half (108 of
    these 200) by rare pairs; the letter-pair score takes it to 173."""
    rng = random.Random(11)
    sample: list[str] = []
    while len(sample) < 200:
        n = rng.choice([10, 11, 12])
        value = "".join(rng.choice(_B62) for _ in range(n))
        if _word_shaped(value):
            sample.append(value)
    caught = [v for v in sample if rules(f"SEARCH_API_KEY={v}\n", ".env")]
    assert len(caught) >= 160, len(caught)


@pytest.mark.parametrize(
    "value",
    [
        "productCatalog",
        "invoiceEvents",
        "billingService",
        "HTTPHandler",
        "DEV_ONLY_2024",
        "readWriteAccess",
        "primaryKeyring",
        "clusterAdmin",
    ],
)
def test_identifiers_made_of_words_are_quiet(value: str) -> None:
    assert rules(f"QUEUE_AUTH_TOKEN={value}\n", ".env") == []


def test_word_shaped_random_values_are_mostly_caught() -> None:
    """Random 12-letter mixed case: the word test let 1 in 20 through as words (103 of
    these 2,000); the rare-pair test halves that (51), the letter-pair score again (26)."""
    rng = random.Random(7)
    sample = ["".join(rng.choice(string.ascii_letters) for _ in range(12)) for _ in range(2000)]
    missed = sum(not values.looks_random(v) for v in sample)
    assert missed <= 35, missed


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("SEARCH_API_KEY={v}\n", ".env"),
        ("client_secret: {v}\n", "config/app.yaml"),
        ('api_token = "{v}"\n', "app/settings.py"),
        ("password: {v}\n", "docs/setup.md"),  # documents: passwords must look random
        ('password = "{v}"\n', "tests/test_login.py"),  # so must a test's
    ],
)
@pytest.mark.parametrize("alphabet", [string.ascii_lowercase, string.ascii_uppercase])
def test_random_letters_of_one_case(template: str, path: str, alphabet: str) -> None:
    """10-20 random letters of one case: none was caught where a value must look random
    (no digit and one case failed the mix test); now ~9 in 10 are."""
    rng = random.Random(13)
    sample = ["".join(rng.choice(alphabet) for _ in range(rng.randint(10, 20))) for _ in range(200)]
    caught = sum(bool(rules(template.format(v=v), path)) for v in sample)
    assert caught >= 160, caught


@pytest.mark.parametrize(
    "value",
    [
        "serviceaccount",
        "kubernetesdashboard",
        "postgresql",
        "readwriteaccess",
        "configuredlater",
        "mysqlclient",
        "LOADBALANCER",
        "CONFIGURATION",
        "ldapbindonly",
        "localdevelopment",
    ],
)
def test_words_of_one_case_are_quiet(value: str) -> None:
    assert rules(f"QUEUE_AUTH_TOKEN={value}\n", ".env") == []
    assert rules(f"password: {value}\n", "docs/setup.md") == []


def _secret_manifest(kind: str, block: str, value: str) -> str:
    return (
        f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: db\ntype: Opaque\n"
        f'{block}:\n  username: billing\n  replication: {value}\n  replicas: "3"\n'
    )


@pytest.mark.parametrize("kind", ["Secret", "secret", '"secret"', "SECRET", "SeCrEt"])
def test_kubernetes_secret_kind_in_any_case(kind: str) -> None:
    value = base64.b64encode(_r(_B62, 20).encode()).decode()
    found = scan_text(_secret_manifest(kind, "data", value), "secret.yaml")
    assert [(f.line, f.rule_id) for f in found] == [(8, "kubernetes-secret-data")]


def test_kubernetes_string_data_values() -> None:
    found = scan_text(_secret_manifest("secret", "stringData", _r(_B62, 20)), "secret.yaml")
    assert [(f.line, f.rule_id) for f in found] == [(8, "kubernetes-secret-data")]


@pytest.mark.parametrize(
    "value",
    [
        "postgres.billing.svc.cluster.local",
        "rotated-every-quarter",
        "9885e714-e8d5-48e5-a385-4d007bc64d4d",
        "${DB_PASSWORD}",
        "'{{ .Values.replication }}'",
    ],
)
def test_kubernetes_string_data_plain_values_are_quiet(value: str) -> None:
    assert rules(_secret_manifest("secret", "stringData", value), "secret.yaml") == []


def test_kubernetes_kind_configmap_is_not_a_secret() -> None:
    value = base64.b64encode(_r(_B62, 20).encode()).decode()
    assert rules(_secret_manifest("ConfigMap", "data", value), "cm.yaml") == []


def _b64() -> str:
    return base64.b64encode(_r(_B62, 24).encode()).decode()


def _nested_layouts() -> list[tuple[str, list[int]]]:
    """Secrets not at column 0, each with the lines (1-based) that hold its values."""
    item = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n"
    return [
        (  # an item of a `kind: List`
            "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n"
            f"    metadata:\n      name: db\n    data:\n      tls.key: {_b64()}\n"
            f"      DB_URL: {_b64()}\n",
            [9, 10],
        ),
        (  # a Helm template indented under `{{ if }}`
            "{{- if .Values.create }}\n"
            + "".join("  " + ln + "\n" for ln in item.split("\n")[:-1])
            + f"    config.json: {_b64()}\n{{{{- end }}}}\n",
            [7],
        ),
        (  # the second document of a stream, after a ConfigMap with a `data:` block
            f"kind: ConfigMap\ndata:\n  mode: {_b64()}\n---\n{item}  replication: {_b64()}\n",
            [10],
        ),
        (  # `kind` after `data` in a list item
            f"items:\n- data:\n    replication: {_b64()}\n  kind: Secret\n"
            f"- data:\n    mode: {_b64()}\n  kind: ConfigMap\n",
            [3],
        ),
    ]


def test_kubernetes_secrets_not_at_column_zero() -> None:
    """Lists, Helm indentation, later documents: before, none of these values was found
    by the manifest rule (names like `tls.key` never fire the name rule)."""
    for text, expected in _nested_layouts():
        found = scan_text(text, "deploy/manifests.yaml")
        assert [(f.line, f.rule_id) for f in found] == [
            (n, "kubernetes-secret-data") for n in expected
        ], text


def test_kubernetes_secrets_as_json() -> None:
    text = (
        (
            '{"kind": "List", "items": [\n {"kind": "ConfigMap", "data": {"mode": "MODE"}},\n'
            ' {"kind": "Secret", "data": {\n   "tls.key": "KEY"}}\n]}\n'
        )
        .replace("MODE", _b64())
        .replace("KEY", _b64())
    )
    found = scan_text(text, "deploy/secret.json")
    assert [(f.line, f.col, f.rule_id) for f in found] == [(4, 16, "kubernetes-secret-data")]


def test_kubernetes_nested_configmap_is_not_a_secret() -> None:
    text = (
        "items:\n  - kind: Secret\n    metadata:\n      name: db\n"
        f"  - kind: ConfigMap\n    data:\n      mode: {_b64()}\n"
    )
    assert rules(text, "deploy/list.yaml") == []


# The per-process line memo: a line judged once gives the same findings as judged anew,
# and lines whose findings depend on their neighbours are judged in their file each time.
CONTEXT_PAIRS = [
    ("- name: DB_PASSWORD\n  value: {v}\n", "- name: DB_PASSWORD\n  value: ${{DB_PASSWORD}}\n"),
    ("api_token: >\n  {v}\n", "api_token: >\n  ${{API_TOKEN}}\n"),
    ("<apiToken>\n  {v}\n</apiToken>\n", "<apiToken>\n  ${{API_TOKEN}}\n</apiToken>\n"),
    ("curl -X POST https://api.io \\\n  -u bot:{v}\n", "echo \\\n  -u bot:{v}\n"),
]


@pytest.mark.parametrize(("first", "second"), CONTEXT_PAIRS)
def test_lines_read_in_context_are_not_memoised(first: str, second: str) -> None:
    v = _r(_B62, 20)
    a, b = first.format(v=v), second.format(v=v)
    for _ in range(2):  # twice: the second round runs on whatever the first memoised
        assert rules(a, "deploy.yaml" if "<" not in a else "settings.xml") != []
        assert rules(b, "deploy.yaml" if "<" not in b else "settings.xml") == []


def test_memo_gives_the_same_findings_as_a_fresh_judgement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = [
        f'api_key = "{_r(_B62, 32)}"',
        'token = os.environ["TOKEN"]  # key lookup',
        "password: changeme",
        f"password: {_r(_B62, 12)}",
        f"  - {_discord(18)}",
        f'{{"env": "API_TOKEN={_dotted()}"}}',
    ]
    text = "\n".join(lines * 3) + "\n"
    engine._memo.clear()
    fresh = [scan_text(text, p) for p in ("a.py", "b.json", "c.yaml")]
    again = [scan_text(text, p) for p in ("a.py", "b.json", "c.yaml")]
    assert engine._memo  # the lines above were memoised
    monkeypatch.setattr(engine, "_context_free", lambda line: False)
    engine._memo.clear()
    uncached = [scan_text(text, p) for p in ("a.py", "b.json", "c.yaml")]
    assert not engine._memo
    assert fresh == again == uncached
    assert all(len(fs) >= 9 for fs in fresh)


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ('COOKIES = \'{{"session": "{v}"}}\'\n', "app/client.py"),
        ('const c = "{{\\"sid\\": \\"{v}\\"}}";\n', "web/app.js"),
        ('cookies: \'{{"session_id": "{v}"}}\'\n', "config/app.yaml"),
        ('headers: \'{{"Cookie": "PHPSESSID={v}"}}\'\n', "config/app.yaml"),
        ('{{"state": "{{\\"sessionid\\":\\"{v}\\"}}"}}\n', "data/state.json"),
        ('COOKIE_JSON=\'{{"connect.sid": "{v}"}}\'\n', ".env"),
        ('s.cookies.set("JSESSIONID", "{v}")\n', "app/client.py"),
        ("session_cookie: {v}\n", "config/app.yaml"),
    ],
)
def test_session_cookies_in_json_strings(template: str, path: str) -> None:
    """A session cookie's value is a bearer credential, also inside a JSON string."""
    assert rules(template.format(v=_r(_B62, 32)), path) == ["generic-secret-assignment"]


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("session = colitems[0].session\n", "app/x.py"),
        ("    def __init__(self, session, environ=None):\n", "app/x.py"),
        ("        session: PipSession,\n", "app/x.py"),
        ("    logging_session: Final[CloudWatchLoggingSession | None]\n", "app/x.py"),
        ("SESSION_COOKIE_NAME = 'sessionid'\n", "app/settings.py"),
        ("session_timeout: 3600\n", "config/app.yaml"),
        ("cookie_domain: auth.acme.io\n", "config/app.yaml"),
        ('{"account_sid": "AC' + "0f" * 16 + '"}\n', "config/twilio.json"),
        ("sid: S-1-5-21-3623811015-3361044348-30300820-1013\n", "config/ad.yaml"),
        ("session: redis\n", "config/app.yaml"),
        ("const side = inside(sidebar);\n", "web/app.js"),
    ],
)
def test_session_look_alikes_and_code_are_quiet(text: str, path: str) -> None:
    """Names, settings, resource ids and Python parameters or annotations, not values."""
    assert rules(text, path) == []


def _pem(label: str, lines: int) -> str:
    body = "\n".join(_r(_B62 + "+/", 64) for _ in range(lines))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"


@pytest.mark.parametrize(
    "template",
    [
        "users:\n- name: ci\n  user:\n    client-key-data: {v}\n",
        'KEY = "{v}"\n',
        "TLS_KEY_B64={v}\n",
    ],
)
@pytest.mark.parametrize("label", ["RSA PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY"])
def test_base64_encoded_private_keys(template: str, label: str) -> None:
    """A PEM key written as base64 (kubeconfig, CI variables): it was past every rule (no
    header in the text, and too long a value for the name rule)."""
    value = base64.b64encode(_pem(label, 8).encode()).decode()
    assert rules(template.format(v=value), "deploy/kubeconfig") == ["private-key"]


@pytest.mark.parametrize(
    "pem",
    [
        "-----BEGIN CERTIFICATE-----\n" + "MIIB" * 40 + "\n-----END CERTIFICATE-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\n" + "A" * 64 + "\n",  # a filler, not key material
    ],
)
def test_base64_certificates_and_empty_keys_are_quiet(pem: str) -> None:
    value = base64.b64encode(pem.encode()).decode()
    assert rules(f"    client-certificate-data: {value}\n", "kubeconfig") == []


def _ppk(private_lines: int) -> str:
    return (
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: ci\nPublic-Lines: 2\n"
        f"{_r(_B62, 64)}\n{_r(_B62, 4)}\nPrivate-Lines: {private_lines}\n"
        + "".join(f"{_r(_B62, 64 if private_lines > 1 else 48)}\n" for _ in range(private_lines))
        + f"Private-MAC: {_r('0123456789abcdef', 64)}\n"
    )


@pytest.mark.parametrize("private_lines", [1, 14])
def test_putty_key_files(private_lines: int) -> None:
    found = scan_text(_ppk(private_lines), "keys/deploy.ppk")
    assert [(f.line, f.rule_id) for f in found] == [(1, "private-key")]


def test_putty_header_without_key_is_quiet() -> None:
    text = "Files start with `PuTTY-User-Key-File-3:` and list `Private-Lines:`.\n"
    assert rules(text, "docs/keys.md") == []
    assert rules(_ppk(1).split("Private-Lines")[0], "keys/half.ppk") == []


@pytest.mark.parametrize("text", ["pin: 73829104\n", "pin_code: 7273616624\n", "PIN=48291037\n"])
def test_long_random_pins(text: str) -> None:
    assert rules(text, "config/atm.yaml") == ["generic-secret-assignment"]


@pytest.mark.parametrize(
    "text",
    [
        "pin: 1234\n",
        "pin_memory: true\n",
        'pin: "3.2.1"\n',
        "spinner: 73829104\n",
        "pin: 20240101\n",
    ],
)
def test_short_pins_and_pin_words_are_quiet(text: str) -> None:
    assert rules(text, "config/atm.yaml") == []


@pytest.mark.parametrize(
    "template",
    ['stripe_key = "{v}"\n', "MAILGUN_KEY={v}\n", '{{"pusherKey": "{v}"}}\n', "algolia-key: {v}\n"],
)
def test_provider_named_keys(template: str) -> None:
    """`<provider>_key` with a random value: no rule read `key` as the last word."""
    path = {"s": "app/settings.py", "M": ".env", "{": "config/app.json"}.get(template[0])
    assert rules(template.format(v=_r(_B62, 32)), path or "config/app.yaml") == [
        "generic-secret-assignment"
    ]


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('      "result_key": "PromptSummaryList"\n', "data/paginators-1.json"),
        ('      "result_key": "graphqlApis"\n', "data/paginators-1.json"),
        ('      "result_key": "ByoipCidrs"\n', "data/paginators-1.json"),
        ('"S3Key": "my-app/22a0-stage-150819_185942.war"\n', "data/examples.json"),
        ('cache_key = f"{user_id}:{digest(payload)}"\n', "app/cache.py"),
        ('attributes_key = f"{decapitalize(kind)}DecisionAttributes"\n', "app/swf.py"),
        ("primary_key: xK9mQ2vL8pR4\n", "db/schema.yaml"),
        ("ssh_key: ~/.ssh/id_ed25519.pub\n", "config/app.yaml"),
        ('sort_key = "createdAtTimestamp"\n', "app/models.py"),
    ],
)
def test_identifier_values_and_lookup_keys_are_quiet(text: str, path: str) -> None:
    """Camel-case identifiers (`Of`, `Ip`, `Arns` pieces) and lookup, object or public keys."""
    assert rules(text, path) == []

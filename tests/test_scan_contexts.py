"""The generic rule in every common assignment syntax, and the false-alarm classes."""

from __future__ import annotations

import pytest

from sealedcfg.scan import scan_text

KEY = "Vq8mZ2xR4tLw9bN3cJ7kP1sD6fH0gY5e"  # random base62, written for these tests
UUID = "3f1c9a72-5b0e-4d8a-9c61-7e2f4b8d0a13"

SYNTAXES = [
    ("a.ini", f'acmeToken="{KEY}"'),
    ("a.ini", f"acmeToken = {KEY}"),
    ("a.json", f'{{\n  "acme_token": "{KEY}"\n}}'),
    ("a.txt", f'\\{{\n  \\"acme_token\\": \\"{KEY}\\"\n\\}}'),
    ("a.xml", f"<acmeToken>{KEY}</acmeToken>"),
    ("a.xml", f"<acmeToken>\n    {KEY}\n</acmeToken>"),
    ("a.yaml", f"acme_token: {KEY}"),
    ("a.yaml", f"acme_token: |\n  {KEY}"),
    ("a.yaml", f"acme_token: >\n  {KEY}"),
    ("A.cs", f'string acmeToken = "{KEY}";'),
    ("a.go", f'var acmeToken string = "{KEY}"'),
    ("a.go", f"acmeToken := `{KEY}`"),
    ("A.java", f'String acmeToken = "{KEY}";'),
    ("a.kt", f'var acmeToken: String = "{KEY}"'),
    ("a.php", f'$acmeToken .= "{KEY}";'),
    ("a.php", f'$acmeToken ??= "{KEY}";'),
    ("a.py", f"acme_token = '{KEY}'"),
    ("a.py", f"acme_token = {KEY}"),  # bare but random: a pasted value, not a name
    ("a.csv", f"acmeToken,{KEY},"),
    ("logstash.conf", f'  "acmeToken" => "{KEY}"'),
    ("Makefile", f'ACME_TOKEN = "{KEY}"'),
    ("Makefile", f'ACME_TOKEN := "{KEY}"'),
    ("Makefile", f'ACME_TOKEN ::= "{KEY}"'),
    ("Makefile", f'ACME_TOKEN :::= "{KEY}"'),
    ("Makefile", f'ACME_TOKEN ?= "{KEY}"'),
    ("Makefile", f'ACME_TOKEN += "{KEY}"'),
    ("Dockerfile", f"ENV ACME_API_KEY {KEY}"),
    ("notes.txt", f"ENV ACME_API_KEY {KEY}"),
    ("main.tf", f'  acme_api_key = "{KEY}"'),
    ("a.rb", f"config.acme_api_key = '{KEY}'"),
    ("a.properties", f"acme.api.key={KEY}"),
    ("README.md", f"```\nACME_API_KEY={KEY}\n```"),
    ("a.json", f'{{"env": "ACME_TOKEN={KEY}"}}'),
    ("a.yaml", f"acme_api_key: {UUID}"),
    ("a.json", f'{{"snyk_token": "{UUID.upper()}"}}'),
    (".npmrc", f"//npm.pkg.github.com/:_authToken={UUID}"),
    ("a.yaml", "acme_api_secret: '7402918365'"),
    ("setup.ps1", f'$env:ACME_TOKEN = "{KEY}"'),
    ("server.js", f'process.env.ACME_SECRET = "{KEY}";'),
    ("main.rs", f'const ACME_API_KEY: &str = "{KEY}";'),
    ("main.rs", f'static ACME_TOKEN: &\'static str = "{KEY}";'),
    ("a.cpp", f'acme_token: std::string = "{KEY}";'),
    ("analysis.R", f'acme_api_key <- "{KEY}"'),
    ("a.xml", f"<acmeToken><![CDATA[{KEY}]]></acmeToken>"),
    (".pgpass", f"db.internal:5432:*:billing:{KEY}"),
    ("pgpass.conf", f"db\\:primary:5432:app:app:{KEY}"),
]


@pytest.mark.parametrize(("path", "text"), SYNTAXES)
def test_generic_in_every_syntax(path: str, text: str) -> None:
    assert [f.rule_id for f in scan_text(text, path)] == ["generic-secret-assignment"]


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("README.md", "Broker: amqps://svc:Zt4kQ9wLm2xP7vR3@mq.internal:5671/prod"),
        ("notes.txt", "amqp://app:h7Gk2mQ9xLp4@rabbit:5672/"),
        ("a.py", 'BROKER = "amqp://worker:Rk3vLz8pQ2mX@queue.internal//"'),
    ],
)
def test_url_credentials_in_any_file(path: str, text: str) -> None:
    assert [f.rule_id for f in scan_text(text, path)] == ["url-credentials"]


FALSE_ALARMS = [
    ("a.go", 'const PasswordPattern = "^.{8,32}$"'),
    ("a.py", 'PASSWORD_REGEX = r"^(?=.*\\d)(?=.*[a-z]).{8,}$"'),
    ("a.js", "const passwordChars = '[A-Za-z0-9_]+';"),
    ("a.yaml", "password: ',.:-@*?!'"),
    ("a.yaml", "password: shorter-version"),
    ("a.yaml", "password: '***'"),
    ("a.txt", "# must start with -----BEGIN RSA PRIVATE KEY----- and end with the END line"),
    ("a.yaml", "  # tls.key: -----BEGIN PRIVATE KEY-----\n  # (paste the key body here)"),
    ("a.go", 'const pemHeader = "-----BEGIN RSA PRIVATE KEY-----"\nfunc x() {}'),
    ("a.html", f'<input name="authenticity_token" value="{KEY}{KEY}==">'),
    (".env", f'DATABASE_PASSWORD="encrypted:BKy2X9{KEY}{KEY}=="'),
    ("a.yaml", "password: ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]"),
    ("a.yml", "db_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6132356334"),
    ("tests/test_login.py", 'client.login(username="alice", password="pw123")'),
    ("src/auth.spec.ts", 'await login({ password: "secret12" })'),
    ("a.yaml", "api_key_id: 3f1c9a72-5b0e-4d8a-9c61-7e2f4b8d0a13"),
    ("a.yaml", "token_expiry_seconds: 86400"),
    ("a.yaml", "api_key: 00000000-0000-0000-0000-000000000000"),
    ("a.py", 'def hash_password(password: str, method: str = "scrypt") -> str:'),
    ("a.py", "def login(self, session, environ=None):"),
    ("a.py", "    session: Final[ClientSession | None] = None"),
    ("server.js", 'process.env.TOKEN_HEADER = "x-auth-token";'),
    ("setup.ps1", '$env:PATH = "C:\\tools;$env:PATH"'),
    ("analysis.R", 'api_key <- Sys.getenv("ACME_API_KEY")'),
    ("a.xml", "<passwordPolicy><![CDATA[^.{12,}$]]></passwordPolicy>"),
    (".pgpass", "# hostname:port:database:username:password"),
    (".pgpass", "db:5432:app:app:*"),
]


@pytest.mark.parametrize(("path", "text"), FALSE_ALARMS)
def test_false_alarm_classes(path: str, text: str) -> None:
    assert scan_text(text, path) == []


def test_test_files_still_report_random_and_provider_secrets() -> None:
    text = f'API_KEY = "{KEY}"\n'
    assert [f.rule_id for f in scan_text(text, "tests/test_api.py")] == [
        "generic-secret-assignment"
    ]


def test_hand_typed_runs_inside_a_key_are_not_placeholders() -> None:
    # half random: the typed run does not make the whole value a placeholder
    text = f"api_secret = QWERTYUIOP{KEY}\n"
    assert [f.rule_id for f in scan_text(text, "a.env")] == ["generic-secret-assignment"]
    assert scan_text("api_secret = QWERTYUIOP1\n", "a.env") == []

"""Unit tests per rule, per suppression, allow comments, fingerprints, file handling."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

from sealedcfg.scan import (
    Finding,
    Skipped,
    filter_allowed,
    load_allowlist,
    scan_bytes,
    scan_file,
    scan_text,
)
from sealedcfg.scan.model import fingerprint
from sealedcfg.scan.providers import github_checksum_ok

_spec = importlib.util.spec_from_file_location(
    "make_corpus", Path(__file__).resolve().parent.parent / "fixtures/scan/make_corpus.py"
)
assert _spec is not None
assert _spec.loader is not None
_mc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mc)
G: Any = _mc.Gen(7)

PW = G.password()
TOK = G.s(_mc.B62, 32)
AWS_SECRET = G.aws_secret()


def rules(text: str, path: str = "x.txt") -> list[str]:
    return [f.rule_id for f in scan_text(text, path)]


POSITIVES = [
    ("aws-access-key-id", "a.py", f'key_id = "{G.akid()}"'),
    ("aws-access-key-id", "a.env", f"AWS_ACCESS_KEY_ID={G.akid('ASIA')}"),
    ("aws-secret-access-key", ".env", f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}"),
    ("aws-secret-access-key", "a.sh", f"aws configure set aws_secret_access_key {AWS_SECRET}"),
    ("github-pat", "a.sh", f"export GH={G.gh('ghp_')}"),
    ("github-oauth", "a.py", f'T = "{G.gh("gho_")}"'),
    ("github-app-token", "a.py", f'T = "{G.gh("ghs_")}"'),
    ("github-app-token", "a.py", f'T = "{G.gh("ghu_")}"'),
    ("github-refresh-token", "a.py", f'T = "{G.gh("ghr_")}"'),
    ("github-fine-grained-pat", "a.py", f'T = "github_pat_{G.s(_mc.B62, 22)}_{G.s(_mc.B62, 59)}"'),
    ("gitlab-pat", "a.yaml", f"token: {G.gitlab()}"),
    ("gitlab-token", "a.yaml", f"t: {G.gitlab('gldt-')}"),
    ("slack-token", "a.js", f"const t = '{G.slack_bot()}';"),
    ("slack-app-token", "a.js", f"const t = '{G.slack_app()}';"),
    ("slack-webhook-url", "a.yaml", f"hook: {G.slack_hook()}"),
    ("stripe-secret-key", "a.rb", f"Stripe.api_key = '{G.stripe('sk')}'"),
    ("stripe-secret-key", "a.rb", f"k = '{G.stripe('sk', 'test')}'"),
    ("stripe-restricted-key", "a.rb", f"k = '{G.stripe('rk')}'"),
    ("openai-api-key", ".env", f"OPENAI_API_KEY={G.openai()}"),
    ("openai-api-key", ".env", f"OPENAI_API_KEY={G.openai('proj')}"),
    ("openai-api-key", ".env", f"OPENAI_API_KEY={G.openai('svcacct')}"),
    ("anthropic-api-key", ".env", f"ANTHROPIC_API_KEY={G.anthropic()}"),
    ("anthropic-admin-key", ".env", f"ANTHROPIC_ADMIN={G.anthropic('admin01')}"),
    ("google-api-key", "a.json", f'{{"apiKey": "{G.google()}"}}'),
    ("twilio-api-key", "a.py", f'k = "SK{G.hexs(32)}"'),
    ("twilio-auth-token", ".env", f"TWILIO_AUTH_TOKEN={G.hexs(32)}"),
    ("sendgrid-api-key", "a.py", f'k = "{G.sendgrid()}"'),
    ("npm-token", ".npmrc", f"//registry.npmjs.org/:_authToken={G.npm()}"),
    ("pypi-token", ".pypirc", f"password = {G.pypi()}"),
    ("age-secret-key", "key.txt", G.age()),
    ("jwt", "a.py", f'T = "{G.jwt()}"'),
    ("url-credentials", "a.py", f'U = "postgres://app:{TOK[:16]}@db:5432/app"'),
    ("connection-string-password", "a.cs", f'c = "Server=db;User Id=sa;Password={PW};"'),
    ("connection-string-password", "a.java", f'u = "jdbc:mysql://db/app?user=a&password={PW}";'),
    ("generic-secret-assignment", "a.py", f'password = "{PW}"'),
    ("generic-secret-assignment", "a.py", f'API_KEY: str = "{TOK}"'),
    ("generic-secret-assignment", "a.js", f"const apiSecret = '{TOK}';"),
    ("generic-secret-assignment", "a.ts", f'const token: string = "{TOK}";'),
    ("generic-secret-assignment", "a.go", f'\tpassword := "{PW}"'),
    ("generic-secret-assignment", "A.java", f'String password = "{PW}";'),
    ("generic-secret-assignment", "a.rb", f"@password = '{PW}'"),
    ("generic-secret-assignment", "a.sh", f"export DB_PASSWORD={PW}"),
    ("generic-secret-assignment", ".env", f"SECRET_KEY={TOK}"),
    ("generic-secret-assignment", "a.ini", f"password = {PW}"),
    ("generic-secret-assignment", "a.properties", f"db.password={PW}"),
    ("generic-secret-assignment", "Dockerfile", f"ENV API_TOKEN={TOK}"),
    ("generic-secret-assignment", "Dockerfile", f"ARG DB_PASSWORD={PW}"),
    ("generic-secret-assignment", "a.yaml", "password: hunter2"),
    ("generic-secret-assignment", "a.yaml", f"client_secret: '{TOK}'"),
    ("generic-secret-assignment", "a.json", f'{{"password": "{PW}"}}'),
    ("generic-secret-assignment", "a.toml", f'api_key = "{TOK}"'),
    ("generic-secret-assignment", "a.tf", f'  password = "{PW}"'),
    ("generic-secret-assignment", "a.xml", f'<add key="ApiKey" value="{TOK}"/>'),
    ("generic-secret-assignment", "a.xml", f"<password>{PW}</password>"),
    ("generic-secret-assignment", "a.php", f"define('DB_PASSWORD', '{PW}');"),
]


@pytest.mark.parametrize(("rule", "path", "line"), POSITIVES)
def test_rule_positive(rule: str, path: str, line: str) -> None:
    assert rules(line, path) == [rule]


def test_private_key_blocks() -> None:
    for label in (
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "DSA PRIVATE KEY",
        "PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "PGP PRIVATE KEY BLOCK",
    ):
        block = "\n".join(G.pem(label))
        assert rules(f"# key\n{block}\n", "k.pem") == ["private-key"], label
    escaped = "\\n".join(G.pem("PRIVATE KEY"))
    assert rules(f'{{"private_key": "{escaped}"}}', "sa.json") == ["private-key"]


NEGATIVES = [
    ("a.py", 'password = "${DB_PASSWORD}"'),
    ("a.sh", "export PASSWORD=$DB_PASSWORD"),
    ("a.yaml", "password: '{{ db_password }}'"),
    ("a.ini", "password = %(password)s"),
    ("a.env", "API_KEY=<your-key>"),
    ("a.env", "SECRET_KEY=changeme"),
    ("a.env", "TOKEN=xxxxxxxxxxxxxxxxxxxx"),
    ("a.env", "PASSWORD=***"),
    ("a.env", "API_KEY=REDACTED"),
    ("a.yaml", "api_key: example-key-1234567890"),
    ("a.yaml", "token: dummy"),
    ("a.py", 'API_KEY = "your_api_key_here"'),
    ("a.yaml", "password: TODO"),
    ("a.yaml", "password:"),
    ("a.yaml", 'password: ""'),
    ("a.yaml", "password: null"),
    ("a.py", "password = None"),
    ("a.yaml", "secret: true"),
    ("a.env", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"),
    ("a.env", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("a.py", f'token = "EXAMPLE{TOK}"'),
    ("a.json", f'"integrity": "sha512-{G.s(_mc.B64, 86)}=="'),
    ("a.yaml", f"md5: {G.hexs(32)}"),
    ("a.yaml", f"commit: {G.hexs(40)}"),
    ("a.yaml", f"sha256: {G.hexs(64)}"),
    ("a.yaml", f"sha512: {G.hexs(128)}"),
    ("a.yaml", f"digest: sha256:{G.hexs(64)}"),
    ("a.yaml", f"password_hash: {G.hexs(64)}"),
    ("a.yaml", f"api_key_id: {G.uuid()}"),
    ("a.yaml", f"tenant: {G.uuid()}"),
    ("a.yaml", f"auth_client: {G.uuid()}"),
    ("a.yaml", "api_key: 00000000-0000-0000-0000-000000000000"),
    ("a.pem", "-----BEGIN PUBLIC KEY-----\n" + G.s(_mc.B64, 64) + "\n-----END PUBLIC KEY-----"),
    ("a.pem", "\n".join(G.pem("CERTIFICATE"))),
    ("a.yaml", "ssh_key: ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ" + G.s(_mc.B64, 60) + " me@h"),
    ("a.yaml", "key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + G.s(_mc.B64, 43)),
    ("a.yaml", "recipient: age1" + G.s("qpzry9x8gf2tvdw0s3jn54khce6mua7l", 58)),
    ("a.env", f"STRIPE_KEY=pk_live_{TOK}"),
    ("a.env", f"STRIPE_KEY=pk_test_{TOK}"),
    ("a.py", 'password = os.environ["DB_PASSWORD"]'),
    ("a.js", "const token = process.env.API_TOKEN;"),
    ("a.go", 'token := os.Getenv("TOKEN")'),
    ("a.py", "password = get_password()"),
    ("a.yaml", "token: settings.TOKEN"),
    ("a.py", "password: str"),
    ("a.ts", "  apiKey?: string;"),
    ("a.yaml", f"password: {G.sealed()}"),
    ("a.yaml", "password: ENC[AES256_GCM,data:Tr4e,iv:" + G.s(_mc.B64, 44) + ",type:str]"),
    ("a.yaml", "password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  " + G.hexs(80)),
    (
        "a.txt",
        "-----BEGIN AGE ENCRYPTED FILE-----\n"
        + G.s(_mc.B64, 64)
        + "\n-----END AGE ENCRYPTED FILE-----",
    ),
    ("a.env", f"TWILIO_ACCOUNT_SID=AC{G.hexs(32)}"),
    ("a.sh", f"export GITHUB_TOKEN={G.gh('ghp_', valid=False)}"),
    ("a.yaml", "token_type: bearer"),
    ("a.yaml", "max_tokens: 4096"),
    ("docs/a.md", "export DB_PASSWORD=hunter2"),
    ("a.yaml", "url: postgres://user:password@localhost/db"),
    ("a.yaml", "url: postgres://postgres:postgres@localhost/db"),
    ("a.py", 'u = f"postgres://{user}:{pw}@{host}/db"'),
]


@pytest.mark.parametrize(("path", "text"), NEGATIVES)
def test_suppressed(path: str, text: str) -> None:
    assert rules(text, path) == []


def test_github_checksum() -> None:
    assert github_checksum_ok(G.gh("ghp_"))
    assert not github_checksum_ok(G.gh("ghp_", valid=False))


@pytest.mark.parametrize(
    "comment",
    [
        "# sealedcfg: allow",
        "// sealedcfg: allow",
        "-- sealedcfg: allow",
        "; sealedcfg: allow",
        "/* sealedcfg: allow */",
        "<!-- sealedcfg: allow -->",
    ],
)
def test_inline_allow(comment: str) -> None:
    assert rules(f"password = {PW}  {comment}", "a.ini") == []


def test_allow_next_line() -> None:
    text = f"# sealedcfg: allow-next-line\npassword = {PW}\npassword = {PW}x\n"
    assert [f.line for f in scan_text(text, "a.ini")] == [3]
    # allow-next-line does not silence its own line
    assert rules(f"password = {PW}  # sealedcfg: allow-next-line", "a.ini") != []


def test_fingerprint_stable_when_secret_moves() -> None:
    (a,) = scan_text(f"password = {PW}\n", "conf/a.ini")
    (b,) = scan_text(f"[db]\n\npassword = {PW}\n", "conf/a.ini")
    assert a.line != b.line
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint == fingerprint("generic-secret-assignment", "conf/a.ini", PW)
    (c,) = scan_text(f"password = {PW}\n", "conf/b.ini")
    (d,) = scan_text(f"password = {PW}!\n", "conf/a.ini")
    assert len({a.fingerprint, c.fingerprint, d.fingerprint}) == 3
    (e,) = scan_text(f"password = {PW}\n", "./conf\\a.ini")
    assert e.fingerprint == a.fingerprint


def test_no_secret_in_message_or_repr() -> None:
    texts = [
        f"password = {PW}\n",
        f"TOKEN={G.gh('ghp_')}\n",
        f"client_secret: {TOK}\n",
        "\n".join(G.pem("RSA PRIVATE KEY")),
    ]
    for text in texts:
        for f in scan_text(text, "a.env"):
            secret_part = text.split("=", 1)[-1].split(":", 1)[-1].strip()[4:20]
            assert secret_part not in f.message
            assert secret_part not in repr(f)
            assert "…" in f.message
    (f,) = scan_text("password: hunter2\n", "a.yaml")
    assert "hunt" not in f.message
    assert "7 chars" in f.message


def test_allowlist_file(tmp_path: Path) -> None:
    findings = scan_text(f"password = {PW}\napi_key = {TOK}\n", "a.ini")
    assert len(findings) == 2
    allow = tmp_path / ".sealedcfg-allow"
    allow.write_text(
        f"# accepted test fixtures\n\n{findings[0].fingerprint}  generic  a.ini  # reason\n"
        "not-a-fingerprint\n",
        encoding="utf-8",
    )
    loaded = load_allowlist(allow)
    assert loaded == frozenset({findings[0].fingerprint})
    assert filter_allowed(findings, loaded) == [findings[1]]
    assert load_allowlist(tmp_path / "missing") == frozenset()


def test_binary_and_oversize_are_skipped(tmp_path: Path) -> None:
    binary = tmp_path / "a.bin"
    binary.write_bytes(b"\x89PNG\0\0" + f"password = {PW}".encode())
    assert scan_file(binary) == Skipped(str(binary), "binary file")
    big = tmp_path / "big.env"
    big.write_bytes(b"A=1\n" * 300_000)
    result = scan_file(big, display_path="big.env")
    assert result == Skipped("big.env", "larger than 1 MiB")
    assert isinstance(scan_bytes(b"x" * 2048, "a", max_bytes=1024), Skipped)
    assert isinstance(scan_file(tmp_path / "nope"), Skipped)
    unreadable = scan_file(tmp_path)
    assert isinstance(unreadable, Skipped)
    assert unreadable.reason.startswith("unreadable: ")


def test_non_utf8_is_scanned_around_bad_bytes() -> None:
    data = b"# caf\xe9 \xff\xfe\n" + f"password = {PW}\n".encode()
    result = scan_bytes(data, "a.ini")
    assert isinstance(result, list)
    assert [(f.line, f.rule_id) for f in result] == [(2, "generic-secret-assignment")]
    utf16 = f"TOKEN={G.gh('ghp_')}\n".encode("utf-16")
    result16 = scan_bytes(utf16, "a.env")
    assert isinstance(result16, list)
    assert [f.rule_id for f in result16] == ["github-pat"]


def test_scan_file_uses_display_path(tmp_path: Path) -> None:
    p = tmp_path / "a.env"
    p.write_text(f"DB_PASSWORD={PW}\n", encoding="utf-8")
    result = scan_file(os.fspath(p), display_path="conf/a.env")
    assert isinstance(result, list)
    (f,) = result
    assert isinstance(f, Finding)
    assert f.path == "conf/a.env"
    assert (f.line, f.col) == (1, 13)


# Blind spots found with the hand-written corpus (fixtures/scan/independent).
INDEPENDENT_POSITIVES = [
    ("generic-secret-assignment", "a.sh", f"mysql -uroot -p{PW} -h db app < dump.sql"),
    ("generic-secret-assignment", "a.sh", f"mysqladmin -uroot -p'{PW}' status"),
    ("generic-secret-assignment", "a.json", f'{{"dump": "mysqldump -uroot -p{PW} app"}}'),
    ("generic-secret-assignment", "a.sh", f"docker login -u ci -p {PW} registry.gitlab.com"),
    ("generic-secret-assignment", "a.sh", f"sshpass -p '{PW}' ssh deploy@10.0.0.5"),
    ("generic-secret-assignment", "a.sh", f"redis-cli -h cache -a {PW} ping"),
    ("generic-secret-assignment", "a.sh", f"curl -u admin:{PW} https://nexus.internal/x"),
    ("generic-secret-assignment", "a.yml", f"  - curl --user deploy:{PW} https://x"),
    ("generic-secret-assignment", "a.conf", f'proxy_set_header Authorization "Basic {TOK}=";'),
    ("generic-secret-assignment", "a.js", f"h = {{Authorization: 'Bearer {TOK}'}}"),
    ("generic-secret-assignment", "a.sql", f"CREATE USER 'app'@'%' IDENTIFIED BY '{PW}';"),
    ("generic-secret-assignment", "a.sql", f"CREATE ROLE ro WITH LOGIN PASSWORD '{PW}';"),
    ("generic-secret-assignment", "a.sql", f"CREATE LOGIN app WITH PASSWORD = '{PW}';"),
    ("generic-secret-assignment", "a.go", f'req.SetBasicAuth("admin", "{PW}")'),
    ("generic-secret-assignment", "a.py", f'get(u, auth=HTTPBasicAuth("svc", "{PW}"))'),
    ("generic-secret-assignment", "redis.conf", f"requirepass {PW}"),
    ("generic-secret-assignment", "redis.conf", f"masterauth {PW}"),
    ("generic-secret-assignment", "a.properties", f"db.password {PW}"),
    ("generic-secret-assignment", "a.ipynb", f'    "DB_PASSWORD = \\"{PW}\\"\\n",'),
    ("generic-secret-assignment", "a.json", f'"cmd": "export TOKEN=\\"{TOK}\\""'),
    ("mailgun-api-key", ".env", "MAILGUN_API_KEY=key-3ax6xnjp29jd6fds4gc373sgvjxteol0"),
    ("connection-string-password", "a.go", f'd := "host=db user=app password={PW} dbname=app"'),
    ("connection-string-password", "a.py", f"c = connect(\"host=db password='{PW}'\")"),
]


@pytest.mark.parametrize(("rule", "path", "line"), INDEPENDENT_POSITIVES)
def test_independent_positive(rule: str, path: str, line: str) -> None:
    assert rules(line, path) == [rule]


def test_yaml_block_scalar_value() -> None:
    (f,) = scan_text(f"jwt:\n  secret: >\n    {TOK}\n  ttl: 3600\n", "a.yml")
    assert (f.line, f.col, f.rule_id) == (3, 5, "generic-secret-assignment")
    assert rules(f"secret: |-\n  {TOK}\n", "a.yaml") == ["generic-secret-assignment"]
    # multi-line bodies and prose are not one value
    assert rules(f"secret: |\n  {TOK}\n  {TOK}\n", "a.yaml") == []
    assert rules("description: >\n  Keep the secret safe\n", "a.yaml") == []
    assert rules("token: >-\n  ${TOKEN}\n", "a.yaml") == []


def test_escaped_json_column_points_at_the_secret() -> None:
    line = f'    "api_key = \\"{TOK}\\"\\n",'
    (f,) = scan_text(line, "nb.ipynb")
    assert line[f.col - 1 : f.col - 1 + len(TOK)] == TOK


INDEPENDENT_NEGATIVES = [
    ("a.sh", "mkdir -p build && cp -p a.txt b.txt"),
    ("a.sh", "mysql -u root -p mydb"),
    ("a.sh", 'mysql -u root -p"$(cat /run/secrets/pw)" app'),
    ("a.sh", 'mysqldump -u root -p"$MYSQL_ROOT_PASSWORD" app'),
    ("a.sh", "docker login -u $USER -p $TOKEN registry"),
    ("a.sh", "echo $PW | docker login -u deploy --password-stdin registry.acme.io"),
    ("a.sh", "docker run -p 8080:80 postgres"),
    ("a.sh", "curl -u admin:admin http://localhost"),
    ("a.sh", 'curl -u "${JENKINS_USER}:${JENKINS_TOKEN}" https://ci'),
    ("a.sh", "curl -u username:password https://x"),
    ("a.sh", 'curl -H "Authorization: Bearer $TOKEN" https://x'),
    ("a.sh", 'curl -H "Authorization: Basic dXNlcjpwYXNzd29yZA==" https://x'),
    ("a.md", 'curl -H "Authorization: Bearer <token>" https://x'),
    ("a.md", "mysql -uroot -proot"),
    ("a.go", 'req.Header.Set("Authorization", "Bearer "+tok)'),
    (
        "a.sql",
        "CREATE USER 'u'@'%' IDENTIFIED BY PASSWORD '*94BDCEBE19083CE2A1F959FD02F964C7AF4CFC29';",
    ),
    ("a.sql", "CREATE USER 'u'@'%' IDENTIFIED BY '${DB_PASS}';"),
    ("a.sql", "ALTER USER postgres WITH PASSWORD 'postgres';"),
    ("a.go", 'dsn := fmt.Sprintf("host=%s user=%s password=%s", h, u, p)'),
    ("a.conf", "SSLPassPhraseDialog builtin"),
    ("a.conf", "auth_request /auth;"),
    ("a.py", 'requests.get(u, auth=("user", os.environ["PW"]))'),
    ("a.py", 'msg = "Set \\"password\\" field"'),
    ("a.ts", '  authDomain: "acme-web-4f2a1.firebaseapp.com",'),
    ("a.html", f'<input type="hidden" name="csrf_token" value="{TOK}">'),
    (
        "a.py",
        'T = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4g'
        'RG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"',
    ),
]


@pytest.mark.parametrize(("path", "text"), INDEPENDENT_NEGATIVES)
def test_independent_suppressed(path: str, text: str) -> None:
    assert rules(text, path) == []


def test_azure_connection_string_keys() -> None:
    key = "q" + "Zx8Kp2Lm9Vt4Rw7Yb3Nc6Hd1Fg5Js0Ua" * 2 + "Qe3Wr5Ty7Ui9Op1As3Df5Gh7Jk9L=="
    storage = f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={key};"
    bus = (
        f"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=R;SharedAccessKey={key[:44]}"
    )
    for line in (storage, bus):
        assert [f.rule_id for f in scan_text(f'CONN="{line}"\n', "app.env")] == [
            "connection-string-password"
        ]
    placeholder = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=<your-key>;"
    assert scan_text(f'CONN="{placeholder}"\n', "app.env") == []

"""AWS KMS recipients against a real KMS-compatible HTTP server: moto's server
mode, started on a free 127.0.0.1 port for this module and stopped after it.

The CLI runs as a subprocess with the usual AWS environment (credentials,
region, AWS_ENDPOINT_URL_KMS), so botocore speaks HTTP to the server exactly
as it would to AWS.  The server's request log counts the KMS calls.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli.main import app
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode, InputError, KeyServiceError, NoKeyError, OpenError
from sealedcfg.recipients import kms

from .conftest import FAST, visible, write
from .subproc import cli, one_error_line

pytest.importorskip("boto3", reason="the KMS tests need the test extra (boto3, moto[server])")
pytest.importorskip("moto.server", reason="the KMS tests need moto[server] (the test extra)")

SECRET = "pw-Zq9!x"
runner = CliRunner()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "moto.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)

    def calls(self) -> int:
        """KMS requests served so far (one `POST /` log line each)."""
        return self.log.read_text(errors="replace").count('"POST / HTTP')

    def reset(self) -> None:
        """Forget every key: the server then denies what was sealed under them."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - 127.0.0.1

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("moto"))
    yield srv
    srv.stop()


def aws_env(url: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_KMS": url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


@pytest.fixture
def aws(server: Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = aws_env(server.url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def new_key(server: Server, alias: str | None = None) -> str:
    import boto3

    client = boto3.client(
        "kms",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    arn = str(client.create_key()["KeyMetadata"]["Arn"])
    if alias:
        client.create_alias(AliasName=alias, TargetKeyId=arn)
    return arn


def sc(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI in CWD as its home; no AWS_* setting of the caller's takes part."""
    return cli(*args, cwd=cwd, home=cwd, env=env, drop=("AWS_",), timeout=120)


one_error = one_error_line


def sealed_for_kms(tmp_path: Path, server: Server, key: str, name: str = "prod.yaml") -> Path:
    target = tmp_path / name
    target.write_text(f"db:\n  pw: {SECRET}\n")
    env = {**aws_env(server.url), "SEALEDCFG_KMS_KEY": key}
    proc = sc(tmp_path, "encrypt", str(target), env=env)
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in target.read_text()
    return target


def test_wrap_and_unwrap_one_call_per_open(tmp_path: Path, server: Server) -> None:
    arn = new_key(server)
    target = sealed_for_kms(tmp_path, server, arn)
    assert f'key: "{arn}"' in target.read_text()
    env = {**aws_env(server.url), "SEALEDCFG_KMS_KEY": arn}
    before = server.calls()
    proc = sc(tmp_path, "decrypt", str(target), env=env)
    assert proc.stdout == f"db:\n  pw: {SECRET}\n", proc.stderr
    assert server.calls() - before == 1
    # an alias works as the recipient, as it was given
    new_key(server, "alias/team-ci")
    other = sealed_for_kms(tmp_path, server, "alias/team-ci", "staging.yaml")
    env["SEALEDCFG_KMS_KEY"] = f"{arn},alias/team-ci"
    assert sc(tmp_path, "get", str(other), "db.pw", env=env).stdout.strip() == SECRET


def test_one_call_per_process_for_a_wrap_opened_twice(
    tmp_path: Path, server: Server, aws: dict[str, str]
) -> None:
    arn = new_key(server)
    target = sealed_for_kms(tmp_path, server, arn)
    keys = KeySource(env={**aws, "SEALEDCFG_KMS_KEY": arn})
    kms._CACHE.clear()
    before = kms.CALLS
    for _ in range(3):
        assert api.decrypt_file(target, keys) == f"db:\n  pw: {SECRET}\n".encode()
    assert kms.CALLS - before == 1


def test_a_kms_key_not_trusted_by_the_reader_is_not_called(tmp_path: Path, server: Server) -> None:
    """The header names the KMS key; the reader calls only keys it lists itself."""
    arn = new_key(server)
    target = sealed_for_kms(tmp_path, server, arn)
    before = server.calls()
    proc = sc(tmp_path, "decrypt", str(target), env=aws_env(server.url))
    line = one_error(proc, ExitCode.NO_KEY)
    assert f"kms {arn}" in line
    assert server.calls() == before


def test_context_binds_the_wrap_to_its_file(tmp_path: Path, server: Server) -> None:
    arn = new_key(server)
    one = sealed_for_kms(tmp_path, server, arn, "one.yaml")
    two = sealed_for_kms(tmp_path, server, arn, "two.yaml")

    def wrapped(p: Path) -> str:
        return next(ln for ln in p.read_text().splitlines() if "wrapped:" in ln)

    two.write_text(two.read_text().replace(wrapped(two), wrapped(one)))
    env = {**aws_env(server.url), "SEALEDCFG_KMS_KEY": arn}
    one_error(sc(tmp_path, "decrypt", str(two), env=env), ExitCode.OPEN)


def test_denied_key(tmp_path: Path, server: Server) -> None:
    """KMS refuses (AccessDeniedException: the alias now names a key that did not wrap
    it; NotFoundException: the key is gone): one line each, exit 8, nothing written."""
    import boto3

    new_key(server, "alias/denied")
    target = sealed_for_kms(tmp_path, server, "alias/denied")
    client = boto3.client(
        "kms",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.update_alias(AliasName="alias/denied", TargetKeyId=new_key(server))
    env = {**aws_env(server.url), "SEALEDCFG_KMS_KEY": "alias/denied"}
    before = target.read_bytes()
    line = one_error(sc(tmp_path, "decrypt", str(target), env=env), ExitCode.KEY_SERVICE)
    assert "KMS refused to decrypt with key alias/denied (AccessDeniedException)" in line
    one_error(sc(tmp_path, "rotate", str(target), env=env), ExitCode.KEY_SERVICE)
    assert target.read_bytes() == before
    server.reset()
    line = one_error(sc(tmp_path, "decrypt", str(target), env=env), ExitCode.KEY_SERVICE)
    assert "NotFoundException" in line
    # wrapping for a key KMS does not know: refused, nothing written
    fresh = tmp_path / "new.yaml"
    fresh.write_text(f"pw: {SECRET}\n")
    line = one_error(sc(tmp_path, "encrypt", str(fresh), env=env), ExitCode.KEY_SERVICE)
    assert "KMS refused to encrypt" in line
    assert fresh.read_text() == f"pw: {SECRET}\n"


def test_unreachable_endpoint(tmp_path: Path, server: Server) -> None:
    arn = new_key(server)
    target = sealed_for_kms(tmp_path, server, arn)
    before = target.read_bytes()
    down = {**aws_env(f"http://127.0.0.1:{free_port()}"), "SEALEDCFG_KMS_KEY": arn}
    started = time.monotonic()
    proc = sc(tmp_path, "decrypt", str(target), env=down)
    elapsed = time.monotonic() - started
    line = one_error(proc, ExitCode.KEY_SERVICE)
    assert "cannot reach KMS" in line
    assert f"{kms.MAX_ATTEMPTS} attempts" in line
    assert "Traceback" not in proc.stderr
    assert elapsed < 60  # bounded retries, not botocore's default backoff
    proc = sc(tmp_path, "rotate", str(target), env=down)
    one_error(proc, ExitCode.KEY_SERVICE)
    assert target.read_bytes() == before


def test_add_a_kms_recipient_and_open_with_it(tmp_path: Path, server: Server) -> None:
    arn = new_key(server)
    target = tmp_path / "prod.yaml"
    target.write_text(f"pw: {SECRET}\n")
    key = api.keygen()
    assert sc(tmp_path, "encrypt", str(target), env={"SEALEDCFG_KEY": key}).returncode == 0
    env = {**aws_env(server.url), "SEALEDCFG_KEY": key}
    proc = sc(tmp_path, "recipients", "add", str(target), "--kms", arn, "--label", "ci", env=env)
    assert proc.returncode == 0, proc.stderr
    listing = sc(tmp_path, "recipients", "list", str(target)).stdout
    assert f'kms        {arn}  "ci"' in listing
    ci = {**aws_env(server.url), "SEALEDCFG_KMS_KEY": arn}
    assert sc(tmp_path, "decrypt", str(target), env=ci).stdout == f"pw: {SECRET}\n"
    # a malformed KMS key: one line, nothing written
    before = target.read_bytes()
    proc = sc(tmp_path, "recipients", "add", str(target), "--kms", "not an arn", env=env)
    one_error(proc, ExitCode.INPUT)
    assert target.read_bytes() == before


# ---------------------------------------------------------------- in the test process


def kms_client(server: Server) -> Any:
    import boto3

    return boto3.client(
        "kms",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def sealed_in_process(tmp_path: Path, aws: dict[str, str], key: str) -> tuple[Path, KeySource]:
    tmp_path.mkdir(exist_ok=True)
    target = write(tmp_path / "prod.yaml", f"db:\n  pw: {SECRET}\n")
    keys = KeySource(env={**aws, "SEALEDCFG_KMS_KEY": key})
    api.encrypt_file(target, keys, kdf=FAST)
    assert SECRET not in visible(target.read_text())
    return target, keys


def test_in_process_seal_open_list_and_add(
    tmp_path: Path, server: Server, aws: dict[str, str]
) -> None:
    arn = new_key(server)
    target, keys = sealed_in_process(tmp_path, aws, arn)
    assert f'key: "{arn}"' in target.read_text()
    kms._CACHE.clear()
    calls = kms.CALLS
    for _ in range(2):  # the second open is served from the process's cache
        assert api.decrypt_file(target, keys) == f"db:\n  pw: {SECRET}\n".encode()
    assert calls + 1 == kms.CALLS
    assert f"recipient kms {arn}" in api.recipient_lines(target)
    # another file, sealed with a key, gets this KMS key as a recipient through the CLI
    other = write(tmp_path / "other.yaml", f"pw: {SECRET}\n")
    own = api.keygen()
    api.encrypt_file(other, KeySource(key=own, env={}), kdf=FAST)
    env = {"SEALEDCFG_KEY": own}
    result = runner.invoke(app, ["recipients", "add", str(other), "--kms", arn, "--label", "ci"],
                           env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    kms._CACHE.clear()
    assert api.decrypt_file(other, keys) == f"pw: {SECRET}\n".encode()
    before = other.read_bytes()
    result = runner.invoke(app, ["recipients", "add", str(other), "--kms", "not an arn"], env=env)
    assert result.exit_code == ExitCode.INPUT
    assert result.stderr == (
        "sealedcfg: error: --kms: 'not an arn' is not a KMS key ARN, alias ARN, key id or "
        "alias/NAME\n"
    )
    assert other.read_bytes() == before


def test_in_process_a_wrap_must_hold_a_data_key(
    tmp_path: Path, server: Server, aws: dict[str, str]
) -> None:
    """KMS gives back whatever was wrapped under the file's context: 32 bytes go on to the
    key commitment (which refuses a stranger's), anything else is refused at once."""
    from sealedcfg.base.encoding import b64e

    arn = new_key(server)
    target, keys = sealed_in_process(tmp_path, aws, arn)
    text = target.read_text()
    file_id = next(ln.split(": ")[1] for ln in text.splitlines() if ln.startswith("  file_id: "))
    wrapped = next(ln.split(": ")[1] for ln in text.splitlines() if "wrapped: " in ln)
    context = {"sealedcfg_file_id": file_id}
    for size, reaches_commitment in ((32, True), (16, False)):
        blob = kms_client(server).encrypt(
            KeyId=arn, Plaintext=os.urandom(size), EncryptionContext=context
        )["CiphertextBlob"]
        write(target, text.replace(wrapped, b64e(blob)))
        kms._CACHE.clear()
        with pytest.raises(OpenError):
            api.decrypt_file(target, keys)
        assert any(k[1] == blob for k in kms._CACHE) == reaches_commitment


def test_in_process_header_refusals(tmp_path: Path, server: Server, aws: dict[str, str]) -> None:
    arn = new_key(server)
    target, keys = sealed_in_process(tmp_path, aws, arn)
    text = target.read_text()
    wrapped = next(ln.split(": ")[1] for ln in text.splitlines() if "wrapped: " in ln)
    for old, new in ((f'key: "{arn}"', 'key: "not a key"'), (wrapped, "")):
        write(target, text.replace(old, new))
        with pytest.raises(InputError) as info:
            api.decrypt_file(target, keys)
        assert str(info.value) == f"{target}: malformed sealedcfg header"
    # a wrap of this key for another file: KMS refuses it under this file's context
    other, _ = sealed_in_process(tmp_path / "o", aws, arn)
    theirs = next(ln.split(": ")[1] for ln in other.read_text().splitlines() if "wrapped: " in ln)
    write(target, text.replace(wrapped, theirs))
    kms._CACHE.clear()
    with pytest.raises(OpenError):
        api.decrypt_file(target, keys)
    # a reader who trusts another KMS key does not call KMS for this one
    write(target, text)
    calls = kms.CALLS
    with pytest.raises(OpenError):
        api.decrypt_file(target, KeySource(env={**aws, "SEALEDCFG_KMS_KEY": new_key(server)}))
    assert calls == kms.CALLS


def test_in_process_kms_errors(
    tmp_path: Path, server: Server, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each way KMS fails is one error naming the key, never a value."""
    new_key(server, "alias/moved")
    target, keys = sealed_in_process(tmp_path, aws, "alias/moved")
    before = target.read_bytes()
    kms_client(server).update_alias(AliasName="alias/moved", TargetKeyId=new_key(server))
    kms._CACHE.clear()
    with pytest.raises(KeyServiceError) as denied:
        api.decrypt_file(target, keys)
    assert str(denied.value) == (
        "KMS refused to decrypt with key alias/moved (AccessDeniedException)"
    )
    fresh = write(tmp_path / "fresh.yaml", f"pw: {SECRET}\n")
    gone = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000"
    with pytest.raises(KeyServiceError, match=r"^KMS refused to encrypt with key arn:"):
        api.encrypt_file(fresh, KeySource(env={**aws, "SEALEDCFG_KMS_KEY": gone}), kdf=FAST)
    assert fresh.read_text() == f"pw: {SECRET}\n"
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(NoKeyError, match=r"^no AWS credentials to decrypt with KMS key alias/"):
        api.decrypt_file(target, keys)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    with pytest.raises(NoKeyError, match=r"^cannot use KMS key alias/moved: NoRegionError$"):
        api.decrypt_file(target, keys)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(KeyServiceError) as down:
        api.decrypt_file(target, keys)
    assert str(down.value) == (
        "cannot reach KMS to decrypt with key alias/moved (EndpointConnectionError, 2 attempts)"
    )
    assert target.read_bytes() == before

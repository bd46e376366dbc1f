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

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode
from sealedcfg.recipients import kms

from .subproc import cli, one_error_line

pytest.importorskip("boto3", reason="the KMS tests need the test extra (boto3, moto[server])")
pytest.importorskip("moto.server", reason="the KMS tests need moto[server] (the test extra)")

SECRET = "pw-Zq9!x"


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

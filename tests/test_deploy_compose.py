"""The compose files as deployed: no Docker engine runs here, so they are parsed (PyYAML) and what matters
is asserted: a health check per service that fits it, the retention schedule, the password as a secret and
never in a URL, the sites-file guard, the TLS proxy and the cluster balancer's stickiness. The shell entry
point of the ClickHouse containers is run for real."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest
import yaml
from croniter import croniter

from collector.core.settings import ENVIRONMENT
from tests.support.collector import ROOT

PRODUCTION = ROOT / "docker-compose.yml"
CLUSTER = ROOT / "deploy" / "cluster" / "docker-compose.yml"
WRAPPER = ROOT / "deploy" / "clickhouse" / "with-password-file.sh"
NASTY = "p@ss:w/rd#?%&=+ ;'\"<>`$\\é"
#: files the operator provides (documented in docs/operations.md), not the repository
OPERATOR_FILES = {"sites.toml", "clickhouse_password"}


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


def command_text(service: dict[str, Any]) -> str:
    parts = [service.get(key, "") for key in ("command", "entrypoint")]
    return " ".join(" ".join(p) if isinstance(p, list) else str(p) for p in parts)


def health_test(service: dict[str, Any]) -> str:
    check = service.get("healthcheck") or {}
    assert not check.get("disable"), "health check disabled"
    test = check.get("test")
    assert test, "no health check"
    return " ".join(test) if isinstance(test, list) else str(test)


def env_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    assert isinstance(environment, dict), "environment as a mapping"
    return {str(k): str(v) for k, v in environment.items()}


def default_of(value: str) -> str:
    """The value compose gives `${VAR:-default}` when VAR is unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def bind_sources(compose: dict[str, Any]) -> list[str]:
    sources = []
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith("."):
                sources.append(source)
    return sources


@pytest.mark.parametrize("path", [PRODUCTION, CLUSTER], ids=["production", "cluster"])
def test_deploy_compose_every_long_running_service_has_a_fitting_health_check(path: Path) -> None:
    compose = load(path)
    for name, service in compose["services"].items():
        if "setup" in service.get("profiles", []):
            continue  # a one-shot job
        test = health_test(service)
        if "retention" in command_text(service):
            assert "8000" not in test and "retention schedule --check" in test
        if name == "collector":
            assert "127.0.0.1:8000/healthz" in test


@pytest.mark.parametrize("path", [PRODUCTION, CLUSTER], ids=["production", "cluster"])
def test_deploy_compose_password_is_a_secret_never_in_a_url(path: Path) -> None:
    compose = load(path)
    text = path.read_text()
    assert not re.search(r"://[^/\s'\"]*:[^/\s'\"]*@", text), "credentials pasted into a URL"
    assert "CLICKHOUSE_PASSWORD}" not in text and "CLICKHOUSE_PASSWORD:" not in text
    secrets = compose["secrets"]
    for name, service in compose["services"].items():
        environment = env_of(service)
        unknown = [k for k in environment if k.startswith("COLLECTOR_") and k not in ENVIRONMENT]
        assert "build" not in service or unknown == [], f"{name} sets variables the collector does not read"
        password_file = environment.get("COLLECTOR_CLICKHOUSE_PASSWORD_FILE") or ""
        if "--password-file" in command_text(service):
            password_file = command_text(service).split("--password-file ")[1].split()[0]
        uses_clickhouse = "COLLECTOR_CLICKHOUSE_DSN" in environment or "ingest_schema" in command_text(service)
        if uses_clickhouse:
            assert password_file.startswith("/run/secrets/"), name
            secret = password_file.removeprefix("/run/secrets/")
            assert secret in service.get("secrets", []) and "file" in secrets[secret], name
        if "clickhouse-server" in str(service.get("image")):
            assert service["entrypoint"] == ["/bin/bash", "/deploy/with-password-file.sh"]
            assert "clickhouse_password" in service["secrets"]


@pytest.mark.parametrize("path", [PRODUCTION, CLUSTER], ids=["production", "cluster"])
def test_deploy_compose_files_it_mounts_exist_and_the_sites_file_is_never_created(path: Path) -> None:
    compose = load(path)
    for source in bind_sources(compose):
        if Path(source).name not in OPERATOR_FILES:
            assert (path.parent / source).exists(), source
    for name, service in compose["services"].items():
        environment = env_of(service)
        if "COLLECTOR_SITES_FILE" not in environment:
            continue
        mounts = [
            v for v in service["volumes"] if isinstance(v, dict) and v["target"] == environment["COLLECTOR_SITES_FILE"]
        ]
        assert len(mounts) == 1, f"{name}: the sites file in the long syntax"
        mount = mounts[0]
        assert mount["type"] == "bind" and mount["read_only"] is True
        assert mount["bind"]["create_host_path"] is False, f"{name}: Docker would make a folder of a missing file"
        assert Path(mount["source"]).name == "sites.toml"


def test_deploy_production_retention_runs_on_a_real_schedule() -> None:
    retention = load(PRODUCTION)["services"]["retention"]
    assert retention["command"] == ["python", "-m", "retention", "schedule"]
    assert "sleep" not in command_text(retention) and "entrypoint" not in retention
    schedule = default_of(env_of(retention)["COLLECTOR_RETENTION_SCHEDULE"])
    assert croniter.is_valid(schedule) and schedule == ENVIRONMENT["COLLECTOR_RETENTION_SCHEDULE"][0]
    data = [v for v in retention["volumes"] if isinstance(v, str) and v.endswith(":/data")]
    assert data and data[0].split(":")[0] in load(PRODUCTION)["volumes"], "the last run must survive a restart"
    assert retention.get("restart") == "unless-stopped"


def test_deploy_production_tls_proxy_sets_and_collector_reads_the_client_address() -> None:
    services = load(PRODUCTION)["services"]
    caddy, collector = services["caddy"], services["collector"]
    assert str(caddy["image"]).startswith("caddy:")
    assert {"80:80", "443:443"} <= set(caddy["ports"])
    assert "ports" not in collector, "the collector is reached only through the proxy"
    assert env_of(collector)["COLLECTOR_CLIENT_IP_HEADER"] == "X-Forwarded-For"
    assert env_of(collector)["COLLECTOR_PUBLIC_URL"].startswith("https://${COLLECTOR_DOMAIN")
    mounted = [v for v in caddy["volumes"] if v.endswith(":/etc/caddy/Caddyfile:ro")]
    caddyfile = (ROOT / mounted[0].split(":")[0]).read_text()
    lines = [line.split("#")[0].strip() for line in caddyfile.splitlines()]
    assert "{$COLLECTOR_DOMAIN} {" in lines and "reverse_proxy collector:8000 {" in lines
    assert "header_up X-Forwarded-For {remote_host}" in lines
    assert not any(line.startswith("log") for line in lines), "an access log would keep visitor addresses"
    assert "respond /metrics 404" in lines, "metrics are scraped on the Docker network, not from the internet"
    body_timeout = next(line for line in lines if line.startswith("read_body"))
    assert int(body_timeout.split()[1].rstrip("s")) <= int(ENVIRONMENT["COLLECTOR_BODY_TIMEOUT_S"][0])
    keepalive = next(line for line in lines if line.startswith("keepalive"))
    assert int(keepalive.split()[1].rstrip("s")) < int(ENVIRONMENT["COLLECTOR_KEEPALIVE_TIMEOUT_S"][0])


def test_deploy_cluster_balancer_keeps_a_client_on_one_collector() -> None:
    conf = (ROOT / "deploy" / "cluster" / "nginx.conf").read_text()
    code = "\n".join(line.split("#")[0] for line in conf.splitlines())
    upstream = re.search(r"upstream collectors \{(.*?)\}", code, re.S)
    assert upstream is not None
    directives = [d.strip() for d in upstream.group(1).split(";") if d.strip()]
    assert "hash $remote_addr consistent" in directives
    assert "proxy_set_header X-Forwarded-For $remote_addr" in code
    collector = load(CLUSTER)["services"]["collector"]
    assert env_of(collector)["COLLECTOR_CLIENT_IP_HEADER"] == "X-Forwarded-For"


def test_deploy_clickhouse_users_read_the_password_the_entry_point_exports() -> None:
    exported = re.search(r"export (\w+)=", WRAPPER.read_text())
    assert exported is not None
    users = ElementTree.parse(ROOT / "deploy" / "clickhouse" / "users.xml").getroot()
    assert users.find("users/collector/password").get("from_env") == exported.group(1)  # type: ignore[union-attr]
    assert [ip.text for ip in users.findall("users/default/networks/ip")] == ["::1", "127.0.0.1"]
    cluster = ElementTree.parse(ROOT / "deploy" / "cluster" / "cluster.xml").getroot()
    replicas = cluster.findall(".//replica/password")
    assert replicas and {r.get("from_env") for r in replicas} == {exported.group(1)}


def run_wrapper(tmp_path: Path, secret: bytes | None) -> tuple[subprocess.CompletedProcess[bytes], Path]:
    seen = tmp_path / "seen"
    fake = tmp_path / "entrypoint.sh"
    fake.write_text(
        f'#!/bin/bash\nprintf "%s" "$CLICKHOUSE_COLLECTOR_PASSWORD" > {seen}\necho "args: $*" >> {seen}.args\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    secret_path = tmp_path / "clickhouse_password"
    if secret is not None:
        secret_path.write_bytes(secret)
    env = {"PATH": os.environ["PATH"], "CLICKHOUSE_PASSWORD_FILE": str(secret_path), "CLICKHOUSE_ENTRYPOINT": str(fake)}
    return subprocess.run(["bash", str(WRAPPER), "--listen"], env=env, capture_output=True, timeout=60), seen


def test_deploy_clickhouse_entry_point_passes_any_password_and_refuses_none(tmp_path: Path) -> None:
    result, seen = run_wrapper(tmp_path, (NASTY + "\n").encode())
    assert result.returncode == 0, result.stderr
    assert seen.read_bytes() == NASTY.encode()
    assert Path(f"{seen}.args").read_text().strip() == "args: --listen"
    for secret in (b"", None):
        result, _ = run_wrapper(tmp_path, secret)
        assert result.returncode == 1 and b"missing or empty" in result.stderr

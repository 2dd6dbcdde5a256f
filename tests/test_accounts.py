"""Accounts and roles (issue 15 point 8): the CLI refuses mistakes, tokens belong to existing analysts,
per-site roles decide what a session or token sees and changes, and the accounts API.

All against the real collector over a real socket on chdb; the CLI runs in-process against that
collector (--url), or as a child process (its own data folder, or discovering the collector)."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from collector.core.client import URL_FILE, running_collector_url
from collector.core.keys import SETTINGS
from collector.core.sites import SiteRegistry
from dashboards.__main__ import EXIT_REFUSED, EXIT_UNKNOWN, main
from tests.support.collector import (
    ROOT,
    CollectorFactory,
    RunningCollector,
    SettingsFactory,
    free_port,
    start_collector,
    stop_collector,
)
from tests.support.dashboard import PASSWORD, SITE, accounts, dashboard_site, log_in, seed

OTHER = "other"


def cli(
    collector: RunningCollector, capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = ""
) -> tuple[int, dict[str, Any]]:
    """Run `python -m dashboards` in-process against the running collector; (exit code, its JSON line)."""
    sys.stdin = io.StringIO(stdin)
    try:
        code = main([*argv, "--url", collector.url])
    finally:
        sys.stdin = sys.__stdin__
    out = capsys.readouterr().out.strip().splitlines()
    return code, orjson.loads(out[-1])


def child_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env.update(
        {
            "COLLECTOR_DATA_DIR": str(data_dir),
            "COLLECTOR_SITES_FILE": str(data_dir / "none.toml"),
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    return env


def run_child(env: dict[str, str], *argv: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "dashboards", *argv], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    return done.returncode, done.stdout, done.stderr


async def bearer_status(collector: RunningCollector, token: str, site: str = SITE) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"{collector.url}/dashboard/api/v1/overview",
            params={"site": site},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            return response.status


def test_cli_refuses_a_token_for_an_analyst_that_does_not_exist(tmp_path: Path) -> None:
    """The security bug: `create-token ghost` used to print a working token. On the CLI's own folder
    (no collector running) it must now refuse with exit 3 and print no token."""
    env = child_env(tmp_path / "data")
    code, out, err = run_child(env, "create-token", "ghost")
    assert code == EXIT_UNKNOWN, (code, out, err)
    assert "wat_" not in out + err
    assert "no analyst named 'ghost'" in err
    code, out, _ = run_child(env, "list-tokens")
    assert code == 0 and orjson.loads(out)["tokens"] == []


async def test_cli_through_the_collector_refuses_unknown_duplicate_and_bogus(
    collector_factory: CollectorFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    collector = await collector_factory(dashboard_site())
    monkeypatch.setenv("COLLECTOR_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("COLLECTOR_ADMIN_TOKEN", collector.app[SETTINGS].admin_token)
    code, out = await asyncio.to_thread(cli, collector, capsys, "create-token", "ghost")
    assert code == EXIT_UNKNOWN and "token" not in out and "ghost" in out["error"]
    assert collector.count("api_tokens") == 0, "nothing was written for the unknown name"

    code, out = await asyncio.to_thread(
        cli,
        collector,
        capsys,
        "create-user",
        "carol",
        "--password-stdin",
        "--role",
        "view",
        "--site",
        SITE,
        stdin=PASSWORD + "\n",
    )
    assert code == 0 and out["roles"] == {SITE: "view"}
    code, out = await asyncio.to_thread(
        cli, collector, capsys, "create-user", "carol", "--password-stdin", stdin="another long password\n"
    )
    assert code == EXIT_REFUSED and "already exists" in out["error"]
    assert await collector.storage.run(accounts(collector).check_login, "carol", PASSWORD), "first password kept"

    for argv, expected in (
        (("set-password", "nobody", "--password-stdin"), EXIT_UNKNOWN),
        (("delete-user", "nobody"), EXIT_UNKNOWN),
        (("disable-user", "nobody"), EXIT_UNKNOWN),
        (("list-tokens", "nobody"), EXIT_UNKNOWN),
        (("set-role", "carol", "--site", "no-such-site", "--role", "admin"), EXIT_UNKNOWN),
        (("create-user", "dave", "--password-stdin", "--site", "no-such-site"), EXIT_UNKNOWN),
        (("create-user", "dave", "--password-stdin", "--role", "owner"), EXIT_REFUSED),
        (("create-user", "bad name!", "--password-stdin"), EXIT_REFUSED),
        (("revoke-token", "not-a-token"), EXIT_REFUSED),
        (("revoke-token", "0123456789ab"), EXIT_UNKNOWN),
    ):
        code, out = await asyncio.to_thread(cli, collector, capsys, *argv, stdin=PASSWORD + "\n")
        assert (code, out["ok"]) == (expected, False), (argv, code, out)
    written = collector.rows(
        "SELECT DISTINCT name FROM {db}.analysts UNION ALL SELECT DISTINCT analyst FROM {db}.analyst_roles"
    )
    assert sorted(set(n for (n,) in written)) == ["admin", "carol"], "nothing half-saved for a refused request"

    code, out = await asyncio.to_thread(cli, collector, capsys, "create-token", "carol", "--label", "nb")
    assert code == 0
    token = out["token"]
    code, listed = await asyncio.to_thread(cli, collector, capsys, "list-tokens")
    assert [(t["analyst"], t["label"]) for t in listed["tokens"]] == [("carol", "nb")]
    assert token.split("_")[2] not in orjson.dumps(listed).decode(), "a listing never shows a secret"
    code, users = await asyncio.to_thread(cli, collector, capsys, "list-users")
    assert [(u["name"], u["roles"], u["disabled"]) for u in users["analysts"]] == [
        ("admin", {"*": "admin"}, False),
        ("carol", {SITE: "view"}, False),
    ]

    assert await bearer_status(collector, token) == 200
    code, _ = await asyncio.to_thread(cli, collector, capsys, "disable-user", "carol")
    assert code == 0 and await bearer_status(collector, token) == 401, "a disabled analyst's token stops"
    code, out = await asyncio.to_thread(cli, collector, capsys, "create-token", "carol")
    assert code == EXIT_REFUSED and "disabled" in out["error"]
    code, _ = await asyncio.to_thread(cli, collector, capsys, "enable-user", "carol")
    assert code == 0 and await bearer_status(collector, token) == 200
    code, out = await asyncio.to_thread(cli, collector, capsys, "revoke-token", token)
    assert code == 0 and out["token_id"] == token.split("_")[1]
    assert await bearer_status(collector, token) == 401
    code, _ = await asyncio.to_thread(cli, collector, capsys, "delete-user", "carol")
    assert code == 0
    code, users = await asyncio.to_thread(cli, collector, capsys, "list-users")
    assert [u["name"] for u in users["analysts"]] == ["admin"]


async def test_a_token_stored_for_an_unknown_analyst_gets_no_access(collector_factory: CollectorFactory) -> None:
    """Tokens issued by the old CLI for a name that never existed are worth nothing now."""
    collector = await collector_factory(dashboard_site())
    store = accounts(collector)
    await collector.storage.run(store.save_analyst, "ghost", PASSWORD)
    token = await collector.storage.run(store.create_token, "ghost", "old")
    assert await bearer_status(collector, token) == 200
    # what the old code left behind: the analyst row gone (deleted), the token row never revoked
    await collector.storage.run(
        store.storage.command,
        f"ALTER TABLE {store.storage.table('analysts')} DELETE WHERE name = 'ghost'",
        None,
        {"mutations_sync": 2},
    )
    fresh = accounts(collector)  # no cache
    assert await collector.storage.run(fresh.token_identity, token) is None
    assert collector.count("api_tokens", "revoked = 0") == 1


async def test_cli_finds_a_collector_on_a_non_default_port(settings_factory: SettingsFactory) -> None:
    """The collector writes its URL into the data folder; the CLI (a child process, nothing but the data
    folder in its environment) reaches it there, and the file goes away when the collector stops."""
    port = free_port()
    settings = settings_factory(port=port)
    collector = await start_collector(settings, SiteRegistry({SITE: dashboard_site()}), port)
    try:
        assert running_collector_url(settings.data_dir) == f"http://127.0.0.1:{port}"
        await collector.storage.run(accounts(collector).save_analyst, "erin", PASSWORD)
        env = child_env(
            settings.data_dir, COLLECTOR_CLICKHOUSE_DSN=settings.clickhouse_dsn, COLLECTOR_DATABASE=settings.database
        )
        code, out, err = await asyncio.to_thread(run_child, env, "list-users")
        assert code == 0, (out, err)
        assert [a["name"] for a in orjson.loads(out)["analysts"]] == ["admin", "erin"]
    finally:
        await stop_collector(collector)
    assert not (settings.data_dir / URL_FILE).exists()


async def test_roles_decide_what_a_session_or_token_sees_and_changes(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(dashboard_site(), dashboard_site(id=OTHER, matomo_idsite=2))
    await seed(collector, matomo=False)
    store = accounts(collector)
    await collector.storage.run(store.create_analyst, "viewer", PASSWORD, {SITE: "view"})
    viewer = await log_in(collector, "viewer")  # an existing name: only its password is set, roles stay
    admin = await log_in(collector, "boss")  # save_analyst: admin of every site
    try:
        assert (await viewer.get("/dashboard/api/v1/overview", site=SITE))[0] == 200
        status, body, _ = await viewer.get("/dashboard/api/v1/overview", site=OTHER)
        assert status == 403 and orjson.loads(body)["error"].startswith("no access to site")
        assert (await viewer.get("/dashboard/api/v1/top_pages.csv", site=OTHER))[0] == 403
        assert (await viewer.get("/dashboard/traffic", site=OTHER))[0] == 403
        assert [s["id"] for s in await viewer.api("sites")] == [SITE]
        page = (await viewer.get("/dashboard/traffic"))[1].decode()
        assert f'value="{OTHER}"' not in page and "/dashboard/accounts" not in page
        assert [s["id"] for s in await admin.api("sites")] == [SITE, OTHER]
        assert (await admin.get("/dashboard/api/v1/overview", site=OTHER))[0] == 200

        # a write needs the admin role on the site: marking a recording
        recording = collector.rows("SELECT lower(hex(any(session_hash))) FROM {db}.playback")[0][0]
        status, body = await viewer.post_json(
            "/dashboard/api/v1/recording/marks", {"favourite": True}, csrf=viewer.csrf, site=SITE, recording=recording
        )
        assert status == 403 and b"admin role" in body
        assert collector.count("recordings") == 0, "nothing saved by the refused write"
        status, _ = await admin.post_json(
            "/dashboard/api/v1/recording/marks", {"favourite": True}, csrf=admin.csrf, site=SITE, recording=recording
        )
        assert status == 200

        # a token acts with its analyst's roles, as they are now
        token = await collector.storage.run(store.create_token, "viewer", "nb")
        assert await bearer_status(collector, token, SITE) == 200
        assert await bearer_status(collector, token, OTHER) == 403
        async with admin.http.patch(
            f"{collector.url}/dashboard/api/v1/accounts/analysts/viewer",
            json={"roles": {OTHER: "view"}},
            headers={"X-CSRF-Token": admin.csrf},
        ) as response:
            assert response.status == 200
            assert (await response.json())["roles"] == {SITE: "view", OTHER: "view"}
        assert await bearer_status(collector, token, OTHER) == 200, "a role change applies at once"

        # only an admin of every site manages accounts
        assert (await viewer.get("/dashboard/accounts"))[0] == 403
        assert (await viewer.get("/dashboard/api/v1/accounts/analysts"))[0] == 403
        status, body, _ = await admin.get("/dashboard/api/v1/accounts/tokens")
        assert status == 200 and [t["analyst"] for t in orjson.loads(body)["tokens"]] == ["viewer"]
    finally:
        await viewer.close()
        await admin.close()


async def test_accounts_api_invites_changes_and_refuses_bad_input(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(dashboard_site())
    admin = await log_in(collector, "boss")
    api = "/dashboard/api/v1/accounts"
    try:
        status, body = await admin.post_json(
            f"{api}/analysts", {"name": "fay", "role": "view", "sites": [SITE]}, csrf=admin.csrf
        )
        assert status == 201, body
        invited = orjson.loads(body)
        assert invited["roles"] == {SITE: "view"}
        assert await collector.storage.run(accounts(collector).check_login, "fay", invited["password"])

        for payload, expected, field in (
            ({"name": "fay", "role": "view"}, 409, "already exists"),
            ({"name": "gus", "role": "owner"}, 400, "role"),
            ({"name": "gus", "role": "view", "sites": ["nope"]}, 404, "unknown site"),
            ({"name": "bad name!", "role": "view"}, 400, "name"),
            ({"name": "gus", "sites": "proj123"}, 400, "sites"),
        ):
            status, body = await admin.post_json(f"{api}/analysts", payload, csrf=admin.csrf)
            assert status == expected and field in orjson.loads(body)["error"], (payload, status, body)
        names = {a["name"] for a in orjson.loads((await admin.get(f"{api}/analysts"))[1])["analysts"]}
        assert names == {"admin", "boss", "fay"}

        async def patch(name: str, payload: Any) -> tuple[int, Any]:
            async with admin.http.patch(
                f"{collector.url}{api}/analysts/{name}",
                data=orjson.dumps(payload),
                headers={"X-CSRF-Token": admin.csrf},
            ) as response:
                return response.status, await response.json()

        assert (await patch("nobody", {"disabled": True}))[0] == 404
        status, out = await patch("fay", {"disabled": True, "roles": {SITE: "owner"}})
        assert status == 400 and "roles" in out["error"]
        assert not (await patch("fay", {"roles": {}}))[1].get("disabled"), "the refused change saved nothing"
        assert (await patch("fay", {"disabled": "yes"}))[0] == 400
        assert (await patch("fay", {"disabled": True}))[1]["disabled"] is True
        assert not await collector.storage.run(accounts(collector).check_login, "fay", invited["password"])

        async with admin.http.delete(
            f"{collector.url}{api}/tokens/0123456789ab", headers={"X-CSRF-Token": admin.csrf}
        ) as response:
            assert response.status == 404
        async with admin.http.delete(
            f"{collector.url}{api}/analysts/boss", headers={"X-CSRF-Token": admin.csrf}
        ) as response:
            assert response.status == 400, "an admin cannot delete themselves"
        async with admin.http.delete(
            f"{collector.url}{api}/analysts/fay", headers={"X-CSRF-Token": admin.csrf}
        ) as response:
            assert response.status == 200
        names = {a["name"] for a in orjson.loads((await admin.get(f"{api}/analysts"))[1])["analysts"]}
        assert names == {"admin", "boss"}
        status, body = await admin.post_json(f"{api}/analysts", {"name": "fay", "role": "admin"}, csrf=admin.csrf)
        assert status == 201 and orjson.loads(body)["roles"] == {"*": "admin"}, "a deleted name may be invited again"
        # a state-changing request needs the session's CSRF token
        status, _ = await admin.post_json(f"{api}/analysts", {"name": "hal", "role": "view"})
        assert status == 403
    finally:
        await admin.close()

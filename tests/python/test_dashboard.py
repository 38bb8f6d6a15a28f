"""The dashboard in a real browser (headless Chromium from Debian, driven by Playwright):
sign in, check the overview's figures against the usage rows, create a key and use it
through the API, revoke it, filter the request log and open a drill-down. Screenshots of
every page go to target/screenshots/ (kept by CI); DASHBOARD_SCREENSHOTS=docs/screenshots
writes the README's copies instead."""

import json
import os
import shutil
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, Gateway

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

ADMIN = "adm-dashboard-secret"
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
SHOTS = Path(os.environ.get("DASHBOARD_SCREENSHOTS", ROOT / "target" / "screenshots"))

CONFIG = f"""
server: {{ workers: 2, admin_key: {ADMIN} }}
database: {{ path: "__DB__" }}
providers:
  demo: {{ type: mock, reply: "a b c d", latency: 5ms }}
  backup: {{ type: mock, reply: "a b c d" }}
models:
  demo/echo:
    endpoints:
      - {{ provider: demo, model: echo, price: {{ prompt: 100, completion: 1000 }} }}
      - {{ provider: backup, model: echo-b, price: {{ prompt: 150, completion: 1500 }} }}
  demo/small:
    endpoints:
      - {{ provider: demo, model: small, price: {{ prompt: 10, completion: 100 }} }}
teams:
  research: {{ budget: {{ limit_usd: 1, period: monthly }} }}
keys:
  - {{ name: alice, key: sk-dash-alice, team: research, budget: {{ limit_usd: 0.05, period: daily }} }}
  - {{ name: bob, key: sk-dash-bob, budget: {{ limit_usd: 0.002, period: weekly }}, rate_limit: {{ requests_per_minute: 60 }} }}
"""


def chat(base: str, key: str, model: str) -> int:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 4}).encode()
    req = urllib.request.Request(f"{base}/v1/chat/completions", data=body, headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def usd(nano: int) -> str:
    """The page's money format: two decimals, or two significant digits under a cent."""
    v = nano / 1e9
    if v == 0:
        return "$0.00"
    return f"${v:.2g}" if v < 0.01 else f"${v:,.2f}"


def db_rows(gw: Gateway, n: int) -> list:
    db = Path(gw.dir.name) / "usage.db"
    for _ in range(300):
        if db.exists():
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                rows = conn.execute("SELECT key_name, model, status, cost_nano FROM usage").fetchall()
            if len(rows) >= n:
                return rows
        time.sleep(0.02)
    pytest.fail(f"the usage log never reached {n} rows")


@pytest.fixture(scope="module")
def dashboard_gateway():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    gw = Gateway(CONFIG)
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def shot(page, name: str):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_dashboard_end_to_end(dashboard_gateway, browser):
    gw = dashboard_gateway
    base = f"http://127.0.0.1:{gw.port}"
    plan = [("sk-dash-alice", "demo/echo")] * 3 + [("sk-dash-bob", "demo/small")] * 4 + [("sk-dash-bob", "no/such-model")]
    for key, model in plan:
        chat(base, key, model)
    rows = db_rows(gw, len(plan))
    total_requests = len(rows)
    total_cost = sum(r[3] for r in rows)

    page = browser.new_page(viewport={"width": 1360, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/")
    page.fill("#signin-key", ADMIN)
    page.click("#signin-submit")
    page.wait_for_selector("#kpi-spend")
    # The overview's figures are the usage rows'.
    assert page.inner_text("#kpi-requests .value") == f"{total_requests:,}"
    assert page.inner_text("#kpi-spend .value") == usd(total_cost)
    assert "alice" in page.inner_text("#breakdown-key") and "bob" in page.inner_text("#breakdown-key")
    page.wait_for_selector("#chart .uplot")
    shot(page, "overview")

    # Keys: create one, use it through the API, revoke it.
    page.click("a[data-page=keys]")
    page.wait_for_selector("[data-key=alice]")
    # Which key is near its budget: bob has spent most of his weekly budget, and says so.
    assert page.locator("[data-key=bob] .bar.warn, [data-key=bob] .bar.bad").count() == 1
    assert page.locator("[data-key=alice] .bar.warn, [data-key=alice] .bar.bad").count() == 0
    page.click("#new-key-toggle")
    page.fill("#nk-name", "browser-made")
    page.fill("#nk-budget", "5")
    page.fill("#nk-models", "demo/*")
    page.click("#nk-create")
    page.wait_for_selector("#new-key-value")
    secret = page.inner_text("#new-key-value").strip()
    assert secret.startswith("sk-sb-")
    assert chat(base, secret, "demo/echo") == 200
    page.wait_for_selector("[data-key=browser-made]")
    shot(page, "keys")
    page.once("dialog", lambda d: d.accept())
    page.click("[data-key=browser-made] [data-action=revoke]")
    page.wait_for_selector("[data-key=browser-made].revoked")
    assert chat(base, secret, "demo/echo") == 401

    # Requests: filter to errors, open the failed one.
    page.click("a[data-page=requests]")
    page.wait_for_selector("#req-table tbody tr.link")
    page.select_option("#f-status", "error")
    page.click("#f-apply")
    expect(page.locator("#req-table tbody tr.link")).to_have_count(1)
    assert "404" in page.inner_text("#req-table tbody")
    page.select_option("#f-status", "")
    page.click("#f-apply")
    expect(page.locator("#req-table tbody tr.link")).to_have_count(len(plan) + 1)
    shot(page, "requests")
    page.select_option("#f-status", "error")
    page.click("#f-apply")
    expect(page.locator("#req-table tbody tr.link")).to_have_count(1)
    page.click("#req-table tbody tr.link")
    page.wait_for_selector("#attempts")
    assert "model_not_found" in page.inner_text("#page-request")
    shot(page, "request")

    page.click("a[data-page=models]")
    page.wait_for_selector("[data-model='demo/echo']")
    assert "closed" in page.inner_text("[data-model='demo/echo']")
    shot(page, "models")
    page.click("a[data-page=config]")
    page.wait_for_selector("#effective-config")
    assert ADMIN not in page.inner_text("#effective-config")
    shot(page, "config")
    assert errors == [], errors

    # A team key sees only its own key.
    team = browser.new_page(viewport={"width": 420, "height": 860})
    team.goto(base + "/")
    team.fill("#signin-key", "sk-dash-alice")
    team.click("#signin-submit")
    team.wait_for_selector("#kpi-requests")
    assert team.inner_text("#kpi-requests .value") == "3"
    assert "bob" not in team.inner_text("#breakdown-key")
    assert not team.is_visible("a[data-page=models]")
    # Nothing wider than a phone's screen: wide tables scroll inside their cards.
    assert team.evaluate("() => document.documentElement.scrollWidth") <= 420
    shot(team, "overview-team-key-phone")

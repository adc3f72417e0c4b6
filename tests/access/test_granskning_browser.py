"""The reviewer's page at /granskning, driven in Debian's Chromium against a real server.

The deliveries are made the way actors make them (``POST /deliveries`` with their keys): actor
B's events, approved; actor A's events in the same area and hour (a double report), under a
file name that is HTML. The test history's own pending delivery is rejected by another
reviewer while the page has it open. The page must show A's flags, refuse a rejection without
a reason, show the API's refusal, approve, and empty its list; a key that is not a reviewer's
sees no data; the browser talks to the service only; the file name is text. A screenshot of
the opened delivery is kept in ``tests/artefacts/`` (ignored by git) for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
import requests

from lagesbild_geo.access.identity import PUBLIC, Identity
from lagesbild_geo.server import granskning
from tests.access_helpers import serving_with_audiences

CHROMIUM = "/usr/bin/chromium"  # Debian's, as tests/server/test_server_features.py
ARTEFACTS = Path(__file__).resolve().parents[1] / "artefacts"
#: A file name an actor may choose: rendered as HTML, it would be an image running a script.
XSS_NAME = "<img src=x onerror=\"document.title='XSS'\">.csv"
#: Outside the test history's weeks (tests/publish_data.py: 2026-W01..W16), so no cell clashes.
EVENT_DAY = "2026-06-10"
NOT_A_REVIEWER = "inte en granskare"


# -- the page's own answers, without a server ----------------------------------------------------


def _get(path, identity=PUBLIC, **env):
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", **env}
    status, headers, body = granskning.handle(environ, identity)
    return status, dict(headers), b"".join(body)


def test_the_page_is_static_public_and_strict():
    status, headers, body = _get("/granskning/")
    assert status.startswith("200") and headers["Content-Type"].startswith("text/html")
    assert b'<html lang="sv">' in body
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    # everything the page loads is the service's own: no other origin, no inline script
    assert not re.search(rb"(src|href)=\"(https?:)?//", body)
    assert not re.search(rb"<script(?![^>]*\bsrc=)", body)
    assert not re.search(rb"\son[a-z]+\s*=|style=", body)  # no inline handler or style
    for name in ("granskning.js", "granskning.css"):
        status, headers, _ = _get(f"/granskning/{name}")
        assert status.startswith("200"), name
        assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, _ = _get("/granskning/", HTTP_IF_NONE_MATCH=headers["ETag"])
    assert status.startswith("200")  # another file's ETag
    etag = _get("/granskning/")[1]["ETag"]
    assert _get("/granskning/", HTTP_IF_NONE_MATCH=etag)[0].startswith("304")


def test_the_page_answers_only_for_its_files():
    status, headers, _ = _get("/granskning")
    assert status.startswith("308") and headers["Location"] == "granskning/"
    for path in ("/granskning/../settings.py", "/granskning/x.js", "/granskning/index.htm"):
        status, headers, body = _get(path)
        assert status.startswith("404") and b"/granskning/" in body, path
    status, headers, _ = _get("/granskning/", REQUEST_METHOD="POST")
    assert status.startswith("405") and headers["Allow"] == "GET, HEAD"
    status, headers, body = _get("/granskning/", REQUEST_METHOD="HEAD")
    assert status.startswith("200") and body == b"" and int(headers["Content-Length"]) > 0


def test_the_identity_says_who_may_review():
    status, _, body = _get("/granskning/identity")
    assert status.startswith("401") and b"granskares" in body
    for roles in ({"actor"}, {"analyst"}, {"admin"}):
        who = Identity(principal="key:x", roles=frozenset(roles), via="api-key")
        status, _, body = _get("/granskning/identity", who)
        assert status.startswith("403") and NOT_A_REVIEWER.encode() in body, roles
    who = Identity("key:r", frozenset({"reviewer"}), via="api-key", name="Granskare")
    status, headers, body = _get("/granskning/identity", who)
    assert status.startswith("200") and headers["Cache-Control"] == "no-store"
    assert b'"name": "Granskare"' in body and b'"police"' in body


# -- in the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(pg_server, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("granskning-server")
    with serving_with_audiences(
        pg_server, "granskning_browser", data_dir, password="granskning-pw"
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def service(server):
    """The server with the deliveries of this module's story (:func:`_deliveries`)."""
    return {**server, **_deliveries(server)}


def _deliver(srv, audience: str, name: str, rows: list[tuple]) -> dict:
    lines = ["category,date,time,x,y,crs", *(",".join(map(str, r)) + ",EPSG:3006" for r in rows)]
    response = requests.post(
        srv["url"] + "/deliveries",
        headers={"X-API-Key": srv["keys"][audience]},
        files={"file": (name, ("\n".join(lines) + "\n").encode(), "text/csv")},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _decide(srv, delivery_id, action: str, **body) -> requests.Response:
    return requests.post(
        f"{srv['url']}/deliveries/{delivery_id}/{action}",
        headers={"X-API-Key": srv["keys"]["reviewer"]},
        json=body or None,
        timeout=60,
    )


def _deliveries(srv) -> dict:
    """B's events approved; A's in the same area and hour pending (flagged); the history's."""
    with psycopg.connect(srv["db"]) as conn:
        area, name, x, y = conn.execute(
            "SELECT code, name, round(ST_X(p)::numeric, 1), round(ST_Y(p)::numeric, 1)"
            " FROM (SELECT code, name, ST_PointOnSurface(geom) AS p FROM lagesbild.area"
            "       WHERE level = 3 ORDER BY code LIMIT 1) s"
        ).fetchone()
    other = _deliver(srv, "actor_b", "vakt.csv", [("skadegorelse", EVENT_DAY, "22:05", x, y)])
    assert _decide(srv, other["id"], "approve").status_code == 200
    flagged = _deliver(srv, "actor_a", "polis.csv", [("skadegorelse", EVENT_DAY, "22:40", x, y)])
    # The API cleans the names it is sent; the page must not depend on that (an older
    # delivery, another way in): the name as an actor could have written it.
    with psycopg.connect(srv["db"]) as conn:
        conn.execute(
            "UPDATE lagesbild.delivery SET file_name = %s WHERE id = %s", (XSS_NAME, flagged["id"])
        )
    flagged["file_name"] = XSS_NAME
    waiting = requests.get(
        srv["url"] + "/deliveries?status=pending",
        headers={"X-API-Key": srv["keys"]["reviewer"]},
        timeout=30,
    ).json()["deliveries"]
    (late,) = [d for d in waiting if d["file_name"] == "pending.csv"]  # tests/publish_data.py
    return {"area": (area, name), "other": other, "flagged": flagged, "late": late}


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def _page(browser, url: str):
    """A page that records every request it makes, every script error and CSP violation."""
    page = browser.new_context().new_page()
    page.seen, page.errors = [], []  # type: ignore[attr-defined]
    page.on("request", lambda r: page.seen.append(r.url))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    # a refused key's 401/403 is logged as a failed load: expected; a CSP violation is not
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and not m.text.startswith("Failed to load resource")
            and page.errors.append(m.text)
        ),
    )
    page.goto(url + "/granskning")
    return page


def _login(page, key: str) -> None:
    page.get_by_label("API-nyckel").fill(key)
    page.get_by_label("API-nyckel").press("Enter")  # the keyboard, not the mouse


def _only_the_service(page, url: str) -> None:
    outside = [u for u in page.seen if not u.startswith(url + "/")]
    assert outside == [] and url.startswith("http://127.0.0.1:")


@pytest.mark.server
@pytest.mark.parametrize("audience", ["actor_a", "analyst"])
def test_a_key_that_is_not_a_reviewers_sees_no_data(server, browser, audience):
    page = _page(browser, server["url"])
    _login(page, server["keys"][audience])
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert NOT_A_REVIEWER in alert.inner_text()
    assert page.locator("#app").is_hidden() and page.locator("#login").is_visible()
    assert page.locator("#pending-rows tr").count() == 0
    assert not [u for u in page.seen if "/deliveries" in u]  # asked who, never for data
    assert page.evaluate("sessionStorage.length") == 0  # the key is forgotten
    _only_the_service(page, server["url"])
    assert page.errors == [], page.errors


@pytest.mark.server
def test_a_reviewer_sees_the_flags_and_decides(service, browser):
    from playwright.sync_api import expect

    url, flagged, other, late = (service[k] for k in ("url", "flagged", "other", "late"))
    page = _page(browser, url)
    assert page.url == url + "/granskning/"
    _login(page, service["keys"]["reviewer"])
    rows = page.locator("#pending-rows tr")
    rows.first.wait_for()
    assert rows.count() == 2
    assert page.locator("#who-name").inner_text() == "Granskare, test"

    # the actor's file name is text: shown as written, no element made of it
    mine = page.locator(f'#pending-rows tr[data-id="{flagged["id"]}"]')
    cells = mine.locator("td").all_inner_texts()
    assert cells[2] == XSS_NAME and cells[1].startswith("Polisen")
    assert cells[3] == "2026-W24" and cells[4] == "1" and cells[6] == "1"  # one flag
    assert page.locator("main img").count() == 0 and page.title() != "XSS"

    # the decided tab: B's first delivery, approved by the reviewer
    page.get_by_role("tab", name=re.compile("Beslutade")).click()
    decided = page.locator(f'#decided-rows tr[data-id="{other["id"]}"] td').all_inner_texts()
    assert decided[2] == "vakt.csv" and decided[4].startswith("Godkänd")
    assert decided[5] == "Granskare, test" and re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d", decided[6]
    )
    page.get_by_role("tab", name=re.compile("Beslutade")).press("ArrowLeft")
    assert page.locator("#panel-pending").is_visible()

    # another reviewer rejects the history's pending delivery while this page has it open:
    # the API's refusal is shown and the list follows
    page.locator(f'#pending-rows tr[data-id="{late["id"]}"] button').click()
    page.locator("#detail-title").wait_for()
    assert _decide(service, late["id"], "reject", reason="Fel vecka").status_code == 200
    page.get_by_role("button", name=re.compile("Godkänn")).click()
    page.get_by_role("alert").wait_for()
    assert "409" in page.get_by_role("alert").inner_text()
    expect(rows).to_have_count(1)  # (not wait_for_function: the CSP forbids eval, rightly)

    # open A's delivery with the keyboard: its summary and its flag
    mine.locator("button").focus()
    page.keyboard.press("Enter")
    title = page.locator("#detail-title")
    title.wait_for()
    assert title.inner_text() == f"Leverans {flagged['id']}: {XSS_NAME}"
    assert page.evaluate("document.activeElement.id") == "detail-title"
    indicators = page.locator("#indicator-rows tr td").all_inner_texts()
    assert indicators[0].startswith("Skadegörelse") and indicators[-1] == "1"
    (flag,) = page.locator("#flag-rows tr").all()
    area_code, area_name = service["area"]
    shown = flag.locator("td").all_inner_texts()
    assert shown[:4] == [
        f"{area_name} ({area_code})",
        "skadegorelse",
        f"{EVENT_DAY} 22:00",
        str(other["id"]),
    ]
    assert shown[4].startswith("Vaktbolag") and shown[5:] == ["1", "1"]

    # no rejection without a reason: the button stays disabled, and the API refuses one too
    reject = page.get_by_role("button", name=re.compile("Avvisa"))
    assert reject.is_disabled()
    page.get_by_label("Skäl till avvisning").fill("   ")
    assert reject.is_disabled()
    refused = page.evaluate(
        """async (id) => (await fetch(`../deliveries/${id}/reject`, {method: "POST",
             headers: {"X-API-Key": sessionStorage.getItem("lagesbild.granskning.api-key"),
                       "Content-Type": "application/json"},
             body: JSON.stringify({reason: ""})})).status""",
        flagged["id"],
    )
    assert refused == 400
    page.get_by_label("Skäl till avvisning").fill("Dubbelrapporterad")
    assert reject.is_enabled()
    page.get_by_label("Skäl till avvisning").fill("")
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTEFACTS / "granskning.png", full_page=True)

    page.get_by_role("button", name=re.compile("Godkänn")).press("Enter")
    page.locator("#pending-empty").wait_for()
    expect(rows).to_have_count(0)
    assert (
        page.get_by_role("status").inner_text() == f"Leverans {flagged['id']}: Godkänd / approved."
    )
    after = requests.get(
        f"{url}/deliveries/{flagged['id']}",
        headers={"X-API-Key": service["keys"]["reviewer"]},
        timeout=30,
    ).json()
    assert after["status"] == "approved" and after["reviewed_by"]
    page.get_by_role("tab", name=re.compile("Beslutade")).click()
    decided = page.locator(f'#decided-rows tr[data-id="{flagged["id"]}"] td').all_inner_texts()
    assert decided[2] == XSS_NAME and decided[4].startswith("Godkänd")
    assert decided[5] == "Granskare, test"
    rejected = page.locator(f'#decided-rows tr[data-id="{late["id"]}"] td').all_inner_texts()
    assert rejected[4].startswith("Avvisad") and rejected[7] == "Fel vecka"

    _only_the_service(page, url)
    assert page.errors == [], page.errors

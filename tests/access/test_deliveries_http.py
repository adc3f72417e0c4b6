"""Delivering and reviewing over HTTP against a real ``lagesbild serve``, as curl would.

Actor A is ``polisen``, actor B ``vaktbolaget`` (tests/access_helpers.py). Files are made
here for weeks the test history does not cover (2026-W20 on), so each test's delivery is new.
"""

from __future__ import annotations

import io
import json
import os
from datetime import date, timedelta

import openpyxl
import psycopg
import pytest
import requests

from tests.access_helpers import serving_with_audiences

LIMIT = 300_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def server(pg_server, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("deliveries-http")
    previous = os.environ.get("LAGESBILD_MAX_DELIVERY_BYTES")
    os.environ["LAGESBILD_MAX_DELIVERY_BYTES"] = str(LIMIT)
    try:
        with serving_with_audiences(
            pg_server, "deliveries_http", data_dir, password="deliveries-pw"
        ) as srv:
            yield srv
    finally:
        if previous is None:
            os.environ.pop("LAGESBILD_MAX_DELIVERY_BYTES", None)
        else:
            os.environ["LAGESBILD_MAX_DELIVERY_BYTES"] = previous


def _h(server, who: str) -> dict[str, str]:
    return {"X-API-Key": server["keys"][who]}


def counts_csv(week: int, value: int = 40, indicator: str = "ran", area: str = "1101") -> bytes:
    return f"område,vecka,indikator,antal\n{area},2026-W{week:02d},{indicator},{value}\n".encode()


def counts_xlsx(week: int, value: int = 40) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["område", "vecka", "indikator", "antal"])
    sheet.append(["1102", f"2026-W{week:02d}", "ran", value])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def post(server, who, content: bytes, name="leverans.csv", *, raw=False, **params):
    if raw:
        ctype = XLSX if name.endswith(".xlsx") else "text/csv"
        headers = {
            **_h(server, who),
            "Content-Type": ctype,
            "Content-Disposition": f'attachment; filename="{name}"',
        }
        return requests.post(
            server["url"] + "/deliveries", data=content, headers=headers, params=params
        )
    return requests.post(
        server["url"] + "/deliveries",
        files={"file": (name, content)},
        data=params,
        headers=_h(server, who),
    )


def test_actor_delivers_csv_multipart_and_xlsx_raw(server):
    r = post(server, "actor_a", counts_csv(20), "vecka20.csv")
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["status"] == "pending" and doc["actor_id"] == "polisen"
    assert r.headers["Location"] == f"/deliveries/{doc['id']}"
    assert doc["first_week"] == "2026-W20" and doc["file_name"] == "vecka20.csv"
    assert doc["summary"]["indicators"] == [
        {"id": "ran", "name_sv": "Rån", "cells": 1, "total": 40}
    ]
    assert "double_reports" not in doc  # the municipality's to read

    r = post(server, "actor_a", counts_xlsx(21), "vecka21.xlsx", raw=True)
    assert r.status_code == 201, r.text
    assert r.json()["shape"] == "aggregated" and r.json()["file_name"] == "vecka21.xlsx"

    # chunked: no Content-Length
    def chunks():
        yield counts_csv(22)[:20]
        yield counts_csv(22)[20:]

    r = requests.post(
        server["url"] + "/deliveries?filename=chunked.csv",
        data=chunks(),
        headers={**_h(server, "actor_a"), "Content-Type": "text/csv"},
    )
    assert r.status_code == 201, r.text


def test_same_file_twice_is_stored_once(server):
    first = post(server, "actor_a", counts_csv(23, 7), "twice.csv")
    assert first.status_code == 201, first.text
    again = post(server, "actor_a", counts_csv(23, 7), "twice.csv")
    assert again.status_code == 200, again.text
    assert again.json()["already_delivered"] is True
    assert again.json()["id"] == first.json()["id"]


def test_actors_see_only_their_own(server):
    a = post(server, "actor_a", counts_csv(24, 5), "a24.csv").json()["id"]
    mine = requests.get(server["url"] + "/deliveries", headers=_h(server, "actor_a")).json()
    assert a in [d["id"] for d in mine["deliveries"]]
    assert {d["actor_id"] for d in mine["deliveries"]} == {"polisen"}
    theirs = requests.get(server["url"] + "/deliveries", headers=_h(server, "actor_b")).json()
    assert a not in [d["id"] for d in theirs["deliveries"]]

    missing = requests.get(server["url"] + "/deliveries/987654", headers=_h(server, "actor_b"))
    for path, method in [
        (f"/deliveries/{a}", "GET"),
        (f"/deliveries/{a}/withdraw", "POST"),
    ]:
        r = requests.request(method, server["url"] + path, headers=_h(server, "actor_b"))
        assert r.status_code == 404, (path, r.text)
        assert r.json()["description"] == f"Delivery {a} does not exist"
    assert missing.status_code == 404
    # a correction of someone else's delivery: the same 404
    r = post(server, "actor_b", counts_csv(24, 6, "ordningsstorning"), "b.csv", replaces=str(a))
    assert r.status_code == 404, r.text
    # an actor never approves, whoever's delivery and whether it exists (no existence leak)
    for target in (a, 987654):
        r = requests.post(
            server["url"] + f"/deliveries/{target}/approve", headers=_h(server, "actor_b")
        )
        assert r.status_code == 403, r.text
    assert requests.get(server["url"] + "/deliveries").status_code == 401
    assert requests.post(server["url"] + "/deliveries", data=b"x").status_code == 401


def _public_week(server, week_monday: date) -> int:
    """Published cells of a week (the served layer's temporal extent is fixed at start-up,
    so a new week is looked up in the table the layer serves)."""
    with psycopg.connect(server["db"]) as conn:
        (n,) = conn.execute(
            "SELECT count(*) FROM publish.observations WHERE week_start = %s", (week_monday,)
        ).fetchone()
    return n


def test_reviewer_approves_and_the_public_layer_changes(server):
    week = 25
    monday = date(2025, 12, 29) + timedelta(weeks=week - 1)
    created = post(server, "actor_a", counts_csv(week, 60), "approve.csv").json()
    assert _public_week(server, monday) == 0
    r = requests.post(
        server["url"] + f"/deliveries/{created['id']}/approve", headers=_h(server, "actor_a")
    )
    assert r.status_code == 403
    r = requests.post(
        server["url"] + f"/deliveries/{created['id']}/approve", headers=_h(server, "reviewer")
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["reviewed_by"] == "Granskare, test"
    assert _public_week(server, monday) > 0
    again = requests.post(
        server["url"] + f"/deliveries/{created['id']}/approve", headers=_h(server, "reviewer")
    )
    assert again.status_code == 409

    # a correction replaces it once approved
    fixed = post(server, "actor_a", counts_csv(week, 61), "fixed.csv", replaces=str(created["id"]))
    assert fixed.status_code == 201, fixed.text
    assert fixed.json()["replaces"] == created["id"]
    r = requests.post(
        server["url"] + f"/deliveries/{fixed.json()['id']}/approve",
        headers=_h(server, "reviewer"),
    )
    assert r.status_code == 200, r.text
    old = requests.get(
        server["url"] + f"/deliveries/{created['id']}", headers=_h(server, "actor_a")
    )
    assert old.json()["status"] == "replaced"

    # the owner withdraws the approved correction: the layer follows again
    r = requests.post(
        server["url"] + f"/deliveries/{fixed.json()['id']}/withdraw",
        headers=_h(server, "actor_a"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn"

    with psycopg.connect(server["db"]) as conn:
        actions = conn.execute(
            "SELECT action FROM lagesbild.access_log WHERE object_id = %s ORDER BY id",
            (str(fixed.json()["id"]),),
        ).fetchall()
    assert [a for (a,) in actions] == [
        "delivery.create",
        "delivery.approve",
        "delivery.withdraw",
    ]


def test_reject_needs_a_reason(server):
    created = post(server, "actor_a", counts_csv(26, 3), "reject.csv").json()
    url = server["url"] + f"/deliveries/{created['id']}/reject"
    assert requests.post(url, headers=_h(server, "reviewer")).status_code == 400
    assert (
        requests.post(url, json={"reason": " "}, headers=_h(server, "reviewer")).status_code == 400
    )
    r = requests.post(url, json={"reason": "Fel vecka"}, headers=_h(server, "reviewer"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rejected" and r.json()["review_reason"] == "Fel vecka"
    pending = requests.get(
        server["url"] + "/deliveries?status=pending", headers=_h(server, "reviewer")
    )
    assert created["id"] not in [d["id"] for d in pending.json()["deliveries"]]


def test_double_reports_are_shown_to_the_reviewer(server):
    events = (
        "kategori,datum,tid,x,y,referens\nskadegorelse,2026-06-30,18:30,623007.2,6580818.0,{}\n"
    )
    a = post(server, "actor_a", events.format("P-1").encode(), "a_ev.csv")
    b = post(server, "actor_b", events.format("V-1").encode(), "b_ev.csv")
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    assert b.json()["double_reports_flagged"] == 1
    r = requests.get(
        server["url"] + f"/deliveries/{b.json()['id']}", headers=_h(server, "reviewer")
    )
    [flag] = r.json()["double_reports"]
    assert flag["other_delivery"] == a.json()["id"] and flag["other_actor_kind"] == "police"
    assert flag["area_code"] and flag["area_name"] and flag["hour_start"] == "2026-06-30T18:00:00"


def test_too_large_is_413_before_and_while_reading(server):
    big = b"omr\xc3\xa5de,vecka,indikator,antal\n" + b"1101,2026-W20,ran,1\n" * (LIMIT // 10)
    r = post(server, "actor_a", big, "big.csv", raw=True)
    assert r.status_code == 413, r.text

    def chunks():
        for _ in range(LIMIT // 1000 + 10):
            yield b"1101,2026-W20,ran,1\n" * 50

    r = requests.post(
        server["url"] + "/deliveries?filename=big.csv",
        data=chunks(),
        headers={**_h(server, "actor_a"), "Content-Type": "text/csv"},
    )
    assert r.status_code == 413, r.text


def test_refused_files_name_row_and_column_never_the_value(server):
    personal = "område,vecka,indikator,antal,referens\n1101,2026-W27,ran,2,811218-9876\n"
    r = post(server, "actor_a", personal.encode(), "pnr.csv")
    assert r.status_code == 400, r.text
    assert "811218" not in r.text and "9876" not in r.text
    problems = r.json()["problems"]
    assert {"file": "pnr.csv", "row": 2, "column": "referens"}.items() <= problems[0].items()
    assert "personnummer" in problems[0]["reason"]

    negative = "område,vecka,indikator,antal\n1101,2026-W27,ran,5\n1102,2026-W27,ran,-31337\n"
    r = post(server, "actor_a", negative.encode(), "neg.csv")
    assert r.status_code == 400, r.text
    assert "31337" not in r.text
    assert {(p["row"], p["column"]) for p in r.json()["problems"]} == {(3, "antal")}


@pytest.mark.parametrize(
    "method, path, kwargs, status",
    [
        ("POST", "/deliveries", {"data": b""}, 400),  # empty body
        ("POST", "/deliveries", {"data": b"{}", "content_type": "application/json"}, 400),
        (
            "POST",
            "/deliveries",
            {"data": b"--x\r\nbroken", "content_type": "multipart/form-data; boundary=x"},
            400,
        ),
        (
            "POST",
            "/deliveries",
            {"data": b"--x--\r\n", "content_type": "multipart/form-data; boundary=x"},
            400,
        ),
        ("GET", "/deliveries/abc", {}, 400),
        ("GET", "/deliveries/99999999999999999999999", {}, 404),
        ("POST", "/deliveries/1/publish", {}, 404),
        ("GET", "/deliveries/1/approve", {}, 405),
        ("DELETE", "/deliveries", {}, 405),
        ("GET", "/deliveries?status=nonsense", {}, 400),
        ("POST", "/deliveries", {"data": b"a,b\n", "params": {"replaces": "x"}}, 400),
    ],
)
def test_malformed_requests_answer_4xx(server, method, path, kwargs, status):
    headers = _h(server, "actor_a")
    if "content_type" in kwargs:
        headers["Content-Type"] = kwargs.pop("content_type")
    elif method == "POST":
        headers["Content-Type"] = "text/csv"
    r = requests.request(method, server["url"] + path, headers=headers, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert "Traceback" not in r.text
    if status == 405:
        assert r.headers["Allow"]
    json.loads(r.text)


def test_review_pending_is_the_reviewers(server):
    created = post(server, "actor_a", counts_csv(28, 2), "pend.csv").json()
    r = requests.get(server["url"] + "/review/pending", headers=_h(server, "reviewer"))
    assert r.status_code == 200, r.text
    assert created["id"] in [d["id"] for d in r.json()["deliveries"]]
    assert (
        requests.get(server["url"] + "/review/pending", headers=_h(server, "actor_a")).status_code
        == 403
    )


def test_openapi_document_describes_the_delivery_paths():
    """add_paths on pygeoapi's shape of document: every path, every answer, both credentials;
    adding twice changes nothing (the lead wires it into server/config.prepare)."""
    from lagesbild_geo.server.openapi_extra import add_paths

    base = {"openapi": "3.0.2", "paths": {"/collections": {}}, "components": {}, "tags": []}
    doc = add_paths(base)
    assert base == {"openapi": "3.0.2", "paths": {"/collections": {}}, "components": {}, "tags": []}
    assert add_paths(doc) == doc
    assert {"/collections", "/deliveries", "/deliveries/{id}", "/review/pending"} <= set(
        doc["paths"]
    )
    for action in ("withdraw", "approve", "reject"):
        assert "post" in doc["paths"][f"/deliveries/{{id}}/{action}"]
    post = doc["paths"]["/deliveries"]["post"]
    assert {"multipart/form-data", "text/csv"} <= set(post["requestBody"]["content"])
    assert {"201", "200", "400", "401", "403", "404", "409", "413"} <= set(post["responses"])
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "in": "header", "name": "X-API-Key"}
    assert schemes["BearerJWT"]["scheme"] == "bearer"
    refs = json.dumps(doc)
    for name in ("Delivery", "DeliveryError", "DeliveryProblem"):
        assert f"#/components/schemas/{name}" in refs and name in doc["components"]["schemas"]


def test_the_served_openapi_documents_deliveries_and_both_credentials(server):
    r = requests.get(server["url"] + "/openapi?f=json")
    assert r.status_code == 200
    doc = r.json()
    for path in ("/deliveries", "/deliveries/{id}", "/deliveries/{id}/approve"):
        assert path in doc["paths"], path
    assert {"ApiKey", "BearerJWT"} <= set(doc["components"]["securitySchemes"])

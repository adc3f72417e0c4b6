"""(Re)create the flow corpus: deliveries refused for what the stages find together.

Run ``.venv/bin/python tests/data/flow/make.py``; the bytes are reproducible (explicit text,
workbooks with fixed timestamps). Two kinds (issue 11, items 5 and 6):

* ``base_*``: good deliveries that cases deliver first (``Case.before``);
  ``same_*``/``repeat_*``: the same counts or events again in another file (other column
  order, row order, separator, encoding, spelling of the week, CSV or .xlsx), refused as
  already delivered, or as repeating cells that would be counted twice;
* ``mixed_*``: problems of several stages in one file (personal data, columns, validation,
  ownership, placing), each refusal expected to carry the problem of a later stage that an
  earlier one used to hide.

Positions are the demo municipality's (tests/data/make_corpus.py, ``POINTS``).
"""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from make_corpus import KIRUNA, POINTS, _fixed_zip, xy  # noqa: E402

FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)
#: (area, week, indicator, count) of the police's base delivery.
COUNTS = [
    (area, week, indicator, (n * 7) % 5 + 1)
    for n, (area, week, indicator) in enumerate(
        (a, w, i)
        for a in ("1101", "1102", "1103", "1201")
        for w in ("2026-W07", "2026-W08")
        for i in ("anlagd_brand", "ran")
    )
]
MONDAY = {"2026-W07": "2026-02-09", "2026-W08": "2026-02-16", "2026-W09": "2026-02-23"}
#: (category, date, time, area, reference) of the security company's base events.
EVENTS = [
    ("skadegorelse", "2026-02-10", "18:30", "1101", "V-1001"),
    ("skadegorelse", "2026-02-10", "21:05", "1102", "V-1002"),
    ("klotter", "2026-02-11", "02:15", "1103", "V-1003"),
    ("ordningsstorning", "2026-02-14", "23:40", "1201", "V-1004"),
    ("skadegorelse", "2026-02-17", "19:00", "1101", "V-1005"),
]


def text(name: str, content: str, encoding: str = "utf-8", newline: str = "\r\n") -> None:
    (HERE / name).write_bytes(content.replace("\n", newline).encode(encoding))


def lines(rows) -> str:
    return "".join(",".join(map(str, r)) + "\n" for r in rows)


def events_csv(rows, header="kategori,datum,tid,x,y,referens") -> str:
    body = [(c, d, t, xy(a), ref) for c, d, t, a, ref in rows]
    return header + "\n" + "".join(f"{c},{d},{t},{p},{ref}\n" for c, d, t, p, ref in body)


def workbook(name: str, header: list[str], rows: list[list]) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.properties.created = FIXED_TIME
    book.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    book.save(buffer)
    (HERE / name).write_bytes(_fixed_zip(buffer.getvalue()))


def repeats() -> None:
    text("base_counts.csv", "område,vecka,indikator,antal\n" + lines(COUNTS), newline="\n")
    # The same counts in other files: each is the same delivery again.
    text(
        "same_counts_semicolon_cp1252.csv",
        "Område;Vecka;Indikator;Antal\n" + lines(COUNTS).replace(",", ";"),
        encoding="cp1252",
    )
    text(
        "same_counts_columns_and_rows_reordered.csv",
        "antal,indikator,område,vecka\n"
        + lines((n, i, a, w) for a, w, i, n in reversed(COUNTS)),
    )
    text(
        "same_counts_dates_for_weeks.csv",
        "område,datum,indikator,antal\n" + lines((a, MONDAY[w], i, n) for a, w, i, n in COUNTS),
    )
    text(
        "same_counts_english_names_bom.csv",
        "\ufeffarea,week,indicator,count\n" + lines(COUNTS),
    )
    workbook(
        "same_counts.xlsx", ["område", "vecka", "indikator", "antal"], [list(r) for r in COUNTS]
    )
    # Cells repeated: a file that holds the base and more, and one that holds part of it.
    more = [(a, "2026-W09", i, 2) for a in ("1101", "1102") for i in ("anlagd_brand", "ran")]
    text("repeat_counts_superset.csv", "område,vecka,indikator,antal\n" + lines(COUNTS + more))
    text(
        "repeat_counts_subset.csv",
        "område,vecka,indikator,antal\n" + lines(r for r in COUNTS if r[1] == "2026-W07"),
    )

    text("base_events.csv", events_csv(EVENTS), newline="\n")
    text("same_events_shuffled.csv", events_csv([EVENTS[i] for i in (3, 0, 4, 2, 1)]))
    text(
        "same_events_other_columns.csv",
        "referens;y;x;tid;datum;kategori\n"
        + "".join(
            f"{ref};{POINTS[a][1]};{POINTS[a][0]};{t};{d};{c}\n" for c, d, t, a, ref in EVENTS
        ),
        encoding="cp1252",
    )
    later = [("skadegorelse", "2026-02-24", "20:00", "1102", "V-1006")]
    text("repeat_events_superset.csv", events_csv(EVENTS + later))


def mixed() -> None:
    # Security company: a row twice (validation) and 30 rows of a police indicator (ownership).
    rows = [("1101", "2026-W07", "skadegorelse", 3), ("1101", "2026-W07", "skadegorelse", 3)]
    rows += [(a, f"2026-W{w:02d}", "anlagd_brand", 1) for a in ("1102", "1103") for w in range(1, 16)]
    text("mixed_duplicate_and_police_indicator.csv", "område,vecka,indikator,antal\n" + lines(rows))
    # Two columns for the period (columns) and a police indicator (ownership).
    text(
        "mixed_two_period_columns_and_police_indicator.csv",
        "område,vecka,datum,indikator,antal\n1101,2026-W07,2026-02-10,ran,2\n",
    )
    # Three unknown columns (columns) and a police indicator (ownership).
    text(
        "mixed_unknown_columns_and_police_indicator.csv",
        "område,vecka,indikator,antal,status,kod,extra\n"
        "1101,2026-W07,skadegorelse,1,ok,A,1\n"
        "1102,2026-W07,ran,2,ok,B,2\n",
    )
    # A police indicator (ownership) and an event in Kiruna (placing).
    text(
        "mixed_police_indicator_and_outside.csv",
        "kategori,datum,tid,x,y\n"
        f"skadegorelse,2026-02-10,18:30,{xy('1101')}\n"
        f"anlagd_brand,2026-02-10,19:30,{xy('1102')}\n"
        f"skadegorelse,2026-02-11,20:30,{KIRUNA[0]},{KIRUNA[1]}\n",
    )
    # A personnummer (privacy) and a police indicator (ownership): both, the number unsaid.
    text(
        "mixed_personnummer_and_police_indicator.csv",
        "område,vecka,indikator,antal,referens\n"
        "1101,2026-W07,skadegorelse,1,AR-1\n"
        "1102,2026-W07,ran,2,811218-9876\n"
        "1103,2026-W07,ran,1,AR-3\n",
    )


if __name__ == "__main__":
    repeats()
    mixed()

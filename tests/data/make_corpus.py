"""(Re)create the delivery corpus in tests/data: broken files and a few good ones.

Run ``.venv/bin/python tests/data/make_corpus.py``. The output is byte-for-byte reproducible:
text files are written as explicit bytes (real Windows-1252 and UTF-16 where that is the
point) and the Excel workbooks get fixed timestamps, both in their metadata and in the zip.

Area codes and positions come from the demo municipality ``areas/lagesby_nyko.gpkg``: every
position below lies inside the level-3 area named beside it. They are written out here so
that the corpus does not depend on GIS libraries.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOOD = HERE / "good"
FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)

# Representative points (EPSG:3006, and the same in WGS84 to 6 decimals) inside demo areas.
POINTS = {
    "1101": (623007.2, 6580818.0, 59.348153, 17.163152),
    "1102": (621710.3, 6581296.5, 59.352823, 17.140635),
    "1103": (620597.1, 6580681.1, 59.34762, 17.120727),
    "1201": (620325.6, 6581603.1, 59.355972, 17.116471),
    "2101": (627391.2, 6580887.3, 59.347473, 17.240221),
    "2201": (623688.2, 6585290.2, 59.388085, 17.177689),
}
KIRUNA = (719583.1, 7536070.0)  # valid SWEREF 99 TM, about 1,000 km north of the demo town


def text(name: str, content: str, encoding: str = "utf-8", folder: Path = HERE) -> None:
    """Write ``content`` with CRLF line ends (as Excel does) in the given encoding."""
    data = content.replace("\n", "\r\n").encode(encoding)
    (folder / name).write_bytes(data)


def xy(code: str) -> str:
    x, y, _, _ = POINTS[code]
    return f"{x},{y}"


def broken() -> None:
    # reading
    text(
        "utf16.csv",
        "område;vecka;indikator;värde\n1101;2026-W07;skadegorelse;3\n",
        encoding="utf-16",  # with BOM, as Excel's "Unicode text"
    )
    (HERE / "empty.csv").write_bytes(b"")
    (HERE / "empty.xlsx").write_bytes(b"")
    (HERE / "corrupt.xlsx").write_bytes(b"PK\x03\x04 this is not really a workbook\n")
    (HERE / "leverans.ods").write_bytes(b"not supported\n")
    text("header_only.csv", "område;vecka;indikator;värde\n")
    text(
        "ragged_rows.csv",
        "område;vecka;indikator;värde\n"
        "1101;2026-W07;skadegorelse;3\n"
        "1102;2026-W07;skadegorelse;4;extra\n"
        "1103;2026-W07\n",
    )
    # privacy
    text(
        "personnummer.csv",
        "område,vecka,indikator,värde,referens\n"
        "1101,2026-W07,skadegorelse,3,AR-2026-000123\n"
        "1102,2026-W07,skadegorelse,1,811218-9876\n"
        "1103,2026-W07,skadegorelse,2,198112189876\n",
    )
    text(
        "name_column.csv",
        "område,vecka,indikator,värde,Namn\n1101,2026-W07,skadegorelse,3,Anna Svensson\n",
    )
    text(
        "email_in_ref.csv",
        "område,vecka,indikator,värde,referens\n"
        "1101,2026-W07,skadegorelse,3,anna.svensson@example.se\n",
    )
    text(
        "free_text_column.csv",
        "kategori,datum,tid,x,y,kommentar\n"
        f"skadegorelse,2026-02-10,18:30,{xy('1101')},"
        "Ungdomar samlades vid skolan och kastade sten\n",
    )
    # columns and shapes
    text("missing_columns.csv", "område;indikator;värde\n1101;skadegorelse;3\n")
    text(
        "unknown_column.csv",
        "område;vecka;indikator;värde;status\n1101;2026-W07;skadegorelse;3;klar\n",
    )
    text(
        "mixed_shapes.csv",
        f"område,kategori,datum,tid,x,y\n1101,skadegorelse,2026-02-10,18:30,{xy('1101')}\n",
    )
    # aggregated values
    text(
        "unknown_area.csv",
        "område;vecka;indikator;värde\n"
        "1101;2026-W07;skadegorelse;3\n"
        "9901;2026-W07;skadegorelse;2\n"
        "11;2026-W07;skadegorelse;1\n",
    )
    text(
        "unknown_indicator.csv",
        "område;vecka;indikator;värde\n1101;2026-W07;skadegörelse_x;3\n",
    )
    text(
        "negative_count.csv",
        "område;vecka;indikator;värde\n1101;2026-W07;skadegorelse;3\n1102;2026-W07;skadegorelse;-2\n",
    )
    text("decimal_count.csv", "område;vecka;indikator;värde\n1101;2026-W07;skadegorelse;2,5\n")
    text(
        "future_period.csv",
        "område;vecka;indikator;värde\n1101;2026-W07;skadegorelse;3\n1101;2030-W02;skadegorelse;1\n",
    )
    text("week53_52_week_year.csv", "område;vecka;indikator;värde\n1101;2025-W53;skadegorelse;3\n")
    text(
        "duplicate_rows.csv",
        "område;vecka;indikator;värde\n"
        "1101;2026-W07;skadegorelse;3\n"
        "1102;2026-W07;skadegorelse;1\n"
        "1101;2026-02-11;skadegorelse;5\n",
    )
    text(
        "share_numerator_above_denominator.csv",
        "område;vecka;indikator;täljare;nämnare\n"
        "1101;2026-W07;ofullstandiga_betyg_ak9;12;40\n"
        "1102;2026-W07;ofullstandiga_betyg_ak9;30;25\n",
    )
    # events
    text(
        "wrong_crs_degrees.csv",
        "kategori,datum,tid,x,y\nskadegorelse,2026-02-10,18:30,17.163152,59.348153\n",
    )
    text(
        "swapped_xy.csv",
        "kategori,datum,tid,x,y\nskadegorelse,2026-02-10,18:30,6580818.0,623007.2\n",
    )
    text(
        "unknown_crs.csv",
        f"kategori,datum,tid,x,y,crs\nskadegorelse,2026-02-10,18:30,{xy('1101')},EPSG:99999\n",
    )
    text(
        "invalid_date_time.csv",
        "kategori,datum,tid,x,y\n"
        f"skadegorelse,2026-02-30,18:30,{xy('1101')}\n"
        f"skadegorelse,2026-02-10,25:10,{xy('1102')}\n",
    )
    text(
        "duplicate_events.csv",
        "kategori,datum,tid,x,y,referens\n"
        f"skadegorelse,2026-02-10,18:30,{xy('1101')},K123456-26\n"
        f"skadegorelse,2026-02-10,18:30,{xy('1102')},K123457-26\n"
        f"skadegorelse,2026-02-10,18:30,{xy('1101')},K123456-26\n",
    )
    text(
        "outside_municipality_kiruna.csv",
        f"kategori,datum,tid,x,y\nskadegorelse,2026-02-10,18:30,{KIRUNA[0]},{KIRUNA[1]}\n",
    )


def good() -> None:
    GOOD.mkdir(exist_ok=True)
    text(
        "aggregated_utf8.csv",
        "\ufeffarea_code,week,indicator,value,source_ref\n"  # BOM, as Excel's "CSV UTF-8"
        "1101,2026-W07,skadegorelse,3,AR-2026-000123\n"
        "110104,2026W08,skadegorelse,1,AR-2026-000124\n"
        "1102,2026-02-10,ordningsstorning,0,\n"
        "2101,v7 2026,anlagd_brand,12,\n",
        folder=GOOD,
    )
    text(
        "aggregated_cp1252_semicolon.csv",
        "område;vecka;indikator;värde\n"
        "1101;2026-W07;skadegorelse;3,0\n"
        "1201;2026-W07;ordningsstorning;12,0\n"
        "120105;2026-W08;anlagd_brand;2\n",
        encoding="cp1252",
        folder=GOOD,
    )
    text(
        "shares.csv",
        "område;vecka;indikator;täljare;nämnare\n"
        "1101;2026-W07;ofullstandiga_betyg_ak9;12;40\n"
        "1102;2026-W07;ofullstandiga_betyg_ak9;0;35\n"
        "2101;2026-W07;ofullstandiga_betyg_ak9;28;28\n",
        folder=GOOD,
    )
    text(
        "events_sweref.csv",
        "category,date,time,x,y,crs,source_ref\n"
        f"skadegorelse,2026-02-10,18:30,{xy('1101')},EPSG:3006,K123456-26\n"
        f"anlagd_brand,2026-01-01,00:05,{xy('2101')},3006,K123457-26\n"
        f"ordningsstorning,2025-12-31,23:59,{xy('1201')},,\n"
        f"skadegorelse,2026-02-15,7:45,{xy('2201')},EPSG:3006,\n",
        folder=GOOD,
    )
    lines = ["kategori;datum;klockslag;lat;lon;referens"]
    for code, category, day, time, ref in (
        ("1102", "skadegorelse", "2026-03-02", "21:10", "AR-2026-000200"),
        ("1103", "ordningsstorning", "2026-03-08", "02:45", "AR-2026-000201"),
    ):
        _, _, lat, lon = POINTS[code]
        lines.append(f"{category};{day};{time};{str(lat).replace('.', ',')};{lon};{ref}")
    text("events_latlon.csv", "\n".join(lines) + "\n", folder=GOOD)
    excel(GOOD / "aggregated.xlsx")


def excel(path: Path) -> None:
    """A workbook as actors make them: a notes sheet first, the data on a sheet named Data."""
    from openpyxl import Workbook

    workbook = Workbook()
    notes = workbook.active
    notes.title = "Om filen"
    notes["A1"] = "Leverans från Bostadsbolaget, vecka 7–8 2026"
    data = workbook.create_sheet("Data")
    data.append(["Område", "Vecka", "Indikator", "Antal", "Referens"])
    data.append(["1101", "2026-W07", "skadegorelse", 4, "BB-7781"])
    data.append(["1104", dt.datetime(2026, 2, 17), "ordningsstorning", 2.0, None])
    data.append([None, None, None, None, None])  # a blank row in the middle
    data.append(["2201", "2026-W08", "skadegorelse", 1, "BB-7790"])
    data["B3"].number_format = "yyyy-mm-dd"
    workbook.properties.created = FIXED_TIME
    workbook.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(_fixed_zip(buffer.getvalue()))


def _fixed_zip(data: bytes) -> bytes:
    """The same zip with every entry time fixed, so that the bytes do not depend on today."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps "modified" on save
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-01-01T00:00:00Z", content
                )
            target.writestr(fixed, content)
    return out.getvalue()


if __name__ == "__main__":
    broken()
    good()

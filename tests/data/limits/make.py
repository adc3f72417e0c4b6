"""(Re)create the limits corpus: counts, dates, times, area codes, references, control characters.

Run ``.venv/bin/python tests/data/limits/make.py``. Every file is written as explicit bytes
(UTF-8, CRLF line ends as Excel writes them; the workbook with fixed timestamps), so the
output is byte-for-byte reproducible. Each file breaks one rule of ``lagesbild_geo.ingest``'s
limits in one row; ``tests/ingest/cases/limits.py`` says which refusal it must get. Two good
files (thousands separated by no-break spaces, in counts and in coordinates) go to ``../good``.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from make_corpus import FIXED_TIME, GOOD, POINTS, _fixed_zip  # noqa: E402

COUNTED = "område;vecka;indikator;antal;referens"
EVENTS = "kategori;datum;tid;x;y;referens"
NBSP = "\u00a0"


def write(name: str, *lines: str, folder: Path = HERE) -> None:
    """UTF-8, CRLF line ends, a header and the rows."""
    (folder / name).write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))


def counted(name: str, cell: str, column: str = "antal", week: str = "2026-W07") -> None:
    """A counted delivery whose second row holds ``cell`` in ``column``; the first is fine."""
    row = {"område": "1102", "vecka": week, "indikator": "skadegorelse", "antal": "2"}
    row |= {"referens": "AR-2"} | {column: cell}
    write(name, COUNTED, "1101;2026-W07;skadegorelse;3;AR-1", ";".join(row.values()))


def event(name: str, cell: str, column: str) -> None:
    """An event delivery whose second row holds ``cell`` in ``column``."""
    x, y = (str(v) for v in POINTS["1101"][:2])
    row = {"kategori": "skadegorelse", "datum": "2026-02-10", "tid": "18:30", "x": x, "y": y}
    row |= {"referens": "K-2"} | {column: cell}
    write(name, EVENTS, f"skadegorelse;2026-02-10;12:00;{x};{y};K-1", ";".join(row.values()))


def broken() -> None:
    # counts: integers 0..LAGESBILD_MAX_COUNT, digits 0-9 only
    counted("count_int64_max.csv", str(2**63 - 1))  # was stored and published as 9.2e18
    counted("count_above_int64.csv", str(2**64))  # was an OverflowError traceback
    counted("count_exponent.csv", "1e3")
    counted("count_fullwidth_digits.csv", "\uff11\uff12")
    counted("count_arabic_indic_digit.csv", "\u0663")
    counted("count_minus_sign.csv", "\u22123")
    counted("count_plus_sign.csv", "+3")
    counted("count_thousand_or_one.csv", "1,000")
    counted("count_above_setting.csv", "150")  # refused with max_count=100
    write(
        "share_denominator_huge.csv",
        "område;vecka;indikator;täljare;nämnare",
        "1101;2026-W07;ofullstandiga_betyg_ak9;3;20",
        f"1102;2026-W07;ofullstandiga_betyg_ak9;3;{2**63}",
    )
    # dates and weeks: from LAGESBILD_EARLIEST_DATE to now (Europe/Stockholm)
    counted("week_year_0001.csv", "0001-W01", "vecka")  # became a public feature
    write(
        "date_year_1900.csv",
        "område;datum;indikator;antal",
        "1101;2026-02-10;skadegorelse;3",
        "1102;1900-01-01;skadegorelse;2",
    )
    event("event_year_1900.csv", "1900-03-01", "datum")
    event("event_later_today.csv", "2026-11-20", "datum")  # with now = 2026-11-20 12:00
    event("time_seconds_99.csv", "18:30:99", "tid")
    event("time_24_00.csv", "24:00", "tid")
    event("date_day_month_order.csv", "11/2/2026", "datum")
    # area codes: exact after case and surrounding spaces; finer codes by digits only
    counted("area_free_text_suffix.csv", "1101-GAMLA", "område")  # rolled up to 1101
    counted("area_level2.csv", "11", "område")  # was "unknown"
    counted("area_zero_width_space.csv", "1101\u200b", "område")
    # references: short, one line, never a formula or DDE call (OWASP CSV injection)
    counted("ref_formula.csv", "=1+1", "referens")
    counted("ref_dde_fullwidth_plus.csv", "\uff0bcmd|' /C calc'!A0", "referens")
    counted("ref_dde_after_quote.csv", "'@SUM(1+1)*cmd|' /C calc'!A0", "referens")
    # a code, not words (the privacy gate would refuse 1 MB of letters as free text first)
    counted("ref_one_megabyte.csv", "AR-" + "0123456789" * 100_000, "referens")
    # control and invisible characters in any column
    counted("nul_in_indicator.csv", "skadegorelse\x00", "indikator")  # the NUL was dropped
    counted("nul_in_count.csv", "2\x00", "antal")
    event("bidi_override_in_ref.csv", "K\u202e-2", "referens")
    event("coordinate_dots_as_thousands.csv", "6.580.818", "y")
    excel_count("count_int64_max.xlsx", 9.223372036854776e18)


def excel_count(name: str, count: float) -> None:
    """A workbook whose second data row holds ``count`` as a number cell."""
    from openpyxl import Workbook

    workbook = Workbook()
    data = workbook.active
    data.title = "Data"
    data.append(["Område", "Vecka", "Indikator", "Antal"])
    data.append(["1101", "2026-W07", "skadegorelse", 4])
    data.append(["1102", "2026-W07", "skadegorelse", count])
    workbook.properties.created = FIXED_TIME
    workbook.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    workbook.save(buffer)
    (HERE / name).write_bytes(_fixed_zip(buffer.getvalue()))


def good() -> None:
    """Thousands separated by no-break spaces are accepted in counts and coordinates alike."""
    write(
        "aggregated_thousands_nbsp.csv",
        "område;vecka;indikator;antal",
        f"1101;2026-W07;skadegorelse;1{NBSP}234",
        "1102;2026-W07;skadegorelse;12 000",
        "1103;2026-W07;skadegorelse;3,0",
        folder=GOOD,
    )
    # demo area 1101: (623007.2, 6580818.0); the time 18.31 as Swedes write it
    lines = [
        f"skadegorelse;2026-02-10;18:30;623{NBSP}007,2;6{NBSP}580{NBSP}818",
        "skadegorelse;2026-02-10;18.31;623\u202f007.2;6\u202f580\u202f818,0",
    ]
    write("events_thousands_nbsp.csv", "kategori;datum;tid;x;y", *lines, folder=GOOD)


if __name__ == "__main__":
    broken()
    good()

"""(Re)create the privacy corpus: deliveries with personal data in the forms people type.

Run ``.venv/bin/python tests/data/privacy/make.py``; the bytes are reproducible (text as
explicit UTF-8 with CRLF, the workbook with fixed timestamps, as ``tests/data/make_corpus.py``).
Each file is otherwise a good delivery of the demo municipality, so the privacy gate's problem
is the one that refuses it; the cases are in ``tests/ingest/cases/privacy.py``. Every
personnummer here is made up with a valid date and check digit.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from make_corpus import FIXED_TIME, _fixed_zip  # noqa: E402

HEADER = "område;vecka;indikator;antal;referens\n"
FIRST = "1101;2026-W07;skadegorelse;3;AR-2026-000123\n"

FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

REFERENCES = {
    # file: the personal value in row 3, column referens
    "pnr_space.csv": "19850412 1230",
    "pnr_en_dash.csv": "811218\u20139876",
    "pnr_full_width.csv": "811218-9876".translate(FULL_WIDTH),
    "pnr_arabic_indic.csv": "811218-9876".translate(ARABIC_INDIC),
    "pnr_zero_width.csv": "8112\u200b18-9876",
    "pnr_after_decoy.csv": "AR-1234567890 811218-9876",
    "samordningsnummer.csv": "811278-9873",
    "email_no_tld.csv": "anna@example",
    "email_spelled_at.csv": "anna (at) example.se",
    "email_full_width_at.csv": "anna\uff20example.se",
    "phone_dots.csv": "070.123.45.67",
    "phone_national.csv": "0701234567",
    "phone_0046.csv": "0046 70 123 45 67",
    "name_surname_given.csv": "Svensson, Anna",
    "name_initial.csv": "A. Svensson",
    "free_text_reference.csv": "Bråk vid kiosken",
}
INDICATORS = {
    # file: the personal value in row 3, column indikator
    "name_lower_case_indicator.csv": "anna svensson",
    "surname_as_indicator.csv": "Svensson",
}


def text(name: str, content: str) -> None:
    (HERE / name).write_bytes(content.replace("\n", "\r\n").encode("utf-8"))


def workbook(name: str) -> None:
    """A personnummer in full-width digits in a cell of the data sheet."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet.append(["Område", "Vecka", "Indikator", "Antal", "Referens"])
    sheet.append(["1101", "2026-W07", "skadegorelse", 4, "BB-7781"])
    sheet.append(["1102", "2026-W07", "skadegorelse", 1, "19811218-9876".translate(FULL_WIDTH)])
    book.properties.created = FIXED_TIME
    book.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    book.save(buffer)
    (HERE / name).write_bytes(_fixed_zip(buffer.getvalue()))


def main() -> None:
    for name, value in REFERENCES.items():
        text(name, f"{HEADER}{FIRST}1102;2026-W07;skadegorelse;1;{value}\n")
    for name, value in INDICATORS.items():
        text(name, f"{HEADER}{FIRST}1102;2026-W07;{value};1;AR-2026-000124\n")
    workbook("pnr_full_width.xlsx")


if __name__ == "__main__":
    main()

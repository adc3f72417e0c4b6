"""Personal data in the forms people type: tests/data/privacy, made by its make.py.

Each value sits in row 3 of an otherwise good delivery; the refusal must name the row, the
column and the rule, and repeat the value in no form (nor its digits in plain ASCII).
"""

from tests.ingest.corpus import Case

PNR = "looks like a personnummer or samordningsnummer"
EMAIL = "looks like an e-mail address"
PHONE = "looks like a telephone number"
NAME = "looks like a person's name"
FREE_TEXT = "a reference is a code into the actor's own system"


def _ref(file: str, reason: str, *hidden: str) -> Case:
    return Case(f"privacy/{file}", reason, row=3, column="referens", hidden=hidden)


CASES = [
    _ref("pnr_space.csv", PNR, "19850412 1230", "850412"),
    _ref("pnr_en_dash.csv", PNR, "811218\u20139876", "811218", "9876"),
    _ref("pnr_full_width.csv", PNR, "８１１２１８－９８７６", "811218", "9876"),
    _ref("pnr_arabic_indic.csv", PNR, "٨١١٢١٨-٩٨٧٦", "811218", "9876"),
    _ref("pnr_zero_width.csv", PNR, "8112\u200b18-9876", "811218", "9876"),
    _ref("pnr_after_decoy.csv", PNR, "811218-9876", "1234567890"),
    _ref("samordningsnummer.csv", PNR, "811278-9873", "811278"),
    _ref("email_no_tld.csv", EMAIL, "anna@example", "anna"),
    _ref("email_spelled_at.csv", EMAIL, "anna (at) example.se", "example"),
    _ref("email_full_width_at.csv", EMAIL, "anna\uff20example.se", "example"),
    _ref("phone_dots.csv", PHONE, "070.123.45.67", "123.45"),
    _ref("phone_national.csv", PHONE, "0701234567"),
    _ref("phone_0046.csv", PHONE, "0046 70 123 45 67", "123 45 67"),
    _ref("name_surname_given.csv", NAME, "Svensson", "Anna"),
    _ref("name_initial.csv", NAME, "A. Svensson", "Svensson"),
    _ref("free_text_reference.csv", FREE_TEXT, "Bråk", "kiosken"),
    Case(
        "privacy/name_lower_case_indicator.csv",
        NAME,
        row=3,
        column="indikator",
        hidden=("anna svensson", "svensson"),
    ),
    Case("privacy/surname_as_indicator.csv", NAME, row=3, column="indikator", hidden=("Svensson",)),
    Case(
        "privacy/pnr_full_width.xlsx",
        PNR,
        row=3,
        column="Referens",
        hidden=("１９８１１２１８", "19811218", "9876"),
    ),
]

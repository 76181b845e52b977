"""CSV lines built by the database equal what Python's csv module writes for the xlsx values."""

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from jvap.initiatives.models import InitiativeFunder
from jvap.reports import csv_lines, queries, render
from tests.factories import make_initiative

ALL = queries.Scope(("published", "pending"))


def expected_lines(session: Session, scope: queries.Scope, lang: str) -> list[str]:
    """The reference: the xlsx report's values, dates ISO, amounts with two decimals."""
    values = render.initiative_values(lang)
    lines = []
    for batch in queries.iter_initiatives(session, scope=scope):
        for row in batch:
            line: list[Any] = list(values(row))
            for i in (5, 6):  # start, end: dates or ISO text, depending on the backend
                line[i] = "" if line[i] is None else str(line[i])
            for i in (11, 13):  # budget, budget in EUR
                line[i] = "" if line[i] is None else f"{line[i]:.2f}"
            out = io.StringIO()
            csv.writer(out).writerow(line)
            lines.append(out.getvalue().removesuffix("\r\n"))
    return lines


def built_lines(session: Session, scope: queries.Scope, lang: str) -> list[str]:
    labels = render.initiative_labels(lang)
    return [
        line
        for batch in csv_lines.iter_lines(session, scope=scope, labels=labels)
        for line in batch
    ]


def add_funders(session: Session, initiative: Any, *names: str) -> None:
    initiative.funders = [
        InitiativeFunder(position=i, name=name, partner_code=None) for i, name in enumerate(names)
    ]
    session.flush()


@pytest.fixture
def tricky(session: Session) -> list[int]:
    """Initiatives whose text needs quoting, neutralising, sorting or has gaps."""
    made = [
        make_initiative(session, title='=HYPERLINK("http://evil.example","click")'),
        make_initiative(
            session,
            title="Santé, emploi et « mobilité »",
            kind="policy",
            budget=None,
            currency=None,
            status="planned",
        ),
        make_initiative(
            session,
            title="Two\nlines\r\nhere",
            end_date=None,
            scope="regional",
            countries=("SEN", "ETH", "MLI", "BFA"),
            domains=("D3", "D1"),
            priorities=("D3.01", "D1.02", "D1.01"),
        ),
        make_initiative(
            session,
            title="-5% quotas @home",
            budget=Decimal("1234.5"),
            publication_status="pending",
            countries=(),
        ),
        make_initiative(session, title="+ tabs\there", budget=Decimal("0.07"), status="suspended"),
        make_initiative(session, title="\tleading tab", start_date=date(2016, 2, 29)),
        make_initiative(session, title='Plain "quoted" word', budget=Decimal("999999999.99")),
        make_initiative(session, title="Œuvre ß ÉTÉ 移民", currency="USD"),
        # What PostgreSQL's COPY writes as backslash sequences, and a literal "\n".
        make_initiative(session, title="back\\slash \\n, form\ffeed\vtab\bspace"),
    ]
    add_funders(session, made[0], "Zeta fund", "=cmd|' /C calc'!A0", "alpha, beta")
    add_funders(session, made[1], "Fonds « Ébène »", "European Union", "Agence française")
    add_funders(session, made[2], '-say "hi"')
    add_funders(session, made[3], "ÉU", "EU", "eu", "Eu")  # code point order, not locale order
    return [initiative.id for initiative in made]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_lines_equal_the_csv_module_on_the_xlsx_values(
    session: Session, tricky: list[int], lang: str
) -> None:
    built = built_lines(session, ALL, lang)
    assert built == expected_lines(session, ALL, lang)
    # Each tricky initiative is there, and the file reads back to the same fields.
    text = "\r\n".join(built) + "\r\n"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    refs = [row[0] for row in rows]
    assert {f"JV-{i:06d}" for i in tricky} <= set(refs)
    by_ref = {row[0]: row for row in rows}
    first = by_ref[f"JV-{tricky[0]:06d}"]
    assert first[3] == "'" + '=HYPERLINK("http://evil.example","click")'
    assert first[14] == "'=cmd|' /C calc'!A0; Zeta fund; alpha, beta"
    third = by_ref[f"JV-{tricky[2]:06d}"]
    assert third[3] == "Two\nlines\r\nhere"
    assert third[8] == "BFA; ETH; MLI; SEN"
    assert third[10] == "D1.01; D1.02; D3.01"
    assert by_ref[f"JV-{tricky[3]:06d}"][14] == "EU; Eu; eu; ÉU"
    assert by_ref[f"JV-{tricky[8]:06d}"][3] == "back\\slash \\n, form\ffeed\vtab\bspace"
    assert by_ref[f"JV-{tricky[3]:06d}"][11] == "1234.50"


def test_lines_follow_the_scope(session: Session, tricky: list[int]) -> None:
    published = queries.Scope(("published",))
    lines = built_lines(session, published, "en")
    assert len(lines) == queries.count_initiatives(session, scope=published)
    assert lines == expected_lines(session, published, "en")
    assert not any(line.startswith(f"JV-{tricky[3]:06d},") for line in lines)
    in_d3 = queries.Scope(("published", "pending"), domain="D3")
    assert [line[:9] for line in built_lines(session, in_d3, "en")] == [f"JV-{tricky[2]:06d}"]


@pytest.mark.parametrize(
    "text", ["plain", "a,b", 'say "hi"', "two\nlines", "cr\ronly", "", "'quote'", "; semi"]
)
def test_quote_matches_the_csv_module(text: str) -> None:
    out = io.StringIO()
    csv.writer(out).writerow([text, "x"])
    assert csv_lines.quote(text) + ",x\r\n" == out.getvalue()

"""Text search: a case-insensitive substring of the title or the description, on both backends."""

from datetime import date

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from jvap.initiatives import service
from jvap.initiatives.models import Initiative
from jvap.initiatives.rules import InitiativeRecord
from jvap.initiatives.schemas import InitiativeFilters

TEXTS = {
    "border": ("Border management", "Training of border guards"),
    "refugees": ("Protection des réfugiés", "Accueil et intégration"),
    "percent": ("Reaching 100% of returnees", "Monitoring"),
    "thousand": ("1000 returnees", "Reintegration"),
    "underscore": ("Registry a_b", "Civil status"),
    "letters": ("Registry axb", "Civil status"),
    "quotes": ('The "Valletta" plan', "Soutien à l'Union africaine"),
    "split": ("Fisheries abc", "def cooperation"),
    "operators": ("Youth employment", "Phase 2: NEAR the coast (pilot) - OR not"),
}


def record(title: str, description: str | None) -> InitiativeRecord:
    return InitiativeRecord(
        kind="policy",
        title=title,
        description=description,
        status="ongoing",
        start_date=date(2020, 1, 1),
        domains=["D1"],
        scope="national",
        countries=["SEN"],
    )


@pytest.fixture
def ids(session: Session) -> dict[str, int]:
    created = service.create_initiatives(
        session, [("GHA", record(*texts)) for texts in TEXTS.values()], user_id=None
    )
    return dict(zip(TEXTS, created, strict=True))


def found(session: Session, q: str, **filters: object) -> set[int]:
    total, items = service.list_initiatives(
        session,
        filters=InitiativeFilters(q=q, partner=["GHA"], **filters),
        visibility=service.Visibility(),
        size=100,
    )
    refs = {int(item.ref.removeprefix("JV-")) for item in items}
    assert total == len(refs)
    return refs


def names(ids: dict[str, int], result: set[int]) -> set[str]:
    return {name for name, i in ids.items() if i in result}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("border", {"border"}),
        ("BORDER GUARDS", {"border"}),  # in the description; case does not count
        ("  rder ma ", {"border"}),  # inside words, across a space; the query is trimmed
        ("RÉFUGIÉS", {"refugees"}),  # case folds for accented letters too
        ("refugies", set()),  # accents count
        ("intégration", {"refugees"}),
        ("100%", {"percent"}),  # % and _ are literal characters
        ("0%", {"percent"}),
        ("a_b", {"underscore"}),
        ('"valletta"', {"quotes"}),
        ('the "', {"quotes"}),
        ("l'union", {"quotes"}),
        ("'", {"quotes"}),
        ("abcdef", set()),  # never across the title and the description
        ("abc def", set()),
        ("near the", {"operators"}),  # full-text operators are plain text
        ("(pilot) - or", {"operators"}),
        ("phase 2:", {"operators"}),
        ("employ*", set()),
        (
            "e",
            {
                "border",
                "refugees",
                "percent",
                "thousand",
                "underscore",
                "letters",
                "quotes",
                "split",
                "operators",
            },
        ),
        ("ré", {"refugees"}),  # shorter than a trigram: scanned, same meaning
        ("_", {"underscore"}),
        ("%", {"percent"}),
        ("zz", set()),
    ],
)
def test_substring_semantics(
    session: Session, ids: dict[str, int], q: str, expected: set[str]
) -> None:
    assert names(ids, found(session, q)) == expected


def test_search_follows_updates_and_deletes(session: Session, ids: dict[str, int]) -> None:
    border = ids["border"]
    service.update_initiatives(
        session, [(border, 1, record("Coastal surveillance", "Patrols"))], user_id=None
    )
    assert found(session, "border") == set()
    assert found(session, "coastal") == {border}
    session.execute(delete(Initiative).where(Initiative.id == border))
    assert found(session, "coastal") == set()


def test_search_combines_with_other_filters_and_sorts(
    session: Session, ids: dict[str, int]
) -> None:
    assert names(ids, found(session, "registry", domain=["D1"])) == {"underscore", "letters"}
    assert names(ids, found(session, "registry", domain=["D2"])) == set()
    total, items = service.list_initiatives(
        session,
        filters=InitiativeFilters(q="registry", partner=["GHA"]),
        visibility=service.Visibility(),
        sort="-title",
        size=1,
    )
    assert total == 2 and items[0].title == "Registry axb"

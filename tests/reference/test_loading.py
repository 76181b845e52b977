"""Parsing reference files, without a database."""

import pytest

from jvap.errors import InvalidReferenceData
from jvap.reference.loading import parse_reference_file
from jvap.reference.service import package_reference_bytes


def test_the_shipped_file_parses() -> None:
    parsed = parse_reference_file("reference.yaml", package_reference_bytes())
    assert len(parsed.domains or []) == 5
    assert {p["code"] for p in parsed.processes or []} == {"RP", "KP"}
    assert len(parsed.organisations or []) == 9
    assert parsed.priorities and all(p.code.startswith(p.domain) for p in parsed.priorities)


def test_priorities_from_csv() -> None:
    content = (
        "\ufeffcode,domain,level,parent,title_en,title_fr,verified\n"
        "D1.A,D1,area,,Area one,Domaine un,yes\n"
        "D1.A.1,D1,action,D1.A,Action one,,\n"
    ).encode()
    parsed = parse_reference_file("priorities.csv", content)
    assert [(p.code, p.level, p.parent, p.verified) for p in parsed.priorities or []] == [
        ("D1.A", "area", None, True),
        ("D1.A.1", "action", "D1.A", False),
    ]
    assert parsed.lists() == ["priorities"]


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("x.yaml", b"priorities: [\n", "not a readable YAML file"),
        ("x.yaml", b"- just\n- a list\n", "mapping of lists"),
        ("x.yaml", b"other: 1\n", "holds none of the lists"),
        ("x.yaml", b"priorities:\n  - {code: D1.01, title_en: t}\n", "missing 'domain'"),
        (
            "x.yaml",
            b"priorities:\n  - {code: A, domain: D1, title_en: t}\n"
            b"  - {code: A, domain: D1, title_en: u}\n",
            "duplicate code 'A'",
        ),
        (
            "x.yaml",
            b"priorities:\n  - {code: A, domain: D1, title_en: t, level: goal}\n",
            "level must be one of",
        ),
        (
            "x.yaml",
            b"priorities:\n  - {code: A, domain: D1, title_en: t, parent: Z}\n",
            "unknown parent 'Z'",
        ),
        ("x.yaml", b"domains:\n  - {code: D1, number: 1, title_en: t}\n", "missing 'title_fr'"),
        ("x.csv", b"code,title_en\nA,t\n", "missing column"),
        ("x.csv", b"\xff\xfe\x00", "not UTF-8"),
    ],
)
def test_malformed_files_name_the_problem(filename: str, content: bytes, message: str) -> None:
    with pytest.raises(InvalidReferenceData) as error:
        parse_reference_file(filename, content)
    text = error.value.detail + " " + " ".join(i["message"] for i in error.value.issues)
    assert message in text

"""Signed session cookies and CSRF token comparison, without a database."""

from collections.abc import Callable

import pytest

from jvap.accounts import signing

KEY = "k" * 40


def test_a_signed_session_reads_back() -> None:
    cookie = signing.SessionCookie(secret=signing.new_secret(), csrf="c" * 20)
    value = signing.sign_session(KEY, cookie)
    assert signing.read_session(KEY, value, max_age_seconds=60) == cookie


@pytest.mark.parametrize(
    "tamper",
    [
        lambda v: v[:-2] + ("AA" if not v.endswith("AA") else "BB"),
        lambda v: "x" + v,
        lambda v: "",
        lambda v: "not-a-cookie",
    ],
)
def test_tampered_cookies_are_rejected(tamper: Callable[[str], str]) -> None:
    value = signing.sign_session(KEY, signing.SessionCookie(secret="s", csrf="c"))
    assert signing.read_session(KEY, tamper(value), max_age_seconds=60) is None


def test_a_cookie_signed_with_another_key_is_rejected() -> None:
    value = signing.sign_session("o" * 40, signing.SessionCookie(secret="s", csrf="c"))
    assert signing.read_session(KEY, value, max_age_seconds=60) is None


def test_a_cookie_older_than_its_max_age_is_rejected() -> None:
    value = signing.sign_session(KEY, signing.SessionCookie(secret="s", csrf="c"))
    assert signing.read_session(KEY, value, max_age_seconds=-1) is None


@pytest.mark.parametrize(
    ("expected", "given", "ok"),
    [
        ("abc", "abc", True),
        ("abc", "abd", False),
        ("abc", None, False),
        ("abc", "", False),
        (None, None, False),
        ("", "", False),
    ],
)
def test_csrf_tokens_must_match_exactly(expected: str | None, given: str | None, ok: bool) -> None:
    assert signing.csrf_matches(expected, given) is ok

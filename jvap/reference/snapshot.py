"""An immutable in-memory copy of the reference data that validation rules need."""

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from jvap.reference.countries import fold


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class ReferenceSnapshot:
    """Codes known at one moment: built once per request or upload, then read without a session."""

    domains: frozenset[str] = frozenset()
    # priority code -> domain code
    priority_domain: Mapping[str, str] = field(default_factory=_empty)
    # ISO 3166-1 alpha-3 codes
    countries: frozenset[str] = frozenset()
    # partner code -> English name
    partners: Mapping[str, str] = field(default_factory=_empty)
    # folded code or EN/FR name (and its short forms) -> partner code
    partner_names: Mapping[str, str] = field(default_factory=_empty)
    # partner code -> funder category (african_country, eu_institution, ...)
    partner_categories: Mapping[str, str] = field(default_factory=_empty)

    def match_partner(self, text: str) -> str | None:
        """Partner code for a funder written as a code or an English/French name, or None."""
        if not text:
            return None
        if text.strip().upper() in self.partners:
            return text.strip().upper()
        return self.partner_names.get(fold(text))

    def digest(self) -> str:
        """A hash of everything the snapshot holds: equal digests mean equal reference data,
        so work checked against one snapshot need not be checked again against the other."""
        # Keys are unique, so sorting items never compares their (possibly None) values.
        content = [
            sorted(self.domains),
            sorted(self.priority_domain.items()),
            sorted(self.countries),
            sorted(self.partners.items()),
            sorted(self.partner_names.items()),
            sorted(self.partner_categories.items()),
        ]
        return hashlib.sha256(json.dumps(content).encode()).hexdigest()


def name_variants(name: str) -> set[str]:
    """Folded forms people use for a partner name: whole, without and inside the brackets.

    "European Union (European Commission / EEAS)" also matches "European Union",
    "European Commission" and "EEAS".
    """
    variants = {fold(name)}
    outside = re.sub(r"\([^)]*\)", " ", name)
    variants.add(fold(outside))
    for inside in re.findall(r"\(([^)]*)\)", name):
        variants.update(fold(part) for part in inside.split("/"))
    return {v for v in variants if v}


def build_snapshot(
    *,
    domains: Iterable[str],
    priorities: Iterable[tuple[str, str]],
    countries: Iterable[str],
    partners: Iterable[tuple[str, str, str, str]],
) -> ReferenceSnapshot:
    """Snapshot from plain rows; `partners` are (code, name_en, name_fr, category)."""
    partner_list = list(partners)
    names: dict[str, str] = {}
    # Codes first so that a code always wins over a name that folds to the same text.
    for code, _en, _fr, _category in partner_list:
        names[fold(code)] = code
    for code, name_en, name_fr, _category in partner_list:
        for variant in name_variants(name_en) | name_variants(name_fr):
            names.setdefault(variant, code)
    return ReferenceSnapshot(
        domains=frozenset(domains),
        priority_domain=MappingProxyType(dict(priorities)),
        countries=frozenset(countries),
        partners=MappingProxyType({code: en for code, en, _fr, _c in partner_list}),
        partner_names=MappingProxyType(names),
        partner_categories=MappingProxyType({code: c for code, _en, _fr, c in partner_list}),
    )

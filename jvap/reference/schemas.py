"""Pydantic schemas for reference data."""

from datetime import date

from pydantic import BaseModel, ConfigDict


class DomainRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    number: int
    title_en: str
    title_fr: str
    verified: bool
    title_fr_verified: bool


class PriorityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    domain_code: str
    parent_code: str | None
    level: str
    title_en: str
    title_fr: str | None
    verified: bool
    priority_initiative_2015: bool | None
    list_version: str


class MembershipRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    process_code: str
    partner_code: str
    status: str
    since: date | None
    until: str | None
    verified: bool


class PartnerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    kind: str
    name_en: str
    name_fr: str
    region_code: str | None
    category: str
    is_jvap_partner: bool
    processes: list[str]


class ProcessRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name_en: str
    name_fr: str
    full_name: str
    established: str | None
    members: list[MembershipRead]


class RegionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name_en: str
    name_fr: str


class CountryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    iso3: str
    iso2: str
    name_en: str
    name_fr: str
    region_code: str | None

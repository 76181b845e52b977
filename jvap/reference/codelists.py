"""Fixed codelists of the questionnaire, with English and French labels."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    label_en: str
    label_fr: str

    def label(self, lang: str) -> str:
        return self.label_fr if lang == "fr" else self.label_en


KINDS = (
    Code("project", "Project", "Projet"),
    Code("policy", "Policy", "Politique"),
)
STATUSES = (
    Code("planned", "Planned", "Prévu"),
    Code("ongoing", "Ongoing", "En cours"),
    Code("completed", "Completed", "Achevé"),
    Code("suspended", "Suspended", "Suspendu"),
)
SCOPES = (
    Code("national", "National", "National"),
    Code("regional", "Regional", "Régional"),
    Code("continental", "Continental", "Continental"),
)
FUNDER_CATEGORIES = (
    Code("african_country", "African country", "Pays africain"),
    Code("african_organisation", "African organisation", "Organisation africaine"),
    Code("eu_institution", "EU institution", "Institution de l'UE"),
    Code("european_country", "European country", "Pays européen"),
    Code("international_organisation", "International organisation", "Organisation internationale"),
)
TARGET_GROUPS = (
    Code("migrants", "Migrants", "Migrants"),
    Code("refugees", "Refugees", "Réfugiés"),
    Code("asylum_seekers", "Asylum seekers", "Demandeurs d'asile"),
    Code("idps", "Internally displaced persons", "Personnes déplacées internes"),
    Code("returnees", "Returnees", "Migrants de retour"),
    Code("victims_of_trafficking", "Victims of trafficking", "Victimes de la traite"),
    Code("unaccompanied_minors", "Unaccompanied minors", "Mineurs non accompagnés"),
    Code("youth", "Youth", "Jeunes"),
    Code("women", "Women", "Femmes"),
    Code("diaspora", "Diaspora", "Diaspora"),
    Code("host_communities", "Host communities", "Communautés d'accueil"),
    Code("students_researchers", "Students and researchers", "Étudiants et chercheurs"),
    Code("workers", "Workers", "Travailleurs"),
    Code("officials", "Government officials", "Agents publics"),
    Code("civil_society", "Civil society", "Société civile"),
)
GENDER_MARKERS = (
    Code("0", "0 – not targeted", "0 – non ciblé"),
    Code("1", "1 – significant objective", "1 – objectif significatif"),
    Code("2", "2 – principal objective", "2 – objectif principal"),
)

# Field key -> codelist, for the single- and multi-choice fields of the questionnaire.
CODELISTS: dict[str, tuple[Code, ...]] = {
    "kind": KINDS,
    "status": STATUSES,
    "scope": SCOPES,
    "funder_category": FUNDER_CATEGORIES,
    "target_groups": TARGET_GROUPS,
    "gender_marker": GENDER_MARKERS,
}

ROLES = ("admin", "analyst", "manager", "focal_point", "contributor")
PARTNER_ROLES = ("focal_point", "contributor")


def codes(field_key: str) -> tuple[str, ...]:
    return tuple(item.code for item in CODELISTS[field_key])

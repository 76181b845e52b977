"""The portal's English and French messages, language negotiation and number/date formats."""

import re
from datetime import date, datetime
from decimal import Decimal

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "jvap_lang"

# key -> (English, French). Placeholders are str.format fields, the same in both.
MESSAGES: dict[str, tuple[str, str]] = {
    # layout
    "app_name": ("JVAP monitoring", "Suivi du PAVC"),
    "app_tagline": (
        "Joint Valletta Action Plan — data collection and monitoring",
        "Plan d'action conjoint de La Valette — collecte et suivi des données",
    ),
    "skip_to_content": ("Skip to main content", "Aller au contenu principal"),
    "main_navigation": ("Main navigation", "Navigation principale"),
    "switch_language": ("Français", "English"),
    "signed_in_as": ("Signed in as {name}", "Connecté·e : {name}"),
    "sign_out": ("Sign out", "Se déconnecter"),
    "api_docs": ("API documentation", "Documentation de l'API"),
    "nav_my_campaigns": ("My campaigns", "Mes campagnes"),
    "nav_progress": ("Campaign progress", "Avancement des campagnes"),
    "nav_initiatives": ("Initiatives", "Initiatives"),
    "nav_dashboard": ("Dashboard", "Tableau de bord"),
    # roles
    "role_admin": ("Administrator", "Administrateur·rice"),
    "role_analyst": ("Analyst", "Analyste"),
    "role_manager": ("Programme manager", "Responsable de programme"),
    "role_focal_point": ("Focal point", "Point focal"),
    "role_contributor": ("Contributor", "Contributeur·rice"),
    # sign in
    "sign_in": ("Sign in", "Se connecter"),
    "sign_in_intro": (
        "Sign in with the email address and password of your jvap account.",
        "Connectez-vous avec l'adresse électronique et le mot de passe de votre compte jvap.",
    ),
    "email": ("Email address", "Adresse électronique"),
    "password": ("Password", "Mot de passe"),
    "sign_in_failed": (
        "The email address or password is not correct.",
        "L'adresse électronique ou le mot de passe est incorrect.",
    ),
    "sign_in_locked": (
        "Too many failed attempts: try again in 15 minutes.",
        "Trop de tentatives échouées : réessayez dans 15 minutes.",
    ),
    "password_set": (
        "Your password is set: sign in with it.",
        "Votre mot de passe est enregistré : connectez-vous avec lui.",
    ),
    "invitation_title": ("Choose your password", "Choisissez votre mot de passe"),
    "invitation_intro": (
        "You were invited to jvap. Choose a password of at least 10 characters.",
        "Vous avez été invité·e sur jvap. Choisissez un mot de passe d'au moins 10 caractères.",
    ),
    "new_password": ("New password", "Nouveau mot de passe"),
    "set_password": ("Set my password", "Enregistrer mon mot de passe"),
    # errors
    "error_title": ("Something went wrong", "Une erreur s'est produite"),
    "error_400": (
        "The form is incomplete or not valid.",
        "Le formulaire est incomplet ou non valide.",
    ),
    "error_401": ("Please sign in to continue.", "Veuillez vous connecter pour continuer."),
    "error_403": (
        "You do not have access to this page.",
        "Vous n'avez pas accès à cette page.",
    ),
    "error_404": ("This page does not exist.", "Cette page n'existe pas."),
    "error_409": (
        "This cannot be done in the current state.",
        "Cette action est impossible dans l'état actuel.",
    ),
    "error_422": ("The request could not be accepted.", "La demande n'a pas pu être acceptée."),
    "error_other": ("The request failed.", "La demande a échoué."),
    "back_home": ("Back to the home page", "Retour à l'accueil"),
    "technical_detail": ("Detail", "Détail"),
    # campaigns
    "campaign": ("Campaign", "Campagne"),
    "campaigns": ("Campaigns", "Campagnes"),
    "my_campaigns_title": ("Campaigns of {partner}", "Campagnes de {partner}"),
    "no_campaigns": (
        "Your organisation has no campaign to answer.",
        "Votre organisation n'a aucune campagne en cours.",
    ),
    "deadline": ("Deadline", "Date limite"),
    "opens_on": ("Opens", "Ouverture"),
    "status": ("Status", "Statut"),
    "open_campaign": ("Open {campaign}", "Ouvrir {campaign}"),
    "days_left": ("{days} day(s) left", "{days} jour(s) restant(s)"),
    "overdue": ("Deadline passed", "Date limite dépassée"),
    "campaign_status_draft": ("Draft", "Brouillon"),
    "campaign_status_open": ("Open", "Ouverte"),
    "campaign_status_closed": ("Closed", "Clôturée"),
    "questionnaire": ("Questionnaire", "Questionnaire"),
    "questionnaire_help": (
        "Download the questionnaire pre-filled with your initiatives, update it in Excel "
        "or LibreOffice, then upload it here.",
        "Téléchargez le questionnaire pré-rempli avec vos initiatives, mettez-le à jour dans "
        "Excel ou LibreOffice, puis déposez-le ici.",
    ),
    "download_questionnaire": (
        "Download the questionnaire (English)",
        "Télécharger le questionnaire (anglais)",
    ),
    "download_questionnaire_fr": (
        "Download the questionnaire (French)",
        "Télécharger le questionnaire (français)",
    ),
    "upload": ("Upload", "Dépôt"),
    "upload_file": (
        "Completed questionnaire (.xlsx, .xls or .ods)",
        "Questionnaire rempli (.xlsx, .xls ou .ods)",
    ),
    "upload_button": ("Upload and submit", "Déposer et soumettre"),
    "upload_help": (
        "The file is checked at once. Without errors it is submitted to the follow-up team "
        "for review; with errors it is kept but not submitted: correct it and upload it again.",
        "Le fichier est vérifié aussitôt. Sans erreur, il est soumis à l'équipe de suivi pour "
        "vérification ; avec des erreurs, il est conservé mais non soumis : corrigez-le et "
        "déposez-le à nouveau.",
    ),
    "uploading": ("Uploading…", "Envoi en cours…"),
    "upload_done": ("Uploaded; checking the file…", "Fichier envoyé ; vérification…"),
    "upload_failed": ("The upload failed.", "Le dépôt a échoué."),
    "upload_closed": (
        "This campaign is not open: uploads are not accepted.",
        "Cette campagne n'est pas ouverte : les dépôts ne sont pas acceptés.",
    ),
    "history": ("My submissions", "Mes soumissions"),
    "no_submissions": ("Nothing uploaded yet.", "Aucun dépôt pour le moment."),
    "uploaded_at": ("Uploaded", "Déposé le"),
    "file": ("File", "Fichier"),
    "reviewer_comment": ("Reviewer's comment", "Commentaire de l'évaluateur·rice"),
    "view": ("View", "Voir"),
    # submissions
    "submission": ("Submission", "Soumission"),
    "submission_title": ("Submission #{id}", "Soumission n° {id}"),
    "submission_status_received": ("Received", "Reçue"),
    "submission_status_invalid": ("Has errors", "Contient des erreurs"),
    "submission_status_pending_review": ("Waiting for review", "En attente de vérification"),
    "submission_status_returned": ("Returned", "Renvoyée"),
    "submission_status_accepted": ("Accepted", "Acceptée"),
    "submission_status_superseded": (
        "Replaced by a newer upload",
        "Remplacée par un dépôt plus récent",
    ),
    "issues": ("Problems found", "Problèmes détectés"),
    "no_issues": ("No problem found.", "Aucun problème détecté."),
    "issues_summary": (
        "{errors} error(s) and {warnings} warning(s)",
        "{errors} erreur(s) et {warnings} avertissement(s)",
    ),
    "fix_and_upload_again": (
        "Correct the errors in your file, then upload it again.",
        "Corrigez les erreurs dans votre fichier, puis déposez-le à nouveau.",
    ),
    "row": ("Row {row}", "Ligne {row}"),
    "sheet": ("Sheet", "Feuille"),
    "column": ("Column", "Colonne"),
    "field": ("Field", "Champ"),
    "message": ("Message", "Message"),
    "severity": ("Severity", "Gravité"),
    "severity_error": ("Error", "Erreur"),
    "severity_warning": ("Warning", "Avertissement"),
    "suggestion": ("Suggestion", "Suggestion"),
    "whole_file": ("Whole file", "Fichier entier"),
    "annotated_workbook": (
        "Download your workbook with the problems marked",
        "Télécharger votre classeur avec les problèmes signalés",
    ),
    "what_will_change": ("What will change", "Ce qui va changer"),
    "new_initiatives": ("New initiatives", "Nouvelles initiatives"),
    "changed_initiatives": ("Changed initiatives", "Initiatives modifiées"),
    "unchanged_initiatives": ("Unchanged", "Inchangées"),
    "not_reported": ("Not reported (no longer in the file)", "Non déclarées (absentes du fichier)"),
    "conflicts": (
        "Changed by someone else since download",
        "Modifiées par quelqu'un d'autre depuis le téléchargement",
    ),
    "nothing": ("None.", "Aucune."),
    "old_value": ("Before", "Avant"),
    "new_value": ("After", "Après"),
    "submitted_notice": (
        "Submitted. The follow-up team will review it.",
        "Soumise. L'équipe de suivi va la vérifier.",
    ),
    "back_to_campaign": ("Back to the campaign", "Retour à la campagne"),
    # review
    "review": ("Review", "Vérification"),
    "accept": ("Accept", "Accepter"),
    "accept_help": (
        "Accepting applies every change above to the registry in one step.",
        "Accepter applique en une fois tous les changements ci-dessus au registre.",
    ),
    "return": ("Return to the partner", "Renvoyer au partenaire"),
    "comment": ("Comment for the focal point", "Commentaire pour le point focal"),
    "accepted_notice": ("Accepted: the registry is updated.", "Acceptée : le registre est à jour."),
    "returned_notice": ("Returned to the partner.", "Renvoyée au partenaire."),
    "partner": ("Partner", "Partenaire"),
    # progress board
    "progress_title": ("Campaign progress", "Avancement de la campagne"),
    "filter": ("Filter", "Filtrer"),
    "process": ("Process", "Processus"),
    "all_processes": ("All processes", "Tous les processus"),
    "state_not_started": ("Not started", "Non commencé"),
    "state_uploaded_with_errors": ("Uploaded with errors", "Déposé avec des erreurs"),
    "state_submitted": ("Waiting for review", "En attente de vérification"),
    "state_returned": ("Returned", "Renvoyé"),
    "state_accepted": ("Accepted", "Accepté"),
    "late": ("Late", "En retard"),
    "on_time": ("On time", "Dans les délais"),
    "last_upload": ("Last upload", "Dernier dépôt"),
    "expected": ("Expected", "Attendus"),
    "submitted": ("Submitted", "Soumis"),
    "accepted": ("Accepted", "Acceptés"),
    "returned": ("Returned", "Renvoyés"),
    "not_started": ("Not started", "Non commencés"),
    "response_rate": ("Response rate", "Taux de réponse"),
    "open_submission": ("Open the latest submission", "Ouvrir la dernière soumission"),
    # initiatives
    "initiatives_title": ("Initiatives", "Initiatives"),
    "search": ("Search", "Rechercher"),
    "search_text": ("Words in the title or description", "Mots du titre ou de la description"),
    "domain": ("Domain", "Domaine"),
    "all": ("All", "Tous"),
    "kind": ("Type", "Type"),
    "results": ("{count} initiative(s)", "{count} initiative(s)"),
    "no_results": ("No initiative matches.", "Aucune initiative ne correspond."),
    "ref": ("Reference", "Référence"),
    "title": ("Title", "Titre"),
    "previous_page": ("Previous", "Précédent"),
    "next_page": ("Next", "Suivant"),
    "page_of": ("Page {page} of {pages}", "Page {page} sur {pages}"),
    "scope": ("Scope", "Portée"),
    "domains": ("Domains", "Domaines"),
    "budget_eur": ("Budget (EUR)", "Budget (EUR)"),
    "target_groups": ("Target groups", "Groupes cibles"),
    "publication": ("Publication", "Publication"),
    "publication_published": ("Published", "Publiée"),
    "publication_pending": ("Pending verification", "En attente de vérification"),
    "revision_history": ("History", "Historique"),
    "revision": ("Revision", "Révision"),
    "changed_at": ("Date", "Date"),
    "changed_by": ("By", "Par"),
    "changes": ("Changes", "Modifications"),
    "from_submission": ("From submission", "Depuis la soumission"),
    # dashboard
    "dashboard_title": ("Dashboard", "Tableau de bord"),
    "dashboard_intro": (
        "Published initiatives only. Budgets are converted to euros (EUR).",
        "Initiatives publiées uniquement. Les budgets sont convertis en euros (EUR).",
    ),
    "total_initiatives": ("Published initiatives", "Initiatives publiées"),
    "total_budget": ("Total budget (EUR)", "Budget total (EUR)"),
    "chart_by_domain": ("Initiatives by domain", "Initiatives par domaine"),
    "chart_by_process": ("Initiatives by process", "Initiatives par processus"),
    "chart_by_region": ("Initiatives by region", "Initiatives par région"),
    "chart_budget_by_domain": ("Budget by domain (EUR)", "Budget par domaine (EUR)"),
    "chart_by_year": ("Initiatives started each year", "Initiatives lancées par année"),
    "chart_response": ("Campaign {campaign}: answers", "Campagne {campaign} : réponses"),
    "charts": ("Charts", "Graphiques"),
    "timeliness": ("On time?", "Dans les délais ?"),
    "data_table": ("Data table", "Tableau des données"),
    "no_data": ("No data", "Aucune donnée"),
    "initiatives_count": ("Initiatives", "Initiatives"),
    "year": ("Year", "Année"),
    "region": ("Region", "Région"),
    "budget_eur_heading": ("Budget (EUR)", "Budget (EUR)"),
    "reports": ("Reports", "Rapports"),
    "reports_help": (
        "Download the data as Excel or CSV files.",
        "Téléchargez les données au format Excel ou CSV.",
    ),
    "report_summary_xlsx": (
        "Progress summary with every breakdown (Excel)",
        "Synthèse de l'avancement, toutes ventilations (Excel)",
    ),
    "report_initiatives_xlsx": ("All initiatives (Excel)", "Toutes les initiatives (Excel)"),
    "report_initiatives_csv": ("All initiatives (CSV)", "Toutes les initiatives (CSV)"),
    "report_progress_xlsx": (
        "Campaign {campaign}: progress by partner (Excel)",
        "Campagne {campaign} : avancement par partenaire (Excel)",
    ),
    "count": ("Count", "Nombre"),
}


def translate(lang: str, key: str, /, **values: object) -> str:
    """The message `key` in `lang`; an unknown key shows itself, so it is noticed, not hidden."""
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "fr" else pair[0]
    return text.format(**values) if values else text


def parse_accept_language(header: str | None) -> list[str]:
    """Primary language subtags of an Accept-Language header, best first (q-values honoured)."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or tag == "*":
            continue
        quality = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag.split("-")[0]))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(*, cookie: str | None, user_language: str | None, accept_language: str | None) -> str:
    """The page language: the remembered choice, then the account's, then the browser's."""
    for candidate in (cookie, user_language):
        if candidate in LANGUAGES:
            return candidate
    for tag in parse_accept_language(accept_language):
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE


def format_number(value: float | Decimal | int | None, lang: str, *, decimals: int = 0) -> str:
    """1,234,567 in English; 1 234 567 (narrow no-break spaces) and a decimal comma in French."""
    if value is None:
        return "–"
    text = f"{value:,.{decimals}f}"
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def format_percent(value: float | None, lang: str) -> str:
    if value is None:
        return "–"
    return f"{format_number(value * 100, lang)}\u202f%" if lang == "fr" else f"{value:.0%}"


_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def format_date(value: date | datetime | None, lang: str) -> str:
    """31 December 2026 / 31 décembre 2026; a datetime also shows its time (UTC)."""
    if value is None:
        return "–"
    day = value.date() if isinstance(value, datetime) else value
    months = _MONTHS_FR if lang == "fr" else _MONTHS_EN
    text = f"{day.day} {months[day.month - 1]} {day.year}"
    if isinstance(value, datetime):
        text += f" {value:%H:%M}"
    return text

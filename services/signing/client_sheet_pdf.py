"""The confirmed client sheet (manual 4.5) as a PDF the client signs (pure).

The questionnaire's sections and questions in the client's language, each with the answer as
confirmed: choices by their label, yes/no in words, dates as dd/mm/yyyy. The same way as the
gateway's claim declaration: fpdf2, A4, one column, the built-in Latin-1 fonts.
"""

from datetime import date, datetime

from libs.contracts.client_sheet import AnswerValue, ClientSheet, Question, Questionnaire
from libs.contracts.client_sheet import QuestionType as Kind
from libs.servicekit.form_pdf import FormPdf

LANGUAGES = ("nl", "fr", "en")
LABELS: dict[str, dict[str, str]] = {
    "title": {"nl": "Klantenfiche", "fr": "Fiche client", "en": "Client sheet"},
    "dossier": {"nl": "Dossier", "fr": "Dossier", "en": "Dossier"},
    "reference": {"nl": "Referentie", "fr": "Référence", "en": "Reference"},
    "confirmed": {"nl": "Bevestigd door {name} op {when}",
                  "fr": "Confirmée par {name} le {when}",
                  "en": "Confirmed by {name} on {when}"},
    "version": {"nl": "Vragenlijst versie {version}", "fr": "Questionnaire version {version}",
                "en": "Questionnaire version {version}"},
    "yes": {"nl": "Ja", "fr": "Oui", "en": "Yes"},
    "no": {"nl": "Nee", "fr": "Non", "en": "No"},
}


def language_of(language: str) -> str:
    return language if language in LANGUAGES else "nl"


def sheet_title(sheet: ClientSheet, language: str) -> str:
    """The document's title: "Klantenfiche 05/12/2026"."""
    return f"{LABELS['title'][language_of(language)]} {sheet.confirmed_at:%d/%m/%Y}"


def answer_text(question: Question, answer: AnswerValue, language: str) -> str:
    """An answer as the client would read it."""
    if answer is None or answer == "" or answer == []:
        return "-"
    options = {option.value: getattr(option.labels, language) for option in question.options}
    if question.type is Kind.YES_NO:
        yes = answer is True or str(answer).lower() in ("yes", "true")
        return LABELS["yes" if yes else "no"][language]
    if question.type in (Kind.SINGLE_CHOICE, Kind.MULTIPLE_CHOICE):
        values = answer if isinstance(answer, list) else [str(answer)]
        return ", ".join(options.get(str(value), str(value)) for value in values)
    if question.type is Kind.DATE:
        try:
            return date.fromisoformat(str(answer)).strftime("%d/%m/%Y")
        except ValueError:
            return str(answer)
    if isinstance(answer, float) and answer.is_integer():
        return str(int(answer))
    return str(answer)


def render_client_sheet(sheet: ClientSheet, questionnaire: Questionnaire, *, language: str,
                        confirmed_by: str, shown_at: datetime | None = None) -> bytes:
    """The sheet's answers under the questionnaire's sections, as a PDF."""
    language = language_of(language)
    # A fixed creation date: the same sheet makes the same bytes (a redelivery, a retry).
    pdf = FormPdf(sheet_title(sheet, language), created_at=shown_at or sheet.confirmed_at)
    heading, line = pdf.heading, pdf.line

    labels = {key: texts[language] for key, texts in LABELS.items()}
    heading(labels["title"], 16)
    for text in (f"{labels['dossier']} {sheet.dossier_id}",
                 f"{labels['reference']} {sheet.request_id}",
                 labels["confirmed"].format(
                     name=confirmed_by, when=sheet.confirmed_at.strftime("%d/%m/%Y %H:%M UTC")),
                 labels["version"].format(version=sheet.questionnaire_version)):
        pdf.text(text)
    for section in questionnaire.sections:
        heading(getattr(section.labels, language))
        for question in section.questions:
            line(getattr(question.labels, language),
                 answer_text(question, sheet.answers.get(question.question_id), language))
    return pdf.output()

"""The confirmed client sheet (manual 4.5) as a PDF the client signs (pure).

The questionnaire's sections and questions in the client's language, each with the answer as
confirmed: choices by their label, yes/no in words, dates as dd/mm/yyyy. The same way as the
gateway's claim declaration: fpdf2, A4, one column, the built-in Latin-1 fonts.
"""

import unicodedata
from datetime import date, datetime

from fpdf import FPDF

from libs.contracts.client_sheet import AnswerValue, ClientSheet, Question, Questionnaire
from libs.contracts.client_sheet import QuestionType as Kind

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
# Letters and signs without a decomposition into a Latin-1 one.
_PLAIN = {"\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d", "\u0152": "OE",
          "\u0153": "oe", "\u0131": "i", "\u2014": "-", "\u2013": "-", "\u2018": "'",
          "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u20ac": "EUR", "\u2026": "..."}


def language_of(language: str) -> str:
    return language if language in LANGUAGES else "nl"


def sheet_title(sheet: ClientSheet, language: str) -> str:
    """The document's title: "Klantenfiche 05/12/2026"."""
    return f"{LABELS['title'][language_of(language)]} {sheet.confirmed_at:%d/%m/%Y}"


def _latin1(text: str) -> str:
    """The built-in fonts hold Latin-1: other letters lose their accents, the rest is "?"."""
    kept = []
    for char in text:
        try:
            char.encode("latin-1")
            kept.append(char)
        except UnicodeEncodeError:
            base = "".join(c for c in unicodedata.normalize("NFKD", char)
                           if not unicodedata.combining(c))
            kept.append(base if base and base.isascii() else _PLAIN.get(char, "?"))
    return "".join(kept)


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
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(sheet_title(sheet, language)))
    pdf.set_creator("MyBroker")
    # A fixed creation date: the same sheet makes the same bytes (a redelivery, a retry).
    pdf.set_creation_date(shown_at or sheet.confirmed_at)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.epw

    def heading(text: str, size: int = 13) -> None:
        pdf.set_font("Helvetica", "B", size)
        pdf.ln(3)
        pdf.multi_cell(width, 7, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)

    def line(label: str, value: str) -> None:
        pdf.set_font("Helvetica", "B", 10)
        pdf.multi_cell(width, 5, _latin1(label), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(width, 5, _latin1(value or "-"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    labels = {key: texts[language] for key, texts in LABELS.items()}
    heading(labels["title"], 16)
    pdf.set_font("Helvetica", "", 10)
    for text in (f"{labels['dossier']} {sheet.dossier_id}",
                 f"{labels['reference']} {sheet.request_id}",
                 labels["confirmed"].format(
                     name=confirmed_by, when=sheet.confirmed_at.strftime("%d/%m/%Y %H:%M UTC")),
                 labels["version"].format(version=sheet.questionnaire_version)):
        pdf.multi_cell(width, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
    for section in questionnaire.sections:
        heading(getattr(section.labels, language))
        for question in section.questions:
            line(getattr(question.labels, language),
                 answer_text(question, sheet.answers.get(question.question_id), language))
    return bytes(pdf.output())

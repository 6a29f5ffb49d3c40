"""The pages' languages: the shared catalogs and formatting of `libs.i18n`, under the names the
gateway's modules import."""

from libs.i18n import (
    CATALOG_DIR,
    DEFAULT_LANGUAGE,
    LANGUAGE_NAMES,
    LANGUAGES,
    LOCALES,
    Language,
    as_language,
    compile_catalog,
    format_day,
    format_moment,
    format_money,
    format_number,
    load_translations,
)

__all__ = [
    "CATALOG_DIR", "DEFAULT_LANGUAGE", "LANGUAGES", "LANGUAGE_NAMES", "LOCALES", "Language",
    "as_language", "compile_catalog", "format_day", "format_moment", "format_money",
    "format_number", "load_translations",
]

"""The client zone's web pages (Jinja2 + htmx, NL/FR/EN)."""

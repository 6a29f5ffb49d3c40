"""The office's identity and branding (one office per deployment): validation (domain), the one
settings document with its outbox (store), and the GET_OFFICE / UPDATE_OFFICE use cases
(handlers)."""

"""The client's forms (manual 4.1-4.4): rules (pure), the declaration PDF, drafts, handlers."""

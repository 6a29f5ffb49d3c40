"""The login lockout, a part of sessions: the back-off of failed logins per address, device,
session and client IP (domain), and the mailed single-use unlock links that pass it; both
collections, `login_throttles` and `login_unlocks`, are reached only through store.py. The
log-ins that use them are sessions' handlers (sessions/handlers.py)."""

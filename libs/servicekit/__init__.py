"""The small runtime every MyBroker service shares: settings, bus, RPC, outbox, inbox, logs, health.

Each service composes these in its `main.py`; the service's own modules hold only its domain.
"""

"""Contracts shared between MyBroker services: event and RPC schemas, topology names.

Pure pydantic models, no I/O. Changes are additive only; a breaking change is a new name.
"""

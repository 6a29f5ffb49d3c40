"""Deployment: the local stack for machines without a container engine (deploy/local)."""

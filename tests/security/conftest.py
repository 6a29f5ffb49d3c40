"""Adversarial tests share one running stack (the processes, as in tests/system)."""

from tests.system.stack import system_stack

__all__ = ["system_stack"]

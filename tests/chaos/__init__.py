"""`make chaos`: fault experiments on the real processes (python -m tests.chaos)."""

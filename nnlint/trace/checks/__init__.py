"""The runtime checks: each receives the session's events (checks/base.py) and reports through the shared Run."""

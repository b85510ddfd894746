"""The runtime checks. Each reads what the session's hooks see and reports through the session."""

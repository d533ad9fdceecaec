"""Fakes of SDK client interfaces that have no local peer (documented where used)."""

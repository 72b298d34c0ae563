"""Intake: what a report is, how it is checked, sealed and stored, and the reporter's own pages."""

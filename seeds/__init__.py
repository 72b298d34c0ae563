"""Synthetic demo data and its loader: made-up reports that let a fresh install show every screen.

Every report here is invented. Each narrative starts with `SYNTHETIC_MARKER` so that no one can
mistake one for a real case, and production refuses to load them.
"""

"""Releases: from statistical records to signed, disclosure-controlled summaries.

`periods` → `aggregate` → `counts` → `tables` → `disclosure` / `differencing` / `privacy` →
`content` → `lifecycle` (generate, publish, verify); `documents/` turns content into files.
"""

"""Summaries for officials: rendering, signing and serving disclosure-controlled releases.

The release logic lives in `services/releases.py`; this package turns a release into files
(`render`, `export`, `charts`, `narrative`), signs and verifies them (`manifest`), and serves
them (`views` for staff and officials, `api` for token holders, `cli` for operators).
"""

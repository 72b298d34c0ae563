"""Summaries for officials: the pages (`views`), the public signing key (`public`), the
token-holders' API (`api`) and downloads. Making releases is `incident_service.releases`."""

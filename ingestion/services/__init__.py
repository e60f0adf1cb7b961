"""Writes of the ingestion app, one module per concern (templates, manager, runs, execution, dispatch)."""

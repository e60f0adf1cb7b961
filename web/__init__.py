"""The web app: dashboards, account and DAG pages, live task logs, the REST API, notifications."""

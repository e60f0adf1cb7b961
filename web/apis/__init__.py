"""The REST API of the web app (DAG templates, DAGs, runs, task instances, logs, reports, fetch).

Thin APIViews: an InputSerializer validates, one selector or service does the work, an
OutputSerializer shapes the answer. Objects outside the user's organizations are 404.
"""

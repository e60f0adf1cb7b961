"""Kuaishou (磁力引擎) Marketing API connector: OAuth2 auth_code, campaign/unit/creative metadata,
hourly and daily reports, envelope error codes."""

"""Baidu (百度营销) search promotion API connector: account + password + developer token in
every request header (no redirect), plan/unit/creative metadata, hourly and daily reports."""

"""Ocean Engine (巨量引擎) Marketing API connector: OAuth2 auth_code, 2.0 project/promotion and
1.0 campaign/ad/creative metadata, hourly and daily reports, envelope error codes."""

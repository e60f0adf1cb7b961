"""TikTok API for Business (Marketing API v1.3) connector: auth_code exchange for a long-term
access token, advertiser list, campaign/ad group/ad metadata, integrated BASIC reports."""

"""Meta (Facebook/Instagram) Marketing API connector: OAuth dialog + long-lived user tokens (no
refresh token), campaign/adset/ad/adcreative metadata, Insights (sync and async report runs),
business-use-case rate limits."""

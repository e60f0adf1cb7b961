"""Google Ads API connector: OAuth2 offline access (refresh tokens), developer-token and
login-customer-id headers, GAQL through searchStream, customer > campaign > ad group > ad."""

"""`sandbox`: a simulated ad platform served over real HTTP (OAuth2 server + marketing API)
and its connector. See world.py (the data), authserver.py (OAuth2), views.py (HTTP),
state.py (faults and counters), connector.py (the Connector)."""

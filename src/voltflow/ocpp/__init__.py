"""OCPP-J adapter: the WebSocket endpoint, framing, schema validation and per-version handlers."""

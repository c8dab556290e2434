"""Application services: the use cases. OCPP, REST, the console and the CLI all call these."""

"""The pure domain: rules of stations, sessions and tokens. No I/O, no framework, no ORM."""

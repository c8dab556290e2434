"""Message bus adapter: carries remote commands to the process that holds a station's socket."""

from voltflow.bus.nats_link import NatsStationLink, station_subject

__all__ = ["NatsStationLink", "station_subject"]

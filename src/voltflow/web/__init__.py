"""HTTP entry point: the REST API under ``/api/v1`` and the server-rendered operator console."""

from voltflow.web.app import create_app

__all__ = ["create_app"]

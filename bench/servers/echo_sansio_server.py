"""Reference (c): the echo server of reference (a) on the WebSocket layer voltflow's OCPP endpoint
uses, websockets' Sans-I/O protocol under a plain ``asyncio.Protocol``
(``voltflow.ocpp.websocket``). Every text frame goes back as it came.

What (a) costs beyond this is websockets' asyncio connection machinery, which voltflow does not
use; what voltflow costs beyond this is its own work.

    .venv/bin/python bench/servers/echo_sansio_server.py --port 9100
"""

from __future__ import annotations

import asyncio

from _runtime import raise_nofile_limit, ready, server_arguments, until_stopped
from websockets.http11 import Request

from voltflow.ocpp.websocket import Socket, WebSocketServer


class Echo:
    async def handshake(self, socket: Socket, request: Request) -> None:
        return None

    def opened(self, socket: Socket) -> None:
        pass

    def received(self, socket: Socket, message: str | bytes) -> None:
        if isinstance(message, str):
            socket.send(message)

    def closed(self, socket: Socket) -> None:
        pass


async def main(host: str, port: int, watch_stdin: bool = False) -> None:
    raise_nofile_limit()
    server = WebSocketServer(Echo(), subprotocols=["ocpp1.6"], server_header="echo")
    await server.start(host, port)
    ready(server.port)
    await until_stopped(watch_stdin)
    await server.stop()


if __name__ == "__main__":
    parser = server_arguments(__doc__)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port, args.watch_stdin))

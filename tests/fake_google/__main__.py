"""Run the fake standalone: ``python -m tests.fake_google [--port-base N] [--serve-veo-on-gemini] [--real-hosts]``.

Prints one JSON line ``{"urls": {...}, "token_uri": ...}`` to stdout and
serves until Ctrl-C (or SIGTERM). With ``--port-base N`` the services listen
on N..N+4 in the order gemini, vertex, oauth, gcs, cliproxy. With
``--real-hosts`` the line also carries ``env``: the proxy and CA variables
that send a client to Google's real hostnames through the fake's TLS proxy.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .server import FakeGoogle
from .tls import TestCA, TlsProxy


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fake_google", description=__doc__.splitlines()[0])
    ap.add_argument("--port-base", type=int, default=None,
                    help="listen on PORT..PORT+4 (gemini, vertex, oauth, gcs, cliproxy) instead of ephemeral ports")
    ap.add_argument("--serve-veo-on-gemini", action="store_true",
                    help="serve the retired Veo models on the Gemini API (config.gemini_veo_served)")
    ap.add_argument("--real-hosts", action="store_true",
                    help="serve Google's real hostnames through a local TLS proxy with a fresh test CA")
    args = ap.parse_args(argv)
    fake = FakeGoogle(port_base=args.port_base, real_hosts=args.real_hosts)
    fake.config.gemini_veo_served = args.serve_veo_on_gemini
    fake.start()
    proxy = TlsProxy(fake, TestCA()).start() if args.real_hosts else None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    info = {"urls": fake.urls, "token_uri": fake.token_uri, **({"env": proxy.env()} if proxy else {})}
    print(json.dumps(info), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if proxy is not None:
            proxy.stop()
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

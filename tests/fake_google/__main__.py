"""Run the fake standalone: ``python -m tests.fake_google [--port-base N] [--serve-veo-on-gemini]``.

Prints one JSON line ``{"urls": {...}, "token_uri": ...}`` to stdout and
serves until Ctrl-C (or SIGTERM). With ``--port-base N`` the services listen
on N..N+4 in the order gemini, vertex, oauth, gcs, cliproxy.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .server import FakeGoogle


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fake_google", description=__doc__.splitlines()[0])
    ap.add_argument("--port-base", type=int, default=None,
                    help="listen on PORT..PORT+4 (gemini, vertex, oauth, gcs, cliproxy) instead of ephemeral ports")
    ap.add_argument("--serve-veo-on-gemini", action="store_true",
                    help="serve the retired Veo models on the Gemini API (config.gemini_veo_served)")
    args = ap.parse_args(argv)
    fake = FakeGoogle(port_base=args.port_base)
    fake.config.gemini_veo_served = args.serve_veo_on_gemini
    fake.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(json.dumps({"urls": fake.urls, "token_uri": fake.token_uri}), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""List and show conversation sessions. See --help."""
import sys

import setup_env

if __name__ == "__main__":
    setup_env.start("sessions")  # before any dependency is imported
    from mediagen.cli.sessions import main

    sys.exit(main())

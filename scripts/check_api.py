#!/usr/bin/env python3
"""Check credentials and backend choice for free. See --help."""
import sys

import setup_env

if __name__ == "__main__":
    setup_env.start("check_api")  # before any dependency is imported
    from mediagen.cli.check_api import main

    sys.exit(main())

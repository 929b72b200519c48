#!/usr/bin/env python3
"""Check credentials and backend choice for free. See --help."""
import sys

from mediagen.cli.check_api import main

if __name__ == "__main__":
    sys.exit(main())

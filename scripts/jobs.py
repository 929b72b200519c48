#!/usr/bin/env python3
"""Manage video jobs. See --help."""
import sys

from mediagen.cli.jobs import main

if __name__ == "__main__":
    sys.exit(main())

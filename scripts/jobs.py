#!/usr/bin/env python3
"""Manage video jobs. See --help."""
import sys

import setup_env

if __name__ == "__main__":
    setup_env.start("jobs")  # before any dependency is imported
    from mediagen.cli.jobs import main

    sys.exit(main())

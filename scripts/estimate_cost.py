#!/usr/bin/env python3
"""Estimate the cost of an image or video request. See --help."""
import sys

import setup_env

if __name__ == "__main__":
    setup_env.start("estimate_cost")  # before any dependency is imported
    from mediagen.cli.estimate_cost import main

    sys.exit(main())

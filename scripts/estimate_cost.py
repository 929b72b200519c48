#!/usr/bin/env python3
"""Estimate the cost of an image or video request. See --help."""
import sys

from mediagen.cli.estimate_cost import main

if __name__ == "__main__":
    sys.exit(main())

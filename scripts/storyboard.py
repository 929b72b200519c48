#!/usr/bin/env python3
"""Make a multi-shot video from a YAML shot list. See --help."""
import sys

from mediagen.cli.storyboard import main

if __name__ == "__main__":
    sys.exit(main())

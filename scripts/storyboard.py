#!/usr/bin/env python3
"""Make a multi-shot video from a YAML shot list. See --help."""
import sys

import setup_env

if __name__ == "__main__":
    setup_env.start("storyboard")  # before any dependency is imported
    from mediagen.cli.storyboard import main

    sys.exit(main())

#!/usr/bin/env python3
"""Generate images with Google's models. See --help."""
import sys

import setup_env

if __name__ == "__main__":
    setup_env.start("image_gen")  # before any dependency is imported
    from mediagen.cli.image_gen import main

    sys.exit(main())

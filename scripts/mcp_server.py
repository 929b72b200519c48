#!/usr/bin/env python3
"""mediagen's tools as an MCP server (stdio, or --http on 127.0.0.1). See --help."""
import sys

import setup_env

if __name__ == "__main__":
    setup_env.start_mcp(__file__)  # before any dependency is imported
    from mediagen.mcp.server import main

    sys.exit(main())

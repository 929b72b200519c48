#!/usr/bin/env python3
"""mediagen's tools as an MCP server (stdio, or --http on 127.0.0.1). See --help."""
import sys

from mediagen.mcp.server import main

if __name__ == "__main__":
    sys.exit(main())

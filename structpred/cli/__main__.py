"""`python -m structpred.cli ...` is `structpred ...`."""
import sys

from . import main

if __name__ == "__main__":   # not when a spawned worker process re-imports it
    sys.exit(main())

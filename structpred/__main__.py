"""`python -m structpred ...` is `structpred ...`."""
import sys

from .cli import main

sys.exit(main())

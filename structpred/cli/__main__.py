"""`python -m structpred.cli ...` is `structpred ...`."""
import sys

from . import main

sys.exit(main())

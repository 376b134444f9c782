"""``python -m iam_catalog``: the same command line as ``iam-catalog``."""

import sys

from iam_catalog.output.cli import main

sys.exit(main())

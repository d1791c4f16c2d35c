"""`python -m swflow.app.cli`: the `swflow` command."""

import sys

from .main import main

sys.exit(main())

"""``python -m textsiam.cli`` runs the command line (as ``python -m textsiam`` does)."""

from __future__ import annotations

import sys

from textsiam.cli import main

sys.exit(main())

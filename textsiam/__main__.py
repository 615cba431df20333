"""``python -m textsiam`` runs the command line (also under ``torchrun``)."""

from __future__ import annotations

import sys

from textsiam.cli import main

sys.exit(main())

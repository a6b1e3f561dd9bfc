"""Allow ``python -m opsconsole``."""

from opsconsole.cli import main

raise SystemExit(main())

"""``python -m glassgrad``: the same command line as the ``glassgrad`` script."""

from glassgrad.cli import main

raise SystemExit(main())

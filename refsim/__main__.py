"""``python -m refsim``: the same program as the ``refsim`` command."""

from refsim.cli import main

raise SystemExit(main())

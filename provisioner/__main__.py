"""`python -m provisioner` is the same as the `provisioner` console script."""

from provisioner.cli import main

raise SystemExit(main())

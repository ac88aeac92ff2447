"""`python -m autodiff EXPRESSION NAME=NUMBER ...`: draw the graph of a small expression."""

from autodiff.cli import main

raise SystemExit(main())

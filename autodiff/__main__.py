"""`python -m autodiff EXPRESSION NAME=NUMBER ...`: draw the graph of a small expression."""

from autodiff.drawing import main

raise SystemExit(main())

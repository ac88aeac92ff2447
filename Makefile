# The two commands of the README:
#   make demo   set up everything, train the moons demo, write plots and a graph SVG to out/
#   make test   set up everything (with the test tools), then ruff and the whole pytest suite
OUT ?= out
PY := .venv/bin/python

.PHONY: demo test bench

demo:
	@bash .ci/setup demos
	$(PY) demos/moons.py --out $(OUT)

test:
	@bash .ci/setup dev,demos
	$(PY) -m ruff check .
	$(PY) -m pytest

bench:
	@bash .ci/setup bench,demos
	$(PY) benchmarks/run.py

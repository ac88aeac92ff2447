# The two commands of the README:
#   make demo   set up everything, train the moons demo, write plots and a graph SVG to out/
#   make test   set up everything (with the test tools), then ruff and the whole pytest suite
OUT ?= out
PY := .venv/bin/python

.PHONY: demo test bench pictures

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

# Regenerate the pictures the README shows (committed in demos/pictures/).
pictures:
	@bash .ci/setup demos
	$(PY) demos/moons.py --out $(OUT)
	$(PY) demos/graph_tour.py --out $(OUT)
	mkdir -p demos/pictures
	cp $(OUT)/moons_boundary.png $(OUT)/moons_curves.png $(OUT)/moons_neuron.svg \
		$(OUT)/graph_tour_expression.svg demos/pictures/

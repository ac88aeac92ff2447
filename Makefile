# Thin wrappers around ./run, for those who have make (./run needs only bash and Python):
#   make demo   set up everything, train the moons demo, write plots and a graph SVG to out/
#   make test   set up everything (with the test tools), then ruff, mypy and the whole pytest suite
# `./run help` lists every command; `make demo OUT=somewhere` writes elsewhere.
OUT ?= out
PY := .venv/bin/python

.PHONY: demo test bench pictures notebooks lab build lock

demo:
	@OUT=$(OUT) bash ./run demo

test:
	@bash ./run test

bench:
	@bash ./run bench

# Regenerate the pictures the README shows (committed in demos/pictures/).
pictures:
	@OUT=$(OUT) bash ./run pictures

# The notebook course in demos/notebooks: rebuild it with its outputs, or open it.
notebooks:
	@bash ./run notebooks

lab:
	@bash ./run lab

build:
	@bash ./run build

lock:
	@bash ./run lock

"""Compile a training step: run a function once, then replay its graph as straight-line Python.

step = trace(lambda: loss_of(model, X, y), inputs=model.parameters())
loss = step()          # forward + backward on the inputs' current .data
print(step.source())   # the generated code: the chain rule written out

`trace` runs `fn` once with the engine and records the graph it builds. From
that graph it writes one Python function - one line per op forward, then each
node's gradient as the sum of (local derivative x upstream gradient) over the
nodes that used it - compiles it once, and every call runs it on plain floats:
no Value objects, no graph walk. The floats are the engine's own: each line
does the same float operations in the same order as the op and its backward
rule, so losses and gradients are bit for bit those of `fn().backward()`
(a zero's sign aside).

What is baked in, and what is checked on every call:

- The inputs' `.data` is read on every call and their `.grad` accumulates as
  with backward(). No other `.grad` changes: not the graph's inner nodes, not
  leaves outside `inputs` (backward() would add into those too).
- Numbers in the graph are constants as they were when traced: the numbers fn
  multiplied or added, and leaves that are not among `inputs` (data points
  made into Values, `1 - x`'s 1). A leaf made before fn ran and changed since
  (`x.data = ...`) is noticed on the next call, which then traces again.
- Decisions made through the Value API are re-checked: relu, abs and
  leaky_relu branch on every call inside the generated code; a comparison
  (`v < 0.5`, `max(values)`, `sorted`) is recorded with its outcome and a call
  where it comes out differently traces again. A domain error (log of x <= 0,
  sqrt of x < 0, division by 0, a negative base with a fractional power), a
  result beyond the float range or an infinite or NaN gradient makes the call
  run fn eagerly instead, so it raises exactly the engine's error
  (e.g. NonFiniteGradientError) with every `.grad` as it was. Nodes fn makes
  that the loss does not use are computed too, so their errors are raised as
  well (except under no_grad() inside fn, which the trace cannot see).
- What cannot be seen: Python code in fn that reads `.data` (or other state)
  to choose what to compute, such as `if loss.data > 1:`, a loss that clips
  by looking at `p.data` (nn.losses.bce does), a list fn reads that you
  change between calls, or an `except` around an op that failed when traced.
  The trace keeps the path taken when it was made.
  With check=True the step also runs fn eagerly on every call and raises
  StaleTraceError when the two differ; use it to test a new fn.

fn runs again (with its side effects) whenever the step traces again;
`step.retraces` counts those calls and `step.last_reason` says why. Between
those, fn does not run: the Values it made when traced keep their old data.
Inputs must be leaves; a node made before fn ran (whose old data backward()
would use) and a node made under no_grad() inside fn are refused when tracing.
Tracing costs about as much as writing and compiling one line per op and one
per gradient term: about a second for the 7,142 nodes of the moons step.
"""

from __future__ import annotations

import builtins
import keyword
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from operator import attrgetter
from types import CodeType, FrameType
from typing import Any

from autodiff import engine, graph
from autodiff.engine import Value

_DATA = attrgetter("data")
_GRAD = attrgetter("grad")

# Before Python 3.12 sum() adds floats left to right; from 3.12 it compensates rounding.
# The generated code must add exactly as the engine's sum() calls do.
_SUM_IS_LEFT_FOLD = sum([1e100, 1.0, -1e100], 0.0) == 0.0
_TERMS_PER_LINE = 100  # longer sums are split into several statements (the compiler recurses)
_NOTED = 6  # gradient sums with at most this many terms get each user's line as a comment
_CACHE_SIZE = 8  # compiled programs kept per step, by source text


class StaleTraceError(RuntimeError):
    """A step traced with check=True: a call's replay differs from running fn eagerly."""


class Fallback(Exception):
    """Raised inside the generated code when a recorded decision or a check fails: the
    call then runs fn eagerly (and traces again)."""


# ---------------------------------------------------------------------------
# Helpers the generated code calls (exact copies of the engine's float steps)


def _sign(x: float) -> float:
    """abs' derivative as the engine computes it: 1, -1, or 0 at 0."""
    return (x > 0.0) - (x < 0.0) + 0.0


def _real_pow(x: float, n: float) -> float:
    """x ** n; a negative base with a non-integer exponent (a complex number) falls back."""
    if x < 0.0 and n != int(n):
        raise Fallback("a negative base with a non-integer exponent")
    out: float = x**n
    return out


def _pow_grads(b: float, e: float, out: float, g: float) -> tuple[float, float]:
    """Contributions of out = b ** e to b and e, as the engine's rule for a Value exponent."""
    if b < 0.0:
        raise Fallback("the gradient of a negative base's power needs log(base)")
    by_base = engine._pow_slope(b, e, out, g)
    if b > 0.0:
        log_b = math.log(b)
        return by_base, engine._careful(out * log_b * g, (out, log_b, g))
    return by_base, 0.0


def _logsumexp_parts(*xs: float) -> tuple[float, float, float, tuple[float, ...]]:
    """(logsumexp, max, log of the shifted sum, softmax weights), as engine._logsumexp."""
    m = max(xs)
    shifted = [math.exp(x - m) for x in xs]
    rest = math.fsum([*shifted, -1.0])
    total = 1.0 + rest
    log_total = math.log1p(rest)
    return m + log_total, m, log_total, tuple([e / total for e in shifted])


def _namespace() -> dict[str, Any]:
    """The globals of the generated code."""
    return {
        "__builtins__": builtins,
        "exp": math.exp,
        "log": math.log,
        "log1p": math.log1p,
        "tanh": math.tanh,
        "sqrt": math.sqrt,
        "sin": math.sin,
        "cos": math.cos,
        "inf": math.inf,
        "careful": engine._careful,
        "pow_slope": engine._pow_slope,
        "sigmoid_and_slope": engine._sigmoid_and_slope,
        "tanh_tail_slope": engine._tanh_tail_slope,
        "sign": _sign,
        "real_pow": _real_pow,
        "pow_grads": _pow_grads,
        "logsumexp_parts": _logsumexp_parts,
        "Fallback": Fallback,
    }


_HELPERS = frozenset(_namespace())
_RESERVED = (
    frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
    | _HELPERS | {"inputs", "check"}
)


# ---------------------------------------------------------------------------
# Recording: fn runs once under a profile hook (this thread only) that notes what
# the graph alone does not keep - comparisons and their outcomes, leaky_relu's
# slope, dot's number bias.


class _Recording:
    def __init__(self, previous: Any) -> None:
        self.previous = previous  # the profile hook to put back
        self.comparisons: list[tuple[Value, str, Value | float, bool]] = []
        self.slopes: dict[Value, float] = {}
        self.dot_starts: dict[Value, float] = {}
        self.made: list[Value] = []  # every node fn's ops made, used by the loss or not
        self.born: set[Value] = set()  # every Value made while fn ran, leaves included
        self.watched = _watched_code()

    def hook(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "return":
            return
        if frame.f_code is _RUN_RECORDED:  # left without its finally (a debugger's exception)
            _restore_profile(self.previous)
            return
        kind = self.watched.get(frame.f_code)
        if kind is None:
            return
        if kind == "leaf":  # Value.__init__ returns None: the new leaf is its self
            leaf = frame.f_locals.get("self")
            if isinstance(leaf, Value):
                self.born.add(leaf)
            return
        if arg is None:
            return
        if kind == "node":
            self.born.add(arg)
            if arg._prev:  # not under no_grad()
                self.made.append(arg)
            return
        found = frame.f_locals
        try:
            if kind == "dot":
                if found["b"] is None:  # the bias was a number: the node does not keep it
                    self.dot_starts[arg] = found["start"]
            elif kind == "leaky_relu":
                self.slopes[arg] = found["slope"]
            else:
                other = found["other"]
                if not isinstance(other, Value):
                    other = engine._real(other, f"Value {kind} operand")
                self.comparisons.append((found["self"], kind, other, arg))
        except KeyError as missing:  # the engine changed shape under this module
            raise RuntimeError(
                f"autodiff.trace cannot read {missing} in the engine's {kind}; "
                "this is a bug in autodiff.trace, please report it"
            ) from None


def _watched_code() -> dict[CodeType, str]:
    names = {"__lt__": "<", "__le__": "<=", "__gt__": ">", "__ge__": ">=",
             "leaky_relu": "leaky_relu"}
    functions: list[tuple[Any, str]] = [(getattr(Value, n), k) for n, k in names.items()]
    functions.append((engine.dot, "dot"))
    functions.append((engine._node, "node"))
    functions.append((engine._node2, "node"))
    functions.append((Value.__init__, "leaf"))
    watched = {}
    for function, kind in functions:
        code = getattr(function, "__code__", None)
        if code is None:
            raise RuntimeError(
                f"autodiff.trace cannot watch the engine's {kind} (not a Python function); "
                "this is a bug in autodiff.trace, please report it"
            )
        watched[code] = kind
    return watched


def _run_recorded(fn: Callable[[], Any]) -> tuple[Any, _Recording]:
    """fn() with its comparisons, slopes and number biases recorded."""
    recording = _Recording(sys.getprofile())
    try:
        sys.setprofile(recording.hook)
        with engine.unfused():  # every neuron as a dot node and an activation node
            result = fn()
    finally:
        _restore_profile(recording.previous)
    return result, recording


def _restore_profile(previous: Any) -> None:
    if previous is None or callable(previous):
        sys.setprofile(previous)
    else:  # a C profiler such as cProfile (getprofile returns the object): turn it back on
        sys.setprofile(None)
        getattr(previous, "enable", lambda: None)()


_RUN_RECORDED = _run_recorded.__code__


# ---------------------------------------------------------------------------
# Writing the code

_PREFIX = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow"}
Term = tuple[str, str]  # (sign "+" or "-", expression): one local derivative x upstream
Use = tuple[str, str, str]  # a term and, for the reader, the line of the node that used it


class _Program:
    """A compiled step: its source, its function and the constants it checks."""

    def __init__(
        self, source: str, run: Callable[..., tuple[Any, tuple[Any, ...]]],
        constants: tuple[Value, ...], snapshot: list[Any], nodes: int,
    ) -> None:
        self.source = source
        self.run = run
        self.constants = constants
        self.snapshot = snapshot
        self.nodes = nodes


def _literal(x: object) -> str:
    return repr(x)


def _python_name(label: str) -> str | None:
    """The label as a variable name: as it is, or with dots as underscores ('w.0' -> w_0)."""
    if not label.isascii() or label.startswith("__") or len(label) > 40:
        return None  # Python folds some Unicode letters together (NFKC); __x is special
    if label.isidentifier():
        return label
    parts = label.split(".")
    if len(parts) > 1 and parts[0].isidentifier() and all(
        p.isidentifier() or p.isdigit() for p in parts[1:]
    ):
        return "_".join(parts)
    return None


class _Writer:
    """Turns one recorded graph into the source of `step(inputs, write=True)`."""

    def __init__(self, root: Value, recording: _Recording, inputs: tuple[Value, ...]) -> None:
        self.root = root
        self.rec = recording
        self.inputs = inputs
        self.position = {v: i for i, v in enumerate(inputs)}
        self.rules = _rule_names()
        self.used: set[str] = set(_RESERVED)
        self.counts: dict[str, int] = {}
        self.name: dict[Value, str] = {}
        self.parts: dict[Value, tuple[str, ...]] = {}  # extra names a forward line made
        self.text: dict[Value, str] = {}  # each node's forward line, shortened
        self.constants: list[Value] = []

    # -- names ---------------------------------------------------------------

    def fresh(self, base: str) -> str:
        """An unused variable name from `base`; its gradient's name g_<name> is free too."""
        name, k = base, 1
        while name in self.used or f"g_{name}" in self.used:
            k += 1
            name = f"{base}_{k}"
        self.used.update((name, f"g_{name}"))
        return name

    def numbered(self, prefix: str) -> str:
        while True:
            k = self.counts[prefix] = self.counts.get(prefix, 0) + 1
            name = f"{prefix}{k}"
            if name not in self.used and f"g_{name}" not in self.used:
                return self.fresh(name)

    def assign(self, node: Value, fallback: str) -> str:
        label = node.label if isinstance(node.label, str) else ""
        base = _python_name(label) if label else None
        name = self.fresh(base) if base else self.numbered(fallback)
        self.name[node] = name
        return name

    # -- the graph -------------------------------------------------------------

    def reachable(self, starts: Iterable[Value]) -> dict[Value, None]:
        """The nodes reachable from `starts`, in the order a depth-first walk finds them."""
        seen: dict[Value, None] = {}
        stack = [v for v in starts if isinstance(v, Value)]
        stack.reverse()
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen[node] = None
            stack.extend(reversed(node.parents))
        return seen

    def check_node(self, node: Value) -> None:
        if node._rank == graph.EDITED:
            raise ValueError(
                f"trace: {node!r} had its parents replaced by hand; trace only replays graphs "
                "the ops built - rebuild it with the ops"
            )
        if node in self.position:
            return
        made_in_fn = node in self.rec.born
        if node._prev and not made_in_fn:
            raise ValueError(
                f"trace: {node!r} (op {node.op!r}) was computed before fn ran, so backward() "
                "would use its old data while a replay recomputes it from the inputs; compute "
                "it inside fn, or make it a leaf: Value(x.data)"
            )
        if not node._prev and made_in_fn and isinstance(node._ctx, str):
            raise ValueError(
                f"trace: {node!r} was computed by op {node._ctx!r} under no_grad() inside fn, "
                "so the trace would keep its value from the first call while fn would "
                "recompute it; compute it outside no_grad(), or before calling trace"
            )
        if not node._prev and (type(node.data) not in (float, int) or
                               not math.isfinite(node.data)):
            raise ValueError(
                f"trace: the constant {node!r} has .data = {node.data!r}; a Value's data "
                "must be a finite number"
            )

    def write(self) -> tuple[str, tuple[Value, ...], int]:
        root = self.root
        on_root = self.reachable([root])
        # nodes the loss does not use are computed too: eager would raise their errors
        compared = [v for c in self.rec.comparisons for v in (c[0], c[2])
                    if isinstance(v, Value)]
        every = on_root | self.reachable(compared + self.rec.made)
        for node in every:
            self.check_node(node)
        forward = sorted(every, key=attrgetter("_rank"))  # parents first; ties as found
        backward = graph.backward_order(root, leaves=False)  # as backward() runs the rules

        for v in self.inputs:
            self.assign(v, "input")
        values = [self.fresh(f"in{i}") for i in range(len(self.inputs))]
        names = [self.name[v] for v in self.inputs]
        lines = [
            "def step(inputs, write=True):",
            '    """Loss and new input gradients at the inputs\' data (written by autodiff.trace).',
            "",
            "    g_v is d(loss)/dv: the sum, over the nodes that used v, of the local",
            "    derivative times that node's gradient. Only the last lines change Values",
            '    (the inputs\' .grad)."""',
        ]
        if self.inputs:
            lines.append(f"    {_names(values)} = inputs")
            lines.append(f"    {_names(names)} = {_names(f'{v}.data' for v in values)}")
        lines.append("    # forward")
        watch = _values_to_check(forward, self.rules)
        finite: list[str] = [self.name[v] for v in self.inputs if v in watch]
        for node in forward:
            if node in self.position:
                continue
            if not node._prev:
                name = self.assign(node, "const")
                if node not in self.rec.born:
                    self.constants.append(node)
                lines.append(f"    {name} = {node.data!r}")
                continue
            name = self.assign(node, _PREFIX.get(node.op, node.op))
            written = self.forward_lines(node, name)
            self.text[node] = _shorten(written[-1])
            lines.extend(f"    {line}" for line in written)
            if node.label and _python_name(node.label) != name:
                lines[-1] += f"  # {node.label[:60]!r}"
            if node in watch:
                finite.append(name)
        lines.extend(_finite_check(finite, "a value is inf or NaN"))
        for a, sym, b, outcome in self.rec.comparisons:
            test = f"{self.name[a]} {sym} {self.name[b] if isinstance(b, Value) else _literal(b)}"
            lines.append(f"    if {'not ' if outcome else ''}{test}:")
            lines.append(f'        raise Fallback("{test} was {outcome} when traced")')

        lines.append("    # backward")
        terms: dict[Value, list[Use]] = {v: [] for v in on_root}
        terms[root].append(("+", "1.0", "d(loss)/d(loss)"))
        checked: list[str] = []
        for node in backward:
            g = f"g_{self.name[node]}"
            lines.extend(f"    {line}" for line in _gather(g, terms[node], None))
            if _drops_gradient(node, self.rules):
                checked.append(g)
            before, found = self.backward_terms(node, g)
            lines.extend(f"    {line}" for line in before)
            for parent, (sign, expr) in found:
                terms[parent].append((sign, expr, self.text[node]))
        grads = [f"g_{name}" for name in names]
        leaves = [v for v in on_root if not v._prev]
        if self.inputs:
            lines.append("    # the inputs: backward() adds to their .grad")
            lines.append(f"    {_names(grads)} = {_names(f'{v}.grad' for v in values)}")
        for node in leaves:
            if node in self.position:
                g = f"g_{self.name[node]}"
                lines.extend(f"    {line}" for line in _gather(g, terms[node], g))
                checked.append(g)
        if any(node not in self.position for node in leaves):
            lines.append("    # the constants: backward() gives them gradients; they are checked")
        for node in leaves:
            if node not in self.position:
                g = f"g_{self.name[node]}"
                lines.extend(f"    {line}" for line in _gather(g, terms[node], None))
                checked.append(g)
        lines.extend(_finite_check(checked, "a gradient is inf or NaN"))
        loss = self.name[root]
        if self.inputs:  # one line: no interrupt or line event lands between two stores
            lines.append("    if write:")
            lines.append(f"        {_names(f'{v}.grad' for v in values)} = {_names(grads)}")
            lines.append(f"        return {loss}, None")
        lines.append(f"    return {loss}, ({_names(grads)})")
        return "\n".join(lines) + "\n", tuple(self.constants), len(every)

    # -- ops ---------------------------------------------------------------------

    def rule(self, node: Value) -> str:
        rule = self.rules.get(node._backward)
        key = (node.op, rule)
        if key not in _KNOWN:
            raise TypeError(
                f"trace cannot compile op {node.op!r} (backward rule {rule or node._backward!r})"
                f" at {node!r}; call fn() and backward() without trace for this graph"
            )
        return rule or ""

    def forward_lines(self, node: Value, y: str) -> list[str]:
        rule = self.rule(node)
        op = node.op
        p = [self.name[v] for v in node.parents]
        ctx = node._ctx
        if op in ("+", "-", "*", "/") and len(p) == 2:
            return [f"{y} = {p[0]} {op} {p[1]}"]
        if op in ("+", "-", "*", "/"):
            return [f"{y} = {p[0]} {op} {_literal(ctx)}"]
        if op == "**" and len(p) == 2:
            return [f"{y} = real_pow({p[0]}, {p[1]})"]
        if op == "**":
            if ctx == int(ctx):
                return [f"{y} = {p[0]} ** {_literal(ctx)}"]
            return [f"{y} = real_pow({p[0]}, {_literal(ctx)})"]
        a = p[0] if p else ""
        simple = {
            "neg": f"-{a}", "abs": f"abs({a})", "exp": f"exp({a})", "log": f"log({a})",
            "tanh": f"tanh({a})", "sqrt": f"sqrt({a})", "sin": f"sin({a})", "cos": f"cos({a})",
            "relu": f"{a} if {a} > 0.0 else 0.0",
            "softplus": f"log1p(exp(-abs({a}))) + ({a} if {a} > 0.0 else 0.0)",
        }
        if op in simple:
            return [f"{y} = {simple[op]}"]
        if op == "sigmoid":
            slope_name = self.fresh(f"{y}_slope")
            self.parts[node] = (slope_name,)
            return [f"{y}, {slope_name} = sigmoid_and_slope({a})"]
        if op == "leaky_relu":
            slope = self.rec.slopes.get(node)
            if slope is None:
                raise RuntimeError(f"trace: no slope recorded for {node!r}; please report it")
            return [f"{y} = {a} if {a} > 0.0 else {_literal(slope)} * {a}"]
        if op == "sum":
            return _fold(y, _literal(ctx), p)
        if op == "dot":
            return _fold(y, self.dot_start(node, rule), self.dot_products(node, rule), True)
        if op == "logsumexp":
            names = tuple(self.fresh(f"{y}_{part}") for part in ("max", "log", "w"))
            self.parts[node] = names
            return [f"{y}, {', '.join(names)} = logsumexp_parts({', '.join(p)})"]
        if op == "log_softmax":
            lse = node.parents[1]
            if lse.op != "logsumexp" or lse not in self.parts:
                raise TypeError(f"trace cannot compile {node!r}: its second parent is not a "
                                "logsumexp node")
            m, log_total, _ = self.parts[lse]
            return [f"{y} = {p[0]} - {m} - {log_total}"]
        raise TypeError(f"trace cannot compile op {op!r} at {node!r}")  # pragma: no cover

    def dot_products(self, node: Value, rule: str) -> list[str]:
        p = [self.name[v] for v in node.parents]
        ctx = node._ctx
        if rule == "_dot_backward":
            return [f"{x} * {w}" for x, w in zip(p[:ctx], p[ctx : 2 * ctx])]
        return [f"{x} * {_literal(c)}" for x, c in zip(p, ctx)]

    def dot_start(self, node: Value, rule: str) -> str:
        count = 2 * node._ctx if rule == "_dot_backward" else len(node._ctx)
        if len(node.parents) > count:
            return self.name[node.parents[-1]]
        start = self.rec.dot_starts.get(node)
        if start is None:
            raise RuntimeError(f"trace: no bias recorded for the dot {node!r}; please report it")
        return _literal(start)

    def backward_terms(self, node: Value, g: str) -> tuple[list[str], list[tuple[Value, Term]]]:
        """Lines to run first, and one (parent, term) per contribution, in the rule's order."""
        rule = self.rule(node)
        op = node.op
        parents = node.parents
        p = [self.name[v] for v in parents]
        y = self.name[node]
        ctx = node._ctx

        def each(*found: Term) -> list[tuple[Value, Term]]:
            return list(zip(parents, found))

        if rule in ("_add_backward", "_pass_backward", "_sum_backward"):
            return [], [(v, ("+", g)) for v in parents]
        if rule == "_sub_backward":  # a - b, and log_softmax's x - lse
            return [], each(("+", g), ("-", g))
        if rule == "_mul_backward":
            return [], each(("+", f"{p[1]} * {g}"), ("+", f"{p[0]} * {g}"))
        if rule == "_div_backward":  # careful(): the engine's no-overflow path when needed
            by_a, by_b = self.fresh(f"{y}_by_{p[0]}"), self.fresh(f"{y}_by_{p[1]}")
            lines = [*_careful(by_a, f"{g} / {p[1]}", f"careful({by_a}, ({g},), {p[1]})"),
                     *_careful(by_b, f"{g} * {y} / {p[1]}",
                               f"careful({by_b}, ({g}, {y}), {p[1]})")]
            return lines, each(("+", by_a), ("-", by_b))
        if rule == "_div_const_backward":
            return [], each(("+", f"{g} / {_literal(ctx)}"))
        if rule == "_pow_const_backward" and ctx >= 1.0:
            by_x = self.fresh(f"{y}_by_{p[0]}")
            power = p[0] if ctx == 2.0 else f"{p[0]} ** {_literal(ctx - 1.0)}"
            fast = f"{_literal(ctx)} * {power} * {g}"
            slow = f"pow_slope({p[0]}, {_literal(ctx)}, {y}, {g})"
            return _careful(by_x, fast, slow), each(("+", by_x))
        if rule == "_pow_const_backward":
            return [], each(("+", f"pow_slope({p[0]}, {_literal(ctx)}, {y}, {g})"))
        if rule == "_pow_backward":
            by_base, by_exponent = self.fresh(f"{y}_by_base"), self.fresh(f"{y}_by_exponent")
            line = f"{by_base}, {by_exponent} = pow_grads({p[0]}, {p[1]}, {y}, {g})"
            return [line], each(("+", by_base), ("+", by_exponent))
        if rule == "_dot_backward":
            n = ctx
            found: list[tuple[Value, Term]] = []
            for i in range(n):
                found.append((parents[i], ("+", f"{p[n + i]} * {g}")))
                found.append((parents[n + i], ("+", f"{p[i]} * {g}")))
            if len(parents) > 2 * n:
                found.append((parents[-1], ("+", g)))
            return [], found
        if rule == "_dot_const_backward":
            found = [(v, ("+", f"{_literal(c)} * {g}")) for v, c in zip(parents, ctx)]
            if len(parents) > len(ctx):
                found.append((parents[-1], ("+", g)))
            return [], found
        if rule == "_logsumexp_backward":
            weights = self.parts[node][2]
            return [], [(v, ("+", f"{weights}[{i}] * {g}")) for i, v in enumerate(parents)]
        # one parent, local derivative known at forward time (_unary_backward)
        a = p[0]
        local = {
            "*": _literal(ctx), "neg": "", "abs": f"sign({a})", "exp": y, "log": f"1.0 / {a}",
            "tanh": f"(1.0 - {y} * {y} if -0.5 < {y} < 0.5 else tanh_tail_slope({a}))",
            "sqrt": f"(0.5 / {y} if {y} else inf)", "sin": f"cos({a})", "cos": f"-sin({a})",
            "softplus": f"sigmoid_and_slope({a})[0]",
        }
        if op == "neg":
            return [], each(("-", g))
        if op == "relu":
            return [], each(("+", f"({g} if {a} > 0.0 else 0.0 * {g})"))
        if op == "leaky_relu":
            slope = _literal(self.rec.slopes[node])
            return [], each(("+", f"({g} if {a} > 0.0 else {slope} * {g})"))
        if op == "sigmoid":
            return [], each(("+", f"{self.parts[node][0]} * {g}"))
        return [], each(("+", f"{local[op]} * {g}"))


_UNARY = ("neg", "abs", "exp", "log", "tanh", "sigmoid", "relu", "leaky_relu", "softplus",
          "sqrt", "sin", "cos", "*")
_KNOWN = {
    ("+", "_add_backward"), ("+", "_pass_backward"), ("-", "_sub_backward"),
    ("-", "_pass_backward"), ("*", "_mul_backward"), ("/", "_div_backward"),
    ("/", "_div_const_backward"), ("**", "_pow_backward"), ("**", "_pow_const_backward"),
    ("sum", "_sum_backward"), ("dot", "_dot_backward"), ("dot", "_dot_const_backward"),
    ("logsumexp", "_logsumexp_backward"), ("log_softmax", "_sub_backward"),
    *((op, "_unary_backward") for op in _UNARY),
}


def _rule_names() -> dict[Any, str]:
    """The engine's backward rules by identity, so an op is matched with the rule it used."""
    names = {rule for _, rule in _KNOWN}
    return {getattr(engine, n): n for n in names if hasattr(engine, n)}


def _careful(name: str, fast: str, slow: str) -> list[str]:
    """name = fast, or the engine's slower exact form when fast is 0, inf or NaN."""
    return [f"{name} = {fast}", f"if {name} == 0.0 or {name} - {name} != 0.0:",
            f"    {name} = {slow}"]


def _names(names: Iterable[str]) -> str:
    """a, b, c (a one-name tuple keeps its comma)."""
    found = list(names)
    return ", ".join(found) + ("," if len(found) == 1 else "")


# Checking for inf and NaN once, not after every op: an inf or NaN carries on through
# most ops (inf + 1, inf * 0 = NaN, log(inf), ...), so checking the values where it
# may stop is enough. Forward, those are the inputs of the ops below and the values
# nothing uses (the loss); backward, the leaves, and the gradients of the two rules
# that drop their upstream gradient instead of multiplying it.


def _swallows(node: Value, position: int, rule: str | None) -> bool:
    """Can node be finite while its input at `position` is inf or NaN (relu(-inf) = 0)?"""
    op = node.op
    if op in ("relu", "tanh", "sigmoid", "exp", "softplus", "logsumexp"):
        return True
    if op == "**":
        return rule == "_pow_backward" or node._ctx <= 0.0  # x ** -1 at inf is 0
    if op == "/":
        return position == 1 and rule == "_div_backward"  # a / inf is 0
    return op == "log_softmax" and position == 1  # x - max - log(sum) skips lse's value


def _values_to_check(forward: Sequence[Value], rules: dict[Any, str]) -> set[Value]:
    used: set[Value] = set()
    watch: set[Value] = set()
    for node in forward:
        rule = rules.get(node._backward)
        for i, parent in enumerate(node.parents):
            used.add(parent)
            if _swallows(node, i, rule):
                watch.add(parent)
    watch.update(v for v in forward if v not in used)
    return watch


def _drops_gradient(node: Value, rules: dict[Any, str]) -> bool:
    """Rules that add a 0 where the engine adds nothing or returns 0 without g: x ** 0, b ** e."""
    rule = rules.get(node._backward)
    return rule == "_pow_backward" or (rule == "_pow_const_backward" and node._ctx == 0.0)


def _finite_check(names: Sequence[str], why: str) -> list[str]:
    """One sum of every value: inf or NaN if any is (or, rarely, if the sum overflows)."""
    if not names:
        return []
    return [f"    check = sum(({_names(names)}))", "    if check - check != 0.0:",
            f'        raise Fallback("{why}")']


def _fold(target: str, start: str, terms: Sequence[str], left: bool = False) -> list[str]:
    """target = sum(terms, start), adding exactly as the engine's sum() call does, or,
    with left=True, as its loops do (start + t1 + t2 + ..., as dot adds)."""
    if not (left or _SUM_IS_LEFT_FOLD):
        return [f"{target} = sum(({', '.join(terms)},), {start})" if terms else
                f"{target} = sum((), {start})"]
    lines = []
    first = start
    for i in range(0, max(len(terms), 1), _TERMS_PER_LINE):
        chunk = terms[i : i + _TERMS_PER_LINE]
        lines.append(f"{target} = {' + '.join([first, *chunk])}")
        first = target
    return lines


def _shorten(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _gather(target: str, terms: Sequence[Use], start: str | None) -> list[str]:
    """target = start + each term in order: a gradient as the sum over its uses.

    Each term's line says which node used the value (its forward line)."""
    pieces: list[str] = [] if start is None else [start]
    notes: list[str] = [] if start is None else [""]
    for sign, expr, note in terms:
        if pieces:
            pieces.append(f"{sign} {expr}")
        elif sign == "-":
            pieces.append(f"-({expr})" if expr.startswith("-") else f"-{expr}")
        else:
            pieces.append(expr)
        notes.append(note)
    if len(pieces) <= (start is not None):
        return []  # nothing reached it: the gradient stays as it was
    lines = []
    for i in range(0, len(pieces), _TERMS_PER_LINE):
        chunk, said = pieces[i : i + _TERMS_PER_LINE], notes[i : i + _TERMS_PER_LINE]
        if i:  # every piece after the first starts with its sign
            chunk, said = [target, *chunk], ["", *said]
        shown = "; ".join(dict.fromkeys(n for n in said if n))
        one_line = f"{target} = {' '.join(chunk)}"
        if len(chunk) == 1 or (len(chunk) <= 3 and len(one_line) + len(shown) <= 96):
            lines.append(f"{one_line}  # {shown}" if shown else one_line)
            continue
        lead = f"{target} = ("
        for k, (piece, note) in enumerate(zip(chunk, said)):
            end = ")" if k == len(chunk) - 1 else ""
            text = f"{lead if k == 0 else ' ' * len(lead)}{piece}{end}"
            # a long sum's terms name their users (g_dot7); a short one's say their formula
            lines.append(f"{text}  # {note}" if note and len(chunk) <= _NOTED else text)
    return lines


def _compile(root: Any, recording: _Recording, inputs: tuple[Value, ...],
             cache: dict[str, Callable[..., Any]]) -> _Program:
    if not isinstance(root, Value):
        raise TypeError(
            f"trace: fn must return a Value (the loss), got {root!r} ({type(root).__name__})"
        )
    if not root._prev and isinstance(root._ctx, str):
        raise ValueError(
            f"trace: fn's result {root!r} was computed by op {root._ctx!r} under no_grad(), "
            "so it has no graph to trace; call the step outside no_grad()"
        )
    source, constants, nodes = _Writer(root, recording, inputs).write()
    run = cache.get(source)
    if run is None:
        namespace = _namespace()
        exec(compile(source, "<autodiff.trace>", "exec"), namespace)
        run = namespace["step"]
        if len(cache) >= _CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[source] = run
    return _Program(source, run, constants, list(map(_DATA, constants)), nodes)


# ---------------------------------------------------------------------------
# The step


class Step:
    """A traced forward + backward: call it to replay on the inputs' current data."""

    def __init__(self, fn: Callable[[], Value], inputs: tuple[Value, ...], check: bool) -> None:
        self._fn = fn
        self._inputs = inputs
        self._check = check
        self._cache: dict[str, Callable[..., Any]] = {}
        self._is_recording: Callable[[], bool] = engine._is_recording
        self.retraces = 0
        self.last_reason = ""
        root, recording = _run_recorded(fn)
        self._program = _compile(root, recording, inputs, self._cache)
        _verify(self._program, root, inputs)

    def __repr__(self) -> str:
        return (f"<autodiff.trace step: {self._program.nodes} nodes, {len(self._inputs)} "
                f"inputs, traced again {self.retraces} times>")

    def source(self) -> str:
        """The generated Python code of the forward and backward pass, as text."""
        return self._program.source

    def __call__(self) -> float:
        """Replay forward and backward; add into the inputs' .grad; return the loss."""
        program = self._program
        inputs = self._inputs
        if program.constants and list(map(_DATA, program.constants)) != program.snapshot:
            return self._eager("a constant leaf's data changed")
        if not self._is_recording():
            return self._eager("called under no_grad()")
        try:
            loss, grads = program.run(inputs, not self._check)
        except Exception as error:  # a guard or domain check: fn runs eagerly instead
            return self._eager(str(error) or type(error).__name__)
        if self._check:
            self._compare(loss, grads)
        return loss  # type: ignore[no-any-return]

    def _eager(self, reason: str) -> float:
        """Run fn and backward() as without trace, and trace again from this run."""
        if not self._is_recording():
            root = self._fn()
            if not isinstance(root, Value):
                raise TypeError(f"trace: fn must return a Value (the loss), got {root!r}")
            _backward_into(root, self._inputs)  # the engine's no_grad() error, as eager
            loss: float = root.data
            return loss
        root, recording = _run_recorded(self._fn)
        program = _compile(root, recording, self._inputs, self._cache)
        inputs = self._inputs
        try:
            replayed = program.run(inputs, False)
        except Exception:
            replayed = None
        before = list(map(_GRAD, inputs))
        self._program = program
        self.retraces += 1
        self.last_reason = reason
        _backward_into(root, inputs)
        if replayed is not None:
            _agree(replayed, root.data, inputs, before, internal=True)
        result: float = root.data
        return result

    def _compare(self, loss: float, grads: tuple[float, ...]) -> None:
        """check=True: run fn eagerly too; its result stands, and must equal the replay's."""
        inputs = self._inputs
        before = list(map(_GRAD, inputs))
        root = self._fn()
        if not isinstance(root, Value):
            raise TypeError(f"trace: fn must return a Value (the loss), got {root!r}")
        _backward_into(root, inputs)
        _agree((loss, grads), root.data, inputs, before, internal=False)


def _backward_into(root: Value, inputs: tuple[Value, ...]) -> None:
    """root.backward(), with the .grad of leaves outside `inputs` put back as it was."""
    mine = set(inputs)
    others = [v for v in graph.reverse_topological_order(root) if not v._prev and v not in mine]
    saved = list(map(_GRAD, others))
    root.backward()
    any(map(setattr, others, repeat("grad"), saved))  # in C: no interrupt splits it


def _agree(replayed: tuple[Any, tuple[Any, ...]], loss: float, inputs: tuple[Value, ...],
           before: list[float], internal: bool) -> None:
    """Raise (with every input's .grad put back) unless the replay equals the eager run."""
    got_loss, got = replayed
    eager = list(map(_GRAD, inputs))
    wrong = None
    if got_loss != loss:
        wrong = f"the loss is {got_loss!r} replayed but {loss!r} eagerly"
    else:
        for i, (a, b) in enumerate(zip(got, eager)):
            if a != b:
                wrong = (f"input {i} ({inputs[i]!r}) gets gradient {a!r} replayed but "
                         f"{b!r} eagerly")
                break
    if wrong is None:
        return
    any(map(setattr, inputs, repeat("grad"), before))  # in C: no interrupt splits it
    if internal:
        raise RuntimeError(
            f"autodiff.trace: the compiled step disagrees with the engine: {wrong}. Unless fn "
            "sets a Value's .data by hand while it runs, this is a bug in autodiff.trace: "
            "please report it, and call fn() and backward() meanwhile"
        )
    raise StaleTraceError(
        f"trace with check=True: {wrong}. fn takes a path the trace cannot see - Python code "
        "that reads .data (or other state) to decide what to compute. Trace again after "
        "such a change, or call fn() and backward() without trace. No .grad was changed."
    )


def _verify(program: _Program, root: Value, inputs: tuple[Value, ...]) -> None:
    """At trace time: the compiled step must reproduce the engine's loss and gradients."""
    try:
        eager = graph.gradients(root, list(inputs))
    except Exception:
        return  # the first call meets the same error, raised by the engine itself
    before = list(map(_GRAD, inputs))
    wrong: str | None
    try:
        any(map(setattr, inputs, repeat("grad"), repeat(0.0)))  # as gradients() starts
        loss, grads = program.run(inputs, False)
        wrong = f"loss {loss!r} vs {root.data!r}" if loss != root.data else next(
            (f"input {i} gradient {x!r} vs {e!r}" for i, (x, e) in enumerate(zip(grads, eager))
             if x != e), None)
    except Fallback:
        return  # a sum of huge values overflowed the check: the first call runs eagerly
    except Exception as error:  # where the engine computed, so must the code
        wrong = f"the code raised {error!r}"
    finally:
        any(map(setattr, inputs, repeat("grad"), before))
    if wrong is not None:
        raise RuntimeError(
            f"autodiff.trace: the compiled step disagrees with the engine ({wrong}). Unless fn "
            "sets a Value's .data by hand while it runs, this is a bug in autodiff.trace: "
            "please report it, and call fn() and backward() meanwhile"
        )


def trace(fn: Callable[[], Value], inputs: Iterable[Value], check: bool = False) -> Step:
    """Run fn once and compile its graph; the returned step replays forward and backward.

    `inputs` are the leaves whose data changes between calls (the parameters);
    each call adds into their `.grad` like backward() and returns the loss.
    Everything else in the graph is a constant as traced (see the module's
    docstring for what is checked on every call). check=True also runs fn
    eagerly on every call and raises StaleTraceError if the two differ.
    """
    if not callable(fn):
        raise TypeError(f"trace needs a function of no arguments that returns the loss, got "
                        f"{fn!r}; pass e.g. lambda: loss_of(model, X, y)")
    if isinstance(inputs, Value) or not isinstance(inputs, Iterable):
        raise TypeError(f"trace: inputs must be a list of Values, got {inputs!r}; pass e.g. "
                        "model.parameters()")
    found = tuple(inputs)
    seen: set[Value] = set()
    for i, v in enumerate(found):
        if not isinstance(v, Value):
            raise TypeError(f"trace: input {i} is {v!r} ({type(v).__name__}), not a Value")
        if v._prev:
            raise ValueError(
                f"trace: input {i} {v!r} was computed by op {v.op!r}; inputs must be leaves "
                "(parameters or Values you made), whose data you set"
            )
        if v in seen:
            raise ValueError(f"trace: input {i} {v!r} is listed twice; list each input once")
        seen.add(v)
    if not isinstance(check, bool):
        raise TypeError(f"trace: check must be True or False, got {check!r}")
    return Step(fn, found, check)

"""Modules: the Module base class and the Neuron, Layer, MLP and Sequential building blocks.

A Module finds its parameters in its own attributes, as PyTorch's does: every
Value is a parameter, every Module a sub-module, and lists, tuples and dicts of
them are searched too, in attribute assignment order (dicts in insertion order).
A parameter's name is its dotted path, e.g. ``layers.0.neurons.3.w.1``.
"""

from __future__ import annotations

import math
import numbers
import operator
import random
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from itertools import chain
from types import FunctionType
from typing import Any, NamedTuple

from autodiff import Value, dot
from autodiff.engine import dot_rows

# What a Neuron, Layer or MLP takes: a list or tuple of nin inputs (one may stand alone).
Inputs = Sequence[Value | float] | Value | float

# An activation is a name from ACTIVATIONS or a function of one Value returning a Value.
Activation = str | Callable[[Value], Value]

# Activation name -> unbound Value method (None for linear). Calling the
# unbound method is as fast as a method call on the node.
ACTIVATIONS: dict[str, Callable[[Value], Value] | None] = {
    "relu": Value.relu,
    "leaky_relu": Value.leaky_relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "linear": None,
}

# Uniform initialisation bound is sqrt(GAIN / nin): He for the relu family,
# LeCun (variance 1/nin) for the others, custom activations included.
_INIT_GAIN = {"relu": 6.0, "leaky_relu": 6.0, "tanh": 3.0, "sigmoid": 3.0, "linear": 3.0}
_DEFAULT_GAIN = 3.0

# Value's one-argument methods: Sequential applies these to each item of a list.
_ELEMENTWISE = frozenset(
    getattr(Value, name)
    for name in (
        *("relu", "leaky_relu", "tanh", "sigmoid", "softplus", "exp", "log", "sqrt"),
        *("sin", "cos", "__neg__", "__abs__"),
    )
    if hasattr(Value, name)
)


def _check_size(name: str, value: Any, minimum: int = 1) -> int:
    """Return value if it is an int >= minimum, else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{name} must be an int, got {value!r} of type {type(value).__name__}; "
            f"pass a whole number such as {max(minimum, 1)}."
        )
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}.")
    return value


def _callable_name(f: object) -> str:
    """A short, stable name for a custom activation or a Sequential step."""
    if isinstance(f, Module):
        return type(f).__name__
    name = getattr(f, "__qualname__", None)
    return name if isinstance(name, str) else type(f).__name__


def _resolve_activation(activation: Any) -> tuple[Activation, str, Callable[[Value], Value] | None]:
    """Return (what to keep as .activation, its name, the function to apply or None)."""
    if isinstance(activation, str):
        if activation in ACTIVATIONS:
            return activation, activation, ACTIVATIONS[activation]
    elif callable(activation):
        for name, f in ACTIVATIONS.items():
            if f is activation:  # Value.tanh is the same as "tanh"
                return name, name, f
        return activation, _callable_name(activation), _checked_activation(activation)
    known = ", ".join(repr(name) for name in ACTIVATIONS)
    raise ValueError(
        f"unknown activation {activation!r}; choose one of {known}, "
        "or pass a function of one Value that returns a Value."
    )


def _checked_activation(f: Callable[[Value], Value]) -> Callable[[Value], Value]:
    """Wrap a custom activation so a result that is not a Value is refused, not trained on."""
    name = _callable_name(f)

    def activation(v: Value) -> Value:
        out = f(v)
        if not isinstance(out, Value):
            raise TypeError(
                f"activation {name} returned {out!r} ({type(out).__name__}), not a Value, "
                "so no gradient could flow through it; build it from Value operations, "
                "e.g. lambda v: v * v.sigmoid()."
            )
        return out

    return activation


def _activation_repr(activation: Activation) -> str:
    return repr(activation) if isinstance(activation, str) else _callable_name(activation)


def _make_rng(rng: random.Random | None, seed: int) -> random.Random:
    """Return rng, or a new generator seeded with seed when rng is None."""
    if rng is None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {seed!r}; pass a whole number such as 0.")
        return random.Random(seed)
    if not isinstance(rng, random.Random):
        raise TypeError(
            f"rng must be a random.Random, got {rng!r}; pass random.Random(seed) or a seed."
        )
    return rng


def _check_inputs(x: Any, nin: int, who: object) -> Sequence[Any]:
    """Return x if it is a list or tuple of nin numbers or Values, else raise a clear error."""
    kind = type(x)
    if kind is list or kind is tuple:  # the usual case first: one type test, one len
        n = len(x)
    elif isinstance(x, (Value, numbers.Real)) and nin == 1:
        return [x]
    elif isinstance(x, (Mapping, Set, str, bytes, bytearray)):
        if isinstance(x, Mapping):
            why = "a mapping is not a list of inputs (the network would read its keys)"
        elif isinstance(x, Set):
            why = "a set has no fixed order, so its items cannot be matched to the weights"
        else:
            why = "text is not a list of numbers"
        raise TypeError(
            f"{who!r} expects a list of {nin} inputs, got the {kind.__name__} {x!r}; {why}. "
            f"Pass a list or tuple such as [0.5] * {nin}."
        )
    else:
        try:
            n = len(x)
        except TypeError:
            raise TypeError(
                f"{who!r} expects a list of {nin} inputs, got {x!r}; "
                f"pass a list such as [0.5] * {nin}."
            ) from None
    if n != nin:
        raise ValueError(
            f"{who!r} expects {nin} inputs, got {n} ({x!r}); pass exactly {nin} numbers or Values."
        )
    checked: Sequence[Any] = x
    return checked


# --- finding parameters in attributes ------------------------------------------

_SEARCHED = (list, tuple, dict)


class _Cache(NamedTuple):
    """A module's parameters, and a snapshot of what they were found in.

    The snapshot is every searched module's attribute values, every list's items
    and every dict's keys and values, flattened, with each container's length.
    It tells whether the cache is stale with a few passes in C (identity, not ==),
    and holding those objects keeps their ids from being reused while it lives.
    """

    named: list[tuple[str, Value]]
    params: list[Value]
    # the attribute records of the searched sub-modules (not the modules: no cycle
    # through a module that refers back to its owner)
    modules: tuple[dict[str, object], ...]
    lists: tuple[list[object], ...]
    dicts: tuple[dict[object, object], ...]
    lengths: tuple[int, ...]
    items: tuple[object, ...]


def _snapshot(
    owner: Module,
    modules: tuple[dict[str, object], ...],
    lists: tuple[list[object], ...],
    dicts: tuple[dict[object, object], ...],
) -> tuple[tuple[int, ...], tuple[object, ...]]:
    """(lengths, flattened items) of the owner and of every searched container."""
    attributes = (_attributes(owner), *modules)
    lengths = (*map(len, attributes), *map(len, lists), *map(len, dicts))
    items = (
        *chain.from_iterable(map(dict.values, attributes)),
        *chain.from_iterable(lists),
        *chain.from_iterable(dicts),
        *chain.from_iterable(map(dict.values, dicts)),
    )
    return lengths, items


def _is_current(owner: Module, cache: _Cache) -> bool:
    """True if nothing the cache was built from has changed (a replaced, added or removed item)."""
    lengths, items = _snapshot(owner, cache.modules, cache.lists, cache.dicts)
    return lengths == cache.lengths and all(map(operator.is_, items, cache.items))


def _children(obj: object, prefix: str, root: Module) -> list[tuple[str, object]]:
    """The (name, item) pairs of obj that may hold parameters, in their fixed order."""
    items: Iterable[tuple[object, object]]
    if isinstance(obj, Module):
        items = _attributes(obj).items()
    elif isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    else:
        return []
    keyed = isinstance(obj, dict)
    found: list[tuple[str, object]] = []
    for key, item in items:
        if isinstance(item, (Value, Module, *_SEARCHED)):
            if keyed and not _usable_key(key):
                raise TypeError(
                    f"{type(root).__name__}: the dict at {prefix or 'the top'!r} has the key "
                    f"{key!r} for {type(item).__name__} items; parameter names are built from "
                    "keys, so use non-empty str keys without dots, or int keys."
                )
            found.append((f"{prefix}.{key}" if prefix else str(key), item))
        elif isinstance(item, (set, frozenset)) and any(
            isinstance(x, (Value, Module)) for x in item
        ):
            where = f"{prefix}.{key}" if prefix else str(key)
            raise TypeError(
                f"{type(root).__name__}.{where} is a {type(item).__name__} of Values or "
                "Modules; a set has no fixed order, so its parameters could not be named "
                "or saved reliably. Use a list or a tuple."
            )
    return found


def _usable_key(key: object) -> bool:
    """True for a dict key that makes a name part: an int, or a non-empty str without dots."""
    if isinstance(key, str):
        return key != "" and "." not in key
    return isinstance(key, int) and not isinstance(key, bool)


def _search(root: Module) -> _Cache:
    """Find root's parameters in its attributes: depth first, in order, each Value once."""
    named: list[tuple[str, Value]] = []
    seen: set[Value] = set()
    visited = {id(root)}  # modules and containers searched (shared ones are searched once)
    modules: list[dict[str, object]] = []
    lists: list[list[object]] = []
    dicts: list[dict[object, object]] = []
    stack = list(reversed(_children(root, "", root)))  # explicit stack: no recursion
    while stack:
        name, obj = stack.pop()
        if isinstance(obj, Value):
            if obj not in seen:  # a Value shared by two attributes appears once
                seen.add(obj)
                named.append((name, obj))
            continue
        if id(obj) in visited:  # everything stays referenced during the search: ids are stable
            continue
        visited.add(id(obj))
        if isinstance(obj, Module):
            modules.append(_attributes(obj))
        elif isinstance(obj, list):
            lists.append(obj)
        elif isinstance(obj, dict):
            dicts.append(obj)
        # (a tuple cannot change; the lists and dicts in it are recorded themselves)
        stack.extend(reversed(_children(obj, name, root)))
    _check_unique(named, type(root).__name__)
    snapshot = (tuple(modules), tuple(lists), tuple(dicts))
    return _Cache(named, [p for _, p in named], *snapshot, *_snapshot(root, *snapshot))


def _check_unique(named: list[tuple[str, Value]], owner: str) -> None:
    first: dict[str, int] = {}
    for i, (name, _) in enumerate(named):
        if name in first:
            raise ValueError(
                f"{owner}: two different parameters are both named {name!r} (a dict key with "
                "the same text as another path?); rename one of them."
            )
        first[name] = i


def _label(named: list[tuple[str, Value]]) -> None:
    """Give unlabelled parameters their name as label.

    A label that is the end of the name (set by a sub-module built first, such as
    a Neuron's 'w.0' inside a Layer's 'neurons.2.w.0') is lengthened the same way;
    any other label was chosen by the user and is kept.
    """
    for name, p in named:
        label = p.label
        if label != name and (not label or name.endswith("." + label)):
            p.label = name


class _ModuleType(type):
    """Labels a module's parameters once it is built (after its whole __init__).

    Modules built inside another's __init__ (a Layer's neurons) are labelled by
    the outermost one, which searches them anyway: each model is searched once.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        depth = getattr(_building, "depth", 0)
        _building.depth = depth + 1
        try:
            module = super().__call__(*args, **kwargs)
        finally:
            _building.depth = depth
        if depth == 0:
            module._parameter_cache()
        return module


_building = threading.local()  # how many Module constructors are running in this thread


# A module's own bookkeeping, kept out of its record of attributes.
_RECORD = "_nn_attributes"
_CACHE = "_nn_cache"


def _attributes(module: Module) -> dict[str, object]:
    """The module's record of its attributes, in assignment order (made on first use)."""
    try:
        record: dict[str, object] = object.__getattribute__(module, _RECORD)
    except AttributeError:  # a subclass whose __new__ did not call Module.__new__
        record = {k: v for k, v in vars(module).items() if k not in (_RECORD, _CACHE)}
        object.__setattr__(module, _RECORD, record)
    return record


class Module(metaclass=_ModuleType):
    """Base class: something with parameters that can be called on inputs.

    Parameters are found in the attributes (Values, Modules, and lists, tuples
    and dicts of them), so a subclass only assigns them in __init__ and defines
    forward(); parameters(), named_parameters(), zero_grad(), state_dict(),
    load_state_dict() and nn.save / nn.load then work with no extra code.
    Assign attributes normally (a subclass's own __setattr__ must call
    super().__setattr__); writing to self.__dict__ directly is not seen.
    """

    # Assignments are recorded in a dict of our own rather than read back with
    # vars(self): on CPython 3.11, reading an instance's __dict__ makes every later
    # attribute lookup on it about 4x slower, which a training step would feel.

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        module = super().__new__(cls)
        object.__setattr__(module, _RECORD, {})
        object.__setattr__(module, _CACHE, None)
        return module

    def __setattr__(self, name: str, value: Any) -> None:
        if name in (_RECORD, _CACHE):
            raise AttributeError(
                f"{name!r} is reserved for nn.Module's bookkeeping; use another name."
            )
        object.__setattr__(self, name, value)
        if not hasattr(type(getattr(type(self), name, None)), "__set__"):
            _attributes(self)[name] = value  # (a property stores the value where it likes)

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        _attributes(self).pop(name, None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the output; subclasses override this (or __call__)."""
        raise NotImplementedError(f"{type(self).__name__} must define forward().")

    def _parameter_cache(self) -> _Cache:
        """The cached search of the attributes, searched again if anything in it changed."""
        cache: _Cache | None = getattr(self, _CACHE, None)
        if cache is not None and _is_current(self, cache):
            return cache
        cache = _search(self)
        _label(cache.named)
        object.__setattr__(self, _CACHE, cache)
        return cache

    def parameters(self) -> list[Value]:
        """Return the trainable Values, in a fixed order (that of named_parameters())."""
        if type(self).named_parameters is not Module.named_parameters:
            return [p for _, p in self.named_parameters()]  # follow a subclass's own names
        return list(self._parameter_cache().params)

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Return (dotted name, Value) pairs for every parameter found in the attributes."""
        return list(self._parameter_cache().named)

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero."""
        for p in self.parameters():
            p.grad = 0.0

    def architecture(self) -> dict[str, Any]:
        """Return a JSON-friendly description of the shape (not the values) of the model."""
        return {"type": type(self).__name__, "parameters": len(self.parameters())}

    def state_dict(self) -> dict[str, float]:
        """Return a new dict mapping each parameter name to its current float value."""
        named = self.named_parameters()
        check_unique_names(named, f"{type(self).__name__}.state_dict()")
        return {name: p.data for name, p in named}

    def __repr__(self) -> str:
        try:
            n = len(self.parameters())
        except Exception:  # a half-built subclass: still give a usable repr
            return f"{type(self).__name__}()"
        return f"{type(self).__name__}({n} parameter{'' if n == 1 else 's'})"

    def load_state_dict(self, state: Any) -> None:
        """Set every parameter from state; everything is checked before anything changes."""
        named = self.named_parameters()
        check_unique_names(named, f"{type(self).__name__}.load_state_dict()")
        values = check_state(state, [name for name, _ in named], "state_dict", TypeError)
        for name, p in named:
            p.data = values[name]


def check_unique_names(named: Sequence[tuple[str, Value]], where: str) -> None:
    """Raise a clear ValueError if two entries of named_parameters() share a name."""
    first: dict[str, int] = {}
    for i, (name, _) in enumerate(named):
        if name in first:
            raise ValueError(
                f"{where}: parameters {first[name]} and {i} of named_parameters() are both "
                f"named {name!r}, so one would overwrite the other; give every parameter its "
                "own name (the default named_parameters() does)."
            )
        first[name] = i


def check_state(
    state: Any, names: list[str], where: str, type_error: type[Exception]
) -> dict[str, float]:
    """Validate a name -> number mapping against the expected names; return name -> float."""
    if not isinstance(state, dict):
        raise type_error(
            f"{where} must be a dict mapping parameter names to numbers, "
            f"got {type(state).__name__}; use the output of state_dict()."
        )
    missing = [name for name in names if name not in state]
    if missing:
        raise ValueError(
            f"{where} is missing {len(missing)} parameter(s), first {missing[0]!r}; "
            "it was saved from a different model."
        )
    if len(state) != len(names):
        expected = set(names)
        extra = [key for key in state if key not in expected]
        raise ValueError(
            f"{where} has {len(extra)} unexpected parameter(s), first {extra[0]!r}; "
            "it was saved from a different model."
        )
    values = {}
    for name in names:
        value = state[name]
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise type_error(
                f"{where}: parameter {name!r} must be a number, got {value!r}; "
                "use the output of state_dict()."
            )
        try:
            value = float(value)
        except OverflowError:
            raise ValueError(
                f"{where}: parameter {name!r} is {_describe_huge(value)}, too large for a float; "
                "re-save the model from finite weights."
            ) from None
        if not math.isfinite(value):
            raise ValueError(
                f"{where}: parameter {name!r} is {value!r}, not a finite number; "
                "re-save the model from finite weights."
            )
        values[name] = value
    return values


def _describe_huge(value: numbers.Real) -> str:
    """Name a number too large for a float without printing hundreds of digits."""
    if isinstance(value, int):
        digits = int(abs(value).bit_length() * math.log10(2)) + 1  # at most one too many
        if abs(value) < 10 ** (digits - 1):
            digits -= 1
        return f"a {'negative ' if value < 0 else ''}{digits}-digit integer"
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-10:]} ({type(value).__name__})"


class Neuron(Module):
    """One unit: activation(w . x + b), the weighted sum as a single dot node."""

    def __init__(
        self,
        nin: int,
        activation: Activation = "relu",
        rng: random.Random | None = None,
        seed: int = 0,
    ) -> None:
        self.nin = _check_size("nin", nin)
        self.activation, name, self._act = _resolve_activation(activation)
        rng = _make_rng(rng, seed)
        bound = math.sqrt(_INIT_GAIN.get(name, _DEFAULT_GAIN) / nin)
        self.w = [Value(rng.uniform(-bound, bound)) for _ in range(nin)]
        self.b = Value(0.0)

    def __call__(self, x: Inputs) -> Value:  # typed for editors
        return self.forward(x)

    def forward(self, x: Inputs) -> Value:
        """Return activation(w . x + b) for a list of nin inputs."""
        return self._forward(_check_inputs(x, self.nin, self))

    def _forward(self, x: Sequence[Value | float]) -> Value:
        out = dot(self.w, x, self.b)  # w . x + b as a single node
        return out if self._act is None else self._act(out)

    def architecture(self) -> dict[str, Any]:
        return {"type": "Neuron", "nin": self.nin, "activation": _activation_name(self.activation)}

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={_activation_repr(self.activation)})"


def _activation_name(activation: Activation) -> str:
    """The activation's name as architecture() records it."""
    return activation if isinstance(activation, str) else _callable_name(activation)




class Layer(Module):
    """nout neurons reading the same inputs; always returns a list of nout Values."""

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: Activation = "relu",
        rng: random.Random | None = None,
        seed: int = 0,
    ) -> None:
        self.nin = _check_size("nin", nin)
        self.nout = _check_size("nout", nout)
        self.activation = _resolve_activation(activation)[0]
        rng = _make_rng(rng, seed)
        self.neurons = [Neuron(nin, activation, rng=rng) for _ in range(nout)]

    def __call__(self, x: Inputs) -> list[Value]:  # typed for editors
        return self.forward(x)

    def forward(self, x: Inputs) -> list[Value]:
        """Return the list of the nout neuron outputs for a list of nin inputs."""
        return self._forward(_check_inputs(x, self.nin, self))

    def _forward(self, x: Sequence[Value | float]) -> list[Value]:
        neurons = self.neurons
        acts = {n._act for n in neurons}  # (comprehensions: quicker than map(attrgetter))
        if len(acts) == 1:  # one engine call for the whole layer
            return dot_rows([n.w for n in neurons], x, [n.b for n in neurons], acts.pop())
        return [n._forward(x) for n in neurons]

    def architecture(self) -> dict[str, Any]:
        return {
            "type": "Layer",
            "nin": self.nin,
            "nout": self.nout,
            "activation": _activation_name(self.activation),
        }

    def __repr__(self) -> str:
        return (
            f"Layer({self.nin}, {self.nout}, activation={_activation_repr(self.activation)})"
        )


class MLP(Module):
    """A multi-layer perceptron: hidden layers use activation, the last output_activation."""

    def __init__(
        self,
        nin: int,
        sizes: Sequence[int],
        activation: Activation = "relu",
        seed: int = 0,
        output_activation: Activation = "linear",
    ) -> None:
        self.nin = _check_size("nin", nin)
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
            raise TypeError(
                f"sizes must be a list of layer widths, got {sizes!r}; pass e.g. [16, 16, 1]."
            )
        if len(sizes) == 0:
            raise ValueError("sizes is empty; pass at least one layer width, e.g. [16, 16, 1].")
        self.sizes = [_check_size(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
        self.activation = _resolve_activation(activation)[0]
        self.output_activation = _resolve_activation(output_activation)[0]
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {seed!r}; pass a whole number such as 0.")
        self.seed = seed
        self.rng = random.Random(seed)
        widths = [nin, *self.sizes]
        last = len(self.sizes) - 1
        self.layers = [
            Layer(
                widths[i],
                widths[i + 1],
                output_activation if i == last else activation,
                rng=self.rng,
            )
            for i in range(len(self.sizes))
        ]

    def forward(self, x: Inputs) -> Value | list[Value]:
        """Return the output Value (one output) or list of Values (several outputs)."""
        out = self.layers[0]._forward(_check_inputs(x, self.nin, self))
        for layer in self.layers[1:]:
            out = layer._forward(out)
        return out[0] if len(out) == 1 else out

    def architecture(self) -> dict[str, Any]:
        return {
            "type": "MLP",
            "nin": self.nin,
            "sizes": list(self.sizes),
            "activation": _activation_name(self.activation),
            "output_activation": _activation_name(self.output_activation),
        }

    def __repr__(self) -> str:
        return (
            f"MLP({self.nin}, {self.sizes}, activation={_activation_repr(self.activation)}, "
            f"output_activation={_activation_repr(self.output_activation)}, seed={self.seed})"
        )


class Sequential(Module):
    """Steps applied in turn, each to the previous one's output: Modules and plain functions.

    A Module or a function gets the whole output of the step before (a Layer's
    list, say); Value's own one-input methods such as Value.tanh or Value.relu
    are applied to each Value of a list. Sequential returns what the last step
    returns (a Layer's list stays a list).
    """

    def __init__(self, *steps: Callable[..., Any]) -> None:
        if not steps:
            raise ValueError(
                "Sequential needs at least one step, e.g. "
                "Sequential(Layer(2, 16, 'linear'), Value.tanh, Layer(16, 1, 'linear'))."
            )
        for i, step in enumerate(steps):
            if not callable(step):
                raise TypeError(
                    f"Sequential step {i} is {step!r}, which cannot be called; pass Modules "
                    "such as Layer(2, 16) or functions such as Value.tanh."
                )
        self.steps = list(steps)

    def forward(self, x: Any) -> Any:
        """Return the output of the last step, each step fed the previous step's output."""
        for step in self.steps:
            if type(step) is FunctionType and step in _ELEMENTWISE:
                x = _each(step, x)
            else:
                x = step(x)
        return x

    def architecture(self) -> dict[str, Any]:
        return {
            "type": "Sequential",
            "steps": [
                step.architecture() if isinstance(step, Module) else _callable_name(step)
                for step in self.steps
            ],
        }

    def __repr__(self) -> str:
        inner = ", ".join(
            repr(step) if isinstance(step, Module) else _callable_name(step)
            for step in self.steps
        )
        return f"Sequential({inner})"


def _each(f: Callable[[Value], Value], x: Any) -> Any:
    """Apply a Value method to x, or to each item of a list or tuple x."""
    if isinstance(x, Value):
        return f(x)
    if isinstance(x, (list, tuple)):
        return [f(v) for v in x]
    raise TypeError(
        f"Sequential: {_callable_name(f)} applies to a Value or a list of Values, got {x!r}; "
        "put a Layer or Neuron before it."
    )

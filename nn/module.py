"""Modules: the Module base class and the Neuron, Layer and MLP building blocks."""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Mapping, Sequence, Set
from typing import Any

from autodiff import Value, dot

# Activation name -> unbound Value method (None for linear). Calling the
# unbound method is as fast as a method call on the node.
ACTIVATIONS: dict[str, Any] = {
    "relu": Value.relu,
    "leaky_relu": Value.leaky_relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "linear": None,
}

# Uniform initialisation bound is sqrt(GAIN / nin): He for the relu family,
# LeCun (variance 1/nin) for the others.
_INIT_GAIN = {"relu": 6.0, "leaky_relu": 6.0, "tanh": 3.0, "sigmoid": 3.0, "linear": 3.0}


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


def _check_activation(activation: Any) -> str:
    """Return activation if it names a known activation, else raise a clear error."""
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        known = ", ".join(repr(name) for name in ACTIVATIONS)
        raise ValueError(f"unknown activation {activation!r}; choose one of {known}.")
    return activation


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


def _check_inputs(x: Any, nin: int, who: object) -> Sequence:
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
    return x


class Module:
    """Base class: something with parameters that can be called on inputs."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the output; subclasses override this (or __call__)."""
        raise NotImplementedError(f"{type(self).__name__} must define forward().")

    def parameters(self) -> list[Value]:
        """Return the trainable Values, in a fixed order."""
        return []

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Return (name, Value) pairs in the order of parameters()."""
        return [(str(i), p) for i, p in enumerate(self.parameters())]

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
        activation: str = "relu",
        rng: random.Random | None = None,
        seed: int = 0,
    ) -> None:
        self.nin = _check_size("nin", nin)
        self.activation = _check_activation(activation)
        rng = _make_rng(rng, seed)
        bound = math.sqrt(_INIT_GAIN[activation] / nin)
        self.w = [Value(rng.uniform(-bound, bound)) for _ in range(nin)]
        self.b = Value(0.0)
        self._act = ACTIVATIONS[activation]

    def forward(self, x: Sequence[Value | float]) -> Value:
        """Return activation(w . x + b) for a list of nin inputs."""
        return self._forward(_check_inputs(x, self.nin, self))

    def _forward(self, x: Sequence[Value | float]) -> Value:
        out = dot(self.w, x, self.b)  # w . x + b as a single node
        return out if self._act is None else self._act(out)

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [*((f"w.{i}", w) for i, w in enumerate(self.w)), ("b", self.b)]

    def architecture(self) -> dict[str, Any]:
        return {"type": "Neuron", "nin": self.nin, "activation": self.activation}

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """nout neurons reading the same inputs; always returns a list of nout Values."""

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "relu",
        rng: random.Random | None = None,
        seed: int = 0,
    ) -> None:
        self.nin = _check_size("nin", nin)
        self.nout = _check_size("nout", nout)
        self.activation = _check_activation(activation)
        rng = _make_rng(rng, seed)
        self.neurons = [Neuron(nin, activation, rng=rng) for _ in range(nout)]

    def forward(self, x: Sequence[Value | float]) -> list[Value]:
        """Return the list of the nout neuron outputs for a list of nin inputs."""
        return self._forward(_check_inputs(x, self.nin, self))

    def _forward(self, x: Sequence[Value | float]) -> list[Value]:
        x = tuple(x)  # one tuple shared by every neuron's dot node
        return [n._forward(x) for n in self.neurons]

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [
            (f"neurons.{i}.{name}", p)
            for i, n in enumerate(self.neurons)
            for name, p in n.named_parameters()
        ]

    def architecture(self) -> dict[str, Any]:
        return {
            "type": "Layer",
            "nin": self.nin,
            "nout": self.nout,
            "activation": self.activation,
        }

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multi-layer perceptron: hidden layers use activation, the last output_activation."""

    def __init__(
        self,
        nin: int,
        sizes: Sequence[int],
        activation: str = "relu",
        seed: int = 0,
        output_activation: str = "linear",
    ) -> None:
        self.nin = _check_size("nin", nin)
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
            raise TypeError(
                f"sizes must be a list of layer widths, got {sizes!r}; pass e.g. [16, 16, 1]."
            )
        if len(sizes) == 0:
            raise ValueError("sizes is empty; pass at least one layer width, e.g. [16, 16, 1].")
        self.sizes = [_check_size(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
        self.activation = _check_activation(activation)
        self.output_activation = _check_activation(output_activation)
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

    def forward(self, x: Sequence[Value | float] | Value | float) -> Value | list[Value]:
        """Return the output Value (one output) or list of Values (several outputs)."""
        x = _check_inputs(x, self.nin, self)
        for layer in self.layers:
            x = layer._forward(x)
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [
            (f"layers.{i}.{name}", p)
            for i, layer in enumerate(self.layers)
            for name, p in layer.named_parameters()
        ]

    def architecture(self) -> dict[str, Any]:
        return {
            "type": "MLP",
            "nin": self.nin,
            "sizes": list(self.sizes),
            "activation": self.activation,
            "output_activation": self.output_activation,
        }

    def __repr__(self) -> str:
        return (
            f"MLP({self.nin}, {self.sizes}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r}, seed={self.seed})"
        )

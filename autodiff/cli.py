"""The command line: draw the graph of a small expression over named inputs.

    python -m autodiff "tanh(x*w + b)" x=0.5 w=-2 b=1 --params w,b -o graph.svg
    python -m autodiff "x*y + x" x=2 y=3 | dot -Tpng -o graph.png

(`autodiff-draw` is the same command as a console script.) The expression is parsed with
Python's `ast` and evaluated by a small walker that knows only numbers, input names,
+ - * / **, parentheses and a few functions: it is never eval'ed.
"""

from __future__ import annotations

import argparse
import ast
import operator
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import graphviz

from autodiff.drawing import DEFAULT_MAX_NODES, render, to_dot
from autodiff.engine import Value

__all__ = ["evaluate_expression", "main", "parse_inputs"]

_FUNCTIONS = ("exp", "log", "tanh", "sigmoid", "relu", "leaky_relu", "softplus", "sqrt",
              "sin", "cos", "abs")
_BINARY: dict[type, Callable[[Any, Any], object]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], object]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_SYNTAX_HELP = ("use numbers, input names, + - * / **, parentheses and the functions "
                + ", ".join(_FUNCTIONS))
# Measured on CPython 3.11: its parser gives up near 3000 nested operations (a chain of
# 3000 '+' nests that deep) and at 200 nested parentheses.
PARSER_DEPTH_LIMIT = 3000
PARSER_PAREN_LIMIT = 200


def evaluate_expression(text: str, inputs: dict[str, Value]) -> Value:
    """Evaluate a small arithmetic expression over named Values, without eval."""
    tree = _parse(text)
    results: dict[ast.AST, object] = {}
    # Post-order walk with an explicit stack: children are evaluated before their parent.
    stack: list[tuple[ast.AST, bool]] = [(tree.body, False)]
    while stack:
        node, children_done = stack.pop()
        children = _expression_children(node, inputs)
        if not children_done:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
            continue
        args = [results.pop(child) for child in children]
        try:
            results[node] = _apply(node, args, inputs)
        except (ArithmeticError, ValueError, TypeError) as exc:
            segment = _shorten(ast.get_source_segment(text.strip(), node) or text)
            # float ** float overflow says only "(34, 'Numerical result out of range')"
            reason = ("the result is too large for a float"
                      if isinstance(exc, OverflowError) and len(exc.args) == 2 else str(exc))
            raise ValueError(f"cannot compute {segment!r}: {reason}") from None
    result = results[tree.body]
    if not isinstance(result, Value):
        raise ValueError(f"the expression {_shorten(text)!r} uses no named input, so there is "
                         f"no graph to draw; use a name such as x and give it a value, e.g. x=1.5.")
    return result


def _parse(text: str) -> ast.Expression:
    """Parse the expression, turning every parser failure into a sentence with a reason."""
    try:
        return ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        reason = exc.msg or "invalid syntax"
    except (RecursionError, MemoryError):
        # CPython's parser raises these (MemoryError with no text at all) on deep nesting.
        reason = (f"it is nested too deeply for Python's parser, which stops at about "
                  f"{PARSER_DEPTH_LIMIT} nested operations (a chain of {PARSER_DEPTH_LIMIT} "
                  f"'+' or unary '-' nests that deep) and {PARSER_PAREN_LIMIT} nested "
                  f"parentheses; draw a shorter expression, or build the graph in Python "
                  f"(sum_values adds many terms as one node)")
    raise ValueError(f"cannot parse the expression {_shorten(text)!r} "
                     f"({len(text)} characters): {reason}; {_SYNTAX_HELP}.") from None


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _expression_children(node: ast.AST, inputs: dict[str, Value]) -> list[ast.AST]:
    """Return a node's operands, refusing any syntax outside the small arithmetic language."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{value!r} is not a number; {_SYNTAX_HELP}.")
        return []
    if isinstance(node, ast.Name):
        if node.id in inputs:
            return []
        if node.id in _FUNCTIONS:
            raise ValueError(f"{node.id!r} is a function; call it like {node.id}(x).")
        raise ValueError(f"unknown name {node.id!r} in the expression; give it a value on the "
                         f"command line, e.g. {node.id}=1.0.")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return [node.operand]
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS):
        if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
            raise ValueError(f"{node.func.id}() takes exactly one argument, e.g. "
                             f"{node.func.id}(x).")
        return [node.args[0]]
    raise ValueError(f"unsupported syntax ({type(node).__name__}) in the expression; "
                     f"{_SYNTAX_HELP}.")


def _apply(node: ast.AST, args: list[object], inputs: dict[str, Value]) -> object:
    """Compute one expression node from its already computed operands."""
    if isinstance(node, ast.Constant):
        return float(cast(float, node.value))  # floats overflow quickly; ints grow for ages
    if isinstance(node, ast.Name):
        return inputs[node.id]
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](args[0], args[1])
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](args[0])
    name = cast(ast.Name, cast(ast.Call, node).func).id  # _expression_children checked it
    arg = args[0] if isinstance(args[0], Value) else Value(cast(float, args[0]))
    if name == "abs":
        return abs(arg)
    result: object = getattr(arg, name)()
    return result


def parse_inputs(pairs: list[str]) -> dict[str, Value]:
    """Turn NAME=NUMBER arguments into labelled leaf Values."""
    inputs: dict[str, Value] = {}
    for pair in pairs:
        name, sep, number = pair.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ValueError(f"input {pair!r} is not NAME=NUMBER; write it like x=1.5.")
        if name in _FUNCTIONS:
            raise ValueError(f"input name {name!r} is a function name; choose another name.")
        if name in inputs:
            raise ValueError(f"input {name!r} is given twice; keep one {name}=NUMBER.")
        try:
            inputs[name] = Value(float(number), label=name)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"input {pair!r} needs a finite number after '=': {exc}") from None
    return inputs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autodiff",
        description="Draw the computation graph of a small expression after backward().",
        epilog='example: python -m autodiff "tanh(x*w + b)" x=0.5 w=-2 b=1 '
               '--params w,b -o neuron.svg  (put -- before an expression that starts with -)',
    )
    parser.add_argument("expression", help=f"arithmetic over the inputs; {_SYNTAX_HELP}")
    parser.add_argument("inputs", nargs="*", metavar="NAME=NUMBER", help="input values")
    parser.add_argument("-o", "--output", help="file to write (default: print DOT text)")
    parser.add_argument("--format", help="output format (default: from the -o extension, else svg)")
    parser.add_argument("--params", default="", help="comma-separated inputs that are parameters")
    parser.add_argument("--rankdir", default="LR", help="LR, RL, TB or BT (default LR)")
    parser.add_argument("--precision", type=int, default=4, help="digits shown (default 4)")
    parser.add_argument("--max-nodes", type=int, default=DEFAULT_MAX_NODES,
                        help=f"refuse graphs with more values (default {DEFAULT_MAX_NODES})")
    parser.add_argument("--expand-dot", action="store_true",
                        help="draw each dot node as one multiply per term and an add")
    parser.add_argument("--no-backward", action="store_true", help="do not run backward()")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: draw the graph of an expression; prints DOT unless -o is given."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        inputs = parse_inputs(args.inputs)
        names = [name.strip() for name in args.params.split(",") if name.strip()]
        for name in names:
            if name not in inputs:
                raise ValueError(f"--params names {name!r}, which is not an input; give it a "
                                 f"value such as {name}=1.0.")
        root = evaluate_expression(args.expression, inputs)
    except ValueError as exc:
        parser.error(str(exc))
    if not args.no_backward:
        root.backward()
    params = [inputs[name] for name in names]
    try:
        if args.output is None:
            sys.stdout.write(to_dot(root, rankdir=args.rankdir, precision=args.precision,
                                    max_nodes=args.max_nodes, params=params,
                                    expand_dot=args.expand_dot))
            return 0
        fmt = args.format
        if fmt is None:
            suffix = Path(args.output).suffix.lower().lstrip(".")
            fmt = suffix if suffix in graphviz.FORMATS else "svg"
        print(render(root, args.output, format=fmt, rankdir=args.rankdir,
                     precision=args.precision, max_nodes=args.max_nodes, params=params,
                     expand_dot=args.expand_dot))
    except (TypeError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""nn: a small neural-network library built on autodiff.Value."""

from . import datasets, losses
from .drawing import draw_network, render_network
from .module import MLP, Layer, Module, Neuron, Sequential
from .optim import SGD, Adam
from .second_order import LevenbergMarquardt, Newton
from .serialize import load, save

__all__ = [
    "Module",
    "Neuron",
    "Layer",
    "MLP",
    "Sequential",
    "SGD",
    "Adam",
    "Newton",
    "LevenbergMarquardt",
    "save",
    "load",
    "losses",
    "datasets",
    "draw_network",
    "render_network",
]

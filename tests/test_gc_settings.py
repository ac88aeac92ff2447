"""The library leaves the process's garbage-collector settings alone."""

import gc

import nn
from autodiff import Value, grad, no_grad


def test_training_and_grad_leave_gc_settings_untouched():
    enabled, threshold = gc.isenabled(), gc.get_threshold()
    model = nn.MLP(2, [4, 1], seed=0)
    opt = nn.SGD(model.parameters(), lr=0.1)
    loss = nn.losses.mse([model([0.5, -1.0])], [1.0])
    opt.zero_grad()
    loss.backward()
    opt.step()
    x = Value(0.3)
    grad(grad(x.tanh(), x, create_graph=True), x)
    with no_grad():
        model([1.0, 2.0])
    assert gc.isenabled() == enabled
    assert gc.get_threshold() == threshold
    assert gc.get_freeze_count() == 0


def test_a_dropped_graph_is_freed_without_the_cyclic_collector():
    gc.collect()
    gc.disable()
    try:
        model = nn.MLP(2, [8, 8, 1], seed=0)
        loss = nn.losses.hinge([model([0.1, 0.2]), model([0.3, -0.4])], [1, -1])
        loss.backward()
        del loss
        assert gc.collect() == 0  # nothing was left for the collector to find
    finally:
        gc.enable()

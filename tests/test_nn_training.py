"""End-to-end training: small MLPs learn XOR and 3-bit parity, and runs repeat exactly."""

import itertools

from nn import MLP, SGD, Adam, datasets, losses


def train(model, X, y, opt, steps, loss_fn):
    history = []
    for _ in range(steps):
        loss = loss_fn([model(x) for x in X], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.data)
    return history


def accuracy(model, X, y):
    return sum((model(x).data > 0) == bool(t) for x, t in zip(X, y)) / len(y)


def test_learns_xor():
    X = [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]
    y = [0, 1, 1, 0]
    model = MLP(2, [4, 1], activation="tanh", seed=0)
    history = train(model, X, y, Adam(model.parameters(), lr=0.1), 150, losses.bce_with_logits)
    assert accuracy(model, X, y) == 1.0
    assert history[-1] < 0.1 * history[0]


def test_learns_3_bit_parity():
    X = [[2.0 * b - 1.0 for b in bits] for bits in itertools.product([0, 1], repeat=3)]
    y = [sum(bits) % 2 for bits in itertools.product([0, 1], repeat=3)]
    model = MLP(3, [8, 1], activation="tanh", seed=0)
    history = train(model, X, y, Adam(model.parameters(), lr=0.05), 300, losses.bce_with_logits)
    assert accuracy(model, X, y) == 1.0
    assert history[-1] < 0.1 * history[0]


def test_learns_xor_with_sgd_momentum_and_hinge():
    X = [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]
    y = [-1, 1, 1, -1]
    model = MLP(2, [8, 1], seed=1)
    opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
    train(model, X, y, opt, 100, losses.hinge)
    assert accuracy(model, X, [t > 0 for t in y]) == 1.0


def test_same_seed_same_training_run():
    X, y = datasets.make_moons(n=20, noise=0.1, seed=2)
    y = [2 * t - 1 for t in y]
    runs = []
    for _ in range(2):
        model = MLP(2, [6, 6, 1], seed=4)
        opt = SGD(model.parameters(), lr=lambda k: 1.0 - 0.9 * k / 100)

        def loss_fn(scores, targets, model=model):
            return losses.hinge(scores, targets) + 1e-4 * losses.l2(model.parameters())

        runs.append((train(model, X, y, opt, 10, loss_fn), model.state_dict()))
    assert runs[0] == runs[1]  # identical floats, not just close


def test_moons_loss_goes_down():
    X, y = datasets.make_moons(n=40, noise=0.1, seed=0)
    model = MLP(2, [8, 8, 1], seed=0)
    opt = Adam(model.parameters(), lr=0.05)
    history = train(model, X, y, opt, 40, losses.bce_with_logits)
    assert history[-1] < 0.5 * history[0]
    assert accuracy(model, X, y) >= 0.85

"""nn: a small neural-network library built on autodiff.Value."""

"""What torch code means: modules and layers, losses and their inputs, training steps,
train/eval modes, gradient flow and optimizers. Built on the core; knows nothing of data pipelines."""

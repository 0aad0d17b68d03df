"""A ScriptModule runs inside C++ without the GIL: other Python threads run meanwhile. A Python
model takes the GIL for its own forward only."""

import sys
import threading

import torch

import igx


class Heavy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.layers = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.Tanh(), torch.nn.Linear(512, 512),
                                          torch.nn.Tanh(), torch.nn.Linear(512, 10))

    def forward(self, x):
        return self.layers(x)


def steps_taken_by_another_thread_during(call):
    """How often a second Python thread ran while `call` ran. The switch interval is made huge, so
    the thread gets the GIL only where the caller gives it up: a few times in the Python around
    the engine (torch releases the GIL in some calls), and all the time if the engine lets go."""
    ticks = [0]
    inside = threading.Event()
    done = threading.Event()

    def count():
        inside.wait()
        while not done.is_set():
            ticks[0] += 1
            done.wait(0.0005)  # gives the GIL back between ticks

    counter = threading.Thread(target=count)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        counter.start()
        inside.set()
        start = ticks[0]
        call()
        during = ticks[0] - start
    finally:
        done.set()
        counter.join()
        sys.setswitchinterval(previous)
    return during


def test_scripted_model_releases_the_gil():
    scripted = torch.jit.script(Heavy().eval())
    x = torch.randn(8, 256, generator=torch.Generator().manual_seed(1))
    during = steps_taken_by_another_thread_during(
        lambda: igx.IntegratedGradients(scripted).attribute(x, target=0, n_steps=400, internal_batch_size=64))
    assert during >= 20  # about 1 ms per tick while the engine computes for a second or more
    # The measurement itself: Python code that keeps the GIL lets the other thread in never.
    assert steps_taken_by_another_thread_during(lambda: sum(i * i for i in range(3_000_000))) <= 2


def test_python_model_runs_and_threads_interleave():
    module = Heavy().eval()
    x = torch.randn(8, 256, generator=torch.Generator().manual_seed(1))
    values = igx.IntegratedGradients(module).attribute(x, target=0, n_steps=400, internal_batch_size=64)
    assert torch.allclose(values, igx.IntegratedGradients(torch.jit.script(module)).attribute(
        x, target=0, n_steps=400, internal_batch_size=64))

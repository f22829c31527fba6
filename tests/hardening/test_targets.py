"""Module targets (``pkg.module:callable``): every failure of the user's code is one line naming
what failed, exit 2, with the cause kept; the user's module is left in the mode and on the device it had."""

import sys
import textwrap

import pytest

import archlens
from archlens.cli import main
from archlens.errors import TargetError

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

USER_CODE = textwrap.dedent('''
    import sys
    from torch import nn

    class Boom(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3)
            self.head = nn.Sequential(nn.ReLU(), nn.Linear(8, 10))

        def forward(self, x):
            return self.head(self.stem(x))

    def boom():
        return Boom()

    def small():
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())

    def nothing():
        return None

    def fails():
        raise RuntimeError("no weights here\\nsecond line")

    def needs_width(width):
        return nn.Linear(width, width)

    def quits():
        sys.exit(3)

    class Stop(BaseException):
        pass

    def cancelled():
        import asyncio
        raise asyncio.CancelledError("the event loop is closing")

    def own_base_exception():
        raise Stop("a BaseException of its own")

    def generator_exit():
        raise GeneratorExit

    class CancelledForward(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3)

        def forward(self, x):
            import asyncio
            self.stem(x)
            raise asyncio.CancelledError()

    def cancelled_forward():
        return CancelledForward()

    not_callable = 5
''')


@pytest.fixture
def user_code(tmp_path, monkeypatch):
    (tmp_path / "hardening_models.py").write_text(USER_CODE)
    (tmp_path / "hardening_broken.py").write_text('raise ValueError("broken at import\\nline two")\n')
    (tmp_path / "hardening_quits.py").write_text("import sys\nsys.exit(4)\n")
    (tmp_path / "hardening_cancels.py").write_text('import asyncio\nraise asyncio.CancelledError("at import")\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("hardening_models", "hardening_broken", "hardening_quits", "hardening_cancels"):
        sys.modules.pop(name, None)


SHAPE = ["--input-shape", "1,3,16,16"]


@pytest.mark.parametrize("target, extra, expected", [
    ("hardening_nope:f", SHAPE, "hardening_nope:f: cannot import module 'hardening_nope': no module named "
                                "'hardening_nope'; run archlens from the directory that contains it (now {cwd})"),
    ("hardening_models:smal", SHAPE, "hardening_models:smal: 'hardening_models' has no attribute 'smal'; "
                                     "did you mean 'small'?"),
    ("hardening_models:not_callable", SHAPE, "hardening_models:not_callable: 'not_callable' is a int, not an "
                                             "nn.Module or a callable returning one"),
    ("hardening_models:nothing", SHAPE, "hardening_models:nothing returned NoneType, not a torch.nn.Module; "
                                        "return the model (an nn.Module instance) from the callable"),
    ("hardening_models:fails", SHAPE, "calling hardening_models:fails() raised RuntimeError: no weights here; "
                                      "rerun with --debug to see where"),
    ("hardening_models:needs_width", SHAPE, "calling hardening_models:needs_width() raised TypeError: needs_width() "
                                            "missing 1 required positional argument: 'width'; it is called with no "
                                            "arguments: wrap it, e.g. a function returning Model(width=64)"),
    ("hardening_models:quits", SHAPE, "calling hardening_models:quits() raised SystemExit: 3; "
                                      "rerun with --debug to see where"),
    ("hardening_broken:f", SHAPE, "hardening_broken:f: importing 'hardening_broken' raised ValueError: "
                                  "broken at import"),
    ("hardening_quits:f", SHAPE, "hardening_quits:f: importing 'hardening_quits' raised SystemExit: 4"),
    # BaseException subclasses that are not interrupts: one line and exit 2, never a traceback and exit 1
    ("hardening_models:cancelled", SHAPE, "hardening_models:cancelled: the module's code raised CancelledError "
                                          "(a BaseException): the event loop is closing; rerun with --debug to see where"),
    ("hardening_models:own_base_exception", SHAPE, "hardening_models:own_base_exception: the module's code raised Stop "
                                                   "(a BaseException): a BaseException of its own; rerun with --debug "
                                                   "to see where"),
    ("hardening_models:generator_exit", SHAPE, "hardening_models:generator_exit: the module's code raised GeneratorExit "
                                               "(a BaseException): (no message); rerun with --debug to see where"),
    ("hardening_models:cancelled_forward", SHAPE, "hardening_models:cancelled_forward: the module's code raised "
                                                  "CancelledError (a BaseException): (no message); rerun with --debug "
                                                  "to see where"),
    ("hardening_cancels:f", SHAPE, "hardening_cancels:f: importing 'hardening_cancels' raised CancelledError: at import"),
    ("hardening_models:small", [], "module targets need --input-shape N,C,H,W; or --input for several or "
                                   "typed inputs (from Python: input_shape=(1, 3, 224, 224) or inputs=...)"),
    ("hardening_models:small", ["--input-shape", "1,4,16,16"],
     "hardening_models:small layer 0: forward raised RuntimeError: Invalid channel dimensions; "
     "check the input shape 1,4,16,16 and the module's forward"),
    ("hardening_models:boom", SHAPE,
     "hardening_models:boom layer head.1: forward raised RuntimeError: a and b must have same reduction dim, "
     "but got [112, 14] X [8, 10].; check the input shape 1,3,16,16 and the module's forward"),
])
@pytest.mark.parametrize("command", ["profile", "check"])
def test_target_failures_are_one_line_exit_2(user_code, tmp_path, capsys, target, extra, expected, command):
    budget = ["--max-macs", "1G"] if command == "check" else []
    code = main([command, target, *extra, *budget, "--no-isolate"])  # in this process; isolated: test_isolation.py
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.splitlines() == ["archlens: error: " + expected.format(cwd=tmp_path)]


def test_a_base_exception_keeps_its_cause(user_code):
    import asyncio

    with pytest.raises(TargetError) as caught:
        archlens.profile("hardening_models:cancelled", input_shape=(1, 3, 16, 16))
    assert isinstance(caught.value.__cause__, asyncio.CancelledError)


def test_an_interrupt_from_the_users_code_stays_an_interrupt(monkeypatch, capsys):
    def interrupting():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        archlens.profile(interrupting, input_shape=(1, 3, 8, 8))


def test_a_failing_forward_keeps_its_cause(user_code):
    with pytest.raises(TargetError) as caught:
        archlens.profile("hardening_models:boom", input_shape=(1, 3, 16, 16))
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert caught.value.where == "hardening_models:boom layer head.1"


@pytest.mark.parametrize("engine", ["torch", "fvcore"])
@pytest.mark.parametrize("was_training", [True, False])
def test_the_users_module_keeps_its_mode_device_and_weights(engine, was_training):
    if engine == "fvcore":
        pytest.importorskip("fvcore")
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.5))
    model.train(was_training)
    model[0].train(not was_training)  # a mixed state must come back exactly as it was
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    archlens.profile(model, engine=engine, input_shape=(2, 3, 16, 16), train=not was_training)
    assert [m.training for m in model.modules()] == modes
    after = model.state_dict()
    assert all(tensor.device.type == "cpu" for tensor in after.values())
    assert all(torch.equal(before[name], after[name]) for name in before)


def test_the_mode_comes_back_after_a_failing_forward():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Linear(3, 3))
    model.train()
    with pytest.raises(TargetError):
        archlens.profile(model, input_shape=(1, 3, 16, 16))
    assert all(m.training for m in model.modules())


def test_a_target_from_a_folder_that_was_deleted(monkeypatch, capsys):
    def gone():
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr("os.getcwd", gone)
    assert main(["profile", "mymodels:tiny", "--input-shape", "1,3,8,8"]) == 2
    assert capsys.readouterr().err == (
        "archlens: error: mymodels:tiny: the current folder no longer exists; cd into the folder that holds the module\n"
    )

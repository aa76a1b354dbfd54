"""``array_type="torch"`` on the CPU backend: tensors on the NumPy outputs' memory, tensors taken as actions."""

import subprocess
import sys

import numpy as np
import pytest

import mjvec

torch = pytest.importorskip("torch", reason="array_type='torch' needs torch")

N = 3


def _same(t, a, where):
    assert isinstance(t, torch.Tensor), f"{where}: {type(t).__name__}"
    np.testing.assert_array_equal(t.numpy(), a, err_msg=where)
    assert t.numpy().dtype == a.dtype, where


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_tensors_hold_the_numpy_envs_numbers(mode):
    kwargs = {"autoreset_mode": mode, "max_episode_steps": 4}
    ours, ref = mjvec.make("Hopper-v5", N, array_type="torch", **kwargs), mjvec.make("Hopper-v5", N, **kwargs)
    try:
        (o1, i1), (o2, i2) = ours.reset(seed=0), ref.reset(seed=0)
        _same(o1, o2, "reset obs")
        actions = np.random.default_rng(0).uniform(-1, 1, (9, N, 3))
        finals = 0
        for t, a in enumerate(actions):
            out1 = ours.step(torch.from_numpy(a))
            out2 = ref.step(a)
            for k in range(4):
                _same(out1[k], out2[k], f"step {t} output {k}")
            i1, i2 = out1[4], out2[4]
            assert i1.keys() == i2.keys()
            for key in i2:
                if key == "final_obs":
                    for x, y in zip(i1[key], i2[key]):
                        if y is not None:
                            finals += 1
                            _same(x, y, f"step {t} final_obs")
                        else:
                            assert x is None
                elif key == "final_info":
                    for sub in i2[key]:
                        _same(i1[key][sub], i2[key][sub], f"step {t} final_info[{sub}]")
                else:
                    _same(i1[key], i2[key], f"step {t} info[{key}]")
        assert finals > 0 if mode == "same_step" else finals == 0
    finally:
        ours.close()
        ref.close()


def test_tensors_share_memory_with_the_numpy_outputs(monkeypatch):
    from mjvec.core import outputs

    made = []
    step_result = outputs.step_result

    def recording(*args, **kwargs):
        made.append(step_result(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(outputs, "step_result", recording)
    env = mjvec.make("HalfCheetah-v5", N, array_type="torch")
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(torch.zeros(N, 6))
    arrays = made[-1]
    for tensor, array in [(obs, arrays[0]), (reward, arrays[1]), (terminated, arrays[2]),
                          (info["x_position"], arrays[4]["x_position"])]:
        assert tensor.data_ptr() == array.ctypes.data  # torch.from_numpy: no copy
    env.close()


def test_actions_may_be_tensors_or_arrays_and_are_checked():
    env = mjvec.make("InvertedPendulum-v5", N, array_type="torch", obs_dtype=np.float32)
    try:
        obs, _ = env.reset(seed=0)
        assert obs.dtype == torch.float32
        needs_grad = torch.zeros(N, 1, requires_grad=True)
        assert env.step(needs_grad)[0].dtype == torch.float32
        assert env.step(np.zeros((N, 1), np.float32))[1].dtype == torch.float64  # rewards stay float64
        with pytest.raises(ValueError, match=r"`actions` must have shape \(3, 1\) \(num_envs, action size\), got \(3, 2\)"):
            env.step(torch.zeros(N, 2))
        with pytest.raises(ValueError, match="`actions` must be finite"):
            env.step(torch.full((N, 1), float("nan")))
    finally:
        env.close()


def test_without_torch_the_error_names_the_extra_and_numpy_envs_never_import_it():
    code = (
        "import sys\n"
        "import mjvec\n"
        "env = mjvec.make('InvertedPendulum-v5', 2); env.reset(seed=0); env.close()\n"
        "print('torch' in sys.modules)\n"
        "sys.modules['torch'] = None\n"
        "try:\n"
        "    mjvec.make('InvertedPendulum-v5', 2, array_type='torch')\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    first, message = out.split("\n", 1)
    assert first == "False"
    assert "array_type='torch' needs PyTorch" in message and "pip install 'mjvec[torch]'" in message

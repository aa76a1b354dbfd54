"""`mjvec train`: the hyperparameter data, the end-to-end run with a tiny budget, bad input."""

import json
import warnings

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3 import PPO, SAC, TD3
from stable_baselines3.common.vec_env import VecNormalize

import mjvec
from mjvec.tools import hyperparams
from mjvec.tools.cli import main
from mjvec.sb3 import SB3VecEnv
from mjvec.tools.train import train

TINY = ["--hp", "policy_kwargs={net_arch=[8]}", "--eval-episodes", "2"]


def _gl_available() -> bool:
    from mjvec.render import GLUnavailableError, gl_backend

    try:
        gl_backend()
    except GLUnavailableError:
        return False
    return True


# -- the data ---------------------------------------------------------------------
@pytest.mark.parametrize("algo", hyperparams.ALGOS)
def test_every_task_has_hyperparameters_the_algorithm_accepts(algo):
    cls = {"ppo": PPO, "sac": SAC, "td3": TD3}[algo]
    for entry in mjvec.TASKS:
        hp = hyperparams.load(entry.name, algo)
        assert hp["source"] and hp["n_envs"] >= 1 and hp["n_timesteps"] >= 1
        assert set(hp) <= set(hyperparams.allowed_keys(algo)), entry.name
        hp = hyperparams.fit_batch_to_rollout(hp, algo)  # as `mjvec train` runs them
        # the Control Suite's Dict observations as one vector, which an MLP policy takes
        flat = {"flat_observation": True} if (entry.reference or "").startswith("dm_control") else {}
        venv = SB3VecEnv(mjvec.make(entry.name, hp["n_envs"], **flat))
        try:
            kwargs = hyperparams.algo_kwargs(hp, algo, action_dim=venv.action_space.shape[0])
            if algo != "ppo":
                kwargs["buffer_size"] = 1000  # the data's 1e6 transitions would only cost memory here
            with warnings.catch_warnings():
                warnings.filterwarnings("error", message=".*mini-batch")  # SB3's batch/rollout mismatch
                model = cls(env=venv, **kwargs)  # raises on an argument the algorithm does not take
            for key, value in kwargs.items():
                if key in ("gamma", "batch_size", "n_steps", "learning_starts", "n_epochs", "gradient_steps"):
                    assert getattr(model, key) == value, (entry.name, key)
        finally:
            venv.close()


def test_tuned_tables_are_the_zoo_values():
    hp = hyperparams.load("mjvec/HalfCheetah-v5", "ppo")
    assert (hp["learning_rate"], hp["n_epochs"], hp["gamma"], hp["n_envs"] * hp["n_steps"]) == (2.0633e-05, 20, 0.98, 512)
    kwargs = hyperparams.algo_kwargs(hp, "ppo", action_dim=6)
    import torch

    assert kwargs["policy_kwargs"]["activation_fn"] is torch.nn.ReLU
    assert kwargs["policy_kwargs"]["net_arch"] == {"pi": [256, 256], "vf": [256, 256]}
    td3 = hyperparams.algo_kwargs(hyperparams.load("Hopper-v5", "td3"), "td3", action_dim=3)
    assert np.array_equal(td3["action_noise"]._sigma, np.full(3, 0.1))
    assert "defaults" in hyperparams.load("Pusher-v5", "ppo")["source"]
    assert "defaults" not in hyperparams.load("Hopper-v5", "ppo")["source"]


def test_num_envs_keeps_experience_per_update():
    hp = hyperparams.load("HalfCheetah-v5", "ppo")  # 8 envs x 64 steps
    assert hyperparams.for_num_envs(hp, "ppo", 16)["n_steps"] == 32
    assert hyperparams.for_num_envs(hp, "ppo", 1)["n_steps"] == 512
    assert hyperparams.for_num_envs(hp, "ppo", 8)["n_steps"] == 64
    sac = hyperparams.load("Ant-v5", "sac")  # 1 env, 1 gradient step per step
    assert hyperparams.for_num_envs(sac, "sac", 4)["gradient_steps"] == 4
    assert hyperparams.for_num_envs({**sac, "gradient_steps": -1}, "sac", 4)["gradient_steps"] == -1


def test_ppo_batch_size_is_capped_at_the_rollout():
    """issue 14, item 16: InvertedPendulum's Zoo batch of 64 over a rollout of 8 x 4 = 32 becomes 32."""
    hp = hyperparams.load("InvertedPendulum-v5", "ppo")
    assert (hp["batch_size"], hp["n_steps"] * hp["n_envs"]) == (64, 32)
    fitted = hyperparams.fit_batch_to_rollout(hp, "ppo")
    assert fitted["batch_size"] == 32 and "batch_size 64 capped at the rollout size 32" in fitted["source"]
    assert hyperparams.fit_batch_to_rollout(hyperparams.for_num_envs(hp, "ppo", 4), "ppo")["batch_size"] == 32
    cheetah = hyperparams.load("HalfCheetah-v5", "ppo")  # 64 of 512: as tuned
    assert hyperparams.fit_batch_to_rollout(cheetah, "ppo") == cheetah
    sac = hyperparams.load("Hopper-v5", "sac")  # a replay buffer: nothing to cap
    assert hyperparams.fit_batch_to_rollout(sac, "sac") == sac


def test_the_readme_job_prints_no_warning(tmp_path, capsys):
    """`mjvec train InvertedPendulum-v5` with the data's values: no SB3 warning, the batch in metrics.json."""
    out = tmp_path / "run"
    argv = ["train", "InvertedPendulum-v5", "--steps", "64", "--eval-freq", "64", "--out", str(out), "--no-video",
            "--no-progress-bar", "--eval-episodes", "2"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(argv) == 0
    assert [str(w.message) for w in caught if "mini-batch" in str(w.message) or "stable_baselines3" in w.filename] == []
    assert "Warning" not in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_envs"] == 8 and metrics["hyperparams"]["n_steps"] == 4
    assert metrics["hyperparams"]["batch_size"] == 32 and "capped" in metrics["hyperparams"]["source"]


def test_override_values_are_toml():
    assert hyperparams.parse_value("3e-4") == 3e-4
    assert hyperparams.parse_value("1_000") == 1000
    assert hyperparams.parse_value("auto") == "auto"
    assert hyperparams.parse_value("{net_arch = [64, 64], activation_fn = 'tanh'}") == {
        "net_arch": [64, 64], "activation_fn": "tanh"}
    with pytest.raises(ValueError, match="not a TOML value"):
        hyperparams.parse_value("[1, 2")


# -- the run ------------------------------------------------------------------------
def test_train_ppo_end_to_end_writes_its_files(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "InvertedPendulum-v5", "--num-envs", "2", "--steps", "256", "--eval-freq", "128",
            "--hp", "n_steps=32", "--hp", "batch_size=32", "--seed", "3", "--out", str(out), "--progress-bar", *TINY]
    assert main(argv) == 0
    assert "eval @" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["env_id"], metrics["algo"], metrics["num_envs"], metrics["seed"]) == (
        "InvertedPendulum-v5", "ppo", 2, 3)
    assert metrics["timesteps"] == 256 and metrics["hyperparams"]["n_steps"] == 32
    assert [e["timesteps"] for e in metrics["evaluations"]] == [0, 128, 256]
    for e in metrics["evaluations"]:
        # InvertedPendulum pays 1 per step but 0 on the terminating one: raw returns, not normalized ones
        assert e["episodes"] == 2 and e["mean_length"] - 1 <= e["mean_return"] <= e["mean_length"]
    assert metrics["final_mean_return"] == metrics["evaluations"][-1]["mean_return"]
    walls = [e["train_wall_s"] for e in metrics["evaluations"]]
    assert walls == sorted(walls) and metrics["wall_s"] >= metrics["train_wall_s"] > 0
    assert 0 < metrics["collect_wall_s"] < metrics["train_wall_s"] and metrics["update_wall_s"] > 0
    assert (out / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "progress.csv").read_text().count("\n") >= 3  # header and a row per logged evaluation
    if _gl_available():
        import imageio.v2 as imageio

        assert metrics["files"]["video"] == "video.mp4"
        with imageio.get_reader(str(out / "video.mp4"), format="FFMPEG") as reader:
            frames = [frame for frame in reader]  # not list(reader): its length hint is inf
        episode = metrics["video_episode"]
        assert len(frames) == episode["length"] >= 2 and episode["length"] - 1 <= episode["return"]
        assert frames[0].shape == (480, 480, 3) and np.ptp(frames[0]) > 100  # drawn, not blank
    else:  # the run is kept, the video skipped with the reason
        assert "GLUnavailableError" in metrics["video_skipped"] and not (out / "video.mp4").exists()

    # the saved model and normalization statistics load and act
    model = PPO.load(out / "model.zip", device="cpu")
    venv = VecNormalize.load(str(out / "vecnormalize.pkl"), SB3VecEnv(mjvec.make("InvertedPendulum-v5", 2)))
    venv.training = False
    action, _ = model.predict(venv.reset(), deterministic=True)
    assert action.shape == (2, 1)
    venv.close()


@pytest.mark.parametrize("algo, cls", [("sac", SAC), ("td3", TD3)])
def test_train_off_policy_tiny(tmp_path, algo, cls):
    metrics = train("InvertedPendulum-v5", algo=algo, steps=96, seed=1, out=tmp_path, eval_freq=96,
                    eval_episodes=2, video=False, log=lambda msg: None,
                    overrides={"learning_starts": 32, "buffer_size": 200, "batch_size": 16,
                               "policy_kwargs": {"net_arch": [8]}})
    assert metrics["timesteps"] == 96 and [e["timesteps"] for e in metrics["evaluations"]] == [0, 96]
    model = cls.load(tmp_path / "model.zip", device="cpu")
    assert model.learning_starts == 32 and model.num_timesteps == 96
    assert not (tmp_path / "vecnormalize.pkl").exists()  # the off-policy tables do not normalize


def test_same_seed_same_run(tmp_path):
    kwargs = {"algo": "ppo", "num_envs": 2, "steps": 128, "seed": 5, "eval_freq": 64, "eval_episodes": 2,
              "video": False, "log": lambda msg: None,
              "overrides": {"n_steps": 32, "batch_size": 32, "policy_kwargs": {"net_arch": [8]}}}
    a = train("InvertedPendulum-v5", out=tmp_path / "a", **kwargs)
    b = train("InvertedPendulum-v5", out=tmp_path / "b", **kwargs)
    assert [e["mean_return"] for e in a["evaluations"]] == [e["mean_return"] for e in b["evaluations"]]


# -- bad input ----------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["HalfCheeta-v5"], "did you mean 'HalfCheetah-v5'"),
    (["Hopper-v5", "--hp", "n_step=8"], "did you mean 'n_steps'"),
    (["Hopper-v5", "--algo", "sac", "--hp", "n_epochs=8"], "'n_epochs' is not one SAC takes"),
    (["Hopper-v5", "--hp", "n_envs=4"], "'n_envs' is set by `num_envs` (--num-envs)"),
    (["Hopper-v5", "--hp", "policy_kwargs={activation_fn='gelu'}"], "did you mean 'elu'"),
    (["Hopper-v5", "--steps", "0"], "`steps` must be >= 1, got 0"),
    (["Hopper-v5", "--num-envs", "0"], "`num_envs` must be >= 1, got 0"),
    (["Hopper-v5", "--eval-episodes", "-1"], "`eval_episodes` must be >= 1"),
    (["Hopper-v5", "--seed", "-1"], "`seed` must be >= 0"),
])
def test_bad_input_is_a_usage_error(tmp_path, capsys, args, message):
    # a small --steps first (a later one wins): were the input taken, the run would be short
    assert main(["train", "--steps", "64", *args, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing ran


@pytest.mark.parametrize("args, message", [
    (["Hopper-v5", "--algo", "dqn"], "invalid choice: 'dqn'"),
    (["Hopper-v5", "--hp", "n_steps"], "expected KEY=VALUE"),
    (["Hopper-v5", "--hp", "policy_kwargs={net_arch=[8}"], "not a TOML value"),
    (["Hopper-v5", "--backend", "gpu"], "invalid choice: 'gpu'"),
])
def test_malformed_arguments_exit_2(capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_train_checks_types(tmp_path):
    with pytest.raises(TypeError, match="`steps` must be an int, got str"):
        train("Hopper-v5", steps="100", out=tmp_path)
    with pytest.raises(ValueError, match="`algo` must be one of"):
        train("Hopper-v5", algo="ddpg", out=tmp_path)
    with pytest.raises(ValueError, match="`policy_kwargs.activation_fn` must be one of"):
        train("Hopper-v5", steps=8, out=tmp_path, overrides={"policy_kwargs": {"activation_fn": "gelu"}})

"""The `mjvec` command: `mjvec envs` lists the tasks, `mjvec bench` runs and writes JSON."""

import json

import pytest

from mjvec.tools.cli import main


def test_envs_lists_registered_tasks_with_spaces(capsys):
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("mjvec/HalfCheetah-v5 "))
    assert row.split()[1:4] == ["(17,)", "(6,)", "1000"]


def test_bench_quick_writes_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    argv = ["bench", "--quick", "--tasks", "HalfCheetah-v5", "--num-envs", "4", "--contenders", "mjvec,bare",
            "--json", str(path)]
    assert main(argv) == 0
    assert "HalfCheetah-v5" in capsys.readouterr().out
    report = json.loads(path.read_text())
    assert {"cpu", "usable_cores", "versions"} <= set(report["machine"])
    assert {"mujoco", "gymnasium", "envpool", "numpy"} <= set(report["machine"]["versions"])
    rows = {r["contender"]: r for r in report["results"]}
    assert set(rows) == {"mjvec", "bare"}
    for r in rows.values():
        assert (r["task"], r["num_envs"], r["threads"]) == ("HalfCheetah-v5", 4, 2)
        assert r["steps_per_s"] > 0 and len(r["steps_per_s_rounds"]) == report["config"]["rounds"]
    assert rows["bare"]["vs_bare"] == 1.0 and rows["mjvec"]["vs_envpool"] is None
    assert rows["mjvec"]["vs_limit"] is None  # limit was not among the contenders
    # the bare loop's observations, terminations and truncations are mjvec's, bit for bit
    assert [v["identical"] for v in report["verify_bare_loop"]] == [True]


def test_bench_limit_is_the_bare_loop_on_one_thread_scaled_and_every_row_a_fraction_of_it(tmp_path, capsys):
    path = tmp_path / "bench.json"
    # 500 steps a round: warm-up and 2 rounds pass the 1000-step time limit, so episodes end and reset
    argv = ["bench", "--quick", "--tasks", "HalfCheetah-v5", "--num-envs", "4", "--threads", "2", "--steps", "500",
            "--contenders", "mjvec,bare,limit", "--no-verify", "--json", str(path)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "x limit" in next(line for line in lines if line.startswith("task "))  # the table's header
    assert any(line.split()[:3] == ["HalfCheetah-v5", "4", "limit"] for line in lines)
    report = json.loads(path.read_text())
    rows = {r["contender"]: r for r in report["results"]}
    assert set(rows) == {"mjvec", "bare", "limit"}
    limit = rows["limit"]
    assert (limit["scale"], limit["note"]) == (2, "2 x bare at nthread=1")
    assert rows["mjvec"]["scale"] == rows["bare"]["scale"] == 1
    assert limit["vs_limit"] == limit["vs_limit_paired"] == 1.0
    for r in rows.values():
        assert r["vs_limit"] == pytest.approx(r["steps_per_s"] / limit["steps_per_s"])
        assert r["vs_limit_paired"] is not None and len(r["steps_per_s_rounds"]) == report["config"]["rounds"]
    # the same seed and actions as the bare loop: the same episodes, whatever the thread count
    assert limit["episode_ends_per_1k_steps"] == rows["bare"]["episode_ends_per_1k_steps"] > 0


@pytest.mark.parametrize("threads, num_envs, scale", [(1, 4, 1), (3, 2, 2)])
def test_bench_limit_scales_by_the_threads_that_can_work(tmp_path, capsys, threads, num_envs, scale):
    """T = 1: the bare loop itself, measured apart; T > N: N threads at most have an env to step."""
    path = tmp_path / "bench.json"
    argv = ["bench", "--quick", "--tasks", "HalfCheetah-v5", "--num-envs", str(num_envs), "--threads", str(threads),
            "--contenders", "bare,limit", "--json", str(path)]
    assert main(argv) == 0
    capsys.readouterr()
    rows = {r["contender"]: r for r in json.loads(path.read_text())["results"]}
    assert rows["limit"]["scale"] == scale and rows["limit"]["vs_limit"] == 1.0
    assert rows["bare"]["vs_limit"] is not None and rows["bare"]["vs_limit_paired"] is not None


def test_bench_unknown_contender_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--contenders", "mjvec,envpol"])
    assert exit_info.value.code == 2
    assert "did you mean 'envpool'" in capsys.readouterr().err


def test_bench_observations_writes_camera_and_ray_rows_against_bare_loops(gl, tmp_path, capsys):
    path = tmp_path / "obs.json"
    argv = ["bench", "--observations", "--quick", "--num-envs", "4", "--steps", "2", "--rounds", "1",
            "--width", "16", "--height", "16", "--json", str(path)]
    assert main(argv) == 0
    assert "camera-bare" in capsys.readouterr().out
    report = json.loads(path.read_text())
    rows = {r["row"]: r for r in report["results"]}
    assert set(rows) == {"camera", "camera-bare", "rays", "rays-bare"}
    for r in rows.values():
        assert r["num_envs"] == 4 and r["frames_per_s"] > 0
        # the bare loops' frames and rays are mjvec's, pixel for pixel and ray for ray
        assert r["bare_observes_the_same"] is True
    assert rows["camera-bare"]["vs_bare"] == 1.0

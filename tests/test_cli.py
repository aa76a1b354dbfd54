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
    # the bare loop's observations, terminations and truncations are mjvec's, bit for bit
    assert [v["identical"] for v in report["verify_bare_loop"]] == [True]


def test_bench_unknown_contender_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--contenders", "mjvec,envpol"])
    assert exit_info.value.code == 2
    assert "did you mean 'envpool'" in capsys.readouterr().err

"""``torch.profiler`` against PyTorch 2.13: the ops and regions recorded, the table's layout,
schedules, traces."""

import json
import time
import warnings

import pytest
import torch
import torch.profiler as tprof

import glassgrad
import glassgrad.profiler as gprof

LIBS = [(glassgrad, gprof), (torch, tprof)]
KEYS = {
    "aten::linear",
    "aten::addmm",
    "aten::sum",
    "autograd::engine::evaluate_function: AddmmBackward0",
    "autograd::engine::evaluate_function: SumBackward0",
    "model_inference",
}


def _profile(lib, prof):
    lib.manual_seed(0)
    model = lib.nn.Linear(64, 64)
    x = lib.randn(32, 64)
    with prof.profile(activities=[prof.ProfilerActivity.CPU], record_shapes=True) as p:
        with prof.record_function("model_inference"):
            y = model(x).relu().sum()
        y.backward()
    return p


@pytest.fixture(scope="module")
def profiles():
    return [_profile(lib, prof) for lib, prof in LIBS]


def test_the_same_ops_and_regions_are_recorded(profiles):
    mine, theirs = ({e.key for e in p.key_averages()} for p in profiles)
    assert KEYS <= mine and KEYS <= theirs
    averages = {e.key: e for e in profiles[0].key_averages()}
    assert averages["aten::addmm"].count == 1 and averages["aten::addmm"].cpu_time_total > 0
    region = averages["model_inference"]
    assert region.cpu_time_total >= averages["aten::linear"].cpu_time_total
    assert region.self_cpu_time_total < region.cpu_time_total  # the ops inside are children


def test_the_table_is_laid_out_as_pytorchs(profiles):
    mine, theirs = (p.key_averages().table(sort_by="cpu_time_total", row_limit=5) for p in profiles)
    mine_lines, their_lines = mine.splitlines(), theirs.splitlines()
    assert mine_lines[:3] == their_lines[:3]  # separator, headers, separator
    assert len(mine_lines) == len(their_lines) == 10
    assert mine_lines[-1].startswith("Self CPU time total: ") and mine.endswith("\n")
    assert [len(line) for line in mine_lines[3:8]] == [len(line) for line in their_lines[3:8]]
    mine_shapes, their_shapes = (
        {e.key: e.input_shapes for e in p.key_averages(group_by_input_shape=True)} for p in profiles
    )
    assert mine_shapes["aten::linear"] == their_shapes["aten::linear"] == [[32, 64], [64, 64], [64]]
    grouped = profiles[0].key_averages(group_by_input_shape=True).table(row_limit=2)
    assert grouped.splitlines()[1].rstrip().endswith("Input Shapes")


def test_record_function_times_its_region_nested_and_as_a_decorator():
    @gprof.record_function("decorated")
    def work():
        time.sleep(0.01)

    with gprof.profile() as p:
        with gprof.record_function("outer"):
            with gprof.record_function("inner"):
                time.sleep(0.02)
            work()
    events = {e.name: e for e in p.events()}
    assert events["inner"].cpu_time_total >= 20_000  # microseconds, at least the sleep
    assert events["inner"].cpu_parent is events["outer"]
    assert [c.name for c in events["outer"].cpu_children] == ["inner", "decorated"]
    outer = events["outer"]
    assert outer.self_cpu_time_total == pytest.approx(
        outer.cpu_time_total - events["inner"].cpu_time_total - events["decorated"].cpu_time_total
    )
    with gprof.record_function("not profiled"):  # outside a profile: nothing, no error
        pass


@pytest.mark.parametrize(
    "args",
    [
        {"wait": 1, "warmup": 1, "active": 2},
        {"wait": 1, "warmup": 1, "active": 2, "repeat": 1},
        {"wait": 2, "warmup": 1, "active": 1, "repeat": 2, "skip_first": 3},
        {"wait": 1, "warmup": 0, "active": 1, "skip_first_wait": 1},
    ],
)
def test_schedules_match_pytorch(args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine, theirs = gprof.schedule(**args), tprof.schedule(**args)
    assert [mine(i).name for i in range(14)] == [theirs(i).name for i in range(14)]


def test_bad_schedules_fail_as_pytorch():
    messages = []
    for prof in (gprof, tprof):
        with pytest.raises(AssertionError) as info:
            prof.schedule(wait=1, warmup=1, active=0)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_enums_and_activities_as_pytorch():
    assert list(gprof.ProfilerActivity.__members__) == list(tprof.ProfilerActivity.__members__)
    assert set(gprof.ProfilerAction.__members__) <= set(tprof.ProfilerAction.__members__)
    assert {a.name for a in gprof.supported_activities()} == {
        a.name for a in tprof.supported_activities()
    }
    for _, prof in LIBS:
        with pytest.warns(UserWarning, match="CUDA is not available, disabling CUDA profiling"):
            with prof.profile(activities=[prof.ProfilerActivity.CPU, prof.ProfilerActivity.CUDA]):
                pass


def test_a_scheduled_profile_writes_one_trace_per_cycle(tmp_path):
    traces, actions = [], []
    handler = gprof.tensorboard_trace_handler(str(tmp_path), worker_name="w0")
    with gprof.profile(
        schedule=gprof.schedule(wait=1, warmup=1, active=1, repeat=1),
        on_trace_ready=lambda p: (traces.append(p.step_num), handler(p)),
    ) as p:
        for step in range(4):
            with gprof.record_function(f"step{step}"):
                glassgrad.ones(2).add(1)
            actions.append(p.current_action.name)
            p.step()
    assert traces == [3] and actions == ["NONE", "WARMUP", "RECORD_AND_SAVE", "NONE"]
    (trace,) = tmp_path.iterdir()
    assert trace.name.startswith("w0.") and trace.name.endswith(".pt.trace.json")
    names = {e["name"] for e in json.loads(trace.read_text())["traceEvents"]}
    assert "step2" in names and "step0" not in names and "aten::add" in names


def test_the_older_autograd_profiler_as_pytorch():
    results = []
    for lib, _ in LIBS:
        with lib.autograd.profiler.profile() as p:
            with lib.autograd.profiler.record_function("region"):
                lib.ones(3).add(1)
        keys = {e.key for e in p.key_averages()}
        assert {"region", "aten::add"} <= keys and p.self_cpu_time_total > 0
        assert isinstance(p.function_events, lib.autograd.profiler.EventList)
        header = p.key_averages().table().splitlines()[1].split()
        with lib.autograd.profiler.profile(enabled=False) as off:
            pass
        with lib.autograd.profiler.emit_itt():
            pass
        with lib.autograd.profiler.emit_nvtx(enabled=False):
            pass
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            with lib.autograd.profiler.emit_nvtx():
                pass
        results.append((header, off))
    assert results[0] == results[1] and results[0][1] is None

"""``torch.hub`` against PyTorch 2.13, on local files only: the cache directory, downloads
(``file://`` and a server on 127.0.0.1), checkpoints with hash checks, and hubconf entry points."""

import functools
import hashlib
import http.server
import os
import threading

import pytest
import torch
import torch.hub as thub

import glassgrad
import glassgrad.hub as ghub

HUBCONF = '''
"""A tiny hub repository."""
dependencies = ["numpy"]


def tiny(width=2):
    """A linear layer of the given width."""
    import importlib, os
    lib = importlib.import_module(os.environ["HUB_TEST_LIB"])
    return lib.nn.Linear(width, 1)


def _private():
    return None


needs_missing = None
'''


@pytest.fixture()
def hub_dirs(tmp_path, monkeypatch):
    """Each library's hub cache in tmp_path, restored afterwards."""
    saved = (ghub._hub_dir, thub._hub_dir)
    ghub.set_dir(tmp_path / "g")
    thub.set_dir(tmp_path / "t")
    yield tmp_path
    ghub._hub_dir, thub._hub_dir = saved


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_cache_directories_follow_the_environment_as_pytorch(monkeypatch, tmp_path):
    saved = (ghub._hub_dir, thub._hub_dir)
    ghub._hub_dir = thub._hub_dir = None
    try:
        for env in ({"TORCH_HOME": str(tmp_path / "home")}, {"XDG_CACHE_HOME": str(tmp_path)}, {}):
            for name in ("TORCH_HOME", "XDG_CACHE_HOME"):
                monkeypatch.delenv(name, raising=False)
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            assert ghub._get_torch_home() == thub._get_torch_home()
            assert ghub.get_dir() == thub.get_dir()
        ghub.set_dir("~/elsewhere")
        thub.set_dir("~/elsewhere")
        assert ghub.get_dir() == thub.get_dir() == os.path.expanduser("~/elsewhere")
    finally:
        ghub._hub_dir, thub._hub_dir = saved


def test_download_url_to_file_by_file_url_and_http(tmp_path, server):
    root, base = server
    payload = os.urandom(300_000)  # more than one read chunk
    (root / "blob.bin").write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    for url in ((root / "blob.bin").as_uri(), base + "/blob.bin"):
        for lib in (ghub, thub):
            target = tmp_path / f"{lib.__name__}.bin"
            lib.download_url_to_file(url, str(target), hash_prefix=digest[:8], progress=False)
            assert target.read_bytes() == payload
            target.unlink()
    errors = []
    for lib in (ghub, thub):
        target = tmp_path / "bad.bin"
        with pytest.raises(RuntimeError) as info:
            lib.download_url_to_file(base + "/blob.bin", str(target), "abc", progress=False)
        errors.append(str(info.value))
        assert not target.exists() and not list(tmp_path.glob("*.partial"))
    assert errors[0] == errors[1] == f'invalid hash value (expected "abc", got "{digest}")'


def test_load_state_dict_from_url_caches_and_checks_the_hash(hub_dirs, server, capsys):
    root, base = server
    state = {"weight": torch.arange(6.0).reshape(2, 3), "step": torch.tensor(3)}
    torch.save(state, root / "plain.pt")
    digest = hashlib.sha256((root / "plain.pt").read_bytes()).hexdigest()
    os.link(root / "plain.pt", root / f"model-{digest[:10]}.pt")
    os.link(root / "plain.pt", root / "model-0123abcd.pt")
    loaded = ghub.load_state_dict_from_url(base + f"/model-{digest[:10]}.pt", check_hash=True)
    assert loaded["weight"].tolist() == state["weight"].tolist()
    assert isinstance(loaded["weight"], glassgrad.Tensor) and loaded["step"].item() == 3
    cached = hub_dirs / "g" / "checkpoints" / f"model-{digest[:10]}.pt"
    assert cached.exists() and "Downloading:" in capsys.readouterr().out
    again = ghub.load_state_dict_from_url(base + f"/model-{digest[:10]}.pt", check_hash=True)
    assert again["weight"].tolist() == state["weight"].tolist()
    assert "Downloading:" not in capsys.readouterr().out  # the cached copy
    errors = []
    for lib in (ghub, thub):
        with pytest.raises(RuntimeError) as info:
            lib.load_state_dict_from_url(base + "/model-0123abcd.pt", check_hash=True)
        errors.append(str(info.value))
    assert errors[0] == errors[1] and errors[0].startswith(
        'invalid hash value (expected "0123abcd"'
    )
    renamed = ghub.load_state_dict_from_url(
        base + "/plain.pt", model_dir=str(hub_dirs / "m"), file_name="other.pt"
    )
    assert (hub_dirs / "m" / "other.pt").exists() and renamed["step"].item() == 3


def _hub_repo(directory):
    directory.mkdir(parents=True)
    (directory / "hubconf.py").write_text(HUBCONF)
    return str(directory)


def test_load_from_a_local_directory_as_pytorch(hub_dirs, monkeypatch):
    repo = _hub_repo(hub_dirs / "repo")
    for name, lib in (("glassgrad", ghub), ("torch", thub)):
        monkeypatch.setenv("HUB_TEST_LIB", name)
        model = lib.load(repo, "tiny", source="local", width=3)
        assert model.weight.shape == (1, 3)
        assert type(model).__module__.split(".")[0] == name
    outcomes = []
    for lib in (ghub, thub):
        row = []
        for args, kwargs in [
            (("tiny",), {"source": "nowhere"}),
            (("absent",), {"source": "local"}),
            (("needs_missing",), {"source": "local"}),
            ((3,), {"source": "local"}),
        ]:
            with pytest.raises(Exception) as info:
                lib.load(repo, *args, **kwargs)
            row.append((info.type, str(info.value)))
        outcomes.append(row)
    assert outcomes[0] == outcomes[1]
    (hub_dirs / "repo" / "hubconf.py").write_text(
        'dependencies = ["no_such_pkg_x"]\ndef m():\n    pass\n'
    )
    for lib in (ghub, thub):
        with pytest.raises(RuntimeError, match="Missing dependencies: no_such_pkg_x"):
            lib.load(repo, "m", source="local")


def test_list_and_help_on_a_cached_repository_as_pytorch(hub_dirs, capsys):
    for sub in ("g", "t"):
        _hub_repo(hub_dirs / sub / "someone_tinyrepo_main")
    mine = ghub.list("someone/tinyrepo:main", trust_repo=True)
    theirs = thub.list("someone/tinyrepo:main", trust_repo=True)
    assert mine == theirs == ["tiny"]
    assert "Using cache found in" in capsys.readouterr().err
    assert ghub.help("someone/tinyrepo:main", "tiny") == thub.help("someone/tinyrepo:main", "tiny")
    assert ghub.help("someone/tinyrepo:main", "tiny") == "A linear layer of the given width."
    trusted = [(hub_dirs / sub / "trusted_list").read_text() for sub in ("g", "t")]
    assert trusted[0] == trusted[1] == ""  # a cached repository counts as trusted

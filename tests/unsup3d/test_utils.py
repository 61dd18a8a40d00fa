import argparse
import platform

from unsup3d import utils
from unsup3d.utils import add_default_malloc_option, apply_malloc_option, keep_freed_memory


def test_keep_freed_memory_applies_on_glibc_and_yields_to_the_environment(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1048576")
    assert keep_freed_memory() is False  # the user's setting wins: nothing changed
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    assert keep_freed_memory() is (platform.libc_ver()[0] == "glibc")


def test_the_default_malloc_flag_skips_keep_freed_memory(monkeypatch):
    parser = argparse.ArgumentParser()
    add_default_malloc_option(parser)
    called = []
    monkeypatch.setattr(utils, "keep_freed_memory", lambda: called.append(1) or True)
    assert apply_malloc_option(parser.parse_args(["--default_malloc"])) == "default"
    assert called == []
    assert apply_malloc_option(parser.parse_args([])) == "keep_freed_memory"
    assert called == [1]
    monkeypatch.setattr(utils, "keep_freed_memory", lambda: False)  # not glibc, or env set
    assert apply_malloc_option(parser.parse_args([])) == "default"

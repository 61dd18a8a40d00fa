import platform

from unsup3d.utils import keep_freed_memory


def test_keep_freed_memory_applies_on_glibc_and_yields_to_the_environment(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1048576")
    assert keep_freed_memory() is False  # the user's setting wins: nothing changed
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    assert keep_freed_memory() is (platform.libc_ver()[0] == "glibc")

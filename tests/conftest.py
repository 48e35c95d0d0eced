"""Shared pytest fixtures for quern's end-to-end tests.

`make check` sets QUERN_BIN to the directory of the built programs (bin/ or
build/san/bin under SANITIZE=1). Tests that use ../shared skip, saying so, when
it is absent.
"""
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = pathlib.Path(os.environ.get("QUERN_SHARED", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def bin_dir():
    return pathlib.Path(os.environ.get("QUERN_BIN", ROOT / "bin"))


@pytest.fixture(scope="session")
def shared_dir():
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: shared real data not available")
    return SHARED


def run(prog, *args, bin_dir=None, check=False, **kw):
    """Runs a quern program and returns the CompletedProcess (text mode)."""
    b = pathlib.Path(bin_dir or os.environ.get("QUERN_BIN", ROOT / "bin"))
    cp = subprocess.run([str(b / prog), *map(str, args)], capture_output=True,
                        text=True, **kw)
    if check and cp.returncode != 0:
        raise AssertionError(f"{prog} exit {cp.returncode}: {cp.stderr}")
    return cp


@pytest.fixture(scope="session")
def tools_dir():
    """Directory of the test-only helper programs (TEST_TOOLS in the fragments)."""
    return pathlib.Path(os.environ.get("QUERN_TEST_TOOLS", ROOT / "build" / "rel" / "tests"))


def run_on_pty(argv, timeout=60):
    """Runs argv with stderr on a pseudo-terminal (so programs draw their progress bar)
    and stdout on a pipe; returns (exit code, stdout text, what stderr drew)."""
    import pty
    master, slave = pty.openpty()
    try:
        p = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE, stderr=slave,
                           timeout=timeout)
        os.close(slave)
        slave = None
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO once the child's side is closed and drained
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    return p.returncode, p.stdout.decode(), drawn.decode()


# An LD_PRELOAD shim that makes read() fail with EIO on files named *.eio.* once
# QN_EIO_AFTER bytes of them have been read: a disk error, reproducibly.
EIO_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static long long done;
ssize_t read(int fd, void *buf, size_t n)
{
    static ssize_t (*real)(int, void *, size_t);
    if (!real)
        real = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t k = readlink(link, path, sizeof path - 1);
    if (k > 0 && (path[k] = 0, strstr(path, ".eio."))) {
        const char *a = getenv("QN_EIO_AFTER");
        if (a && done >= atoll(a)) {
            errno = EIO;
            return -1;
        }
        ssize_t r = real(fd, buf, n);
        if (r > 0)
            done += r;
        return r;
    }
    return real(fd, buf, n);
}
"""


@pytest.fixture(scope="module")
def eio_shim(tmp_path_factory):
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler for the EIO shim")
    d = tmp_path_factory.mktemp("eio")
    (d / "eio.c").write_text(EIO_SHIM)
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(d / "eio.so"), str(d / "eio.c"),
                    "-ldl"], check=True)
    return d / "eio.so"

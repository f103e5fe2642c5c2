"""Scheduler addresses that are not a Dask scheduler (``dask_oracle.probe_scheduler``): a port
that takes the connection and never answers, a web server, a foreign server sending a bogus
frame length, unusable addresses, a worker's address. Each is one ClusterError naming the
address within the timeout: no hang, no MemoryError, no traceback from a half-built Client.
And the command line: one line on stderr for these, and for a read error while
``--n-workers`` starts its cluster (the workers' warnings about cancelled warm-ups unprinted).
"""
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("distributed")

from structpred.errors import ClusterError  # noqa: E402
from structpred.solvers.dask_oracle import connect, probe_scheduler  # noqa: E402

ANSWERS = {
    "silent": None,                                   # takes the connection, says nothing
    "http": b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
    "bogus-frame": b"\xff" * 64,                      # a frame length of ~2**64 bytes
}


@pytest.fixture(params=sorted(ANSWERS))
def foreign(request):
    """(address, kind) of a TCP listener on this machine that is not a Dask scheduler."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    answer, held, stop = ANSWERS[request.param], [], threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)
            if answer is not None:
                try:
                    conn.sendall(answer)
                except OSError:
                    pass
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}", request.param
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_a_listener_that_is_not_a_scheduler_is_one_error_within_the_timeout(foreign):
    address, kind = foreign
    t0 = time.perf_counter()
    with pytest.raises(ClusterError) as info:
        connect(address, timeout=1.0)
    assert time.perf_counter() - t0 < 15, "waited far beyond the timeout"
    msg = str(info.value)
    assert repr(address) in msg and info.value.address == address, msg
    if kind == "silent":
        assert "within 1 s (it took the connection but did not answer in Dask's protocol)" in msg


@pytest.mark.parametrize("address", ["inproc://x:5", "garbage", "", "tls://127.0.0.1:1"])
def test_an_unusable_address_says_so_at_once(address):
    t0 = time.perf_counter()
    with pytest.raises(ClusterError, match=f"^cannot connect to a Dask scheduler at {address!r}"):
        connect(address, timeout=5.0)
    assert time.perf_counter() - t0 < 5


def test_a_scheduler_passes_and_a_workers_address_is_named_as_a_worker():
    from distributed import LocalCluster
    with LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                      dashboard_address=None, protocol="tcp") as cluster:
        probe_scheduler(cluster.scheduler_address, timeout=5.0)      # no error
        worker = next(iter(cluster.scheduler.workers))
        with pytest.raises(ClusterError, match=rf"^{worker!r} is a Dask Worker, not a scheduler"):
            probe_scheduler(worker, timeout=5.0)


def _learn(*args, timeout=120):
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "structpred", "learn", *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture()
def tiny(tmp_path):
    path = tmp_path / "tiny.dat"
    path.write_text("1 qid:1 1:1 2:1\n2 qid:1 3:1\n1 qid:2 1:1\n2 qid:2 2:1\n")
    return path


def test_cli_silent_scheduler_is_one_line_not_a_hang(tiny, tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)            # the kernel completes the connections; nobody answers
    try:
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        done = _learn("-c", "10", str(tiny), str(tmp_path / "m.npz"), "--scheduler", address)
    finally:
        server.close()
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0 and len(errors) == 1, done.stderr
    assert errors[0].startswith("structpred learn: error: no Dask scheduler answered at"), errors
    assert not (tmp_path / "m.npz").exists()


def test_cli_read_error_while_the_cluster_starts_is_one_line(tmp_path):
    bad = tmp_path / "bad.dat"
    bad.write_text("1 qid:1 1:1\nx qid:1 2:1\n")
    done = _learn("-c", "10", str(bad), str(tmp_path / "m.npz"), "--n-workers", "2")
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0 and len(errors) == 1, done.stderr
    assert "bad.dat, line 2" in errors[0], errors


def test_quiet_worker_ignores_sigint_and_cancelled_task_warnings():
    code = ("import logging, signal\n"
            "from structpred.cli.cluster import quiet_worker\n"
            "quiet_worker()\n"
            "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN,"
            " logging.getLogger('distributed').level == logging.ERROR)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.split() == ["True", "True"], out.stderr

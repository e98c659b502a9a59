"""The gateway client and run loop against an in-process fake LLBBridge; the stdio relay on pipes."""

import os
import socket
import time

import grpc
import pytest

from frontend import llb
from frontend._pb import gateway_pb2
from frontend.errors import FrontendError, GatewayError, InputError
from frontend.gateway import Client, FrontendEnv, StdioRelay, run_with_client
from frontend.gateway.client import CHANNEL_OPTIONS

from .fakegateway import FakeBridge, Served


@pytest.fixture
def bridge():
    fake = FakeBridge(files={("ref-1", "/Dockerfile"): b"FROM x\n"})
    served = Served(fake)
    channel = grpc.insecure_channel(served.target, options=CHANNEL_OPTIONS)
    yield fake, Client(channel)
    channel.close()
    served.stop()


def test_ping_reads_enabled_caps(bridge):
    fake, client = bridge
    fake.llb_caps = (("mergeop", False), ("source.http.checksum", True))
    client.ping()
    assert "frontend.inputs" in client.caps
    assert client.llb_caps == {"source.http.checksum"}
    assert client.disabled_llb_caps == {"mergeop": "off"}


def test_solve_sends_definition_and_result_protocol_flags(bridge):
    fake, client = bridge
    result = client.solve(definition=llb.marshal(llb.http("https://x/a")))
    request = fake.solves[0]
    assert request.allowResultReturn and request.allowResultArrayRef
    assert len(getattr(request.Definition, "def")) == 2
    assert result.ref.id == "ref-1"
    assert client.read_file("ref-1", "/Dockerfile") == b"FROM x\n"


def test_large_files_are_read_in_ranges(bridge, monkeypatch):
    fake, client = bridge
    monkeypatch.setattr("frontend.gateway.client.READ_CHUNK", 4)
    fake.files[("ref-1", "/big")] = b"0123456789"
    fake.files[("ref-1", "/even")] = b"01234567"
    assert client.read_file("ref-1", "/big") == b"0123456789"
    assert client.read_file("ref-1", "/even") == b"01234567"


def test_grpc_errors_become_gateway_errors(bridge):
    _, client = bridge
    with pytest.raises(GatewayError, match="no such file"):
        client.read_file("ref-9", "/nope")


def test_run_returns_the_build_result_exactly_once(bridge):
    fake, client = bridge
    code = run_with_client(client, FrontendEnv({}), lambda c, e: gateway_pb2.Result(metadata={"a": b"1"}))
    assert code == 0 and len(fake.returns) == 1
    assert fake.returns[0].result.metadata["a"] == b"1"


def test_run_returns_input_errors_as_readable_status(bridge):
    fake, client = bridge

    def build(c, e):
        raise InputError("requirements.txt", 3, "'flask' is not pinned")

    assert run_with_client(client, FrontendEnv({}), build) == 1
    [ret] = fake.returns
    assert not ret.HasField("result")
    assert ret.error.message == "requirements.txt:3: 'flask' is not pinned"


def test_run_reports_unexpected_exceptions_too(bridge):
    fake, client = bridge

    def build(c, e):
        raise KeyError("boom")

    assert run_with_client(client, FrontendEnv({}), build) == 1
    assert "internal error: KeyError" in fake.returns[0].error.message


def test_returning_twice_is_refused(bridge):
    _, client = bridge
    client.return_result(None)
    with pytest.raises(FrontendError):
        client.return_result(None)


def test_env_parses_frontend_opts_and_session():
    env = FrontendEnv.from_environ({
        "BUILDKIT_FRONTEND_OPT_0": "build-arg:A=b=c",
        "BUILDKIT_FRONTEND_OPT_1": "target=final",
        "BUILDKIT_SESSION_ID": "sid",
        "BUILDKIT_WORKERS": '[{"ID":"w"}]',
        "OTHER": "x",
    })
    assert env.opts == {"build-arg:A": "b=c", "target": "final"}
    assert env.session_id == "sid" and env.workers == ({"ID": "w"},)


def test_stdio_relay_pumps_both_directions():
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    relay = StdioRelay(in_fd=in_r, out_fd=out_w)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect("\0" + relay.name)
    os.write(in_w, b"from buildkit")
    assert sock.recv(100) == b"from buildkit"
    sock.sendall(b"to buildkit")
    assert os.read(out_r, 100) == b"to buildkit"
    assert relay.target == "unix-abstract:" + relay.name  # no file anywhere: a read-only root is fine
    sock.close()
    os.close(in_w)


def test_stdio_relay_keeps_the_pipe_to_buildkit_open_when_grpc_hangs_up():
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    relay = StdioRelay(in_fd=in_r, out_fd=out_w)
    os.close(out_w)  # the relay's own copy is now the pipe's only writer, as in the frontend
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect("\0" + relay.name)
    sock.sendall(b"last frame")
    sock.close()  # grpcio closing its channel after Return
    assert os.read(out_r, 100) == b"last frame"
    time.sleep(0.3)
    os.set_blocking(out_r, False)
    with pytest.raises(BlockingIOError):  # open and empty: no EOF until the process exits
        os.read(out_r, 100)
    os.close(in_w)


def test_errors_return_with_status_unknown_and_their_source_lines(bridge):
    fake, client = bridge
    text = "FROM x\nRUN pip install --user -r r.txt\n"

    def build(c, e):
        from frontend.build import located
        raise located(InputError("Dockerfile", 2, "pip install --user is not supported"), "Dockerfile", text)

    assert run_with_client(client, FrontendEnv({}), build) == 1
    [ret] = fake.returns
    assert ret.error.code == 2  # Unknown: BuildKit prints the message without a code name
    [detail] = ret.error.details
    assert detail.type_url == "errdefs.Source"  # BuildKit 0.13 (gogo) looks the type up by this name
    source = gateway_pb2.ErrorSource.FromString(detail.value)
    assert (source.info.filename, source.info.data) == ("Dockerfile", text.encode())
    assert [(r.start.line, r.end.line) for r in source.ranges] == [(2, 2)]


def test_errors_in_other_files_carry_no_source(bridge):
    fake, client = bridge

    def build(c, e):
        from frontend.build import located
        raise located(InputError("/app/requirements.txt", 2, "bad"), "Dockerfile", "FROM x\n")

    run_with_client(client, FrontendEnv({}), build)
    assert list(fake.returns[0].error.details) == []


def test_grpc_errors_keep_their_status_code(bridge):
    _, client = bridge
    with pytest.raises(GatewayError) as info:
        client.read_file("ref-9", "/nope")
    assert info.value.code == "NOT_FOUND"


class _FailingWithDetails(FakeBridge):
    def Solve(self, request, context):  # BuildKit: a failed exec's error carries the op in its details
        context.set_trailing_metadata((("x-details-bin", b"\0" * 12000),))
        context.abort(grpc.StatusCode.UNKNOWN, 'process "/bin/sh -c …" did not complete successfully: exit code: 1')


def test_an_error_with_large_details_reaches_the_frontend_with_its_message():
    served = Served(_FailingWithDetails())
    channel = grpc.insecure_channel(served.target, options=CHANNEL_OPTIONS)
    try:
        with pytest.raises(GatewayError) as info:
            Client(channel).solve(definition=llb.marshal(llb.http("https://x/a")))
        assert str(info.value).endswith("did not complete successfully: exit code: 1")
    finally:
        channel.close()
        served.stop()


class _CanceledAtTheDeadline(FakeBridge):
    """BuildKit under load: its context, which carries our deadline, ends the fetch first."""

    def ReadFile(self, request, context):
        time.sleep(max(context.time_remaining() - 0.03, 0))
        context.abort(grpc.StatusCode.CANCELLED, "context canceled")


def test_a_read_that_fails_at_its_deadline_fails_of_the_deadline_whatever_the_status(bridge):
    served = Served(_CanceledAtTheDeadline())
    channel = grpc.insecure_channel(served.target, options=CHANNEL_OPTIONS)
    try:
        with pytest.raises(GatewayError) as info:
            Client(channel).read_file("ref-1", "/page", timeout=0.5)
        assert info.value.code == "DEADLINE_EXCEEDED" and "deadline of 0.5 s exceeded" in str(info.value)
    finally:
        channel.close()
        served.stop()
    with pytest.raises(GatewayError) as early:  # a failure well before its deadline keeps its status
        bridge[1].read_file("ref-9", "/nope", timeout=30)
    assert early.value.code == "NOT_FOUND"

import socket
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interop.mllp import (
    END_BLOCK,
    START_BLOCK,
    AckTimeout,
    ConnectFailed,
    ConnectionLost,
    FrameError,
    FrameReader,
    MllpClient,
    MllpServer,
    frame,
)
from tests.interop.conftest import free_port

MESSAGE = "MSH|^~\\&|BCMA|BV||HIS|20261124||RAS^O17^RAS_O17|X1|P|2.5\rPID|1||BN1||Nguyễn^An"


def test_frame_is_start_block_utf8_end_block_carriage_return():
    framed = frame("Ngọc")

    assert framed == b"\x0b" + "Ngọc".encode() + b"\x1c\x0d"
    assert (START_BLOCK, END_BLOCK) == (b"\x0b", b"\x1c\r")


@given(
    st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x0b\x1c")
        ),
        max_size=5,
    ),
    st.data(),
)
def test_frames_survive_any_split_of_the_stream(messages, data):
    stream = b"junk\r\n" + b"".join(frame(m) for m in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    reader = FrameReader()

    frames = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        frames += reader.feed(stream[start:end])

    assert [f.decode() for f in frames] == messages


def test_an_endless_frame_is_dropped():
    reader = FrameReader(max_bytes=100)

    with pytest.raises(FrameError):
        reader.feed(b"\x0b" + b"x" * 200)


@pytest.fixture
def echo_server():
    seen = []

    def handler(text):
        seen.append(text)
        return "ACK:" + text[-8:]

    server = MllpServer("127.0.0.1", 0, handler).start()
    server.seen = seen
    yield server
    server.stop()


def test_client_and_server_exchange_over_a_real_socket(echo_server):
    client = MllpClient("127.0.0.1", echo_server.port, connect_timeout=1)

    first = client.exchange(MESSAGE, timeout=2)
    second = client.exchange(MESSAGE + "2", timeout=2)
    client.close()

    assert echo_server.seen == [MESSAGE, MESSAGE + "2"]
    assert (first, second) == ("ACK:guyễn^An", "ACK:uyễn^An2")


def test_the_bytes_on_the_wire_are_mllp():
    listener = socket.create_server(("127.0.0.1", 0))
    received = bytearray()

    def serve():
        connection, _ = listener.accept()
        with connection:
            while not received.endswith(b"\x1c\x0d"):
                received.extend(connection.recv(4096))
            connection.sendall(b"\x0bMSA|AA|X1\x1c\x0d")

    thread = threading.Thread(target=serve)
    thread.start()
    reply = MllpClient("127.0.0.1", listener.getsockname()[1]).exchange(MESSAGE, timeout=2)
    thread.join()
    listener.close()

    assert bytes(received) == b"\x0b" + MESSAGE.encode("utf-8") + b"\x1c\x0d"
    assert reply == "MSA|AA|X1"


def test_refused_connection():
    with pytest.raises(ConnectFailed):
        MllpClient("127.0.0.1", free_port(), connect_timeout=1).exchange(MESSAGE, timeout=1)


def test_a_receiver_that_never_answers_times_out():
    server = MllpServer("127.0.0.1", 0, lambda text: None).start()
    client = MllpClient("127.0.0.1", server.port)
    try:
        with pytest.raises(AckTimeout):
            client.exchange(MESSAGE, timeout=0.2)
    finally:
        server.stop()


def test_a_receiver_that_hangs_up_is_a_lost_connection():
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        connection, _ = listener.accept()
        connection.recv(4096)
        connection.close()

    thread = threading.Thread(target=serve)
    thread.start()
    with pytest.raises(ConnectionLost):
        MllpClient("127.0.0.1", listener.getsockname()[1]).exchange(MESSAGE, timeout=2)
    thread.join()
    listener.close()


def test_a_stopped_server_drops_open_connections(echo_server):
    client = MllpClient("127.0.0.1", echo_server.port)
    client.exchange(MESSAGE, timeout=2)

    echo_server.stop()

    with pytest.raises((ConnectionLost, ConnectFailed)):
        client.exchange(MESSAGE, timeout=1)


def test_a_connection_the_receiver_closed_while_idle_is_reopened():
    listener = socket.create_server(("127.0.0.1", 0))
    answered = []
    closed = threading.Event()

    def serve():
        # first connection: one exchange, then the receiver drops it (idle timeout)
        connection, _ = listener.accept()
        connection.recv(4096)
        connection.sendall(frame("MSA|AA|1"))
        connection.close()
        closed.set()
        # second connection: the client came back on its own
        connection, _ = listener.accept()
        with connection:
            connection.recv(4096)
            connection.sendall(frame("MSA|AA|2"))
            answered.append(2)

    thread = threading.Thread(target=serve)
    thread.start()
    client = MllpClient("127.0.0.1", listener.getsockname()[1])

    first = client.exchange(MESSAGE, timeout=2)
    closed.wait(2)
    second = client.exchange(MESSAGE, timeout=2)
    client.close()
    thread.join()
    listener.close()

    assert (first, second, answered) == ("MSA|AA|1", "MSA|AA|2", [2])


def test_a_connection_dropped_mid_frame_is_never_re_sent_behind_the_callers_back():
    # given: a receiver that answers the first message, then reads the second and drops the
    # connection in the middle of its acknowledgement frame
    listener = socket.create_server(("127.0.0.1", 0))
    copies = []

    def serve():
        connection, _ = listener.accept()
        with connection:
            connection.recv(4096)
            connection.sendall(frame("MSA|AA|1"))
            copies.append(connection.recv(4096))
            connection.sendall(b"\x0bMSA|A")
        listener.settimeout(1)
        try:
            extra, _ = listener.accept()  # the old client came back and sent it again
            copies.append(extra.recv(4096))
            extra.close()
        except TimeoutError:
            pass

    thread = threading.Thread(target=serve)
    thread.start()
    client = MllpClient("127.0.0.1", listener.getsockname()[1])
    client.exchange(MESSAGE, timeout=2)

    # when
    with pytest.raises(ConnectionLost) as lost:
        client.exchange(MESSAGE + "2", timeout=2)
    client.close()
    thread.join()
    listener.close()

    # then: the receiver got the second message once, and the error says it went out whole
    assert len(copies) == 1
    assert lost.value.sent.bytes_sent == lost.value.sent.frame_bytes > 0
    assert lost.value.sent.new_connection is False

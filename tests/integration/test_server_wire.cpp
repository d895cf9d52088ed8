// SPDX-License-Identifier: MIT
// duet-server's WebSocket framing on the wire, byte by byte: what a browser or libsoup
// client never sends (unmasked frames, pipelined bytes, fragments, a multi-megabyte frame)
// sent from a raw TCP socket to a real server.
#include "harness.h"
#include "tests/check_str.h"
#include "tests/ws_client_frame.h"

#include <gio/gio.h>
#include <glib.h>

#include <cstdint>
#include <memory>
#include <string>

using namespace duet::testing;

namespace {

std::unique_ptr<ServerProcess> server;

std::string frame(unsigned op, const std::string &payload, bool fin = true, bool masked = true) {
    return client_frame(op, payload, fin, masked);
}

// A blocking TCP client speaking WebSocket by hand, with a 5 s timeout on every read.
class RawWs {
  public:
    // Connects and sends the upgrade request followed by `after` in the same write.
    explicit RawWs(const std::string &after = {}) {
        std::string url = server->http_url(); // http://127.0.0.1:PORT/
        std::string hostport = url.substr(7, url.size() - 8);
        GError *err = nullptr;
        GSocketClient *client = g_socket_client_new();
        g_socket_client_set_timeout(client, 5);
        conn_ = g_socket_client_connect_to_host(client, hostport.c_str(), 0, nullptr, &err);
        g_assert_no_error(err);
        g_object_unref(client);
        sock_ = g_socket_connection_get_socket(conn_);
        g_socket_set_timeout(sock_, 5);
        write("GET /ws HTTP/1.1\r\nHost: " + hostport +
              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" +
              after);
        std::string head;
        while (head.find("\r\n\r\n") == std::string::npos) {
            char c;
            g_assert_cmpint(g_socket_receive(sock_, &c, 1, nullptr, &err), ==, 1);
            head.push_back(c);
        }
        g_assert_no_error(err);
        g_assert_true(g_str_has_prefix(head.c_str(), "HTTP/1.1 101"));
        g_assert_nonnull(strstr(head.c_str(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    }
    ~RawWs() { g_object_unref(conn_); }

    void write(const std::string &bytes) {
        GError *err = nullptr;
        std::size_t off = 0;
        while (off < bytes.size()) {
            gssize n = g_socket_send(sock_, bytes.data() + off, bytes.size() - off, nullptr, &err);
            g_assert_no_error(err);
            off += std::size_t(n);
        }
    }

    // Reads one server frame; false on EOF or timeout. Server frames are never masked.
    bool read_frame(unsigned *op, std::string *payload) {
        unsigned char h[2];
        if (!read_exact(h, 2))
            return false;
        g_assert_cmpuint(h[1] & 0x80, ==, 0);
        *op = h[0] & 0x0F;
        std::uint64_t n = h[1] & 0x7F;
        if (n >= 126) {
            unsigned char ext[8];
            int len = n == 126 ? 2 : 8;
            if (!read_exact(ext, len))
                return false;
            n = 0;
            for (int i = 0; i < len; ++i)
                n = (n << 8) | ext[i];
        }
        payload->assign(std::size_t(n), '\0');
        return n == 0 || read_exact(payload->data(), std::size_t(n));
    }

    // The next frame that is not a ping; asserts it has opcode `op`.
    std::string expect(unsigned op) {
        unsigned got = 0;
        std::string payload;
        do {
            g_assert_true(read_frame(&got, &payload));
        } while (got == 0x9 && op != 0x9);
        g_assert_cmpuint(got, ==, op);
        return payload;
    }

    // The close code of the next frame, which must be a Close.
    unsigned expect_close() {
        std::string p = expect(0x8);
        g_assert_cmpuint(p.size(), >=, 2);
        return unsigned(static_cast<unsigned char>(p[0])) << 8 | static_cast<unsigned char>(p[1]);
    }

    // True when the server has closed the TCP connection (clean EOF, not a reset).
    bool eof() {
        char c;
        GError *err = nullptr;
        gssize n = g_socket_receive(sock_, &c, 1, nullptr, &err);
        if (err)
            g_test_message("read after close: %s", err->message);
        g_clear_error(&err);
        return n == 0;
    }

  private:
    bool read_exact(void *buf, std::size_t len) {
        auto *p = static_cast<char *>(buf);
        while (len > 0) {
            GError *err = nullptr;
            gssize n = g_socket_receive(sock_, p, len, nullptr, &err);
            if (n <= 0) {
                g_clear_error(&err);
                return false;
            }
            p += n;
            len -= std::size_t(n);
        }
        return true;
    }

    GSocketConnection *conn_ = nullptr;
    GSocket *sock_ = nullptr; // owned by conn_
};

const std::string kJoin = R"({"type":"join","room":"wire"})";

void assert_server_still_serves() {
    RawWs w(frame(1, R"({"type":"join","room":"wire-check"})"));
    check_str(json_str(w.expect(0x1), "type"), ==, "joined");
    g_assert_true(server->alive());
}

// Bytes sent right behind the upgrade request, before the 101 came back, are not lost.
void test_pipelined_after_upgrade() {
    RawWs w(frame(1, kJoin));
    std::string joined = w.expect(0x1);
    check_str(json_str(joined, "type"), ==, "joined");
    check_str(json_str(joined, "room"), ==, "wire");
}

// A message in fragments with a ping between them: the ping is answered at once and the
// message is handled whole.
void test_fragments_and_ping() {
    RawWs w;
    w.write(frame(1, kJoin.substr(0, 5), false) + frame(0x9, "are you there") +
            frame(0, kJoin.substr(5, 10), false) + frame(0, kJoin.substr(15)));
    check_str_eq(w.expect(0xA), "are you there"); // pong
    check_str(json_str(w.expect(0x1), "type"), ==, "joined");
    // The client closes: the server answers with the same code and closes TCP.
    w.write(frame(0x8, std::string("\x03\xe8", 2)));
    g_assert_cmpuint(w.expect_close(), ==, 1000);
    g_assert_true(w.eof());
}

// Protocol errors close with their RFC 6455 code: unmasked frame 1002, bad UTF-8 1007.
void test_protocol_errors() {
    {
        RawWs w;
        w.write(frame(1, kJoin, true, false));
        g_assert_cmpuint(w.expect_close(), ==, 1002);
    }
    {
        RawWs w;
        w.write(frame(1, "{\"type\":\"join\",\"room\":\"\xC0\xAF\"}"));
        g_assert_cmpuint(w.expect_close(), ==, 1007);
    }
    assert_server_still_serves();
}

// A 3 MiB frame: the server refuses it with 1009 at its header, reads the rest away while
// the client is still sending, and completes the close cleanly (EOF, not a reset).
void test_huge_frame_clean_1009() {
    RawWs w;
    std::string big = frame(1, std::string(3 * 1024 * 1024, 'x'));
    w.write(big);
    g_assert_cmpuint(w.expect_close(), ==, 1009);
    w.write(frame(0x8, std::string("\x03\xf1", 2)));
    g_assert_true(w.eof());
    assert_server_still_serves();
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    server = std::make_unique<ServerProcess>();
    g_test_add_func("/server-wire/pipelined-after-upgrade", test_pipelined_after_upgrade);
    g_test_add_func("/server-wire/fragments-and-ping", test_fragments_and_ping);
    g_test_add_func("/server-wire/protocol-errors", test_protocol_errors);
    g_test_add_func("/server-wire/huge-frame-clean-1009", test_huge_frame_clean_1009);
    int rc = g_test_run();
    server.reset();
    return rc;
}

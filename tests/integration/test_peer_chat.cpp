// SPDX-License-Identifier: MIT
// Text chat and the --control bridge between two real duet-peers through a real server:
// chat both ways (a control program's {"chat":...} line, and `chat TEXT` on standard input
// with --admit ask) arrives as `chat` events with the sender's --name; lines a control
// program writes arrive at the other peer's control program with from/name/data; bad input
// (an oversized line, a bad command) is dropped; bad flags and unusable sockets fail fast.
#include "harness.h"
#include "peer_harness.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib.h>
#include <glib/gstdio.h>

#include <csignal>
#include <functional>
#include <memory>
#include <string>

using namespace duet::testing;

namespace {

// The local program on a --control socket: a GLib socket client reading JSON lines.
class ControlClient {
  public:
    explicit ControlClient(const std::string &path) {
        GSocketClient *client = g_socket_client_new();
        GSocketAddress *addr = g_unix_socket_address_new(path.c_str());
        GError *err = nullptr;
        conn_ = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), nullptr, &err);
        g_object_unref(addr);
        g_object_unref(client);
        g_assert_no_error(err);
        g_socket_set_blocking(g_socket_connection_get_socket(conn_), FALSE);
    }
    ~ControlClient() {
        if (conn_) {
            g_io_stream_close(G_IO_STREAM(conn_), nullptr, nullptr);
            g_object_unref(conn_);
        }
    }
    void write(const std::string &text) {
        GSocket *s = g_socket_connection_get_socket(conn_);
        std::size_t done = 0;
        g_assert_true(wait_until(
            [&] {
                GError *err = nullptr;
                gssize n = g_socket_send(s, text.data() + done, text.size() - done, nullptr, &err);
                if (n > 0)
                    done += std::size_t(n);
                g_clear_error(&err);
                return done == text.size();
            },
            5000));
    }
    // The next whole line (without its newline), or "" if none comes within `timeout_ms`.
    std::string next_line(unsigned timeout_ms = 5000) {
        GSocket *s = g_socket_connection_get_socket(conn_);
        std::string line;
        wait_until(
            [&] {
                std::size_t nl = buf_.find('\n');
                if (nl != std::string::npos) {
                    line = buf_.substr(0, nl);
                    buf_.erase(0, nl + 1);
                    return true;
                }
                char chunk[4096];
                GError *err = nullptr;
                gssize n = g_socket_receive(s, chunk, sizeof chunk, nullptr, &err);
                if (n > 0)
                    buf_.append(chunk, std::size_t(n));
                g_clear_error(&err);
                return false;
            },
            timeout_ms);
        return line;
    }

  private:
    GSocketConnection *conn_ = nullptr;
    std::string buf_;
};

std::string log_text(const PeerProcess &p) {
    gchar *text = nullptr;
    g_file_get_contents(p.log_path().c_str(), &text, nullptr, nullptr);
    std::string out = text ? text : "";
    g_free(text);
    return out;
}

std::string socket_path(const char *who) {
    return scratch_dir() + "/" + who + ".sock";
}

// Chat and control, both ways, between two named peers with control programs.
void test_chat_and_control() {
    ServerProcess server;
    const std::string room = "chat-" + std::to_string(getpid());
    const std::string a_sock = socket_path("a"), b_sock = socket_path("b");
    PeerProcess a("chat-a", server.ws_url(), room,
                  {"--name", "Ana", "--control", "unix:" + a_sock});
    std::string a_id = joined_id(a);
    // b reads chat on standard input (--admit ask reads commands there).
    PeerProcess b("chat-b", server.ws_url(), room,
                  {"--name", "  Bo ☕ ", "--control", "unix:" + b_sock, "--admit", "ask"});
    std::string b_id = joined_id(b);
    // The name b gave, normalised, as a's peer-joined shows it.
    std::string pj = a.wait_event("peer-joined", [&](const std::string &e) {
        return json_str(e, "peer") == b_id;
    });
    check_str(json_str(pj, "name"), ==, "Bo ☕");
    g_assert_false(a.wait_event("connected", {}, kMediaTimeoutMs).empty());
    g_assert_false(b.wait_event("connected", {}, kMediaTimeoutMs).empty());

    ControlClient a_prog(a_sock), b_prog(b_sock);

    // A control program's chat command: a `chat` event on the other side, with the name.
    a_prog.write("{\"chat\":\"  hello from Ana  \"}\n");
    std::string chat = b.wait_event("chat");
    check_str(json_str(chat, "from"), ==, a_id);
    check_str(json_str(chat, "name"), ==, "Ana");
    check_str(json_str(chat, "text"), ==, "hello from Ana");

    // Standard input's `chat TEXT`, the other way.
    b.write_stdin("chat hi Ana, \"quoted\" ☕\n");
    chat = a.wait_event("chat");
    check_str(json_str(chat, "from"), ==, b_id);
    check_str(json_str(chat, "name"), ==, "Bo ☕");
    check_str(json_str(chat, "text"), ==, "hi Ana, \"quoted\" ☕");

    // A line that is not a command goes through verbatim, to the other program, with who.
    a_prog.write("{\"type\":\"ping\",\"n\":1}\n");
    std::string got = b_prog.next_line();
    check_str(json_str(got, "from"), ==, a_id);
    check_str(json_str(got, "name"), ==, "Ana");
    check_str(json_str(got, "data"), ==, "{\"type\":\"ping\",\"n\":1}");
    b_prog.write("pong\n");
    got = a_prog.next_line();
    check_str(json_str(got, "from"), ==, b_id);
    check_str(json_str(got, "name"), ==, "Bo ☕");
    check_str(json_str(got, "data"), ==, "pong");

    // Bad input is dropped, and what follows still works: a line over 16 KiB, a chat
    // command with no text, a line that is not UTF-8.
    std::size_t a_chats = 0;
    for (const auto &e : a.events())
        a_chats += json_str(e, "event") == "chat";
    std::size_t b_mark = b.mark();
    a_prog.write(std::string(20 * 1024, 'x') + "\n");
    a_prog.write("{\"chat\":\"   \"}\n");
    a_prog.write("\xff\xfe\n");
    a_prog.write("after the junk\n");
    got = b_prog.next_line();
    check_str(json_str(got, "data"), ==, "after the junk");
    g_assert_true(b.wait_event("chat", {}, 300, b_mark).empty()); // no chat came of it
    g_assert_true(log_text(a).find("dropped a line longer than 16384 bytes") != std::string::npos);

    // The 16 KiB limit itself goes through.
    std::string most(16 * 1024, 'z');
    a_prog.write(most + "\n");
    got = b_prog.next_line();
    check_str(json_str(got, "data"), ==, most);

    // Our own chat does not come back to us as an event.
    std::size_t now_chats = 0;
    for (const auto &e : a.events())
        now_chats += json_str(e, "event") == "chat";
    g_assert_cmpuint(now_chats, ==, a_chats);

    for (auto *p : {&a, &b})
        p->send_signal(SIGTERM);
    for (auto *p : {&a, &b}) {
        g_assert_true(p->wait_exit());
        g_assert_cmpint(p->exit_status(), ==, 0);
    }
    // The socket files go with the peers.
    g_assert_false(g_file_test(a_sock.c_str(), G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test(b_sock.c_str(), G_FILE_TEST_EXISTS));
}

// --control stdio: standard input is the program's output and standard output its input.
void test_stdio_control() {
    ServerProcess server;
    const std::string room = "stdio-" + std::to_string(getpid());
    std::string log = scratch_dir() + "/stdio-a.log";
    std::vector<std::string> args{peer_path(),   "--room",         room,     "--server",
                                  server.ws_url(), "--sink",       "none",   "--video-source",
                                  "test",          "--audio-source", "test", "--size",
                                  "320x240",       "--fps",          "15",   "--state-dir",
                                  scratch_dir() + "/state-stdio", "--name", "Ana",
                                  "--control",     "stdio"};
    std::vector<const char *> argv;
    for (auto &a : args)
        argv.push_back(a.c_str());
    argv.push_back(nullptr);
    GSubprocessLauncher *l = g_subprocess_launcher_new(
        GSubprocessFlags(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE));
    g_subprocess_launcher_set_stderr_file_path(l, log.c_str());
    GError *err = nullptr;
    GSubprocess *a = g_subprocess_launcher_spawnv(l, argv.data(), &err);
    g_object_unref(l);
    g_assert_no_error(err);
    // Its standard output, read without blocking the main loop the peers' events need.
    GDataInputStream *out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(a));
    std::vector<std::string> lines;
    bool reading = false;
    std::function<void()> read_next = [&] {
        reading = true;
        g_data_input_stream_read_line_async(
            out, G_PRIORITY_DEFAULT, nullptr,
            [](GObject *src, GAsyncResult *res, gpointer data) {
                auto *ctx = static_cast<std::pair<std::vector<std::string> *, bool *> *>(data);
                char *line = g_data_input_stream_read_line_finish_utf8(G_DATA_INPUT_STREAM(src), res,
                                                                       nullptr, nullptr);
                *ctx->second = false;
                if (line)
                    ctx->first->emplace_back(line);
                g_free(line);
                delete ctx;
            },
            new std::pair<std::vector<std::string> *, bool *>(&lines, &reading));
    };

    const std::string b_sock = socket_path("stdio-b");
    PeerProcess b("stdio-b", server.ws_url(), room, {"--control", "unix:" + b_sock});
    std::string b_id = joined_id(b);
    g_assert_false(b.wait_event("connected", {}, kMediaTimeoutMs).empty());

    // A command on its standard input: chat reaches b with a's name.
    GOutputStream *in = g_subprocess_get_stdin_pipe(a);
    std::string cmd = "{\"chat\":\"via stdio\"}\n";
    g_assert_true(g_output_stream_write_all(in, cmd.data(), cmd.size(), nullptr, nullptr, &err));
    std::string chat = b.wait_event("chat");
    check_str(json_str(chat, "text"), ==, "via stdio");
    check_str(json_str(chat, "name"), ==, "Ana");

    // b's control program writes a line: it comes out on a's standard output.
    ControlClient b_prog(b_sock);
    b_prog.write("status?\n");
    g_assert_true(wait_until(
        [&] {
            if (!reading && lines.empty())
                read_next();
            return !lines.empty();
        },
        kMediaTimeoutMs));
    check_str(json_str(lines[0], "from"), ==, b_id);
    check_str(json_str(lines[0], "data"), ==, "status?");

    g_subprocess_send_signal(a, SIGTERM);
    g_assert_true(g_subprocess_wait(a, nullptr, nullptr));
    g_assert_cmpint(g_subprocess_get_exit_status(a), ==, 0);
    wait_until([&] { return !reading; }, 1000);
    g_object_unref(out);
    g_object_unref(a);
}

// Flags that cannot work end the run before it starts.
void test_bad_flags() {
    ServerProcess server;
    // PeerProcess always passes --events, which stdio control cannot share stdout with.
    PeerProcess stdio("stdio-events", server.ws_url(), "x", {"--control", "stdio"});
    g_assert_true(stdio.wait_exit());
    g_assert_cmpint(stdio.exit_status(), ==, 2);
    g_assert_true(log_text(stdio).find("--control stdio needs stdout; drop --events") !=
                  std::string::npos);

    PeerProcess name("bad-name", server.ws_url(), "x", {"--name", " \u202e "});
    g_assert_true(name.wait_exit());
    g_assert_cmpint(name.exit_status(), ==, 2);
    g_assert_true(log_text(name).find("--name: ") != std::string::npos);

    // A directory that does not exist: exit 1, an error event and a line that says why.
    PeerProcess nodir("no-dir", server.ws_url(), "x",
                      {"--control", "unix:/nonexistent-duet-dir/ctl.sock"});
    g_assert_true(nodir.wait_exit());
    g_assert_cmpint(nodir.exit_status(), ==, 1);
    std::string err = nodir.wait_event("error", {}, 100);
    check_str(json_str(err, "code"), ==, "control-socket");
    g_assert_true(json_str(err, "message").find("/nonexistent-duet-dir/ctl.sock") !=
                  std::string::npos);
    g_assert_true(log_text(nodir).find("cannot listen there") != std::string::npos);

    // A socket another program listens on is left to it.
    std::string taken = socket_path("taken");
    GError *e = nullptr;
    GSocket *listener = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                                     G_SOCKET_PROTOCOL_DEFAULT, &e);
    g_assert_no_error(e);
    GSocketAddress *addr = g_unix_socket_address_new(taken.c_str());
    g_assert_true(g_socket_bind(listener, addr, FALSE, &e));
    g_assert_true(g_socket_listen(listener, &e));
    PeerProcess busy("busy-socket", server.ws_url(), "x", {"--control", "unix:" + taken});
    g_assert_true(busy.wait_exit());
    g_assert_cmpint(busy.exit_status(), ==, 1);
    g_assert_true(log_text(busy).find("another program is listening on that socket") !=
                  std::string::npos);
    g_assert_true(g_file_test(taken.c_str(), G_FILE_TEST_EXISTS));
    g_object_unref(addr);
    g_socket_close(listener, nullptr);
    g_object_unref(listener);
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/peer-chat/bad-flags", test_bad_flags);
    g_test_add_func("/peer-chat/chat-and-control", test_chat_and_control);
    g_test_add_func("/peer-chat/stdio-control", test_stdio_control);
    return finish_tests(g_test_run());
}

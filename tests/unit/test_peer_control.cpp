// SPDX-License-Identifier: MIT
// Chat messages and the --control bridge: the pure rules (what a line means, the line a
// browser's message becomes, bounded lines, chat validation, the flags) and the Unix
// socket itself with real clients in this process.
#include "src/peer/chat.h"
#include "src/peer/cli.h"
#include "src/peer/control_bridge.h"
#include "src/peer/control_line.h"

#include "tests/check_str.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

using namespace duet;
using namespace duet::peer;

namespace {

void test_chat_messages() {
    // What we send parses back to the same text.
    auto text = parse_chat_message(chat_message_json("héllo \"x\"\n☕", 1700000000000));
    g_assert_true(text.ok());
    check_str(*text, ==, "héllo \"x\"\n☕");
    check_str(parse_chat_message(R"({"type":"chat","text":"  hi  ","ts":1.5})").value(), ==, "hi");
    check_str(parse_chat_message(R"({"type":"chat","text":"no ts","extra":[1]})").value(), ==, "no ts");
    // 2000 code points (multi-byte) is the most.
    std::string most;
    for (int i = 0; i < 2000; ++i)
        most += "é";
    g_assert_true(parse_chat_message(chat_message_json(most, 1)).ok());
    g_assert_false(parse_chat_message(chat_message_json(most + "é", 1)).ok());
    for (const char *bad :
         {"", "hi", "{", "[]", "\"chat\"", R"({"type":"chat"})", R"({"type":"chat","text":5})",
          R"({"type":"chat","text":""})", R"({"type":"chat","text":" \n\t "})",
          R"({"type":"Chat","text":"x"})", R"({"text":"x"})", R"({"type":"chat","text":"x","ts":"now"})",
          R"({"type":"chat","text":["x"]})", R"({"type":"chat","text":null})"})
        g_assert_false(parse_chat_message(bad).ok());
    g_assert_false(normalize_chat_text("\xff\xfe").ok());
    check_str(normalize_chat_text("\u00a0 hi \u3000").value(), ==, "hi"); // Unicode spaces trimmed
}

void test_control_lines() {
    auto chat = classify_control_line(R"({"chat":" hello "})");
    g_assert_true(chat.kind == ControlLine::Kind::Command);
    check_str(std::get<SendChat>(chat.command).text, ==, "hello");
    auto admit = classify_control_line(R"({"admit":"t1"})");
    g_assert_true(admit.kind == ControlLine::Kind::Command);
    check_str(std::get<proto::Admit>(std::get<proto::ClientMessage>(admit.command)).id, ==, "t1");
    auto decline = classify_control_line("{\"decline\":\"t2\"}\r");
    g_assert_true(decline.kind == ControlLine::Kind::Command);
    // Anything else is the device's own: passed through verbatim.
    for (const char *own : {"pong", R"({"type":"pong","id":3})", "[1,2]", "{not json", "admit t1",
                            R"({"Chat":"x"})"}) {
        auto l = classify_control_line(own);
        g_assert_true(l.kind == ControlLine::Kind::PassThrough);
        check_str(l.text, ==, own);
    }
    // A command with a bad value is dropped, not passed on.
    for (const char *bad : {R"({"chat":""})", R"({"chat":7})", R"({"admit":"../x"})",
                            R"({"chat":"a","decline":"b"})"})
        g_assert_true(classify_control_line(bad).kind == ControlLine::Kind::Invalid);
    g_assert_true(classify_control_line("   ").kind == ControlLine::Kind::Blank);
    g_assert_true(classify_control_line("").kind == ControlLine::Kind::Blank);
    g_assert_true(classify_control_line("\xc3(").kind == ControlLine::Kind::Invalid);
    g_assert_true(classify_control_line(std::string(kMaxControlLineBytes + 1, 'a')).kind ==
                  ControlLine::Kind::Invalid);
    g_assert_true(classify_control_line(std::string(kMaxControlLineBytes, 'a')).kind ==
                  ControlLine::Kind::PassThrough);

    check_str(control_message_line("p1", "Ana", "go \"left\"\n"), ==,
              "{\"from\":\"p1\",\"name\":\"Ana\",\"data\":\"go \\\"left\\\"\\n\"}\n");
}

void test_line_splitter() {
    LineSplitter s(8);
    std::vector<std::string> lines;
    s.feed("ab", lines);
    g_assert_cmpuint(lines.size(), ==, 0);
    s.feed("c\nde\n\nf", lines);
    g_assert_cmpuint(lines.size(), ==, 3);
    check_str(lines[0], ==, "abc");
    check_str(lines[1], ==, "de");
    check_str(lines[2], ==, "");
    lines.clear();
    // Over 8 bytes, even across feeds: skipped up to its newline, the next line is whole.
    s.feed("123456", lines);
    s.feed("789012", lines);
    s.feed("34\nok\n", lines);
    g_assert_cmpuint(s.dropped(), ==, 1);
    g_assert_cmpuint(lines.size(), ==, 1);
    check_str(lines[0], ==, "ok"); // "f" began the long line, and went with it
    lines.clear();
    s.feed("12345678\n", lines); // exactly the most
    g_assert_cmpuint(lines.size(), ==, 1);
    g_assert_cmpuint(s.dropped(), ==, 1);
}

Result<PeerOptions> parse(std::vector<std::string> args) {
    args.insert(args.begin(), "duet-peer");
    args.push_back("--room");
    args.push_back("r");
    return parse_cli(args);
}

void test_flags() {
    auto named = parse({"--name", "  Ana  "});
    g_assert_true(named.ok());
    check_str(named->name, ==, "Ana");
    auto bad = parse({"--name", " \t "});
    g_assert_false(bad.ok());
    g_assert_true(bad.message().rfind("--name: ", 0) == 0);
    g_assert_false(parse({"--name", std::string(65, 'x')}).ok());
    g_assert_false(parse({"--name", "a\u202eb"}).ok()); // a bidi override

    auto sock = parse({"--control", "unix:/run/duet/ctl.sock"});
    g_assert_true(sock.ok());
    g_assert_true(sock->control == PeerOptions::Control::Unix);
    check_str(sock->control_path, ==, "/run/duet/ctl.sock");
    auto stdio = parse({"--control", "stdio"});
    g_assert_true(stdio->control == PeerOptions::Control::Stdio);
    g_assert_true(parse({}).value().control == PeerOptions::Control::None);
    for (const char *v : {"unix:", "tcp:1234", "", "stdout"})
        g_assert_false(parse({"--control", v}).ok());
    auto both = parse({"--control", "stdio", "--events"});
    g_assert_false(both.ok());
    check_str(both.message(), ==, "--control stdio needs stdout; drop --events");
}

// ---- the socket ----

std::string temp_socket_path() {
    static int n = 0;
    return std::string(g_get_tmp_dir()) + "/duet-ctl-" + std::to_string(getpid()) + "-" +
           std::to_string(++n) + ".sock";
}

bool wait_until(const std::function<bool()> &pred, unsigned timeout_ms = 3000) {
    gint64 end = g_get_monotonic_time() + gint64(timeout_ms) * 1000;
    while (!pred() && g_get_monotonic_time() < end)
        if (!g_main_context_iteration(nullptr, FALSE))
            g_usleep(1000);
    return pred();
}

int connect_to(const std::string &path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    g_strlcpy(a.sun_path, path.c_str(), sizeof a.sun_path);
    if (connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void write_all(int fd, const std::string &s) {
    g_assert_cmpint(send(fd, s.data(), s.size(), MSG_NOSIGNAL), ==, gssize(s.size()));
}

// Reads what has arrived within `ms` (the socket is left blocking; poll first).
std::string read_some(int fd, unsigned ms = 2000) {
    std::string out;
    wait_until(
        [&] {
            char buf[4096];
            ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0)
                out.append(buf, std::size_t(n));
            return !out.empty() && out.back() == '\n';
        },
        ms);
    return out;
}

void test_socket_round_trip() {
    std::string path = temp_socket_path();
    std::vector<std::string> got;
    auto bridge = ControlBridge::listen_unix(path, [&](const std::string &l) { got.push_back(l); });
    g_assert_true(bridge.ok());
    struct stat st {};
    g_assert_cmpint(lstat(path.c_str(), &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0660);

    int a = connect_to(path), b = connect_to(path);
    g_assert_cmpint(a, >=, 0);
    g_assert_cmpint(b, >=, 0);
    g_assert_true(wait_until([&] { return (*bridge)->clients() == 2; }));
    write_all(a, "one\ntw");
    write_all(a, "o\n" + std::string(kMaxControlLineBytes + 10, 'x') + "\nthree\n");
    g_assert_true(wait_until([&] { return got.size() == 3; }));
    check_str(got[0], ==, "one");
    check_str(got[1], ==, "two");
    check_str(got[2], ==, "three"); // the oversized line between them was dropped

    (*bridge)->broadcast("{\"data\":\"hi\"}\n");
    check_str(read_some(a), ==, "{\"data\":\"hi\"}\n");
    check_str(read_some(b), ==, "{\"data\":\"hi\"}\n");

    // A client that never reads is cut off once 1 MiB waits for it; the other stays.
    std::string chunk(16000, 'y');
    chunk += '\n';
    for (int i = 0; i < 200 && (*bridge)->clients() == 2; ++i) {
        (*bridge)->broadcast(chunk);
        read_some(a, 50);
        char sink[65536];
        while (recv(a, sink, sizeof sink, MSG_DONTWAIT) > 0) {
        }
    }
    g_assert_cmpuint((*bridge)->clients(), ==, 1);
    close(a);
    g_assert_true(wait_until([&] { return (*bridge)->clients() == 0; }));
    close(b);
    bridge->reset();
    g_assert_cmpint(lstat(path.c_str(), &st), !=, 0); // removed on the way out
}

// A client that vanished since the last loop turn fails its send in the middle of a
// broadcast; it is dropped there, and the clients after it still get the line.
void test_socket_client_gone_mid_broadcast() {
    std::string path = temp_socket_path();
    auto bridge = ControlBridge::listen_unix(path, [](const std::string &) {});
    g_assert_true(bridge.ok());
    int fds[3];
    for (int &fd : fds) {
        fd = connect_to(path);
        g_assert_cmpint(fd, >=, 0);
    }
    g_assert_true(wait_until([&] { return (*bridge)->clients() == 3; }));
    // Unread bytes at close make the kernel reset the connection: the next send fails.
    write_all(fds[0], "x");
    write_all(fds[1], "y");
    close(fds[0]);
    close(fds[1]);
    (*bridge)->broadcast("{\"data\":\"still here\"}\n");
    check_str(read_some(fds[2]), ==, "{\"data\":\"still here\"}\n");
    g_assert_true(wait_until([&] { return (*bridge)->clients() == 1; }));
    close(fds[2]);
    bridge->reset();
}

void test_socket_path_rules() {
    std::string path = temp_socket_path();
    auto noop = [](const std::string &) {};
    // A live socket is someone's: refused, and left working.
    auto first = ControlBridge::listen_unix(path, noop);
    g_assert_true(first.ok());
    auto second = ControlBridge::listen_unix(path, noop);
    g_assert_false(second.ok());
    g_assert_true(second.message().find("another program is listening") != std::string::npos);
    int c = connect_to(path);
    g_assert_cmpint(c, >=, 0);
    close(c);

    // A stale one (its listener gone without removing it) is replaced.
    int stale = socket(AF_UNIX, SOCK_STREAM, 0);
    std::string stale_path = temp_socket_path();
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    g_strlcpy(a.sun_path, stale_path.c_str(), sizeof a.sun_path);
    g_assert_cmpint(bind(stale, reinterpret_cast<sockaddr *>(&a), sizeof a), ==, 0);
    close(stale);
    auto replaced = ControlBridge::listen_unix(stale_path, noop);
    g_assert_true(replaced.ok());

    // A file that is not a socket is never removed.
    std::string file = temp_socket_path();
    g_assert_true(g_file_set_contents(file.c_str(), "keep me", -1, nullptr));
    auto refused = ControlBridge::listen_unix(file, noop);
    g_assert_false(refused.ok());
    g_assert_true(refused.message().find("not a socket") != std::string::npos);
    g_assert_true(g_file_test(file.c_str(), G_FILE_TEST_IS_REGULAR));
    g_unlink(file.c_str());

    g_assert_false(ControlBridge::listen_unix("/nonexistent-dir/x.sock", noop).ok());
    g_assert_false(ControlBridge::listen_unix("/tmp/" + std::string(200, 'x'), noop).ok());
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    // The bridge warns about what it drops (an oversized line, a client cut off): expected
    // here, so warnings are not fatal in these tests; criticals still are.
    g_log_set_always_fatal(GLogLevelFlags(G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL));
    g_test_add_func("/peer-control/chat-messages", test_chat_messages);
    g_test_add_func("/peer-control/lines", test_control_lines);
    g_test_add_func("/peer-control/line-splitter", test_line_splitter);
    g_test_add_func("/peer-control/flags", test_flags);
    g_test_add_func("/peer-control/socket-round-trip", test_socket_round_trip);
    g_test_add_func("/peer-control/socket-gone-mid-broadcast",
                    test_socket_client_gone_mid_broadcast);
    g_test_add_func("/peer-control/socket-path-rules", test_socket_path_rules);
    return g_test_run();
}

// SPDX-License-Identifier: MIT
// signaling/redis_client against real redis-server processes on loopback: URLs, replies,
// pub/sub, scripts, AUTH, and what happens when Redis dies, stops, is missing at start, or
// the client goes away with commands in flight.
#include "harness.h"
#include "redis_server.h"
#include "signaling/redis_client.h"
#include "tests/check_str.h"
#include "tests/temp_dir.h"

#include <glib.h>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

using namespace duet::testing;
using duet::signaling::redis::ClientOptions;
using duet::signaling::redis::parse_url;
using duet::signaling::redis::Reply;
using duet::signaling::redis::Url;
using RedisClient = duet::signaling::redis::Client;
using Type = Reply::Type;

namespace {

// Every log line, for the tests that check what the client says about a failure.
std::vector<std::string> logged;

GLogWriterOutput keep_log(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer) {
    for (gsize i = 0; i < n && !(level & G_LOG_LEVEL_DEBUG); ++i)
        if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
            logged.emplace_back(static_cast<const char *>(fields[i].value));
    return g_log_writer_default(level, fields, n, nullptr);
}

size_t count_logged(const std::string &needle) {
    size_t n = 0;
    for (const auto &line : logged)
        n += line.find(needle) != std::string::npos;
    return n;
}

// Quick to notice and to come back, so the faults below take tenths of a second.
ClientOptions fast_options() {
    return {.connect_timeout_ms = 500,
            .command_timeout_ms = 600,
            .backoff_min_ms = 20,
            .backoff_max_ms = 200};
}

Url url_of(const std::string &text) {
    auto url = parse_url(text);
    if (!url)
        g_error("parse_url(%s): %s", text.c_str(), url.message().c_str());
    return url.value();
}

// A client with its state changes recorded.
struct Watched {
    std::unique_ptr<RedisClient> client;
    std::vector<bool> states;
    std::vector<std::pair<std::string, std::string>> messages;

    explicit Watched(const std::string &url, std::vector<std::string> channels = {},
                     ClientOptions options = fast_options()) {
        client = std::make_unique<RedisClient>(url_of(url), options);
        client->on_state([this](bool up) { states.push_back(up); });
        client->on_message([this](std::string_view ch, std::string_view payload) {
            messages.emplace_back(std::string(ch), std::string(payload));
        });
        for (auto &c : channels)
            client->subscribe(c);
        client->start();
    }
    bool wait_up(unsigned ms = 5000) {
        return wait_until([&] { return client->up(); }, ms);
    }
    // Sends and waits for the reply (asserts that it was sent and answered).
    Reply call(const std::vector<std::string_view> &argv) {
        Reply out;
        bool done = false;
        g_assert_true(client->command(argv, [&](const Reply &r) {
            out = r;
            done = true;
        }));
        g_assert_true(wait_until([&] { return done; }));
        return out;
    }
};

void test_parse_url() {
    struct Good {
        const char *text;
        bool is_unix;
        const char *host_or_path;
        int port, db;
        const char *user, *password, *redacted;
    } good[] = {
        {"redis://127.0.0.1", false, "127.0.0.1", 6379, 0, "", "", "redis://127.0.0.1:6379"},
        {"redis://localhost:7000/3", false, "localhost", 7000, 3, "", "",
         "redis://localhost:7000/3"},
        {"REDIS://h/", false, "h", 6379, 0, "", "", "redis://h:6379"},
        {"redis://:secret@h:1", false, "h", 1, 0, "", "secret", "redis://:***@h:1"},
        {"redis://duet:p%40ss%3Aw%2Frd@h", false, "h", 6379, 0, "duet", "p@ss:w/rd",
         "redis://duet:***@h:6379"},
        {"redis://:a@b@h", false, "h", 6379, 0, "", "a@b", "redis://:***@h:6379"},
        {"redis://[::1]:6380/2", false, "::1", 6380, 2, "", "", "redis://[::1]:6380/2"},
        {"redis://[fe80::1]", false, "fe80::1", 6379, 0, "", "", "redis://[fe80::1]:6379"},
        {"unix:/run/redis.sock", true, "/run/redis.sock", 6379, 0, "", "", "unix:/run/redis.sock"},
        {"unix:///run/r.sock?db=5&password=x%26y", true, "/run/r.sock", 6379, 5, "", "x&y",
         "unix:/run/r.sock?db=5&password=***"},
        {"unix:rel.sock?user=u&password=p", true, "rel.sock", 6379, 0, "u", "p",
         "unix:rel.sock?user=u&password=***"},
    };
    for (const auto &g : good) {
        auto url = parse_url(g.text);
        if (!url)
            g_error("%s: %s", g.text, url.message().c_str());
        g_assert_cmpint(url->is_unix, ==, g.is_unix);
        check_str_eq((g.is_unix ? url->path : url->host), g.host_or_path);
        g_assert_cmpint(url->port, ==, g.port);
        g_assert_cmpint(url->db, ==, g.db);
        check_str_eq(url->user, g.user);
        check_str_eq(url->password, g.password);
        std::string redacted = url->redacted();
        check_str_eq(redacted, g.redacted);
        // What redacted() prints parses back to the same place.
        auto again = parse_url(redacted);
        g_assert_true(again.ok());
        check_str_eq((g.is_unix ? again->path : again->host), g.host_or_path);
    }
    // A NUL byte in a percent-encoded password survives (AUTH is binary-safe).
    auto nul = parse_url("redis://:a%00b@h");
    g_assert_true(nul.ok());
    g_assert_cmpuint(nul->password.size(), ==, 3);

    // The URL, and what the error must say.
    std::pair<const char *, const char *> bad[] = {
        {"http://h", "unknown scheme 'http'"},
        {"h:6379", "expected redis://"},
        {"", "expected redis://"},
        {"rediss://h", "not supported"},
        {"redis://", "no host"},
        {"redis://:6379", "no host"},
        {"redis://:pw@/1", "no host"},
        {"redis://h:0", "bad port '0'"},
        {"redis://h:65536", "bad port '65536'"},
        {"redis://h:abc", "bad port 'abc'"},
        {"redis://h:-1", "bad port '-1'"},
        {"redis://h:", "no port after ':'"},
        {"redis://h/x", "bad database number 'x'"},
        {"redis://h/-1", "bad database number '-1'"},
        {"redis://h/99999999999", "bad database number"},
        {"redis://h/1/2", "bad database number '1/2'"},
        {"redis://h?db=1", "unexpected '?db=1'"},
        {"redis://::1", "brackets"},
        {"redis://[::1", "without ']'"},
        {"redis://[]:1", "empty IPv6"},
        {"redis://[h]:1", "not an IPv6 address"},
        {"redis://[::1]x", "unexpected 'x'"},
        {"redis://h h", "bad host name"},
        {"redis://pw@h", "needs a ':'"},
        {"redis://user:@h", "a user needs a password"},
        {"redis://:p%zz@h", "bad percent-encoding in the password"},
        {"redis://:p%4@h", "bad percent-encoding"},
        {"unix:", "no socket path"},
        {"unix:?db=1", "no socket path"},
        {"unix:/s?db=x", "bad database number 'x'"},
        {"unix:/s?pass=x", "unknown parameter 'pass'"},
        {"unix:/s?password=%", "bad percent-encoding"},
    };
    for (auto [text, says] : bad) {
        auto url = parse_url(text);
        if (url)
            g_error("parse_url(\"%s\") accepted it", text);
        if (url.message().find(says) == std::string::npos)
            g_error("parse_url(\"%s\"): \"%s\" does not say \"%s\"", text, url.message().c_str(),
                    says);
        g_assert_true(g_str_has_prefix(url.message().c_str(), "Redis URL: "));
    }
    // Error messages never repeat a password.
    g_assert_true(parse_url("redis://:hunter2@h:99999").message().find("hunter2") ==
                  std::string::npos);
}

void test_round_trip() {
    RedisServer redis;
    // A host name: resolved by GLib's resolver, not by a blocking lookup in hiredis.
    Watched w("redis://localhost:" + std::to_string(redis.port()));
    g_assert_false(w.client->up());
    g_assert_false(w.client->command({"PING"}));
    g_assert_true(w.wait_up());
    g_assert_cmpuint(w.states.size(), ==, 1);
    g_assert_true(w.states[0]);

    // Binary-safe keys and values: NUL bytes, every byte value, and 1 MiB.
    std::string key("k\0ey", 4);
    std::string value(1 << 20, '\0');
    for (size_t i = 0; i < value.size(); ++i)
        value[i] = char((i * 7 + i / 4096) & 0xff);
    Reply set = w.call({"SET", key, value});
    g_assert_cmpint(int(set.type), ==, int(Type::Status));
    check_str_eq(set.str, "OK");
    Reply get = w.call({"GET", key});
    g_assert_cmpint(int(get.type), ==, int(Type::String));
    g_assert_cmpuint(get.str.size(), ==, value.size());
    g_assert_true(get.str == value);
    check_str_eq((redis.run({"STRLEN", key})), "1048576");

    g_assert_cmpint(int(w.call({"GET", "missing"}).type), ==, int(Type::Nil));
    Reply incr = w.call({"INCRBY", "n", "-5"});
    g_assert_cmpint(int(incr.type), ==, int(Type::Integer));
    g_assert_cmpint(incr.integer, ==, -5);
    Reply wrong = w.call({"LPUSH", key, "x"});
    g_assert_true(wrong.is_error());
    g_assert_true(g_str_has_prefix(wrong.str.c_str(), "WRONGTYPE"));

    // Nested arrays (a Lua false is a nil).
    Reply nested = w.call({"EVAL", "return {1, {'a', {2, false}}, 'b'}", "0"});
    g_assert_cmpint(int(nested.type), ==, int(Type::Array));
    g_assert_cmpuint(nested.elements.size(), ==, 3);
    g_assert_cmpint(nested.elements[0].integer, ==, 1);
    const Reply &inner = nested.elements[1];
    g_assert_cmpint(int(inner.type), ==, int(Type::Array));
    check_str_eq(inner.elements[0].str, "a");
    g_assert_cmpint(int(inner.elements[1].type), ==, int(Type::Array));
    g_assert_cmpint(inner.elements[1].elements[0].integer, ==, 2);
    g_assert_cmpint(int(inner.elements[1].elements[1].type), ==, int(Type::Nil));
    check_str_eq(nested.elements[2].str, "b");
    g_assert_cmpint(int(w.call({"LRANGE", "none", "0", "-1"}).type), ==, int(Type::Array));

    // Many in flight at once: answered in order, each exactly once; pending() counts them.
    std::vector<int> order;
    for (int i = 0; i < 200; ++i) {
        std::string v = std::to_string(i);
        g_assert_true(w.client->command(
            {"ECHO", v}, [&order](const Reply &r) { order.push_back(std::stoi(r.str)); }));
    }
    g_assert_cmpuint(w.client->pending(), ==, 200);
    g_assert_true(wait_until([&] { return order.size() == 200; }));
    for (int i = 0; i < 200; ++i)
        g_assert_cmpint(order[i], ==, i);
    g_assert_cmpuint(w.client->pending(), ==, 0);
    g_assert_cmpuint(w.states.size(), ==, 1);
    g_assert_cmpuint(w.client->reconnects(), ==, 0);
}

void test_unix_socket_and_db() {
    TempDir dir;
    std::string sock = dir.path + "/redis.sock";
    RedisServer redis({.unix_socket = sock});
    Watched w("unix:" + sock + "?db=2");
    g_assert_true(w.wait_up());
    w.call({"SET", "where", "db2"});
    check_str_eq((redis.run({"GET", "where"}, 2)), "db2");
    check_str_eq((redis.run({"GET", "where"}, 0)), "(nil)");

    // A database Redis does not have: down, with SELECT's answer in the log.
    Watched bad("unix:" + sock + "?db=999");
    g_assert_false(bad.wait_up(400));
    g_assert_cmpuint(count_logged("SELECT: ERR DB index is out of range"), ==, 1);
    g_assert_true(bad.states.empty());
}

void test_pubsub_order() {
    RedisServer redis;
    Watched w(redis.url(), {"one", std::string("tw\0o", 4)});
    g_assert_true(w.wait_up());
    // The client publishes on its own command connection; the subscriber gets them in order.
    for (int i = 0; i < 300; ++i) {
        std::string payload = std::to_string(i) + std::string("\0\xff", 2);
        std::string_view channel = i % 2 ? std::string_view("tw\0o", 4) : "one";
        g_assert_true(w.client->command({"PUBLISH", channel, payload}));
    }
    g_assert_true(wait_until([&] { return w.messages.size() == 300; }));
    for (int i = 0; i < 300; ++i) {
        g_assert_true(w.messages[i].first == (i % 2 ? std::string("tw\0o", 4) : "one"));
        g_assert_true(w.messages[i].second == std::to_string(i) + std::string("\0\xff", 2));
    }
    // Channels it did not subscribe to stay silent.
    redis.run({"PUBLISH", "other", "x"});
    redis.run({"PUBLISH", "one", "last"});
    g_assert_true(wait_until([&] { return w.messages.size() == 301; }));
    check_str_eq(w.messages.back().second, "last");

    // Losing the subscriber connection alone is a loss too: down, then up and subscribed.
    redis.run({"CLIENT", "KILL", "TYPE", "pubsub"});
    g_assert_true(wait_until([&] { return w.states.size() == 3; }));
    g_assert_true(!w.states[1] && w.states[2]);
    g_assert_cmpuint(w.client->reconnects(), ==, 1);
    redis.run({"PUBLISH", "one", "again"});
    g_assert_true(wait_until([&] { return w.messages.size() == 302; }));
    check_str_eq(w.messages.back().second, "again");
}

int commandstat(const RedisServer &redis, const char *cmd) {
    std::string info = redis.run({"INFO", "commandstats"});
    std::string tag = std::string("cmdstat_") + cmd + ":calls=";
    size_t at = info.find(tag);
    return at == std::string::npos ? 0 : std::stoi(info.substr(at + tag.size()));
}

void test_eval_noscript_fallback() {
    RedisServer redis;
    Watched w(redis.url());
    g_assert_true(w.wait_up());
    RedisClient::Script script("redis.call('SET', KEYS[1], ARGV[1]); "
                               "return {KEYS[1], ARGV[2], #KEYS, #ARGV}");
    check_str_eq(script.sha1(), (redis.run({"SCRIPT", "LOAD", script.lua()}))); // Redis agrees
    redis.run({"SCRIPT", "FLUSH"});
    redis.run({"CONFIG", "RESETSTAT"});

    auto run = [&](const std::string &tag) {
        Reply out;
        bool done = false;
        std::string arg = std::string("v\0", 2) + tag;
        g_assert_true(w.client->eval(script, {"key"}, {arg, tag}, [&](const Reply &r) {
            out = r;
            done = true;
        }));
        g_assert_true(wait_until([&] { return done; }));
        g_assert_cmpint(int(out.type), ==, int(Type::Array));
        check_str_eq(out.elements[0].str, "key");
        check_str_eq(out.elements[1].str, tag);
        g_assert_cmpint(out.elements[2].integer, ==, 1);
        g_assert_cmpint(out.elements[3].integer, ==, 2);
        g_assert_true(redis.run({"GET", "key"}) == arg);
    };
    run("first"); // NOSCRIPT, then EVAL
    g_assert_cmpint(commandstat(redis, "eval"), ==, 1);
    run("second"); // EVALSHA alone
    run("third");
    g_assert_cmpint(commandstat(redis, "eval"), ==, 1);
    g_assert_cmpint(commandstat(redis, "evalsha"), >=, 3);
    redis.run({"SCRIPT", "FLUSH"});
    run("after-flush"); // NOSCRIPT again, EVAL again
    g_assert_cmpint(commandstat(redis, "eval"), ==, 2);

    // A script error reaches the caller as it is (no second try).
    RedisClient::Script broken("return redis.call('NOPE')");
    Reply r;
    bool done = false;
    g_assert_true(w.client->eval(broken, {}, {}, [&](const Reply &x) {
        r = x;
        done = true;
    }));
    g_assert_true(wait_until([&] { return done; }));
    g_assert_true(r.is_error());
    g_assert_nonnull(strstr(r.str.c_str(), "Unknown Redis command"));
    g_assert_cmpuint(w.client->pending(), ==, 0);
    g_assert_true(w.client->up());
}

void test_auth() {
    std::string password = "p@ss:w/rd %";
    RedisServer redis({.password = password});
    Watched good(redis.url(), {"news"});
    g_assert_true(good.wait_up());
    check_str_eq((good.call({"PING"}).str), "PONG");
    redis.run({"PUBLISH", "news", "hello"});
    g_assert_true(wait_until([&] { return good.messages.size() == 1; }));

    // An ACL user with its own password (AUTH user password).
    redis.run({"ACL", "SETUSER", "duet", "on", ">s3cret", "~*", "&*", "+@all"});
    Watched acl("redis://duet:s3cret@127.0.0.1:" + std::to_string(redis.port()), {"news"});
    g_assert_true(acl.wait_up());

    // A wrong password: never up, retried with backoff, the reason logged once.
    auto connections = [&] {
        std::string info = redis.run({"INFO", "stats"});
        size_t at = info.find("total_connections_received:");
        return std::stoi(info.substr(at + 27));
    };
    int at_start = connections();
    size_t logged_before = count_logged("AUTH: WRONGPASS");
    Watched wrong("redis://:nope@127.0.0.1:" + std::to_string(redis.port()), {"news"});
    g_assert_false(wrong.wait_up(700));
    g_assert_true(wrong.states.empty());
    g_assert_false(wrong.client->command({"PING"}));
    g_assert_cmpuint(count_logged("AUTH: WRONGPASS") - logged_before, ==, 1);
    g_assert_cmpint(connections() - at_start, >=, 3 * 2 + 1); // several tries, 2 sockets each
    // The password is never logged.
    g_assert_cmpuint(count_logged("nope"), ==, 0);
    g_assert_cmpuint(count_logged("s3cret"), ==, 0);
}

void test_redis_killed_and_restarted() {
    RedisServer redis;
    ClientOptions options = fast_options();
    options.command_timeout_ms = 5000; // the blocked commands below must not time out
    Watched w(redis.url(), {"ch"}, options);
    g_assert_true(w.wait_up());

    // Commands in flight when Redis dies (BLPOP blocks server-side): one error each.
    std::vector<int> calls(3, 0);
    std::vector<std::string> errors(3);
    for (int i = 0; i < 3; ++i)
        g_assert_true(w.client->command({"BLPOP", "never", "0"}, [&, i](const Reply &r) {
            ++calls[i];
            errors[i] = r.is_error() ? r.str : "not an error";
            // Calls after the loss are refused; the state is already down.
            g_assert_false(w.client->up());
            g_assert_false(
                w.client->command({"PING"}, [](const Reply &) { g_assert_not_reached(); }));
        }));
    g_assert_cmpuint(w.client->pending(), ==, 3);
    redis.kill_hard();
    g_assert_true(wait_until([&] { return !w.client->up(); }));
    g_assert_true(wait_until([&] { return calls == std::vector<int>{1, 1, 1}; }));
    for (auto &e : errors)
        check_str_eq(e, "connection lost");
    g_assert_cmpuint(w.client->pending(), ==, 0);
    g_assert_cmpuint(w.states.size(), ==, 2);
    g_assert_false(w.states[1]);
    g_assert_cmpuint(count_logged("redis: lost redis://127.0.0.1:" + std::to_string(redis.port())),
                     ==, 1);

    // Down for a while (several failed tries), then back on the same port, empty.
    g_assert_false(wait_until([&] { return w.client->up(); }, 300));
    redis.start();
    g_assert_true(w.wait_up());
    g_assert_cmpuint(w.states.size(), ==, 3);
    g_assert_true(w.states[2]);
    g_assert_cmpuint(w.client->reconnects(), ==, 1);
    // The subscription came back with the connection.
    redis.run({"PUBLISH", "ch", "after restart"});
    g_assert_true(wait_until([&] { return w.messages.size() == 1; }));
    check_str_eq(w.messages[0].second, "after restart");
    g_assert_cmpuint(calls[0] + calls[1] + calls[2], ==, 3); // still exactly once each
}

void test_redis_stopped() {
    RedisServer redis;
    Watched w(redis.url(), {"ch"}); // command timeout 600 ms, connect timeout 500 ms
    g_assert_true(w.wait_up());
    redis.stop();
    std::string error;
    int calls = 0;
    gint64 sent = g_get_monotonic_time();
    gint64 answered = 0;
    g_assert_true(w.client->command({"SET", "a", "b"}, [&](const Reply &r) {
        ++calls;
        error = r.str;
        answered = g_get_monotonic_time();
    }));
    g_assert_true(w.client->command({"GET", "a"}, [&](const Reply &r) {
        ++calls;
        check_str_eq(r.str, "timed out");
    }));
    g_assert_true(wait_until([&] { return calls == 2; }, 3000));
    check_str_eq(error, "timed out");
    gint64 waited_ms = (answered - sent) / 1000;
    g_test_message("the command timed out after %" G_GINT64_FORMAT " ms (timeout 600 ms)",
                   waited_ms);
    g_assert_cmpint(waited_ms, >=, 590);
    g_assert_cmpint(waited_ms, <, 1500);
    g_assert_false(w.client->up());
    g_assert_cmpuint(count_logged("no reply within 600 ms"), >=, 1);
    // Stopped Redis accepts connections but answers nothing: the client stays down.
    g_assert_false(wait_until([&] { return w.client->up(); }, 1200));
    redis.resume();
    g_assert_true(w.wait_up());
    g_assert_cmpuint(w.client->reconnects(), ==, 1);
    check_str_eq((w.call({"GET", "a"}).str), "b"); // the SET did run, late
    redis.run({"PUBLISH", "ch", "back"});
    g_assert_true(wait_until([&] { return w.messages.size() == 1; }));
    g_assert_cmpint(calls, ==, 2);
}

// Redis dies while the client is still writing a large command: the command fails, once,
// and the process lives on (no SIGPIPE).
void test_killed_mid_write() {
    RedisServer redis;
    Watched w(redis.url(), {}, fast_options());
    g_assert_true(w.wait_up());
    redis.stop(); // nothing is read: the socket's buffers fill and the write waits
    std::string big(16 << 20, 'x');
    std::vector<std::string> errors;
    g_assert_true(
        w.client->command({"SET", "big", big}, [&](const Reply &r) { errors.push_back(r.str); }));
    wait_until([] { return false; }, 50); // let it write what the buffers take
    g_assert_cmpuint(w.client->pending(), ==, 1);
    redis.kill_hard();
    g_assert_true(wait_until([&] { return !errors.empty(); }));
    check_str_eq(errors[0], "connection lost");
    g_assert_false(w.client->up());
    wait_until([] { return false; }, 100);
    g_assert_cmpuint(errors.size(), ==, 1);
    // The race this cannot provoke on demand (a reset between poll() and write()) is
    // covered by SIGPIPE being ignored once a client has started.
    struct sigaction pipe {};
    g_assert_cmpint(sigaction(SIGPIPE, nullptr, &pipe), ==, 0);
    g_assert_true(pipe.sa_handler == SIG_IGN);
}

void test_unreachable_at_start() {
    RedisServer redis({.start = false});
    Watched w(redis.url(), {"ch"});
    g_assert_false(wait_until([&] { return w.client->up(); }, 400));
    g_assert_true(w.states.empty()); // no "down" for a client that never was up
    g_assert_false(w.client->command({"PING"}));
    g_assert_cmpuint(count_logged("cannot connect to " + redis.url()), ==, 1);
    redis.start();
    g_assert_true(w.wait_up());
    g_assert_cmpuint(w.states.size(), ==, 1);
    g_assert_cmpuint(w.client->reconnects(), ==, 0); // it was never up before
    redis.run({"PUBLISH", "ch", "hi"});
    g_assert_true(wait_until([&] { return w.messages.size() == 1; }));
}

void test_destroy_with_commands_pending() {
    RedisServer redis;
    int called = 0;
    {
        Watched w(redis.url(), {"ch"});
        g_assert_true(w.wait_up());
        for (int i = 0; i < 3; ++i)
            w.client->command({"BLPOP", "never", "0"}, [&](const Reply &) { ++called; });
        w.client->command({"PING"}, [&](const Reply &) { ++called; });
        g_assert_cmpuint(w.client->pending(), ==, 4);
        w.client.reset();
    }
    // Destroyed from inside its own reply callback, with more commands behind it.
    {
        Watched w(redis.url(), {"ch"});
        g_assert_true(w.wait_up());
        bool first = false;
        w.client->command({"PING"}, [&](const Reply &) {
            first = true;
            w.client.reset();
        });
        for (int i = 0; i < 3; ++i)
            w.client->command({"PING"}, [&](const Reply &) { ++called; });
        g_assert_true(wait_until([&] { return first; }));
    }
    // From inside a message, and from inside the state callback.
    {
        Watched w(redis.url(), {"ch"});
        w.client->on_message([&](std::string_view, std::string_view) { w.client.reset(); });
        g_assert_true(w.wait_up());
        w.client->command({"BLPOP", "never", "0"}, [&](const Reply &) { ++called; });
        redis.run({"PUBLISH", "ch", "bye"});
        g_assert_true(wait_until([&] { return !w.client; }));
    }
    {
        auto client = std::make_unique<RedisClient>(url_of(redis.url()), fast_options());
        client->on_state([&](bool) { client.reset(); });
        client->start();
        g_assert_true(wait_until([&] { return !client; }));
    }
    // While it connects: resolving a name, and with the TCP connect under way.
    for (const std::string &url :
         {"redis://localhost:" + std::to_string(redis.port()), redis.url()}) {
        auto client = std::make_unique<RedisClient>(url_of(url), fast_options());
        client->start();
        client.reset();
    }
    // When it is killed with a blocked command, the callback may destroy the client too.
    {
        Watched w(redis.url(), {"ch"});
        g_assert_true(w.wait_up());
        int lost = 0;
        for (int i = 0; i < 2; ++i)
            w.client->command({"BLPOP", "never", "0"}, [&](const Reply &) {
                ++lost;
                w.client.reset();
            });
        redis.kill_hard();
        g_assert_true(wait_until([&] { return !w.client; }));
        g_assert_cmpint(lost, ==, 1); // the second was the destructor's: no callback
        redis.start();
    }
    // Give anything left over a chance to fire.
    wait_until([] { return false; }, 200);
    g_assert_cmpint(called, ==, 0);
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    // The client warns when Redis is away: expected here; criticals stay fatal.
    g_log_set_always_fatal(GLogLevelFlags(G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL));
    g_log_set_writer_func(keep_log, nullptr, nullptr);
    g_test_add_func("/redis-client/parse-url", test_parse_url);
    g_test_add_func("/redis-client/round-trip", test_round_trip);
    g_test_add_func("/redis-client/unix-socket-and-db", test_unix_socket_and_db);
    g_test_add_func("/redis-client/pubsub-order", test_pubsub_order);
    g_test_add_func("/redis-client/eval-noscript-fallback", test_eval_noscript_fallback);
    g_test_add_func("/redis-client/auth", test_auth);
    g_test_add_func("/redis-client/killed-and-restarted", test_redis_killed_and_restarted);
    g_test_add_func("/redis-client/stopped", test_redis_stopped);
    g_test_add_func("/redis-client/killed-mid-write", test_killed_mid_write);
    g_test_add_func("/redis-client/unreachable-at-start", test_unreachable_at_start);
    g_test_add_func("/redis-client/destroy-with-commands-pending",
                    test_destroy_with_commands_pending);
    return g_test_run();
}

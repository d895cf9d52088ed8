// SPDX-License-Identifier: MIT
// Test harness implementation: child-process server and libsoup WebSocket clients.
#include "harness.h"

#include <json-glib/json-glib.h>

#include <cstring>
#include <sys/prctl.h>

namespace duet::testing {

bool wait_until(const std::function<bool()> &pred, unsigned timeout_ms) {
    gint64 deadline = g_get_monotonic_time() + gint64(timeout_ms) * 1000;
    GMainContext *ctx = g_main_context_default();
    while (!pred()) {
        if (g_get_monotonic_time() >= deadline)
            return false;
        // A short timeout source bounds each iteration so the deadline is honoured.
        GSource *tick = g_timeout_source_new(20);
        g_source_set_callback(
            tick, [](gpointer) { return G_SOURCE_REMOVE; }, nullptr, nullptr);
        g_source_attach(tick, ctx);
        g_main_context_iteration(ctx, TRUE);
        g_source_destroy(tick);
        g_source_unref(tick);
    }
    return true;
}

static const char *server_path() {
    const char *p = g_getenv("DUET_SERVER");
    return p ? p : "build/signaling/duet-server";
}

ServerProcess::ServerProcess(std::vector<std::string> extra_args,
                             std::vector<std::pair<std::string, std::string>> env,
                             std::vector<std::string> wrapper) {
    std::vector<const char *> argv;
    for (auto &a : wrapper)
        argv.push_back(a.c_str());
    for (const char *a : {server_path(), "--host", "127.0.0.1", "--port", "0"})
        argv.push_back(a);
    // DUET_SERVER_ARGS: more arguments for every server a test starts, in shell syntax;
    // the cluster suite runs tests this way with `--redis URL` (tests/cluster/with-redis.sh).
    gchar **env_args = nullptr;
    if (const char *more = g_getenv("DUET_SERVER_ARGS"); more && *more)
        if (!g_shell_parse_argv(more, nullptr, &env_args, nullptr))
            g_error("DUET_SERVER_ARGS is not a shell word list: %s", more);
    for (gchar **a = env_args; a && *a; ++a)
        argv.push_back(*a);
    for (auto &a : extra_args)
        argv.push_back(a.c_str());
    argv.push_back(nullptr);
    GError *err = nullptr;
    GSubprocessLauncher *launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
    // A critical warning in the server is a bug: make it crash so the test sees it.
    g_subprocess_launcher_setenv(launcher, "G_DEBUG", "fatal-criticals", TRUE);
    for (auto &[k, v] : env)
        g_subprocess_launcher_setenv(launcher, k.c_str(), v.c_str(), TRUE);
    // If the test aborts, the orphaned server would hold meson's output pipe open and the
    // run would hang until its timeout; the kernel kills it with us instead.
    g_subprocess_launcher_set_child_setup(
        launcher, [](gpointer) { prctl(PR_SET_PDEATHSIG, SIGTERM); }, nullptr, nullptr);
    proc_ = g_subprocess_launcher_spawnv(launcher, argv.data(), &err);
    g_object_unref(launcher);
    if (!proc_)
        g_error("cannot start %s: %s", server_path(), err->message);
    GDataInputStream *out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(proc_));
    // Blocking read is bounded: the server prints the line or exits (EOF) at once.
    gsize len = 0;
    char *line = g_data_input_stream_read_line_utf8(out, &len, nullptr, &err);
    g_object_unref(out);
    const char *prefix = "listening on ";
    if (!line || !g_str_has_prefix(line, prefix))
        g_error("duet-server did not become ready (got '%s')", line ? line : "EOF");
    url_ = line + std::strlen(prefix);
    g_free(line);
    // With --redis the server listens at once and says on /healthz when it has Redis.
    if (env_args) {
        guint status = 0;
        if (!wait_until([&] {
                http_get(url_ + "healthz", &status);
                return status == 200;
            }))
            g_error("duet-server (%s) did not answer /healthz with 200 within 5 s (last %u)",
                    g_getenv("DUET_SERVER_ARGS"), status);
        g_strfreev(env_args);
    }
}

ServerProcess::~ServerProcess() {
    if (!proc_)
        return;
    bool was_alive = alive();
    g_subprocess_send_signal(proc_, SIGTERM);
    g_subprocess_wait(proc_, nullptr, nullptr);
    // It must have survived the test and must exit cleanly on SIGTERM.
    g_assert_true(was_alive);
    g_assert_true(g_subprocess_get_if_exited(proc_));
    g_assert_cmpint(g_subprocess_get_exit_status(proc_), ==, 0);
    g_object_unref(proc_);
}

std::string ServerProcess::port() const {
    std::string rest = url_.substr(url_.rfind(':') + 1);
    return rest.substr(0, rest.find('/'));
}

void ServerProcess::kill_hard() {
    if (!proc_)
        return;
    g_assert_true(alive());
    g_subprocess_force_exit(proc_);
    g_subprocess_wait(proc_, nullptr, nullptr);
    g_assert_true(g_subprocess_get_if_signaled(proc_));
    g_object_unref(proc_);
    proc_ = nullptr;
}

bool ServerProcess::alive() const {
    // The identifier (pid) is cleared once the child has been reaped.
    g_main_context_iteration(nullptr, FALSE);
    return proc_ && g_subprocess_get_identifier(proc_) != nullptr;
}

void assert_call_completes(const ServerProcess &server) {
    static int rooms = 0;
    std::string room = "healthy-" + std::to_string(++rooms);
    std::string join = "{\"type\":\"join\",\"room\":\"" + room + "\"}";
    Client a(server.ws_url()), b(server.ws_url());
    g_assert_true(a.open() && b.open());
    a.send(join);
    std::string ja = a.next("joined");
    g_assert_false(ja.empty());
    b.send(join);
    std::string jb = b.next("joined");
    g_assert_false(jb.empty());
    std::string id_a = json_str(ja, "id"), id_b = json_str(jb, "id");
    g_assert_true(json_str(a.next("peer-joined"), "id") == id_b);

    // Sends `data` from one side and checks the other receives it from the right id.
    auto relay = [](Client &from, const std::string &from_id, Client &to, const std::string &to_id,
                    const std::string &data, const char *needle) {
        from.send("{\"type\":\"signal\",\"to\":\"" + to_id + "\",\"data\":" + data + "}");
        std::string got = to.next("signal");
        if (json_str(got, "from") != from_id || got.find(needle) == std::string::npos)
            g_error("relayed signal wrong or missing: expected %s from %s, got '%s'", needle,
                    from_id.c_str(), got.c_str());
    };
    relay(b, id_b, a, id_a, R"({"sdp":{"type":"offer","sdp":"v=0 offer"}})", "v=0 offer");
    relay(a, id_a, b, id_b, R"({"sdp":{"type":"answer","sdp":"v=0 answer"}})", "v=0 answer");
    relay(b, id_b, a, id_a,
          R"({"candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host",)"
          R"("sdpMLineIndex":0,"sdpMid":"0"}})",
          "127.0.0.1 9 typ host");
    relay(a, id_a, b, id_b,
          R"({"candidate":{"candidate":"candidate:2 1 udp 1 127.0.0.1 7 typ host",)"
          R"("sdpMLineIndex":0,"sdpMid":"0"}})",
          "127.0.0.1 7 typ host");
    b.send(R"({"type":"leave"})");
    g_assert_false(a.next("peer-left").empty());
    g_assert_true(server.alive());
}

static gboolean accept_any_certificate(SoupMessage *, GTlsCertificate *, GTlsCertificateFlags,
                                       gpointer) {
    return TRUE;
}

std::string http_get(const std::string &url, guint *status) {
    SoupSession *s = soup_session_new();
    SoupMessage *m = soup_message_new("GET", url.c_str());
    g_signal_connect(m, "accept-certificate", G_CALLBACK(accept_any_certificate), nullptr);
    GBytes *body = soup_session_send_and_read(s, m, nullptr, nullptr);
    *status = soup_message_get_status(m);
    std::string out;
    if (body) {
        gsize n = 0;
        auto *d = static_cast<const char *>(g_bytes_get_data(body, &n));
        out.assign(d ? d : "", n);
        g_bytes_unref(body);
    }
    g_object_unref(m);
    g_object_unref(s);
    return out;
}

double metric(const std::string &text, const std::string &sample) {
    for (std::size_t at = text.find(sample); at != std::string::npos;
         at = text.find(sample, at + 1)) {
        bool starts_line = at == 0 || text[at - 1] == '\n';
        if (starts_line && text.compare(at + sample.size(), 1, " ") == 0)
            return g_ascii_strtod(text.c_str() + at + sample.size() + 1, nullptr);
    }
    return -1;
}

double metric(const ServerProcess &server, const std::string &sample) {
    guint status = 0;
    std::string text = http_get(server.http_url() + "metrics", &status);
    g_assert_cmpuint(status, ==, 200);
    return metric(text, sample);
}

Client::Client(const std::string &ws_url, const char *origin) {
    session_ = soup_session_new();
    SoupMessage *msg = soup_message_new("GET", ws_url.c_str());
    g_signal_connect(msg, "accept-certificate", G_CALLBACK(accept_any_certificate), nullptr);
    bool done = false;
    struct Ctx {
        Client *self;
        bool *done;
    } ctx{this, &done};
    soup_session_websocket_connect_async(
        session_, msg, origin, nullptr, G_PRIORITY_DEFAULT, nullptr,
        [](GObject *src, GAsyncResult *res, gpointer data) {
            auto *c = static_cast<Ctx *>(data);
            GError *err = nullptr;
            c->self->ws_ = soup_session_websocket_connect_finish(SOUP_SESSION(src), res, &err);
            if (err) {
                g_message("websocket connect failed: %s", err->message);
                g_error_free(err);
            }
            *c->done = true;
        },
        &ctx);
    wait_until([&] { return done; }, 5000);
    handshake_status_ = soup_message_get_status(msg);
    g_object_unref(msg);
    if (!ws_)
        return;
    soup_websocket_connection_set_max_incoming_payload_size(ws_, 0);
    g_signal_connect_swapped(ws_, "message", G_CALLBACK(+[](Client *self, gint type, GBytes *b) {
                                 if (type != SOUP_WEBSOCKET_DATA_TEXT)
                                     return;
                                 gsize n = 0;
                                 auto *d = static_cast<const char *>(g_bytes_get_data(b, &n));
                                 self->inbox_.emplace_back(d, n);
                             }),
                             this);
    g_signal_connect_swapped(ws_, "closed", G_CALLBACK(+[](Client *self) {
                                 self->closed_ = true;
                                 self->close_code_ =
                                     soup_websocket_connection_get_close_code(self->ws_);
                             }),
                             this);
}

Client::~Client() {
    if (ws_) {
        g_signal_handlers_disconnect_by_data(ws_, this);
        if (soup_websocket_connection_get_state(ws_) == SOUP_WEBSOCKET_STATE_OPEN)
            soup_websocket_connection_close(ws_, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
        g_object_unref(ws_);
    }
    g_object_unref(session_);
}

bool Client::open() const {
    return ws_ && !closed_ && soup_websocket_connection_get_state(ws_) == SOUP_WEBSOCKET_STATE_OPEN;
}

void Client::send(const std::string &text) {
    g_assert_true(open());
    // send_text needs a C string; frames with NUL bytes go through send_message.
    GBytes *b = g_bytes_new(text.data(), text.size());
    soup_websocket_connection_send_message(ws_, SOUP_WEBSOCKET_DATA_TEXT, b);
    g_bytes_unref(b);
}

void Client::send_binary(const std::string &bytes) {
    g_assert_true(open());
    soup_websocket_connection_send_binary(ws_, bytes.data(), bytes.size());
}

void Client::close() {
    if (open())
        soup_websocket_connection_close(ws_, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
    wait_closed();
}

std::string Client::next(const char *type, unsigned timeout_ms) {
    std::string found;
    wait_until(
        [&] {
            while (!inbox_.empty()) {
                std::string m = std::move(inbox_.front());
                inbox_.pop_front();
                if (json_str(m, "type") == type) {
                    found = std::move(m);
                    return true;
                }
            }
            return false;
        },
        timeout_ms);
    return found;
}

bool Client::wait_closed(unsigned timeout_ms) {
    return wait_until([&] { return closed_; }, timeout_ms);
}

static JsonNode *member(const std::string &json, const char *name, JsonParser **parser) {
    *parser = json_parser_new();
    if (!json_parser_load_from_data(*parser, json.data(), gssize(json.size()), nullptr))
        return nullptr;
    JsonNode *root = json_parser_get_root(*parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
        return nullptr;
    return json_object_get_member(json_node_get_object(root), name);
}

std::string json_str(const std::string &json, const char *name) {
    JsonParser *p = nullptr;
    JsonNode *n = member(json, name, &p);
    std::string out;
    if (n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
        out = json_node_get_string(n);
    g_object_unref(p);
    return out;
}

bool json_bool(const std::string &json, const char *name) {
    JsonParser *p = nullptr;
    JsonNode *n = member(json, name, &p);
    bool out = n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_BOOLEAN &&
               json_node_get_boolean(n);
    g_object_unref(p);
    return out;
}

double json_num(const std::string &json, const char *name, double fallback) {
    JsonParser *p = nullptr;
    JsonNode *n = member(json, name, &p);
    double out = fallback;
    if (n && JSON_NODE_HOLDS_VALUE(n)) {
        GType t = json_node_get_value_type(n);
        if (t == G_TYPE_INT64 || t == G_TYPE_DOUBLE)
            out = json_node_get_double(n);
    }
    g_object_unref(p);
    return out;
}

std::vector<std::string> json_strs(const std::string &json, const char *name) {
    JsonParser *p = nullptr;
    JsonNode *n = member(json, name, &p);
    std::vector<std::string> out;
    if (n && JSON_NODE_HOLDS_ARRAY(n)) {
        JsonArray *a = json_node_get_array(n);
        for (guint i = 0; i < json_array_get_length(a); ++i)
            out.emplace_back(json_array_get_string_element(a, i));
    }
    g_object_unref(p);
    return out;
}

} // namespace duet::testing

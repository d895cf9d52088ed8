// SPDX-License-Identifier: MIT
// duet-peer child processes for integration tests, read asynchronously on the main context.
#include "peer_harness.h"

#include <glib/gstdio.h>

#include <csignal>
#include <sys/prctl.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace duet::testing {

const char *peer_path() {
    const char *p = g_getenv("DUET_PEER");
    return p ? p : "build/src/duet-peer";
}

const std::string &scratch_dir() {
    static std::string dir = [] {
        const char *base = g_getenv("DUET_SCRATCH");
        std::string tmpl =
            std::string(base && *base ? base : g_get_tmp_dir()) + "/duet-peer-test-XXXXXX";
        g_mkdir_with_parents(std::filesystem::path(tmpl).parent_path().c_str(), 0700);
        if (!g_mkdtemp(tmpl.data()))
            g_error("cannot make a scratch directory from %s", tmpl.c_str());
        return tmpl;
    }();
    return dir;
}

int finish_tests(int rc) {
    static_cast<void>(scratch_dir());
    // DUET_KEEP_SCRATCH keeps the logs of a passing run too, for a look at its figures.
    if (rc == 0 && !g_getenv("DUET_KEEP_SCRATCH")) {
        std::error_code ec;
        std::filesystem::remove_all(scratch_dir(), ec);
    } else {
        g_printerr("peer logs and files kept in %s\n", scratch_dir().c_str());
    }
    return rc;
}

std::string joined_id(PeerProcess &p) {
    std::string joined = p.wait_event("joined", {}, kJoinTimeoutMs);
    g_assert_false(joined.empty());
    return json_str(joined, "id");
}

Pair connected_pair(const std::string &ws_url, const std::string &room,
                    const PairOptions &options) {
    Pair p;
    p.a = std::make_unique<PeerProcess>("a-" + room, ws_url, room, options.a_args, options.env,
                                        options.a_prefix);
    p.a_id = joined_id(*p.a);
    p.b = std::make_unique<PeerProcess>("b-" + room, ws_url, room, options.b_args, options.env,
                                        options.b_prefix);
    p.b_id = joined_id(*p.b);
    for (const char *kind : {"video", "audio"}) {
        g_assert_false(p.a->wait_first_frame(kind, p.b_id).empty());
        g_assert_false(p.b->wait_first_frame(kind, p.a_id).empty());
    }
    return p;
}

void assert_media_call_completes(const ServerProcess &server) {
    static int calls = 0;
    std::string room = "healthy-media-" + std::to_string(getpid()) + "-" + std::to_string(++calls);
    PairOptions options;
    if (const char *asan = g_getenv("DUET_PEER_ASAN_OPTIONS"))
        options.env.push_back(std::string("ASAN_OPTIONS=") + asan);
    Pair p = connected_pair(server.ws_url(), room, options);
    for (auto *peer : {p.a.get(), p.b.get()})
        peer->send_signal(SIGTERM);
    for (auto *peer : {p.a.get(), p.b.get()}) {
        g_assert_true(peer->wait_exit());
        g_assert_cmpint(peer->exit_status(), ==, 0);
    }
    g_assert_true(server.alive());
}

PeerProcess::PeerProcess(const std::string &name, const std::string &ws_url,
                         const std::string &room, std::vector<std::string> extra,
                         std::vector<std::string> env, std::vector<std::string> prefix)
    : name_(name), log_path_(scratch_dir() + "/" + name + ".log") {
    // 320x240@15 keeps four encoders and decoders within a 2-core machine's means.
    std::vector<std::string> args{peer_path(), "--room",         room,
                                  "--server",  ws_url,           "--events",
                                  "--sink",    "none",           "--video-source",
                                  "test",      "--audio-source", "test",
                                  "--size",    "320x240",        "--fps",
                                  "15",        "--state-dir",    scratch_dir() + "/state"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.begin(), prefix.begin(), prefix.end());
    std::vector<const char *> argv;
    for (auto &a : args)
        argv.push_back(a.c_str());
    argv.push_back(nullptr);

    GSubprocessLauncher *l = g_subprocess_launcher_new(
        GSubprocessFlags(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDIN_PIPE));
    g_subprocess_launcher_set_stderr_file_path(l, log_path_.c_str());
    g_subprocess_launcher_setenv(l, "G_MESSAGES_DEBUG", "duet", TRUE);
    // If the test dies (a failed assertion aborts), its peers must not outlive it: they
    // would hold the test's stdout pipe open and stall the test runner until its timeout.
    g_subprocess_launcher_set_child_setup(
        l, [](gpointer) { prctl(PR_SET_PDEATHSIG, SIGKILL); }, nullptr, nullptr);
    for (const auto &kv : env) {
        auto eq = kv.find('=');
        g_subprocess_launcher_setenv(l, kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), TRUE);
    }
    GError *err = nullptr;
    proc_ = g_subprocess_launcher_spawnv(l, argv.data(), &err);
    g_object_unref(l);
    if (!proc_)
        g_error("cannot start %s: %s", peer_path(), err->message);
    g_subprocess_wait_async(
        proc_, nullptr,
        [](GObject *, GAsyncResult *, gpointer self) {
            static_cast<PeerProcess *>(self)->done_ = true;
        },
        this);
    out_ = g_data_input_stream_new(g_subprocess_get_stdout_pipe(proc_));
    cancel_ = g_cancellable_new();
    read_next_line();
}

PeerProcess::~PeerProcess() {
    g_cancellable_cancel(cancel_);
    if (!done_) {
        g_subprocess_force_exit(proc_);
        wait_until([this] { return done_; }, kExitTimeoutMs);
    }
    // Let the cancelled read and the wait callback run before we go away.
    wait_until([] { return false; }, 50);
    g_object_unref(out_);
    g_object_unref(cancel_);
    g_object_unref(proc_);
}

void PeerProcess::read_next_line() {
    g_data_input_stream_read_line_async(
        out_, G_PRIORITY_DEFAULT, cancel_,
        [](GObject *src, GAsyncResult *res, gpointer data) {
            GError *err = nullptr;
            gsize len = 0;
            char *line = g_data_input_stream_read_line_finish_utf8(G_DATA_INPUT_STREAM(src), res,
                                                                   &len, &err);
            if (err) {
                g_error_free(err); // cancelled: `data` may be gone
                return;
            }
            if (!line)
                return; // EOF
            auto *self = static_cast<PeerProcess *>(data);
            if (g_test_verbose())
                g_printerr("[%s] %s\n", self->name_.c_str(), line);
            self->events_.emplace_back(line);
            g_free(line);
            self->read_next_line();
        },
        this);
}

void PeerProcess::write_stdin(const std::string &text) {
    GOutputStream *in = g_subprocess_get_stdin_pipe(proc_);
    GError *err = nullptr;
    if (!g_output_stream_write_all(in, text.data(), text.size(), nullptr, nullptr, &err) ||
        !g_output_stream_flush(in, nullptr, &err)) {
        g_printerr("%s: cannot write to its standard input: %s\n", name_.c_str(), err->message);
        g_error_free(err);
    }
}

std::string PeerProcess::wait_event(const std::string &name,
                                    const std::function<bool(const std::string &)> &pred,
                                    unsigned timeout_ms, std::size_t from) {
    std::string found;
    std::size_t next = from;
    wait_until(
        [&] {
            for (; next < events_.size(); ++next) {
                const std::string &e = events_[next];
                if (json_str(e, "event") == name && (!pred || pred(e))) {
                    found = e;
                    return true;
                }
            }
            return false;
        },
        timeout_ms);
    if (found.empty()) {
        g_printerr("%s: no '%s' event within %u ms\n", name_.c_str(), name.c_str(), timeout_ms);
        print_log_tail();
    }
    return found;
}

std::string PeerProcess::wait_first_frame(const char *kind, const std::string &peer,
                                          std::size_t from, unsigned timeout_ms) {
    return wait_event(
        "first-frame",
        [&](const std::string &e) {
            return json_str(e, "kind") == kind && (peer.empty() || json_str(e, "peer") == peer);
        },
        timeout_ms, from);
}

void PeerProcess::send_signal(int sig) {
    if (!done_)
        g_subprocess_send_signal(proc_, sig);
}

bool PeerProcess::wait_exit(unsigned timeout_ms) {
    bool ok = wait_until([this] { return done_; }, timeout_ms);
    if (!ok) {
        g_printerr("%s: still running after %u ms\n", name_.c_str(), timeout_ms);
        print_log_tail();
    }
    return ok;
}

int PeerProcess::exit_status() const {
    if (!done_)
        return -1000;
    if (g_subprocess_get_if_signaled(proc_))
        return -g_subprocess_get_term_sig(proc_);
    return g_subprocess_get_exit_status(proc_);
}

int PeerProcess::pid() const {
    const char *id = g_subprocess_get_identifier(proc_);
    return id ? std::atoi(id) : 0;
}

void PeerProcess::print_log_tail(std::size_t lines) const {
    std::ifstream in(log_path_);
    std::vector<std::string> all;
    std::string line;
    while (std::getline(in, line))
        if (line.find("ALSA lib") == std::string::npos && line.find("AL lib") == std::string::npos)
            all.push_back(line);
    std::size_t start = all.size() > lines ? all.size() - lines : 0;
    g_printerr("--- %s: events ---\n", name_.c_str());
    for (const auto &e : events_)
        g_printerr("%s\n", e.c_str());
    g_printerr("--- %s: last %zu log lines (%s) ---\n", name_.c_str(), all.size() - start,
               log_path_.c_str());
    for (std::size_t i = start; i < all.size(); ++i)
        g_printerr("%s\n", all[i].c_str());
}

void end_recorded_call(Pair &p, unsigned prompt_ms) {
    std::size_t mark = p.a->mark();
    p.b->send_signal(SIGTERM);
    g_assert_true(p.b->wait_exit());
    g_assert_false(p.a->wait_event("peer-left", {}, prompt_ms, mark).empty());
    p.a->send_signal(SIGINT);
    g_assert_true(p.a->wait_exit());
    g_assert_cmpint(p.a->exit_status(), ==, 0);
}

std::string discover_media_file(const std::string &file) {
    gchar *discoverer = g_find_program_in_path("gst-discoverer-1.0");
    if (!discoverer) {
        g_test_skip("gst-discoverer-1.0 missing (apt-get install gstreamer1.0-plugins-base-apps)");
        return {};
    }
    const char *argv[] = {discoverer, file.c_str(), nullptr};
    GError *err = nullptr;
    GSubprocess *d = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &err);
    g_assert_no_error(err);
    gchar *out = nullptr;
    g_assert_true(g_subprocess_communicate_utf8(d, nullptr, nullptr, &out, nullptr, &err));
    g_assert_no_error(err);
    std::string text = out ? out : "";
    g_test_message("%s", text.c_str());
    g_free(out);
    g_object_unref(d);
    g_free(discoverer);
    return text;
}

} // namespace duet::testing

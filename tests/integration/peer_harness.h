// SPDX-License-Identifier: MIT
// Test harness for duet-peer processes: start, read `--events` lines, signal, reap.
#pragma once

#include "harness.h"
#include "tests/check_str.h"

#include <gio/gio.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace duet::testing {

// Bounds for waits in peer tests, on a loaded 2-core machine: a call between two peers on
// loopback connects in ~1.5 s; media and exits come well within these.
inline constexpr unsigned kJoinTimeoutMs = 10000;
inline constexpr unsigned kMediaTimeoutMs = 20000;
inline constexpr unsigned kExitTimeoutMs = 10000;

// One duet-peer child with `--events`; stdout lines are collected as they arrive, stderr
// goes to a log file named after the peer (printed when a wait fails).
class PeerProcess {
  public:
    // Common flags for tests: small test media, no window. `extra` is appended. `prefix`
    // goes before the program, e.g. {"ip", "netns", "exec", NAME} (it must exec, not fork).
    PeerProcess(const std::string &name, const std::string &ws_url, const std::string &room,
                std::vector<std::string> extra = {}, std::vector<std::string> env = {},
                std::vector<std::string> prefix = {});
    ~PeerProcess(); // SIGKILL if still running

    // Raw JSON lines seen so far.
    const std::vector<std::string> &events() const { return events_; }
    // Waits for an event `name` at index >= from for which pred (if any) holds. Returns
    // the line, or "" on timeout (after printing the log tail).
    std::string wait_event(const std::string &name,
                           const std::function<bool(const std::string &)> &pred = {},
                           unsigned timeout_ms = kMediaTimeoutMs, std::size_t from = 0);
    // Convenience: first-frame of `kind` (from `peer` if not empty).
    std::string wait_first_frame(const char *kind, const std::string &peer = {},
                                 std::size_t from = 0, unsigned timeout_ms = kMediaTimeoutMs);
    std::size_t mark() const { return events_.size(); }

    // Writes `text` to its standard input (a pipe, open until the process ends).
    void write_stdin(const std::string &text);
    void send_signal(int sig);
    // Waits for the process to end; true if it did within the timeout.
    bool wait_exit(unsigned timeout_ms = kExitTimeoutMs);
    bool exited() const { return done_; }
    // Exit status (valid after wait_exit): the code, or -signal if killed by a signal.
    int exit_status() const;
    const std::string &log_path() const { return log_path_; }
    // The process id while it runs (for /proc figures), 0 once it has been reaped.
    int pid() const;
    void print_log_tail(std::size_t lines = 40) const;

  private:
    void read_next_line();

    std::string name_;
    std::string log_path_;
    GSubprocess *proc_ = nullptr;
    GDataInputStream *out_ = nullptr;
    GCancellable *cancel_ = nullptr;
    std::vector<std::string> events_;
    bool done_ = false;
};

// The id in `p`'s `joined` event; fails the test if it does not come within kJoinTimeoutMs.
std::string joined_id(PeerProcess &p);

// Two duet-peers in one call: `a` joined first and answered, `b` joined and offered.
struct Pair {
    std::unique_ptr<PeerProcess> a, b;
    std::string a_id, b_id;
};
struct PairOptions {
    std::vector<std::string> a_args, b_args; // extra flags for each
    std::vector<std::string> env;            // for both, "KEY=VALUE"
    std::vector<std::string> a_prefix, b_prefix;
};
// Starts "a-ROOM", waits for it to join, starts "b-ROOM"; returns once each has decoded
// the other's video and audio (fails the test otherwise).
Pair connected_pair(const std::string &ws_url, const std::string &room,
                    const PairOptions &options = {});

// Two duet-peer processes meet in a fresh room on `server` and hold a real call: each
// decodes the other's video and audio, then both leave on SIGTERM and exit 0. Tests that
// abuse a server run it after assert_call_completes, to show that a whole call, media
// included, still works for everyone else. ASAN_OPTIONS for the peers come from
// $DUET_PEER_ASAN_OPTIONS when set (sanitizer builds need a slower unwinder for them).
void assert_media_call_completes(const ServerProcess &server);

// Ends a recorded call: `b` leaves (SIGTERM), `a` is told and then stopped with SIGINT,
// which finishes its file; `a` must exit 0 within the bounds.
void end_recorded_call(Pair &p, unsigned prompt_ms);

// What gst-discoverer-1.0 says of a media file (its container, streams and codecs), or ""
// after marking the test skipped when the tool is not installed.
std::string discover_media_file(const std::string &file);

// Path of the built duet-peer (DUET_PEER, else build/src/duet-peer).
const char *peer_path();
// A scratch directory for this test binary's files (logs, recordings), under
// $DUET_SCRATCH (the build directory, set by meson) or the system temp directory.
const std::string &scratch_dir();
// Ends a test program: removes the scratch directory if every test passed (rc 0) and
// DUET_KEEP_SCRATCH is not set, else
// keeps it and says where, for the logs. Returns rc.
int finish_tests(int rc);

} // namespace duet::testing

// SPDX-License-Identifier: MIT
// Test harness: a real duet-server child process and WebSocket clients on loopback.
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace duet::testing {

// Iterates the default main context until pred() or the timeout; returns pred().
bool wait_until(const std::function<bool()> &pred, unsigned timeout_ms = 5000);

// A duet-server started with --port 0; the URL comes from its readiness line.
class ServerProcess {
  public:
    // `wrapper` goes before the program, e.g. {"ip", "netns", "exec", NAME}; a later
    // `--host` in `extra_args` overrides the loopback default.
    explicit ServerProcess(std::vector<std::string> extra_args = {},
                           std::vector<std::pair<std::string, std::string>> env = {},
                           std::vector<std::string> wrapper = {});
    bool tls() const { return url_.rfind("https://", 0) == 0; }
    ~ServerProcess();
    const std::string &http_url() const { return url_; } // http://127.0.0.1:PORT/
    std::string ws_url() const {
        return tls() ? "wss://" + url_.substr(8) + "ws" : "ws://" + url_.substr(7) + "ws";
    }
    bool alive() const;
    // The port it listens on (to start a successor on the same one).
    std::string port() const;
    // SIGKILL, as a crash would: the destructor then expects nothing of it.
    void kill_hard();

  private:
    GSubprocess *proc_ = nullptr;
    std::string url_;
};

// One WebSocket client; received text frames are queued as strings.
class Client {
  public:
    // `origin` is sent as the Origin header (browsers always send one; native clients none).
    // TLS certificates are accepted without checks: tests use throwaway self-signed ones.
    explicit Client(const std::string &ws_url, const char *origin = nullptr);
    guint handshake_status() const { return handshake_status_; }
    ~Client();
    bool open() const;
    void send(const std::string &text);
    void send_binary(const std::string &bytes);
    // Waits for the next text frame whose JSON `type` equals `type` (skipping others).
    // Returns the frame, or "" on timeout.
    std::string next(const char *type, unsigned timeout_ms = 5000);
    bool wait_closed(unsigned timeout_ms = 5000);
    gushort close_code() const { return close_code_; }
    std::deque<std::string> &inbox() { return inbox_; }
    void close();

  private:
    SoupSession *session_ = nullptr;
    SoupWebsocketConnection *ws_ = nullptr;
    std::deque<std::string> inbox_;
    bool closed_ = false;
    gushort close_code_ = 0;
    guint handshake_status_ = 0;
};

// A normal pair meets in a fresh room on `server` and completes a call's signaling: the
// newcomer's offer, the answer, and an ICE candidate each way, each relayed with the right
// `from` and content. Tests run it after each abusive client to show the server still
// serves everyone else. Asserts (fails the test) on any step that does not happen.
void assert_call_completes(const ServerProcess &server);

// GET over http(s) (self-signed certificates accepted); returns the body, status in *status.
std::string http_get(const std::string &url, guint *status);

// One sample of Prometheus text, e.g. `duet_rooms` or `duet_errors_total{code="x"}`; -1
// when it is not there.
double metric(const std::string &text, const std::string &sample);
// The same, read from `server`'s /metrics now (asserts the page answers 200).
double metric(const ServerProcess &server, const std::string &sample);

// Small JSON accessors for assertions (return "" / -1 when missing).
std::string json_str(const std::string &json, const char *member);
bool json_bool(const std::string &json, const char *member);
// A JSON number (integer or not); `fallback` when missing or not a number.
double json_num(const std::string &json, const char *member, double fallback = -1);
std::vector<std::string> json_strs(const std::string &json, const char *member);

} // namespace duet::testing

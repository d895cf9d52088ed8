// SPDX-License-Identifier: MIT
// Test harness: a throwaway redis-server child process on loopback (no persistence), that
// tests can kill, stop, resume and restart on the same port.
#pragma once

#include <gio/gio.h>

#include <string>
#include <vector>

namespace duet::testing {

class RedisServer {
  public:
    struct Options {
        int port = 0;            // 0: a free loopback port
        std::string password;    // --requirepass
        std::string unix_socket; // also listen on this socket (--unixsocket)
        bool start = true;       // false: pick the port, start later with start()
    };
    RedisServer() : RedisServer(Options{}) {}
    explicit RedisServer(Options options);
    ~RedisServer(); // kills it (SIGKILL: nothing of it is kept)
    RedisServer(const RedisServer &) = delete;
    RedisServer &operator=(const RedisServer &) = delete;

    // Starts it (again) on the same port and waits until it answers PING (asserts).
    void start();
    void kill_hard(); // SIGKILL and reap
    void stop();      // SIGSTOP: it accepts connections but answers nothing
    void resume();    // SIGCONT
    bool running() const { return proc_ != nullptr; }

    int port() const { return opt_.port; }
    // redis://[:PASSWORD@]127.0.0.1:PORT (the password percent-encoded).
    std::string url() const;
    // One command on a fresh blocking connection (AUTH first when there is a password);
    // the reply as text: a string/status/error as is, an integer in decimal, nil as
    // "(nil)", an array as its elements joined by '\n'. Asserts that it connects.
    std::string run(const std::vector<std::string> &argv, int db = 0) const;

  private:
    Options opt_;
    GSubprocess *proc_ = nullptr;
};

// A TCP port on 127.0.0.1 that nothing listens on right now.
int free_loopback_port();

} // namespace duet::testing

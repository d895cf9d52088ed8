// SPDX-License-Identifier: MIT
// A Redis client for duet-server's main loop: hiredis's async API driven by GLib sources,
// so no call ever blocks the loop. One command connection and, when anything is
// subscribed, one subscriber connection; both come back by themselves (with backoff) after
// Redis restarts or the network drops.
#pragma once

#include "common/result.h"

#include <glib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace duet::signaling::redis {

// Where Redis is: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (HOST may be [v6]; PORT
// 6379; DB 0), or unix:PATH[?db=N&password=P]. Passwords may be percent-encoded.
struct Url {
    bool is_unix = false;
    std::string host;
    int port = 6379;
    std::string path; // unix socket
    int db = 0;
    std::string user;     // ACL user (Redis 6+); empty: AUTH with the password alone
    std::string password; // empty: no AUTH
    // The URL with the password replaced by "***", for logs and /metrics.
    std::string redacted() const;
};
Result<Url> parse_url(std::string_view text);

// One reply, copied out of hiredis's reply tree.
struct Reply {
    enum class Type { Nil, Status, Error, Integer, String, Array };
    Type type = Type::Nil;
    long long integer = 0;
    std::string str; // Status, Error, String
    std::vector<Reply> elements;
    bool is_error() const { return type == Type::Error; }
};

struct ClientOptions {
    // A connection attempt (TCP connect + AUTH + SELECT + SUBSCRIBE) that has not finished
    // in this long is given up and retried.
    unsigned connect_timeout_ms = 2000;
    // A command without a reply for this long means Redis is stuck (or the path to it is):
    // both connections are dropped, every pending callback gets an error reply, and the
    // client reconnects.
    unsigned command_timeout_ms = 3000;
    // Reconnect delay: starts here, doubles per failed attempt up to the max, with jitter.
    unsigned backoff_min_ms = 100;
    unsigned backoff_max_ms = 5000;
};

class Client {
  public:
    using Callback = std::function<void(const Reply &)>;
    using StateCallback = std::function<void(bool up)>;
    using MessageCallback = std::function<void(std::string_view channel, std::string_view payload)>;

    // Sources attach to `context` (nullptr: the thread-default context at construction).
    Client(Url url, ClientOptions options = {}, GMainContext *context = nullptr);
    ~Client(); // frees both connections without calling any callback
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;

    // Called on every change: true once both connections are ready (authenticated, DB
    // selected, subscriptions active), false when either is lost. Never called from
    // inside command() or the destructor.
    void on_state(StateCallback cb);
    // Messages on subscribed channels, in arrival order.
    void on_message(MessageCallback cb);
    // Channels to subscribe to; the subscriber connection (re)subscribes on every connect.
    // Call before start().
    void subscribe(std::string channel);
    // Starts connecting; afterwards keeps connected until destroyed.
    void start();

    bool up() const;
    // Sends one command (binary-safe arguments). Returns false, without calling `cb`, when
    // not up. Otherwise `cb` (if set) is called exactly once: with the reply, or with an
    // Error reply ("connection lost", "timed out") if the connection goes first.
    bool command(const std::vector<std::string_view> &argv, Callback cb = {});

    // A Lua script loaded once per connection: EVALSHA, and EVAL when Redis answers
    // NOSCRIPT (after a restart or SCRIPT FLUSH). Same return and callback rules as
    // command().
    class Script {
      public:
        explicit Script(std::string lua);
        const std::string &lua() const { return lua_; }
        const std::string &sha1() const { return sha1_; }

      private:
        std::string lua_;
        std::string sha1_; // hex
    };
    bool eval(const Script &script, const std::vector<std::string_view> &keys,
              const std::vector<std::string_view> &args, Callback cb = {});

    // Times the connections came back after being up (for /metrics).
    std::uint64_t reconnects() const;
    // Commands waiting for a reply.
    std::size_t pending() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace duet::signaling::redis

// SPDX-License-Identifier: MIT
// --control: the local program's end of the duet-control channel, a Unix stream socket
// (any number of clients up to kMaxControlClients) or standard input and output. Lines
// come in (bounded by kMaxControlLineBytes) and go out to every client. Runs on the
// thread-default main context of its creator.
#pragma once

#include "common/main_thread.h"
#include "common/result.h"
#include "src/peer/control_line.h"

#include <glib-unix.h>
#include <glib.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace duet::peer {

class ControlBridge {
  public:
    using OnLine = std::function<void(const std::string &line)>; // without the newline

    // Listens on `path` (mode 0660). A stale socket file there (nobody answers) is
    // replaced; a live one, or anything that is not a socket, is refused with the reason.
    static Result<std::unique_ptr<ControlBridge>> listen_unix(const std::string &path,
                                                              OnLine on_line);
    // Reads standard input and writes to standard output (which then carries nothing else).
    static std::unique_ptr<ControlBridge> stdio(OnLine on_line);
    ~ControlBridge(); // closes the clients and removes the socket file
    ControlBridge(const ControlBridge &) = delete;
    ControlBridge &operator=(const ControlBridge &) = delete;

    // `line` (ending in a newline) to every client. A socket client that has not read
    // kMaxControlBacklogBytes is cut off; on stdio the line is dropped instead.
    void broadcast(const std::string &line);
    std::size_t clients() const { return conns_.size(); }
    const std::string &description() const { return description_; }

  private:
    struct Conn;
    explicit ControlBridge(OnLine on_line);
    void accept_clients();
    void add_conn(int in_fd, int out_fd, bool socket, std::string name);
    void on_readable(Conn &c);
    void flush(Conn &c);
    void drop_conn(Conn *c, const char *why);
    guint watch(int fd, GIOCondition cond, GUnixFDSourceFunc fn, gpointer data);

    OnLine on_line_;
    std::string description_;
    std::string path_; // the socket file we made ("" with stdio)
    int listen_fd_ = -1;
    guint listen_watch_ = 0;
    std::vector<std::unique_ptr<Conn>> conns_;
    unsigned next_client_ = 1;
    Lifeline lifeline_;
};

} // namespace duet::peer

// SPDX-License-Identifier: MIT
#include "src/peer/control_bridge.h"

#include <glib-unix.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace duet::peer {
namespace {

// A pipe takes PIPE_BUF bytes without blocking once poll says it is writable: standard
// output (which may be a blocking descriptor shared with others) gets at most that per go.
constexpr std::size_t kStdoutChunk = 4096;
constexpr std::size_t kReadChunk = 64 * 1024;

std::string errno_text(int e) { return g_strerror(e); }

} // namespace

struct ControlBridge::Conn {
    ControlBridge *bridge;
    int in_fd = -1, out_fd = -1;
    bool socket = false; // a socket client (ours to close); else standard input/output
    std::string name;
    guint in_watch = 0, out_watch = 0;
    LineSplitter splitter;
    std::string out; // not written yet
    bool reading = true;
};

ControlBridge::ControlBridge(OnLine on_line) : on_line_(std::move(on_line)) {}

Result<std::unique_ptr<ControlBridge>> ControlBridge::listen_unix(const std::string &path,
                                                                  OnLine on_line) {
    const std::string where = "--control unix:" + path;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path)
        return fail(where + ": a socket path must be 1 to " +
                    std::to_string(sizeof addr.sun_path - 1) + " bytes long");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(where + ": cannot make a socket: " + errno_text(errno));
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            close(fd);
            return fail(where + ": the path exists and is not a socket; not replacing it");
        }
        // Someone answering there is a live program: not ours to take over.
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool live = probe >= 0 &&
                    connect(probe, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
        int probe_errno = errno;
        if (probe >= 0)
            close(probe);
        if (live) {
            close(fd);
            return fail(where + ": another program is listening on that socket");
        }
        if (probe_errno != ECONNREFUSED && probe_errno != ENOENT) {
            close(fd);
            return fail(where + ": cannot tell whether the socket there is in use: " +
                        errno_text(probe_errno));
        }
        if (unlink(path.c_str()) != 0 && errno != ENOENT) {
            int e = errno;
            close(fd);
            return fail(where + ": cannot remove the stale socket: " + errno_text(e));
        }
        g_message("%s: replaced a stale socket file", where.c_str());
    }
    if (bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
        int e = errno;
        close(fd);
        return fail(where + ": cannot listen there: " + errno_text(e));
    }
    if (chmod(path.c_str(), 0660) != 0 || listen(fd, int(kMaxControlClients)) != 0) {
        int e = errno;
        close(fd);
        unlink(path.c_str());
        return fail(where + ": cannot listen there: " + errno_text(e));
    }
    std::unique_ptr<ControlBridge> b(new ControlBridge(std::move(on_line)));
    b->listen_fd_ = fd;
    b->path_ = path;
    b->description_ = "unix:" + path;
    b->listen_watch_ = b->watch(
        fd, G_IO_IN,
        [](gint, GIOCondition, gpointer self) -> gboolean {
            static_cast<ControlBridge *>(self)->accept_clients();
            return G_SOURCE_CONTINUE;
        },
        b.get());
    return b;
}

std::unique_ptr<ControlBridge> ControlBridge::stdio(OnLine on_line) {
    // A reader that goes away must not kill us with SIGPIPE; write() says EPIPE instead.
    signal(SIGPIPE, SIG_IGN);
    std::unique_ptr<ControlBridge> b(new ControlBridge(std::move(on_line)));
    b->description_ = "stdio";
    b->add_conn(STDIN_FILENO, STDOUT_FILENO, false, "standard input");
    return b;
}

ControlBridge::~ControlBridge() {
    lifeline_.cut();
    while (!conns_.empty())
        drop_conn(conns_.back().get(), nullptr);
    lifeline_.remove(listen_watch_);
    if (listen_fd_ >= 0) {
        close(listen_fd_);
        unlink(path_.c_str());
    }
}

guint ControlBridge::watch(int fd, GIOCondition cond, GUnixFDSourceFunc fn, gpointer data) {
    GSource *s = g_unix_fd_source_new(fd, cond);
    g_source_set_callback(s, G_SOURCE_FUNC(fn), data, nullptr);
    guint id = g_source_attach(s, lifeline_.context());
    g_source_unref(s);
    return id;
}

void ControlBridge::accept_clients() {
    for (;;) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                g_warning("control socket: accept: %s", g_strerror(errno));
            return;
        }
        if (conns_.size() >= kMaxControlClients) {
            g_warning("control socket: already %zu clients, the most we take; closing a new one",
                      conns_.size());
            close(fd);
            continue;
        }
        std::string name = "client " + std::to_string(next_client_++);
        g_info("control socket: %s connected", name.c_str());
        add_conn(fd, fd, true, std::move(name));
    }
}

void ControlBridge::add_conn(int in_fd, int out_fd, bool socket, std::string name) {
    auto c = std::make_unique<Conn>();
    c->bridge = this;
    c->in_fd = in_fd;
    c->out_fd = out_fd;
    c->socket = socket;
    c->name = std::move(name);
    c->in_watch = watch(
        in_fd, GIOCondition(G_IO_IN | G_IO_HUP | G_IO_ERR),
        [](gint, GIOCondition, gpointer data) -> gboolean {
            auto *conn = static_cast<Conn *>(data);
            conn->bridge->on_readable(*conn); // may destroy conn
            return G_SOURCE_CONTINUE;
        },
        c.get());
    conns_.push_back(std::move(c));
}

void ControlBridge::on_readable(Conn &c) {
    char buf[kReadChunk];
    ssize_t n = read(c.in_fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        if (c.socket) {
            drop_conn(&c, n == 0 ? "disconnected" : g_strerror(errno));
            return;
        }
        // Standard input ended: nothing more to read, but the program may still listen.
        g_info("control: standard input closed; browser messages still go to standard output");
        lifeline_.remove(c.in_watch);
        c.reading = false;
        return;
    }
    std::size_t dropped = c.splitter.dropped();
    std::vector<std::string> lines;
    c.splitter.feed(std::string_view(buf, std::size_t(n)), lines);
    if (c.splitter.dropped() > dropped)
        g_warning("control %s: dropped a line longer than %zu bytes", c.name.c_str(),
                  kMaxControlLineBytes);
    // on_line_ may broadcast, which may drop a client, but never this call's `c` by
    // anything but its own backlog; copy what is needed first.
    for (const auto &line : lines)
        on_line_(line);
}

void ControlBridge::broadcast(const std::string &line) {
    std::vector<Conn *> over;
    // flush() drops a client whose socket fails (erasing it from conns_), so walk a copy:
    // each pointer stays valid until its own flush.
    std::vector<Conn *> all;
    for (auto &c : conns_)
        all.push_back(c.get());
    for (Conn *c : all) {
        if (c->out.size() + line.size() > kMaxControlBacklogBytes) {
            if (c->socket) {
                over.push_back(c);
                continue;
            }
            g_warning("control: standard output is not being read; dropping a message");
            continue;
        }
        c->out += line;
        flush(*c);
    }
    for (Conn *c : over)
        drop_conn(c, "it did not read what it was sent (1 MiB waiting)");
}

void ControlBridge::flush(Conn &c) {
    while (!c.out.empty()) {
        ssize_t n;
        if (c.socket) {
            n = send(c.out_fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        } else {
            n = write(c.out_fd, c.out.data(), std::min(c.out.size(), kStdoutChunk));
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            if (c.socket) {
                drop_conn(&c, g_strerror(errno));
            } else {
                g_warning("control: cannot write to standard output: %s", g_strerror(errno));
                c.out.clear();
            }
            return;
        }
        c.out.erase(0, std::size_t(n));
        // Standard output may be a blocking descriptor: one chunk per wake-up.
        if (!c.socket)
            break;
    }
    if (c.out.empty()) {
        lifeline_.remove(c.out_watch);
    } else if (!c.out_watch) {
        c.out_watch = watch(
            c.out_fd, GIOCondition(G_IO_OUT | G_IO_ERR | G_IO_HUP),
            [](gint, GIOCondition, gpointer data) -> gboolean {
                auto *conn = static_cast<Conn *>(data);
                conn->out_watch = 0; // flush() makes a new one if still needed
                conn->bridge->flush(*conn);
                return G_SOURCE_REMOVE;
            },
            &c);
    }
}

void ControlBridge::drop_conn(Conn *c, const char *why) {
    for (auto it = conns_.begin(); it != conns_.end(); ++it) {
        if (it->get() != c)
            continue;
        if (why)
            g_message("control %s: closed (%s)", c->name.c_str(), why);
        lifeline_.remove(c->in_watch);
        lifeline_.remove(c->out_watch);
        if (c->socket)
            close(c->in_fd);
        conns_.erase(it);
        return;
    }
}

} // namespace duet::peer

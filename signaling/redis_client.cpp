// SPDX-License-Identifier: MIT
// duet-server's Redis client: hiredis's async connections driven by GLib sources on one
// main context, kept connected (backoff, timeouts) and free of re-entrancy surprises.
//
// Lifetimes. hiredis calls back into us from inside redisAsyncHandleRead/Write (replies,
// with a NULL reply for each command still waiting when it frees a context) and from
// redisAsyncFree. So:
//  - a context we free ourselves is detached first (its `data` and event hooks cleared):
//    the NULL-reply calls it then makes are ignored, and what was waiting is answered from
//    our own list, exactly once;
//  - a context hiredis frees itself (EOF, I/O or protocol error) tells us through the
//    `cleanup` hook; the loss is handled after hiredis has returned (settle());
//  - nothing is freed from inside a hiredis callback except by ~Client, where hiredis
//    defers the free until the callback returns; and Impl itself outlives every GLib
//    dispatch it is in (Entry), so a callback that destroys the Client is safe.
#include "redis_client.h"

#include <gio/gio.h>
#include <glib-unix.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <list>

namespace duet::signaling::redis {

namespace {

constexpr const char *kLost = "connection lost";
constexpr const char *kTimedOut = "timed out";

Reply error_reply(const char *text) {
    Reply r;
    r.type = Reply::Type::Error;
    r.str = text;
    return r;
}

Reply copy_reply(const redisReply *r) {
    Reply out;
    switch (r->type) {
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
    case REDIS_REPLY_STRING:
        out.type = r->type == REDIS_REPLY_STATUS  ? Reply::Type::Status
                   : r->type == REDIS_REPLY_ERROR ? Reply::Type::Error
                                                  : Reply::Type::String;
        out.str.assign(r->str, r->len);
        break;
    case REDIS_REPLY_INTEGER:
        out.type = Reply::Type::Integer;
        out.integer = r->integer;
        break;
    case REDIS_REPLY_ARRAY:
        out.type = Reply::Type::Array;
        out.elements.reserve(r->elements);
        for (size_t i = 0; i < r->elements; ++i)
            out.elements.push_back(r->element[i] ? copy_reply(r->element[i]) : Reply{});
        break;
    case REDIS_REPLY_NIL:
        break;
    default:
        out = error_reply("unknown reply type");
    }
    return out;
}

// Commands that would turn the command connection into a subscriber (hiredis then routes
// every later reply elsewhere): only the subscriber connection subscribes.
bool changes_connection_mode(std::string_view name) {
    for (const char *c : {"subscribe", "psubscribe", "unsubscribe", "punsubscribe", "monitor"})
        if (name.size() == strlen(c) && g_ascii_strncasecmp(name.data(), c, name.size()) == 0)
            return true;
    return false;
}

std::string_view view(const redisReply *r) {
    return {r->str, r->len};
}

enum Step { kAuth = 1, kSelect, kPing };
const char *step_name(int step) {
    return step == kAuth ? "AUTH" : step == kSelect ? "SELECT" : "PING";
}

} // namespace

struct Client::Impl {
    struct Conn;
    // A GSource watching one hiredis socket; the events follow hiredis's add/del hooks.
    struct IoSource {
        GSource base;
        Conn *conn;
        gpointer tag;
        GIOCondition events;
    };
    struct Conn {
        Impl *impl;
        const char *name;
        redisAsyncContext *ac = nullptr;
        IoSource *io = nullptr;
        bool ready = false;   // handshake done
        bool lost = false;    // hiredis freed the context
        size_t confirmed = 0; // SUBSCRIBE confirmations (subscriber)
        std::string why;      // what went wrong, for the log
    };
    struct Pending {
        std::list<Pending>::iterator self;
        Callback cb;
        gint64 deadline = 0;
        // eval(): what EVAL needs when EVALSHA meets NOSCRIPT (numkeys, keys, args).
        std::string lua;
        std::vector<std::string> eval_args;
    };
    // Keeps Impl alive while a GLib dispatch is inside it; ~Client during the dispatch
    // leaves the delete to the outermost one.
    struct Entry {
        Impl *impl;
        explicit Entry(Impl *i) : impl(i) { ++impl->depth; }
        ~Entry() {
            if (--impl->depth == 0 && impl->doomed)
                delete impl;
        }
        Entry(const Entry &) = delete;
        Entry &operator=(const Entry &) = delete;
    };

    Url url;
    ClientOptions opts;
    GMainContext *ctx;
    StateCallback state_cb;
    MessageCallback message_cb;
    std::vector<std::string> channels;
    Conn cmd{this, "command"};
    Conn sub{this, "subscriber"};
    std::list<Pending> pending;
    GSource *connect_timer = nullptr;
    GSource *command_timer = nullptr;
    GSource *retry_timer = nullptr;
    GCancellable *resolving = nullptr;
    bool started = false;
    bool is_up = false;
    bool ever_up = false;
    bool drop_wanted = false;
    std::uint64_t reconnects = 0;
    unsigned failures = 0;
    std::string last_logged;
    int depth = 0;
    bool doomed = false;

    Impl(Url u, ClientOptions o, GMainContext *c)
        : url(std::move(u)), opts(o),
          ctx(c ? g_main_context_ref(c) : g_main_context_ref_thread_default()) {}
    ~Impl() {
        if (!doomed)
            shutdown();
        g_main_context_unref(ctx);
    }

    // ---- GLib sources ----------------------------------------------------------------
    void arm(GSource *&slot, unsigned ms, GSourceFunc fn) {
        disarm(slot);
        slot = g_timeout_source_new(ms);
        g_source_set_callback(slot, fn, this, nullptr);
        g_source_attach(slot, ctx);
    }
    static void disarm(GSource *&slot) {
        if (slot) {
            g_source_destroy(slot);
            g_source_unref(slot);
            slot = nullptr;
        }
    }

    static gboolean io_dispatch(GSource *source, GSourceFunc, gpointer) {
        auto *io = reinterpret_cast<IoSource *>(source);
        Conn *conn = io->conn;
        Entry entry(conn->impl);
        GIOCondition got = g_source_query_unix_fd(source, io->tag);
        if ((got & (G_IO_IN | G_IO_HUP | G_IO_ERR)) && conn->ac)
            redisAsyncHandleRead(conn->ac);
        if (!entry.impl->doomed && (got & (G_IO_OUT | G_IO_HUP | G_IO_ERR)) && conn->ac)
            redisAsyncHandleWrite(conn->ac);
        entry.impl->settle();
        return G_SOURCE_CONTINUE;
    }
    static constexpr GSourceFuncs io_funcs = {nullptr, nullptr, io_dispatch, nullptr, {}, {}};

    // hiredis's event hooks (ev.data is the Conn).
    static void watch(void *data, GIOCondition cond, bool on) {
        auto *conn = static_cast<Conn *>(data);
        IoSource *io = conn->io;
        if (!io)
            return;
        auto events = GIOCondition(on ? io->events | cond : io->events & ~cond);
        if (events != io->events) {
            io->events = events;
            g_source_modify_unix_fd(&io->base, io->tag, events);
        }
    }
    static void add_read(void *d) { watch(d, G_IO_IN, true); }
    static void del_read(void *d) { watch(d, G_IO_IN, false); }
    static void add_write(void *d) { watch(d, G_IO_OUT, true); }
    static void del_write(void *d) { watch(d, G_IO_OUT, false); }
    // hiredis is freeing the context by itself (error or EOF): stop watching its socket
    // before it closes it, and leave the rest to settle().
    static void cleanup(void *data) {
        auto *conn = static_cast<Conn *>(data);
        redisAsyncContext *ac = conn->ac;
        if (conn->why.empty())
            conn->why = ac && ac->c.err ? ac->c.errstr : "the server closed the connection";
        drop_source(*conn);
        conn->ac = nullptr;
        conn->lost = true;
    }
    static void drop_source(Conn &c) {
        if (c.io) {
            g_source_destroy(&c.io->base);
            g_source_unref(&c.io->base);
            c.io = nullptr;
        }
    }

    // ---- connections -----------------------------------------------------------------
    bool open(Conn &c, const char *ip) {
        redisAsyncContext *ac =
            url.is_unix ? redisAsyncConnectUnix(url.path.c_str()) : redisAsyncConnect(ip, url.port);
        if (!ac || ac->err) {
            c.why = ac ? ac->errstr : "out of memory";
            if (ac)
                redisAsyncFree(ac);
            return false;
        }
        c.ac = ac;
        ac->data = &c;
        auto *io = reinterpret_cast<IoSource *>(
            g_source_new(const_cast<GSourceFuncs *>(&io_funcs), sizeof(IoSource)));
        io->conn = &c;
        io->events = GIOCondition(0);
        io->tag = g_source_add_unix_fd(&io->base, ac->c.fd, io->events);
        g_source_set_static_name(&io->base, "duet redis");
        g_source_attach(&io->base, ctx);
        c.io = io;
        ac->ev.data = &c;
        ac->ev.addRead = add_read;
        ac->ev.delRead = del_read;
        ac->ev.addWrite = add_write;
        ac->ev.delWrite = del_write;
        ac->ev.cleanup = cleanup;

        // The handshake is queued at once; hiredis sends it when the socket connects.
        if (!url.password.empty()) {
            if (url.user.empty())
                handshake(c, kAuth, {"AUTH", url.password});
            else
                handshake(c, kAuth, {"AUTH", url.user, url.password});
        }
        if (&c == &cmd) {
            if (url.db != 0)
                handshake(c, kSelect, {"SELECT", std::to_string(url.db)});
            // Always one round trip: a Redis that accepts connections but is stopped
            // (SIGSTOP, swapped out) must not count as up.
            handshake(c, kPing, {"PING"});
        } else {
            std::vector<const char *> argv{"SUBSCRIBE"};
            std::vector<size_t> lens{9};
            for (const auto &ch : channels) {
                argv.push_back(ch.data());
                lens.push_back(ch.size());
            }
            redisAsyncCommandArgv(ac, on_subscriber_reply, nullptr, int(argv.size()), argv.data(),
                                  lens.data());
        }
        return true;
    }
    void handshake(Conn &c, Step step, std::vector<std::string> args) {
        std::vector<const char *> argv;
        std::vector<size_t> lens;
        for (const auto &a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        redisAsyncCommandArgv(c.ac, on_handshake_reply, GINT_TO_POINTER(step), int(argv.size()),
                              argv.data(), lens.data());
    }
    // Frees our side of a connection without any callback reaching the user: hiredis's
    // NULL-reply calls find no `data`, the hooks are gone. Inside one of this context's
    // callbacks (only from ~Client), hiredis frees it when the callback returns.
    void close(Conn &c) {
        drop_source(c);
        if (redisAsyncContext *ac = std::exchange(c.ac, nullptr)) {
            ac->data = nullptr;
            ac->ev.data = nullptr;
            ac->ev.addRead = ac->ev.delRead = ac->ev.addWrite = ac->ev.delWrite = nullptr;
            ac->ev.cleanup = nullptr;
            redisAsyncFree(ac);
        }
        c.ready = c.lost = false;
        c.confirmed = 0;
        c.why.clear();
    }

    static void on_handshake_reply(redisAsyncContext *ac, void *r, void *step) {
        auto *conn = static_cast<Conn *>(ac->data);
        auto *reply = static_cast<redisReply *>(r);
        if (!conn || !reply)
            return; // detached, or freed: the loss is handled elsewhere
        int s = GPOINTER_TO_INT(step);
        if (reply->type == REDIS_REPLY_ERROR) {
            // The first error says why (after a failed AUTH, PING only says NOAUTH).
            if (conn->why.empty())
                conn->why = std::string(step_name(s)) + ": " + std::string(view(reply));
            conn->impl->drop_wanted = true;
        } else if (s == kPing) {
            conn->ready = true;
        }
    }
    static void on_subscriber_reply(redisAsyncContext *ac, void *r, void *) {
        auto *conn = static_cast<Conn *>(ac->data);
        auto *reply = static_cast<redisReply *>(r);
        if (!conn || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3)
            return;
        redisReply **e = reply->element;
        if (e[0]->type != REDIS_REPLY_STRING || e[1]->type != REDIS_REPLY_STRING)
            return;
        Impl *impl = conn->impl;
        std::string_view kind = view(e[0]);
        if (kind == "subscribe") {
            if (++conn->confirmed >= impl->channels.size())
                conn->ready = true;
        } else if (kind == "message" && e[2]->type == REDIS_REPLY_STRING && impl->message_cb &&
                   !impl->doomed) {
            impl->message_cb(view(e[1]), view(e[2]));
        }
    }
    static void on_command_reply(redisAsyncContext *ac, void *r, void *data) {
        auto *conn = static_cast<Conn *>(ac->data);
        if (!conn || !r)
            return; // detached, or freed: drop() answers what was pending
        conn->impl->replied(static_cast<Pending *>(data), static_cast<redisReply *>(r));
    }
    void replied(Pending *p, const redisReply *r) {
        if (r->type == REDIS_REPLY_ERROR && !p->lua.empty() && view(r).substr(0, 8) == "NOSCRIPT" &&
            resend_as_eval(p))
            return;
        Callback cb = std::move(p->cb);
        pending.erase(p->self);
        if (cb)
            cb(copy_reply(r));
    }
    // Redis lost the script (restart, SCRIPT FLUSH): EVAL loads and runs it; the caller
    // gets EVAL's reply. Moved to the back: replies come in the order commands were sent.
    bool resend_as_eval(Pending *p) {
        std::vector<const char *> argv{"EVAL", p->lua.data()};
        std::vector<size_t> lens{4, p->lua.size()};
        for (const auto &a : p->eval_args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        if (!cmd.ac || redisAsyncCommandArgv(cmd.ac, on_command_reply, p, int(argv.size()),
                                             argv.data(), lens.data()) != REDIS_OK)
            return false;
        p->lua.clear();
        p->eval_args.clear();
        p->deadline = g_get_monotonic_time() + gint64(opts.command_timeout_ms) * 1000;
        pending.splice(pending.end(), pending, p->self);
        return true;
    }

    bool send(const std::vector<std::string_view> &args, Callback cb) {
        return send(args, std::move(cb), Pending{});
    }
    bool send(const std::vector<std::string_view> &args, Callback cb, Pending extra) {
        if (!is_up || !cmd.ac || args.empty())
            return false;
        std::vector<const char *> argv;
        std::vector<size_t> lens;
        argv.reserve(args.size());
        lens.reserve(args.size());
        for (auto a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        pending.push_back(std::move(extra));
        Pending &p = pending.back();
        p.self = std::prev(pending.end());
        p.cb = std::move(cb);
        p.deadline = g_get_monotonic_time() + gint64(opts.command_timeout_ms) * 1000;
        if (redisAsyncCommandArgv(cmd.ac, on_command_reply, &p, int(argv.size()), argv.data(),
                                  lens.data()) != REDIS_OK) {
            pending.pop_back();
            return false;
        }
        arm_command_timer();
        return true;
    }

    // ---- the connection's life -------------------------------------------------------
    void connect() {
        for (Conn *c : {&cmd, &sub})
            c->why.clear();
        drop_wanted = false;
        arm(connect_timer, opts.connect_timeout_ms, on_connect_timeout);
        if (url.is_unix || g_hostname_is_ip_address(url.host.c_str())) {
            open_all(url.host.c_str());
            return;
        }
        // hiredis would resolve the name with a blocking getaddrinfo(): GLib's resolver
        // does it on a thread; hiredis gets the address. The callback comes on `ctx`.
        resolving = g_cancellable_new();
        GResolver *resolver = g_resolver_get_default();
        g_main_context_push_thread_default(ctx);
        g_resolver_lookup_by_name_async(resolver, url.host.c_str(), resolving, on_resolved, this);
        g_main_context_pop_thread_default(ctx);
        g_object_unref(resolver);
    }
    static void on_resolved(GObject *resolver, GAsyncResult *result, gpointer data) {
        GError *error = nullptr;
        GList *addresses = g_resolver_lookup_by_name_finish(G_RESOLVER(resolver), result, &error);
        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
            g_error_free(error); // cancelled by drop() or ~Client: `data` may be gone
            return;
        }
        Entry entry(static_cast<Impl *>(data));
        Impl *impl = entry.impl;
        g_clear_object(&impl->resolving);
        if (!addresses) {
            impl->cmd.why = std::string("cannot resolve ") + impl->url.host + ": " + error->message;
            g_error_free(error);
            impl->drop(kLost);
            return;
        }
        // IPv4 first (as hiredis's own lookup does); each failed attempt tries the next.
        std::vector<std::string> found;
        for (GList *l = addresses; l; l = l->next) {
            gchar *s = g_inet_address_to_string(G_INET_ADDRESS(l->data));
            bool v4 = g_inet_address_get_family(G_INET_ADDRESS(l->data)) == G_SOCKET_FAMILY_IPV4;
            found.insert(v4 ? found.begin() : found.end(), s);
            g_free(s);
        }
        g_resolver_free_addresses(addresses);
        if (found.empty()) {
            impl->cmd.why = "no address for " + impl->url.host;
            impl->drop(kLost);
            return;
        }
        impl->open_all(found[impl->failures % found.size()].c_str());
    }
    void open_all(const char *ip) {
        if (!open(cmd, ip) || (!channels.empty() && !open(sub, ip)))
            drop(kLost);
    }

    // After hiredis has returned: a loss or a failed handshake drops both connections; a
    // finished handshake makes the client up.
    void settle() {
        if (doomed)
            return;
        if (drop_wanted || cmd.lost || sub.lost)
            drop(kLost);
        else if (!is_up && cmd.ready && (channels.empty() || sub.ready))
            become_up();
    }
    void become_up() {
        disarm(connect_timer);
        is_up = true;
        failures = 0;
        last_logged.clear();
        if (ever_up)
            ++reconnects;
        ever_up = true;
        g_message("redis: connected to %s", url.redacted().c_str());
        if (state_cb)
            state_cb(true);
    }
    // What went wrong, and on which connection (the command one first).
    std::pair<std::string, const char *> reason() const {
        for (const Conn *c : {&cmd, &sub})
            if (!c->why.empty())
                return {c->why, c->name};
        return {"connection lost", "command"};
    }
    // Drops both connections (the reason is in cmd/sub.why), answers every pending
    // command with `error`, tells the state's listener, and retries after a backoff.
    void drop(const char *error) {
        bool was_up = std::exchange(is_up, false);
        auto [why, which] = reason();
        close(cmd);
        close(sub);
        disarm(connect_timer);
        disarm(command_timer);
        if (resolving) {
            g_cancellable_cancel(resolving);
            g_clear_object(&resolving);
        }
        drop_wanted = false;
        unsigned delay = retry_delay();
        arm(retry_timer, delay, on_retry);
        if (was_up) {
            g_warning("redis: lost %s (%s connection: %s); reconnecting", url.redacted().c_str(),
                      which, why.c_str());
        } else if (why != last_logged) {
            // Once per distinct reason: a Redis down for an hour is one line, not thousands.
            g_warning("redis: cannot connect to %s (%s connection: %s); retrying in %u ms, "
                      "backing off up to %u ms",
                      url.redacted().c_str(), which, why.c_str(), delay, opts.backoff_max_ms);
        } else {
            g_debug("redis: %s still failing: %s", url.redacted().c_str(), why.c_str());
        }
        last_logged = why;

        std::list<Pending> failed;
        failed.swap(pending);
        if (was_up && state_cb)
            state_cb(false);
        Reply reply = error_reply(error);
        for (auto &p : failed) {
            if (doomed)
                break; // the Client went in a callback: the rest are not answered
            if (Callback cb = std::move(p.cb))
                cb(reply);
        }
    }
    // backoff_min_ms doubling per failed attempt up to backoff_max_ms, then a random
    // point in the upper half, so servers that lost Redis together do not return in step.
    unsigned retry_delay() {
        guint64 d = std::max(1u, opts.backoff_min_ms);
        for (unsigned i = 0; i < failures && d < opts.backoff_max_ms; ++i)
            d *= 2;
        d = std::min<guint64>(d, std::max(opts.backoff_max_ms, opts.backoff_min_ms));
        guint64 low = std::max<guint64>(opts.backoff_min_ms, d / 2);
        ++failures;
        if (low >= d)
            return unsigned(d);
        return unsigned(low + guint64(g_random_int_range(0, gint32(d - low + 1))));
    }

    static gboolean on_connect_timeout(gpointer data) {
        Entry entry(static_cast<Impl *>(data));
        Impl *impl = entry.impl;
        disarm(impl->connect_timer);
        // Blame the connection that was not ready (the command one when neither was).
        Conn &late = impl->cmd.ready && !impl->channels.empty() ? impl->sub : impl->cmd;
        if (late.why.empty())
            late.why = "not ready within " + std::to_string(impl->opts.connect_timeout_ms) +
                       " ms (connect, AUTH, SELECT, SUBSCRIBE)";
        impl->drop(kLost);
        return G_SOURCE_REMOVE;
    }
    static gboolean on_retry(gpointer data) {
        Entry entry(static_cast<Impl *>(data));
        disarm(entry.impl->retry_timer);
        entry.impl->connect();
        return G_SOURCE_REMOVE;
    }
    // One timer for the oldest command (replies come in order, so it is the front).
    void arm_command_timer() {
        if (command_timer || pending.empty())
            return;
        gint64 wait_us = pending.front().deadline - g_get_monotonic_time();
        arm(command_timer, unsigned(std::max<gint64>(0, wait_us / 1000) + 1), on_command_timer);
    }
    static gboolean on_command_timer(gpointer data) {
        Entry entry(static_cast<Impl *>(data));
        Impl *impl = entry.impl;
        disarm(impl->command_timer);
        if (!impl->pending.empty() && g_get_monotonic_time() >= impl->pending.front().deadline) {
            impl->cmd.why = "a command had no reply within " +
                            std::to_string(impl->opts.command_timeout_ms) + " ms";
            impl->drop(kTimedOut);
        } else {
            impl->arm_command_timer();
        }
        return G_SOURCE_REMOVE;
    }

    // ~Client: everything goes, no callback is called.
    void shutdown() {
        doomed = true;
        close(cmd);
        close(sub);
        disarm(connect_timer);
        disarm(command_timer);
        disarm(retry_timer);
        if (resolving) {
            g_cancellable_cancel(resolving);
            g_clear_object(&resolving);
        }
        pending.clear();
    }
};

Client::Client(Url url, ClientOptions options, GMainContext *context)
    : impl_(std::make_unique<Impl>(std::move(url), options, context)) {}

Client::~Client() {
    impl_->shutdown();
    // Destroyed from one of its own callbacks: the dispatch it is in deletes Impl last.
    if (impl_->depth > 0)
        (void)impl_.release();
}

void Client::on_state(StateCallback cb) {
    impl_->state_cb = std::move(cb);
}

void Client::on_message(MessageCallback cb) {
    impl_->message_cb = std::move(cb);
}

void Client::subscribe(std::string channel) {
    g_return_if_fail(!impl_->started);
    auto &channels = impl_->channels;
    if (std::find(channels.begin(), channels.end(), channel) == channels.end())
        channels.push_back(std::move(channel));
}

void Client::start() {
    if (std::exchange(impl_->started, true))
        return;
    // hiredis writes with write(), not send(MSG_NOSIGNAL): a Redis that resets the
    // connection between poll() and a write would raise SIGPIPE and end the whole server.
    // Unless the program handles SIGPIPE itself, such a write is an EPIPE error instead.
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    impl_->connect();
}

bool Client::up() const {
    return impl_->is_up;
}

bool Client::command(const std::vector<std::string_view> &argv, Callback cb) {
    if (!argv.empty() && changes_connection_mode(argv[0])) {
        g_critical("redis: %.*s is not for command(): use subscribe()", int(argv[0].size()),
                   argv[0].data());
        return false;
    }
    return impl_->send(argv, std::move(cb));
}

Client::Script::Script(std::string lua) : lua_(std::move(lua)) {
    gchar *hex = g_compute_checksum_for_data(
        G_CHECKSUM_SHA1, reinterpret_cast<const guchar *>(lua_.data()), lua_.size());
    sha1_ = hex;
    g_free(hex);
}

bool Client::eval(const Script &script, const std::vector<std::string_view> &keys,
                  const std::vector<std::string_view> &args, Callback cb) {
    if (!impl_->is_up)
        return false;
    std::string numkeys = std::to_string(keys.size());
    std::vector<std::string_view> argv{"EVALSHA", script.sha1(), numkeys};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    Impl::Pending extra;
    extra.lua = script.lua();
    extra.eval_args.assign(argv.begin() + 2, argv.end());
    return impl_->send(argv, std::move(cb), std::move(extra));
}

std::uint64_t Client::reconnects() const {
    return impl_->reconnects;
}

std::size_t Client::pending() const {
    return impl_->pending.size();
}

} // namespace duet::signaling::redis

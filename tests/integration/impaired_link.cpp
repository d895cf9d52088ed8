// SPDX-License-Identifier: MIT
// Network namespaces with netem on a veth pair, or a userspace TUN relay doing the same.
#include "impaired_link.h"

#include "common/ref.h"

#include <gio/gio.h>
#include <glib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <thread>
#include <tuple>

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace duet::testing {
namespace {

constexpr const char *kPrefix = "duetf-";

std::string command_line(const std::vector<std::string> &args) {
    std::string cmd;
    for (const auto &a : args)
        cmd += (cmd.empty() ? "" : " ") + a;
    return cmd;
}

// Runs a command to its end: its output (stdout and stderr together) on exit 0, else a
// failure that names the command and quotes that output.
Result<std::string> run(const std::vector<std::string> &args) {
    std::vector<const char *> argv;
    for (const auto &a : args)
        argv.push_back(a.c_str());
    argv.push_back(nullptr);
    GErr err;
    auto p = Ref<GSubprocess>::adopt(g_subprocess_newv(
        argv.data(),
        GSubprocessFlags(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE),
        err.out()));
    if (!p)
        return fail(command_line(args) + ": " + err.message());
    Owned<gchar> text;
    g_subprocess_communicate_utf8(p.get(), nullptr, nullptr, text.out(), nullptr, nullptr);
    std::string out = text ? text.get() : "";
    if (!g_subprocess_get_if_exited(p.get()) || g_subprocess_get_exit_status(p.get()) != 0)
        return fail(command_line(args) + " failed: " + g_strstrip(out.data()));
    return out;
}

// For clean-up steps whose failure changes nothing: said on stderr, then carried on.
void run_or_say(const std::vector<std::string> &args) {
    if (auto r = run(args); !r)
        g_printerr("%s\n", r.message().c_str());
}

std::vector<std::string> in_ns(const std::string &ns, std::vector<std::string> cmd) {
    std::vector<std::string> out{"ip", "netns", "exec", ns};
    out.insert(out.end(), cmd.begin(), cmd.end());
    return out;
}

// The namespaces to remove if we die: plain arrays, since a signal handler may not
// allocate.
char g_cleanup[2][64];

// fork, exec and wait only: safe in a signal handler.
void delete_netns(char *name) {
    if (!*name)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execlp("ip", "ip", "netns", "del", name, static_cast<char *>(nullptr));
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, nullptr, 0);
    name[0] = 0;
}

void delete_all() {
    for (auto &name : g_cleanup)
        delete_netns(name);
}

void on_abort(int sig) {
    delete_all(); // a failed g_assert aborts, and atexit handlers do not run then
    signal(sig, SIG_DFL);
    raise(sig);
}

// Namespaces left by an earlier run that was killed outright (their pid is gone).
void delete_stale() {
    auto list = run({"ip", "netns", "list"});
    if (!list)
        return;
    Owned<gchar *> lines(g_strsplit(list->c_str(), "\n", -1));
    for (gchar **l = lines.get(); *l; ++l) {
        std::string name = g_strstrip(*l);
        name = name.substr(0, name.find(' '));
        if (name.rfind(kPrefix, 0) != 0)
            continue;
        int pid = std::atoi(name.c_str() + std::strlen(kPrefix));
        if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH)
            run_or_say({"ip", "netns", "del", name});
    }
}

// A TUN device named `dev` inside namespace `ns`: its descriptor. Switches the calling
// thread's network namespace: call it on a thread of its own.
Result<int> open_tun_in(const std::string &ns, const std::string &dev) {
    int nsfd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
        std::string why = "cannot enter namespace " + ns + ": " + g_strerror(errno);
        if (nsfd >= 0)
            close(nsfd);
        return fail(why);
    }
    close(nsfd);
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return fail(std::string("cannot open /dev/net/tun: ") + g_strerror(errno));
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    g_strlcpy(ifr.ifr_name, dev.c_str(), IFNAMSIZ);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        std::string why = "cannot create TUN device " + dev + ": " + g_strerror(errno);
        close(fd);
        return fail(why);
    }
    return fd;
}

// netem on `dev` inside `ns`: `verb` is "add" for a new one, "change" for the one there.
// With `rate_kbps` > 0, netem also serialises packets at that rate behind a queue of
// `limit` packets (drop-tail), so the link is a bottleneck too; 0 takes a rate away; -1
// (never set) leaves the rate options out.
Result<void> netem(const std::string &ns, const std::string &dev, const char *verb,
                   int loss_percent, unsigned delay_ms, long rate_kbps = -1) {
    std::vector<std::string> cmd{"tc", "qdisc", verb, "dev", dev, "root", "netem"};
    for (std::string a : {std::string("loss"), std::to_string(loss_percent) + "%",
                          std::string("delay"), std::to_string(delay_ms) + "ms"})
        cmd.push_back(a);
    if (rate_kbps > 0) {
        // A full-size packet is ~1200 bytes of RTP over UDP; at least a few fit.
        long limit =
            std::max(4L, rate_kbps * 1000 / 8 * ImpairedLink::kBottleneckQueueMs / 1000 / 1200);
        for (std::string a : {std::string("rate"), std::to_string(rate_kbps) + "kbit",
                              std::string("limit"), std::to_string(limit)})
            cmd.push_back(a);
    } else if (rate_kbps == 0) {
        // netem keeps a rate once set; 0 takes it away. Its default queue is 1000 packets.
        for (const char *a : {"rate", "0bit", "limit", "1000"})
            cmd.push_back(a);
    }
    auto r = run(in_ns(ns, cmd));
    if (!r)
        return r.error();
    return {};
}

} // namespace

// Moves IP packets between the two TUN devices on a thread of its own, like netem: it drops
// `loss` percent of them and delays the rest by the same fixed time. With a rate, each
// direction is also a bottleneck: packets leave one after another at that rate from a
// drop-tail queue of kBottleneckQueueMs, and a packet that does not fit is dropped.
class ImpairedLink::Relay {
  public:
    explicit Relay(unsigned delay_ms, int loss_percent) : delay_us_(gint64(delay_ms) * 1000) {
        loss_.store(loss_percent);
    }
    ~Relay() {
        if (thread_.joinable()) {
            stop_.store(true);
            char x = 0;
            if (write(wake_[1], &x, 1) < 0) {
                // The relay polls the pipe; it cannot be full with one byte in it.
            }
            thread_.join();
        }
        for (int fd : {fd_a_, fd_b_, wake_[0], wake_[1]})
            if (fd >= 0)
                close(fd);
    }

    Result<void> start(const std::string &ns_a, const std::string &dev_a, const std::string &ns_b,
                       const std::string &dev_b) {
        // The devices must be made inside their namespaces; the thread that enters them
        // ends right after, so no other thread of ours changes namespace.
        Result<void> made;
        std::thread maker([&] {
            for (auto [ns, dev, fd] :
                 {std::tuple{&ns_a, &dev_a, &fd_a_}, {&ns_b, &dev_b, &fd_b_}}) {
                auto tun = open_tun_in(*ns, *dev);
                if (!tun) {
                    made = tun.error();
                    return;
                }
                *fd = *tun;
            }
        });
        maker.join();
        if (!made)
            return made;
        if (pipe2(wake_, O_CLOEXEC) != 0)
            return fail(std::string("pipe: ") + g_strerror(errno));
        thread_ = std::thread([this] { relay(); });
        return {};
    }

    void set_loss(int percent) { loss_.store(percent); }
    void set_rate(unsigned kbps) { rate_kbps_.store(kbps); }

  private:
    struct Packet {
        gint64 due_us;
        std::string bytes;
    };
    // One direction: packets in flight, in delivery order (the delay is the same for all
    // and the bottleneck sends them in arrival order), and when its bottleneck is next free.
    struct Way {
        int to = -1;
        std::deque<Packet> queue;
        gint64 free_at_us = 0;
    };

    // Queues a packet that arrived at `now` on `way`, or drops it if the bottleneck's
    // queue has no room for it.
    void admit(Way &way, std::string bytes, gint64 now) {
        unsigned kbps = rate_kbps_.load();
        gint64 leaves_us = now;
        if (kbps > 0) {
            gint64 start = std::max(now, way.free_at_us);
            // What is still waiting for the bottleneck, as time at its rate.
            if (start - now + gint64(bytes.size()) * 8000 / kbps >
                gint64(kBottleneckQueueMs) * 1000)
                return; // drop-tail
            way.free_at_us = start + gint64(bytes.size()) * 8000 / kbps;
            leaves_us = way.free_at_us;
        }
        way.queue.push_back(Packet{leaves_us + delay_us_, std::move(bytes)});
    }

    void relay() {
        Way ways[2];
        ways[0].to = fd_b_; // read from a, written to b
        ways[1].to = fd_a_;
        std::mt19937 rng(std::random_device{}());
        std::uniform_int_distribution<int> percent(0, 99);
        std::string buf(65536, '\0');
        while (!stop_.load()) {
            int timeout = -1;
            gint64 now = g_get_monotonic_time();
            for (const Way &w : ways)
                if (!w.queue.empty()) {
                    int ms = int(std::max<gint64>(0, (w.queue.front().due_us - now + 999) / 1000));
                    timeout = timeout < 0 ? ms : std::min(timeout, ms);
                }
            pollfd fds[3] = {{fd_a_, POLLIN, 0}, {fd_b_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
            if (poll(fds, 3, timeout) < 0 && errno != EINTR)
                return;
            for (int i = 0; i < 2; ++i) {
                if (!(fds[i].revents & POLLIN))
                    continue;
                for (;;) {
                    ssize_t n = read(fds[i].fd, buf.data(), buf.size());
                    if (n <= 0)
                        break;
                    if (percent(rng) < loss_.load())
                        continue;
                    admit(ways[i], std::string(buf.data(), std::size_t(n)), g_get_monotonic_time());
                }
            }
            now = g_get_monotonic_time();
            for (Way &w : ways)
                while (!w.queue.empty() && w.queue.front().due_us <= now) {
                    const Packet &p = w.queue.front();
                    // A full device queue drops the packet, as a congested link would.
                    // EIO: the device is not up yet (the link is being configured).
                    if (write(w.to, p.bytes.data(), p.bytes.size()) < 0 && errno != EAGAIN &&
                        errno != EIO)
                        g_printerr("impaired link: write: %s\n", g_strerror(errno));
                    w.queue.pop_front();
                }
        }
    }

    gint64 delay_us_;
    std::atomic<int> loss_{0};
    std::atomic<unsigned> rate_kbps_{0};
    std::atomic<bool> stop_{false};
    int fd_a_ = -1, fd_b_ = -1;
    int wake_[2] = {-1, -1};
    std::thread thread_;
};

Result<void> ImpairedLink::available() {
    if (geteuid() != 0)
        return fail("needs root (creates network namespaces and links)");
    if (!Owned<gchar>(g_find_program_in_path("ip")))
        return fail("needs the ip command (apt-get install iproute2)");
    if (auto list = run({"ip", "netns", "list"}); !list)
        return fail("ip netns does not work here: " + list.message());
    return {};
}

Result<std::unique_ptr<ImpairedLink>> ImpairedLink::create(int loss_percent, unsigned delay_ms) {
    static bool handlers = false;
    if (!handlers) {
        handlers = true;
        signal(SIGABRT, on_abort);
        std::atexit(delete_all);
    }
    delete_stale();
    std::unique_ptr<ImpairedLink> link(new ImpairedLink());
    link->delay_ms_ = delay_ms;
    if (auto made = link->setup(loss_percent); !made)
        return made.error(); // the destructor removed what was made
    return link;
}

Result<void> ImpairedLink::setup(int loss_percent) {
    loss_percent_ = loss_percent;
    std::string tag = std::to_string(getpid());
    ns_a_ = kPrefix + tag + "-a";
    ns_b_ = kPrefix + tag + "-b";
    // Interface names have at most 15 characters.
    dev_a_ = "dfa" + tag.substr(0, 10);
    dev_b_ = "dfb" + tag.substr(0, 10);
    // One /24 per run out of 10.77.0.0/16. The namespaces are private, so equal numbers
    // in two runs would not even clash.
    std::string net = "10.77." + std::to_string(getpid() % 250) + ".";
    ip_a_ = net + "1";
    ip_b_ = net + "2";
    for (int i = 0; i < 2; ++i) {
        const std::string &ns = i == 0 ? ns_a_ : ns_b_;
        g_strlcpy(g_cleanup[i], ns.c_str(), sizeof g_cleanup[i]);
        auto made = run({"ip", "netns", "add", ns});
        if (made)
            made = run(in_ns(ns, {"ip", "link", "set", "lo", "up"}));
        if (!made)
            return fail("cannot create network namespace " + ns + ": " + made.message());
    }
    auto veth = run({"ip", "link", "add", dev_a_, "netns", ns_a_, "type", "veth", "peer", "name",
                     dev_b_, "netns", ns_b_});
    Result<void> with_netem = veth ? netem(ns_a_, dev_a_, "add", loss_percent, delay_ms_)
                                   : Result<void>(fail("no veth pair: " + veth.message()));
    if (with_netem) {
        if (auto b = netem(ns_b_, dev_b_, "add", loss_percent, delay_ms_); !b)
            return fail("cannot add netem on " + dev_b_ + ": " + b.message());
    } else {
        // No netem (e.g. a VM kernel without sch_netem): relay through TUN devices instead.
        g_test_message("netem unavailable (%s); using a userspace relay between TUN devices",
                       with_netem.message().c_str());
        if (veth)
            run_or_say(in_ns(ns_a_, {"ip", "link", "del", dev_a_}));
        relay_ = std::make_unique<Relay>(delay_ms_, loss_percent);
        if (auto started = relay_->start(ns_a_, dev_a_, ns_b_, dev_b_); !started)
            return started;
    }
    for (const auto &[ns, dev, ip] : {std::tuple{ns_a_, dev_a_, ip_a_}, {ns_b_, dev_b_, ip_b_}}) {
        auto up = run(in_ns(ns, {"ip", "addr", "add", ip + "/24", "dev", dev}));
        if (up)
            up = run(in_ns(ns, {"ip", "link", "set", dev, "up"}));
        if (!up)
            return fail("cannot configure the link's addresses: " + up.message());
    }
    return {};
}

ImpairedLink::~ImpairedLink() {
    relay_.reset(); // closes the TUN devices
    delete_all();
}

Result<void> ImpairedLink::netem_both(const char *verb) const {
    long rate = rate_set_ ? long(rate_kbps_) : -1;
    if (auto a = netem(ns_a_, dev_a_, verb, loss_percent_, delay_ms_, rate); !a)
        return a;
    return netem(ns_b_, dev_b_, verb, loss_percent_, delay_ms_, rate);
}

Result<void> ImpairedLink::set_loss(int percent) {
    loss_percent_ = percent;
    if (relay_) {
        relay_->set_loss(percent);
        return {};
    }
    return netem_both("change");
}

Result<void> ImpairedLink::set_rate(unsigned kbps) {
    rate_kbps_ = kbps;
    rate_set_ = true;
    if (relay_) {
        relay_->set_rate(kbps);
        return {};
    }
    return netem_both("change");
}

const char *ImpairedLink::how() const {
    return relay_ ? "a userspace relay between TUN devices (no netem in this kernel)"
                  : "netem on both ends of a veth pair";
}

} // namespace duet::testing

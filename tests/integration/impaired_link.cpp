// SPDX-License-Identifier: MIT
// Network namespaces with netem on a veth pair, or a userspace TUN relay doing the same.
#include "impaired_link.h"

#include <gio/gio.h>
#include <glib.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <thread>

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

// Runs a command; true on exit 0. Its output goes to *out if given, else to stderr on
// failure.
bool run(const std::vector<std::string> &args, std::string *out = nullptr) {
    std::vector<const char *> argv;
    for (const auto &a : args)
        argv.push_back(a.c_str());
    argv.push_back(nullptr);
    GError *err = nullptr;
    GSubprocess *p = g_subprocess_newv(
        argv.data(),
        GSubprocessFlags(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE), &err);
    if (!p) {
        if (out)
            *out = err->message;
        g_error_free(err);
        return false;
    }
    gchar *text = nullptr;
    g_subprocess_communicate_utf8(p, nullptr, nullptr, &text, nullptr, nullptr);
    bool ok = g_subprocess_get_if_exited(p) && g_subprocess_get_exit_status(p) == 0;
    if (out) {
        *out = text ? text : "";
    } else if (!ok) {
        std::string cmd;
        for (const auto &a : args)
            cmd += a + " ";
        g_printerr("command failed: %s\n%s", cmd.c_str(), text ? text : "");
    }
    g_free(text);
    g_object_unref(p);
    return ok;
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
    std::string list;
    if (!run({"ip", "netns", "list"}, &list))
        return;
    gchar **lines = g_strsplit(list.c_str(), "\n", -1);
    for (gchar **l = lines; *l; ++l) {
        std::string name = g_strstrip(*l);
        name = name.substr(0, name.find(' '));
        if (name.rfind(kPrefix, 0) != 0)
            continue;
        int pid = std::atoi(name.c_str() + std::strlen(kPrefix));
        if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH)
            run({"ip", "netns", "del", name});
    }
    g_strfreev(lines);
}

// A TUN device named `dev` inside namespace `ns`. Switches the calling thread's network
// namespace: call it on a thread of its own.
int open_tun_in(const std::string &ns, const std::string &dev, std::string *error) {
    int nsfd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
        *error = "cannot enter namespace " + ns + ": " + g_strerror(errno);
        if (nsfd >= 0)
            close(nsfd);
        return -1;
    }
    close(nsfd);
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        *error = std::string("cannot open /dev/net/tun: ") + g_strerror(errno);
        return -1;
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    g_strlcpy(ifr.ifr_name, dev.c_str(), IFNAMSIZ);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        *error = "cannot create TUN device " + dev + ": " + g_strerror(errno);
        close(fd);
        return -1;
    }
    return fd;
}

} // namespace

// Moves IP packets between the two TUN devices on a thread of its own, dropping
// `loss` percent of them and delaying the rest by the same fixed time, like netem.
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

    bool start(const std::string &ns_a, const std::string &dev_a, const std::string &ns_b,
               const std::string &dev_b, std::string *error) {
        // The devices must be made inside their namespaces; the thread that enters them
        // ends right after, so no other thread of ours changes namespace.
        std::thread maker([&] {
            fd_a_ = open_tun_in(ns_a, dev_a, error);
            if (fd_a_ >= 0)
                fd_b_ = open_tun_in(ns_b, dev_b, error);
        });
        maker.join();
        if (fd_a_ < 0 || fd_b_ < 0)
            return false;
        if (pipe2(wake_, O_CLOEXEC) != 0) {
            *error = std::string("pipe: ") + g_strerror(errno);
            return false;
        }
        thread_ = std::thread([this] { relay(); });
        return true;
    }

    void set_loss(int percent) { loss_.store(percent); }

  private:
    struct Packet {
        gint64 due_us;
        int to;
        std::string bytes;
    };

    void relay() {
        // The same delay for every packet: arrival order is delivery order.
        std::deque<Packet> queue;
        std::mt19937 rng(std::random_device{}());
        std::uniform_int_distribution<int> percent(0, 99);
        std::string buf(65536, '\0');
        while (!stop_.load()) {
            int timeout = -1;
            if (!queue.empty())
                timeout = int(std::max<gint64>(
                    0, (queue.front().due_us - g_get_monotonic_time() + 999) / 1000));
            pollfd fds[3] = {{fd_a_, POLLIN, 0}, {fd_b_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
            if (poll(fds, 3, timeout) < 0 && errno != EINTR)
                return;
            for (int i = 0; i < 2; ++i) {
                if (!(fds[i].revents & POLLIN))
                    continue;
                int to = i == 0 ? fd_b_ : fd_a_;
                for (;;) {
                    ssize_t n = read(fds[i].fd, buf.data(), buf.size());
                    if (n <= 0)
                        break;
                    if (percent(rng) < loss_.load())
                        continue;
                    queue.push_back(Packet{g_get_monotonic_time() + delay_us_, to,
                                           std::string(buf.data(), std::size_t(n))});
                }
            }
            gint64 now = g_get_monotonic_time();
            while (!queue.empty() && queue.front().due_us <= now) {
                const Packet &p = queue.front();
                // A full device queue drops the packet, as a congested link would.
                if (write(p.to, p.bytes.data(), p.bytes.size()) < 0 && errno != EAGAIN)
                    g_printerr("impaired link: write: %s\n", g_strerror(errno));
                queue.pop_front();
            }
        }
    }

    gint64 delay_us_;
    std::atomic<int> loss_{0};
    std::atomic<bool> stop_{false};
    int fd_a_ = -1, fd_b_ = -1;
    int wake_[2] = {-1, -1};
    std::thread thread_;
};

std::string ImpairedLink::unavailable() {
    if (geteuid() != 0)
        return "needs root (creates network namespaces and links)";
    gchar *ip = g_find_program_in_path("ip");
    bool have_ip = ip != nullptr;
    g_free(ip);
    if (!have_ip)
        return "needs the ip command (apt-get install iproute2)";
    std::string out;
    if (!run({"ip", "netns", "list"}, &out))
        return "ip netns does not work here: " + out;
    return {};
}

std::unique_ptr<ImpairedLink> ImpairedLink::create(int loss_percent, unsigned delay_ms,
                                                   std::string *error) {
    static bool handlers = false;
    if (!handlers) {
        handlers = true;
        signal(SIGABRT, on_abort);
        std::atexit(delete_all);
    }
    delete_stale();
    std::unique_ptr<ImpairedLink> link(new ImpairedLink());
    link->delay_ms_ = delay_ms;
    if (!link->setup(loss_percent, error))
        return nullptr; // the destructor removed what was made
    return link;
}

bool ImpairedLink::setup(int loss_percent, std::string *error) {
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
        if (!run({"ip", "netns", "add", ns}) ||
            !run(in_ns(ns, {"ip", "link", "set", "lo", "up"}))) {
            *error = "cannot create network namespace " + ns;
            return false;
        }
    }
    std::string loss = std::to_string(loss_percent) + "%";
    std::string delay = std::to_string(delay_ms_) + "ms";
    bool veth = run({"ip", "link", "add", dev_a_, "netns", ns_a_, "type", "veth", "peer", "name",
                     dev_b_, "netns", ns_b_});
    std::string why = "no veth pair";
    bool netem = veth && run(in_ns(ns_a_, {"tc", "qdisc", "add", "dev", dev_a_, "root", "netem",
                                           "loss", loss, "delay", delay}),
                             &why);
    if (netem && !run(in_ns(ns_b_, {"tc", "qdisc", "add", "dev", dev_b_, "root", "netem", "loss",
                                    loss, "delay", delay}))) {
        *error = "cannot add netem on " + dev_b_;
        return false;
    }
    if (!netem) {
        // No netem (e.g. a VM kernel without sch_netem): relay through TUN devices instead.
        g_test_message("netem unavailable (%s); using a userspace relay between TUN devices",
                       g_strstrip(why.data()));
        if (veth)
            run(in_ns(ns_a_, {"ip", "link", "del", dev_a_}));
        relay_ = std::make_unique<Relay>(delay_ms_, loss_percent);
        if (!relay_->start(ns_a_, dev_a_, ns_b_, dev_b_, error))
            return false;
    }
    bool ok = run(in_ns(ns_a_, {"ip", "addr", "add", ip_a_ + "/24", "dev", dev_a_})) &&
              run(in_ns(ns_b_, {"ip", "addr", "add", ip_b_ + "/24", "dev", dev_b_})) &&
              run(in_ns(ns_a_, {"ip", "link", "set", dev_a_, "up"})) &&
              run(in_ns(ns_b_, {"ip", "link", "set", dev_b_, "up"}));
    if (!ok)
        *error = "cannot configure the link's addresses";
    return ok;
}

ImpairedLink::~ImpairedLink() {
    relay_.reset(); // closes the TUN devices
    delete_all();
}

bool ImpairedLink::set_loss(int percent) {
    if (relay_) {
        relay_->set_loss(percent);
        return true;
    }
    std::string loss = std::to_string(percent) + "%", delay = std::to_string(delay_ms_) + "ms";
    return run(in_ns(ns_a_, {"tc", "qdisc", "change", "dev", dev_a_, "root", "netem", "loss", loss,
                             "delay", delay})) &&
           run(in_ns(ns_b_, {"tc", "qdisc", "change", "dev", dev_b_, "root", "netem", "loss", loss,
                             "delay", delay}));
}

const char *ImpairedLink::how() const {
    return relay_ ? "a userspace relay between TUN devices (no netem in this kernel)"
                  : "netem on both ends of a veth pair";
}

} // namespace duet::testing

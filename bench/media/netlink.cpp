// SPDX-License-Identifier: MIT
// duet-netlink: holds an impaired link between two network namespaces open for a bench
// (tests/integration/impaired_link.h), and changes it on command.
//
//   duet-netlink [LOSS_PERCENT [DELAY_MS]]
//
// Once the link is up it prints one JSON line on stdout: {"ready":true,"ns_a":...,"ns_b":...,
// "ip_a":...,"ip_b":...,"how":...}. Then it reads commands from stdin, one per line, and
// answers each with {"ok":true} or {"ok":false,"error":...}:
//   rate KBPS   a bottleneck of KBPS kbit/s each way (0: none)
//   loss PCT    packet loss from now on, each way
// At end of input (or on SIGINT/SIGTERM) it removes the namespaces and exits 0.
#include "tests/integration/impaired_link.h"

#include "common/ref.h"

#include <glib.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include <sys/resource.h>

using duet::Owned;
using duet::testing::ImpairedLink;

namespace {

constexpr int kRelayNice = -10;

std::string quoted(const std::string &s) {
    Owned<gchar> esc(g_strescape(s.c_str(), nullptr));
    return std::string("\"") + esc.get() + "\"";
}

void answer(const duet::Result<void> &r) {
    if (r)
        std::printf("{\"ok\":true}\n");
    else
        std::printf("{\"ok\":false,\"error\":%s}\n", quoted(r.message()).c_str());
    std::fflush(stdout);
}

bool parse_number(const std::string &text, long lo, long hi, long *out) {
    gint64 v = 0;
    if (!g_ascii_string_to_signed(text.c_str(), 10, lo, hi, &v, nullptr))
        return false;
    *out = long(v);
    return true;
}

// SIGINT/SIGTERM interrupt the read of stdin (no SA_RESTART), which ends the command loop,
// so the link is removed as at end of input.
void on_signal(int) {}

} // namespace

int main(int argc, char **argv) {
    long loss = 0, delay = 0;
    if ((argc > 1 && !parse_number(argv[1], 0, 100, &loss)) ||
        (argc > 2 && !parse_number(argv[2], 0, 10000, &delay)) || argc > 3) {
        std::fprintf(stderr, "usage: duet-netlink [LOSS_PERCENT [DELAY_MS]]\n");
        return 2;
    }
    // The link stands in for a network, which does not wait for this machine's CPU: its
    // relay thread (made below, so it inherits this) runs ahead of the programs under test
    // and of whatever else the machine is busy with. Best effort: root may, others not.
    if (setpriority(PRIO_PROCESS, 0, kRelayNice) != 0)
        std::fprintf(stderr, "duet-netlink: cannot raise its priority: %s\n", g_strerror(errno));
    if (auto ok = ImpairedLink::available(); !ok) {
        std::fprintf(stderr, "duet-netlink: %s\n", ok.message().c_str());
        return 1;
    }
    auto made = ImpairedLink::create(int(loss), unsigned(delay));
    if (!made) {
        std::fprintf(stderr, "duet-netlink: %s\n", made.message().c_str());
        return 1;
    }
    std::unique_ptr<ImpairedLink> link = std::move(made).value();
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::printf("{\"ready\":true,\"ns_a\":%s,\"ns_b\":%s,\"ip_a\":%s,\"ip_b\":%s,\"how\":%s}\n",
                quoted(link->ns_a()).c_str(), quoted(link->ns_b()).c_str(),
                quoted(link->ip_a()).c_str(), quoted(link->ip_b()).c_str(),
                quoted(link->how()).c_str());
    std::fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) {
        Owned<gchar *> words(g_strsplit(g_strstrip(line.data()), " ", 2));
        std::string verb = words.get()[0] ? words.get()[0] : "";
        std::string arg = verb.empty() || !words.get()[1] ? "" : words.get()[1];
        long v = 0;
        if (verb.empty())
            continue;
        if (verb == "rate" && parse_number(arg, 0, 10000000, &v))
            answer(link->set_rate(unsigned(v)));
        else if (verb == "loss" && parse_number(arg, 0, 100, &v))
            answer(link->set_loss(int(v)));
        else
            answer(duet::fail("unknown command: " + line));
    }
    link.reset();
    return 0;
}

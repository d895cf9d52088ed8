// SPDX-License-Identifier: MIT
// Two network namespaces joined by a lossy, slow link, for media tests under impairment.
#pragma once

#include "common/result.h"

#include <memory>
#include <string>
#include <vector>

namespace duet::testing {

// Namespaces "duetf-PID-a" and "duetf-PID-b", addresses ip_a()/ip_b() in one /24, and
// between them a link that drops a share of the packets and delays the rest, each way.
// With sch_netem in the kernel that is a veth pair with netem on both ends; without it
// (minimal VM kernels) it is a pair of TUN devices with this process relaying packets
// between them, applying the same loss and delay. Everything is removed on destruction,
// at exit and on abort (a failed assertion), and leftovers of killed runs at the next start.
class ImpairedLink {
  public:
    // The bottleneck queue of set_rate, in milliseconds of traffic at the limit.
    static constexpr unsigned kBottleneckQueueMs = 200;

    // Fails with why this machine cannot have one (not root, no `ip`).
    static Result<void> available();
    static Result<std::unique_ptr<ImpairedLink>> create(int loss_percent, unsigned delay_ms);
    ~ImpairedLink();
    ImpairedLink(const ImpairedLink &) = delete;
    ImpairedLink &operator=(const ImpairedLink &) = delete;

    const std::string &ip_a() const { return ip_a_; }
    const std::string &ip_b() const { return ip_b_; }
    // Command prefixes that run a program inside a namespace.
    std::vector<std::string> in_a() const { return {"ip", "netns", "exec", ns_a_}; }
    std::vector<std::string> in_b() const { return {"ip", "netns", "exec", ns_b_}; }
    // Packet loss from now on, both ways (100: the link is dead).
    Result<void> set_loss(int percent);
    // A bottleneck from now on, each way: at most `kbps` kbit/s (0: no limit), with a
    // drop-tail queue holding kBottleneckQueueMs of traffic at that rate, as a router's
    // buffer would; what does not fit is dropped.
    Result<void> set_rate(unsigned kbps);
    const std::string &ns_a() const { return ns_a_; }
    const std::string &ns_b() const { return ns_b_; }
    // How the impairment is made, for the test log.
    const char *how() const;

    class Relay; // the userspace link, when there is no netem

  private:
    ImpairedLink() = default;
    Result<void> setup(int loss_percent);

    Result<void> netem_both(const char *verb) const;

    std::string ns_a_, ns_b_, dev_a_, dev_b_, ip_a_, ip_b_;
    unsigned delay_ms_ = 0;
    int loss_percent_ = 0;
    unsigned rate_kbps_ = 0;
    bool rate_set_ = false; // netem is given rate options only once one was asked for
    std::unique_ptr<Relay> relay_;
};

} // namespace duet::testing

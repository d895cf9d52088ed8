// SPDX-License-Identifier: MIT
// Kiosk mode under Xvfb: `--sink window` really puts the remote picture on the screen.
#include "harness.h"
#include "peer_harness.h"

#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <glib.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <sys/prctl.h>

using namespace duet::testing;

namespace {

constexpr int kScreenW = 640, kScreenH = 480;
// The screenshot counts as showing video when this share of its pixels differs from the
// most common value (Xvfb's -br root is uniformly black before the call).
constexpr double kMinChangedShare = 0.002;
// The first decoded frame reaches the screen after the sink's latency; keep looking for
// at most this long.
constexpr unsigned kScreenTimeoutMs = 8000;

// Xvfb on a free display; -displayfd tells us which one once it is ready.
class Xvfb {
  public:
    Xvfb() {
        gchar *xvfb = g_find_program_in_path("Xvfb");
        if (!xvfb)
            return;
        int fds[2];
        GError *err = nullptr;
        g_assert_true(g_unix_open_pipe(fds, FD_CLOEXEC, &err));
        GSubprocessLauncher *l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_SILENCE);
        g_subprocess_launcher_take_fd(l, fds[1], 3);
        // A failed assertion aborts the test without running ~Xvfb; an orphaned Xvfb would
        // keep meson's output pipe open and stall the run until the test's timeout.
        g_subprocess_launcher_set_child_setup(
            l, [](gpointer) { prctl(PR_SET_PDEATHSIG, SIGTERM); }, nullptr, nullptr);
        std::string screen = std::to_string(kScreenW) + "x" + std::to_string(kScreenH) + "x24";
        const char *argv[] = {xvfb,           "-displayfd", "3",         "-screen", "0",
                              screen.c_str(), "-br",        "-nolisten", "tcp",     nullptr};
        proc_ = g_subprocess_launcher_spawnv(l, argv, &err);
        g_object_unref(l);
        g_free(xvfb);
        g_assert_no_error(err);
        // Bounded by Xvfb itself: it writes the number when ready or exits (EOF).
        GInputStream *in = g_unix_input_stream_new(fds[0], TRUE);
        GDataInputStream *data = g_data_input_stream_new(in);
        char *line = g_data_input_stream_read_line_utf8(data, nullptr, nullptr, nullptr);
        if (line)
            display_ = std::string(":") + line;
        g_free(line);
        g_object_unref(data);
        g_object_unref(in);
    }
    ~Xvfb() {
        if (proc_) {
            g_subprocess_send_signal(proc_, SIGTERM);
            g_subprocess_wait(proc_, nullptr, nullptr);
            g_object_unref(proc_);
        }
    }
    const std::string &display() const { return display_; }

  private:
    GSubprocess *proc_ = nullptr;
    std::string display_;
};

// Grabs the screen as 8-bit grey with GStreamer's ximagesrc (no extra tools needed) and
// keeps a PNG next to it for people looking at a failure.
std::vector<unsigned char> grab(const std::string &display, const std::string &stem) {
    std::string raw = stem + ".gray", png = stem + ".png";
    std::string desc = "ximagesrc display-name=" + display +
                       " use-damage=false num-buffers=1 ! videoconvert ! tee name=t ! queue ! "
                       "video/x-raw,format=GRAY8 ! filesink location=" +
                       raw + " t. ! queue ! videoconvert ! pngenc ! filesink location=" + png;
    gchar **argv = nullptr;
    std::string cmd = "gst-launch-1.0 -q " + desc;
    g_assert_true(g_shell_parse_argv(cmd.c_str(), nullptr, &argv, nullptr));
    GError *err = nullptr;
    GSubprocess *p = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDERR_SILENCE, &err);
    g_strfreev(argv);
    g_assert_no_error(err);
    g_subprocess_wait(p, nullptr, nullptr);
    g_object_unref(p);
    std::ifstream in(raw, std::ios::binary);
    return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), {});
}

double changed_share(const std::vector<unsigned char> &pixels) {
    if (pixels.empty())
        return 0;
    std::map<unsigned char, std::size_t> counts;
    for (unsigned char v : pixels)
        ++counts[v];
    std::size_t top = 0;
    for (auto &[v, n] : counts)
        top = std::max(top, n);
    return double(pixels.size() - top) / double(pixels.size());
}

void test_window_shows_remote_video() {
    Xvfb x;
    if (x.display().empty()) {
        g_test_skip("Xvfb is not installed (apt-get install xvfb)");
        return;
    }
    std::string stem = scratch_dir() + "/kiosk";
    // Before the call: a uniform screen, or the check below would prove nothing.
    g_assert_cmpfloat(changed_share(grab(x.display(), stem + "-before")), <, kMinChangedShare);

    ServerProcess server;
    PeerProcess kiosk("kiosk", server.ws_url(), "kiosk-room", {"--sink", "window"},
                      {"DISPLAY=" + x.display()});
    std::string kiosk_id = json_str(kiosk.wait_event("joined", {}, kJoinTimeoutMs), "id");
    PeerProcess caller("caller", server.ws_url(), "kiosk-room");
    std::string caller_id = json_str(caller.wait_event("joined", {}, kJoinTimeoutMs), "id");
    g_assert_false(kiosk.wait_first_frame("video", caller_id).empty());
    g_assert_false(caller.wait_first_frame("video", kiosk_id).empty());

    double share = 0;
    int n = 0;
    wait_until(
        [&] {
            share = changed_share(grab(x.display(), stem + "-call"));
            ++n;
            return share >= kMinChangedShare;
        },
        kScreenTimeoutMs);
    g_test_message("screenshot %d: %.1f%% of pixels differ from the background (%s-call.png)", n,
                   share * 100, stem.c_str());
    g_assert_cmpfloat(share, >=, kMinChangedShare);
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/peer/kiosk/window-shows-remote-video", test_window_shows_remote_video);
    return finish_tests(g_test_run());
}

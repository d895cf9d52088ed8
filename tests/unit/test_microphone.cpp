// SPDX-License-Identifier: MIT
// Whether a microphone can be there, judged from /dev/snd before anything is opened, and
// the reason a person reads when it cannot (pipelines/devices.h).
#include "pipelines/devices.h"
#include "tests/check_str.h"
#include "tests/temp_dir.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <unistd.h>

#include <string>

using namespace duet;
using namespace duet::pipelines;

namespace {

// A scratch directory standing in for /dev/snd, with these (empty) nodes in it.
// A stand-in for /dev/snd holding empty files named like its device nodes.
struct SndDir : duet::testing::TempDir {
    explicit SndDir(std::initializer_list<const char *> nodes) : TempDir("duet-snd-XXXXXX") {
        for (const char *n : nodes)
            touch(n);
    }
};

void test_no_card() {
    check_str_eq(microphone_absent_reason("/nonexistent/snd", false), "no sound card found");
    SndDir empty{};
    check_str_eq(microphone_absent_reason(empty.path, false), "no sound card found");
    // A control node or a timer is not a sound card's PCM device.
    SndDir control{"controlC0", "timer", "seq"};
    check_str_eq(microphone_absent_reason(control.path, false), "no sound card found");
}

void test_playback_only() {
    SndDir hdmi{"controlC0", "pcmC0D3p", "pcmC0D7p"};
    check_str_eq(microphone_absent_reason(hdmi.path, false),
                 "no microphone found (the sound cards have no capture device)");
}

void test_capture_present() {
    SndDir usb{"controlC1", "pcmC1D0p", "pcmC1D0c"};
    check_str_eq(microphone_absent_reason(usb.path, false), "");
}

// A sound server may have a microphone (Bluetooth, network) that /dev/snd does not show.
void test_sound_server_decides() {
    check_str_eq(microphone_absent_reason("/nonexistent/snd", true), "");
}

void test_permission_denied() {
    if (geteuid() == 0) {
        g_test_skip("root opens any device node: no permission error to show");
        return;
    }
    SndDir card{"controlC0", "pcmC0D0c", "pcmC0D0p"};
    g_assert_cmpint(g_chmod((card.path + "/pcmC0D0c").c_str(), 0), ==, 0);
    check_str_eq(microphone_absent_reason(card.path, false),
                 "permission denied on " + card.path +
                     "/pcmC0D0c (add the user to the group audio)");
}

// PULSE_SERVER, or a PulseAudio or PipeWire socket in the runtime directory.
void test_sound_server_reachable(const std::string &runtime) {
    g_unsetenv("PULSE_SERVER");
    g_assert_false(sound_server_reachable());
    std::string socket = runtime + "/pipewire-0";
    g_assert_true(g_file_set_contents(socket.c_str(), "", 0, nullptr));
    g_assert_true(sound_server_reachable());
    g_remove(socket.c_str());
    g_setenv("PULSE_SERVER", "tcp:127.0.0.1:4713", TRUE);
    g_assert_true(sound_server_reachable());
    g_unsetenv("PULSE_SERVER");
}

// On a machine without sound (CI's), `--audio-source mic` fails with the reason, and
// `auto` sends test ticks, both without opening ALSA.
void test_resolve_without_sound() {
    if (g_file_test("/dev/snd", G_FILE_TEST_EXISTS) || sound_server_reachable()) {
        g_test_skip("this machine has sound: the no-sound-card reason cannot be shown here");
        return;
    }
    MediaOptions o;
    o.video_source = VideoSource::Test;
    o.audio_source = AudioSource::Mic;
    o.sink = SinkMode::None;
    auto media = resolve_media(o);
    g_assert_false(media.ok());
    check_str_eq(media.message(), "microphone not usable: no sound card found");
    o.audio_source = AudioSource::Auto;
    auto fallback = resolve_media(o);
    g_assert_true(fallback.ok());
    g_assert_false(fallback->mic);
}

} // namespace

int main(int argc, char **argv) {
    // The runtime directory is read once per process: point it at an empty scratch one.
    gchar *runtime = g_dir_make_tmp("duet-runtime-XXXXXX", nullptr);
    g_setenv("XDG_RUNTIME_DIR", runtime, TRUE);
    std::string runtime_dir = runtime;
    g_free(runtime);
    gst_init(&argc, &argv);
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/microphone/no-card", test_no_card);
    g_test_add_func("/microphone/playback-only", test_playback_only);
    g_test_add_func("/microphone/capture-present", test_capture_present);
    g_test_add_func("/microphone/sound-server-decides", test_sound_server_decides);
    g_test_add_func("/microphone/permission-denied", test_permission_denied);
    g_test_add_data_func("/microphone/sound-server-reachable", &runtime_dir, [](const void *d) {
        test_sound_server_reachable(*static_cast<const std::string *>(d));
    });
    g_test_add_func("/microphone/resolve-without-sound", test_resolve_without_sound);
    int rc = g_test_run();
    g_rmdir(runtime_dir.c_str());
    return rc;
}

// SPDX-License-Identifier: MIT
// The simulated room's pure parts (spec, echo path, schedule, figures) and the echo delay
// estimator, on synthetic signals.
#include "pipelines/echo_delay.h"
#include "pipelines/echo_room.h"

#include <glib.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

using namespace duet::pipelines;
using namespace duet::pipelines::room;

namespace {

void test_spec() {
    auto ok = parse_room_spec("talk=/tmp/a.wav,talk-after-ms=6000,delay-ms=120,echo-gain=0.3");
    g_assert_true(bool(ok));
    g_assert_cmpstr(ok.value().talk_path.c_str(), ==, "/tmp/a.wav");
    g_assert_cmpint(ok.value().talk_after_ms, ==, 6000);
    g_assert_cmpint(ok.value().delay_ms, ==, 120);
    g_assert_cmpfloat(std::fabs(ok.value().echo_gain - 0.3), <, 1e-9);
    auto plain = parse_room_spec("talk=x.wav");
    g_assert_true(bool(plain));
    g_assert_cmpint(plain.value().talk_after_ms, <, 0);
    // Each mistake is refused with a reason.
    for (const char *bad : {"", "delay-ms=80", "talk=", "talk=x.wav,delay-ms=-1",
                            "talk=x.wav,delay-ms=80ms", "talk=x.wav,echo-gain=nope",
                            "talk=x.wav,talk-after-ms=100", "talk=x.wav,loud=1", "talk=x.wav,junk"}) {
        auto r = parse_room_spec(bad);
        g_assert_false(bool(r));
        g_assert_cmpuint(r.message().size(), >, 0);
    }
}

// An impulse played by the speaker comes back after the delay, then its reflections, and
// nothing comes back before the delay or from a room without echo.
void test_echo_path() {
    EchoPath path(50, 0.5);
    std::vector<std::int16_t> played(4800, 0);
    played[0] = 32767;
    path.played(1000, played.data(), played.size());
    std::vector<float> heard(4800, 0.0f);
    path.echo(1000, heard.data(), heard.size());
    int first = -1;
    float peak = 0;
    for (std::size_t k = 0; k < heard.size(); ++k) {
        if (first < 0 && std::fabs(heard[k]) > 1e-4f)
            first = int(k);
        peak = std::max(peak, std::fabs(heard[k]));
    }
    g_assert_cmpint(first, ==, 50 * kSamplesPerMs); // low-pass smears, never advances
    g_assert_cmpfloat(peak, <, 0.5f);               // the low-pass spreads the click
    g_assert_cmpfloat(peak, >, 0.05f);
    float late = 0; // reflections after the direct sound
    for (std::size_t k = std::size_t(60 * kSamplesPerMs); k < heard.size(); ++k)
        late = std::max(late, std::fabs(heard[k]));
    g_assert_cmpfloat(late, >, 0.01f);

    EchoPath quiet(50, 0.0);
    quiet.played(0, played.data(), played.size());
    std::vector<float> none(4800, 0.0f);
    quiet.echo(0, none.data(), none.size());
    for (float v : none)
        g_assert_cmpfloat(v, ==, 0.0f);
}

// The schedule: nothing until the far end is heard, then converge, echo only, double talk,
// gap, near end alone, done; the speaker is silent from the gap on.
void test_schedule() {
    Index talk_len = 2 * kRate;
    EchoMeter m(4000, talk_len);
    g_assert_true(m.phase(0) == Phase::Waiting);
    Index t0 = kRate;
    m.far_sound(t0);
    m.far_sound(5 * kRate); // only the first counts
    g_assert_true(m.phase(t0 - 1) == Phase::Waiting);
    g_assert_true(m.phase(t0) == Phase::Converging);
    g_assert_true(m.phase(t0 + 2 * kRate) == Phase::EchoOnly);
    Index talk = t0 + 4 * kRate;
    g_assert_true(m.phase(talk) == Phase::DoubleTalk);
    g_assert_cmpint(m.talk_sample(talk + 10, 0), ==, 10);
    g_assert_false(m.speaker_muted(talk + 10));
    Index gap = talk + talk_len;
    g_assert_true(m.phase(gap) == Phase::Gap);
    g_assert_true(m.speaker_muted(gap));
    g_assert_cmpint(m.talk_sample(gap, 0), ==, -1);
    Index alone = gap + EchoMeter::kGapMs * kSamplesPerMs;
    g_assert_true(m.phase(alone) == Phase::NearAlone);
    g_assert_cmpint(m.talk_sample(alone + 7, 0), ==, 7);
    g_assert_true(m.phase(alone + talk_len) == Phase::Done);
    g_assert_false(m.speaker_muted(alone + talk_len));

    EchoMeter loop(-1, 100);
    g_assert_cmpint(loop.talk_sample(1234, 1000), ==, 34);
    g_assert_true(loop.phase(5 * kRate) == Phase::Waiting);
}

// Figures from known signals: echo sent at a tenth of its level is 20 dB of ERLE; the near
// end sent at the same gain with and without the far end is 0 dB kept.
void test_figures() {
    Index talk_len = kRate;
    EchoMeter m(3000, talk_len);
    m.far_sound(0);
    const std::size_t chunk = 480;
    std::vector<float> near(chunk), echo(chunk), sent(chunk);
    bool reported = false;
    for (Index i = 0; !reported && i < 20 * kRate; i += Index(chunk)) {
        Phase p = m.phase(i);
        for (std::size_t k = 0; k < chunk; ++k) {
            float s = std::sin(float(i + Index(k)) * 0.05f);
            near[k] = (p == Phase::DoubleTalk || p == Phase::NearAlone) ? 0.2f * s : 0.0f;
            echo[k] = (p == Phase::NearAlone || p == Phase::Gap) ? 0.0f : 0.1f * s;
            // The canceller leaves a tenth of the echo and halves the near end.
            sent[k] = 0.01f * s * (echo[k] != 0.0f) + 0.5f * near[k];
        }
        m.add_mic(i, near.data(), echo.data(), chunk);
        m.add_sent(i, sent.data(), chunk);
        if (auto f = m.take_figures()) {
            reported = true;
            g_assert_cmpfloat(std::fabs(f->erle_db - 20.0), <, 0.1);
            g_assert_cmpfloat(std::fabs(f->alone_gain_db - (-6.02)), <, 0.1);
            // Residual echo rides on the near end in double talk: a little above alone.
            g_assert_cmpfloat(f->near_kept_db, >, 0.0);
            g_assert_cmpfloat(f->near_kept_db, <, 1.0);
            g_assert_cmpfloat(f->echo_only_s, >, 0.5);
            g_assert_false(m.take_figures().has_value()); // once
        }
    }
    g_assert_true(reported);
    g_assert_cmpfloat(ratio_db(0, 0), ==, 0);
    g_assert_cmpfloat(ratio_db(1, 0), ==, 99);
    g_assert_cmpfloat(power_dbfs(0, 10), ==, -99);
}

// Speech-like bursts on the speaker, heard back `delay_ms` later at a lower level under
// noise and (optionally) a talker at the microphone; returns the estimate, or -1.
int estimate(int delay_ms, bool near_talker, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    EchoDelayEstimator est;
    int lag = delay_ms / EchoDelayEstimator::kFrameMs;
    const int frames = 3000;
    std::vector<double> far(frames), talker(frames);
    double level = 0, t_level = 0;
    for (int f = 0; f < frames; ++f) {
        if (f % 40 == 0) // syllables of about 160 ms at random loudness, with pauses
            level = u(rng) < 0.3 ? 1e-6 : std::pow(10.0, -3.0 * u(rng));
        if (f % 55 == 0)
            t_level = u(rng) < 0.5 ? 0 : std::pow(10.0, -3.0 * u(rng));
        far[std::size_t(f)] = level * (0.5 + u(rng));
        talker[std::size_t(f)] = near_talker ? t_level * (0.5 + u(rng)) : 0;
    }
    int found = -1;
    for (int f = 0; f < frames; ++f) {
        est.speaker(f, far[std::size_t(f)]);
        double echo = f >= lag ? 0.05 * far[std::size_t(f - lag)] : 0;
        est.microphone(f, echo + talker[std::size_t(f)] + 1e-7 * u(rng));
        if (auto d = est.update())
            found = *d;
    }
    return found;
}

void test_delay_estimator() {
    for (int delay : {20, 80, 152, 300}) {
        int found = estimate(delay, false, unsigned(delay));
        g_test_message("delay %d ms: found %d ms", delay, found);
        g_assert_cmpint(std::abs(found - delay), <=, EchoDelayEstimator::kFrameMs);
    }
    int with_talker = estimate(120, true, 7);
    g_test_message("delay 120 ms with a talker at the microphone: found %d ms", with_talker);
    g_assert_cmpint(std::abs(with_talker - 120), <=, EchoDelayEstimator::kFrameMs);
}

// A call's far end starts talking after a silence: the delay is found from its first words
// (well before the 2 s window is full), so that the canceller's reference moves before it
// has converged on the echo where it was.
void test_delay_estimator_first_words() {
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> u(0, 1);
    EchoDelayEstimator est;
    const int lag = 150 / EchoDelayEstimator::kFrameMs, onset = 1000;
    std::vector<double> far(3000, 0.0);
    double level = 0;
    for (int f = onset; f < 3000; ++f) {
        if (f % 40 == 0)
            level = u(rng) < 0.3 ? 1e-6 : std::pow(10.0, -3.0 * u(rng));
        far[std::size_t(f)] = level * (0.5 + u(rng));
    }
    int found = -1, at = -1;
    for (int f = 0; f < 3000 && found < 0; ++f) {
        est.speaker(f, far[std::size_t(f)]);
        double echo = f >= lag ? 0.05 * far[std::size_t(f - lag)] : 0;
        est.microphone(f, echo + 1e-7 * u(rng));
        if (auto d = est.update()) {
            found = *d;
            at = f;
        }
    }
    g_test_message("found %d ms, %d ms after the far end started", found,
                   (at - onset) * EchoDelayEstimator::kFrameMs);
    g_assert_cmpint(std::abs(found - 150), <=, EchoDelayEstimator::kFrameMs);
    // Within 1.5 s of speech (counted in frames: no clock involved).
    g_assert_cmpint(at - onset, <=, 375);
}

// No echo (the microphone hears something unrelated) and a silent speaker give no delay.
void test_delay_estimator_no_echo() {
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> u(0, 1);
    EchoDelayEstimator est;
    double far = 0, mic = 0;
    for (int f = 0; f < 3000; ++f) {
        if (f % 40 == 0)
            far = std::pow(10.0, -3.0 * u(rng));
        if (f % 47 == 0)
            mic = std::pow(10.0, -3.0 * u(rng));
        est.speaker(f, far * (0.5 + u(rng)));
        est.microphone(f, mic * (0.5 + u(rng)));
        g_assert_false(est.update().has_value());
    }
    EchoDelayEstimator silent;
    for (int f = 0; f < 3000; ++f) {
        silent.speaker(f, 0);
        silent.microphone(f, 1e-3 * u(rng));
        g_assert_false(silent.update().has_value());
    }
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/echo-room/spec", test_spec);
    g_test_add_func("/echo-room/echo-path", test_echo_path);
    g_test_add_func("/echo-room/schedule", test_schedule);
    g_test_add_func("/echo-room/figures", test_figures);
    g_test_add_func("/echo-delay/finds-the-delay", test_delay_estimator);
    g_test_add_func("/echo-delay/no-echo-no-delay", test_delay_estimator_no_echo);
    g_test_add_func("/echo-delay/first-words", test_delay_estimator_first_words);
    return g_test_run();
}

// SPDX-License-Identifier: MIT
// Measures the hidden echo delay and moves the echo probe's timestamps by it (echo_align.h).
#include "pipelines/echo_align.h"

#include "pipelines/debug.h"
#include "pipelines/pad_time.h"

#include <algorithm>
#include <cstdlib>

#define GST_CAT_DEFAULT duet_debug

namespace duet::pipelines {
namespace {

constexpr int kRate = 48000;
// Delays up to this the canceller finds by itself (measured: 30 ms of room delay, which
// reads as 40 here, is cancelled by 38-55 dB untouched).
constexpr int kSelfFoundMs = 50;
// The reference is moved a little less than the delay: the canceller's filter reaches
// forward from the reference, never back, and the estimate falls a few ms late (room
// reflections pull the envelope's match later). Measured at 150 ms: moved by 140, 43-82 dB;
// by 150, 18-23 dB.
constexpr GstClockTime kLeadNs = 20 * GST_MSECOND;
// A new estimate moves the reference only when this far from the one it follows (estimates
// of one room wander by 8-12 ms as reflections and talkers come and go).
constexpr int kMoveMs = 20;

GstClockTime shift_for(int delay_ms) {
    GstClockTime d = GstClockTime(delay_ms) * GST_MSECOND;
    return d > kLeadNs ? d - kLeadNs : 0;
}

} // namespace

void SampleRing::played(std::int64_t first, const std::int16_t *s, std::size_t n) {
    // A jump forward leaves silence behind it, not what was there a lap ago.
    for (std::int64_t i = std::max(end_, first - std::int64_t(kSize)); i < first; ++i)
        ring_[std::size_t(i) & (kSize - 1)] = 0;
    for (std::size_t k = 0; k < n; ++k)
        ring_[std::size_t(first + std::int64_t(k)) & (kSize - 1)] = s[k];
    end_ = std::max(end_, first + std::int64_t(n));
}

void SampleRing::read(std::int64_t first, std::int16_t *out, std::size_t n) const {
    for (std::size_t k = 0; k < n; ++k) {
        std::int64_t i = first + std::int64_t(k);
        out[k] = (i < 0 || i >= end_ || i < end_ - std::int64_t(kSize)) ? 0
                                                                        : ring_[std::size_t(i) & (kSize - 1)];
    }
}

template <typename Emit>
void EchoAligner::Framer::add(std::int64_t first, const std::int16_t *s, std::size_t count,
                              Emit emit) {
    for (std::size_t k = 0; k < count; ++k) {
        std::int64_t f = (first + std::int64_t(k)) / EchoDelayEstimator::kFrameSamples;
        if (f != frame) {
            if (frame >= 0 && n > 0)
                emit(frame, sum / n);
            frame = f;
            sum = 0;
            n = 0;
        }
        double x = s[k] / 32768.0;
        sum += x * x;
        ++n;
    }
}

Result<std::unique_ptr<EchoAligner>> EchoAligner::attach(GstBin *bin, const std::string &probe,
                                                         const std::string &dsp, int fixed_delay_ms,
                                                         int start_delay_ms, FoundFn found) {
    std::unique_ptr<EchoAligner> a(new EchoAligner());
    a->fixed_ = fixed_delay_ms >= 0;
    a->found_ = std::move(found);
    if (a->fixed_) {
        a->shift_.store(shift_for(fixed_delay_ms));
    } else if (start_delay_ms > kSelfFoundMs) {
        // Where an earlier run found the echo: the canceller converges there from the first
        // word, and this run's own estimate moves it only if the room changed.
        a->shift_.store(shift_for(start_delay_ms));
        a->followed_ms_ = start_delay_ms;
        a->delay_ms_.store(start_delay_ms);
    }

    struct Hook {
        const std::string &element;
        const char *pad;
        GstPadProbeType type;
        GstPadProbeCallback fn;
    };
    const Hook hooks[] = {
        {probe, "sink", GST_PAD_PROBE_TYPE_BUFFER, &EchoAligner::on_far_in},
        {probe, "src",
         GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_UPSTREAM),
         &EchoAligner::on_far_out},
        {dsp, "sink", GST_PAD_PROBE_TYPE_BUFFER, &EchoAligner::on_mic}};
    for (const Hook &h : hooks) {
        auto e = Ref<GstElement>::adopt(gst_bin_get_by_name(bin, h.element.c_str()));
        auto pad = e ? Ref<GstPad>::adopt(gst_element_get_static_pad(e.get(), h.pad)) : Ref<GstPad>();
        if (!pad)
            return fail("echo alignment: no " + h.element + " in the pipeline");
        gulong id = gst_pad_add_probe(pad.get(), h.type, h.fn, a.get(), nullptr);
        a->probes_.push_back({std::move(pad), id});
    }
    return a;
}

EchoAligner::~EchoAligner() {
    for (auto &p : probes_)
        gst_pad_remove_probe(p.pad.get(), p.id);
}

// The speaker's side, before the echo probe records it: its level by the time it is heard
// goes to the estimator, and the probe is handed a copy that holds what was played the
// hidden delay earlier (the sound the microphone hears now). Moving the content rather
// than the timestamps matters: webrtcdsp 1.22 never recovered from a jump in the probe's
// timestamps, while a moved echo is just a changed room that it re-learns in a moment.
GstPadProbeReturn EchoAligner::on_far_in(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
    auto *self = static_cast<EchoAligner *>(data);
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    std::int64_t first = sample_index(pad, buf, self->latency_.load(), kRate);
    GstMapInfo map;
    if (first < 0 || !gst_buffer_map(buf, &map, GST_MAP_READ))
        return GST_PAD_PROBE_OK;
    auto *s = reinterpret_cast<const std::int16_t *>(map.data);
    std::size_t n = map.size / 2;
    {
        std::lock_guard<std::mutex> lock(self->mu_);
        self->far_.add(first, s, n,
                       [self](std::int64_t f, double p) { self->estimator_.speaker(f, p); });
    }
    self->ring_.played(first, s, n);
    GstBuffer *moved = gst_buffer_new_allocate(nullptr, map.size, nullptr);
    gst_buffer_unmap(buf, &map);
    gst_buffer_copy_into(moved, buf,
                         GstBufferCopyFlags(GST_BUFFER_COPY_METADATA | GST_BUFFER_COPY_TIMESTAMPS),
                         0, -1);
    GstMapInfo out;
    if (gst_buffer_map(moved, &out, GST_MAP_WRITE)) {
        std::int64_t back =
            std::int64_t(gst_util_uint64_scale_round(self->shift_.load(), kRate, GST_SECOND));
        self->ring_.read(first - back, reinterpret_cast<std::int16_t *>(out.data), n);
        gst_buffer_unmap(moved, &out);
    }
    self->stash_ = buf; // the probe's reference moves here until on_far_out
    GST_PAD_PROBE_INFO_DATA(info) = moved;
    return GST_PAD_PROBE_OK;
}

// After the echo probe: the speaker gets what it is to play back. Upstream LATENCY events
// tell when the speaker plays a buffer (running time + latency).
GstPadProbeReturn EchoAligner::on_far_out(GstPad *, GstPadProbeInfo *info, gpointer data) {
    auto *self = static_cast<EchoAligner *>(data);
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_UPSTREAM) {
        GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
        if (GST_EVENT_TYPE(ev) == GST_EVENT_LATENCY) {
            GstClockTime latency = 0;
            gst_event_parse_latency(ev, &latency);
            self->latency_.store(latency);
        }
        return GST_PAD_PROBE_OK;
    }
    if (self->stash_) {
        gst_buffer_unref(GST_PAD_PROBE_INFO_BUFFER(info));
        GST_PAD_PROBE_INFO_DATA(info) = self->stash_;
        self->stash_ = nullptr;
    }
    return GST_PAD_PROBE_OK;
}

// The microphone's side, as webrtcdsp gets it; the estimate is updated from here.
GstPadProbeReturn EchoAligner::on_mic(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
    auto *self = static_cast<EchoAligner *>(data);
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    std::int64_t first = sample_index(pad, buf, 0, kRate);
    GstMapInfo map;
    if (first < 0 || !gst_buffer_map(buf, &map, GST_MAP_READ))
        return GST_PAD_PROBE_OK;
    std::optional<int> found;
    double confidence = 0;
    {
        std::lock_guard<std::mutex> lock(self->mu_);
        self->mic_.add(first, reinterpret_cast<const std::int16_t *>(map.data), map.size / 2,
                       [self](std::int64_t f, double p) { self->estimator_.microphone(f, p); });
        found = self->estimator_.update();
        confidence = self->estimator_.confidence();
    }
    gst_buffer_unmap(buf, &map);
    if (found) {
        self->delay_ms_.store(*found);
        // webrtcdsp finds a short delay by itself, and moving its reference mid-call costs
        // more than it gains there (17 against 38 dB at 30 ms). For the same reason a new
        // estimate close to the one the reference follows leaves it where it is: the
        // canceller covers the difference, and would have to re-learn after a move.
        bool follow = !self->fixed_ && *found > kSelfFoundMs;
        int basis = follow ? *found : 0;
        bool moved = !self->fixed_ && std::abs(basis - self->followed_ms_) > kMoveMs;
        if (moved) {
            self->shift_.store(shift_for(basis));
            self->followed_ms_ = basis;
        }
        g_message("echo canceller: the echo arrives %d ms after the speaker plays it (match "
                  "%.2f, %.2f s into the stream)%s",
                  *found, confidence, double(first) / kRate,
                  self->fixed_      ? "; --echo-delay-ms keeps the reference where it was"
                  : moved && follow ? "; the reference follows it"
                  : moved           ? "; the reference goes back: the canceller covers that itself"
                  : follow          ? "; the reference stays: close enough to where it is"
                                    : "; the canceller covers that itself");
        if (self->found_)
            self->found_(*found, follow);
    }
    return GST_PAD_PROBE_OK;
}

} // namespace duet::pipelines

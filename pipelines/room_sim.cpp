// SPDX-License-Identifier: MIT
// The simulated room's GStreamer side: pad probes that write the microphone, listen to the
// speaker and measure what is sent (see room_sim.h).
#include "pipelines/room_sim.h"

#include "common/gst_ref.h"
#include "pipelines/debug.h"
#include "pipelines/launch.h"
#include "pipelines/pad_time.h"

#include <gst/base/gstbasesink.h>

#include <algorithm>
#include <cstdlib>

#define GST_CAT_DEFAULT duet_debug

namespace duet::pipelines {
namespace {

using room::Index;

constexpr guint64 kLoadTimeoutNs = 10 * GST_SECOND;
// The far end is "heard" from its first sample above -40 dBFS: opus turns digital silence
// into silence or near it, speech is far louder.
constexpr int kFarSoundThreshold = 328;

Index index_of(GstPad *pad, GstBuffer *buf, GstClockTime extra_ns) {
    return sample_index(pad, buf, extra_ns, room::kRate);
}

Result<std::vector<std::int16_t>> load_talk(const std::string &path) {
    std::string desc = std::string("filesrc name=src ! decodebin ! audioconvert ! audioresample ! "
                                   "audio/x-raw,format=S16LE,layout=interleaved,rate=") +
                       std::to_string(room::kRate) + ",channels=1 ! fakesink name=out sync=false";
    GErr err;
    auto pipe = Ref<GstElement>::adopt(gst_parse_launch(desc.c_str(), err.out()));
    if (!pipe)
        return fail(std::string("cannot decode the talker: ") + err.message());
    auto src = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipe.get()), "src"));
    g_object_set(src.get(), "location", path.c_str(), nullptr);
    auto out = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipe.get()), "out"));
    auto pad = Ref<GstPad>::adopt(gst_element_get_static_pad(out.get(), "sink"));
    std::vector<std::int16_t> samples; // written by the streaming thread until EOS
    gst_pad_add_probe(
        pad.get(), GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad *, GstPadProbeInfo *info, gpointer data) -> GstPadProbeReturn {
            auto *v = static_cast<std::vector<std::int16_t> *>(data);
            GstMapInfo map;
            GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
            if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
                auto *s = reinterpret_cast<const std::int16_t *>(map.data);
                v->insert(v->end(), s, s + map.size / 2);
                gst_buffer_unmap(buf, &map);
            }
            return GST_PAD_PROBE_OK;
        },
        &samples, nullptr);
    gst_element_set_state(pipe.get(), GST_STATE_PLAYING);
    auto bus = Ref<GstBus>::adopt(gst_element_get_bus(pipe.get()));
    auto msg = Ref<GstMessage>::adopt(gst_bus_timed_pop_filtered(
        bus.get(), kLoadTimeoutNs, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
    std::string why;
    if (!msg) {
        why = "took longer than 10 s";
    } else if (GST_MESSAGE_TYPE(msg.get()) == GST_MESSAGE_ERROR) {
        GError *e = nullptr;
        gst_message_parse_error(msg.get(), &e, nullptr);
        why = e ? e->message : "unknown error";
        g_clear_error(&e);
    }
    gst_element_set_state(pipe.get(), GST_STATE_NULL); // the streaming thread is done after this
    if (!why.empty())
        return fail("cannot decode the talker " + path + ": " + why);
    if (samples.empty())
        return fail("the talker " + path + " holds no audio");
    return samples;
}

// Converts a mapped S16 buffer to floats in `out`.
void to_floats(const GstMapInfo &map, std::vector<float> &out) {
    auto *s = reinterpret_cast<const std::int16_t *>(map.data);
    out.resize(map.size / 2);
    for (std::size_t k = 0; k < out.size(); ++k)
        out[k] = s[k] / 32768.0f;
}

} // namespace

RoomSim::RoomSim(room::RoomSpec spec, std::vector<std::int16_t> talk)
    : spec_(std::move(spec)), talk_(std::move(talk)), path_(spec_.delay_ms, spec_.echo_gain),
      meter_(spec_.talk_after_ms, Index(talk_.size())) {}

Result<std::unique_ptr<RoomSim>> RoomSim::create(const room::RoomSpec &spec) {
    auto talk = load_talk(spec.talk_path);
    if (!talk)
        return talk.error();
    g_message("simulated room: talker %s (%.1f s), echo after %d ms at gain %.2f%s",
              spec.talk_path.c_str(), double(talk.value().size()) / room::kRate, spec.delay_ms,
              spec.echo_gain, spec.talk_after_ms >= 0 ? ", measuring" : "");
    return std::unique_ptr<RoomSim>(new RoomSim(spec, std::move(talk).value()));
}

RoomSim::~RoomSim() {
    lifeline_.cut();
    for (auto &p : probes_)
        gst_pad_remove_probe(p.pad.get(), p.id);
}

Result<void> RoomSim::attach(GstBin *pipeline, FiguresFn figures) {
    figures_ = std::move(figures);
    struct Hook {
        const char *element, *pad;
        GstPadProbeCallback fn;
    };
    const Hook hooks[] = {{kRoomMicName, "src", &RoomSim::on_mic},
                          {kSpeakerCapsName, "src", &RoomSim::on_speaker},
                          {kRoomSentName, "sink", &RoomSim::on_sent}};
    auto sink = Ref<GstElement>::adopt(gst_bin_get_by_name(pipeline, kRoomSpeakerName));
    if (!sink)
        return fail("the simulated room has no speaker");
    speaker_sink_ = sink.get(); // the pipeline keeps it
    for (const Hook &h : hooks) {
        auto e = Ref<GstElement>::adopt(gst_bin_get_by_name(pipeline, h.element));
        auto pad = e ? Ref<GstPad>::adopt(gst_element_get_static_pad(e.get(), h.pad)) : Ref<GstPad>();
        if (!pad)
            return fail(std::string("the simulated room cannot find ") + h.element);
        gulong id = gst_pad_add_probe(pad.get(), GST_PAD_PROBE_TYPE_BUFFER, h.fn, this, nullptr);
        probes_.push_back({std::move(pad), id});
    }
    return {};
}

// The microphone hears the talker (when the schedule says so) and the room's echo of what
// the speaker played.
GstPadProbeReturn RoomSim::on_mic(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
    auto *self = static_cast<RoomSim *>(data);
    GstBuffer *buf = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
    GST_PAD_PROBE_INFO_DATA(info) = buf;
    Index first = index_of(pad, buf, 0);
    GstMapInfo map;
    if (first < 0 || !gst_buffer_map(buf, &map, GST_MAP_READWRITE))
        return GST_PAD_PROBE_OK;
    if (self->first_mic_ < 0)
        self->first_mic_ = first;
    std::size_t n = map.size / 2;
    auto *s = reinterpret_cast<std::int16_t *>(map.data);
    self->near_.assign(n, 0.0f);
    self->echo_.assign(n, 0.0f);
    for (std::size_t k = 0; k < n; ++k) {
        Index t = self->meter_.talk_sample(first + Index(k), self->first_mic_);
        if (t >= 0 && t < Index(self->talk_.size()))
            self->near_[k] = self->talk_[std::size_t(t)] / 32768.0f;
    }
    self->path_.echo(first, self->echo_.data(), n);
    for (std::size_t k = 0; k < n; ++k) {
        float x = (self->near_[k] + self->echo_[k]) * 32768.0f;
        s[k] = std::int16_t(std::clamp(x, -32768.0f, 32767.0f));
    }
    gst_buffer_unmap(buf, &map);
    self->meter_.add_mic(first, self->near_.data(), self->echo_.data(), n);
    return GST_PAD_PROBE_OK;
}

// What the speaker will play, by the time it is heard (running time + the sink's latency).
GstPadProbeReturn RoomSim::on_speaker(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
    auto *self = static_cast<RoomSim *>(data);
    GstClockTime latency = gst_base_sink_get_latency(GST_BASE_SINK(self->speaker_sink_));
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    Index first = index_of(pad, buf, latency);
    if (first < 0)
        return GST_PAD_PROBE_OK;
    std::size_t n = gst_buffer_get_size(buf) / 2;
    bool mute = self->meter_.speaker_muted(first) || self->meter_.speaker_muted(first + Index(n));
    if (mute) {
        // The far end pauses while the near end talks alone.
        buf = gst_buffer_make_writable(buf);
        GST_PAD_PROBE_INFO_DATA(info) = buf;
    }
    GstMapInfo map;
    if (!gst_buffer_map(buf, &map, mute ? GST_MAP_READWRITE : GST_MAP_READ))
        return GST_PAD_PROBE_OK;
    auto *s = reinterpret_cast<std::int16_t *>(map.data);
    for (std::size_t k = 0; mute && k < n; ++k)
        if (self->meter_.speaker_muted(first + Index(k)))
            s[k] = 0;
    if (!self->meter_.started())
        for (std::size_t k = 0; k < n; ++k)
            if (std::abs(int(s[k])) > kFarSoundThreshold) {
                self->meter_.far_sound(first + Index(k));
                GST_INFO("simulated room: the far end is heard from sample %" G_GINT64_FORMAT,
                         first + Index(k));
                break;
            }
    self->path_.played(first, s, n);
    gst_buffer_unmap(buf, &map);
    return GST_PAD_PROBE_OK;
}

// What was sent (the encoded audio, decoded again), against what the microphone held.
GstPadProbeReturn RoomSim::on_sent(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
    auto *self = static_cast<RoomSim *>(data);
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    Index first = index_of(pad, buf, 0);
    GstMapInfo map;
    if (first < 0 || !gst_buffer_map(buf, &map, GST_MAP_READ))
        return GST_PAD_PROBE_OK;
    to_floats(map, self->sent_);
    gst_buffer_unmap(buf, &map);
    self->meter_.add_sent(first, self->sent_.data(), self->sent_.size());
    if (auto f = self->meter_.take_figures()) {
        f->delay_ms = self->spec_.delay_ms;
        self->lifeline_.post([self, figures = *f] { self->figures_(figures); });
    }
    return GST_PAD_PROBE_OK;
}

} // namespace duet::pipelines

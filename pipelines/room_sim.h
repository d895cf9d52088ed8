// SPDX-License-Identifier: MIT
// --simulate-room: the call pipeline's microphone and speaker become a room (echo_room.h).
// What the speaker plays comes back into the microphone through the room's echo path, mixed
// with a near-end talker, and what is sent is measured against both.
#pragma once

#include "common/main_thread.h"
#include "common/result.h"
#include "pipelines/echo_room.h"

#include <gst/gst.h>

#include <functional>
#include <memory>
#include <vector>

namespace duet::pipelines {

class RoomSim {
  public:
    using FiguresFn = std::function<void(const room::EchoFigures &)>;

    // Decodes the talker's file (48 kHz mono). Blocks for up to a few seconds.
    static Result<std::unique_ptr<RoomSim>> create(const room::RoomSpec &spec);
    ~RoomSim();
    RoomSim(const RoomSim &) = delete;
    RoomSim &operator=(const RoomSim &) = delete;

    // Hooks into `pipeline`'s elements named kRoomMicName, kSpeakerCapsName, kRoomSpeakerName
    // and kRoomSentName (launch.h). `figures` runs once, on the main context of the caller,
    // when the measurement is complete (talk-after-ms given).
    Result<void> attach(GstBin *pipeline, FiguresFn figures);
    const room::RoomSpec &spec() const { return spec_; }

  private:
    RoomSim(room::RoomSpec spec, std::vector<std::int16_t> talk);
    static GstPadProbeReturn on_mic(GstPad *pad, GstPadProbeInfo *info, gpointer self);
    static GstPadProbeReturn on_speaker(GstPad *pad, GstPadProbeInfo *info, gpointer self);
    static GstPadProbeReturn on_sent(GstPad *pad, GstPadProbeInfo *info, gpointer self);

    room::RoomSpec spec_;
    std::vector<std::int16_t> talk_;
    room::EchoPath path_;
    room::EchoMeter meter_;
    GstElement *speaker_sink_ = nullptr; // borrowed from the pipeline, for its latency
    room::Index first_mic_ = -1;         // microphone thread only
    std::vector<float> near_, echo_;     // microphone thread only
    std::vector<float> sent_;            // sent thread only
    FiguresFn figures_;
    struct Probe {
        Ref<GstPad> pad;
        gulong id;
    };
    std::vector<Probe> probes_;
    Lifeline lifeline_;
};

} // namespace duet::pipelines

// SPDX-License-Identifier: MIT
// What duet-peer needs before it may take a seat: the plugins, the devices, a running send
// pipeline, and the seat file that lets a restart reclaim the seat.
#pragma once

#include "common/result.h"
#include "pipelines/call_pipeline.h"
#include "pipelines/codecs.h"
#include "pipelines/devices.h"
#include "src/peer/cli.h"
#include "src/peer/seat_store.h"

#include <memory>
#include <string>

namespace duet::peer {

struct Prepared {
    pipelines::ResolvedMedia media;
    pipelines::EncoderChoices encoders; // one proven encoder per video codec we can send
    std::unique_ptr<pipelines::CallPipeline> pipeline; // started
    std::unique_ptr<SeatStore> seat;                   // null: no crash-resume (logged)
    std::string saved_token;                           // from an earlier run; "" if none
    std::string room_key;                              // --room-key-file's key; "" if open
    std::string state_dir;                             // the seat files' and the echo delay's
    int echo_delay_saved_ms = -1; // an earlier run's echo delay the pipeline starts from
};

// Checks the plugins, resolves the devices, builds and starts the pipeline (reporting to
// `listener`) and opens the seat file. A failure's code is the `--events` error code:
// `room-key`, `missing-plugins` or `media`.
Result<Prepared> prepare(const PeerOptions &options, pipelines::CallPipeline::Listener *listener);

} // namespace duet::peer

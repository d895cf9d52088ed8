// SPDX-License-Identifier: MIT
// duet-peer's start-up steps, in the order a failure should be reported.
#include "src/peer/startup.h"

#include "pipelines/codec_choice.h"
#include "pipelines/plugins.h"
#include "src/peer/room_key.h"

namespace duet::peer {

Result<Prepared> prepare(const PeerOptions &options, pipelines::CallPipeline::Listener *listener) {
    std::string room_key;
    if (!options.room_key_file.empty()) {
        auto key = load_or_create_room_key(options.room_key_file);
        if (!key)
            return fail("room-key", key.message());
        room_key = key->key;
        std::string link = share_link(options.server, options.room, room_key);
        // Once, when the key is new: the owner hands this link to whoever may come in.
        if (key->created)
            g_message("room '%s' is private; made a key in %s. Share this link with the "
                      "people who may join:\n    %s",
                      options.room.c_str(), options.room_key_file.c_str(), link.c_str());
        else
            g_info("room '%s' is private (key in %s); its link: %s", options.room.c_str(),
                   options.room_key_file.c_str(), link.c_str());
    }
    auto missing = pipelines::missing_elements(pipelines::required_elements(options.media));
    if (!missing.empty())
        return fail("missing-plugins", pipelines::describe_missing(missing));
    auto media = pipelines::resolve_media(options.media);
    if (!media)
        return fail("media", media.message());
    Prepared p;
    p.room_key = room_key;
    p.media = media.value();
    p.encoders = pipelines::probe_encoders(
        pipelines::allowed_video_codecs(options.media.video_codec), options.media);
    if (auto offer = pipelines::plan_offer(options.media.video_codec, p.encoders); !offer)
        return fail("media", offer.message());
    p.state_dir = options.state_dir.empty() ? default_state_dir() : options.state_dir;
    pipelines::MediaOptions media_options = options.media;
    if (options.media.echo_delay_ms < 0 && p.media.audio_processing && p.media.speaker)
        media_options.echo_delay_saved_ms = p.echo_delay_saved_ms =
            load_echo_delay(p.state_dir, !options.media.room_spec.empty());
    auto pipeline = pipelines::CallPipeline::create(media_options, p.media, p.encoders, listener);
    if (!pipeline)
        return fail("media", pipeline.message());
    p.pipeline = std::move(pipeline).value();
    if (auto started = p.pipeline->start(); !started)
        return fail("media", started.message());
    p.seat = SeatStore::open(p.state_dir, options.server, options.room);
    if (p.seat) {
        p.saved_token = p.seat->load();
        if (!p.saved_token.empty())
            g_message("found our seat from an earlier run (%s); trying to resume it",
                      p.seat->path().c_str());
    }
    return p;
}

} // namespace duet::peer

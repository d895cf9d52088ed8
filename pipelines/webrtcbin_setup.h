// SPDX-License-Identifier: MIT
// Settings a call leg applies to its webrtcbin and to what webrtcbin creates inside itself.
#pragma once

#include "pipelines/codec_choice.h"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

namespace duet::pipelines {

// Turns off libnice's UPnP port mapping (slow, chatty, useless with STUN/TURN).
void disable_upnp(GstElement *webrtc);

// NACK (with RTX) on the video transceivers: only video asks for and offers
// retransmissions.
void enable_video_nack(GstElement *webrtc);

// Red/ULPFEC on the video transceivers (at 0% until set_video_fec_percent): offered by us,
// and answered where the offer has them.
void enable_video_fec(GstElement *webrtc);

// GStreamer 1.22.0's rtpredenc gives each RED packet the slot for a transport-wide sequence
// number under extension id 1 whatever id was negotiated, so rtpbin never numbers RED
// packets when the id is another (Chromium's offers use 3), and the receiver's feedback
// covered only the sound. This moves that slot to `twcc_ext` on every RED encoder webrtcbin
// makes from now on (nothing when `twcc_ext` is 0 or 1).
void carry_twcc_through_red(GstElement *webrtc, unsigned twcc_ext);
// The FEC overhead of the video sent through webrtcbin's sink pad `webrtc_sink`, percent.
// Does nothing where FEC was not negotiated.
void set_video_fec_percent(GstPad *webrtc_sink, int percent);

// The payload types a leg receives its video in: the codec's and, with FEC, RED's (-1:
// none). Written on the main thread once negotiated, read by streaming threads.
struct VideoPayloadTypes {
    std::atomic<int> media{-1};
    std::atomic<int> red{-1};
};

// Jitter buffers start pushing after two packets, RTCP feedback may go out every 100 ms,
// and a jitter buffer asks for retransmissions only if its stream's payload type is one of
// `nack_pts` (the video's, when NACK was negotiated for it; null: none): never for audio.
void tune_rtpbin(GstElement *webrtc, std::shared_ptr<const VideoPayloadTypes> nack_pts);

// Puts the transport-wide sequence number extension, as extension `id` (kTwccUri; see
// VideoPlan::twcc_ext), on the RTP payloader in `branch` (the
// receiver then acknowledges each packet with its arrival time: RTCP transport-cc
// feedback, which rtpbin turns into "RTPTWCCPackets" events travelling up to the
// payloader), and returns `caps` with the fields that make webrtcbin write
// `a=extmap:N <uri>` and `a=rtcp-fb:PT transport-cc` for it. False if the branch has no
// payloader that takes extensions or GStreamer lacks rtphdrexttwcc: the caps are then
// left as they are and the leg falls back to receiver reports.
bool add_twcc_extension(GstElement *branch, GstCaps *caps, unsigned id);

// Gives the transceivers that have no codec preferences yet (the one a sink pad request
// just made) exactly `caps`: the offer or answer then names our codec, payload type and
// format parameters and nothing else, whatever the encoder's caps say before it runs.
void pin_codec_preferences(GstElement *webrtc, const GstCaps *caps);

// Every transceiver webrtcbin makes by itself (for an offered m-line that matches none of
// ours) gets codec preferences of what we can take for its kind, so the answer accepts it
// only with a codec we decode and --video-codec allows, and otherwise rejects it (port 0)
// instead of accepting media it would throw away or a codec the user ruled out.
void narrow_new_transceivers(GstElement *webrtc, VideoCodecPref pref);

// webrtcbin 1.22 writes a rejected m-line (port 0) of an answer as a copy of the offer's,
// the offerer's DTLS fingerprint and ICE credentials included, and then refuses its own
// answer ("Fingerprint in media 1 differs"). Strips those and marks the m-line inactive.
void tidy_rejected_media(GstSDPMessage *answer);

// Our SDP as it goes on the wire: m-lines that webrtcbin marks `a=bundle-only` on port 0
// get a real port (9, "discard", as browsers write) and lose the attribute. Browsers do
// not need bundle-only, and stacks that do not know it reject such m-lines. An offer also
// loses what only describes our encoder's output (H.264 sprop-parameter-sets, a=framerate),
// which made webrtcbin answerers with another encoder or frame rate refuse our video.
std::string sdp_for_wire(const GstSDPMessage *sdp, bool offer = false);

} // namespace duet::pipelines

// SPDX-License-Identifier: MIT
// The codec table: everything duet knows about each codec it sends and receives, in one
// place. Launch strings, payload-type matching, the plugin check, the encoder probe, the
// receive branch and the recorder all read from here; a new codec is one more entry.
#pragma once

#include "pipelines/media_options.h"

#include <gst/gst.h>

#include <string>
#include <vector>

namespace duet::pipelines {

enum class Codec { VP8, H264, Opus };

// One GStreamer element and the Debian 12 package that ships it.
struct PackagedElement {
    const char *element;
    const char *package;
};

// One way of encoding a codec. `launch` gives the gst-launch text from raw video (or audio)
// to encoded frames in the caps `CodecSpec::encoded_caps` names.
struct EncoderSpec {
    PackagedElement element;
    bool hardware;
    std::string (*launch)(const MediaOptions &);
    // The element's bitrate property, set while it runs when the path's capacity changes
    // (congestion.h), and how many bit/s one unit of it is (1000 for kbit/s). Null where
    // the rate cannot be changed in flight (it is fixed at --video-bitrate then).
    const char *bitrate_property = nullptr;
    int bitrate_unit_bps = 1;
};

// Sets `e`'s bitrate property on `encoder` (an element made from `e`) to `kbps`. False if
// `e` has none or the element lacks it.
bool set_encoder_bitrate(GstElement *encoder, const EncoderSpec &e, int kbps);

struct CodecSpec {
    Codec id;
    MediaKind kind;
    const char *encoding_name; // as in SDP and RTP caps
    int clock_rate;
    // What the SDP says beyond name, clock rate and payload type: caps fields, comma-
    // separated ("" for none), e.g. H.264's fmtp or Opus's two channels in its rtpmap.
    const char *sdp_fields;
    // Caps forced right after the encoder (profile, stream format).
    const char *encoded_caps;
    std::vector<EncoderSpec> encoders; // in preference order: hardware first
    PackagedElement payloader;
    const char *payloader_options; // appended after "pt=N"
    PackagedElement depayloader;
    const char *depayloader_options;
    // Run after the depayloader, before the decoder and the recorder (may be empty).
    PackagedElement parser;
    std::vector<PackagedElement> decoders; // the first one installed is used
    const char *decoder_options;
    // Muxer that can hold this codec for --record; VP8 and Opus fit WebM, H.264 needs
    // Matroska.
    PackagedElement record_muxer;
    // Whether the receiver should ask for lost packets again (NACK/RTX). Audio conceals.
    bool nack;
};

// Opus in-band FEC: the loss (percent) the encoder plans its redundancy for, from the
// loss receivers report, clamped to what is worth spending bits on; 0 turns FEC off.
int opus_fec_loss_percent(double fraction_lost);

// Opus DTX (RFC 7587's usedtx: in silence, a packet every 400 ms instead of every 20 ms).
// One encoder serves every call, so it is on only while every call's remote side asked for
// it (`asks`, one per call); a call that did not, or none at all, turns it off.
bool opus_dtx_wanted(const std::vector<bool> &asks);
// opusenc's complexity with DTX on or off. libopus 1.3 tells silence from sound (and so
// leaves frames out) only with its signal analysis, which runs at complexity 10 alone: at
// our usual 5, DTX still sent a 3-byte frame every 20 ms of silence.
int opus_complexity(bool dtx);

// Video ULPFEC (RFC 5109, carried in RED) where it was negotiated: the FEC overhead in
// percent of the media packets (rtpulpfecenc's `percentage`) for the loss receivers
// report. 0 without loss (FEC only costs bits then), twice the loss above it (so that a
// typical lost packet has a parity packet in its group), at most kMaxVideoFecPercent.
inline constexpr int kMaxVideoFecPercent = 50;
int video_fec_percent(double fraction_lost);
// The media bitrate that leaves room for `fec_percent` of FEC within `total_kbps`.
int media_kbps_with_fec(int total_kbps, int fec_percent);

// Every codec, video codecs in our default preference order, then audio.
const std::vector<CodecSpec> &all_codecs();
const CodecSpec &codec_spec(Codec c);
// The video codecs, in our default preference order (VP8 first: every browser has it).
std::vector<const CodecSpec *> video_codecs();
// The codec whose encoding name (any case) and kind match; null if we have none.
const CodecSpec *find_codec(MediaKind kind, const std::string &encoding_name);

// Whether `element` is one of the table's video encoders (for --video-encoder), and their
// names, comma-separated, for its error message.
bool is_video_encoder(const std::string &element);
std::string video_encoder_names();

// RTP caps for requesting webrtcbin's sink pad and for its codec preferences: codec, clock
// rate, payload type and `sdp_fields`.
std::string rtp_caps(const CodecSpec &c, unsigned payload_type);
// Only codec, clock rate and payload type: what a payloader's output is held to (its other
// fields, such as H.264's level, follow what the encoder made).
std::string rtp_caps_basic(const CodecSpec &c, unsigned payload_type);

// The decoder element of `c` installed here, or null.
const PackagedElement *installed_decoder(const CodecSpec &c);

// H.264 that every browser decodes: constrained baseline (profile_idc 0x42 with
// constraint_set1) in packetization mode 1. `profile_level_id` is the SDP's hex text.
bool h264_constrained_baseline(const std::string &profile_level_id);

// The encoder chosen for one codec after proving it works on this machine.
struct ChosenEncoder {
    const CodecSpec *codec = nullptr;
    const EncoderSpec *encoder = nullptr;
};

// What the startup probe found: one working encoder per video codec it could encode.
struct EncoderChoices {
    std::vector<ChosenEncoder> video; // in our preference order
    const ChosenEncoder *find(Codec c) const;
    // A codec whose chosen encoder is hardware, if any (auto prefers it).
    const ChosenEncoder *hardware() const;
};

// The first of `c`'s encoders, in order, that exists and encodes a few real frames at
// `opts`' size within a few seconds; null if none does. Why each earlier one was passed
// over is appended to `refused` ("x264enc not installed (...); ...").
const EncoderSpec *first_working_encoder(const CodecSpec &c, const MediaOptions &opts,
                                         std::string *refused);

// Tries each candidate encoder of each codec in `wanted`, in order: the element must exist
// and must encode a few real frames at `opts`' size within a few seconds. Logs which one was
// chosen for each codec and why the others were not. Blocking; call at startup.
EncoderChoices probe_encoders(const std::vector<Codec> &wanted, const MediaOptions &opts);

} // namespace duet::pipelines

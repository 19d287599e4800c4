#include <tern/push/relay_format.hpp>

#include <algorithm>
#include <charconv>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <nlohmann/json.hpp>

namespace tern::push {
namespace {

using nlohmann::json;

json conversation(const push_message& m) {
    return {{"type", m.conv_type}, {"id", m.conv_id}, {"peer", m.conv_peer}};
}

json digest_of(const digest_counts& d) {
    return {{"messages", d.messages}, {"conversations", d.conversations}, {"mentions", d.mentions}};
}

// The digest as one line for a Matrix gateway, which shows content.body as it is (the webhook's
// relay words it itself, in the user's language).
std::string digest_line(const digest_counts& d) {
    auto line = std::to_string(d.messages) + (d.messages == 1 ? " message in " : " messages in ") +
                std::to_string(d.conversations) +
                (d.conversations == 1 ? " conversation" : " conversations");
    if (d.mentions > 0) {
        line += ", " + std::to_string(d.mentions) +
                (d.mentions == 1 ? " mention of you" : " mentions of you");
    }
    return line;
}

std::string hex(const unsigned char* bytes, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(digits[bytes[i] >> 4]);
        out.push_back(digits[bytes[i] & 0xf]);
    }
    return out;
}

// The Matrix names: a room per conversation and a user per Tern user, under the tenant.
std::string room_of(const push_message& m) {
    return "!" + m.conv_type + "." + std::to_string(m.conv_id) + "." + std::to_string(m.conv_peer) +
           ":tenant-" + std::to_string(m.to.tenant);
}

}  // namespace

const char* to_string(channel c) noexcept {
    switch (c) {
        case channel::sms:
            return "sms";
        case channel::call:
            return "call";
        case channel::push:
            break;
    }
    return "push";
}

std::string webhook_body(const push_message& m) {
    json body = {{"tenant", m.to.tenant},
                 {"user", m.to.user},
                 {"device", m.to.device},
                 {"platform", m.platform},
                 {"token", m.token},
                 {"app_id", m.app_id},
                 {"conversation", conversation(m)},
                 {"seq", m.seq},
                 {"count", m.count},
                 {"badge", m.badge},
                 {"notice", m.alert ? "alert" : "silent"},
                 {"urgent", m.urgent},
                 {"channel", to_string(m.via)},
                 {"kind", m.digest ? "digest" : "message"}};
    if (m.digest) body["digest"] = digest_of(*m.digest);
    if (m.sender != 0) body["sender"] = m.sender;
    if (!m.preview.empty()) body["preview"] = m.preview;
    return body.dump();
}

std::string webhook_signature(std::string_view secret, std::int64_t unix_seconds,
                              std::string_view body) {
    const auto signed_text = std::to_string(unix_seconds) + "." + std::string(body);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac,
         &size);
    return hex(mac, size);
}

bool webhook_signature_valid(std::string_view header, std::string_view body,
                             std::string_view secret, std::int64_t now_s,
                             std::int64_t tolerance_s) {
    // "t=<seconds>,v1=<hex>"
    if (!header.starts_with("t=")) return false;
    const auto comma = header.find(",v1=");
    if (comma == std::string_view::npos) return false;
    std::int64_t t = 0;
    const auto digits = header.substr(2, comma - 2);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), t);
    if (ec != std::errc{} || end != digits.data() + digits.size()) return false;
    if (t > now_s + tolerance_s || now_s - t > tolerance_s) return false;
    const auto given = header.substr(comma + 4);
    const auto expected = webhook_signature(secret, t, body);
    return given.size() == expected.size() &&
           CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

http_post webhook_post(const push_message& m, std::string_view secret, std::int64_t unix_seconds) {
    http_post post;
    post.body = webhook_body(m);
    post.headers.emplace_back("Content-Type", "application/json");
    post.headers.emplace_back("X-Tern-Signature",
                              "t=" + std::to_string(unix_seconds) +
                                  ",v1=" + webhook_signature(secret, unix_seconds, post.body));
    return post;
}

std::string matrix_body(const push_message& m) {
    json device = {{"app_id", m.app_id},
                   {"pushkey", m.token},
                   {"data",
                    {{"tenant", m.to.tenant},
                     {"user", m.to.user},
                     {"device", m.to.device},
                     {"platform", m.platform},
                     {"count", m.count},
                     {"urgent", m.urgent},
                     {"channel", to_string(m.via)}}}};
    if (m.alert) device["tweaks"] = {{"sound", "default"}};
    if (m.digest) {
        // Not about one event or room: the Push Gateway API lets both go.
        device["data"]["digest"] = digest_of(*m.digest);
        json n = {{"type", "tern.digest"},
                  {"prio", m.alert ? "high" : "low"},
                  {"counts", {{"unread", m.badge}}},
                  {"content", {{"msgtype", "m.notice"}, {"body", digest_line(*m.digest)}}},
                  {"devices", json::array({device})}};
        return json{{"notification", n}}.dump();
    }
    json n = {{"event_id", "$" + std::to_string(m.seq)},
              {"room_id", room_of(m)},
              {"type", "m.room.message"},
              {"prio", m.alert ? "high" : "low"},
              {"counts", {{"unread", m.badge}}},
              {"devices", json::array({device})}};
    if (m.sender != 0) {
        n["sender"] = "@" + std::to_string(m.sender) + ":tenant-" + std::to_string(m.to.tenant);
    }
    if (!m.preview.empty()) n["content"] = {{"msgtype", "m.text"}, {"body", m.preview}};
    return json{{"notification", n}}.dump();
}

http_post matrix_post(const push_message& m) {
    http_post post;
    post.body = matrix_body(m);
    post.headers.emplace_back("Content-Type", "application/json");
    return post;
}

verdict webhook_verdict(unsigned status) {
    if (status >= 200 && status < 300) return verdict::delivered;
    if (status == 410) return verdict::token_invalid;
    if (status == 429 || status >= 500) return verdict::retry;
    return verdict::refused;
}

verdict matrix_verdict(unsigned status, std::string_view body, std::string_view token) {
    if (status == 429 || status >= 500) return verdict::retry;
    if (status < 200 || status >= 300) return verdict::refused;
    const auto reply = json::parse(body, nullptr, false);
    if (reply.is_object() && reply.contains("rejected") && reply["rejected"].is_array()) {
        for (const auto& rejected : reply["rejected"]) {
            if (rejected.is_string() && rejected.get<std::string_view>() == token) {
                return verdict::token_invalid;
            }
        }
    }
    return verdict::delivered;
}

}  // namespace tern::push

// The entries of a partition's replicated log, as bytes (tern.cluster.v1.LogEntry): what the
// owner appends to the stream and every replica decodes and applies. Decoding is strict, because
// every replica must reach the same state from the same bytes: a value the apply rules do not
// know (a conversation type, an event kind, a role) is refused, never guessed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/system/result.hpp>

#include <tern/storage/log_entry.hpp>

namespace tern::cluster {

// Entry 1 of every partition's stream.
struct genesis {
    std::uint32_t partition = 0;
    std::uint32_t partitions = 0;
    std::string cluster;
    friend bool operator==(const genesis&, const genesis&) = default;
};

// A decoded entry: the genesis, or an entry for the store.
using log_record = std::variant<genesis, storage::log_entry>;

struct decoded_entry {
    log_record record;
    // The digest of the log before this entry as its writer had it (next_digest); absent in the
    // genesis and in entries of writers that did not state it.
    std::optional<std::uint64_t> digest_before;
};

// Encodes an append_event, ack_inbox or mark_read (a log_position is the replica's own record,
// never logged: encoding one is a logic error and throws std::invalid_argument), stating the
// digest of the log before it.
[[nodiscard]] std::string encode_entry(const storage::log_entry& entry,
                                       std::optional<std::uint64_t> digest_before = {});
[[nodiscard]] std::string encode_genesis(const genesis& g);

enum class decode_error {
    malformed = 1,  // not a LogEntry, or a value outside what the apply rules know
    too_new,        // written by a newer format than this node applies
};

[[nodiscard]] boost::system::result<decoded_entry, decode_error> decode_entry(
    std::string_view bytes);

[[nodiscard]] const char* describe(decode_error e) noexcept;

// The rolling digest of a partition's log after an entry: replicas that applied the same
// entries in the same order report the same value (admin: /admin/v1/partitions).
[[nodiscard]] std::uint64_t next_digest(std::uint64_t previous, std::uint64_t sequence,
                                        std::string_view entry_bytes) noexcept;

}  // namespace tern::cluster

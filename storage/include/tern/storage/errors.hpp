// Errors of the storage module.
#pragma once

#include <type_traits>

#include <boost/system/error_code.hpp>

namespace tern::storage {

enum class errc {
    io_error = 1,     // the file system failed; retryable once it recovers
    no_space,         // the disk is full; retryable once space is freed
    corruption,       // the data on disk is damaged; needs an operator
    invalid_entry,    // a log entry breaks the apply rules (a bug in its producer)
    not_found,        // a named record does not exist
    incompatible,     // the data was written by an incompatible version
    closed,           // the store or writer is shutting down
    inconsistent,     // verify() found derived records that disagree with the timeline
    log_unavailable,  // the replicated log cannot take the entry now (no quorum, another owner);
                      // retryable: it may be in the log, which a retry's dedup will find
    unsupported,      // this kind of store cannot do it (a memory store makes no checkpoint)
};

[[nodiscard]] const boost::system::error_category& storage_category() noexcept;
[[nodiscard]] boost::system::error_code make_error_code(errc e) noexcept;

}  // namespace tern::storage

template <>
struct boost::system::is_error_code_enum<tern::storage::errc> : std::true_type {};

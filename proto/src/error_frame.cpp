#include <tern/wire/error_frame.hpp>

#include <tern/wire/errors.hpp>

namespace tern::wire {

v1::Frame error_frame(std::uint64_t req_id, v1::ErrorCode code, std::string message,
                      std::uint32_t retry_after_ms) {
    v1::Frame f;
    f.set_req_id(req_id);
    auto* e = f.mutable_error();
    e->set_code(code);
    e->set_message(std::move(message));
    e->set_retryable(describe(code).retryable);
    e->set_retry_after_ms(retry_after_ms);
    return f;
}

}  // namespace tern::wire

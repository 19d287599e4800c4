// What became of a tenant's notification policy an administrator set or read
// (service::set_policy; cluster::node asks the tenant's owner for it).
#pragma once

#include <string>

namespace tern::core {

struct policy_outcome {
    enum class status { stored, invalid, unavailable };
    status result = status::stored;
    std::string message;  // why not: the field (invalid), or what failed (unavailable)
};

}  // namespace tern::core

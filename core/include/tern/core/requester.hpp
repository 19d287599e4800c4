// Who is asking: the tenant, user and device of a connection, and the roles its token grants,
// from its verified token only, never from a request.
#pragma once

#include <string>
#include <vector>

#include <tern/storage/types.hpp>

namespace tern::core {

struct requester {
    storage::tenant_id tenant = 0;
    storage::user_id user = 0;
    storage::device_id device = 0;
    std::vector<std::string> roles{};  // the token's roles claim (most tokens: none)
    friend bool operator==(const requester&, const requester&) = default;
};

}  // namespace tern::core

// The NATS subjects ternd nodes use between themselves (docs/cluster.md, "Between nodes").
#pragma once

#include <string>

namespace tern::cluster::detail {

// Everything gateways send the owner `node` (opens, requests, closes), in one ordered stream.
inline std::string owner_inbox(const std::string& node) { return "tern.node." + node + ".in"; }
// Everything owners send the gateway `node` (admissions, replies, pushes, closes).
inline std::string gateway_inbox(const std::string& node) { return "tern.node." + node + ".out"; }
// Administrative requests to the owner `node` (a kick), each answered on its reply subject.
inline std::string admin_inbox(const std::string& node) { return "tern.node." + node + ".admin"; }
inline std::string policy_inbox(const std::string& node) { return "tern.node." + node + ".policy"; }
inline constexpr const char* leader_advisories = "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.>";

}  // namespace tern::cluster::detail

// ternctl: the admin command line: signing keys, tokens, inspecting a stopped store, and a
// running ternd's status, drain and kick through its admin listener.
//
//   ternctl keygen --kid k1 [--alg es256|eddsa] [--out DIR]
//   ternctl token --key DIR/k1.key --kid k1 --tenant 1 --user 42 --device 7 [--ttl 24h]
//                 [--issuer tern-dev] [--audience tern] [--role admin]
//   ternctl inspect ...                      (tools/ternctl/inspect.hpp)
//   ternctl status | drain [--seconds N] [--wait] | kick --tenant T --user U [--device D]
//           | policy get --tenant T | policy set --tenant T --file policy.json
//           [--admin http://127.0.0.1:7480] [--token T]   (tools/ternctl/admin.hpp)
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <tern/auth/signing.hpp>
#include <tern/tooling/tokens.hpp>

#include "admin.hpp"
#include "inspect.hpp"

namespace fs = std::filesystem;
namespace auth = tern::auth;
namespace tooling = tern::tooling;

namespace {

// "90", "90s", "15m", "24h", "7d" -> seconds; 0 when malformed.
std::int64_t parse_duration(const std::string& text) {
    if (text.empty()) return 0;
    std::size_t used = 0;
    long long value = 0;
    try {
        value = std::stoll(text, &used);
    } catch (const std::exception&) {
        return 0;
    }
    if (value <= 0) return 0;
    const std::string unit = text.substr(used);
    if (unit.empty() || unit == "s") return value;
    if (unit == "m") return value * 60;
    if (unit == "h") return value * 3600;
    if (unit == "d") return value * 86400;
    return 0;
}

void write_file(const fs::path& path, const std::string& content, fs::perms perms) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out || !(out << content)) throw std::runtime_error("cannot write " + path.string());
    out.close();
    fs::permissions(path, perms);
}

int keygen(const std::string& kid, const std::string& alg_name, const fs::path& dir) {
    const bool eddsa = alg_name == "eddsa";
    const auto pair = auth::generate_key_pair(eddsa ? auth::jwt_alg::eddsa : auth::jwt_alg::es256);
    if (!pair) throw std::runtime_error("key generation failed");
    fs::create_directories(dir);
    const auto private_path = dir / (kid + ".key");
    const auto public_path = dir / (kid + ".pub");
    write_file(private_path, pair->private_pem, fs::perms::owner_read | fs::perms::owner_write);
    write_file(public_path, pair->public_pem,
               fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                   fs::perms::others_read);
    std::cout << "kid " << kid << " (" << (eddsa ? "EdDSA" : "ES256") << ")\n"
              << "private key " << private_path.string() << "  (keep secret; mints tokens)\n"
              << "public key  " << public_path.string() << "  (give to ternd)\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ternctl: Tern admin tool"};
    app.require_subcommand(1);

    std::string kid = "k1", alg = "es256", out_dir = ".";
    auto* keygen_cmd = app.add_subcommand("keygen", "create a signing key pair (PEM files)");
    keygen_cmd->add_option("--kid", kid, "key id, also the file name")->required();
    keygen_cmd->add_option("--alg", alg, "es256 (P-256) or eddsa (Ed25519)")
        ->check(CLI::IsMember({"es256", "eddsa"}));
    keygen_cmd->add_option("--out", out_dir, "directory for <kid>.key and <kid>.pub");

    std::string key_file, issuer = "tern-dev", audience = "tern", ttl = "24h";
    std::uint64_t tenant = 0, user = 0, device = 0;
    auto* token_cmd = app.add_subcommand("token", "mint a token for a device");
    token_cmd->add_option("--key", key_file, "private key PEM (from keygen)")->required();
    token_cmd->add_option("--kid", kid, "the key's id")->required();
    token_cmd->add_option("--tenant", tenant, "tenant id (tid)")->required();
    token_cmd->add_option("--user", user, "user id (sub)")->required();
    token_cmd->add_option("--device", device, "device id (did)")->required();
    token_cmd->add_option("--ttl", ttl, "lifetime: 90s, 15m, 24h, 7d");
    token_cmd->add_option("--issuer", issuer, "iss claim");
    token_cmd->add_option("--audience", audience, "aud claim");
    std::vector<std::string> roles;
    token_cmd->add_option("--role", roles,
                          "a role (roles claim; repeat for more): admin makes the bearer an "
                          "administrator of its tenant (ternctl policy)");

    ternctl::add_inspect(app);
    ternctl::add_admin(app);

    CLI11_PARSE(app, argc, argv);
    try {
        if (*keygen_cmd) return keygen(kid, alg, out_dir);
        if (ternctl::inspect_parsed()) return ternctl::run_inspect();
        if (ternctl::admin_parsed()) return ternctl::run_admin();

        const auto lifetime = parse_duration(ttl);
        if (lifetime <= 0) throw std::runtime_error("--ttl: use a duration like 90s, 15m, 24h, 7d");
        if (tenant == 0 || user == 0) throw std::runtime_error("--tenant and --user must be > 0");
        const auto key = auth::signing_key::from_private_pem_file(kid, key_file);
        if (!key) throw std::runtime_error(key_file + ": not a P-256 or Ed25519 private key");
        auto claims = tooling::device_claims(tenant, user, device, std::chrono::seconds(lifetime));
        claims.issuer = issuer;
        claims.audience = audience;
        claims.roles = roles;
        const auto token = auth::sign_token(claims, *key);
        if (!token) throw std::runtime_error("signing failed");
        std::cout << *token << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "ternctl: " << e.what() << "\n";
        return 1;
    }
}

// ternctl keygen and token, as an operator runs them: the token it prints verifies with the public
// key it wrote, and carries the claims asked for.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include <tern/server/jwt.hpp>

#include "store_fixtures.hpp"

namespace {

// Runs a command, returns (exit status, stdout).
std::pair<int, std::string> run(const std::string& command) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe);
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    const int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST_CASE("ternctl mints tokens that ternd's verifier accepts", "[integration][ternctl]") {
    const std::string alg = GENERATE("es256", "eddsa");
    tern::test::temp_dir dir("ternctl");
    const std::string ctl = TERN_CTL;
    auto [rc, out] = run(ctl + " keygen --kid k9 --alg " + alg + " --out " + dir.str());
    REQUIRE(rc == 0);
    CHECK(out.find("k9") != std::string::npos);
    const auto private_perms = std::filesystem::status(dir.path() / "k9.key").permissions();
    CHECK((private_perms & std::filesystem::perms::others_read) == std::filesystem::perms::none);

    std::tie(rc, out) = run(ctl + " token --key " + (dir.path() / "k9.key").string() +
                            " --kid k9 --tenant 3 --user 44 --device 5 --ttl 15m");
    REQUIRE(rc == 0);
    const std::string token = out.substr(0, out.find('\n'));

    tern::server::jwt_verifier::options options;
    options.issuer = "tern-dev";
    options.audience = "tern";
    const tern::server::jwt_verifier verifier(
        options,
        {tern::server::jwt_key::from_public_pem("k9", slurp(dir.path() / "k9.pub")).value()});
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const auto claims = verifier.verify(token, now).value();
    CHECK(claims.tenant == 3);
    CHECK(claims.user == 44);
    CHECK(claims.device == 5);
    CHECK(claims.expires_at - claims.issued_at == 15 * 60);
    CHECK_FALSE(claims.jwt_id.empty());
}

TEST_CASE("ternctl refuses bad arguments clearly", "[integration][ternctl]") {
    tern::test::temp_dir dir("ternctl");
    const std::string ctl = TERN_CTL;
    REQUIRE(run(ctl + " keygen --kid k1 --out " + dir.str()).first == 0);
    const auto key = (dir.path() / "k1.key").string();
    CHECK(run(ctl + " token --key " + key +
              " --kid k1 --tenant 1 --user 2 --device 3 --ttl soon 2>/dev/null")
              .first != 0);
    CHECK(run(ctl + " token --key " + key + " --kid k1 --tenant 0 --user 2 --device 3 2>/dev/null")
              .first != 0);
    CHECK(run(ctl + " token --key " + (dir.path() / "k1.pub").string() +
              " --kid k1 --tenant 1 --user 2 --device 3 2>/dev/null")
              .first != 0);
    CHECK(run(ctl + " keygen --kid k2 --alg rsa 2>/dev/null").first != 0);
}

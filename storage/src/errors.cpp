#include <tern/storage/errors.hpp>

#include <string>

namespace tern::storage {
namespace {

class storage_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "tern.storage"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::io_error:
                return "storage I/O error";
            case errc::no_space:
                return "no space left for the store";
            case errc::corruption:
                return "store data is corrupted";
            case errc::invalid_entry:
                return "log entry breaks the apply rules";
            case errc::not_found:
                return "record not found";
            case errc::incompatible:
                return "store written by an incompatible version";
            case errc::closed:
                return "store is closed";
            case errc::inconsistent:
                return "derived records disagree with the timeline";
            case errc::log_unavailable:
                return "the replicated log cannot take the entry now";
            case errc::unsupported:
                return "this store cannot do that";
        }
        return "unknown storage error";
    }
};

}  // namespace

const boost::system::error_category& storage_category() noexcept {
    static const storage_category_impl instance;
    return instance;
}

boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), storage_category()};
}

}  // namespace tern::storage

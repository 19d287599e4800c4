#include <tern/storage/testing/fault_fs.hpp>

#include <unistd.h>

#include <map>
#include <mutex>
#include <string>

#include <rocksdb/file_system.h>

#include "rocks_open.hpp"

namespace tern::storage::testing {

// Records, per file, how many bytes were written and how many synced.
class fault_fs::impl final : public rocksdb::FileSystemWrapper {
public:
    impl() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

    const char* Name() const override { return "tern.fault_fs"; }

    rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& opts,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override {
        if (crashed()) return rocksdb::IOStatus::IOError("crashed");
        auto s = target()->NewWritableFile(name, opts, result, dbg);
        if (s.ok()) wrap(name, 0, result);
        return s;
    }

    rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& opts,
                                         std::unique_ptr<rocksdb::FSWritableFile>* result,
                                         rocksdb::IODebugContext* dbg) override {
        if (crashed()) return rocksdb::IOStatus::IOError("crashed");
        std::uint64_t size = 0;
        target()->GetFileSize(name, rocksdb::IOOptions{}, &size, dbg).PermitUncheckedError();
        auto s = target()->ReopenWritableFile(name, opts, result, dbg);
        if (s.ok()) wrap(name, size, result);
        return s;
    }

    rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to,
                                 const rocksdb::IOOptions& opts,
                                 rocksdb::IODebugContext* dbg) override {
        if (crashed()) return rocksdb::IOStatus::OK();
        auto s = target()->RenameFile(from, to, opts, dbg);
        std::lock_guard lock(mutex_);
        if (s.ok() && files_.contains(from)) {
            files_[to] = files_[from];
            files_.erase(from);
        }
        return s;
    }

    rocksdb::IOStatus DeleteFile(const std::string& name, const rocksdb::IOOptions& opts,
                                 rocksdb::IODebugContext* dbg) override {
        if (crashed()) return rocksdb::IOStatus::OK();
        auto s = target()->DeleteFile(name, opts, dbg);
        std::lock_guard lock(mutex_);
        files_.erase(name);
        return s;
    }

    // While set, every append fails with ENOSPC, as on a full disk.
    void fail_writes(bool fail) {
        std::lock_guard lock(mutex_);
        no_space_ = fail;
    }

    // From now on nothing reaches the disk.
    void crash() {
        std::lock_guard lock(mutex_);
        crashed_ = true;
    }

    // Truncates every file to what was synced; returns how many bytes were lost.
    std::uint64_t drop_unsynced() {
        std::lock_guard lock(mutex_);
        std::uint64_t dropped = 0;
        for (const auto& [name, state] : files_) {
            if (state.size > state.synced &&
                ::truncate(name.c_str(), static_cast<off_t>(state.synced)) == 0) {
                dropped += state.size - state.synced;
            }
        }
        return dropped;
    }

    // Bytes written and not yet synced, over all files.
    std::uint64_t unsynced_bytes() const {
        std::lock_guard lock(mutex_);
        std::uint64_t n = 0;
        for (const auto& [name, state] : files_) n += state.size - state.synced;
        return n;
    }

private:
    struct file_state {
        std::uint64_t size = 0;
        std::uint64_t synced = 0;
    };

    class tracked_file final : public rocksdb::FSWritableFileOwnerWrapper {
    public:
        tracked_file(std::unique_ptr<rocksdb::FSWritableFile> file, impl& fs, std::string name)
            : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs), name_(std::move(name)) {}

        rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                                 rocksdb::IODebugContext* dbg) override {
            if (fs_.crashed()) return rocksdb::IOStatus::OK();
            if (fs_.no_space()) return rocksdb::IOStatus::NoSpace("fault_fs: disk full");
            auto s = FSWritableFileOwnerWrapper::Append(data, o, dbg);
            if (s.ok()) fs_.appended(name_, data.size());
            return s;
        }
        rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                                 const rocksdb::DataVerificationInfo&,
                                 rocksdb::IODebugContext* dbg) override {
            return Append(data, o, dbg);
        }
        rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
            if (fs_.crashed()) return rocksdb::IOStatus::OK();
            auto s = FSWritableFileOwnerWrapper::Sync(o, dbg);
            if (s.ok()) fs_.synced(name_);
            return s;
        }
        rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o,
                                rocksdb::IODebugContext* dbg) override {
            if (fs_.crashed()) return rocksdb::IOStatus::OK();
            auto s = FSWritableFileOwnerWrapper::Fsync(o, dbg);
            if (s.ok()) fs_.synced(name_);
            return s;
        }
        rocksdb::IOStatus Truncate(std::uint64_t size, const rocksdb::IOOptions& o,
                                   rocksdb::IODebugContext* dbg) override {
            if (fs_.crashed()) return rocksdb::IOStatus::OK();
            return FSWritableFileOwnerWrapper::Truncate(size, o, dbg);
        }

    private:
        impl& fs_;
        std::string name_;
    };

    void wrap(const std::string& name, std::uint64_t existing,
              std::unique_ptr<rocksdb::FSWritableFile>* file) {
        {
            std::lock_guard lock(mutex_);
            files_[name] = {existing, existing};
        }
        *file = std::make_unique<tracked_file>(std::move(*file), *this, name);
    }
    bool crashed() const {
        std::lock_guard lock(mutex_);
        return crashed_;
    }
    bool no_space() const {
        std::lock_guard lock(mutex_);
        return no_space_;
    }
    void appended(const std::string& name, std::size_t n) {
        std::lock_guard lock(mutex_);
        files_[name].size += n;
    }
    void synced(const std::string& name) {
        std::lock_guard lock(mutex_);
        auto& f = files_[name];
        f.synced = f.size;
    }

    mutable std::mutex mutex_;
    std::map<std::string, file_state> files_;
    bool crashed_ = false;
    bool no_space_ = false;
};

fault_fs::fault_fs() : impl_(std::make_shared<impl>()) {}
fault_fs::~fault_fs() = default;

result<std::unique_ptr<store>> fault_fs::open_rocks_store(const rocks_options& options) {
    return detail::open_rocks_store(options, impl_);
}

void fault_fs::fail_writes(bool fail) { impl_->fail_writes(fail); }
void fault_fs::crash() { impl_->crash(); }
std::uint64_t fault_fs::drop_unsynced() { return impl_->drop_unsynced(); }
std::uint64_t fault_fs::unsynced_bytes() const { return impl_->unsynced_bytes(); }

}  // namespace tern::storage::testing

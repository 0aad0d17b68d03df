#include "igx/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "igx/error.h"

namespace igx {
namespace {

namespace fs = std::filesystem;

std::string reason() { return std::strerror(errno); }

/// Closes a descriptor when the scope ends, unless released.
class Descriptor {
 public:
  explicit Descriptor(int descriptor) : descriptor_(descriptor) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() {
    if (descriptor_ >= 0) ::close(descriptor_);
  }
  int get() const { return descriptor_; }
  int release() {
    const int descriptor = descriptor_;
    descriptor_ = -1;
    return descriptor;
  }

 private:
  int descriptor_;
};

void write_all(int descriptor, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t written = ::write(descriptor, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw Error(path + ": cannot write: " + reason());
    }
    data += written;
    size -= static_cast<size_t>(written);
  }
}

/// The permissions a new file gets (0666 without the umask), or those of the file it replaces.
mode_t mode_for(const std::string& path) {
  struct stat existing;
  if (::stat(path.c_str(), &existing) == 0 && S_ISREG(existing.st_mode)) return existing.st_mode & 07777;
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

/// Creates a hidden temporary file next to `path`; returns its descriptor and fills `temporary`.
int create_temporary_beside(const std::string& path, std::string& temporary) {
  const fs::path target(path);
  if (target.filename().empty()) throw Error("'" + path + "' names a folder, not a file");
  const fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::string pattern = (folder / ("." + target.filename().string() + ".igx-XXXXXX")).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  const int descriptor = ::mkstemp(buffer.data());
  if (descriptor < 0) {
    std::string problem = reason();
    if (!fs::is_directory(folder)) problem = "folder '" + folder.string() + "' does not exist";
    throw Error(path + ": cannot write: " + problem);
  }
  temporary.assign(buffer.data());
  return descriptor;
}

/// Flushes the data to disk and renames `temporary` over `path`; removes `temporary` on failure.
void sync_and_rename(int descriptor, const std::string& temporary, const std::string& path) {
  if (::fchmod(descriptor, mode_for(path)) != 0 || ::fsync(descriptor) != 0) {
    const std::string problem = reason();
    ::close(descriptor);
    ::unlink(temporary.c_str());
    throw Error(path + ": cannot write: " + problem);
  }
  if (::close(descriptor) != 0) {
    const std::string problem = reason();
    ::unlink(temporary.c_str());
    throw Error(path + ": cannot write: " + problem);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string problem = errno == EISDIR ? std::string("it is a folder") : reason();
    ::unlink(temporary.c_str());
    throw Error(path + ": cannot replace: " + problem);
  }
}

}  // namespace

std::string format_bytes(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 6) {
    bytes /= 1024;
    ++unit;
  }
  char text[48];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%.0f bytes", bytes);
  } else {
    std::snprintf(text, sizeof text, bytes < 10 ? "%.1f %s" : "%.0f %s", bytes, units[unit]);
  }
  return text;
}

void require_readable_file(const std::string& path, const std::string& what) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (status.type() == fs::file_type::not_found) throw Error(what + " '" + path + "' does not exist");
  if (status.type() == fs::file_type::directory) throw Error(what + " '" + path + "' is a folder; expected a file");
}

std::string read_file_bytes(const std::string& path, size_t max_bytes, const std::string& what) {
  Descriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) throw Error(path + ": cannot open for reading: " + reason());
  struct stat status;
  if (::fstat(file.get(), &status) != 0) throw Error(path + ": cannot read: " + reason());
  if (S_ISDIR(status.st_mode)) throw Error(path + " is a folder; expected " + what);
  const std::string too_large = path + " is larger than " + format_bytes(static_cast<double>(max_bytes)) +
                                ", the most igx reads for " + what;
  if (S_ISREG(status.st_mode) && static_cast<uint64_t>(status.st_size) > max_bytes) throw Error(too_large);

  std::string bytes;
  if (S_ISREG(status.st_mode)) bytes.reserve(static_cast<size_t>(status.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t count = ::read(file.get(), buffer, sizeof buffer);
    if (count < 0) {
      if (errno == EINTR) continue;
      throw Error(path + ": cannot read: " + reason());
    }
    if (count == 0) break;
    if (bytes.size() + static_cast<size_t>(count) > max_bytes) throw Error(too_large);  // pipes, devices
    bytes.append(buffer, static_cast<size_t>(count));
  }
  return bytes;
}

void write_file_bytes(const std::string& path, const std::string& bytes) {
  std::string temporary;
  const int descriptor = create_temporary_beside(path, temporary);
  try {
    write_all(descriptor, bytes.data(), bytes.size(), path);
  } catch (const Error&) {
    ::close(descriptor);
    ::unlink(temporary.c_str());
    throw;
  }
  sync_and_rename(descriptor, temporary, path);
}

}  // namespace igx

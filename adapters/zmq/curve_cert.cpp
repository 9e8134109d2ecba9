#include "adapters/zmq/curve_cert.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

namespace loom {

namespace {

constexpr size_t kZ85KeyChars = 40;

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// A ZPL value: "quoted", 'quoted', or bare up to the first blank (Z85 has
// `#` in its alphabet, so a bare key must not end at a comment sign).
std::string zpl_value(std::string_view raw) {
  std::string v = trim(raw);
  if (!v.empty() && (v[0] == '"' || v[0] == '\'')) {
    const auto end = v.find(v[0], 1);
    return end == std::string::npos ? v.substr(1) : v.substr(1, end - 1);
  }
  return v.substr(0, v.find_first_of(" \t"));
}

struct ZplKeys {
  std::string public_key, secret_key;
};

// The two keys under `curve`, by ZPL's indentation (4 spaces a level; a tab
// counts as one level). Other sections (`metadata`) are skipped.
ZplKeys parse_zpl(std::istream& in, const std::string& path) {
  ZplKeys out;
  std::vector<std::string> section;  // names of the enclosing levels
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t indent = 0, i = 0;
    for (; i < line.size() && (line[i] == ' ' || line[i] == '\t'); ++i) indent += line[i] == '\t' ? 4 : 1;
    const std::string body = trim(std::string_view(line).substr(i));
    if (body.empty() || body[0] == '#') continue;
    const size_t depth = indent / 4;
    if (depth > section.size()) {
      throw CurveCertError(path + ":" + std::to_string(number) + ": indented deeper than its section");
    }
    section.resize(depth);
    const auto eq = body.find('=');
    const std::string name = trim(std::string_view(body).substr(0, eq));
    section.push_back(name);
    if (eq == std::string::npos || section.size() != 2 || section[0] != "curve") continue;
    if (name == "public-key") out.public_key = zpl_value(std::string_view(body).substr(eq + 1));
    if (name == "secret-key") out.secret_key = zpl_value(std::string_view(body).substr(eq + 1));
  }
  return out;
}

void check_key(const std::string& key, const std::string& path, const char* what) {
  if (!is_valid_curve_key(key)) {
    throw CurveCertError(path + ": " + what + " is not a 40-character Z85 CURVE key");
  }
}

std::string banner(const char* kind) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", std::gmtime(&now));
  std::string b = std::string("#   ****  Generated on ") + date + " by loom keygen  ****\n";
  return b + "#   ZeroMQ CURVE " + kind + " Certificate\n";
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  // O_EXCL: never replace a key someone already distributed.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) throw CurveCertError("cannot create " + path + ": " + std::strerror(errno));
  const bool ok = ::fchmod(fd, mode) == 0 && ::write(fd, text.data(), text.size()) == ssize_t(text.size());
  const int saved = errno;
  ::close(fd);
  if (!ok) throw CurveCertError("cannot write " + path + ": " + std::strerror(saved));
}

}  // namespace

bool is_valid_curve_key(const std::string& z85) {
  static constexpr std::string_view kAlphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (z85.size() != kZ85KeyChars || z85.find_first_not_of(kAlphabet) != std::string::npos) return false;
  uint8_t bytes[32];
  return zmq_z85_decode(bytes, z85.c_str()) != nullptr;
}

CurveCert generate_curve_cert() {
  char pub[kZ85KeyChars + 1], sec[kZ85KeyChars + 1];
  if (zmq_curve_keypair(pub, sec) != 0) {
    throw CurveCertError(std::string("cannot make a CURVE keypair: ") + zmq_strerror(zmq_errno()) +
                         " (libzmq built without CURVE?)");
  }
  return {pub, sec};
}

CurveCert read_curve_cert(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw CurveCertError("cannot read certificate " + path + ": " + std::strerror(errno));
  ZplKeys keys = parse_zpl(in, path);
  CurveCert cert;
  if (!keys.secret_key.empty()) {
    check_key(keys.secret_key, path, "secret-key");
    cert.secret_z85 = keys.secret_key;
    if (keys.public_key.empty()) {
      char pub[kZ85KeyChars + 1];
      if (zmq_curve_public(pub, cert.secret_z85.c_str()) != 0) {
        throw CurveCertError(path + ": cannot derive the public key from secret-key");
      }
      keys.public_key = pub;
    }
  }
  if (keys.public_key.empty()) throw CurveCertError(path + ": no `public-key` under `curve`");
  check_key(keys.public_key, path, "public-key");
  cert.public_z85 = keys.public_key;
  return cert;
}

CurveCert read_curve_secret(const std::string& path) {
  CurveCert cert = read_curve_cert(path);
  if (cert.secret_z85.empty()) {
    throw CurveCertError(path + ": no `secret-key` under `curve` (a public certificate was given where the "
                                "secret one, NAME.key_secret, is needed)");
  }
  return cert;
}

void write_curve_cert_pair(const std::string& base, const CurveCert& cert) {
  if (!is_valid_curve_key(cert.public_z85) || !is_valid_curve_key(cert.secret_z85)) {
    throw CurveCertError("write_curve_cert_pair: the certificate's keys are not valid Z85 CURVE keys");
  }
  const std::string pub = banner("Public") +
                          "#   Give this file to the peers that must admit you; it holds no secret.\n\n"
                          "metadata\ncurve\n    public-key = \"" + cert.public_z85 + "\"\n";
  const std::string sec = banner("**Secret**") +
                          "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n\n"
                          "metadata\ncurve\n    public-key = \"" + cert.public_z85 + "\"\n"
                          "    secret-key = \"" + cert.secret_z85 + "\"\n";
  write_file(base + ".key_secret", sec, 0600);
  write_file(base + ".key", pub, 0644);
}

std::set<std::string> read_public_keys_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw CurveCertError("client key directory " + dir + " is not a directory");
  std::set<std::string> keys;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".key" || !entry.is_regular_file()) continue;
    keys.insert(read_curve_cert(entry.path().string()).public_z85);
  }
  if (ec) throw CurveCertError("cannot list " + dir + ": " + ec.message());
  return keys;
}

}  // namespace loom

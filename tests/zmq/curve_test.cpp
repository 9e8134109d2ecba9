// CURVE certificates, the clear-text bind policy and CURVE on the endpoint
// (real tcp:// and ipc:// sockets, FakeEngine). The key pair below is the one
// libzmq's own CURVE tests and the ZeroMQ guide publish, so the reader is
// checked against keys this code did not make.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "adapters/zmq/bind_policy.h"
#include "adapters/zmq/client.h"
#include "adapters/zmq/curve_cert.h"
#include "adapters/zmq/endpoint.h"
#include "adapters/zmq/fake_engine.h"
#include "tests/zmq/socket_helpers.h"

namespace loom {
namespace {

namespace fs = std::filesystem;

constexpr const char* kGuidePublic = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
constexpr const char* kGuideSecret = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("loom_curve_" + std::to_string(getpid()) + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

unsigned mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(CurveCert, ReadsCzmqStyleSecretWithMetadataAndCrlf) {
  TempDir dir;
  // CZMQ's zconfig layout: metadata entries, quoted values, 4-space levels.
  write_text(dir / "c.key_secret",
             "#   ****  Generated on 2015-01-01 by CZMQ  ****\r\n#   ZeroMQ CURVE **Secret** Certificate\r\n\r\n"
             "metadata\r\n    name = \"alice\"\r\n    public-key = \"not this one\"\r\ncurve\r\n"
             "    public-key = \"" + std::string(kGuidePublic) + "\"\r\n    secret-key = \"" + kGuideSecret + "\"\r\n");
  const CurveCert c = read_curve_cert(dir / "c.key_secret");
  EXPECT_EQ(c.public_z85, kGuidePublic);
  EXPECT_EQ(c.secret_z85, kGuideSecret);
}

TEST(CurveCert, DerivesAMissingPublicKeyFromTheSecret) {
  TempDir dir;
  write_text(dir / "s.key_secret", std::string("curve\n    secret-key = '") + kGuideSecret + "'\n");
  EXPECT_EQ(read_curve_cert(dir / "s.key_secret").public_z85, kGuidePublic);
}

TEST(CurveCert, RejectsMalformedFilesByName) {
  TempDir dir;
  write_text(dir / "short.key", "curve\n    public-key = \"abc\"\n");
  write_text(dir / "none.key", "metadata\n    public-key = \"" + std::string(kGuidePublic) + "\"\n");
  write_text(dir / "pub.key", "curve\n    public-key = \"" + std::string(kGuidePublic) + "\"\n");
  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const CurveCertError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { read_curve_cert(dir / "short.key"); }).find("short.key: public-key is not"), std::string::npos);
  EXPECT_NE(message([&] { read_curve_cert(dir / "none.key"); }).find("no `public-key` under `curve`"), std::string::npos);
  EXPECT_NE(message([&] { read_curve_secret(dir / "pub.key"); }).find("no `secret-key`"), std::string::npos);
  EXPECT_NE(message([&] { read_curve_cert(dir / "missing.key"); }).find("cannot read"), std::string::npos);
}

TEST(CurveCert, WritesAPairThatReadsBackWithSafeModesAndNeverOverwrites) {
  TempDir dir;
  const CurveCert made = generate_curve_cert();
  write_curve_cert_pair(dir / "srv", made);
  EXPECT_EQ(mode_of(dir / "srv.key_secret"), 0600u);
  EXPECT_EQ(mode_of(dir / "srv.key"), 0644u);
  const CurveCert pub = read_curve_cert(dir / "srv.key");
  EXPECT_EQ(pub.public_z85, made.public_z85);
  EXPECT_TRUE(pub.secret_z85.empty());  // the public file holds no secret
  EXPECT_EQ(read_curve_secret(dir / "srv.key_secret").secret_z85, made.secret_z85);
  EXPECT_THROW(write_curve_cert_pair(dir / "srv", generate_curve_cert()), CurveCertError);
  EXPECT_EQ(read_curve_cert(dir / "srv.key").public_z85, made.public_z85);
}

TEST(CurveCert, KeyDirectoryReadsOnlyDotKeyFiles) {
  TempDir dir;
  fs::create_directories(dir / "clients");
  write_curve_cert_pair(dir / "clients/a", generate_curve_cert());
  write_text(dir / "clients/README", "not a key");
  write_text(dir / "clients/b.key", "curve\n    public-key = \"" + std::string(kGuidePublic) + "\"\n");
  const auto keys = read_public_keys_dir(dir / "clients");
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys.count(kGuidePublic), 1u);
  EXPECT_THROW(read_public_keys_dir(dir / "nope"), CurveCertError);
}

TEST(BindPolicy, OnlyLoopbackAndLocalTransportsMayBeClear) {
  for (const char* a : {"ipc:///tmp/x", "inproc://x", "tcp://127.0.0.1:5555", "tcp://127.1.2.3:*",
                        "tcp://localhost:1", "tcp://[::1]:5555", "tcp://lo:5555"}) {
    EXPECT_TRUE(is_local_address(a)) << a;
  }
  for (const char* a : {"tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://10.0.0.1:5555", "tcp://[::]:1",
                        "tcp://eth0:5555", "tcp://example.com:80", "ws://127.0.0.1:1"}) {
    EXPECT_FALSE(is_local_address(a)) << a;
  }
  try {
    check_clear_bind("tcp://0.0.0.0:5555", false, false);
    ADD_FAILURE() << "no refusal";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--insecure"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(check_clear_bind("tcp://0.0.0.0:5555", true, false));
  EXPECT_NO_THROW(check_clear_bind("tcp://0.0.0.0:5555", false, true));
}

// A CURVE endpoint with one admitted client ("good") and one stranger.
class CurveEndpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "clients");
    write_curve_cert_pair(dir_ / "server", generate_curve_cert());
    write_curve_cert_pair(dir_ / "good", generate_curve_cert());
    write_curve_cert_pair(dir_ / "stranger", generate_curve_cert());
    fs::copy_file(dir_ / "good.key", dir_ / "clients/good.key");
    EndpointOptions o;
    o.address = "tcp://127.0.0.1:*";
    o.curve_secret = dir_ / "server.key_secret";
    o.curve_clients_dir = dir_ / "clients";
    endpoint_ = std::make_unique<ZmqEndpoint>(engine_, o);
  }
  ZmqClient client(const std::string& who, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    ClientOptions c{.endpoint = endpoint_->address(), .timeout = timeout};
    if (!who.empty()) {
      c.curve_server_public = dir_ / "server.key";
      c.curve_secret = dir_ / (who + ".key_secret");
    }
    return ZmqClient(c);
  }
  static JobRequest job(int tokens) {
    JobRequest r;
    r.prompt.value = std::string("q");
    r.params.max_tokens = tokens;
    return r;
  }
  // Until the endpoint has counted at least `n` refused handshakes.
  bool wait_denied(int64_t n) {
    for (int i = 0; i < 500; ++i) {
      if (endpoint_->counters().auth_denied >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  TempDir dir_;
  testing::FakeEngine engine_;
  std::unique_ptr<ZmqEndpoint> endpoint_;
};

TEST_F(CurveEndpoint, AdmittedClientStreams) {
  ZmqClient c = client("good");
  EXPECT_EQ(c.generate_all(job(3)).text, "q:0 q:1 q:2 ");
  EXPECT_EQ(c.stats().auth_denied, 0);
}

TEST_F(CurveEndpoint, StrangerAndClearClientGetNothingAndAreCounted) {
  ZmqClient stranger = client("stranger", std::chrono::milliseconds(500));
  EXPECT_THROW(stranger.generate_all(job(3)), ClientTimeout);
  ASSERT_TRUE(wait_denied(1));
  const int64_t after_stranger = endpoint_->counters().auth_denied;
  ZmqClient clear = client("", std::chrono::milliseconds(500));
  EXPECT_THROW(clear.health(), ClientTimeout);
  ASSERT_TRUE(wait_denied(after_stranger + 1));
  EXPECT_EQ(endpoint_->counters().clients, 0);  // neither ever became a peer
  EXPECT_EQ(engine_.submitted(), 0u);
  EXPECT_GE(client("good").stats().auth_denied, after_stranger + 1);
}

TEST_F(CurveEndpoint, WrongServerKeyIsRefused) {
  ClientOptions c{.endpoint = endpoint_->address(), .timeout = std::chrono::milliseconds(500)};
  c.curve_server_public = dir_ / "stranger.key";  // not the server's key
  c.curve_secret = dir_ / "good.key_secret";
  ZmqClient wrong(c);
  EXPECT_THROW(wrong.health(), ClientTimeout);
  EXPECT_TRUE(wait_denied(1));
}

TEST_F(CurveEndpoint, KeyAddedToTheDirectoryIsAdmittedAfterReload) {
  fs::copy_file(dir_ / "stranger.key", dir_ / "clients/stranger.key");
  {
    ZmqClient before = client("stranger", std::chrono::milliseconds(500));
    EXPECT_THROW(before.health(), ClientTimeout);  // not re-read yet
  }
  endpoint_->reload_curve_clients();
  ZmqClient after = client("stranger");
  EXPECT_EQ(after.generate_all(job(2)).text, "q:0 q:1 ");
}

TEST_F(CurveEndpoint, BadFileOnReloadKeepsTheOldKeys) {
  write_text(dir_ / "clients/broken.key", "curve\n    public-key = \"short\"\n");
  EXPECT_THROW(endpoint_->reload_curve_clients(), CurveCertError);
  ZmqClient c = client("good");
  EXPECT_TRUE(c.health().engine.ok);
}

TEST(CurveEndpointOptions, ReachableClearBindIsRefusedUnlessInsecure) {
  testing::FakeEngine engine;
  EndpointOptions o;
  o.address = "tcp://0.0.0.0:*";
  try {
    ZmqEndpoint e(engine, o);
    ADD_FAILURE() << "bound " << e.address() << " in clear";
  } catch (const ZmqEndpointError& e) {
    EXPECT_NE(std::string(e.what()).find("--insecure"), std::string::npos) << e.what();
  }
  o.insecure = true;
  ZmqEndpoint e(engine, o);
  EXPECT_NE(e.address().find("0.0.0.0"), std::string::npos);
}

TEST(CurveEndpointOptions, HalfAConfigurationIsRefused) {
  testing::FakeEngine engine;
  TempDir dir;
  write_curve_cert_pair(dir / "server", generate_curve_cert());
  EndpointOptions o;
  o.address = "tcp://127.0.0.1:*";
  o.curve_secret = dir / "server.key_secret";  // no clients directory
  EXPECT_THROW(ZmqEndpoint(engine, o), ZmqEndpointError);
  o.curve_clients_dir = dir / "missing";
  EXPECT_THROW(ZmqEndpoint(engine, o), ZmqEndpointError);
  o.curve_secret = dir / "server.key";  // a public certificate where the secret one belongs
  fs::create_directories(dir / "missing");
  EXPECT_THROW(ZmqEndpoint(engine, o), ZmqEndpointError);
}

TEST(IpcMode, SocketFileIsOwnerOnlyByDefault) {
  testing::FakeEngine engine;
  EndpointOptions o;
  o.address = test::ipc_address("ipc_mode_default");
  ZmqEndpoint e(engine, o);
  EXPECT_EQ(mode_of(e.address().substr(6)), 0600u);
}

TEST(IpcMode, ModeCanBeWidened) {
  testing::FakeEngine engine;
  EndpointOptions o;
  o.address = test::ipc_address("ipc_mode_wide");
  o.ipc_mode = 0660;
  ZmqEndpoint e(engine, o);
  EXPECT_EQ(mode_of(e.address().substr(6)), 0660u);
}

}  // namespace
}  // namespace loom

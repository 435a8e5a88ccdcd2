#include "base/Config.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tt {
namespace {

using Items = std::vector<std::string>;

// Runs `f`, expects a ConfigError, and checks that its message contains every fragment: the
// point of ConfigError is that the one line a daemon dies with names the key and the file.
void expectConfigError(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    for (const std::string& part : parts) {
      EXPECT_NE(message.find(part), std::string::npos)
          << "message '" << message << "' lacks '" << part << "'";
    }
    return;
  }
  ADD_FAILURE() << "no ConfigError thrown";
}

Config parse(const std::string& text) { return Config::parse(text, "test.conf"); }

TEST(Config, CommentsBlankLinesAndTrimming) {
  const Config c = parse(
      "# a full-line comment\n"
      "\n"
      "   \t\n"
      "  ListenIP = 0.0.0.0  \n"
      "ListenPort=8000 # trailing comment\n"
      "   # indented comment\n"
      "Name = two words\t# note\r\n"
      "NoNewlineAtEnd=1");
  EXPECT_EQ(c.keys(), (Items{"ListenIP", "ListenPort", "Name", "NoNewlineAtEnd"}));
  EXPECT_EQ(c.getString("ListenIP"), "0.0.0.0");
  EXPECT_EQ(c.getPort("ListenPort"), 8000);
  EXPECT_EQ(c.getString("Name"), "two words");
  EXPECT_EQ(c.getInt("NoNewlineAtEnd"), 1);
  EXPECT_EQ(c.source(), "test.conf");
}

TEST(Config, ValueMayContainEqualsSign) {
  const Config c = parse("Dsn = host=db;user=im\n");
  EXPECT_EQ(c.getString("Dsn"), "host=db;user=im");
}

TEST(Config, EmptyValueCountsAsUnset) {
  const Config c = parse("LogFile=\nLevel = # nothing\n");
  EXPECT_FALSE(c.has("LogFile"));
  EXPECT_FALSE(c.has("Level"));
  EXPECT_EQ(c.getString("LogFile", "stderr"), "stderr");
  EXPECT_EQ(c.getInt("Level", 3), 3);
  expectConfigError([&] { c.getString("LogFile"); }, {"LogFile", "test.conf:1", "empty"});
  EXPECT_EQ(c.keys(), (Items{"LogFile", "Level"}));
}

TEST(Config, DefaultsApplyOnlyToAbsentKeys) {
  const Config c = parse("A=x\nN=5\n");
  EXPECT_TRUE(c.has("A"));
  EXPECT_FALSE(c.has("B"));
  EXPECT_EQ(c.getString("A", "d"), "x");
  EXPECT_EQ(c.getString("B", "d"), "d");
  EXPECT_EQ(c.getInt("N", 9), 5);
  EXPECT_EQ(c.getInt("M", 9), 9);
  EXPECT_EQ(c.getInt("M", 9, 100, 200), 9);  // the default is the caller's, not range-checked
}

TEST(Config, MissingRequiredKeyNamesKeyAndFile) {
  const Config c = Config::parse("Other=1\n", "msgserver.conf");
  expectConfigError([&] { c.getString("ListenPort"); },
                    {"msgserver.conf", "missing required key 'ListenPort'"});
  expectConfigError([&] { c.getInt("ListenPort"); }, {"msgserver.conf", "'ListenPort'"});
  expectConfigError([&] { c.getPort("ListenPort"); }, {"msgserver.conf", "'ListenPort'"});
  expectConfigError([&] { c.getRequiredList("Peers"); }, {"msgserver.conf", "'Peers'"});
}

TEST(Config, BadIntegerNamesKeyFileLineAndValue) {
  const Config c = Config::parse("A=1\nListenPort = abc\nB = 12x\nC= 1.5\nD=99999999999999999999\n",
                                 "msgserver.conf");
  expectConfigError([&] { c.getInt("ListenPort"); },
                    {"msgserver.conf:2", "key 'ListenPort'", "'abc' is not an integer"});
  expectConfigError([&] { c.getInt("B", 0); }, {"msgserver.conf:3", "'B'", "'12x'"});
  expectConfigError([&] { c.getInt("C", 0, 0, 10); }, {"msgserver.conf:4", "'C'"});
  expectConfigError([&] { c.getInt("D"); }, {"msgserver.conf:5", "'D'"});
}

TEST(Config, IntRangeAndPortRange) {
  const Config c = parse("Threads=64\nZero=0\nBig=65536\nOk=65535\nNeg=-1\n");
  EXPECT_EQ(c.getInt("Threads", 4, 1, 64), 64);
  expectConfigError([&] { c.getInt("Threads", 4, 1, 32); },
                    {"test.conf:1", "'Threads'", "64", "[1, 32]"});
  EXPECT_EQ(c.getPort("Ok"), 65535);
  expectConfigError([&] { c.getPort("Zero"); }, {"test.conf:2", "'Zero'"});
  expectConfigError([&] { c.getPort("Big"); }, {"test.conf:3", "'Big'"});
  expectConfigError([&] { c.getPort("Neg"); }, {"test.conf:5", "'Neg'"});
}

TEST(Config, Bools) {
  const Config c = parse("A=1\nB=0\nC=true\nD=False\nE=yes\nF=NO\nG=maybe\n");
  EXPECT_TRUE(c.getBool("A", false));
  EXPECT_FALSE(c.getBool("B", true));
  EXPECT_TRUE(c.getBool("C", false));
  EXPECT_FALSE(c.getBool("D", true));
  EXPECT_TRUE(c.getBool("E", false));
  EXPECT_FALSE(c.getBool("F", true));
  EXPECT_TRUE(c.getBool("Missing", true));
  EXPECT_FALSE(c.getBool("Missing", false));
  expectConfigError([&] { c.getBool("G", false); }, {"test.conf:7", "'G'", "'maybe'"});
}

TEST(Config, SemicolonListsAreTrimmedWithoutEmptyItems) {
  const Config c = parse("Users = alice; bob ;;carol;\nCsv = a, b,c\nBlank = ;; ;\n");
  EXPECT_EQ(c.getList("Users"), (Items{"alice", "bob", "carol"}));
  EXPECT_EQ(c.getList("Csv", ','), (Items{"a", "b", "c"}));
  EXPECT_TRUE(c.getList("Missing").empty());
  EXPECT_TRUE(c.getList("Blank").empty());
  EXPECT_EQ(c.getRequiredList("Users"), (Items{"alice", "bob", "carol"}));
  expectConfigError([&] { c.getRequiredList("Blank"); }, {"test.conf:3", "'Blank'"});
  expectConfigError([&] { c.getRequiredList("Missing"); }, {"test.conf", "'Missing'"});
}

TEST(Config, NumberedServerList) {
  const Config c = parse(
      "DBServerIP1 = 10.0.0.1\nDBServerPort1 = 10600\n"
      "DBServerIP2 = 10.0.0.2\nDBServerPort2 = 10601\n"
      "RouteServerIP1 = r1\nRouteServerPort1 = 8200\n");
  const std::vector<ServerAddr> db = c.getServerList("DBServerIP", "DBServerPort");
  ASSERT_EQ(db.size(), 2u);
  EXPECT_EQ(db[0].host, "10.0.0.1");
  EXPECT_EQ(db[0].port, 10600);
  EXPECT_EQ(db[1].host, "10.0.0.2");
  EXPECT_EQ(db[1].port, 10601);
  EXPECT_TRUE(c.getServerList("LoginServerIP", "LoginServerPort").empty());
}

TEST(Config, NumberedServerListStopsAtFirstGap) {
  const Config c = parse(
      "DBServerIP1=a\nDBServerPort1=1\n"
      "DBServerIP3=c\nDBServerPort3=3\n");
  const std::vector<ServerAddr> db = c.getServerList("DBServerIP", "DBServerPort");
  ASSERT_EQ(db.size(), 1u);
  EXPECT_EQ(db[0].host, "a");
  EXPECT_EQ(db[0].port, 1);
}

TEST(Config, NumberedServerWithoutPortNamesThePortKey) {
  const Config c = parse("DBServerIP1=a\nDBServerPort1=1\nDBServerIP2=b\n");
  expectConfigError([&] { c.getServerList("DBServerIP", "DBServerPort"); },
                    {"test.conf:3", "'DBServerPort2'", "'DBServerIP2'"});
}

TEST(Config, NumberedServerWithBadPortNamesThePortKey) {
  const Config c = parse("DBServerIP1=a\nDBServerPort1=http\n");
  expectConfigError([&] { c.getServerList("DBServerIP", "DBServerPort"); },
                    {"test.conf:2", "'DBServerPort1'"});
}

TEST(Config, DuplicateKeyNamesKeyFileAndBothLines) {
  expectConfigError([] { parse("A=1\nListenPort=1\n\nListenPort=2\n"); },
                    {"test.conf:4", "'ListenPort'", "line 2"});
}

TEST(Config, LineWithoutEqualsNamesFileAndLine) {
  expectConfigError([] { parse("A=1\n# fine\nListenPort 8000\n"); },
                    {"test.conf:3", "ListenPort 8000"});
  // The '=' inside a comment does not count.
  expectConfigError([] { parse("Key # =value\n"); }, {"test.conf:1"});
  expectConfigError([] { parse("= value\n"); }, {"test.conf:1", "empty key"});
}

TEST(Config, FailNamesKeyFileAndLine) {
  const Config c = parse("\nMode = turbo\n");
  expectConfigError([&] { c.fail("Mode", "unknown mode"); },
                    {"test.conf:2", "'Mode'", "unknown mode"});
  expectConfigError([&] { c.fail("Absent", "needed"); }, {"test.conf", "'Absent'", "needed"});
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ttconfXXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(Config, LoadReadsRealFile) {
  TempDir dir;
  const std::string path = (dir.path() / "msgserver.conf").string();
  {
    std::ofstream out(path);
    out << "\xEF\xBB\xBF# written by the test\r\nListenIP=127.0.0.1\r\nListenPort=8000\r\n";
  }
  const Config c = Config::load(path);
  EXPECT_EQ(c.source(), path);
  EXPECT_EQ(c.getString("ListenIP"), "127.0.0.1");
  EXPECT_EQ(c.getPort("ListenPort"), 8000);
  expectConfigError([&] { c.getString("Nope"); }, {path, "'Nope'"});
}

TEST(Config, LoadOfMissingFileNamesThePath) {
  TempDir dir;
  const std::string path = (dir.path() / "absent.conf").string();
  expectConfigError([&] { Config::load(path); }, {path, "cannot read"});
}

TEST(Config, LoadReportsParseErrorsWithThePath) {
  TempDir dir;
  const std::string path = (dir.path() / "bad.conf").string();
  {
    std::ofstream out(path);
    out << "A=1\nbroken line\n";
  }
  expectConfigError([&] { Config::load(path); }, {path + ":2"});
}

}  // namespace
}  // namespace tt

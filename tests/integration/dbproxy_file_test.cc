// db_proxy_server offline-file handlers against the real daemon and MariaDB: has (0x0509), add
// (0x050b, no response) and delete (0x050c, no response). Each test uses its own user ids
// (3500..3599) and task ids.
#include <mysql.h>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "IM.BaseDefine.pb.h"
#include "IM.File.pb.h"
#include "tests/integration/DbProxyFixture.h"
#include "tests/integration/PduClient.h"
#include "tests/integration/StorageFixture.h"

static auto* const kStorageEnv = tt::test::StorageEnvironment::registerOnce();

namespace tt::test {
namespace {

namespace BD = IM::BaseDefine;

struct MysqlCloser {
  void operator()(MYSQL* m) const { mysql_close(m); }
};
using MysqlPtr = std::unique_ptr<MYSQL, MysqlCloser>;

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    proxy_ = &DbProxyFixture::instance();
    db_.reset(proxy_->mysql());
    ASSERT_TRUE(client_.connect(proxy_->port()));
  }

  std::string value(const std::string& sql) { return sqlValue(db_.get(), sql); }
  void exec(const std::string& sql) { sqlRows(db_.get(), sql); }

  void add(uint32_t from, uint32_t to, const std::string& task, const std::string& name, uint32_t size) {
    IM::File::IMFileAddOfflineReq req;
    req.set_from_user_id(from);
    req.set_to_user_id(to);
    req.set_task_id(task);
    req.set_file_name(name);
    req.set_file_size(size);
    ASSERT_TRUE(client_.send(BD::SID_FILE, BD::CID_FILE_ADD_OFFLINE_REQ, 0, req));
  }
  void del(uint32_t from, uint32_t to, const std::string& task) {
    IM::File::IMFileDelOfflineReq req;
    req.set_from_user_id(from);
    req.set_to_user_id(to);
    req.set_task_id(task);
    ASSERT_TRUE(client_.send(BD::SID_FILE, BD::CID_FILE_DEL_OFFLINE_REQ, 0, req));
  }
  IM::File::IMFileHasOfflineRsp has(uint32_t uid, uint16_t seq, const std::string& attach = "") {
    IM::File::IMFileHasOfflineReq req;
    req.set_user_id(uid);
    if (!attach.empty()) req.set_attach_data(attach);
    EXPECT_TRUE(client_.send(BD::SID_FILE, BD::CID_FILE_HAS_OFFLINE_REQ, seq, req));
    auto pdu = client_.receiveCommand(BD::CID_FILE_HAS_OFFLINE_RES, 20000);
    if (!pdu) {
      ADD_FAILURE() << "no IMFileHasOfflineRsp\n" << proxy_->daemon().logTail();
      return {};
    }
    EXPECT_EQ(pdu->seq(), seq);
    return pdu->as<IM::File::IMFileHasOfflineRsp>();
  }

  // Add and delete have no response: wait (bounded) until the row shows the expected state.
  bool waitFor(const std::function<bool()>& cond, int timeoutMs = 20000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (std::chrono::steady_clock::now() < deadline) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return cond();
  }
  std::string rowCount(const std::string& task) {
    return value("SELECT COUNT(*) FROM IMTransmitFile WHERE taskId = '" + task + "'");
  }
  // A refused request changes no row and answers nothing; db_proxy logs it. Add and delete run on
  // any worker (SID_FILE is not keyed), so a later request on the connection proves nothing: wait
  // for the line that says this one was handled.
  bool handled(const std::string& logLine) {
    const bool seen = proxy_->daemon().waitForLog(logLine);
    EXPECT_TRUE(seen) << "db_proxy never logged: " << logLine << "\n" << proxy_->daemon().logTail();
    return seen;
  }

  DbProxyFixture* proxy_ = nullptr;
  MysqlPtr db_;
  PduClient client_;
};

TEST_F(FileTest, OfflineFilesAreListedOldestFirstAndDeletedOnlyByTheirUsers) {
  const uint32_t receiver = 3500, sender1 = 3501, sender2 = 3502, stranger = 3503;
  const std::string taskA = "5f0c2a1e-0000-4000-8000-00000000350a";
  const std::string taskB = "5f0c2a1e-0000-4000-8000-00000000350b";
  const std::string taskOther = "5f0c2a1e-0000-4000-8000-00000000350c";
  const std::string nameA = "report \"Q1\" it's \\ 😀.pdf";

  add(sender1, receiver, taskA, nameA, 123456);
  ASSERT_TRUE(waitFor([&] { return rowCount(taskA) == "1"; })) << proxy_->daemon().logTail();
  add(sender2, receiver, taskB, "b.bin", 99);
  add(sender1, stranger, taskOther, "not-yours.txt", 5);
  ASSERT_TRUE(waitFor([&] { return rowCount(taskB) == "1" && rowCount(taskOther) == "1"; }));
  // Stored byte-exact, pending.
  EXPECT_EQ(value("SELECT fileName FROM IMTransmitFile WHERE taskId = '" + taskA + "'"), nameA);
  EXPECT_EQ(value("SELECT CONCAT(fromId, ',', toId, ',', size, ',', status) FROM IMTransmitFile WHERE taskId = '" +
                  taskA + "'"),
            "3501,3500,123456,0");
  // A finished (status 1) row is not offered.
  exec("INSERT INTO IMTransmitFile (fromId, toId, fileName, size, taskId, status, created, updated) VALUES "
       "(3501, 3500, 'done.txt', 1, 'done-task-3500', 1, 1, 1)");

  auto rsp = has(receiver, 808, std::string("att\0ach", 7));
  EXPECT_EQ(rsp.user_id(), receiver);
  EXPECT_EQ(rsp.attach_data(), std::string("att\0ach", 7));
  EXPECT_EQ(rsp.ip_addr_list_size(), 0);  // msg_server adds the file_server addresses
  ASSERT_EQ(rsp.offline_file_list_size(), 2);
  EXPECT_EQ(rsp.offline_file_list(0).from_user_id(), sender1);
  EXPECT_EQ(rsp.offline_file_list(0).task_id(), taskA);
  EXPECT_EQ(rsp.offline_file_list(0).file_name(), nameA);
  EXPECT_EQ(rsp.offline_file_list(0).file_size(), 123456u);
  EXPECT_EQ(rsp.offline_file_list(1).from_user_id(), sender2);
  EXPECT_EQ(rsp.offline_file_list(1).task_id(), taskB);
  EXPECT_EQ(rsp.offline_file_list(1).file_name(), "b.bin");
  EXPECT_EQ(rsp.offline_file_list(1).file_size(), 99u);

  // A repeated task id keeps the first registration.
  add(sender2, receiver, taskA, "hijack.exe", 1);
  // Delete with ids that do not match the row: refused.
  del(stranger, receiver, taskA);
  del(sender1, stranger, taskA);
  del(receiver, sender1, taskA);  // swapped
  const std::string refused = "offline file " + taskA + " from ";
  ASSERT_TRUE(handled(refused + "3502 to 3500 already registered; ignored"));
  ASSERT_TRUE(handled(refused + "3503 to 3500 not deleted"));
  ASSERT_TRUE(handled(refused + "3501 to 3503 not deleted"));
  ASSERT_TRUE(handled(refused + "3500 to 3501 not deleted"));
  EXPECT_EQ(rowCount(taskA), "1");
  EXPECT_EQ(value("SELECT CONCAT(fromId, ',', fileName) FROM IMTransmitFile WHERE taskId = '" + taskA + "'"),
            "3501," + nameA);

  del(sender1, receiver, taskA);
  ASSERT_TRUE(waitFor([&] { return rowCount(taskA) == "0"; }));
  auto one = has(receiver, 809);
  ASSERT_EQ(one.offline_file_list_size(), 1);
  EXPECT_EQ(one.offline_file_list(0).task_id(), taskB);
  EXPECT_FALSE(one.has_attach_data());

  del(sender2, receiver, taskB);
  ASSERT_TRUE(waitFor([&] { return rowCount(taskB) == "0"; }));
  EXPECT_EQ(has(receiver, 810).offline_file_list_size(), 0);
  // The other receiver's file is untouched.
  EXPECT_EQ(rowCount(taskOther), "1");
  auto other = has(stranger, 811);
  ASSERT_EQ(other.offline_file_list_size(), 1);
  EXPECT_EQ(other.offline_file_list(0).task_id(), taskOther);
}

TEST_F(FileTest, InvalidOfflineFilesAreNotRegistered) {
  add(3510, 3511, "", "empty-task.txt", 1);
  add(3510, 3511, std::string(65, 't'), "long-task.txt", 1);
  add(0, 3511, "task-from-zero-3511", "zero.txt", 1);
  add(3510, 3511, "task-valid-3511", "valid.txt", 7);
  ASSERT_TRUE(waitFor([&] { return rowCount("task-valid-3511") == "1"; }));
  ASSERT_TRUE(handled("offline file from 3510 to 3511 ignored: task id of 0 bytes"));
  ASSERT_TRUE(handled("offline file from 3510 to 3511 ignored: task id of 65 bytes"));
  ASSERT_TRUE(handled("offline file from 0 to 3511 ignored: task id of 19 bytes"));
  EXPECT_EQ(value("SELECT COUNT(*) FROM IMTransmitFile WHERE toId = 3511"), "1");
  auto rsp = has(3511, 3);
  ASSERT_EQ(rsp.offline_file_list_size(), 1);
  EXPECT_EQ(rsp.offline_file_list(0).file_name(), "valid.txt");
  EXPECT_EQ(rsp.offline_file_list(0).file_size(), 7u);
  // Nobody's files: an empty, well-formed answer.
  auto none = has(3599, 4);
  EXPECT_EQ(none.user_id(), 3599u);
  EXPECT_EQ(none.offline_file_list_size(), 0);
}

}  // namespace
}  // namespace tt::test

// netlink::read_answers on hand-made answers: the flags and message types the kernel sends,
// byte for byte as they arrive, split over reads the way a long dump is.
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "netlink/answers.h"

namespace portway::netlink {
namespace {

constexpr std::uint32_t kSeq = 41, kPort = 7;

// One received buffer, built message by message.
class Reply {
 public:
  Reply& message(std::uint16_t type, std::uint16_t flags = NLM_F_MULTI, std::uint32_t seq = kSeq,
                 std::uint32_t port = kPort) {
    put(type, flags, seq, port, sizeof(ifinfomsg));
    return *this;
  }
  Reply& error(int code, bool truncated = false) {
    nlmsghdr* nlh = put(NLMSG_ERROR, 0, kSeq, kPort, sizeof(nlmsgerr));
    static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(nlh))->error = code;
    if (truncated) {
      const std::size_t at = bytes_.size() - nlh->nlmsg_len;
      nlh->nlmsg_len = static_cast<std::uint32_t>(MNL_ALIGN(sizeof(nlmsghdr)) + sizeof(int));
      bytes_.resize(at + MNL_ALIGN(nlh->nlmsg_len));
    }
    return *this;
  }
  Reply& done() { return message(NLMSG_DONE); }

  // Reads this buffer into `a`; how many messages reached the callback.
  int read(Answers& a) const {
    int seen = 0;
    read_answers(bytes_.data(), bytes_.size(), kSeq, kPort, a, [&](const nlmsghdr* m) {
      EXPECT_EQ(m->nlmsg_type, RTM_NEWLINK);
      ++seen;
    });
    return seen;
  }

 private:
  // Appends a message with a zeroed payload of `payload` bytes.
  nlmsghdr* put(std::uint16_t type, std::uint16_t flags, std::uint32_t seq, std::uint32_t port, std::size_t payload) {
    const std::size_t at = bytes_.size();
    bytes_.resize(at + MNL_ALIGN(sizeof(nlmsghdr)) + MNL_ALIGN(payload));
    nlmsghdr* nlh = mnl_nlmsg_put_header(bytes_.data() + at);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    nlh->nlmsg_seq = seq;
    nlh->nlmsg_pid = port;
    mnl_nlmsg_put_extra_header(nlh, payload);
    return nlh;
  }

  std::vector<char> bytes_;
};

TEST(NetlinkAnswers, AnInterruptedDumpIsReadToItsEndAndMarked) {
  Answers a;
  EXPECT_EQ(Reply().message(RTM_NEWLINK).message(RTM_NEWLINK, NLM_F_MULTI | NLM_F_DUMP_INTR).message(RTM_NEWLINK).done().read(a), 3);
  EXPECT_TRUE(a.done);
  EXPECT_TRUE(a.interrupted);
  EXPECT_EQ(a.error, 0);
}

TEST(NetlinkAnswers, AFlagOnTheClosingMessageCountsToo) {
  Answers a;
  EXPECT_EQ(Reply().message(RTM_NEWLINK).message(NLMSG_DONE, NLM_F_MULTI | NLM_F_DUMP_INTR).read(a), 1);
  EXPECT_TRUE(a.done);
  EXPECT_TRUE(a.interrupted);
}

TEST(NetlinkAnswers, ADumpSplitOverReadsEndsWithItsDoneMessage) {
  Answers a;
  EXPECT_EQ(Reply().message(RTM_NEWLINK).message(RTM_NEWLINK).read(a), 2);
  EXPECT_FALSE(a.done);
  EXPECT_EQ(Reply().message(RTM_NEWLINK).done().read(a), 1);
  EXPECT_TRUE(a.done);
  EXPECT_FALSE(a.interrupted);
}

TEST(NetlinkAnswers, AnErrorEndsTheAnswerWithItsCode) {
  Answers a;
  EXPECT_EQ(Reply().message(RTM_NEWLINK).error(-ENOENT).message(RTM_NEWLINK).read(a), 1);
  EXPECT_TRUE(a.done);
  EXPECT_EQ(a.error, ENOENT);
}

TEST(NetlinkAnswers, AnAckIsAnErrorMessageWithCodeZero) {
  Answers a;
  EXPECT_EQ(Reply().error(0).read(a), 0);
  EXPECT_TRUE(a.done);
  EXPECT_EQ(a.error, 0);
}

TEST(NetlinkAnswers, ATruncatedErrorMessageIsABadMessage) {
  Answers a;
  Reply().error(-ENOENT, true).read(a);
  EXPECT_TRUE(a.done);
  EXPECT_EQ(a.error, EBADMSG);
}

TEST(NetlinkAnswers, MessagesOfAnotherExchangeAreSkipped) {
  Answers a;
  // The tail of an earlier dump (sequence 40) that was given up, then a message for another
  // socket, then this answer.
  const int seen = Reply()
                       .message(RTM_NEWLINK, NLM_F_MULTI | NLM_F_DUMP_INTR, kSeq - 1)
                       .message(NLMSG_DONE, NLM_F_MULTI, kSeq - 1)
                       .message(RTM_NEWLINK, NLM_F_MULTI, kSeq, kPort + 1)
                       .message(RTM_NEWLINK)
                       .done()
                       .read(a);
  EXPECT_EQ(seen, 1);
  EXPECT_TRUE(a.done);
  EXPECT_FALSE(a.interrupted);
}

TEST(NetlinkAnswers, NoopsAndOverrunsAreNotAnswers) {
  Answers a;
  EXPECT_EQ(Reply().message(NLMSG_NOOP).message(NLMSG_OVERRUN).message(RTM_NEWLINK).done().read(a), 1);
  EXPECT_TRUE(a.done);
}

}  // namespace
}  // namespace portway::netlink

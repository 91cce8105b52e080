// The Service lifecycle through the real store: the equivalents of Miren's launcher tests
// (create, update in place, delete), plus what Miren lacked: address preservation, idempotent
// passes, and skipping cleanup when an ensure failed.
#include <gtest/gtest.h>

#include "model/app_codec.h"
#include "model/errors.h"
#include "model/reconcile.h"
#include "model/wanted.h"
#include "model_support/app_text.h"
#include "model_support/faulty_store.h"
#include "model_support/fixtures.h"

namespace portway::model {
namespace {

using testing::app_text;
using testing::parse_app;
using testing::pools;

const std::string kTwoServices =
    app_text("chat", {{"irc", 6667, "irc", "tcp"}, {"voice", 9987, "voice", "udp", 9987}});

const std::string kIrcPortsChanged = app_text("chat", {{"irc", 6667, "irc", "tcp"},
                                                       {"irc", 6697, "irc-tls", "tcp", 6697},
                                                       {"voice", 9987, "voice", "udp", 9987}});

// irc on another port, voice gone: the pass of the two cleanup tests below.
const std::string kIrcMovedVoiceDropped = app_text("chat", {{"irc", 6668, "irc", "tcp"}});

class ReconcileTest : public testing::StoreTest {
 protected:
  ReconcileReport reconcile(store::Store& s, const std::string& toml, const AddressPools& p) {
    auto tx = s.begin_write();
    auto r = reconcile_app(*tx, parse_app(toml), p);
    tx->commit();
    return r;
  }
};

TEST_F(ReconcileTest, CreatesAServiceForNonHttpPorts) {
  const auto r = apply(kTwoServices);
  EXPECT_EQ(r.report.outcomes, (std::vector<ServiceOutcome>{{"svc/chat/irc", ServiceChange::created},
                                                             {"svc/chat/voice", ServiceChange::created}}));
  const auto irc = service("svc/chat/irc");
  ASSERT_TRUE(irc);
  EXPECT_EQ(irc->revision, 1u);
  EXPECT_TRUE(testing::v4("198.18.0.0/15").contains(*irc->ipv4));
  ASSERT_TRUE(irc->ipv6);
  EXPECT_TRUE(testing::v6("2001:2::/48").contains(*irc->ipv6));
  EXPECT_EQ(irc->ports.size(), 1u);
  EXPECT_EQ(irc->labels.at("managed-by"), "portway");
}

TEST_F(ReconcileTest, PortChangeUpdatesInPlaceKeepingIdAndAddresses) {
  apply(kTwoServices);
  const auto before = *service("svc/chat/irc");
  const auto voice_before = *service("svc/chat/voice");
  const auto r = apply(kIrcPortsChanged);
  EXPECT_EQ(r.report.outcomes, (std::vector<ServiceOutcome>{{"svc/chat/irc", ServiceChange::updated},
                                                             {"svc/chat/voice", ServiceChange::unchanged}}));
  const auto after = *service("svc/chat/irc");
  EXPECT_EQ(after.ipv4, before.ipv4);
  EXPECT_EQ(after.ipv6, before.ipv6);
  EXPECT_EQ(after.revision, 2u);
  ASSERT_EQ(after.ports.size(), 2u);
  EXPECT_EQ(after.ports[1].node_port, 6697);
  EXPECT_EQ(*service("svc/chat/voice"), voice_before) << "untouched";
  // ...and back again: still the same addresses, revision 3.
  apply(kTwoServices);
  EXPECT_EQ(service("svc/chat/irc")->ipv4, before.ipv4);
  EXPECT_EQ(service("svc/chat/irc")->revision, 3u);
}

TEST_F(ReconcileTest, ReapplyingTheSameAppWritesNothing) {
  apply(kTwoServices);
  const auto g = generation();
  const auto before = services();
  const auto r = apply(kTwoServices);
  EXPECT_FALSE(r.app_changed);
  EXPECT_EQ(r.app_version, 1u);
  EXPECT_FALSE(r.report.changed());
  EXPECT_EQ(generation(), g) << "no write transaction committed a change";
  EXPECT_EQ(services(), before);
}

TEST_F(ReconcileTest, ChangedTextOnlyBumpsTheAppVersion) {
  apply(kTwoServices);
  const auto before = services();
  const auto r = apply(std::string(kTwoServices) + "# a comment\n");
  EXPECT_TRUE(r.app_changed);
  EXPECT_EQ(r.app_version, 2u);
  EXPECT_FALSE(r.report.changed());
  EXPECT_EQ(services(), before);
}

TEST_F(ReconcileTest, DeletesAServiceRemovedFromTheAppAndReleasesItsAddress) {
  apply(kTwoServices);
  const auto voice = *service("svc/chat/voice");
  const auto r = apply(app_text("chat", {{"irc", 6667, "irc", "tcp"}}));
  EXPECT_EQ(r.report.outcomes, (std::vector<ServiceOutcome>{{"svc/chat/irc", ServiceChange::unchanged},
                                                             {"svc/chat/voice", ServiceChange::deleted}}));
  EXPECT_FALSE(service("svc/chat/voice"));
  auto tx = store_->begin_read();
  EXPECT_TRUE(tx->allocated_ipv4(*voice.ipv4, *voice.ipv4, 1).empty()) << "IPv4 released";
  EXPECT_TRUE(tx->allocated_ipv6(*voice.ipv6, *voice.ipv6, 1).empty()) << "IPv6 released";
  EXPECT_TRUE(tx->claims().empty()) << "its node port released";
}

TEST_F(ReconcileTest, DeletesAServiceThatBecameHttpOnlyOrLostItsPorts) {
  struct Case {
    const char* what;
    std::string irc_section;
  } cases[] = {
      {"became http-only", testing::ports_text({{"irc", 6667, "irc", "http"}})},
      {"lost all ports", "[services.irc]\ncommand = \"./ircd\"\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    apply(kTwoServices);
    ASSERT_TRUE(service("svc/chat/irc"));
    const std::string next = "name = \"chat\"\n" + c.irc_section +
                             testing::ports_text({{"voice", 9987, "voice", "udp", 9987}});
    apply(next);
    EXPECT_FALSE(service("svc/chat/irc"));
    EXPECT_TRUE(service("svc/chat/voice"));
  }
}

TEST_F(ReconcileTest, SkipsCleanupWhenAnEnsureFailed) {
  apply(kTwoServices);
  const auto voice = *service("svc/chat/voice");
  testing::FaultyStore faulty(*store_);
  faulty.fail_put_service = {"svc/chat/irc"};
  // irc changes (its ensure fails), voice is removed (cleanup would delete it).
  const auto r = reconcile(faulty, kIrcMovedVoiceDropped, pools_);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0].id, "svc/chat/irc");
  EXPECT_EQ(r.failures[0].message, "injected failure for svc/chat/irc");
  EXPECT_TRUE(r.cleanup_skipped);
  EXPECT_EQ(faulty.delete_service_calls, 0);
  EXPECT_EQ(service("svc/chat/voice"), voice) << "a transient failure must never delete a live Service";
}

TEST_F(ReconcileTest, CleansUpWhenNothingFailed) {
  // The control for the test above: the same pass without the injected failure deletes voice.
  apply(kTwoServices);
  testing::FaultyStore faulty(*store_);
  const auto r = reconcile(faulty, kIrcMovedVoiceDropped, pools_);
  EXPECT_TRUE(r.failures.empty());
  EXPECT_FALSE(r.cleanup_skipped);
  EXPECT_EQ(faulty.delete_service_calls, 1);
  EXPECT_FALSE(service("svc/chat/voice"));
}

TEST_F(ReconcileTest, OtherServicesAreStillEnsuredWhenOneFails) {
  testing::FaultyStore faulty(*store_);
  faulty.fail_put_service = {"svc/chat/irc"};
  {
    auto tx = faulty.begin_write();
    tx->put_app({"chat", "", "{}", 1, 0});
    const auto r = reconcile_app(*tx, parse_app(kTwoServices), pools_);
    EXPECT_EQ(r.outcomes, (std::vector<ServiceOutcome>{{"svc/chat/voice", ServiceChange::created}}));
    tx->commit();
  }
  EXPECT_FALSE(service("svc/chat/irc"));
  EXPECT_TRUE(service("svc/chat/voice"));
}

TEST_F(ReconcileTest, ApplyWithAFailedEnsureChangesNothing) {
  apply(kTwoServices);
  const auto before = services();
  const auto g = generation();
  testing::FaultyStore faulty(*store_);
  faulty.fail_put_service = {"svc/chat/irc"};
  {
    auto tx = faulty.begin_write();
    try {
      apply_app(*tx, kIrcPortsChanged, parse_app(kIrcPortsChanged), pools_, 5);
      FAIL() << "apply succeeded despite a failed ensure";
    } catch (const Rejected& e) {
      EXPECT_EQ(e.reasons(), std::vector<std::string>{"Service svc/chat/irc: injected failure for svc/chat/irc"});
    }
  }
  EXPECT_EQ(services(), before);
  EXPECT_EQ(generation(), g);
  EXPECT_EQ(store_->begin_read()->find_app("chat")->source, kTwoServices) << "app record rolled back too";
}

TEST_F(ReconcileTest, IdenticalStoresAllocateIdenticalAddresses) {
  apply(kTwoServices);
  testing::TempDir other_dir;
  auto other = store::SqliteStore::open(other_dir.file("state.db"));
  {
    auto tx = other->begin_write();
    apply_app(*tx, kTwoServices, parse_app(kTwoServices), pools_, 1000);
    tx->commit();
  }
  EXPECT_EQ(other->begin_read()->services(), services());
}

class ReconcileAllTest : public ReconcileTest {};

TEST_F(ReconcileAllTest, RecreatesAServiceDeletedBehindItsBackAtTheSameAddress) {
  apply(kTwoServices);
  const auto irc = *service("svc/chat/irc");
  {
    auto tx = store_->begin_write();
    tx->delete_service("svc/chat/irc");
    tx->commit();
  }
  auto tx = store_->begin_write();
  const auto r = reconcile_all(*tx, pools_);
  tx->commit();
  EXPECT_EQ(r.outcomes, (std::vector<ServiceOutcome>{{"svc/chat/irc", ServiceChange::created},
                                                     {"svc/chat/voice", ServiceChange::unchanged}}));
  EXPECT_EQ(service("svc/chat/irc"), irc) << "preferred address, revision 1 again";
}

TEST_F(ReconcileAllTest, FollowsThePoolsOfTheNodeSettings) {
  apply(kTwoServices, pools("198.18.0.0/24"));  // no IPv6 prefix yet
  const auto v1 = *service("svc/chat/irc");
  EXPECT_FALSE(v1.ipv6);

  const auto pass = [&](const AddressPools& p) {
    auto tx = store_->begin_write();
    auto r = reconcile_all(*tx, p);
    tx->commit();
    return r;
  };
  // An IPv6 prefix appears: addresses added, IPv4 kept.
  pass(pools("198.18.0.0/24", "2001:2::/64"));
  const auto v2 = *service("svc/chat/irc");
  EXPECT_EQ(v2.ipv4, v1.ipv4);
  ASSERT_TRUE(v2.ipv6);
  EXPECT_EQ(v2.revision, 2u);
  // Idempotent: a second pass writes nothing.
  const auto g = generation();
  EXPECT_FALSE(pass(pools("198.18.0.0/24", "2001:2::/64")).changed());
  EXPECT_EQ(generation(), g);
  // The IPv4 pool moves: the address moves into it; the prefix goes: IPv6 dropped.
  pass(pools("198.19.0.0/24"));
  const auto v3 = *service("svc/chat/irc");
  EXPECT_TRUE(testing::v4("198.19.0.0/24").contains(*v3.ipv4));
  EXPECT_FALSE(v3.ipv6);
}

// docs/model.md "Address families": ip_families chooses a Service's families; an IPv6-only
// Service has no IPv4 address (so no IPv4 frontend), and changing the choice moves nothing else.
TEST_F(ReconcileTest, IpFamiliesChooseTheServicesAddresses) {
  const std::string only6 = "name = \"chat\"\n[services.irc]\nip_families = [\"ipv6\"]\n"
                            "[[services.irc.ports]]\nport = 6667\nname = \"irc\"\ntype = \"tcp\"\n";
  const config::App parsed = parse_app(only6);
  EXPECT_EQ(decode_app(encode_app(parsed)), parsed) << "an app is stored with its ip_families";
  apply(only6);
  const auto v6 = *service("svc/chat/irc");
  EXPECT_FALSE(v6.ipv4) << "IPv6-only: no IPv4 address";
  ASSERT_TRUE(v6.ipv6);
  {
    auto tx = store_->begin_read();
    EXPECT_TRUE(tx->allocated_ipv4(testing::ip4("0.0.0.0"), testing::ip4("255.255.255.255"), 10).empty());
  }
  const std::string only4 = "name = \"chat\"\n[services.irc]\nip_families = [\"ipv4\"]\n"
                            "[[services.irc.ports]]\nport = 6667\nname = \"irc\"\ntype = \"tcp\"\n";
  apply(only4);
  const auto v4 = *service("svc/chat/irc");
  EXPECT_TRUE(v4.ipv4);
  EXPECT_FALSE(v4.ipv6) << "IPv4-only although the node has service_cidr6";
  // Both again (omitted = every family the node has): IPv4 kept.
  apply(app_text("chat", {{"irc", 6667, "irc", "tcp"}}));
  const auto both = *service("svc/chat/irc");
  EXPECT_EQ(both.ipv4, v4.ipv4);
  EXPECT_TRUE(both.ipv6);
  // IPv6 asked for on a node without service_cidr6: refused, nothing changed.
  EXPECT_THROW(apply(only6, pools("198.18.0.0/15")), Rejected);
  EXPECT_EQ(service("svc/chat/irc"), both);
}

TEST_F(ReconcileAllTest, OneFailureAnywhereSkipsCleanupEverywhere) {
  apply(kTwoServices);
  apply(app_text("dns", {{"resolver", 53, "dns", "udp"}}));
  // A Service dns no longer wants (as if its app changed while cleanup was being skipped).
  {
    auto tx = store_->begin_write();
    auto stale = *tx->find_service("svc/dns/resolver");
    stale.id = "svc/dns/old";
    stale.service = "old";
    stale.ipv4 = testing::ip4("198.19.255.1");
    stale.ipv6.reset();
    tx->put_service(stale);
    tx->commit();
  }
  testing::FaultyStore faulty(*store_);
  faulty.fail_put_service = {"svc/chat/irc"};
  {
    auto tx = store_->begin_write();  // make irc need an update, so its ensure runs put_service
    auto irc = *tx->find_service("svc/chat/irc");
    irc.ports[0].port = 1;
    irc.ports[0].target_port = 1;
    tx->put_service(irc);
    tx->commit();
  }
  auto tx = faulty.begin_write();
  const auto r = reconcile_all(*tx, pools_);
  tx->commit();
  EXPECT_EQ(r.failures.size(), 1u);
  EXPECT_TRUE(r.cleanup_skipped);
  EXPECT_TRUE(service("svc/dns/old")) << "another app's failure still blocks this cleanup";

  auto tx2 = store_->begin_write();
  const auto r2 = reconcile_all(*tx2, pools_);
  tx2->commit();
  EXPECT_TRUE(r2.failures.empty());
  EXPECT_FALSE(service("svc/dns/old"));
  EXPECT_EQ(service("svc/chat/irc")->ports[0].port, 6667) << "repaired";
}

}  // namespace
}  // namespace portway::model

// RouteTable: the user -> msg_server map and the presence events each change implies.
#include <gtest/gtest.h>

#include <vector>

#include "route_server/RouteTable.h"

using tt::route::ClientEntry;
using tt::route::kStatusOffline;
using tt::route::kStatusOnline;
using tt::route::LinkId;
using tt::route::PresenceEvent;
using tt::route::RouteTable;
using Kind = tt::route::PresenceEvent::Kind;
using Events = std::vector<PresenceEvent>;

namespace {
constexpr uint32_t kWindows = 0x01;
constexpr uint32_t kMac = 0x02;
constexpr uint32_t kIos = 0x11;
constexpr uint32_t kAndroid = 0x12;
constexpr uint32_t kLeave = 3;

constexpr LinkId kA = 1;
constexpr LinkId kB = 2;
constexpr LinkId kC = 3;

Events login(RouteTable& t, LinkId link, uint32_t user, uint32_t type) {
  auto r = t.update(link, user, kStatusOnline, type);
  EXPECT_TRUE(r.applied);
  return r.events;
}
Events logout(RouteTable& t, LinkId link, uint32_t user, uint32_t type) {
  auto r = t.update(link, user, kStatusOffline, type);
  EXPECT_TRUE(r.applied);
  return r.events;
}
PresenceEvent ev(uint32_t user, Kind k) { return {user, k}; }
}  // namespace

TEST(RouteTable, EmptyTableKnowsNobody) {
  RouteTable t;
  EXPECT_FALSE(t.online(7));
  EXPECT_FALSE(t.pcOnline(7));
  EXPECT_TRUE(t.linksOf(7).empty());
  EXPECT_TRUE(t.linksWithUsers().empty());
  EXPECT_EQ(t.userCount(), 0u);
}

TEST(RouteTable, PcLoginIsOnlineAndNotifies) {
  RouteTable t;
  EXPECT_EQ(login(t, kA, 7, kWindows), (Events{ev(7, Kind::kStatOnline), ev(7, Kind::kPcLoginOn)}));
  EXPECT_TRUE(t.pcOnline(7));
  EXPECT_EQ(t.linksOf(7), std::vector<LinkId>{kA});
  EXPECT_EQ(t.usersOn(kA), std::vector<uint32_t>{7});
}

TEST(RouteTable, MobileOnlyIsNotPcOnlineAndSendsNothing) {
  RouteTable t;
  EXPECT_TRUE(login(t, kA, 7, kAndroid).empty());
  EXPECT_TRUE(t.online(7));
  EXPECT_FALSE(t.pcOnline(7));
  EXPECT_EQ(t.linksOf(7), std::vector<LinkId>{kA});
  EXPECT_TRUE(logout(t, kA, 7, kAndroid).empty());
  EXPECT_FALSE(t.online(7));
  EXPECT_EQ(t.userCount(), 0u);
  EXPECT_EQ(t.linkCount(), 0u);
}

TEST(RouteTable, MobileArrivingWhilePcOnlineGetsPcLoginOn) {
  // The msg_server holding the new mobile client must learn that a PC is on (silent push, file mode).
  RouteTable t;
  login(t, kA, 7, kMac);
  EXPECT_EQ(login(t, kB, 7, kIos), (Events{ev(7, Kind::kPcLoginOn)}));
}

TEST(RouteTable, SecondPcClientRepeatsOnlineLikeTheOriginal) {
  RouteTable t;
  login(t, kA, 7, kWindows);
  EXPECT_EQ(login(t, kB, 7, kMac), (Events{ev(7, Kind::kStatOnline), ev(7, Kind::kPcLoginOn)}));
  EXPECT_EQ(t.pcClientCount(7), 2u);
  // One PC leaves, one remains: no OFFLINE.
  EXPECT_TRUE(logout(t, kA, 7, kWindows).empty());
  EXPECT_TRUE(t.pcOnline(7));
  EXPECT_EQ(t.linksOf(7), std::vector<LinkId>{kB});
}

TEST(RouteTable, LastPcLeavingNotifiesOfflineAndPcLoginOffWhenMobileRemains) {
  RouteTable t;
  login(t, kA, 7, kWindows);
  login(t, kB, 7, kAndroid);
  EXPECT_EQ(logout(t, kA, 7, kWindows), (Events{ev(7, Kind::kStatOffline), ev(7, Kind::kPcLoginOff)}));
  EXPECT_FALSE(t.pcOnline(7));
  EXPECT_TRUE(t.online(7));
}

TEST(RouteTable, LastClientLeavingNotifiesOfflineOnly) {
  RouteTable t;
  login(t, kA, 7, kWindows);
  EXPECT_EQ(logout(t, kA, 7, kWindows), (Events{ev(7, Kind::kStatOffline)}));
  EXPECT_FALSE(t.online(7));
  EXPECT_TRUE(t.linksOf(7).empty());
  EXPECT_TRUE(t.usersOn(kA).empty());
}

TEST(RouteTable, ClientTypesAreAMultiset) {
  RouteTable t;
  login(t, kA, 7, kWindows);
  login(t, kA, 7, kWindows);
  EXPECT_EQ(t.clientTypes(7, kA), (std::vector<uint32_t>{kWindows, kWindows}));
  EXPECT_TRUE(logout(t, kA, 7, kWindows).empty());  // one of two removed
  EXPECT_EQ(t.clientTypes(7, kA), (std::vector<uint32_t>{kWindows}));
  EXPECT_EQ(logout(t, kA, 7, kWindows), (Events{ev(7, Kind::kStatOffline)}));
}

TEST(RouteTable, OfflineForUnknownClientChangesNothing) {
  RouteTable t;
  EXPECT_FALSE(t.update(kA, 7, kStatusOffline, kWindows).applied);
  login(t, kA, 7, kAndroid);
  EXPECT_FALSE(t.update(kA, 7, kStatusOffline, kWindows).applied);  // wrong type
  EXPECT_FALSE(t.update(kB, 7, kStatusOffline, kAndroid).applied);  // wrong link
  EXPECT_EQ(t.clientCount(7), 1u);
}

TEST(RouteTable, AnyStatusButOfflineCountsAsAClient) {
  RouteTable t;
  EXPECT_EQ(t.update(kA, 7, kLeave, kWindows).events, (Events{ev(7, Kind::kStatOnline), ev(7, Kind::kPcLoginOn)}));
  EXPECT_TRUE(t.pcOnline(7));
}

TEST(RouteTable, LinkRemovalDropsAllItsClientsAndReportsPresence) {
  RouteTable t;
  login(t, kA, 1, kWindows);  // only on A: goes offline
  login(t, kA, 2, kWindows);  // PC on A, mobile on B: OFFLINE + pc-login 0
  login(t, kB, 2, kAndroid);
  login(t, kA, 3, kWindows);  // PC on A and B: stays online, nothing sent
  login(t, kB, 3, kMac);
  login(t, kA, 4, kIos);      // mobile only: disappears quietly
  login(t, kA, 4, kIos);
  EXPECT_EQ(t.removeLink(kA), (Events{ev(1, Kind::kStatOffline), ev(2, Kind::kStatOffline),
                                      ev(2, Kind::kPcLoginOff)}));
  EXPECT_FALSE(t.online(1));
  EXPECT_FALSE(t.pcOnline(2));
  EXPECT_TRUE(t.online(2));
  EXPECT_TRUE(t.pcOnline(3));
  EXPECT_EQ(t.pcClientCount(3), 1u);  // no stale counters left behind (the original's bug)
  EXPECT_FALSE(t.online(4));
  EXPECT_TRUE(t.usersOn(kA).empty());
  EXPECT_EQ(t.linksWithUsers(), std::vector<LinkId>{kB});
  EXPECT_TRUE(t.removeLink(kA).empty());  // twice is harmless
}

TEST(RouteTable, ReplaceLinkBuildsFromScratch) {
  RouteTable t;
  Events e = t.replaceLink(kA, {{1, kWindows, kStatusOnline}, {2, kAndroid, kStatusOnline},
                                {3, kMac, kStatusOnline}, {3, kIos, kStatusOnline},
                                {4, kWindows, kStatusOffline}});  // OFFLINE entries are not clients
  EXPECT_EQ(e, (Events{ev(1, Kind::kStatOnline), ev(1, Kind::kPcLoginOn), ev(3, Kind::kStatOnline),
                       ev(3, Kind::kPcLoginOn)}));
  EXPECT_EQ(t.usersOn(kA), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(t.clientTypes(3, kA), (std::vector<uint32_t>{kMac, kIos}));
  EXPECT_FALSE(t.online(4));
}

TEST(RouteTable, ReplaceLinkReplacesOnlyThatLink) {
  RouteTable t;
  login(t, kA, 1, kWindows);
  login(t, kA, 2, kWindows);
  login(t, kB, 2, kAndroid);
  login(t, kA, 5, kAndroid);
  login(t, kB, 9, kWindows);
  // A now reports: user 1 unchanged, user 2 gone from A, user 5 switched to a PC, user 6 new.
  Events e = t.replaceLink(kA, {{1, kWindows, kStatusOnline}, {5, kMac, kStatusOnline}, {6, kIos, kStatusOnline}});
  EXPECT_EQ(e, (Events{ev(2, Kind::kStatOffline), ev(2, Kind::kPcLoginOff), ev(5, Kind::kStatOnline),
                       ev(5, Kind::kPcLoginOn)}));
  EXPECT_EQ(t.usersOn(kA), (std::vector<uint32_t>{1, 5, 6}));
  EXPECT_EQ(t.linksOf(2), std::vector<LinkId>{kB});
  EXPECT_EQ(t.clientTypes(5, kA), std::vector<uint32_t>{kMac});
  EXPECT_EQ(t.usersOn(kB), (std::vector<uint32_t>{2, 9}));
  // The same report again changes nothing.
  EXPECT_TRUE(t.replaceLink(kA, {{1, kWindows, kStatusOnline}, {5, kMac, kStatusOnline}, {6, kIos, kStatusOnline}})
                  .empty());
  // An empty report empties the link.
  EXPECT_EQ(t.replaceLink(kA, {}), (Events{ev(1, Kind::kStatOffline), ev(5, Kind::kStatOffline)}));
  EXPECT_TRUE(t.usersOn(kA).empty());
  EXPECT_EQ(t.linksWithUsers(), std::vector<LinkId>{kB});
}

TEST(RouteTable, ReplaceLinkForUserAlreadyPcOnlineElsewhere) {
  RouteTable t;
  login(t, kB, 7, kWindows);
  // A reconnecting msg_server re-reports a mobile client of 7: its msg_server must hear "PC is on".
  EXPECT_EQ(t.replaceLink(kA, {{7, kAndroid, kStatusOnline}}), (Events{ev(7, Kind::kPcLoginOn)}));
}

TEST(RouteTable, RoutingQueries) {
  RouteTable t;
  login(t, kA, 1, kWindows);
  login(t, kB, 2, kAndroid);
  login(t, kB, 1, kIos);
  login(t, kC, 3, kMac);
  EXPECT_EQ(t.linksOf(1), (std::vector<LinkId>{kA, kB}));
  EXPECT_EQ(t.linksHoldingAny({1, 2}), (std::vector<LinkId>{kA, kB}));
  EXPECT_EQ(t.linksHoldingAny({1, 2}, kA), std::vector<LinkId>{kB});
  EXPECT_EQ(t.linksHoldingAny({2, 3, 2, 99}), (std::vector<LinkId>{kB, kC}));
  EXPECT_TRUE(t.linksHoldingAny({99}).empty());
  EXPECT_EQ(t.linksWithUsers(), (std::vector<LinkId>{kA, kB, kC}));
  EXPECT_EQ(t.linksWithUsers(kB), (std::vector<LinkId>{kA, kC}));
}

TEST(RouteTable, ManyUsersManyLinksStayConsistent) {
  RouteTable t;
  for (uint32_t u = 1; u <= 1000; ++u) {
    login(t, 1 + u % 3, u, u % 2 ? kWindows : kAndroid);
    login(t, 1 + (u + 1) % 3, u, kIos);
  }
  EXPECT_EQ(t.userCount(), 1000u);
  for (LinkId l = 1; l <= 3; ++l) t.removeLink(l);
  EXPECT_EQ(t.userCount(), 0u);
  EXPECT_EQ(t.linkCount(), 0u);
}

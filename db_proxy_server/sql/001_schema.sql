-- ttsuite schema, version 001. Applied once by scripts/lib/storage.sh (recorded in
-- schema_migrations); later changes go into 002_*.sql, ... never into this file.
--
-- Tables and columns keep the meaning of TeamTalk's auto_setup/mariadb/conf/ttopen.sql
-- (docs/PROTOCOL.md §5.1), so a TeamTalk operator finds what they expect. Every deliberate difference
-- is marked "CHANGE:". Common to all tables:
--   * InnoDB, utf8mb4. Text that is displayed uses utf8mb4_unicode_ci; anything compared as an
--     identifier (login names, hashes, task ids, paths) uses utf8mb4_bin so comparison is
--     byte-exact; message bodies are binary (MEDIUMBLOB).
--   * Timestamps are `int unsigned` Unix seconds, as in the original (clients get them as uint32).
--   * CHANGE: NOT NULL with explicit defaults everywhere (the original left status nullable and
--     defaulted IMGroup.status / IMGroupMember.status to 1 = deleted).
--   * CHANGE: natural keys are UNIQUE (relation pair, session triple, group member, message id
--     per conversation), so concurrent handlers can use INSERT ... ON DUPLICATE KEY UPDATE instead
--     of check-then-insert races.
--   * CHANGE: msg ids are allocated in MySQL (IMRelationShip.msgSeq / IMGroup.msgSeq, bumped in
--     the same transaction as the message insert), not only in Redis: losing Redis no longer
--     restarts numbering or hands out ids twice.
--   * IMAdmin (the PHP web admin's accounts, seeded admin / unsalted md5("admin")) is left out:
--     the web admin is not part of ttsuite.

-- Users. id is the user_id clients see.
CREATE TABLE IF NOT EXISTS `IMUser` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `sex` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '1 male, 2 female, 0 unknown',
  -- CHANGE: unique, byte-exact (utf8mb4_bin): "Alice" and "alice" are different accounts, and
  -- the login lookup / LoginThrottle compare names exactly as sent.
  `name` varchar(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL COMMENT 'login name',
  `domain` varchar(32) NOT NULL DEFAULT '' COMMENT 'pinyin of the name',
  `nick` varchar(32) NOT NULL DEFAULT '' COMMENT 'display name',
  -- CHANGE: holds our self-describing salted slow hash of the credential the client sends
  -- (md5hex(plaintext)): pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>, see
  -- db_proxy_server/auth/PasswordHash.h. The original's varchar(32) md5(md5 + salt) and its
  -- separate `salt` varchar(4) column are gone (the salt lives inside this string).
  `password` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  `phone` varchar(11) NOT NULL DEFAULT '',
  `email` varchar(64) NOT NULL DEFAULT '',
  `avatar` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  `departId` int unsigned NOT NULL DEFAULT 0,
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 active (login requires 0), 3 departed',
  `created` int unsigned NOT NULL DEFAULT 0,
  `updated` int unsigned NOT NULL DEFAULT 0,
  `push_shield_status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 off, 1 do-not-disturb',
  `sign_info` varchar(128) NOT NULL DEFAULT '' COMMENT 'signature',
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_name` (`name`),
  KEY `idx_domain` (`domain`),
  KEY `idx_phone` (`phone`),
  KEY `idx_departId` (`departId`),
  -- CHANGE: IMAllUserReq asks "users changed since T" (updated >= T) and max(updated).
  KEY `idx_updated` (`updated`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='users';

-- Departments (IMDepartmentReq: rows with updated > T).
CREATE TABLE IF NOT EXISTS `IMDepart` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `departName` varchar(64) NOT NULL DEFAULT '',
  `priority` int unsigned NOT NULL DEFAULT 0 COMMENT 'display order',
  `parentId` int unsigned NOT NULL DEFAULT 0 COMMENT '0 = top level',
  `status` int unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `created` int unsigned NOT NULL DEFAULT 0,
  `updated` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `idx_departName` (`departName`),
  KEY `idx_priority_status` (`priority`, `status`),
  -- CHANGE: the incremental department query filters on updated.
  KEY `idx_updated` (`updated`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='departments';

-- One row per pair of users who ever exchanged a 1:1 message; id = relateId, which picks the
-- message shard IMMessage_<relateId % 8>.
CREATE TABLE IF NOT EXISTS `IMRelationShip` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `smallId` int unsigned NOT NULL COMMENT 'min(user a, user b)',
  `bigId` int unsigned NOT NULL COMMENT 'max(user a, user b)',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  -- CHANGE: last msg_id allocated in this conversation. db_proxy bumps it (e.g. UPDATE ... SET
  -- msgSeq = LAST_INSERT_ID(msgSeq + 1)) in the transaction that inserts the message, so ids
  -- are durable and never handed out twice, even if Redis is flushed.
  `msgSeq` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  `updated` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  -- CHANGE: unique pair (the original only indexed it): two concurrent first messages between
  -- the same users cannot create two relations and split the history.
  UNIQUE KEY `uk_smallId_bigId` (`smallId`, `bigId`),
  -- CHANGE: the pair must be stored ordered, or the unique key would not catch (b, a).
  CONSTRAINT `ck_relation_ordered` CHECK (`smallId` <= `bigId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='1:1 conversations';

-- Each user's recent conversations (type 1 = user peer, 2 = group peer).
CREATE TABLE IF NOT EXISTS `IMRecentSession` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `userId` int unsigned NOT NULL,
  `peerId` int unsigned NOT NULL COMMENT 'user id or group id, by type',
  `type` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '1 user, 2 group',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 removed by the user',
  `created` int unsigned NOT NULL DEFAULT 0,
  `updated` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  -- CHANGE: unique, so "touch both sessions" on every message is one upsert per side
  -- (INSERT ... ON DUPLICATE KEY UPDATE status = 0, updated = ?), never a duplicate row.
  UNIQUE KEY `uk_userId_peerId_type` (`userId`, `peerId`, `type`),
  -- IMRecentContactSessionReq: userId = ? AND status = 0 AND updated > ? ORDER BY updated DESC.
  KEY `idx_userId_status_updated` (`userId`, `status`, `updated`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='recent sessions';

-- 1:1 messages, sharded by relateId % 8 (IMMessage_<relateId % 8>), written out per shard.
-- CHANGE: content is MEDIUMBLOB instead of varchar(4096) utf8mb4_bin: msg_data is stored byte for
-- byte as received (clients send Base64 text for text messages, but audio bodies are binary and
-- would be mangled or refused by a character column); MEDIUMBLOB (16 MiB) holds any PDU under
-- the 2 MiB frame limit (the original capped content at 4096 characters).
-- CHANGE: UNIQUE(relateId, msgId) (one message per id; a retried insert fails instead of
-- duplicating) and (relateId, status, msgId) for history: WHERE relateId = ? AND status = 0
-- AND msgId <= ? ORDER BY msgId DESC LIMIT n. The original's created-based indexes and
-- (fromId, toId, status) index had no remaining query. id is bigint: the shards only grow.
CREATE TABLE IF NOT EXISTS `IMMessage_0` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `relateId` int unsigned NOT NULL COMMENT 'IMRelationShip.id',
  `fromId` int unsigned NOT NULL,
  `toId` int unsigned NOT NULL,
  `msgId` int unsigned NOT NULL COMMENT 'per-conversation id, from IMRelationShip.msgSeq',
  `content` mediumblob NOT NULL COMMENT 'msg_data bytes exactly as received',
  `type` tinyint unsigned NOT NULL DEFAULT 1 COMMENT '1 text, 2 audio',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_relateId_msgId` (`relateId`, `msgId`),
  KEY `idx_relateId_status_msgId` (`relateId`, `status`, `msgId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='1:1 messages, relateId % 8 = 0';

CREATE TABLE IF NOT EXISTS `IMMessage_1` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `relateId` int unsigned NOT NULL COMMENT 'IMRelationShip.id',
  `fromId` int unsigned NOT NULL,
  `toId` int unsigned NOT NULL,
  `msgId` int unsigned NOT NULL COMMENT 'per-conversation id, from IMRelationShip.msgSeq',
  `content` mediumblob NOT NULL COMMENT 'msg_data bytes exactly as received',
  `type` tinyint unsigned NOT NULL DEFAULT 1 COMMENT '1 text, 2 audio',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_relateId_msgId` (`relateId`, `msgId`),
  KEY `idx_relateId_status_msgId` (`relateId`, `status`, `msgId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='1:1 messages, relateId % 8 = 1';

CREATE TABLE IF NOT EXISTS `IMMessage_2` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `relateId` int unsigned NOT NULL COMMENT 'IMRelationShip.id',
  `fromId` int unsigned NOT NULL,
  `toId` int unsigned NOT NULL,
  `msgId` int unsigned NOT NULL COMMENT 'per-conversation id, from IMRelationShip.msgSeq',
  `content` mediumblob NOT NULL COMMENT 'msg_data bytes exactly as received',
  `type` tinyint unsigned NOT NULL DEFAULT 1 COMMENT '1 text, 2 audio',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_relateId_msgId` (`relateId`, `msgId`),
  KEY `idx_relateId_status_msgId` (`relateId`, `status`, `msgId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='1:1 messages, relateId % 8 = 2';

CREATE TABLE IF NOT EXISTS `IMMessage_3` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `relateId` int unsigned NOT NULL COMMENT 'IMRelationShip.id',
  `fromId` int unsigned NOT NULL,
  `toId` int unsigned NOT NULL,
  `msgId` int unsigned NOT NULL COMMENT 'per-conversation id, from IMRelationShip.msgSeq',
  `content` mediumblob NOT NULL COMMENT 'msg_data bytes exactly as received',
  `type` tinyint unsigned NOT NULL DEFAULT 1 COMMENT '1 text, 2 audio',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_relateId_msgId` (`relateId`, `msgId`),
  KEY `idx_relateId_status_msgId` (`relateId`, `status`, `msgId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='1:1 messages, relateId % 8 = 3';

CREATE TABLE IF NOT EXISTS `IMMessage_4` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `relateId` int unsigned NOT NULL COMMENT 'IMRelationShip.id',
  `fromId` int unsigned NOT NULL,
  `toId` int unsigned NOT NULL,
  `msgId` int unsigned NOT NULL COMMENT 'per-conversation id, from IMRelationShip.msgSeq',
  `content` mediumblob NOT NULL COMMENT 'msg_data bytes exactly as received',
  `type` tinyint unsigned NOT NULL DEFAULT 1 COMMENT '1 text, 2 audio',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_relateId_msgId` (`relateId`, `msgId`),
  KEY `idx_relateId_status_msgId` (`relateId`, `status`, `msgId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='1:1 messages, relateId % 8 = 4';

CREATE TABLE IF NOT EXISTS `IMMessage_5` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `relateId` int unsigned NOT NULL COMMENT 'IMRelationShip.id',
  `fromId` int unsigned NOT NULL,
  `toId` int unsigned NOT NULL,
  `msgId` int unsigned NOT NULL COMMENT 'per-conversation id, from IMRelationShip.msgSeq',
  `content` mediumblob NOT NULL COMMENT 'msg_data bytes exactly as received',
  `type` tinyint unsigned NOT NULL DEFAULT 1 COMMENT '1 text, 2 audio',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_relateId_msgId` (`relateId`, `msgId`),
  KEY `idx_relateId_status_msgId` (`relateId`, `status`, `msgId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='1:1 messages, relateId % 8 = 5';

CREATE TABLE IF NOT EXISTS `IMMessage_6` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `relateId` int unsigned NOT NULL COMMENT 'IMRelationShip.id',
  `fromId` int unsigned NOT NULL,
  `toId` int unsigned NOT NULL,
  `msgId` int unsigned NOT NULL COMMENT 'per-conversation id, from IMRelationShip.msgSeq',
  `content` mediumblob NOT NULL COMMENT 'msg_data bytes exactly as received',
  `type` tinyint unsigned NOT NULL DEFAULT 1 COMMENT '1 text, 2 audio',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_relateId_msgId` (`relateId`, `msgId`),
  KEY `idx_relateId_status_msgId` (`relateId`, `status`, `msgId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='1:1 messages, relateId % 8 = 6';

CREATE TABLE IF NOT EXISTS `IMMessage_7` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `relateId` int unsigned NOT NULL COMMENT 'IMRelationShip.id',
  `fromId` int unsigned NOT NULL,
  `toId` int unsigned NOT NULL,
  `msgId` int unsigned NOT NULL COMMENT 'per-conversation id, from IMRelationShip.msgSeq',
  `content` mediumblob NOT NULL COMMENT 'msg_data bytes exactly as received',
  `type` tinyint unsigned NOT NULL DEFAULT 1 COMMENT '1 text, 2 audio',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_relateId_msgId` (`relateId`, `msgId`),
  KEY `idx_relateId_status_msgId` (`relateId`, `status`, `msgId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='1:1 messages, relateId % 8 = 7';

-- Groups (type 1 normal, 2 temporary).
CREATE TABLE IF NOT EXISTS `IMGroup` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `name` varchar(256) NOT NULL DEFAULT '',
  `avatar` varchar(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  `creator` int unsigned NOT NULL DEFAULT 0 COMMENT 'user id; only the creator may change a normal group',
  `type` tinyint unsigned NOT NULL DEFAULT 1 COMMENT '1 normal, 2 temporary',
  `userCnt` int unsigned NOT NULL DEFAULT 0,
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `version` int unsigned NOT NULL DEFAULT 1 COMMENT '+1 on every member change; clients cache by it',
  -- CHANGE: last msg_id allocated in this group, bumped in the message insert's transaction
  -- (see IMRelationShip.msgSeq).
  `msgSeq` int unsigned NOT NULL DEFAULT 0,
  `lastChated` int unsigned NOT NULL DEFAULT 0 COMMENT 'time of the last message',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `idx_name` (`name`(191)),
  KEY `idx_creator` (`creator`),
  -- CHANGE: the group-session refresher scans groups with lastChated > its watermark.
  KEY `idx_lastChated` (`lastChated`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='groups';

-- Group membership. created = join time: a member sees the group's history from then on.
CREATE TABLE IF NOT EXISTS `IMGroupMember` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `groupId` int unsigned NOT NULL,
  `userId` int unsigned NOT NULL,
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 member, 1 left / removed',
  `created` int unsigned NOT NULL DEFAULT 0 COMMENT 'join time (reset when a former member rejoins)',
  `updated` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  -- CHANGE: one row per (group, user): leaving sets status 1, rejoining flips it back to 0 with
  -- a new created, so a member can never be listed twice.
  UNIQUE KEY `uk_groupId_userId` (`groupId`, `userId`),
  -- "groups of user": userId = ? AND status = 0.
  KEY `idx_userId_status` (`userId`, `status`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='group members';

-- Group messages, sharded by groupId % 8 (IMGroupMessage_<groupId % 8>); same changes as
-- IMMessage_n: MEDIUMBLOB content, UNIQUE(groupId, msgId), history index (groupId, status, msgId).
CREATE TABLE IF NOT EXISTS `IMGroupMessage_0` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `groupId` int unsigned NOT NULL,
  `userId` int unsigned NOT NULL COMMENT 'sender',
  `msgId` int unsigned NOT NULL COMMENT 'per-group id, from IMGroup.msgSeq',
  `content` mediumblob NOT NULL COMMENT 'msg_data bytes exactly as received',
  `type` tinyint unsigned NOT NULL DEFAULT 17 COMMENT '0x11 group text, 0x12 group audio',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_groupId_msgId` (`groupId`, `msgId`),
  KEY `idx_groupId_status_msgId` (`groupId`, `status`, `msgId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='group messages, groupId % 8 = 0';

CREATE TABLE IF NOT EXISTS `IMGroupMessage_1` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `groupId` int unsigned NOT NULL,
  `userId` int unsigned NOT NULL COMMENT 'sender',
  `msgId` int unsigned NOT NULL COMMENT 'per-group id, from IMGroup.msgSeq',
  `content` mediumblob NOT NULL COMMENT 'msg_data bytes exactly as received',
  `type` tinyint unsigned NOT NULL DEFAULT 17 COMMENT '0x11 group text, 0x12 group audio',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_groupId_msgId` (`groupId`, `msgId`),
  KEY `idx_groupId_status_msgId` (`groupId`, `status`, `msgId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='group messages, groupId % 8 = 1';

CREATE TABLE IF NOT EXISTS `IMGroupMessage_2` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `groupId` int unsigned NOT NULL,
  `userId` int unsigned NOT NULL COMMENT 'sender',
  `msgId` int unsigned NOT NULL COMMENT 'per-group id, from IMGroup.msgSeq',
  `content` mediumblob NOT NULL COMMENT 'msg_data bytes exactly as received',
  `type` tinyint unsigned NOT NULL DEFAULT 17 COMMENT '0x11 group text, 0x12 group audio',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_groupId_msgId` (`groupId`, `msgId`),
  KEY `idx_groupId_status_msgId` (`groupId`, `status`, `msgId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='group messages, groupId % 8 = 2';

CREATE TABLE IF NOT EXISTS `IMGroupMessage_3` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `groupId` int unsigned NOT NULL,
  `userId` int unsigned NOT NULL COMMENT 'sender',
  `msgId` int unsigned NOT NULL COMMENT 'per-group id, from IMGroup.msgSeq',
  `content` mediumblob NOT NULL COMMENT 'msg_data bytes exactly as received',
  `type` tinyint unsigned NOT NULL DEFAULT 17 COMMENT '0x11 group text, 0x12 group audio',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_groupId_msgId` (`groupId`, `msgId`),
  KEY `idx_groupId_status_msgId` (`groupId`, `status`, `msgId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='group messages, groupId % 8 = 3';

CREATE TABLE IF NOT EXISTS `IMGroupMessage_4` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `groupId` int unsigned NOT NULL,
  `userId` int unsigned NOT NULL COMMENT 'sender',
  `msgId` int unsigned NOT NULL COMMENT 'per-group id, from IMGroup.msgSeq',
  `content` mediumblob NOT NULL COMMENT 'msg_data bytes exactly as received',
  `type` tinyint unsigned NOT NULL DEFAULT 17 COMMENT '0x11 group text, 0x12 group audio',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_groupId_msgId` (`groupId`, `msgId`),
  KEY `idx_groupId_status_msgId` (`groupId`, `status`, `msgId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='group messages, groupId % 8 = 4';

CREATE TABLE IF NOT EXISTS `IMGroupMessage_5` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `groupId` int unsigned NOT NULL,
  `userId` int unsigned NOT NULL COMMENT 'sender',
  `msgId` int unsigned NOT NULL COMMENT 'per-group id, from IMGroup.msgSeq',
  `content` mediumblob NOT NULL COMMENT 'msg_data bytes exactly as received',
  `type` tinyint unsigned NOT NULL DEFAULT 17 COMMENT '0x11 group text, 0x12 group audio',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_groupId_msgId` (`groupId`, `msgId`),
  KEY `idx_groupId_status_msgId` (`groupId`, `status`, `msgId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='group messages, groupId % 8 = 5';

CREATE TABLE IF NOT EXISTS `IMGroupMessage_6` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `groupId` int unsigned NOT NULL,
  `userId` int unsigned NOT NULL COMMENT 'sender',
  `msgId` int unsigned NOT NULL COMMENT 'per-group id, from IMGroup.msgSeq',
  `content` mediumblob NOT NULL COMMENT 'msg_data bytes exactly as received',
  `type` tinyint unsigned NOT NULL DEFAULT 17 COMMENT '0x11 group text, 0x12 group audio',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_groupId_msgId` (`groupId`, `msgId`),
  KEY `idx_groupId_status_msgId` (`groupId`, `status`, `msgId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='group messages, groupId % 8 = 6';

CREATE TABLE IF NOT EXISTS `IMGroupMessage_7` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `groupId` int unsigned NOT NULL,
  `userId` int unsigned NOT NULL COMMENT 'sender',
  `msgId` int unsigned NOT NULL COMMENT 'per-group id, from IMGroup.msgSeq',
  `content` mediumblob NOT NULL COMMENT 'msg_data bytes exactly as received',
  `type` tinyint unsigned NOT NULL DEFAULT 17 COMMENT '0x11 group text, 0x12 group audio',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `updated` int unsigned NOT NULL DEFAULT 0,
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_groupId_msgId` (`groupId`, `msgId`),
  KEY `idx_groupId_status_msgId` (`groupId`, `status`, `msgId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='group messages, groupId % 8 = 7';

-- Audio metadata, as in the original. When db_proxy uploads audio to msfs (as the original did),
-- the message row's content is the decimal IMAudio.id; otherwise content holds the audio bytes.
CREATE TABLE IF NOT EXISTS `IMAudio` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `fromId` int unsigned NOT NULL,
  `toId` int unsigned NOT NULL,
  `path` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '' COMMENT 'msfs URL',
  `size` int unsigned NOT NULL DEFAULT 0,
  `duration` int unsigned NOT NULL DEFAULT 0 COMMENT 'seconds',
  `created` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `idx_fromId_toId` (`fromId`, `toId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='audio messages';

-- CHANGE: offline file transfers. The original's code reads and writes this table but its SQL
-- never created it (docs/PROTOCOL.md §5.1 / §7.2).
CREATE TABLE IF NOT EXISTS `IMTransmitFile` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `fromId` int unsigned NOT NULL,
  `toId` int unsigned NOT NULL,
  `fileName` varchar(512) NOT NULL DEFAULT '',
  `size` bigint unsigned NOT NULL DEFAULT 0 COMMENT 'bytes',
  `taskId` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL COMMENT 'file_server task UUID',
  `status` tinyint unsigned NOT NULL DEFAULT 0 COMMENT '0 pending, 1 done / deleted',
  `created` int unsigned NOT NULL DEFAULT 0,
  `updated` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_taskId` (`taskId`),
  -- IMFileHasOfflineReq: toId = ? AND status = 0.
  KEY `idx_toId_status` (`toId`, `status`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='offline files';

-- Discovery items for the clients' "discovery" page (optional; no server command reads it).
CREATE TABLE IF NOT EXISTS `IMDiscovery` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `itemName` varchar(64) NOT NULL DEFAULT '',
  -- CHANGE: 255 instead of 64 characters (URLs are longer than that).
  `itemUrl` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  `itemPriority` int unsigned NOT NULL DEFAULT 0,
  `status` int unsigned NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  `created` int unsigned NOT NULL DEFAULT 0,
  `updated` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `idx_itemName` (`itemName`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='discovery items';

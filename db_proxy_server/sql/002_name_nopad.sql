-- Login names compare byte-exact. utf8mb4_bin is a PAD SPACE collation in MariaDB: 'user01 '
-- equalled 'user01' (a login with a trailing space found the real user, and the unique key
-- refused 'a ' next to 'a'). The NO PAD variant compares every byte.
ALTER TABLE `IMUser` MODIFY `name` varchar(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL COMMENT 'login name';

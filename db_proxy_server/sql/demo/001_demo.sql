-- ttsuite demo data (applied by `scripts/lib/storage.sh start --demo`, after the schema).
--
-- 3 departments; users user01 .. user20 (ids 1 .. 20) with the password `ttsuite`; groups
-- group-a (id 1: user01 .. user10) and group-b (id 2: all 20 users), both normal groups (type 1)
-- created by user01. Ids are explicit so tests can rely on them. All times are 1700000000
-- (2023-11-14 22:13:20 UTC).
--
-- Passwords: the client sends md5hex("ttsuite") = ce610a8a8a0c5e8ed0b26b38b8b8733d; the stored
-- value is our PBKDF2 format with a fixed per-user salt, the 16 ASCII bytes "ttsuite-demo-uNN"
-- (NN = user number), made with the generator built from db_proxy_server/auth:
--   tt_make_demo_hash ttsuite $(printf 'ttsuite-demo-u07' | xxd -p)
-- Fixed salts are fine for demo accounts only; real accounts get random salts
-- (tt_make_demo_hash ttsuite, without a salt argument).
-- Only MySQL is seeded: nothing here writes Redis (e.g. the original's group_member_<gid>).

INSERT INTO `IMDepart` (`id`, `departName`, `priority`, `parentId`, `status`, `created`, `updated`) VALUES
  (1, 'Engineering', 1, 0, 0, 1700000000, 1700000000),
  (2, 'Operations', 2, 0, 0, 1700000000, 1700000000),
  (3, 'Sales', 3, 0, 0, 1700000000, 1700000000);

INSERT INTO `IMUser` (`id`, `sex`, `name`, `domain`, `nick`, `password`, `phone`, `email`, `avatar`,
  `departId`, `status`, `created`, `updated`, `push_shield_status`, `sign_info`) VALUES
  (1, 1, 'user01', 'user01', 'User 01', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUwMQ==$8C6PwXeyUsb8wlLkaH9EYXIgI/C0AE847kOXuGC5xg0=', '', 'user01@example.com', '',
   1, 0, 1700000000, 1700000000, 0, ''),
  (2, 2, 'user02', 'user02', 'User 02', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUwMg==$6rU/ZqwTty1wBuQ87+cWZKMvwyDaCa9bOC/4HvWJa2o=', '', 'user02@example.com', '',
   2, 0, 1700000000, 1700000000, 0, ''),
  (3, 1, 'user03', 'user03', 'User 03', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUwMw==$X2qJb7Vt47QBj2P6eGL9bdgjEshXkEYMMgmAcw35ZFE=', '', 'user03@example.com', '',
   3, 0, 1700000000, 1700000000, 0, ''),
  (4, 2, 'user04', 'user04', 'User 04', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUwNA==$AFEWq42XkmjIOo+ERA/1fI02j1x9IC2Nt9uQ4k0Bij4=', '', 'user04@example.com', '',
   1, 0, 1700000000, 1700000000, 0, ''),
  (5, 1, 'user05', 'user05', 'User 05', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUwNQ==$Y9UrnXf2OqF8Uigu/VQAWHQfLyezHb9/oU99HMhBaPo=', '', 'user05@example.com', '',
   2, 0, 1700000000, 1700000000, 0, ''),
  (6, 2, 'user06', 'user06', 'User 06', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUwNg==$AQXJgugri7Frxk8Bmze59ElE9aI/vR+O5M0lNOdKPq4=', '', 'user06@example.com', '',
   3, 0, 1700000000, 1700000000, 0, ''),
  (7, 1, 'user07', 'user07', 'User 07', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUwNw==$nFlZxe+o+QPw/iTITQaa7mM9oyaBPgF60Emx+1I1EG8=', '', 'user07@example.com', '',
   1, 0, 1700000000, 1700000000, 0, ''),
  (8, 2, 'user08', 'user08', 'User 08', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUwOA==$P0P7mFgSy93/i76+1woF1hd1F5C8vzrNpS7b9+oI6Kg=', '', 'user08@example.com', '',
   2, 0, 1700000000, 1700000000, 0, ''),
  (9, 1, 'user09', 'user09', 'User 09', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUwOQ==$WO53F9BpDdBoacbkOXf/T4Yx043Ra4nrhdqFezGXVcc=', '', 'user09@example.com', '',
   3, 0, 1700000000, 1700000000, 0, ''),
  (10, 2, 'user10', 'user10', 'User 10', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUxMA==$IK5QKcCPCEEpUFnuMf8QeTHN6cbaG5HsVk1mxTWGbp8=', '', 'user10@example.com', '',
   1, 0, 1700000000, 1700000000, 0, ''),
  (11, 1, 'user11', 'user11', 'User 11', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUxMQ==$bVIGnTICzxi4MX8/80dv9YCrLyGifzb11xkAezE+OKE=', '', 'user11@example.com', '',
   2, 0, 1700000000, 1700000000, 0, ''),
  (12, 2, 'user12', 'user12', 'User 12', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUxMg==$SkqYJNPPQRj2/9KiI+PYFFFiaX3CQB6AYtFVbRrR7lI=', '', 'user12@example.com', '',
   3, 0, 1700000000, 1700000000, 0, ''),
  (13, 1, 'user13', 'user13', 'User 13', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUxMw==$T47VBSrIdw1VQ73FRodraxyiS7DgYKlG4mgIoYHmLy0=', '', 'user13@example.com', '',
   1, 0, 1700000000, 1700000000, 0, ''),
  (14, 2, 'user14', 'user14', 'User 14', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUxNA==$OH5Gs1fzgjJxBt2YWdTj3LBQYchU7lAqA29derOr6nM=', '', 'user14@example.com', '',
   2, 0, 1700000000, 1700000000, 0, ''),
  (15, 1, 'user15', 'user15', 'User 15', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUxNQ==$3wkmYP1TA5Wx4iyby+elh4blHtVtceS9lcsopNh94kM=', '', 'user15@example.com', '',
   3, 0, 1700000000, 1700000000, 0, ''),
  (16, 2, 'user16', 'user16', 'User 16', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUxNg==$FszoUxNlYfo/DgfJUNhxzvfMFleK7lx24UjklYedQL4=', '', 'user16@example.com', '',
   1, 0, 1700000000, 1700000000, 0, ''),
  (17, 1, 'user17', 'user17', 'User 17', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUxNw==$qFsyZPFr2r8hCu+USKg1FTwZoW4W4mpNF0gC1FN74Cc=', '', 'user17@example.com', '',
   2, 0, 1700000000, 1700000000, 0, ''),
  (18, 2, 'user18', 'user18', 'User 18', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUxOA==$YZBOv/eiS0Iuq0SMWBHint2PV4beK5L4dz4uZW5POMg=', '', 'user18@example.com', '',
   3, 0, 1700000000, 1700000000, 0, ''),
  (19, 1, 'user19', 'user19', 'User 19', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUxOQ==$io+REu3VgnDcJYj0Jy3bqr30c8/aULczj4lxdgS1Pq4=', '', 'user19@example.com', '',
   1, 0, 1700000000, 1700000000, 0, ''),
  (20, 2, 'user20', 'user20', 'User 20', 'pbkdf2-sha256$150000$dHRzdWl0ZS1kZW1vLXUyMA==$OEsnEW8VAMdNB6ma0o1VvPMQ/NBLE99gZtF6qATO0t0=', '', 'user20@example.com', '',
   2, 0, 1700000000, 1700000000, 0, '');

INSERT INTO `IMGroup` (`id`, `name`, `avatar`, `creator`, `type`, `userCnt`, `status`, `version`, `msgSeq`,
  `lastChated`, `updated`, `created`) VALUES
  (1, 'group-a', '', 1, 1, 10, 0, 1, 0, 0, 1700000000, 1700000000),
  (2, 'group-b', '', 1, 1, 20, 0, 1, 0, 0, 1700000000, 1700000000);

INSERT INTO `IMGroupMember` (`groupId`, `userId`, `status`, `created`, `updated`) VALUES
  (1, 1, 0, 1700000000, 1700000000),
  (1, 2, 0, 1700000000, 1700000000),
  (1, 3, 0, 1700000000, 1700000000),
  (1, 4, 0, 1700000000, 1700000000),
  (1, 5, 0, 1700000000, 1700000000),
  (1, 6, 0, 1700000000, 1700000000),
  (1, 7, 0, 1700000000, 1700000000),
  (1, 8, 0, 1700000000, 1700000000),
  (1, 9, 0, 1700000000, 1700000000),
  (1, 10, 0, 1700000000, 1700000000),
  (2, 1, 0, 1700000000, 1700000000),
  (2, 2, 0, 1700000000, 1700000000),
  (2, 3, 0, 1700000000, 1700000000),
  (2, 4, 0, 1700000000, 1700000000),
  (2, 5, 0, 1700000000, 1700000000),
  (2, 6, 0, 1700000000, 1700000000),
  (2, 7, 0, 1700000000, 1700000000),
  (2, 8, 0, 1700000000, 1700000000),
  (2, 9, 0, 1700000000, 1700000000),
  (2, 10, 0, 1700000000, 1700000000),
  (2, 11, 0, 1700000000, 1700000000),
  (2, 12, 0, 1700000000, 1700000000),
  (2, 13, 0, 1700000000, 1700000000),
  (2, 14, 0, 1700000000, 1700000000),
  (2, 15, 0, 1700000000, 1700000000),
  (2, 16, 0, 1700000000, 1700000000),
  (2, 17, 0, 1700000000, 1700000000),
  (2, 18, 0, 1700000000, 1700000000),
  (2, 19, 0, 1700000000, 1700000000),
  (2, 20, 0, 1700000000, 1700000000);

-- IMRecentSession is touched with INSERT ... ON DUPLICATE KEY UPDATE, and every such statement
-- consumes an AUTO_INCREMENT value even when the row exists: an int id ran out after ~2^32
-- touches (then every upsert failed). The id is internal (never on the wire): make it 64-bit.
ALTER TABLE `IMRecentSession` MODIFY `id` bigint unsigned NOT NULL AUTO_INCREMENT;

-- Tombstones: a key that a complete re-fetch of its window no longer returns (refunded
-- spend, a row the platform dropped) gets a row with is_deleted = 1 and the fetch's
-- version. ReplacingMergeTree(version, is_deleted) keeps the newest version of each key
-- and FINAL leaves a key whose newest version is a tombstone out, before any merge.
-- The engine's arguments cannot be altered in place: the rows move into a new table of
-- the same sort key, which then takes the old name (EXCHANGE is atomic on an Atomic
-- database, the default of servers and chdb alike).
CREATE TABLE IF NOT EXISTS `${database}`.report_rows_v2${local_suffix} ${on_cluster}
(
    platform LowCardinality(String),
    account_id UInt64 COMMENT 'adplatform AdAccount id',
    granularity Enum8('hour' = 1, 'day' = 2),
    level LowCardinality(String) COMMENT 'account, campaign, ad_group, ad, creative',
    stat_time DateTime('UTC') COMMENT 'start of the hour or of the local day, in UTC',
    entity_id String COMMENT 'the platform''s id of the entity',
    stat_date Date COMMENT 'the account''s local date of stat_time',
    impressions UInt64,
    clicks UInt64,
    cost Decimal(18, 6),
    currency LowCardinality(String),
    conversions Float64,
    extra Map(LowCardinality(String), Float64) COMMENT 'platform-specific metrics by their own names',
    version UInt64 COMMENT 'fetch time in microseconds: the newest fetch wins',
    run_id String DEFAULT '' COMMENT 'the task instance that wrote the row',
    fetched_at DateTime64(3, 'UTC') DEFAULT now64(3),
    is_deleted UInt8 DEFAULT 0 COMMENT '1: a complete re-fetch no longer returned this key'
)
ENGINE = ${replacing_deleted}
PARTITION BY toYYYYMM(stat_time)
ORDER BY (platform, account_id, granularity, level, stat_time, entity_id);

INSERT INTO `${database}`.report_rows_v2${local_suffix}
    (platform, account_id, granularity, level, stat_time, entity_id, stat_date, impressions, clicks, cost,
     currency, conversions, extra, version, run_id, fetched_at)
SELECT platform, account_id, granularity, level, stat_time, entity_id, stat_date, impressions, clicks, cost,
       currency, conversions, extra, version, run_id, fetched_at
FROM `${database}`.report_rows${local_suffix};

EXCHANGE TABLES `${database}`.report_rows${local_suffix} AND `${database}`.report_rows_v2${local_suffix} ${on_cluster};

DROP TABLE IF EXISTS `${database}`.report_rows_v2${local_suffix} ${on_cluster} SYNC;

-- cluster only: the Distributed table learns the new column.
ALTER TABLE `${database}`.report_rows ${on_cluster} ADD COLUMN IF NOT EXISTS is_deleted UInt8 DEFAULT 0;

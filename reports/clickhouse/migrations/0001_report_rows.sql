-- Hourly and daily report rows of every platform, one row per (entity, stat time).
-- ReplacingMergeTree(version): a re-fetch inserts the same key with a newer version and
-- replaces the old row at merge time; reads use FINAL (or argMax) to be right before it.
-- Sort key follows the dashboard queries: one platform/account, a granularity and level,
-- a time range, then entities.
CREATE TABLE IF NOT EXISTS `${database}`.report_rows${local_suffix} ${on_cluster}
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
    fetched_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ${replacing}
PARTITION BY toYYYYMM(stat_time)
ORDER BY (platform, account_id, granularity, level, stat_time, entity_id);

-- cluster only: the Distributed table that queries and inserts go through.
CREATE TABLE IF NOT EXISTS `${database}`.report_rows ${on_cluster}
AS `${database}`.report_rows_local
ENGINE = Distributed(`${cluster}`, `${database}`, report_rows_local, cityHash64(account_id));

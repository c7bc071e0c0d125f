# Logical replication into tables whose key is filled by the subscriber's own
# default (issue 8, item 11). The apply worker fills the columns a publication
# does not send with their defaults, so snowflake_next_id() runs on the
# subscriber, in the apply worker: the subscriber needs snowflake preloaded
# and its own node id, like any server that issues IDs (docs/high-availability.md "Logical
# replication"). Two shapes:
#   - an extra column on the subscriber (sub_id, its own key for each row);
#   - a publication column list that leaves the publisher's key out, so the
#     subscriber keys the rows itself.
# While the subscriber has no node id, the apply worker fails with 55000 and
# retries; once the node id is set (and the server restarted), it catches up.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pub = snowflake_node('publisher', 1, "wal_level = logical\nmax_wal_senders = 4\nmax_replication_slots = 4\n");
start_node($pub);
$pub->safe_psql(
	'postgres', q{
	CREATE EXTENSION snowflake;
	CREATE TABLE orders (id bigint PRIMARY KEY DEFAULT snowflake_next_id(), item text NOT NULL);
	CREATE TABLE events (pub_id bigint PRIMARY KEY DEFAULT snowflake_next_id(),
	                     payload text NOT NULL, seq int NOT NULL);
	CREATE PUBLICATION pub_orders FOR TABLE orders;
	CREATE PUBLICATION pub_events FOR TABLE events (payload, seq) WITH (publish = 'insert');
});

# The subscriber preloads snowflake but has no node id yet.
my $sub = PostgreSQL::Test::Cluster->new('subscriber');
$sub->init;
$sub->append_conf('postgresql.conf', "shared_preload_libraries = 'snowflake'\n");
start_node($sub);
$sub->safe_psql(
	'postgres', q{
	CREATE EXTENSION snowflake;
	CREATE TABLE orders (id bigint PRIMARY KEY, item text NOT NULL,
	                     sub_id bigint NOT NULL UNIQUE DEFAULT snowflake_next_id());
	CREATE TABLE events (id bigint PRIMARY KEY DEFAULT snowflake_next_id(),
	                     payload text NOT NULL, seq int NOT NULL);
});
my $connstr = $pub->connstr . ' dbname=postgres';
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION sub CONNECTION '$connstr' PUBLICATION pub_orders, pub_events");

my $offset = log_size($sub);
$pub->safe_psql(
	'postgres', q{
	INSERT INTO orders (item) SELECT 'item ' || g FROM generate_series(1, 500) g;
	INSERT INTO events (payload, seq) SELECT 'event ' || g, g FROM generate_series(1, 500) g;
});
ok( $sub->wait_for_log(qr/ERROR:  snowflake\.node_id is not set/, $offset),
	'without a node id on the subscriber, the apply worker fails: snowflake.node_id is not set');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM orders'), '0',
	'and applies nothing (no row gets a key from an unset node id)');

$sub->append_conf('postgresql.conf', "snowflake.node_id = 2\n");
$sub->restart;
$sub->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')")
  or die 'the initial sync did not finish';
$pub->safe_psql(
	'postgres', q{
	INSERT INTO orders (item) SELECT 'later ' || g FROM generate_series(1, 500) g;
	INSERT INTO events (payload, seq) SELECT 'later ' || g, 500 + g FROM generate_series(1, 500) g;
});
$pub->wait_for_catchup('sub');

# Extra column: the publisher's key arrives as it is, the subscriber adds its own.
my $row = $sub->safe_psql(
	'postgres', q{
	SELECT count(*), count(DISTINCT sub_id),
	       bool_and(snowflake_node_id(id) = 1), bool_and(snowflake_node_id(sub_id) = 2)
	FROM orders});
is($row, '1000|1000|t|t',
	'extra column: 1000 rows, the publisher key from node 1, 1000 distinct subscriber keys from node 2'
);
is( $sub->safe_psql(
		'postgres', q{
	SELECT bool_and(sub_id > prev) FROM (
	  SELECT sub_id, lag(sub_id) OVER (ORDER BY id) AS prev FROM orders) s
	WHERE prev IS NOT NULL}),
	't',
	'extra column: subscriber keys increase in the order the rows were published');

# Column list: the publisher's key is not sent; the subscriber keys the rows.
$row = $sub->safe_psql(
	'postgres', q{
	SELECT count(*), count(DISTINCT id), bool_and(snowflake_node_id(id) = 2),
	       bool_and(id > prev) FILTER (WHERE prev IS NOT NULL)
	FROM (SELECT id, lag(id) OVER (ORDER BY seq) AS prev FROM events) s});
is($row, '1000|1000|t|t',
	'column list: 1000 rows keyed by the subscriber (node 2), increasing in publication order');
is( $pub->safe_psql(
		'postgres', 'SELECT bool_and(snowflake_node_id(pub_id) = 1) FROM events'),
	't', 'column list: the publisher keeps its own keys (node 1)');

# The subscriber's own inserts draw from the same generator as the apply worker.
my $own = $sub->safe_psql('postgres',
	"INSERT INTO events (payload, seq) VALUES ('local', 0) RETURNING id");
cmp_ok($own, '>', $sub->safe_psql('postgres', 'SELECT max(id) FROM events WHERE seq > 0'),
	"a local insert on the subscriber gets a key above the applied rows' keys");

$sub->stop;
$pub->stop;
done_testing();

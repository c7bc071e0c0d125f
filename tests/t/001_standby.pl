# A streaming standby shares its primary's node id, so it must never issue
# IDs: snowflake_next_id() there fails with the documented error, while
# decoding still works.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf',
	"shared_preload_libraries = 'snowflake'\nsnowflake.node_id = 5\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION snowflake');
$primary->safe_psql('postgres',
	'CREATE TABLE items (id bigint PRIMARY KEY DEFAULT snowflake_next_id(), v int)');
$primary->safe_psql('postgres', 'INSERT INTO items (v) SELECT generate_series(1, 100)');
my $id = $primary->safe_psql('postgres', 'SELECT snowflake_next_id()');
cmp_ok($id, '>', 0, 'the primary issues IDs');

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->safe_psql('postgres', 'INSERT INTO items (v) VALUES (101)');
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	't', 'the standby is in recovery');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM items'),
	'101', 'rows keyed by snowflake IDs replicate');

my ($ret, $stdout, $stderr) = $standby->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT snowflake_next_id()");
isnt($ret, 0, 'snowflake_next_id() fails on the standby');
like($stderr, qr/ERROR:  25006: cannot generate snowflake IDs during recovery/,
	'with SQLSTATE 25006 and the documented message');
like($stderr, qr/HINT:  Call snowflake_next_id\(\) on the primary server\./,
	'and a hint that names the fix');
is($stdout, '', 'and no ID is returned');

# The 1.1 functions that issue IDs or move the floor refuse the same way.
for my $call ('SELECT snowflake_next_ids(10)', "SELECT snowflake_advance_past($id)")
{
	($ret, $stdout, $stderr) =
	  $standby->psql('postgres', "\\set VERBOSITY verbose\n$call");
	isnt($ret, 0, "$call fails on the standby");
	like($stderr, qr/ERROR:  25006: cannot generate snowflake IDs during recovery/,
		"$call: SQLSTATE 25006 and the documented message");
	is($stdout, '', "$call returns nothing");
}

is($standby->safe_psql('postgres', "SELECT snowflake_node_id($id)"),
	'5', 'decoding works on the standby');
# The reservation writer is a background worker without a database
# connection, so it is not in pg_stat_activity: look for its process.
sub reservation_writers
{
	my ($node) = @_;
	my $postmaster = $node->{_pid};
	my @children = grep { /^\s*$postmaster\s/ } split /\n/, `ps -eo ppid=,args=`;
	return scalar grep { /snowflake reservation writer/ } @children;
}
is(reservation_writers($standby), 0, 'no reservation writer runs on the standby');
is(reservation_writers($primary), 1, 'the primary runs its reservation writer');

$standby->stop;
$primary->stop;
done_testing();

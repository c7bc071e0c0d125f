# Many sessions inserting through the default at once get no duplicate, and
# two databases of one server never hand out the same value.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('concurrency');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'snowflake'\nsnowflake.node_id = 9\nmax_connections = 40\n");
$node->start;

# 8 clients for 10 s, one row per transaction, through the column default.
$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
$node->safe_psql('postgres',
	'CREATE TABLE t (id bigint PRIMARY KEY DEFAULT snowflake_next_id(), client int)');
$node->pgbench(
	'--no-vacuum --client=8 --jobs=2 --time=10',
	0,
	[ qr{actually processed: [1-9]\d*$}m, qr{number of failed transactions: 0 } ],
	[qr{^$}],
	'8 sessions insert for 10 s with no error',
	{ 'snowflake_insert' => 'INSERT INTO t (client) VALUES (:client_id);' });
my ($rows, $distinct, $clients, $node_ok) = split /\|/,
  $node->safe_psql('postgres',
	'SELECT count(*), count(DISTINCT id), count(DISTINCT client), '
	  . 'bool_and(snowflake_node_id(id) = 9) FROM t');
cmp_ok($rows, '>', 1000, "the 8 sessions inserted $rows rows");
is($distinct, $rows, 'every row has its own ID');
is($clients, 8, 'all 8 sessions inserted');
is($node_ok, 't', 'all IDs carry node id 9');
my $unique_violations = $node->safe_psql('postgres',
	"SELECT xact_rollback FROM pg_stat_database WHERE datname = 'postgres'");
note "rollbacks in the database: $unique_violations";

# Two databases generating at the same time: no value in both.
my @dbs = ('db_a', 'db_b');
my $script = $node->basedir . '/insert_1000.sql';
PostgreSQL::Test::Utils::append_to_file($script,
	"INSERT INTO t SELECT snowflake_next_id() FROM generate_series(1, 1000);\n");
for my $db (@dbs)
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION snowflake');
	$node->safe_psql($db, 'CREATE TABLE t (id bigint PRIMARY KEY)');
}
my (%out, %err, %run);
for my $db (@dbs)
{
	$run{$db} = IPC::Run::start(
		[
			'pgbench', '--no-vacuum', '--client=2', '--jobs=1', '--time=5',
			'--file', $script, '--host', $node->host, '--port', $node->port, $db
		],
		'>', \$out{$db}, '2>', \$err{$db});
}
for my $db (@dbs)
{
	ok($run{$db}->finish, "pgbench on $db finished without error")
	  or diag $err{$db};
}
my %seen;
my $both = 0;
for my $db (@dbs)
{
	my @ids = split /\n/, $node->safe_psql($db, 'SELECT id FROM t');
	cmp_ok(scalar @ids, '>', 1000, "$db got " . scalar(@ids) . ' IDs');
	for my $id (@ids)
	{
		$both++ if $seen{$id}++;
	}
}
is($both, 0, 'no ID was issued in both databases');

$node->stop;
done_testing();

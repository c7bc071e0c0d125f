# The edges of the layout's time range, with the server's wall clock moved by
# libfaketime: past 2093-09-06 15:47:35.551 UTC every call fails with
# SQLSTATE 2200H, before 2024-01-01 with 58000; never a wrapped value.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $libfaketime = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
plan skip_all => "libfaketime is not installed ($libfaketime)" unless -e $libfaketime;

# Starts $node with its wall clock at $when ("@YYYY-MM-DD hh:mm:ss", then running).
sub start_at
{
	my ($node, $when) = @_;
	local $ENV{LD_PRELOAD} = $libfaketime;
	local $ENV{FAKETIME} = $when;
	local $ENV{FAKETIME_DONT_FAKE_MONOTONIC} = '1';
	$node->start;
}

sub next_id
{
	my ($node) = @_;
	my ($ret, $stdout, $stderr) =
	  $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT snowflake_next_id()");
	return ($ret, $stdout, $stderr);
}

my $node = PostgreSQL::Test::Cluster->new('time_range');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'snowflake'\nsnowflake.node_id = 3\n");

# Five seconds before the end: IDs are issued and carry that time.
start_at($node, '@2093-09-06 15:47:30');
$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
my ($ret, $id, $stderr) = next_id($node);
is($ret, 0, 'an ID is issued seconds before the end of the range');
like($node->safe_psql('postgres', "SELECT snowflake_timestamp($id) AT TIME ZONE 'UTC'"),
	qr/^2093-09-06 15:47:3\d/, 'and it carries the faked time');

# Wait until the clock is past the end.
my $passed = 0;
for (1 .. 100)
{
	($ret, my $stdout, $stderr) = next_id($node);
	if ($ret != 0) { $passed = 1; last; }
	cmp_ok($stdout, '>', $id, 'IDs keep increasing up to the end') if $_ == 1;
	select(undef, undef, undef, 0.2);
}
ok($passed, 'calls start failing once the clock passes the end');
like($stderr, qr/ERROR:  2200H: snowflake ID time range is exhausted/,
	'with SQLSTATE 2200H and the documented message');
like($stderr, qr/HINT:  Check the system clock/, 'and a hint');
($ret, my $stdout, $stderr) = next_id($node);
isnt($ret, 0, 'and keep failing');
is($stdout, '', 'with no value returned');
$node->stop;

# A restart well past the end (the stored reservation is at the end).
start_at($node, '@2100-01-01 00:00:00');
($ret, $stdout, $stderr) = next_id($node);
like($stderr, qr/ERROR:  2200H:/, 'after a restart past the end: 2200H');
$node->stop;

# A clock before the epoch on a fresh server.
my $early = PostgreSQL::Test::Cluster->new('before_epoch');
$early->init;
$early->append_conf('postgresql.conf',
	"shared_preload_libraries = 'snowflake'\nsnowflake.node_id = 4\n");
start_at($early, '@2023-06-01 00:00:00');
$early->safe_psql('postgres', 'CREATE EXTENSION snowflake');
($ret, $stdout, $stderr) = next_id($early);
isnt($ret, 0, 'a clock before 2024 issues nothing');
like($stderr, qr/ERROR:  58000: system clock reads \d+ ms before the snowflake epoch/,
	'with SQLSTATE 58000 and the documented message');
$early->stop;

done_testing();

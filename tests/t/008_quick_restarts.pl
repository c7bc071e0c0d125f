# Quick restarts with a correct clock: a start must not push the stored
# reservation further ahead of the wall clock, or a few restarts in a row
# would end in "system clock is N ms behind" errors although no clock ever
# moved back. (Found while writing 003: each start used to renew at once and
# reserve 1.5 s past the old floor.) An idle start writes nothing, and while
# IDs run ahead of the clock a renewal reserves only a small margin past
# them (src/core/reservation.h).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);

my $restarts = 12;
my $node = snowflake_node('quick_restarts', 8);
start_node($node);
$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
my @ids = next_ids($node, 10);
my $max_id = max_of(@ids);

sub check_after_restarts
{
	my ($label) = @_;
	my ($ret, $out, $err) = try_next_id($node);
	my $s = snowflake_status($node);
	note "$label: clock_drift_ms $s->{clock_drift_ms}; $err";
	# What must hold whatever happens: no ID at or below an earlier one.
	ok($ret != 0 || $out > $max_id, "$label: any ID issued is greater than every earlier one");
	$max_id = $out if $ret == 0 && $out > $max_id;
	is($ret, 0, "$label: snowflake_next_id() succeeds with a correct clock");
	cmp_ok($s->{clock_drift_ms}, '<=', 3000,
		"$label: IDs stay within a reservation window of the clock");
	return;
}

# An idle start writes nothing (src/core/reservation.h: "an idle server
# writes nothing").
$node->restart;
sleep 0.5;
is(snowflake_status($node)->{reservation_writes}, '0', 'an idle start writes no reservation');

# Clean restarts in a row, no ID in between.
$node->restart for 1 .. $restarts;
check_after_restarts("$restarts idle restarts");

$node->stop;

# Clean restarts in a row, an ID after each: on a fresh server, so the lead
# left by the idle restarts does not count.
$node = snowflake_node('quick_restarts_ids', 9);
start_node($node);
$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
$max_id = max_of(next_ids($node, 10));
my $not_greater = 0;
for (1 .. $restarts)
{
	$node->restart;
	my ($ret, $out) = try_next_id($node);
	next if $ret != 0;
	$not_greater++ if $out <= $max_id;
	$max_id = $out if $out > $max_id;
}
is($not_greater, 0, 'every ID after a restart is greater than every earlier one');
check_after_restarts("$restarts restarts with IDs");

$node->stop;
done_testing();

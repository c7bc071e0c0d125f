# Borrowing far ahead does not write the state file at every worker wake
# (issue 8, item 6). With the clock set back 6 s (across a restart) and IDs
# issued as fast as one session can, IDs run about 7 s ahead of the clock.
# Expected: about one write a second, as in normal operation (README "How it
# works: reservations"). The core's GoogleTest
# (ReservationTest.BorrowingFarAheadWritesAboutOnceASecond) is the test that
# shows the old 20 writes a second; here the reservation writer was seen to
# keep the real time under libfaketime while backends had the offset, and its
# clock-plus-window renewals then already kept the rate near one a second, so
# this test guards the rate end to end but did not fail before the fix.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);

my $node = snowflake_node('borrowing_writes', 11);
start_node($node);
$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
my $max_id = max_of(next_ids($node, 1000));

# The clock is set back 6 s while the server is down (a fixed libfaketime
# offset).
$node->stop;
start_node($node, clock => '-6');
my $offset = wait_server_clock_offset($node, -6);
cmp_ok(abs($offset + 6), '<', 3, "the server's clock is 6 s behind (offset $offset s)");

# One session issues IDs for about 12 s; another samples snowflake_status().
my $bulk = start_client($node, 'bulk',
	'SELECT max(id) FROM (SELECT snowflake_next_id() AS id FROM generate_series(1, 500000)) s;',
	400);
my @samples;
my $t0 = time();
while (time() - $t0 < 12)
{
	my $s = snowflake_status($node);
	my $ahead = $node->safe_psql('postgres',
		'SELECT (extract(epoch FROM reserved_until - last_id_time) * 1000)::int FROM snowflake_status()');
	push @samples, [ time() - $t0, $s->{reservation_writes}, $s->{clock_drift_ms}, $ahead ];
	sleep 0.5;
}
$node->safe_psql('postgres',
	"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'bulk'");
my @bulk_max = finish_client($bulk);
note scalar(@bulk_max) . " statements of 500000 IDs; $bulk->{err}";
cmp_ok(min_of(@bulk_max), '>', $max_id, 'the IDs issued while borrowing are greater than earlier ones');
is(strictly_increasing(\@bulk_max), -1, 'and increase');
$max_id = max_of(@bulk_max);

# The writes per second over the samples taken while IDs ran more than 2 s
# ahead of the clock (the margin past them only grows as they move, so the
# first second after the clock step is left out).
my @far = grep { $_->[2] > 2000 && $_->[0] >= 2 } @samples;
note sprintf('t=%.1f s writes=%d drift=%d ms reserved-last=%s ms', @$_) for @samples;
cmp_ok(scalar @far, '>=', 10, 'IDs ran more than 2 s ahead of the clock for at least 5 s');
SKIP:
{
	skip 'not enough borrowing samples', 2 unless @far >= 2;
	my $seconds = $far[-1][0] - $far[0][0];
	my $rate = ($far[-1][1] - $far[0][1]) / $seconds;
	note sprintf('%.2f writes/s over %.1f s of borrowing', $rate, $seconds);
	cmp_ok($rate, '<=', 2, 'the state file is written about once a second while borrowing');
	cmp_ok($rate, '>', 0, 'and it is written (the reservation moves with the IDs)');
}

# What must hold whatever the rate: IDs after it all are greater.
my @after = next_ids($node, 10);
cmp_ok(min_of(@after), '>', $max_id, 'IDs keep increasing');
$node->stop;
done_testing();

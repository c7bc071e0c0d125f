# Clock set back (issue 3, tests b and f). The server's wall clock is moved
# with libfaketime, never with a switch in the product:
#   1. back 1 hour while the server is down;
#   2. back 1 hour while it runs (a FAKETIME_TIMESTAMP_FILE rewritten under it);
#   3. back 5 seconds across a clean restart, within the default bound.
# Expected (DESIGN.md G3, G5; docs/design.md "Clock policy"): beyond
# snowflake.max_clock_drift every call fails with SQLSTATE 58000, a message
# naming the gap and a hint naming the setting, and no ID is issued; the event
# is logged once, to the server log only (LOG when a call finds it: the
# client whose statement noticed it gets nothing, not even at
# client_min_messages = log; a WARNING when the start finds it), and counted
# in snowflake_status().clock_warnings; raising the bound and reloading lets
# calls continue by borrowing, with IDs greater than every earlier one and the
# lead visible in snowflake_status().
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep sleep time);

my $hour_ms = 3_600_000;
# Found at the first call (LOG, server log only), or already at start-up when
# the clock went back while the server was down (WARNING, from the
# postmaster): either way one line per event.
my $too_far_re = qr/(?:LOG:  snowflake: system clock is \d+ ms behind the last issued ID|WARNING:  snowflake: system clock is \d+ ms behind the reservation stored in "[^"]+"), more than snowflake\.max_clock_drift allows/;
my $borrow_re = qr/LOG:  snowflake: system clock is \d+ ms behind the last issued ID\n/;
# What a client must never get from a clock condition.
# (psql prefixes it with "psql:<stdin>:N: "; VERBOSITY verbose adds the SQLSTATE.)
my $clock_message_re = qr/(?:WARNING|NOTICE|LOG):  (?:[0-9A-Z]{5}: )?snowflake: /;

my $node = snowflake_node('clock_back', 2);
start_node($node);
$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
is($node->safe_psql('postgres', 'SHOW snowflake.max_clock_drift'),
	'10s', 'max_clock_drift defaults to 10s');

my @all = next_ids($node, 1000);
my $max_id = max_of(@all);

# Every call fails as documented, and issues nothing. Returns the gaps named.
sub expect_too_far_behind
{
	my ($label, $calls) = @_;
	my @gaps;
	my ($errors, $hints, $empty, $quiet) = (0, 0, 0, 0);
	for (1 .. $calls)
	{
		my ($ret, $out, $err) = try_next_id($node, 'SET client_min_messages = log');
		$quiet++ if $err !~ $clock_message_re;
		$errors++
		  if $ret != 0
		  && $err =~ /ERROR:  58000: system clock is (\d+) ms behind the last snowflake ID/
		  && push @gaps, $1;
		$hints++
		  if $err =~ /HINT:  Correct the system clock, or raise snowflake\.max_clock_drift to at least \d+ ms and reload the configuration\./;
		$empty++ if $out eq '';
		note "$label: $err" if $_ == 1;
	}
	is($errors, $calls, "$label: each of $calls calls fails with SQLSTATE 58000 naming the gap");
	is($hints, $calls, "$label: with the hint to raise snowflake.max_clock_drift");
	is($empty, $calls, "$label: and returns no ID");
	is($quiet, $calls, "$label: the client gets the ERROR only, no clock message");
	return @gaps;
}

sub set_max_drift
{
	my ($value) = @_;
	my $sql =
	  defined $value
	  ? "ALTER SYSTEM SET snowflake.max_clock_drift = '$value'"
	  : 'ALTER SYSTEM RESET snowflake.max_clock_drift';
	$node->safe_psql('postgres', $sql);
	$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
	my $want = $value // '10s';
	$node->poll_query_until('postgres',
		"SELECT current_setting('snowflake.max_clock_drift') = '$want'")
	  or die "max_clock_drift did not become $want";
	return;
}

# Borrowing after raising the bound: IDs continue above everything before,
# about an hour ahead of the server's clock. Returns the IDs.
sub expect_borrowing
{
	my ($label, $log_offset) = @_;
	# The call that finds the clock behind logs it, for the server log only.
	# (log_statement = all, as TAP servers have it, would send the statement.)
	my ($ret, $out, $err) = $node->psql('postgres',
		"SET log_statement = none;\nSET client_min_messages = log;\n"
		  . 'SELECT snowflake_next_id() FROM generate_series(1, 1000)');
	is($ret, 0, "$label: the calls succeed") or diag $err;
	is($err, '', "$label: and the client gets no message (client_min_messages = log)");
	my @ids = split /\n/, $out;
	push @ids, next_ids($node, 1000);
	cmp_ok(min_of(@ids), '>', $max_id, "$label: IDs are greater than every earlier ID");
	is(strictly_increasing(\@ids), -1, "$label: and increase");
	my $s = snowflake_status($node);
	cmp_ok($s->{borrow_events}, '>=', 1, "$label: snowflake_status() counts a borrow event");
	cmp_ok(abs($s->{clock_drift_ms} - $hour_ms), '<', 10_000,
		"$label: clock_drift_ms ($s->{clock_drift_ms}) is about an hour");
	my $ahead = $node->safe_psql('postgres',
		"SELECT extract(epoch FROM snowflake_timestamp($ids[-1]) - clock_timestamp())");
	cmp_ok(abs($ahead * 1000 - $hour_ms), '<', 10_000,
		"$label: the IDs carry a time about an hour past the server's clock");
	is(count_in_log($node, $borrow_re, $log_offset), 1,
		"$label: borrowing is logged once, as LOG, not per call");
	$max_id = max_of(@ids);
	return @ids;
}

#
# 1. Back 1 hour while the server is down.
#
$node->stop;
my $offset = log_size($node);
start_node($node, clock => '-3600');
my $seen = wait_server_clock_offset($node, -3600);
cmp_ok(abs($seen + 3600), '<', 3,
	sprintf('down: the server restarted with its clock %.0f s behind', -$seen));
ok($node->log_contains(qr/WARNING:  snowflake: system clock is \d+ ms behind the reservation stored in/, $offset),
	'down: the start logs a WARNING that the clock is behind the stored reservation');

my @gaps = expect_too_far_behind('down, default bound', 5);
cmp_ok(abs(($gaps[0] // 0) - $hour_ms), '<', 10_000, "down: the gap named ($gaps[0] ms) is about an hour");
my $s = snowflake_status($node);
is($s->{clock_behind_errors}, '5', 'down: snowflake_status() counts 5 clock-behind errors');
is($s->{last_id}, '', 'down: no ID was issued since the start');
is(count_in_log($node, $too_far_re, $offset), 1, 'down: the event is logged once, at the start');
is($s->{clock_warnings}, '1', 'down: snowflake_status() counts one clock warning');

set_max_drift('2h');
expect_borrowing('down, max_clock_drift 2h', $offset);
is(snowflake_status($node)->{clock_warnings}, '2', 'down: borrowing is the second clock warning');

# Lowering the bound again while still behind is a new event: errors again,
# one more line in the log.
set_max_drift(undef);
expect_too_far_behind('down, bound lowered again', 3);
is(count_in_log($node, $too_far_re, $offset), 2, 'down: the new event is logged once more');
is(snowflake_status($node)->{clock_warnings}, '3', 'down: and counted: 3 clock warnings');

# The clock back to normal: IDs follow it, still above all earlier ones.
$node->stop;
start_node($node);
my @ids = next_ids($node, 100);
cmp_ok(min_of(@ids), '>', $max_id, 'clock restored: IDs are greater than every earlier ID');
$max_id = max_of(@ids);
# What remains is the reservation lead: IDs may start up to 2 windows (the
# borrowed one and the reserve past it) ahead of the clock.
cmp_ok(snowflake_status($node)->{clock_drift_ms}, '<=', 3000,
	'clock restored: at most the reservation lead ahead of the clock');

#
# 2. Back 1 hour while the server runs.
#
my $clock_file = $node->basedir . '/faketime';
write_clock_file($clock_file, '+0');
$node->stop;
start_node($node, clock_file => $clock_file);
$seen = wait_server_clock_offset($node, 0);
cmp_ok(abs($seen), '<', 3, 'running: the server starts with the right clock');
@ids = next_ids($node, 1000);
cmp_ok(min_of(@ids), '>', $max_id, 'running: IDs before the step are greater than earlier ones');
$max_id = max_of(@ids);
my $before = snowflake_status($node);
is($before->{last_id}, $max_id, 'running: last_id is the newest ID');

$offset = log_size($node);
write_clock_file($clock_file, '-3600');
$seen = wait_server_clock_offset($node, -3600);
cmp_ok(abs($seen + 3600), '<', 3,
	sprintf('running: the server clock stepped %.0f s back', -$seen));
@gaps = expect_too_far_behind('running, default bound', 5);
cmp_ok(abs(($gaps[0] // 0) - $hour_ms), '<', 10_000, "running: the gap named ($gaps[0] ms) is about an hour");
$s = snowflake_status($node);
is($s->{clock_behind_errors} - $before->{clock_behind_errors},
	5, 'running: snowflake_status() counts 5 more clock-behind errors');
is($s->{last_id}, $before->{last_id}, 'running: no ID was issued');
is(count_in_log($node, $too_far_re, $offset), 1, 'running: the event is logged once, as LOG');
is($s->{clock_warnings} - $before->{clock_warnings}, 1, 'running: and counted once');

set_max_drift('2h');
expect_borrowing('running, max_clock_drift 2h', $offset);
is(snowflake_status($node)->{clock_warnings} - $before->{clock_warnings},
	2, 'running: borrowing is the second clock warning');

# Forward again: IDs follow the clock once it passes the last issued one.
write_clock_file($clock_file, '+0');
$seen = wait_server_clock_offset($node, 0);
cmp_ok(abs($seen), '<', 3, 'running: the clock is set right again');
@ids = next_ids($node, 100);
cmp_ok(min_of(@ids), '>', $max_id, 'running: IDs after the clock came back are greater');
$max_id = max_of(@ids);
# The IDs may still lead by what the restart above continued after (up to the
# 1.5 s window): IDs follow the clock once it has passed them.
my $deadline = time() + 10;
while (snowflake_status($node)->{clock_drift_ms} != 0 && time() < $deadline)
{
	push @ids, next_ids($node, 10);
	sleep 0.1;
}
# The clock is past every ID now: the next one carries the clock's time.
push @ids, next_ids($node, 10);
$max_id = max_of(@ids);
is(snowflake_status($node)->{clock_drift_ms}, '0', 'running: IDs follow the clock again');
ok($node->log_contains(qr/LOG:  snowflake: IDs follow the system clock again/, $offset),
	'running: the return to normal is logged');
is(snowflake_status($node)->{clock_warnings} - $before->{clock_warnings},
	2, 'running: the return to normal is no clock warning');
# The statement that noticed a condition is not in the log line's context:
# it is an application's, and incidental.
is(count_in_log($node, qr/(?:behind the last issued ID|follow the system clock again)[^\n]*\n(?:[^\n]*(?:DETAIL|HINT):[^\n]*\n)*[^\n]*(?:STATEMENT|CONTEXT):/, 0),
	0, 'no clock line in the log carries the statement or context that noticed it');
set_max_drift(undef);

#
# 3. (f) A clean restart with the clock 7 s back, within the default 10 s
# (with the up to 1.5 s a restart continues ahead, 8.5 s at most).
#
# The newest ID right before the stop, and the reservation stored at the
# stop, which the restart continues above.
$max_id = max_of(next_ids($node, 10));
$node->stop;
my $stored_ms = read_state_file($node)->{reserved_until_ms};
$offset = log_size($node);
start_node($node, clock => '-7');
$seen = server_clock_offset($node);
cmp_ok(abs($seen + 7), '<', 1, sprintf('restart: the server clock is %.1f s behind', -$seen));
is($node->safe_psql('postgres', 'SHOW snowflake.max_clock_drift'), '10s',
	'restart: with the default bound');
my ($ret, $out, $err) = try_next_id($node);
is($ret, 0, 'restart: the first call succeeds') or diag $err;
@ids = ($out, next_ids($node, 2000));
cmp_ok(min_of(@ids), '>', $max_id, 'restart: IDs are greater than every ID before the restart');
is(strictly_increasing(\@ids), -1, 'restart: and increase');
$s = snowflake_status($node);
# The lead the IDs must have at least: they continue above the reservation
# stored at the stop (made on the true clock), the server's clock now reads
# 7 s behind, and IDs stand still while it catches up (so the lead is less
# the time the restart took, more on a loaded machine).
cmp_ok($stored_ms, '>=', id_ms($max_id), 'restart: the stored reservation covers the newest ID');
my $lead_floor_ms = $stored_ms - int((time() + $seen) * 1000 - 1_704_067_200_000);
cmp_ok($s->{borrow_events}, '>=', 1, 'restart: borrowing is counted');
is($s->{clock_warnings}, '1', 'restart: one clock warning, from the start');
cmp_ok($lead_floor_ms, '>', 0, "restart: IDs are ahead of the server's clock (by $lead_floor_ms ms at least)");
cmp_ok($s->{clock_drift_ms}, '>=', $lead_floor_ms - 100,
	"restart: clock_drift_ms $s->{clock_drift_ms} shows the lead");
cmp_ok($s->{clock_drift_ms}, '<=', 10_000, 'restart: within max_clock_drift');
is($s->{clock_behind_errors}, '0', 'restart: no clock-behind error');

$node->stop;
done_testing();

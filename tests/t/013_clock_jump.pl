# A system clock set forward (issue 8, item 5), with libfaketime shifting
# only the wall clock (CLOCK_MONOTONIC stays real):
#   1. a jump of an hour while IDs are issued is held: IDs keep real time,
#      nothing is reserved into the jump, and when the clock is corrected,
#      calls go on without error (the floor is not poisoned);
#      and a crash restart while it is held (shared memory made anew) holds
#      it still: the postmaster remembers where the clock has been. That
#      memory is only put to the test when the postmaster itself reads the
#      jumped clock as it makes shared memory anew, and under libfaketime a
#      PostgreSQL 15 postmaster does not: it reinitialises inside a signal
#      handler, which runs within libfaketime's select() wrapper, where the
#      clock reads real time (its "reinitializing" line carries real time
#      while backends log an hour ahead). So the test reads the postmaster's
#      clock from that line: where it jumped (PostgreSQL 16 and later, whose
#      postmaster works outside signal handlers), it asserts so and the
#      assertions after the restart prove the memory; where it did not, it
#      says so, and the memory is proven by the core's
#      ClockGuardTest.ARestoredGuardHoldsAJumpTheEarlierOneHeld alone;
#   2. the same jump while idle: the reservation writer reserves nothing into
#      it;
#   3. with snowflake.clock_jump_hold = 3s the jump is followed after 3 s,
#      and a later correction then fails calls: what holding prevents.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);

use constant HOUR_MS => 3_600_000;
use constant EPOCH_UNIX_MS => 1_704_067_200_000;

# Waits up to 30 s for $check to return true.
sub wait_for
{
	my ($check) = @_;
	my $deadline = time() + 30;
	while (time() < $deadline)
	{
		return 1 if $check->();
		sleep 0.1;
	}
	return 0;
}

# The layout millisecond of our (real) clock now.
sub real_now_ms { return int(time() * 1000) - EPOCH_UNIX_MS; }

my $node = snowflake_node('clock_jump', 14, "restart_after_crash = on\nlog_timezone = 'UTC'\n");
my $clock_file = $node->basedir . '/faketime';
write_clock_file($clock_file, '+0');
start_node($node, clock_file => $clock_file);
$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
next_ids($node, 1000);

# 1. A jump of an hour while IDs are issued.
my $offset = log_size($node);
write_clock_file($clock_file, '+3600');
wait_server_clock_offset($node, 3600);
my @during = next_ids($node, 20_000);
ok( wait_for(
		sub { count_in_log($node, qr/system clock jumped \d+ ms forward/, $offset) }),
	'the jump is seen (by the first call) and logged');
sleep 1.5;
push @during, next_ids($node, 20_000);
cmp_ok(id_ms(max_of(@during)), '<', real_now_ms() + 3000,
	'IDs during the jump keep real time, not the jumped clock');
cmp_ok(read_state_file($node)->{reserved_until_ms}, '<', real_now_ms() + 3000,
	'nothing is reserved into the jump');

# The crash: kill -9 of the reservation writer (a backend would do as well).
$offset = log_size($node);
my $writer = reservation_writer_pid($node);
ok(defined $writer, 'the reservation writer runs');
kill 'KILL', $writer;
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $offset);
my $reinit_seen = time();
$node->poll_query_until('postgres', 'SELECT 1', '1')
  or die 'the server did not come back';
# The postmaster's clock when it made shared memory anew: the time stamp of
# its "reinitializing" line (log_line_prefix %m, in UTC).
my ($y, $mo, $d, $h, $mi, $sec) = slurp_file($node->logfile, $offset) =~
  /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.\d+ UTC \[\d+\] LOG:  all server processes terminated; reinitializing/m
  or die 'no time stamp on the postmaster\'s reinitializing line';
my $postmaster_ahead_s = timegm($sec, $mi, $h, $d, $mo - 1, $y) - $reinit_seen;
my $postmaster_jumped = $postmaster_ahead_s > 1800;
if ($postmaster_jumped)
{
	pass(sprintf('the postmaster read the jumped clock (%.0f s ahead) as it made shared '
			. 'memory anew: a guard made from its clock would trust the jump', $postmaster_ahead_s));
}
else
{
	cmp_ok(abs($postmaster_ahead_s), '<', 60,
		'the postmaster read real time as it made shared memory anew (libfaketime in a '
		  . 'signal handler)');
	note('so the assertions below hold with or without the remembered guard; the core\'s '
		  . 'ClockGuardTest.ARestoredGuardHoldsAJumpTheEarlierOneHeld proves the memory');
}
push @during, next_ids($node, 20_000);
ok( wait_for(
		sub { count_in_log($node, qr/system clock jumped \d+ ms forward/, $offset) }),
	'after the crash restart the jump is held again');
sleep 1.5;
push @during, next_ids($node, 20_000);
cmp_ok(id_ms(max_of(@during)), '<', real_now_ms() + 3000,
	'after the crash restart IDs still keep real time');
cmp_ok(read_state_file($node)->{reserved_until_ms}, '<', real_now_ms() + 3000,
	'and still nothing is reserved into the jump');

$offset = log_size($node);
write_clock_file($clock_file, '+0');
wait_server_clock_offset($node, 0);
my ($ret, $out, $err) = try_next_id($node);
is($ret, 0, 'after the correction calls go on') or diag $err;
ok(wait_for(sub { count_in_log($node, qr/came back from its forward jump/, $offset) }),
	'the correction is seen (by the first call) and logged');
cmp_ok($out, '>', max_of(@during), 'above every earlier ID');
is(snowflake_status($node)->{clock_behind_errors}, '0', 'no call failed');

# 2. The same jump with no calls: the writer renews ahead for a minute after
# the last ID, but not into the jump.
next_ids($node, 1000);
write_clock_file($clock_file, '+3600');
wait_server_clock_offset($node, 3600);
sleep 2;
cmp_ok(read_state_file($node)->{reserved_until_ms}, '<', real_now_ms() + 3000,
	'idle: the reservation writer reserves nothing into the jump');
write_clock_file($clock_file, '+0');
wait_server_clock_offset($node, 0);
sleep 1.2;
($ret, $out, $err) = try_next_id($node);
is($ret, 0, 'idle: after the correction calls go on') or diag $err;

# 3. A short hold: the jump is followed, and the correction then costs calls.
$node->append_conf('postgresql.conf', "snowflake.clock_jump_hold = '3s'\n");
$node->reload;
sleep 0.5;
$offset = log_size($node);
write_clock_file($clock_file, '+3600');
wait_server_clock_offset($node, 3600);
# The guard decides as calls read the clock: keep calling.
ok( wait_for(
		sub {
			next_ids($node, 10);
			count_in_log($node, qr/IDs follow the system clock.s forward jump after it held/,
				$offset);
		}),
	'with a 3 s hold, the jump is followed');
my @followed = next_ids($node, 1000);
cmp_ok(id_ms(min_of(@followed)), '>', real_now_ms() + HOUR_MS - 60_000,
	'IDs then carry the jumped time');
write_clock_file($clock_file, '+0');
wait_server_clock_offset($node, 0);
sleep 1.2;
($ret, $out, $err) = try_next_id($node);
isnt($ret, 0, 'corrected after it was followed: calls fail (what the hold prevents)');
like($err, qr/ERROR:  58000: system clock is \d+ ms behind the last snowflake ID/,
	'with the clock-too-far-behind error');

$node->stop;
done_testing();

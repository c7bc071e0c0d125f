# A crash restart never forgets the floor (issue 8, item 1): shared memory is
# made anew at a crash restart, but the postmaster remembers the floor, so a
# state directory removed while the server ran (or a state file replaced by
# an older one) is not a first start.
#
# The scenario of the issue: IDs running ahead of a clock set back (20 s
# here, 5 s in the issue: IDs stand still while the clock runs on, and on a
# loaded machine 5 s of lead can be gone before the crash), the directory
# removed, one backend killed with kill -9; the next ID after the crash
# restart must be above every earlier one.
#
# Then: a state file replaced by an older copy while the server ran; a cold
# start without a state directory; and a crash restart after a start whose
# state was unusable (issue 20, item 2): only a floor from a usable state is
# remembered.
use strict;
use warnings;
use File::Path qw(rmtree);
use IPC::Run;
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);

my $node = snowflake_node('lost_directory', 12,
	"restart_after_crash = on\nsnowflake.max_clock_drift = '60s'\n");
my $clock_file = $node->basedir . '/faketime';
write_clock_file($clock_file, '+0');
start_node($node, clock_file => $clock_file);
$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
my @before = next_ids($node, 50_000);

# The clock goes back 20 s: IDs borrow ahead of it.
write_clock_file($clock_file, '-20');
wait_server_clock_offset($node, -20);
push @before, next_ids($node, 50_000);
cmp_ok(snowflake_status($node)->{clock_drift_ms}, '>', 3000, 'IDs run ahead of the clock');

# kill -9 of one server process of $node, then waits for the crash restart
# to finish. Without a PID, the process killed is a backend started for the
# purpose.
sub crash_restart
{
	my ($node, $pid) = @_;
	my $log_offset = log_size($node);
	my $h;
	if (!defined $pid)
	{
		# A session that stays, so that its backend can be killed.
		$h = IPC::Run::start(
			[
				'psql', '-XAtq', '-d',
				$node->connstr('postgres') . ' application_name=victim',
				'-c', 'SELECT pg_sleep(600)'
			],
			'>', '/dev/null', '2>', '/dev/null');
		$node->poll_query_until('postgres',
			"SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'victim'")
		  or die 'the victim session did not start';
		$pid = $node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE application_name = 'victim'");
	}
	kill 'KILL', $pid;
	eval { $h->finish } if $h;
	# Not SELECT 1 first: it could still reach the server before the crash.
	$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
	$node->poll_query_until('postgres', 'SELECT 1', '1')
	  or die 'the server did not come back';
	ok(count_in_log($node, qr/terminated by signal 9: Killed/, $log_offset),
		'a server process was killed and the server restarted');
	return $log_offset;
}

# Removes the server's state directory. The reservation writer may be
# writing a file into it at that moment (a renewal ahead of need: the state
# file's temporary copy, the own-floor file), which leaves the directory
# behind ("Directory not empty", seen once on a loaded machine): remove it
# again until it is gone.
sub remove_state_directory
{
	my ($server) = @_;
	my $dir = $server->data_dir . '/pg_snowflake';
	for (1 .. 100)
	{
		rmtree($dir, { error => \my $errors });
		return if !-e $dir;
		sleep(0.01);
	}
	return;
}

# A checkpoint after the last renewal: crash recovery then replays no
# reservation from WAL, so only the postmaster's memory can keep the floor.
$node->safe_psql('postgres', 'CHECKPOINT');
remove_state_directory($node);
ok(!-e $node->data_dir . '/pg_snowflake', 'the state directory is gone');
my $offset = crash_restart($node);
my @after = next_ids($node, 1000);
cmp_ok(min_of(@after), '>', max_of(@before),
	'after the crash restart, IDs continue above every earlier one');
ok(count_in_log($node, qr/was missing at a crash restart; recreated it/, $offset),
	'the server log says the directory was recreated from the floor it held');
ok(!count_in_log($node, qr/this is the first start/, $offset), 'it is not a first start');
cmp_ok(read_state_file($node)->{reserved_until_ms}, '>=', id_ms(max_of(@after)),
	'the recreated state file covers the new IDs');

# A state file replaced by an older one while the server ran. The clock is
# right again, so reservations follow it and the copy is soon older. The
# crash restart made the clock guard anew while the clock was 20 s back; the
# postmaster remembers where it had been, so the correction is no jump.
my $clock_offset = log_size($node);
write_clock_file($clock_file, '+0');
wait_server_clock_offset($node, 0);
next_ids($node, 1000);
# The own-floor file (src/pg/own_floor.h) is a copy as old as the state
# file's, so that only the postmaster's memory can keep the floor.
my $own_floor_file = own_floor_file($node);
my $older = read_raw(state_file($node));
my $older_own = read_raw($own_floor_file);
push @after, next_ids($node, 50_000);
sleep 2;
push @after, next_ids($node, 50_000);
ok(!count_in_log($node, qr/system clock jumped \d+ ms forward/, $clock_offset),
	'after the crash restart, the correction back to where the clock had been is no jump');
cmp_ok(read_state_file($node)->{reserved_until_ms}, '>',
	unpack('Q<', substr($older, 16, 8)), 'the copy is older than the file now');
$node->safe_psql('postgres', 'CHECKPOINT');
# The reservation writer renews within 50 ms of the last IDs, and every
# second while the clock runs past them: it would soon replace the older
# copy with the current reservation (then nothing is older at the restart).
# Stopped, it writes nothing more; killed, it is the crash.
my $writer = reservation_writer_pid($node);
ok(defined $writer, 'the reservation writer runs');
stop_processes($writer) or die "the reservation writer did not stop";
for ([ state_file($node), $older ], [ $own_floor_file, $older_own ])
{
	open my $fh, '>:raw', $_->[0] or die "$_->[0]: $!";
	print $fh $_->[1];
	close $fh;
}
is(read_raw(state_file($node)), $older, 'the state file is the older copy when the server crashes');
is(read_raw($own_floor_file), $older_own, 'and so is the own-floor file');
$offset = crash_restart($node, $writer);
my @last = next_ids($node, 1000);
cmp_ok(min_of(@last), '>', max_of(@after),
	'an older state file at a crash restart does not lower the floor');
ok(count_in_log($node, qr/holds an older reservation than this server held/, $offset),
	'and the server log says so');

$node->stop;

# A cold start without a state directory (lost while the server was down, or
# left behind by pg_upgrade or a restore tool), with the clock set back 5 s
# while down: IDs start past the latest checkpoint in pg_control, so above
# every earlier one.
my $cold = snowflake_node('cold_start', 13);
start_node($cold);
$cold->safe_psql('postgres', 'CREATE EXTENSION snowflake');
my @cold_before = next_ids($cold, 50_000);
# The assumption of a start without state: at its last checkpoint the server
# ran at most the reservation window ahead of its clock. Its own first start
# continued past initdb's checkpoint, so let the clock catch up first.
$cold->poll_query_until('postgres',
	'SELECT snowflake_next_id() > 0 AND clock_drift_ms = 0 FROM snowflake_status()')
  or die 'IDs did not catch up with the clock';
push @cold_before, next_ids($cold, 1000);
$cold->stop;
rmtree($cold->data_dir . '/pg_snowflake');
$offset = log_size($cold);
start_node($cold, clock => '-5');
my @cold_after = next_ids($cold, 1000);
cmp_ok(min_of(@cold_after), '>', max_of(@cold_before),
	'a cold start without state, clock 5 s back: IDs above every earlier one');
ok(count_in_log($cold, qr/no state was found/, $offset), 'the server log says no state was found');
like(snowflake_status($cold)->{state}, qr/^ready$/, 'and it is ready');
$cold->stop;

# A crash restart after a start whose state was unusable (issue 20, item 2):
# that start issued nothing and held no floor, so there is none to remember;
# with the state directory moved aside while it ran, the crash restart is a
# start without state, bounded by the latest checkpoint, not a restart from
# a floor of 0. The sequence of the issue: IDs issued, the server stopped,
# its state file overwritten with random bytes, the server started with its
# clock 30 s behind (calls refused), the directory moved aside, a backend
# killed. No checkpoint runs in between: the latest is the shutdown's.
my $unusable = snowflake_node('unusable_start', 14,
	"restart_after_crash = on\nsnowflake.max_clock_drift = '60s'\n");
start_node($unusable);
$unusable->safe_psql('postgres', 'CREATE EXTENSION snowflake');
# As above: the bound assumes IDs within the window of the clock at the
# checkpoint, and a first start continues past initdb's checkpoint.
$unusable->poll_query_until('postgres',
	'SELECT snowflake_next_id() > 0 AND clock_drift_ms = 0 FROM snowflake_status()')
  or die 'IDs did not catch up with the clock';
my @unusable_before = next_ids($unusable, 50_000);
$unusable->stop;
open my $random, '>:raw', state_file($unusable) or die $!;
print $random pack('C*', map { int(rand(256)) } 1 .. 40);
close $random;
start_node($unusable, clock => '-30');
cmp_ok(wait_server_clock_offset($unusable, -30), '<', -27, 'the clock is 30 s behind');
my ($ret, $stdout, $stderr) = try_next_id($unusable);
like($stderr, qr/ERROR:  XX001: snowflake state file "pg_snowflake\/state" is corrupt/,
	'with the state file overwritten, calls are refused');
rename($unusable->data_dir . '/pg_snowflake', $unusable->data_dir . '/pg_snowflake.damaged')
  or die "cannot move the state directory aside: $!";
$offset = crash_restart($unusable);
my @unusable_after = next_ids($unusable, 1000);
note sprintf('the first ID after the crash restart is %d ms after the earlier maximum',
	id_ms(min_of(@unusable_after)) - id_ms(max_of(@unusable_before)));
cmp_ok(min_of(@unusable_after), '>', max_of(@unusable_before),
	'after the crash restart, IDs continue above every ID issued before the unusable start');
ok(count_in_log($unusable, qr/no state was found/, $offset),
	'the crash restart starts without state, past the latest checkpoint');
ok(!count_in_log($unusable, qr/recreated it with the reservation this server held/, $offset),
	'not from a floor remembered from the unusable start');
$unusable->stop;

done_testing();

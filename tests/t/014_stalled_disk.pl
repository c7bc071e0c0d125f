# A stalled disk (issue 8, item 4): a renewal whose fsync does not return
# holds the renewal lock, and every call that reaches the end of the window
# waits for it. Those waits must be interruptible: statement_timeout,
# pg_cancel_backend and pg_terminate_backend end them, and generation resumes
# by itself when the disk answers again.
#
# The stall is real to the server: an LD_PRELOAD shim (tests/t/shim/, built
# here with cc, test-only) blocks every fsync under pg_snowflake/ while a flag
# file exists.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);

my $tmp = PostgreSQL::Test::Utils::tempdir('stall');
my $shim = "$tmp/stall_fsync.so";
system('cc', '-shared', '-fPIC', '-O2', '-o', $shim, "$FindBin::RealBin/shim/stall_fsync.c",
	'-ldl') == 0
  or BAIL_OUT('cannot build the fsync-stalling shim with cc');
my $flag = "$tmp/stall";
# However the test ends, the disk answers again, so the server can stop.
END { unlink $flag if defined $flag; }

my $node = snowflake_node('stalled_disk', 15);
{
	local $ENV{LD_PRELOAD} = $shim;
	local $ENV{SNOWFLAKE_STALL_FILE} = $flag;
	$node->start;
}
$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
my @before = next_ids($node, 10_000);

# The disk stops answering: the next renewal blocks in fsync, holding the lock.
open my $fh, '>', $flag or die $!;
close $fh;
# No call for 2 s: the reservation writer renews ahead and is the one stuck
# in fsync (a backend stuck there itself is in the kernel, like any process
# whose disk stopped; the test is about the others).
sleep 2;
my $flood = 'SELECT count(snowflake_next_id()) FROM (SELECT generate_series(1, 1e10)) s';

my $t0 = time();
# Bounded, so that an uninterruptible wait fails the test instead of hanging it.
my $timed_out = 0;
my ($ret, $out, $err) = $node->psql(
	'postgres',
	"\\set VERBOSITY verbose\nSET statement_timeout = '3s';\n$flood",
	timeout => 30,
	timed_out => \$timed_out);
my $took = time() - $t0;
ok(!$timed_out, 'the call did not hang');
isnt($ret, 0, 'with the disk stalled, calls stop at the end of the window');
like($err, qr/ERROR:  57014: canceling statement due to statement timeout/,
	'statement_timeout ends the wait');
cmp_ok($took, '<', 10, sprintf('promptly (%.1f s)', $took));
# A waiting session ends with pg_cancel_backend, another with pg_terminate_backend.
for my $how (qw(pg_cancel_backend pg_terminate_backend))
{
	my ($in, $o, $e) = ('', '', '');
	my $h = IPC::Run::start(
		[
			'psql', '-XAtq', '-d',
			$node->connstr('postgres') . " application_name=$how", '-c', $flood
		],
		\$in, \$o, \$e, IPC::Run::timeout(30));
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = '$how' "
		  . "AND state = 'active' AND wait_event IS NOT NULL")
	  or die "the $how session did not start waiting";
	sleep 0.5;
	$node->safe_psql('postgres',
		"SELECT $how(pid) FROM pg_stat_activity WHERE application_name = '$how'");
	my $t = time();
	eval { $h->finish; 1 } or $h->kill_kill;
	like($e,
		$how eq 'pg_cancel_backend'
		? qr/canceling statement due to user request/
		: qr/terminating connection due to administrator command/,
		"$how ends a waiting call");
	cmp_ok(time() - $t, '<', 10, "$how: promptly");
}

# The disk answers again: generation resumes by itself, above every ID before.
unlink $flag;
my @after;
ok( $node->poll_query_until('postgres', 'SELECT snowflake_next_id() > 0'),
	'generation resumes once the disk answers');
@after = next_ids($node, 1000);
cmp_ok(min_of(@after), '>', max_of(@before), 'above every ID before the stall');
$node->stop;
done_testing();

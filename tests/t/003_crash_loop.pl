# Crash loop (issue 3, test a): 24 rounds of load, then kill -9 of the
# postmaster (12 rounds), of a backend in the middle of an INSERT (6) or of the
# reservation writer (6), then a restart. A killed backend or worker makes the
# postmaster reinitialise shared memory, so the generator restarts from the
# state file either way.
#
# Asserted (DESIGN.md G1, G2): every ID after each restart is greater than
# every ID returned before it, counting committed rows and IDs only returned
# to the client; no ID is returned twice; after a postmaster restart the first
# ID's millisecond is past the reserved_until stored in the state file.
# Also measured: reservation writes (one fsync'd file replacement each) per
# second under steady load.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

my $rounds = 24;

# The default snowflake.max_clock_drift (10 s) is kept on purpose: each start
# continues after the stored reservation, up to 1.5 s ahead of the clock, and
# rounds are shorter than that. Those leads must not pile up into a "clock
# behind" error (see 008 and src/core/reservation.h), so any error here fails.
my $node = snowflake_node(
	'crash_loop', 1,
	"restart_after_crash = on\n"
	  . "log_statement = none\n"
	  . "max_connections = 20\n");
start_node($node);
$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
# No unique index: a duplicate must be counted, not rejected.
$node->safe_psql('postgres', 'CREATE TABLE t (id bigint NOT NULL)');

# Steady load: how many reservation writes (each a file write, fsync, rename
# and directory fsync) per second. A first start continues past the latest
# checkpoint, up to 2.5 s ahead of the clock (docs/backup-restore.md, "A start without
# state"); steady state begins once the clock has caught up.
$node->poll_query_until('postgres',
	'SELECT snowflake_next_id() > 0 AND clock_drift_ms = 0 FROM snowflake_status()')
  or die 'IDs did not catch up with the clock';
{
	my $seconds = 5;
	my $script = $node->basedir . '/next_id.sql';
	append_to_file($script, "SELECT snowflake_next_id();\n");
	my $s0 = snowflake_status($node);
	my $t0 = time();
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run(
		[
			'pgbench', '--no-vacuum', '--client=4', '--jobs=2',
			"--time=$seconds", '--file', $script,
			'--host', $node->host, '--port', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err);
	my $elapsed = time() - $t0;
	my $s1 = snowflake_status($node);
	ok($ok, 'pgbench steady load ran') or diag $err;
	my ($calls) = $out =~ /actually processed: (\d+)/;
	$calls //= 0;
	my $writes = $s1->{reservation_writes} - $s0->{reservation_writes};
	my $rate = $writes / $elapsed;
	note sprintf('steady load: %d calls in %.1f s, %d reservation writes: %.2f/s, '
		  . '%.0f IDs per write', $calls, $elapsed, $writes, $rate, $calls / ($writes || 1));
	cmp_ok($writes, '>=', $seconds - 2, 'reservations are renewed while IDs are issued');
	cmp_ok($rate, '<=', 2.5, 'about one reservation write per second, not one per ID');
	cmp_ok($calls, '>', 20 * $writes, 'each reservation write covers many IDs');
	is($s1->{reservation_failures}, '0', 'no reservation failed');
}

my %returned;         # every ID returned to a client => times returned
my %select_only;      # IDs returned by SELECT (never inserted)
my $max_returned = 0;
my ($clients_total, $first_ok, $later_ok, $floor_ok) = (0, 0, 0, 0);
my %kills;
my $floor;            # reserved_until read from the state file before a start

sub remember
{
	my ($ids, $select) = @_;
	for my $id (@$ids)
	{
		$returned{$id}++;
		$select_only{$id} = 1 if $select;
		$max_returned = $id if $id > $max_returned;
	}
	return;
}

sub reservation_writer_pid
{
	my $pm = $node->{_pid};
	for (1 .. 100)
	{
		for my $line (split /\n/, `ps -eo pid=,ppid=,args=`)
		{
			return $1
			  if $line =~ /^\s*(\d+)\s+(\d+)\s+.*snowflake reservation writer/
			  && $2 == $pm;
		}
		usleep(50_000);
	}
	return undef;
}

for my $round (1 .. $rounds + 1)
{
	# Everything returned or committed before this (re)start.
	my $max_committed =
	  $node->safe_psql('postgres', 'SELECT coalesce(max(id), 0) FROM t');
	my $max_before = max_of($max_returned, $max_committed);
	my ($first) = next_ids($node, 1);
	if ($round > 1)
	{
		$first_ok++ if $first > $max_before;
		ok($first > $max_before,
			"round " . ($round - 1) . ": the first ID after the restart is greater than "
			  . "every ID before it")
		  or diag "first $first, max before $max_before";
	}
	if (defined $floor)
	{
		$floor_ok++ if id_ms($first) > $floor;
		ok(id_ms($first) > $floor,
			"round " . ($round - 1) . ": its millisecond is past the stored reservation")
		  or diag 'first ms ' . id_ms($first) . ", stored $floor";
		$floor = undef;
	}
	remember([$first], 1);
	last if $round > $rounds;

	# Load: one session returns IDs only to the client, one inserts and
	# returns what it inserted.
	my $sel = start_client($node, 'load_select',
		'SELECT snowflake_next_id() FROM generate_series(1, 5);', 50000);
	my $ins = start_client($node, 'load_insert',
		'INSERT INTO t SELECT snowflake_next_id() FROM generate_series(1, 5) RETURNING id;',
		50000);
	$node->poll_query_until('postgres',
		"SELECT count(*) = 2 FROM pg_stat_activity "
		  . "WHERE application_name IN ('load_select', 'load_insert')")
	  or die 'the load clients did not connect';
	usleep(300_000 + 50_000 * ($round % 8));

	my $kind =
	    $round % 2 ? 'postmaster'
	  : $round % 4 ? 'backend'
	  :              'reservation writer';
	$kills{$kind}++;
	my $log_offset = log_size($node);
	if ($kind eq 'postmaster')
	{
		kill9_postmaster($node);
	}
	else
	{
		my $pid =
		  $kind eq 'backend'
		  ? $node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE application_name = 'load_insert'")
		  : reservation_writer_pid();
		die "no $kind process found" unless $pid;
		kill 9, $pid or die "kill $pid: $!";
	}

	my @sel_ids = finish_client($sel);
	my @ins_ids = finish_client($ins);
	$clients_total += @sel_ids + @ins_ids;
	ok(@sel_ids > 0 && @ins_ids > 0,
		"round $round (kill -9 of the $kind): both clients got IDs before the crash")
	  or diag "select: $sel->{err}\ninsert: $ins->{err}";
	is(strictly_increasing(\@sel_ids), -1, "round $round: IDs increase within a session")
	  or diag 'select session not increasing';
	is(strictly_increasing(\@ins_ids), -1, "round $round: IDs increase within a session")
	  or diag 'insert session not increasing';
	my $round_min = min_of(@sel_ids, @ins_ids) // 0;
	$later_ok++ if $round_min > $first;
	cmp_ok($round_min, '>', $first, "round $round: the load's IDs follow the first one");
	remember(\@sel_ids, 1);
	remember(\@ins_ids, 0);

	if ($kind eq 'postmaster')
	{
		my $state = read_state_file($node);
		$floor = $state->{reserved_until_ms};
		start_node($node);
	}
	else
	{
		# The postmaster stops every process and reinitialises shared memory.
		$node->wait_for_log(
			qr/all server processes terminated; reinitializing.*database system is ready to accept connections/s,
			$log_offset);
		$node->poll_query_until('postgres', 'SELECT true')
		  or die 'the server did not come back after the crash';
	}
}

note "kills: "
  . join(', ', map { "$_ $kills{$_}" } sort keys %kills)
  . "; IDs returned to clients: "
  . scalar(keys %returned);
is($first_ok, $rounds,
	"after all $rounds restarts the first ID was greater than every earlier ID");
is($floor_ok, $kills{postmaster}, 'after every postmaster restart it was past the stored reservation');
is($later_ok, $rounds, 'and the load after it followed it');

my $dup_returned = grep { $returned{$_} > 1 } keys %returned;
is($dup_returned, 0, 'no ID was returned to a client twice');

my ($rows, $distinct) = split /\|/,
  $node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT id) FROM t');
cmp_ok($rows, '>', 0, "$rows rows committed");
is($distinct, $rows, 'no committed ID appears twice');
my @committed = split /\n/, $node->safe_psql('postgres', 'SELECT id FROM t');
my $in_both = grep { $select_only{$_} } @committed;
is($in_both, 0, 'no committed ID was also returned by a SELECT');
my $unacknowledged = grep { !$returned{$_} } @committed;
note "$unacknowledged committed IDs never reached the client (killed before the reply)";

my $status = snowflake_status($node);
is($status->{state}, 'ready', 'the server is ready after the loop');
is($status->{reservation_failures}, '0', 'no reservation failed');

$node->stop;
done_testing();

# Node ids leased from etcd (issue 9), with a real three-member etcd cluster
# (Debian's etcd-server) on loopback:
#   - two servers with the same node id: the second refuses, naming the
#     holder; the first keeps issuing; the second takes over when the first
#     stops, above its IDs;
#   - hand-over after kill -9, to a server whose clock is 8 s behind (more
#     than the TTL it waits, so the wait does not make up for the clock);
#   - hand-over from a frozen holder (SIGSTOP), which must not issue again
#     when it is thawed;
#   - the holder loses etcd (all members frozen, then all killed): it stops
#     within the lease time with the documented error, and resumes;
#   - one member of three killed or frozen: no interruption;
#   - five servers without a node id get five distinct ids, kept across
#     clean restarts and a kill -9.
# Every ID returned is merged at the end: no duplicates.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use SnowflakeTAP;
use SnowflakeEtcd;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);

for my $program (qw(etcd etcdctl))
{
	system("command -v $program >/dev/null") == 0
	  or die "$program is not installed (Debian packages etcd-server, etcd-client)";
}

my $ttl = 5;    # snowflake.node_lease_ttl, seconds: short, so the test is too
my $etcd = SnowflakeEtcd->new($PostgreSQL::Test::Utils::tmp_check, 3);
pass('a three-member etcd cluster is up');

sub coordinated_node
{
	my ($name, $node_id, $extra) = @_;
	return snowflake_node(
		$name,
		$node_id // -1,
		"snowflake.etcd_endpoints = '"
		  . $etcd->endpoints . "'\n"
		  . "snowflake.node_lease_ttl = ${ttl}s\n"
		  . ($extra // ''));
}

# ---- Two servers, one node id ---------------------------------------------
# C takes node id 9 over after a kill -9, below. Its data directory is made
# now: a first start begins after the latest checkpoint, so a directory made
# later would start C above B's IDs whatever etcd's mark said.
my $c = coordinated_node('lease_c', 9);
my $a = coordinated_node('lease_a', 9);
start_node($a);
$a->safe_psql('postgres', 'CREATE EXTENSION snowflake');
ok(wait_snowflake_state($a, 'ready'), 'A holds node id 9');
my $a_status = snowflake_status($a);
is( join(',', map { $a_status->{$_} } qw(lease_claims leases_lost fence_expirations)),
	'1,0,0', 'snowflake_status() on A: one claim, no lease lost, no fence expired');
my @a_ids = keep_ids('a', next_ids($a, 1000));

my $b = coordinated_node('lease_b', 9);
start_node($b);
$b->safe_psql('postgres', 'CREATE EXTENSION snowflake');
ok(wait_snowflake_state($b, 'node id held by another server'), 'B, also node id 9, is refused');
is(snowflake_status($b)->{lease_claims}, '0', 'snowflake_status() on B: no claim');
my ($ret, $out, $err) = try_next_id($b);
isnt($ret, 0, "B's snowflake_next_id() fails");
like($err, qr/ERROR:  55P03: snowflake node id 9 is held by another server/,
	'with SQLSTATE 55P03 and the node id');
my $a_port = $a->port;
my $a_sysid = system_identifier($a);
like($err, qr/port $a_port, system identifier $a_sysid/, 'the detail names the holder');
like($err, qr/HINT:  .*snowflake\.node_id/, 'the hint says what to do');
push @a_ids, keep_ids('a', next_ids($a, 1000));
is(scalar(@a_ids), 2000, 'A keeps issuing');
is( $a->safe_psql(
		'postgres',
		'SELECT holder_port, this_server, high_water IS NOT NULL FROM snowflake_fleet() '
		  . 'WHERE node_id = 9'),
	"$a_port|t|t",
	"snowflake_fleet() on A: node id 9 is A's, with a high-water mark");
is($b->safe_psql('postgres', 'SELECT this_server FROM snowflake_fleet() WHERE node_id = 9'),
	'f', 'and on B it is not B\'s');

# A stops cleanly (releases the lease): B takes over without a restart.
my $t0 = time();
$a->stop;
ok(wait_snowflake_state($b, 'ready', 30), 'B claims node id 9 once A released it');
my $takeover = time() - $t0;
cmp_ok($takeover, '<', $ttl, 'without waiting for the lease to expire');
is(snowflake_status($b)->{lease_claims}, '1', 'snowflake_status() on B: one claim');
my @b_ids = keep_ids('b', next_ids($b, 2000));
cmp_ok(min_of(@b_ids), '>', max_of(@a_ids), "every ID of B is above every ID of A");

# ---- Hand-over after kill -9, to a clock 8 s behind -------------------------
# Every process of B at once, as a machine that dies would: no process is
# left to give the lease back (a postmaster killed alone is noticed by the
# reservation writer, which releases the lease as it exits), so C must wait
# for the lease to expire.
push @b_ids, keep_ids('b', next_ids($b, 5000));
my @b_processes = ($b->{_pid}, postmaster_children($b->{_pid}));
# Stopped first: kill -9 one by one, the writer could see the postmaster die
# and give the lease back before its own signal came (a loaded machine).
stop_processes(@b_processes) or die 'the processes of B did not stop';
kill 'KILL', @b_processes;
$t0 = time();
wait_gone(\@b_processes, 1) or die 'the processes of B linger';
# B died without removing its lock file; the test's record of it follows.
unlink $b->data_dir . '/postmaster.pid';
$b->_update_pid(0);
start_node($c, clock => '-8');
$c->safe_psql('postgres', 'CREATE EXTENSION snowflake');
ok(wait_snowflake_state($c, 'node id held by another server', 10),
	'C (node id 9, clock 8 s behind) waits: the killed B still holds the lease');
ok(wait_snowflake_state($c, 'ready', 30), 'C claims node id 9 once the lease expired');
my $killed_wait = time() - $t0;
cmp_ok($killed_wait, '>=', $ttl - 1.5, sprintf('after about the TTL (%.1f s)', $killed_wait));
cmp_ok($killed_wait, '<=', $ttl + 3, 'and not much later');
my @c_ids = keep_ids('c', next_ids($c, 2000));
cmp_ok(min_of(@c_ids), '>', max_of(@b_ids),
	'every ID of C is above every ID the killed B returned');

# ---- Hand-over from a frozen holder -----------------------------------------
push @c_ids, keep_ids('c', next_ids($c, 5000));
my $c_before = snowflake_status($c);
my @frozen = ($c->{_pid}, postmaster_children($c->{_pid}));
kill 'STOP', @frozen;
# D streams to a standby later (a hot standby claims nothing; a promoted
# one takes the node id over).
my $d = PostgreSQL::Test::Cluster->new('lease_d');
$d->init(allows_streaming => 1);
$d->append_conf('postgresql.conf',
	"shared_preload_libraries = 'snowflake'\nsnowflake.node_id = 9\n"
	  . "snowflake.etcd_endpoints = '" . $etcd->endpoints . "'\n"
	  . "snowflake.node_lease_ttl = ${ttl}s\n");
start_node($d);
$d->safe_psql('postgres', 'CREATE EXTENSION snowflake');
ok(wait_snowflake_state($d, 'ready', 30), 'D claims node id 9 from the frozen C once its lease expired');
my @d_ids = keep_ids('d', next_ids($d, 2000));
cmp_ok(min_of(@d_ids), '>', max_of(@c_ids), 'every ID of D is above every ID of C');
kill 'CONT', @frozen;
my $c_issued = 0;
my $c_refusals = 0;
for (1 .. 20)
{
	my ($r, $o, $e) = try_next_id($c);
	if ($r == 0) { $c_issued++; keep_ids('c-thawed', $o) }
	elsif ($e =~ /55P03/) { $c_refusals++ }
	sleep 0.1;
}
is($c_issued, 0, 'the thawed C issues nothing');
is($c_refusals, 20, 'every call fails with 55P03');
ok(wait_snowflake_state($c, 'node id held by another server', 30),
	'and C sees that D holds node id 9');
my $c_after = snowflake_status($c);
is($c_after->{leases_lost} - $c_before->{leases_lost}, 1, 'snowflake_status() on C: the lease lost');
is($c_after->{fence_expirations} - $c_before->{fence_expirations},
	1, 'and its fence expired once (while frozen)');
push @d_ids, keep_ids('d', next_ids($d, 1000));
$c->stop;

# ---- The holder loses etcd --------------------------------------------------
# Calls every 50 ms until one fails; returns (seconds from $since to the last
# success, seconds to the first failure, its error).
sub issue_until_fenced
{
	my ($node, $since, $name) = @_;
	my $last_ok = $since;
	while (time() - $since < 3 * $ttl)
	{
		my ($r, $o, $e) = try_next_id($node);
		if ($r != 0) { return ($last_ok - $since, time() - $since, $e) }
		keep_ids($name, $o);
		$last_ok = time();
		sleep 0.05;
	}
	return ($last_ok - $since, undef, '');
}

# The fence's expiry is counted when the writer next publishes one, which
# may wait for its etcd request to time out.
sub wait_fence_expirations
{
	my ($node, $above) = @_;
	return $node->poll_query_until('postgres',
		"SELECT fence_expirations > $above FROM snowflake_status()");
}

my $d_fences = snowflake_status($d)->{fence_expirations};
$etcd->freeze_member($_) for 0 .. 2;
$t0 = time();
my ($kept, $failed_at, $fence_error) = issue_until_fenced($d, $t0, 'd');
ok(defined $failed_at, 'with every etcd member frozen, D stops issuing');
cmp_ok($kept, '<', $ttl, sprintf('within the lease time (last ID %.2f s after etcd froze)', $kept));
like($fence_error, qr/55P03: snowflake cannot confirm its node-id lease with etcd/,
	'with the documented error');
ok(wait_fence_expirations($d, $d_fences), 'snowflake_status() on D counts the expired fence');
$d_fences = snowflake_status($d)->{fence_expirations};
my $longest_fenced_issue = $kept;
# snowflake_fleet() asks etcd from the backend: a statement_timeout still
# ends it while etcd does not answer (each request would wait its timeout).
my $t_fleet = time();
my ($fleet_ret, $fleet_out, $fleet_err) = $d->psql('postgres',
	"SET statement_timeout = '500ms'; SELECT count(*) FROM snowflake_fleet()");
my $fleet_s = time() - $t_fleet;
like($fleet_err, qr/canceling statement due to statement timeout/,
	'snowflake_fleet() with etcd frozen: statement_timeout ends it');
cmp_ok($fleet_s, '<', 2.5, sprintf('within %.2f s', $fleet_s));
$etcd->thaw_member($_) for 0 .. 2;
ok(wait_snowflake_state($d, 'ready', 60), 'D issues again once etcd answers');
push @d_ids, keep_ids('d', next_ids($d, 1000));

$etcd->kill_member($_) for 0 .. 2;
$t0 = time();
($kept, $failed_at, $fence_error) = issue_until_fenced($d, $t0, 'd');
ok(defined $failed_at, 'with every etcd member killed, D stops issuing');
ok(wait_fence_expirations($d, $d_fences), 'and counts a second expired fence');
cmp_ok($kept, '<', $ttl, sprintf('within the lease time (last ID %.2f s after)', $kept));
$longest_fenced_issue = $kept if $kept > $longest_fenced_issue;
$etcd->start_member($_) for 0 .. 2;
$etcd->wait_healthy($_) for 0 .. 2;
ok(wait_snowflake_state($d, 'ready', 60), 'and again once etcd is back');
my @d_after = keep_ids('d', next_ids($d, 1000));
cmp_ok(min_of(@d_after), '>', max_of(@d_ids), 'IDs continue above the earlier ones');
push @d_ids, @d_after;

# One member of three lost (killed, then frozen): no interruption.
for my $fault ('killed', 'frozen')
{
	$fault eq 'killed' ? $etcd->kill_member(0) : $etcd->freeze_member(0);
	my $failures = 0;
	my $calls = 0;
	$t0 = time();
	while (time() - $t0 < 3 * $ttl)
	{
		my ($r, $o, $e) = try_next_id($d);
		$calls++;
		if ($r == 0) { keep_ids('d', $o) }
		else { $failures++; diag("call failed with member 0 $fault: $e") }
		sleep 0.05;
	}
	is($failures, 0, "one etcd member of three $fault: $calls calls over "
		  . 3 * $ttl . ' s, none failed');
	if ($fault eq 'killed')
	{
		$etcd->start_member(0);
		$etcd->wait_healthy(0);
	}
	else
	{
		$etcd->thaw_member(0);
	}
}
# ---- A hot standby of D claims nothing; promoted, it takes node id 9 over --
$d->backup('d_backup');
my $standby = PostgreSQL::Test::Cluster->new('lease_d_standby');
$standby->init_from_backup($d, 'd_backup', has_streaming => 1);
start_node($standby);
push @d_ids, keep_ids('d', next_ids($d, 1000));
$d->wait_for_catchup($standby);
is(snowflake_state($standby), 'in recovery', 'the standby (also node id 9) is in recovery');
my $standby_port = $standby->port;
is($d->safe_psql('postgres',
		"SELECT count(*) FROM snowflake_fleet() WHERE holder_port = $standby_port"),
	0, 'and holds nothing in etcd');
$d->stop;    # releases node id 9
$standby->promote;
ok(wait_snowflake_state($standby, 'ready', 30), 'promoted, it claims node id 9');
my @promoted_ids = keep_ids('promoted', next_ids($standby, 1000));
cmp_ok(min_of(@promoted_ids), '>', max_of(@d_ids), 'above every ID of its old primary');
$standby->stop;

# ---- Five servers without a node id -----------------------------------------
my @fleet = map { coordinated_node("assigned_$_") } 1 .. 5;
for my $node (@fleet)
{
	start_node($node);
	$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
}
ok(wait_snowflake_state($_, 'ready'), $_->name . ' is assigned a node id') for @fleet;
my @assigned = map { node_id_of($_) } @fleet;
my %distinct = map { $_ => 1 } @assigned;
is(scalar(keys %distinct), 5, "five distinct node ids: @assigned");
keep_ids($_->name, next_ids($_, 500)) for @fleet;
is( $fleet[0]->safe_psql(
		'postgres', 'SELECT count(*) FROM snowflake_fleet() WHERE holder_port IS NOT NULL'),
	5, 'snowflake_fleet() lists the five holders');
is($fleet[0]->safe_psql('postgres', 'SELECT node_id FROM snowflake_fleet() WHERE this_server'),
	$assigned[0], 'and marks this server');

for my $node (@fleet) { $node->stop }
for my $node (@fleet) { start_node($node) }
ok(wait_snowflake_state($_, 'ready'), $_->name . ' is ready after a restart') for @fleet;
is(join(' ', map { node_id_of($_) } @fleet), join(' ', @assigned),
	'each keeps its node id across a clean restart of all five');
keep_ids($_->name, next_ids($_, 500)) for @fleet;

# kill -9: the lease outlives the server; it waits for it and keeps its id.
kill9_postmaster($fleet[2]);
start_node($fleet[2]);
ok(wait_snowflake_state($fleet[2], 'ready', 3 * $ttl), 'after kill -9, assigned_3 is ready again');
is(node_id_of($fleet[2]), $assigned[2], 'with the same node id');
keep_ids('assigned_3', next_ids($fleet[2], 500));
$_->stop for @fleet;

# ---- Every ID ---------------------------------------------------------------
is(kept_duplicates(), 0, sprintf('no duplicate among %d IDs from %d servers', kept_ids_count(), 10));
diag(sprintf(
		'node leases: %d IDs merged, %d duplicates; hand-overs: clean stop %.1f s, '
		  . 'kill -9 %.1f s; longest a fenced holder kept issuing after etcd went: %.2f s',
		kept_ids_count(), kept_duplicates(), $takeover, $killed_wait, $longest_fenced_issue));

$etcd->stop;
done_testing();

# Node ids that move between servers under etcd leases (issue 9), the
# sequences 030 does not take:
#   - a standby promoted while its old primary still runs and issues, with
#     replication cut 4 s before the promotion, snowflake.promotion_margin 0
#     and the standby's clock 15 s behind (further than the TTL, so the wait
#     for the old lease does not make up for it): the promoted server refuses
#     while the old primary holds the node id; once the old primary's machine
#     dies it takes over above every ID the old primary returned, also those
#     its WAL never carried: only etcd's high-water mark knows of them;
#   - an assigned node id that moves: a server whose clock is 20 s ahead
#     stops cleanly, a new server with a correct clock is assigned its id and
#     continues above its IDs; the first
#     server comes back, finds its remembered id taken and is assigned another;
#   - four servers with one fixed node id that claim it at the same moment
#     (started while etcd is down, which then comes back): exactly one holds
#     it; when it stops, exactly one of the others takes over.
# Without the high-water mark (a claim that ignores it), the two hand-overs
# above fail: the servers that take over would issue below the old holder.
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

my $ttl = 5;    # snowflake.node_lease_ttl, seconds
my $etcd = SnowflakeEtcd->new($PostgreSQL::Test::Utils::tmp_check, 3);
my $coordination =
    "snowflake.etcd_endpoints = '"
  . $etcd->endpoints . "'\n"
  . "snowflake.node_lease_ttl = ${ttl}s\n";

# kill -9 of every process of $node at once, as when its machine dies: no
# process is left to give the lease back.
sub machine_dies
{
	my ($node) = @_;
	my @processes = ($node->{_pid}, postmaster_children($node->{_pid}));
	my $t0 = time();
	my $stopped = stop_processes(@processes);
	kill 'KILL', @processes;    # also when they did not stop: never left frozen
	my $gone = wait_gone(\@processes, 1);
	unlink $node->data_dir . '/postmaster.pid';
	$node->_update_pid(0);
	$stopped && $gone or die 'the processes of ' . $node->name . ' did not stop or linger';
	return $t0;
}

# ---- A standby promoted while its old primary still runs ---------------------
my $primary = PostgreSQL::Test::Cluster->new('moves_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf',
	"shared_preload_libraries = 'snowflake'\nsnowflake.node_id = 12\n$coordination");
start_node($primary);
$primary->safe_psql('postgres', 'CREATE EXTENSION snowflake');
ok(wait_snowflake_state($primary, 'ready', 30), 'the primary holds node id 12');
my @primary_ids = keep_ids('primary', next_ids($primary, 1000));
$primary->backup('primary_backup');
my $standby = PostgreSQL::Test::Cluster->new('moves_standby');
$standby->init_from_backup($primary, 'primary_backup', has_streaming => 1);
# No margin for reservations its WAL lacks: here only etcd's mark covers them.
# Its IDs may then run up to the mark's lead plus its 15 s ahead of its clock.
$standby->append_conf('postgresql.conf',
	"snowflake.promotion_margin = 0\nsnowflake.max_clock_drift = 30s\n");
start_node($standby, clock => '-15');
push @primary_ids, keep_ids('primary', next_ids($primary, 1000));
$primary->wait_for_catchup($standby);
is(snowflake_state($standby), 'in recovery', 'the standby (also node id 12) is in recovery');

# Replication cut: what the primary issues from now on never reaches the
# standby's WAL. The primary goes on for longer than a reservation window.
$standby->append_conf('postgresql.conf', "primary_conninfo = ''\n");
$standby->reload;
$standby->poll_query_until('postgres', 'SELECT NOT EXISTS (SELECT FROM pg_stat_wal_receiver)')
  or die 'replication was not cut';
# The furthest the standby's floor reaches: what it replayed.
my $replayed_until =
  $standby->safe_psql('postgres', 'SELECT reserved_until FROM snowflake_status()');
my $deadline = time() + 4;
push @primary_ids, keep_ids('primary', next_ids($primary, 2000)) while time() < $deadline;

$standby->promote;
ok(wait_snowflake_state($standby, 'node id held by another server', 30),
	'promoted while the old primary runs: it does not claim node id 12');
my ($ret, $out, $err) = try_next_id($standby);
my $primary_port = $primary->port;
like($err, qr/ERROR:  55P03: snowflake node id 12 is held by another server/,
	'its calls fail with 55P03');
like($err, qr/port $primary_port/, 'naming the old primary as the holder');
push @primary_ids, keep_ids('primary', next_ids($primary, 2000));
is(snowflake_state($primary), 'ready', 'the old primary keeps issuing');
my $primary_last =
  $primary->safe_psql('postgres', 'SELECT last_id_time FROM snowflake_status()');
is( $primary->safe_psql('postgres',
		"SELECT '$primary_last'::timestamptz > '$replayed_until'::timestamptz"),
	't',
	"its last IDs ($primary_last) lie past all the standby replayed ($replayed_until)");

my $t0 = machine_dies($primary);
ok(wait_snowflake_state($standby, 'ready', 30),
	'once the old primary\'s machine died, the promoted server claims node id 12');
my $promoted_wait = time() - $t0;
# The old lease runs out TTL after its last keep-alive, which came at most
# TTL/3 (later on a loaded machine) before the kill.
cmp_ok($promoted_wait, '>=', $ttl * 2 / 3 - 1,
	sprintf('after the old lease expired (%.1f s)', $promoted_wait));
is($standby->safe_psql('postgres', "SELECT clock_timestamp() < '$primary_last'::timestamptz"),
	't', "the promoted server's own clock is still behind the old primary's last IDs");
my @promoted_ids = keep_ids('promoted', next_ids($standby, 2000));
cmp_ok(min_of(@promoted_ids), '>', max_of(@primary_ids),
	'every ID of the promoted server is above every ID of the old primary, '
	  . 'those its WAL never carried included');
$standby->stop;

# ---- An assigned node id moves ----------------------------------------------
my @assigned = map { snowflake_node("moves_assigned_$_", -1, $coordination) } 1 .. 3;
# Made now: a first start begins after the data directory's latest
# checkpoint, and it must not be later than the first holder's IDs. Its IDs
# may run ahead of its clock by the first holder's 20 s.
my $newcomer = snowflake_node('moves_newcomer', -1,
	$coordination . "snowflake.max_clock_drift = 30s\n");
for my $node (@assigned)
{
	# The second one's clock runs 20 s ahead: its IDs are later than any a
	# correct clock stamps for the next 20 s.
	start_node($node, $node == $assigned[1] ? (clock => '+20') : ());
	$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
	ok(wait_snowflake_state($node, 'ready', 30), $node->name . ' is assigned a node id');
}
my @ids_of = map { node_id_of($_) } @assigned;
my $moving_id = $ids_of[1];
my @first_holder_ids = keep_ids('assigned_2', next_ids($assigned[1], 3000));
$assigned[1]->stop;    # releases its node id
$assigned[0]->poll_query_until('postgres',
	"SELECT holder_port IS NULL FROM snowflake_fleet() WHERE node_id = $moving_id")
  or die "node id $moving_id was not released";

start_node($newcomer);
$newcomer->safe_psql('postgres', 'CREATE EXTENSION snowflake');
ok(wait_snowflake_state($newcomer, 'ready', 30), 'a new server is assigned a node id');
is("@ids_of", '0 1 2', 'the three were assigned 0, 1 and 2, in the order they started');
is(node_id_of($newcomer), $moving_id,
	"the newcomer is assigned the lowest free one: $moving_id, which the stopped server held");
my @newcomer_ids = keep_ids('newcomer', next_ids($newcomer, 2000));
cmp_ok(min_of(@newcomer_ids), '>', max_of(@first_holder_ids),
	'its IDs are above those of the node id\'s first holder, whose clock ran 20 s ahead');
is( $newcomer->safe_psql('postgres',
		"SELECT last_id_time > clock_timestamp() + interval '10 s' FROM snowflake_status()"),
	't', 'they run ahead of its own clock: only the mark put them there');

start_node($assigned[1], clock => '+20');
ok(wait_snowflake_state($assigned[1], 'ready', 30), 'the first holder starts again');
my $second_id = node_id_of($assigned[1]);
my %in_use = map { $_ => 1 } ($ids_of[0], $ids_of[2], node_id_of($newcomer));
ok(!$in_use{$second_id},
	"its remembered node id is taken: it is assigned another one ($second_id)");
keep_ids('assigned_2', next_ids($assigned[1], 1000));
keep_ids('newcomer', next_ids($newcomer, 1000));
is( $newcomer->safe_psql(
		'postgres', 'SELECT count(*) FROM snowflake_fleet() WHERE holder_port IS NOT NULL'),
	4, 'snowflake_fleet() lists four holders');
$_->stop for @assigned, $newcomer;

# ---- Four servers claim one fixed node id at the same moment ----------------
# Started while etcd is down, so that all four retry their claim within the
# same second once it is back.
my @racers = map { snowflake_node("moves_racer_$_", 40, $coordination) } 1 .. 4;
$etcd->kill_member($_) for 0 .. 2;
for my $node (@racers)
{
	start_node($node);
	$node->safe_psql('postgres', 'CREATE EXTENSION snowflake');
}
ok(wait_snowflake_state($_, 'etcd unavailable', 30), $_->name . ' waits for etcd')
  for @racers;
$etcd->start_member($_) for 0 .. 2;
$etcd->wait_healthy($_) for 0 .. 2;
my @states;
$deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
while (1)
{
	@states = map { snowflake_state($_) } @racers;
	last unless grep { $_ ne 'ready' && $_ ne 'node id held by another server' } @states;
	last if time() > $deadline;
	sleep 0.2;
}
my @holders = grep { $states[$_] eq 'ready' } 0 .. $#racers;
is(scalar(@holders), 1, "exactly one of four claims node id 40 (states: @states)");
is(scalar(grep { $_ eq 'node id held by another server' } @states),
	3, 'the other three are refused');
@holders == 1 or die "no single holder: @states";
my $issued = 0;
for my $i (0 .. $#racers)
{
	my ($r, $o, $e) = try_next_id($racers[$i]);
	if ($r == 0) { $issued++; keep_ids("racer_$i", $o) }
}
is($issued, 1, 'one call on each: only the holder issues');
my @race_ids = keep_ids('racer', next_ids($racers[ $holders[0] ], 2000));
$racers[ $holders[0] ]->stop;
my @others = grep { $_ != $holders[0] } 0 .. $#racers;
$deadline = time() + 30;
my @next_holders;
while (time() < $deadline)
{
	@next_holders = grep { snowflake_state($racers[$_]) eq 'ready' } @others;
	last if @next_holders;
	sleep 0.1;
}
sleep 1;    # a second claim, if any, would show by now
@next_holders = grep { snowflake_state($racers[$_]) eq 'ready' } @others;
is(scalar(@next_holders), 1, 'when the holder stops, exactly one of the other three takes over');
@next_holders == 1 or die 'no single new holder';
my @next_ids = keep_ids('racer', next_ids($racers[ $next_holders[0] ], 2000));
cmp_ok(min_of(@next_ids), '>', max_of(@race_ids), 'above every ID of the first holder');
$_->stop for grep { defined $_->{_pid} } @racers;

# ---- Every ID ---------------------------------------------------------------
is(kept_duplicates(), 0, sprintf('no duplicate among %d IDs', kept_ids_count()));
diag(sprintf(
		'fleet moves: %d IDs merged, %d duplicates; promoted server claimed %.1f s after '
		  . 'its old primary died',
		kept_ids_count(), kept_duplicates(), $promoted_wait));

$etcd->stop;
done_testing();
